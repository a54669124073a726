#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Statically linked executables (gcc -static and -static-pie), launched and
attached: their own malloc is probed, stacks are unwound by their .eh_frame
(which has no .eh_frame_hdr) down to main, the numbers are basic's, and no
frame is anything but a code address of the program."""
import json
import os
import sys
import tempfile
from dtlib import Checks, attach, expect_sites, fixture, launch, sites
from expected import BASIC

DT, BUILD = sys.argv[1], sys.argv[2]


def check(c, label, rc, err, out, prog):
    if not c.check(rc == 0 and os.path.exists(out), f"{label}: exit 0, file written",
                   f"exit {rc}: {err.strip()[-400:]}"):
        return
    expect_sites(c, sites(out, "basic.c"), BASIC, label)
    with open(out) as f:
        d = json.load(f)
    c.check(d["dhatTrace"].get("unwind_objects", 0) >= 1,
            f"{label}: an unwind table built for the program", str(d["dhatTrace"]))
    c.check(d["dhatTrace"].get("stacks_truncated", 1) == 0, f"{label}: no stack cut short",
            str(d["dhatTrace"].get("stacks_truncated")))
    bad = [f for f in d["ftbl"][1:] if "???" in f]
    c.check(not bad, f"{label}: every frame named (no garbage frame)", str(bad[:5]))
    reach = [pp for pp in d["pps"] if any(": main (basic.c:" in d["ftbl"][i] for i in pp["fs"])]
    c.check(len(reach) >= len(BASIC), f"{label}: stacks reach main", f"{len(reach)} sites")


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    for name in ("basic-static", "basic-static-pie"):
        prog = fixture(BUILD, name)
        out = os.path.join(tmp, name + ".json")
        r = launch(DT, out, [prog])
        check(c, f"launch {name}", r.returncode, r.stderr, out, prog)
        out = os.path.join(tmp, name + "-attach.json")
        rc, err = attach(DT, out, [prog], "-d", "60s")
        check(c, f"attach {name}", rc, err, out, prog)
    # Frame pointers through libc built without them read garbage: the
    # stack must end there, counted, never with a frame that is no code.
    out = os.path.join(tmp, "fp.json")
    r = launch(DT, out, [fixture(BUILD, "basic-static")], "--unwind=fp")
    if c.check(r.returncode == 0, "fp: exit 0", r.stderr[-400:]):
        d = json.load(open(out))
        expect_sites(c, sites(out, "basic.c"), BASIC, "fp")
        bad = [f for f in d["ftbl"][1:] if "???" in f]
        c.check(not bad, "fp: no frame that is not code", str(bad[:5]))
        c.check(d["dhatTrace"]["stacks_cut_at_non_code"] > 0 and "no code can have" in r.stderr,
                "fp: the stacks cut at garbage are counted and said",
                str(d["dhatTrace"]["stacks_cut_at_non_code"]))
sys.exit(c.finish())
