#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Separate debug files are taken only when they belong to the object: a
stripped program whose .gnu_debuglink names "prog.debug" gets its names from
the right prog.debug beside it, and none from a decoy prog.debug (another
program's debug file under that name): its frames are then ??? (counted),
never the decoy's function names.  Launched and attached."""
import os
import shutil
import subprocess
import sys
import tempfile
from debuglib import build_pair
from dtlib import Checks, attach, load

DT, BUILD = sys.argv[1], sys.argv[2]


def run(c, label, prog, tmp, want_names):
    out = os.path.join(tmp, label.replace(" ", "_") + ".json")
    if label.startswith("attach"):
        rc, err = attach(DT, out, [prog])
    else:
        r = subprocess.run([DT, "-o", out, "--", prog], capture_output=True, text=True,
                           timeout=120)
        rc, err = r.returncode, r.stderr
    if not c.check(rc == 0, f"{label}: exit 0", err[-400:]):
        return
    d = load(out)
    frames = d["ftbl"]
    bad = [f for f in frames if "decoy_site" in f or "decoy.c" in f]
    c.check(not bad, f"{label}: no name from the decoy", str(bad[:3]))
    pps = [pp for pp in d["pps"] if pp["tb"] == 840 and pp["tbk"] == 4]
    c.check(len(pps) == 1, f"{label}: the 4 x 210 bytes at one site", str(len(pps)))
    if not pps:
        return
    inner = frames[pps[0]["fs"][0]]
    if want_names:
        c.check(": real_site (real.c:" in inner, f"{label}: named from the right debug file",
                inner)
    else:
        c.check(": ??? " in inner + " ", f"{label}: ??? without it", inner)
        x = d["dhatTrace"]
        c.check(x["frames_without_symbol"] > 0, f"{label}: counted as frames without symbol",
                str(x["frames_without_symbol"]))


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    build_pair(tmp)
    for case, debug in (("right", "real.debug"), ("decoy", "decoy.debug")):
        d = os.path.join(tmp, "case-" + case)
        os.mkdir(d)
        prog = os.path.join(d, "prog")
        shutil.copy(os.path.join(tmp, "real"), prog)
        shutil.copy(os.path.join(tmp, "real.debug"), os.path.join(d, "prog.debug"))
        subprocess.run(["strip", "--strip-all", prog], check=True)
        # The link is made to the right file (its CRC), then the file swapped.
        subprocess.run(["objcopy", "--add-gnu-debuglink=" + os.path.join(d, "prog.debug"),
                        prog], cwd=d, check=True)
        shutil.copy(os.path.join(tmp, debug), os.path.join(d, "prog.debug"))
        for mode in ("launch", "attach"):
            run(c, f"{mode} {case}", prog, tmp, case == "right")
sys.exit(c.finish())
