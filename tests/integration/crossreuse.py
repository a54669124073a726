#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""One ring buffer per CPU, merged by the records' times (src/intake.c):
tests/fixtures/crossreuse.c frees a block on one CPU and has the other CPU's
thread handed the same address at once, 4,000 times, both ways.  Read in the
rings' order, an allocation would come before the free of its address (a
displaced block, then a free of a block never seen): every count must be
exact and none of those may happen, launched and attached, on uprobe-multi
and on classic links."""
import os
import sys
import tempfile

from dtlib import Checks, attach, fixture, launch, load, sites

DT, BUILD = sys.argv[1], sys.argv[2]
ROUNDS, SIZE = 2000, 4000
WANT = {
    "alloc_a": (ROUNDS * SIZE, ROUNDS, 0, 0),
    "alloc_b": (ROUNDS * SIZE, ROUNDS, 0, 0),
    "warm": (2 * 16, 2, 0, 0),
}
QUIET = ("lost_events", "displaced_blocks", "realloc_races", "bad_records")
# pthread_create frees two blocks that ld.so allocated before any probe
# could see them (one ring for all CPUs counts them too).
UNSEEN_AT_START = 2

if len(os.sched_getaffinity(0)) < 2:
    print("# skipped: needs two CPUs")
    sys.exit(77)


def expect(c, out, label):
    got = sites(out, "crossreuse.c")
    # main's own site is pthread_create's (its thread's TLS): not ours.
    got = {fn: (v["tb"], v["tbk"], v["eb"], v["ebk"]) for fn, v in got.items() if fn != "main"}
    c.check(got == WANT, f"{label}: exact tb/tbk/eb/ebk at each site", f"got {got}")
    extra = load(out)["dhatTrace"]
    for k in QUIET:
        c.check(extra[k] == 0, f"{label}: {k} 0", f"got {extra[k]}")
    c.check(extra["unknown_frees"] <= UNSEEN_AT_START,
            f"{label}: no free of a block never seen but glibc's at the thread's start",
            f"got {extra['unknown_frees']}")


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    for links in ("1", "0"):
        os.environ["DHAT_TRACE_UPROBE_MULTI"] = links
        kind = "uprobe-multi" if links == "1" else "classic links"
        out = os.path.join(tmp, f"launch-{links}.json")
        r = launch(DT, out, [fixture(BUILD, "crossreuse")])
        if c.check(r.returncode == 0, f"launched, {kind}: exit 0 (3: too few reuses, "
                   "4: not pinned)", r.stderr):
            expect(c, out, f"launched, {kind}")
        out = os.path.join(tmp, f"attach-{links}.json")
        rc, err = attach(DT, out, [fixture(BUILD, "crossreuse")])
        if c.check(rc == 0, f"attached, {kind}: exit 0", err):
            expect(c, out, f"attached, {kind}")
sys.exit(c.finish())
