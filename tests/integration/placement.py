#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Probe placement (src/placement.c) moves probes past the entry of glibc's and
jemalloc's allocators; the counts must stay exactly those of probes at the
entry.  Also --probe-only, the empty-probe floor bench/run measures."""
import os
import re
import subprocess
import sys
import tempfile

from dtlib import Checks, expect_sites, fixture, launch, sites
from expected import BASIC, JEMALLOC_SAME, THREADS

DT, BUILD = sys.argv[1], sys.argv[2]
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
PLACED = re.compile(r"probe on (\S+) at (\S+)\+0x[0-9a-f]+ \(\+(\d+), on ([^:]+): ")


def placements(stderr):
    """{function: (object basename, bytes past the entry)} from -v."""
    return {m.group(1): (os.path.basename(m.group(2)), int(m.group(3)))
            for m in PLACED.finditer(stderr)}


def run(c, tmp, name, source, want, env=None, label=""):
    """Trace with placement and at the entry; both must give exactly want."""
    placed = {}
    for opts in ((), ("--probe-at-entry",)):
        out = os.path.join(tmp, f"{name}{len(opts)}.json")
        r = subprocess.run([DT, "-q", "-v", "-o", out, *opts, "--", fixture(BUILD, name)],
                           capture_output=True, text=True, env=env, timeout=120)
        what = f"{label or name} {' '.join(opts) or '(placed)'}"
        if c.check(r.returncode == 0, f"{what}: exit 0", r.stderr):
            expect_sites(c, sites(out, source), want, what)
        if not opts:
            placed = placements(r.stderr)
        else:
            c.check("(its entry: --probe-at-entry)" in r.stderr and not placements(r.stderr),
                    f"{what}: every probe at its entry", r.stderr)
    return placed


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    got = run(c, tmp, "basic", "basic.c", BASIC)
    # Debian 12's glibc: free starts with test %rdi,%rdi (single-stepped),
    # then je (emulated); malloc starts with push (emulated).
    c.check(got.get("free", ("", 0))[1] > 0 and got["free"][0].startswith("libc.so"),
            "glibc free: probe moved past its entry", str(got))
    c.check(got.get("malloc", ("", -1))[1] == 0, "glibc malloc: probe stays on its push",
            str(got))
    run(c, tmp, "threads", "threads.c", THREADS)
    if c.check(os.path.exists(JEMALLOC), "libjemalloc2 is installed (dev.sh installs it)"):
        env = dict(os.environ, LD_PRELOAD=JEMALLOC)
        sub = {k: BASIC[k] for k in JEMALLOC_SAME}
        # The JEMALLOC_SAME sites only: realloc(p, 0) differs under jemalloc.
        for opts in ((), ("--probe-at-entry",)):
            out = os.path.join(tmp, f"je{len(opts)}.json")
            r = subprocess.run([DT, "-q", "-v", "-o", out, *opts, "--", fixture(BUILD, "basic")],
                               capture_output=True, text=True, env=env, timeout=120)
            what = f"jemalloc {' '.join(opts) or '(placed)'}"
            if c.check(r.returncode == 0, f"{what}: exit 0", r.stderr):
                g = sites(out, "basic.c")
                expect_sites(c, {k: v for k, v in g.items() if k in JEMALLOC_SAME}, sub, what)
            if not opts:
                p = placements(r.stderr)
                c.check(p.get("malloc", ("", 0))[1] > 0 and p.get("free", ("", 0))[1] > 0
                        and p["free"][0] == "libjemalloc.so.2",
                        "jemalloc malloc and free: probes moved past their entries", str(p))

    # --probe-only: the same probes, nothing recorded, no file written.
    out = os.path.join(tmp, "floor.json")
    r = launch(DT, out, [fixture(BUILD, "basic")], "--probe-only")
    c.check(r.returncode == 0 and "--probe-only" in r.stderr and not os.path.exists(out),
            "--probe-only: exit 0, says so, writes no file", f"{r.returncode} {r.stderr}")
    r = launch(DT, out, ["sh", "-c", "exit 3"], "--probe-only")
    c.check(r.returncode == 3, "--probe-only: the command's exit status", str(r.returncode))
sys.exit(c.finish())
