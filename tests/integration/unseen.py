#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A target whose memory mostly does not come from the probed allocator (as a
cgo program's Go heap would not): the tracer says so, launched and attached,
with the RSS numbers in dhatTrace; a target whose memory is all malloc'd
(basic) gets no such warning."""
import os
import subprocess
import sys
import tempfile
from dtlib import Checks, attach, expect_sites, fixture, load, sites

DT, BUILD = sys.argv[1], sys.argv[2]
WARN = "most of its memory comes from elsewhere"


def check(c, label, rc, err, out):
    if not c.check(rc == 0, f"{label}: exit 0", err[-400:]):
        return
    expect_sites(c, sites(out, "unseen.c"), {"unseen_site": (1000, 1, 1000, 1, 1000, 1)}, label)
    c.check(WARN in err, f"{label}: says the memory is not the probed allocator's", err[-400:])
    extra = load(out)["dhatTrace"]
    c.check(extra["rss_end_bytes"] - extra["rss_start_bytes"] >= 90 << 20,
            f"{label}: dhatTrace has the RSS growth", str(extra))
    c.check(extra.get("rss_growth_unseen_bytes", 0) >= 80 << 20,
            f"{label}: dhatTrace says that growth was not seen", str(extra))


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "l.json")
    r = subprocess.run([DT, "-o", out, "--", fixture(BUILD, "unseen")], capture_output=True,
                       text=True, timeout=120)
    check(c, "launched", r.returncode, r.stderr, out)
    out = os.path.join(tmp, "a.json")
    rc, err = attach(DT, out, [fixture(BUILD, "unseen")])
    check(c, "attached", rc, err, out)
    r = subprocess.run([DT, "-o", out, "--", fixture(BUILD, "basic")], capture_output=True,
                       text=True, timeout=120)
    c.check(r.returncode == 0 and WARN not in r.stderr, "basic: no such warning", r.stderr[-400:])
    c.check(r.returncode == 0 and load(out)["dhatTrace"].get("rss_growth_unseen_bytes") == 0,
            "basic: dhatTrace says nothing unseen", r.stderr[-400:])
sys.exit(c.finish())
