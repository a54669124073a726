#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A target that execs another program while traced (execfirst -> execsecond,
one libc), launched and attached.  One output file holds one image: here the
first, whose capture ends at the exec with its file written (cmd naming it)
and a notice on stderr that says exec; the second image's sites never join it.

EXPECTED TO FAIL until dhat-trace handles exec: today both images' sites land
in one file under the first image's cmd, and nothing is said."""
import os
import re
import subprocess
import sys
import tempfile

from dtlib import Checks, expect_sites, fixture, load, sites
from nslib import attach_inside

DT, BUILD = sys.argv[1], sys.argv[2]
FIRST, SECOND = fixture(BUILD, "execfirst"), fixture(BUILD, "execsecond")
FIRST_SITES = {"first_leak_site": (1554, 2, 1554, 2, 1554, 2)}
# "exec" as a word of its own, not in the fixtures' names.
NOTICE = re.compile(r"\bexec(?!first|second)", re.I)


def check(c, label, rc, err, out):
    if not c.check(rc == 0 and os.path.exists(out), f"{label}: exit 0, file written",
                   f"exit {rc}: {err.strip()[-600:]}"):
        return
    first, second = sites(out, "execfirst.c"), sites(out, "execsecond.c")
    c.check(not (first and second), f"{label}: never two images' sites in one file",
            f"execfirst.c {sorted(first)}, execsecond.c {sorted(second)}")
    expect_sites(c, first, FIRST_SITES, f"{label}: first image")
    cmd = load(out)["cmd"]
    c.check(os.path.basename(cmd.split()[0]) == "execfirst", f"{label}: cmd names the first image",
            cmd)
    notice = [line for line in err.splitlines() if NOTICE.search(line)]
    c.check(notice, f"{label}: a notice on stderr says exec", err.strip()[-600:])


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "launch.json")
    r = subprocess.run([DT, "-i", "0", "-o", out, "--", FIRST, SECOND], capture_output=True,
                       text=True, timeout=120)
    check(c, "launched", r.returncode, r.stderr, out)
    out = os.path.join(tmp, "attach.json")
    run = attach_inside(DT, out, [FIRST, SECOND, "--wait"], "execfirst")
    check(c, "attached", run.rc, run.err, out)
sys.exit(c.finish())
