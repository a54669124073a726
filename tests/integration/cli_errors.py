#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Bad input: one clear line, a non-zero exit, nothing attached, nothing written."""
import os
import subprocess
import sys
import tempfile

from dtlib import Checks, fixture

DT, BUILD, HOLD = sys.argv[1], sys.argv[2], sys.argv[3]


def our_prog_ids():
    """IDs of loaded programs with our probes' names (another tracer's, already
    there, are told apart by taking the set before and after)."""
    out = subprocess.run(["bpftool", "prog", "show"], capture_output=True, text=True).stdout
    return {l.split(":")[0] for l in out.splitlines()
            if " name free_enter " in l + " " or " name multi_enter " in l + " "}


c = Checks()


def run(args, want_rc, phrase, out, prefix=()):
    r = subprocess.run([*prefix, DT, "-o", out, *args], capture_output=True, text=True,
                       timeout=60)
    lines = r.stderr.splitlines()
    label = " ".join(args) or "(no arguments)"
    c.check(r.returncode == want_rc, f"{label}: exit {want_rc}", f"rc={r.returncode}")
    # Bad usage: argp's second line says where help is (cli_docs.py).
    if want_rc == 64 and lines[1:2] and lines[1].startswith("Try `dhat-trace --help'"):
        lines = lines[:1]
    c.check(len(lines) == 1 and lines[0].startswith("dhat-trace: ") and phrase in lines[0],
            f"{label}: one line saying '{phrase}'", repr(r.stderr))
    c.check(not os.path.exists(out), f"{label}: no output file")
    return r


def libc_of(pid):
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            path = line.split()[-1]
            if "/libc.so" in path:
                return path
    return None


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    out = os.path.join(tmp, "x.json")
    run(["-p", "999999"], 1, "no process with PID 999999", out)
    run(["-p", "2"], 1, "PID 2 is a kernel thread", out)
    run(["-d", "5x", "-p", "1"], 64, "invalid duration '5x'", out)
    run(["-i", "soon", "-p", "1"], 64, "invalid duration 'soon'", out)
    run([], 64, "nothing to trace", out)
    run(["--follow-exec", "-o", "-", "-p", "1"], 64, "--follow-exec writes one file per program",
        out)
    run(["--follow-forks", "-o", "-", "-p", "1"], 64,
        "--follow-forks writes one file per process", out)
    run(["--", "no-such-command-here"], 1,
        "cannot execute 'no-such-command-here': No such file or directory", out)
    text = os.path.join(tmp, "notes.txt")
    with open(text, "w") as f:
        f.write("not a program\n")
    os.chmod(text, 0o644)
    run(["--", text], 1, f"cannot execute '{text}': Permission denied", out)
    os.chmod(text, 0o755)
    run(["--", text], 1, f"cannot execute '{text}': Exec format error", out)
    r = subprocess.run([DT, "-o", "/nonexistent/dir/x.json", "-p", "1"], capture_output=True,
                       text=True, timeout=60)
    c.check(r.returncode == 1 and r.stderr.strip() ==
            "dhat-trace: cannot write /nonexistent/dir/x.json: directory /nonexistent/dir does "
            "not exist", "missing output directory: exit 1, one line", repr(r.stderr))
    run(["-p", "1"], 1, "tracing needs root or the capabilities", out,
        prefix=("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"))

    # A full disk: a clear line, and neither the file nor a temporary left.
    full = os.path.join(tmp, "full")
    os.mkdir(full)
    if c.check(subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", full]).returncode
               == 0, "small tmpfs mounted"):
        try:
            with open(os.path.join(full, "filler"), "wb") as f:
                try:
                    f.write(b"x" * (1 << 20))
                except OSError:
                    pass
            target = os.path.join(full, "x.json")
            r = subprocess.run([DT, "-q", "-o", target, "--", fixture(BUILD, "basic")],
                               capture_output=True, text=True, timeout=60)
            last = r.stderr.splitlines()[-1] if r.stderr else ""
            c.check(r.returncode == 1 and "cannot write " + target in last
                    and "No space left on device" in last, "full disk: exit 1 and says so",
                    r.stderr)
            c.check(sorted(os.listdir(full)) == ["filler"], "full disk: nothing left behind",
                    str(os.listdir(full)))
        finally:
            subprocess.run(["umount", full])

    # Another tracer's uprobe on malloc with a reference counter: the kernel
    # refuses ours with a bare EINVAL; dhat-trace must say what is going on.
    # Target and holder run on a private copy of libc: uprobes live on an
    # inode, and a uprobe the kernel leaked on the system's libc earlier in
    # this boot (6.18 keeps one it failed to unregister when a tracer was
    # killed while detaching) would refuse the holder's reference counter too.
    private = os.path.join(tmp, "libc")
    os.mkdir(private)
    libc = libc_of(os.getpid())
    subprocess.run(["cp", libc, os.path.join(private, os.path.basename(libc))], check=True)
    env = dict(os.environ, LD_LIBRARY_PATH=private)
    target = subprocess.Popen([fixture(BUILD, "spin")], stdout=subprocess.PIPE, env=env)
    victim = subprocess.Popen(["sleep", "120"], env=env)
    hold = None
    try:
        target.stdout.readline()
        libc = libc_of(target.pid)
        c.check(libc == os.path.join(private, os.path.basename(libc)),
                "the target runs on the private libc", str(libc))
        hold = subprocess.Popen([HOLD, str(victim.pid), libc, "malloc"], stdout=subprocess.PIPE,
                                text=True)
        held = hold.stdout.readline().strip() == "held"
        c.check(held, "conflicting uprobe held on libc's malloc")
        if held:
            before = our_prog_ids()
            r = run(["-p", str(target.pid)], 1,
                    "the kernel refused a uprobe on malloc in " + libc + ": another tracer "
                    "holds a uprobe on that function with a different reference counter "
                    "(kernel log: \"ref_ctr_offset mismatch\")", out)
            c.check(target.poll() is None, "the target survives the refused attach")
            left = our_prog_ids() - before
            c.check(not left, "nothing stays attached after the refusal", str(left))
    finally:
        for p in (hold, victim, target):
            if p:
                p.kill()
                p.wait()
sys.exit(c.finish())
