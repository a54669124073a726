#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""The oracle: the same fixture under valgrind --tool=dhat and under dhat-trace
must give equal totals, t-gmax and t-end at every site of the fixture's source."""
import os
import shutil
import sys
import tempfile

from dtlib import FIELDS, Checks, fixture, launch, sites, valgrind

DT, BUILD = sys.argv[1], sys.argv[2]
if not shutil.which("valgrind"):
    print("valgrind is not installed: apt-get install valgrind")
    sys.exit(1)

c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    for name, source in (("basic", "basic.c"), ("threads", "threads.c"), ("cxx", "cxx.cpp"),
                         ("preattach", "preattach.c"), ("inline", "inline.c")):
        vout, dout = os.path.join(tmp, name + ".vg.json"), os.path.join(tmp, name + ".dt.json")
        v = valgrind(vout, [fixture(BUILD, name)])
        d = launch(DT, dout, [fixture(BUILD, name)])
        if not c.check(v.returncode == 0 and d.returncode == 0, f"{name}: both runs succeed",
                       v.stderr[-500:] + d.stderr):
            continue
        # Only the fixture's own sites: allocations made inside libraries
        # built without frame pointers (ld.so's calloc of a thread's DTV) lose
        # their callers in a frame-pointer stack, so their innermost
        # fixture frame differs (DWARF unwinding is its own issue).
        vs, ds = ({k: v for k, v in sites(f, source).items() if k.startswith("site_") or k == "inner_alloc"}
                  for f in (vout, dout))
        print(f"# {name}: site  valgrind(tb tbk gb gbk eb ebk)  dhat-trace(...)")
        for fn in sorted(set(vs) | set(ds)):
            vv = tuple(vs.get(fn, {}).get(k) for k in FIELDS)
            dd = tuple(ds.get(fn, {}).get(k) for k in FIELDS)
            print(f"#   {fn:20} {vv}  {dd}")
            c.check(vv == dd, f"{name}: {fn} agrees with valgrind", f"{vv} vs {dd}")
        c.check(len(vs) >= 1, f"{name}: valgrind saw the fixture's sites", str(sorted(vs)))
sys.exit(c.finish())
