#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A walk reused only while the words it read are unchanged (bpf/stackcache.bpf.h,
and the agent's src/agent/walkcache.c): tests/fixtures/outerswap.c allocates
from one inner frame chain, at the same stack addresses, under outer frames
that change from call to call.  Every path must be its own site with its
exact count, in each --unwind mode, on uprobe-multi and on classic links,
and in the in-process agent (--inject)."""
import json
import os
import sys
import tempfile

from dtlib import FRAME, Checks, attach, fixture, launch

DT, BUILD = sys.argv[1], sys.argv[2]
ROUNDS = 300
# Frames in outerswap.c, innermost first, down to run_round: allocations.
WANT = {
    ("leaf", "inner", "mid_a", "top_x", "run_round"): 2 * ROUNDS,
    ("leaf", "inner", "mid_a", "top_y", "run_round"): ROUNDS,
    ("leaf", "inner", "mid_b", "top_x", "run_round"): ROUNDS,
    ("leaf", "inner", "mid_b", "top_y", "run_round"): ROUNDS,
}


def paths(out):
    """{frames in outerswap.c up to run_round: [tb, tbk, eb, ebk]} summed over sites."""
    with open(out) as f:
        d = json.load(f)
    got = {}
    for pp in d["pps"]:
        names = []
        for i in pp["fs"]:
            m = FRAME.match(d["ftbl"][i])
            if m and m.group(2) == "outerswap.c":
                names.append(m.group(1).split("(")[0].strip())
                if names[-1] == "run_round":
                    break
        if "leaf" not in names:
            continue
        agg = got.setdefault(tuple(names), [0, 0, 0, 0])
        for j, k in enumerate(("tb", "tbk", "eb", "ebk")):
            agg[j] += pp[k]
    return got, d["dhatTrace"]


def expect(c, out, label, dwarf, pads=0):
    got, extra = paths(out)
    want = {k[:1] + ("pad",) * pads + k[1:]: [24 * n, n, 0, 0] for k, n in WANT.items()}
    c.check(got == want, f"{label}: each outer path its own site, exact tb/tbk/eb/ebk",
            f"got {got}")
    c.check(extra["lost_events"] == 0, f"{label}: nothing lost", str(extra))
    if dwarf:
        c.check(extra["stacks_truncated"] == 0, f"{label}: every stack complete", str(extra))


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    for links in ("1", "0"):
        os.environ["DHAT_TRACE_UPROBE_MULTI"] = links
        for name, mode in (("outerswap", "fp"), ("outerswap", "dwarf"),
                           ("outerswap-nofp", "dwarf")):
            label = f"{name} --unwind={mode}, " + ("uprobe-multi" if links == "1" else
                                                  "classic links")
            out = os.path.join(tmp, f"{name}-{mode}-{links}.json")
            r = launch(DT, out, [fixture(BUILD, name)], f"--unwind={mode}")
            if c.check(r.returncode == 0, f"{label}: exit 0 (3: leaf's frame moved)",
                       r.stderr):
                expect(c, out, label, mode == "dwarf")
            # The changing words further out in the log: the frame-pointer
            # walk's pairs are checked four at a round, and 5 or 6 pads put
            # the changes in the second and third rounds, at each place in a
            # round.  The same BPF code on either kind of link: once.
            for pads in (5, 6) if links == "1" else ():
                plabel = f"{name} {pads} --unwind={mode}, uprobe-multi"
                out = os.path.join(tmp, f"{name}-{mode}-{pads}.json")
                r = launch(DT, out, [fixture(BUILD, name), str(pads)], f"--unwind={mode}")
                if c.check(r.returncode == 0, f"{plabel}: exit 0 (3: leaf's frame moved)",
                           r.stderr):
                    expect(c, out, plabel, mode == "dwarf", pads)
    out = os.path.join(tmp, "attach.json")
    rc, err = attach(DT, out, [fixture(BUILD, "outerswap-nofp")], "--unwind=dwarf")
    if c.check(rc == 0, "outerswap-nofp attached: exit 0", err):
        expect(c, out, "outerswap-nofp attached", True)
    del os.environ["DHAT_TRACE_UPROBE_MULTI"]
    for name, mode in (("outerswap", "fp"), ("outerswap", "dwarf"), ("outerswap-nofp", "dwarf")):
        label = f"{name} --inject --unwind={mode}"
        out = os.path.join(tmp, f"{name}-{mode}-inject.json")
        r = launch(DT, out, [fixture(BUILD, name)], "--inject", f"--unwind={mode}")
        if c.check(r.returncode == 0, f"{label}: exit 0", r.stderr):
            expect(c, out, label, mode == "dwarf")
    out = os.path.join(tmp, "attach-inject.json")
    rc, err = attach(DT, out, [fixture(BUILD, "outerswap-nofp")], "--inject", "--unwind=dwarf")
    if c.check(rc == 0, "outerswap-nofp attached --inject: exit 0", err):
        expect(c, out, "outerswap-nofp attached --inject", True)
sys.exit(c.finish())
