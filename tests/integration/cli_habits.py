#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""The command-line habits of valgrind, heaptrack and bcc (issue 13): the first
non-option starts the command, a file per run named after it and its PID and
named when tracing starts, -o exact, -q quiet, Ctrl-C exits as the command
did, and a status line on a terminal only.  (-p with a thread ID:
attach_odd.py; -h, usage errors, man page, completions: cli_docs.py.)"""
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

from dtlib import Checks, fixture

DT, BUILD = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
SPIN = fixture(BUILD, "spin")
c = Checks()


def on_terminal(argv, cwd, ctrl_c_after=None, timeout=60):
    """argv with a pseudo-terminal as its terminal; Ctrl-C typed there after
    ctrl_c_after seconds.  (exit code, what the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execv(argv[0], argv)
    shown, start, typed = b"", time.time(), False
    while time.time() - start < timeout:
        if ctrl_c_after is not None and not typed and time.time() - start > ctrl_c_after:
            os.write(fd, b"\x03")
            typed = True
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            shown += data
    done, st = os.waitpid(pid, os.WNOHANG)
    if not done:
        os.kill(pid, signal.SIGKILL)
        _, st = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(st), shown.decode(errors="replace")


with tempfile.TemporaryDirectory() as tmp:
    # The command's own options are its: argp no longer reorders them.
    r = subprocess.run([DT, "-d", "30s", "ls", "-l", "/"], capture_output=True, text=True,
                       timeout=120, cwd=tmp)
    c.check(r.returncode == 0 and re.search(r"^total \d+", r.stdout, re.M),
            "dhat-trace -d 30s ls -l /: runs ls -l /", f"rc={r.returncode} {r.stderr}")
    m = re.search(r"tracing PID (\d+) .*; writing ([^;\s]+)", r.stderr)
    name = m and f"dhat-trace.ls.{m.group(1)}.json"
    c.check(m and m.group(2) == name, "the tracing line names dhat-trace.ls.PID.json",
            r.stderr)
    c.check(name and f"dhat-trace: wrote {name}" in r.stderr.splitlines(),
            "and the last lines say it was written", r.stderr)
    if c.check(name and os.path.exists(os.path.join(tmp, name)), "the file is there",
               str(os.listdir(tmp))):
        with open(os.path.join(tmp, name)) as f:
            c.check(json.load(f)["pid"] == int(m.group(1)), "its pid is the one named")
    c.check("\r" not in r.stderr and "\x1b" not in r.stderr,
            "stderr not a terminal: no status line", repr(r.stderr[:300]))
    # A second run: a second file, the first kept.
    r = subprocess.run([DT, "-q", "ls"], capture_output=True, text=True, timeout=120, cwd=tmp)
    files = sorted(f for f in os.listdir(tmp) if f.startswith("dhat-trace.ls."))
    c.check(r.returncode == 0 and len(files) == 2, "a second run writes a second file",
            str(files))
    # -q: errors and the final summary only.
    c.check("tracing PID" not in r.stderr and "wrote" not in r.stderr and
            "dhat-trace: Total:" in r.stderr, "-q: the summary, no 'tracing' or 'wrote' line",
            r.stderr)
    # -o keeps the name it is given, exactly.
    r = subprocess.run([DT, "-q", "-o", "exact.name", "--", "true"], capture_output=True,
                       text=True, timeout=120, cwd=tmp)
    c.check(r.returncode == 0 and os.path.exists(os.path.join(tmp, "exact.name")),
            "-o exact.name: that name", str(os.listdir(tmp)))

    # Ctrl-C on a terminal reaches the command too; dhat-trace exits as it did.
    rc, shown = on_terminal([DT, "-o", os.path.join(tmp, "int.json"), SPIN], tmp,
                            ctrl_c_after=3)
    c.check(rc == 130, "Ctrl-C: the command died of SIGINT, dhat-trace exits 130",
            f"rc={rc} {shown[-600:]!r}")
    c.check("wrote " + os.path.join(tmp, "int.json") in shown, "Ctrl-C: the file is written",
            shown[-600:])
    c.check("placing the probes ...\x1b[K" in shown,
            "terminal: the status line says what attaching does", repr(shown[:400]))

    # Attached: the status line counts while tracing.
    target = subprocess.Popen([SPIN], stdout=subprocess.PIPE)
    try:
        target.stdout.readline()
        rc, shown = on_terminal([DT, "-d", "2s", "-o", os.path.join(tmp, "att.json"), "-p",
                                 str(target.pid)], tmp)
        c.check(rc == 0 and re.search(r"\rdhat-trace: \d+ s: [\d,]+ events/s, [\d,]+ bytes "
                                      r"live, 0 lost\x1b\[K", shown),
                "terminal: while tracing the status line shows events/s, live bytes, lost",
                repr(shown[-800:]))
        c.check(re.search(r"\r\x1b\[Kdhat-trace: Total:", shown),
                "terminal: the summary replaces the status line", repr(shown[-800:]))
    finally:
        target.kill()
        target.wait()
sys.exit(c.finish())
