#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A target that forks children while traced, launched and attached: the
children are not followed (nothing of theirs in the file), and the tracer says
how many went untraced, on stderr and in dhatTrace."""
import os
import subprocess
import sys
import tempfile
from dtlib import Checks, attach, expect_sites, fixture, load, sites

DT, BUILD = sys.argv[1], sys.argv[2]
FORKER = fixture(BUILD, "forker")
PARENT = {"parent_site": (900, 3, 900, 3, 900, 3)}


def check(c, label, rc, err, out):
    if not c.check(rc == 0 and os.path.exists(out), f"{label}: exit 0, file written",
                   f"exit {rc}: {err.strip()[-400:]}"):
        return
    expect_sites(c, sites(out, "forker.c"), PARENT, label)
    c.check(load(out)["dhatTrace"].get("forks_not_traced") == 3,
            f"{label}: dhatTrace forks_not_traced = 3", str(load(out)["dhatTrace"]))
    c.check("3 child processes forked during the capture were not traced" in err,
            f"{label}: stderr says 3 children were not traced", err.strip()[-400:])


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "launch.json")
    r = subprocess.run([DT, "-o", out, "--", FORKER], capture_output=True, text=True,
                       timeout=120)
    check(c, "launched", r.returncode, r.stderr, out)
    out = os.path.join(tmp, "attach.json")
    rc, err = attach(DT, out, [FORKER])
    check(c, "attached", rc, err, out)
sys.exit(c.finish())
