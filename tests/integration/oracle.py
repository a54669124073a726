#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""The oracle: the same fixture under valgrind --tool=dhat and under dhat-trace
must give equal totals, t-gmax and t-end at every site of the fixture's source.
meson's oracle_inject runs it with DT_INJECT=1: dhat-trace --inject against
valgrind, and against the same capture by the uprobes (dtlib.compare_modes)."""
import os
import shutil
import sys
import tempfile

from dtlib import FIELDS, Checks, compare_modes, fixture, launch, sites, valgrind

DT, BUILD = sys.argv[1], sys.argv[2]
if not shutil.which("valgrind"):
    print("valgrind is not installed: apt-get install valgrind")
    sys.exit(1)

c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    for name, source in (("basic", "basic.c"), ("threads", "threads.c"), ("cxx", "cxx.cpp"),
                         ("preattach", "preattach.c"), ("inline", "inline.c"),
                         ("basic-nofp", "basic.c"), ("threads-nofp", "threads.c"),
                         ("cxx-nofp", "cxx.cpp"), ("stdcxx", "stdcxx.cpp")):
        vout, dout = os.path.join(tmp, name + ".vg.json"), os.path.join(tmp, name + ".dt.json")
        v = valgrind(vout, [fixture(BUILD, name)])
        d = launch(DT, dout, [fixture(BUILD, name)])
        if not c.check(v.returncode == 0 and d.returncode == 0, f"{name}: both runs succeed",
                       v.stderr[-500:] + d.stderr):
            continue
        # Every site but threads' main: there ld.so allocates each thread's
        # DTV, and glibc frees those with the thread's cached stack, which
        # happens under valgrind (its own stacks) but not natively.
        vs, ds = ({k: v for k, v in sites(f, source).items()
                   if not (k == "main" and source == "threads.c")} for f in (vout, dout))
        print(f"# {name}: site  valgrind(tb tbk gb gbk eb ebk)  dhat-trace(...)")
        for fn in sorted(set(vs) | set(ds)):
            vv = tuple(vs.get(fn, {}).get(k) for k in FIELDS)
            dd = tuple(ds.get(fn, {}).get(k) for k in FIELDS)
            print(f"#   {fn:20} {vv}  {dd}")
            c.check(vv == dd, f"{name}: {fn} agrees with valgrind", f"{vv} vs {dd}")
        c.check(len(vs) >= 1, f"{name}: valgrind saw the fixture's sites", str(sorted(vs)))
    compare_modes(c)
sys.exit(c.finish())
