#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""What a user meets before tracing anything, no root needed: -h, one format
for usage errors, the man page (every dhatTrace counter, version and date,
groff -ww clean), and --help, the man page and the bash, zsh and fish
completions naming the same options."""
import os
import re
import shutil
import subprocess
import sys

from checks import Checks

DT, BUILD, SRC = (os.path.abspath(a) for a in sys.argv[1:4])
MAN = os.path.join(BUILD, "dhat-trace.1")
COMP = os.path.join(SRC, "completions")
c = Checks()


def run(*args):
    return subprocess.run([DT, *args], capture_output=True, text=True, timeout=30)


# -h, as valgrind, heaptrack, bpftrace and memleak take it.
r = run("-h")
c.check(r.returncode == 0 and r.stdout.startswith("Usage: dhat-trace"), "-h: the help, exit 0",
        r.stderr)

# One format for every usage error: what is wrong, then where help is.
for args, cmd, phrase in (
        (["-x"], "dhat-trace", "invalid option -- 'x'"),
        (["-d", "5x", "-p", "1"], "dhat-trace", "invalid duration '5x'"),
        (["--unwind=sideways", "-p", "1"], "dhat-trace", "invalid --unwind 'sideways'"),
        (["--max-peak=lots", "-p", "1"], "dhat-trace", "invalid --max-peak 'lots'"),
        ([], "dhat-trace", "nothing to trace"),
        (["-p", "1", "ls"], "dhat-trace", "give either -p PID or a command"),
        (["report", "--top=x", "f.json"], "dhat-trace report", "invalid --top 'x'"),
        (["report"], "dhat-trace report", "no FILE given"),
        (["diff", "--bogus"], "dhat-trace diff", "unrecognized option '--bogus'")):
    r = run(*args)
    lines = r.stderr.splitlines()
    label = " ".join(args) or "(no arguments)"
    # argp folds its "Try" line at 79 columns.
    c.check(r.returncode == 64 and len(lines) >= 2 and lines[0].startswith(cmd + ": ") and
            phrase in lines[0] and
            " ".join(lines[1:]).startswith(f"Try `{cmd} --help' or `{cmd} --usage' for more"),
            f"usage error {label}: '{cmd}: ...', then 'Try `{cmd} --help'', exit 64",
            f"rc={r.returncode} {r.stderr!r}")

# The man page: generated version and date, every counter, clean for groff.
with open(MAN) as f:
    man = f.read()
version = run("--version").stdout.split()[-1]
th = re.search(r'^\.TH DHAT-TRACE 1 "(\d{4}-\d\d-\d\d)" "dhat-trace ([^"]+)"', man, re.M)
c.check(th and th.group(2) == version, f"man page: version {version} and a date", repr(th))
with open(os.path.join(SRC, "src", "report.c")) as f:
    counters = re.findall(r'STAT\("([a-z_]+)"', f.read())
out = man[man.index(".SH OUTPUT"):man.index(".SH READING")]
documented = set(re.findall(r"^\.(?:BR?) (.*)$", out, re.M) and
                 re.findall(r"\b([a-z]+(?:_[a-z]+)+|frames|events|objects)\b", out))
missing = [n for n in counters if n not in documented]
c.check(counters and not missing, f"man page: all {len(counters)} dhatTrace counters listed",
        str(missing))
if shutil.which("groff"):
    g = subprocess.run(["groff", "-ww", "-man", "-z", MAN], capture_output=True, text=True)
    c.check(g.returncode == 0 and not g.stderr, "man page: groff -ww says nothing", g.stderr)


# The options each place names.  argp's -? is left out of the completions
# on purpose: a shell globs it; -h is offered instead.
def help_opts():
    opts = set()
    for line in run("--help").stdout.splitlines():
        m = re.match(r"^ {2,}(-[\w?])?(?:, )?(--[\w-]+)?", line)
        if m:
            opts |= {o for o in m.groups() if o}
    return opts


def man_opts(section_start, section_end):
    part = man[man.index(section_start):man.index(section_end)]
    opts = set()
    for head in re.findall(r"^\.TP\n\.B[R]? (.*)$", part, re.M):
        opts |= set(re.findall(r"\\-(\\-[\w\\-]+|[A-Za-z?])", head.replace("\\-", "\\-")))
    return {"-" + o.replace("\\-", "-") for o in opts}


want = help_opts()
c.check({"-p", "--pid", "-h", "--help", "--unwind"} <= want, "--help: options read",
        str(sorted(want)))
got = man_opts(".SH OPTIONS", ".SH OUTPUT")
c.check(got == want, "man page OPTIONS: the options of --help",
        f"missing {sorted(want - got)}, extra {sorted(got - want)}")
comp_want = want - {"-?"}
with open(os.path.join(COMP, "dhat-trace.bash")) as f:
    bash = f.read()
lists = re.search(r'_dhat_trace_arg_opts="([^"]*)"\n_dhat_trace_flag_opts="([^"]*)"', bash)
got = {w.rstrip("=") for w in (lists.group(1) + " " + lists.group(2)).split()} - {"--"}
c.check(got == comp_want, "bash completion: the options of --help",
        f"missing {sorted(comp_want - got)}, extra {sorted(got - comp_want)}")
with open(os.path.join(COMP, "dhat-trace.zsh")) as f:
    zsh = f.read()
capture = zsh[zsh.index("_dhat-trace_capture()"):zsh.index("\n}\n", zsh.index("_dhat-trace_capture()"))]
got = set()
for m in re.finditer(r"\{(-\w[+]?),(--[\w-]+=?)\}|'(?:\([^)]*\))?\*?(--?[\w-]+)[=+-]*\[", capture):
    for o in m.groups():
        if o:
            got.add(o.rstrip("+="))
c.check(got == comp_want, "zsh completion: the options of --help",
        f"missing {sorted(comp_want - got)}, extra {sorted(got - comp_want)}")
with open(os.path.join(COMP, "dhat-trace.fish")) as f:
    fish = [l for l in f if '-n "$cap"' in l]
got = set()
for l in fish:
    got |= {"-" + s for s in re.findall(r" -s (\w)", l)} | {"--" + s for s in
                                                          re.findall(r" -l ([\w-]+)", l)}
c.check(got == comp_want, "fish completion: the options of --help",
        f"missing {sorted(comp_want - got)}, extra {sorted(got - comp_want)}")

# Completion at work: --unwind=<TAB> offers the modes, -? is not in a list.
script = f"""
source {COMP}/dhat-trace.bash
comp() {{ COMP_WORDS=("$@"); COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}
  COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); COMPREPLY=(); _dhat_trace; echo "${{COMPREPLY[*]}}"; }}
