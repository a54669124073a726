#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""-o -: the DHAT document on standard output and nothing else there (a
launched command's output goes to stderr), every message on stderr."""
import json
import os
import subprocess
import sys
import tempfile

from dtlib import Checks, expect_sites, fixture, sites
from expected import BASIC

DT, BUILD = os.path.abspath(sys.argv[1]), sys.argv[2]
c = Checks()

with tempfile.TemporaryDirectory() as tmp:
    # In tmp, to see that no file (named "-" or other) is written.
    r = subprocess.run([DT, "-i", "0", "-o", "-", "--", fixture(BUILD, "basic")], capture_output=True,
                       text=True, timeout=120, cwd=tmp)
    c.check(r.returncode == 0, "-o -: exit 0", r.stderr)
    try:
        json.loads(r.stdout)
        bad = None
    except ValueError as e:
        bad = f"{e}: {r.stdout[:200]!r}"
    if c.check(bad is None, "-o -: standard output is one JSON document", bad):
        path = os.path.join(tmp, "stdout.json")
        with open(path, "w") as f:
            f.write(r.stdout)
        expect_sites(c, sites(path, "basic.c"), BASIC, "-o -")
        os.unlink(path)
    lines = r.stderr.splitlines()
    c.check(lines[:1] and lines[0].startswith("dhat-trace: tracing PID") and
            any(l.startswith("dhat-trace: Total:") for l in lines) and
            lines[-1] == "dhat-trace: wrote standard output",
            "-o -: the messages and summary on stderr", r.stderr)
    c.check(os.listdir(tmp) == [], "-o -: no file written", str(os.listdir(tmp)))

    # The launched command's own output must not end up in the document.
    r = subprocess.run([DT, "-q", "-o", "-", "--", fixture(BUILD, "manysites"), "10"],
                       capture_output=True, text=True, timeout=120)
    c.check(r.returncode == 0 and "done" not in r.stdout and "done\n" in r.stderr,
            "-o -: the command's standard output goes to stderr", repr(r.stdout[:200]))
    try:
        n = len(json.loads(r.stdout)["pps"])
    except (ValueError, KeyError) as e:
        n = repr(e)
    c.check(n == 10, "-o -: and the document is still one JSON document (10 sites)", str(n))

    # A reader that went away: an error line, not death by SIGPIPE.
    p = subprocess.Popen([DT, "-q", "-o", "-", "--", fixture(BUILD, "manysites"), "10"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdout.close()
    err = p.stderr.read()
    rc = p.wait(timeout=120)
    c.check(rc == 1 and err.splitlines()[-1:] ==
            ["dhat-trace: cannot write standard output: write failed: Broken pipe"],
            "-o - into a closed pipe: exit 1 and says so", f"rc={rc}: {err}")
sys.exit(c.finish())