comp dhat-trace --unwind = ''
comp dhat-trace --unwind ''
comp dhat-trace -
"""
b = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=BUILD)
lines = b.stdout.splitlines()
c.check(lines[:2] == ["auto dwarf fp", "auto dwarf fp"],
        "bash: --unwind=<TAB> and --unwind <TAB> offer auto dwarf fp", repr(b.stdout + b.stderr))
c.check(len(lines) == 3 and "-?" not in lines[2].split() and "-h" in lines[2].split(),
        "bash: the option list has -h, not the glob -?", repr(lines[2:]))
for shell, args in (("zsh", ["-n"]), ("fish", ["-n"])):
    if shutil.which(shell):
        r = subprocess.run([shell, *args, os.path.join(COMP, f"dhat-trace.{shell}")],
                           capture_output=True, text=True)
        c.check(r.returncode == 0, f"{shell} completion: parses", r.stderr)
    else:
        print(f"# skipped: {shell} is not installed, its completion is not parsed")
if shutil.which("fish"):
    r = subprocess.run(["fish", "-c", f"source {COMP}/dhat-trace.fish; "
                        "complete -C 'dhat-trace --unwind='; complete -C 'dhat-trace -d 1 ls --al'"],
                       capture_output=True, text=True)
    words = [l.split("\t")[0] for l in r.stdout.splitlines()]
    c.check(words[:3] == ["--unwind=auto", "--unwind=dwarf", "--unwind=fp"] and "--all" in words,
            "fish: --unwind= offers the modes, a launched command completes as itself",
            repr(r.stdout + r.stderr))
sys.exit(c.finish())
