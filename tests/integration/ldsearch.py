#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Launch mode finds the allocator where the dynamic linker will: a program
linked against an interposing malloc library (liballoc, two copies of one
soname in dirs A and B) is probed in the copy ld.so really loads, whatever
the order rules: DT_RPATH before LD_LIBRARY_PATH, DT_RUNPATH after it,
$ORIGIN, and a "#!/usr/bin/env prog" script found on PATH.  The leak is
attributed exactly each time (a probe on the wrong copy would see nothing)."""
import os
import subprocess
import sys
import tempfile
from dtlib import Checks, expect_sites, sites

DT, BUILD = sys.argv[1], sys.argv[2]

LIB = r"""
#include <stddef.h>
extern void *__libc_malloc(size_t), *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
void *malloc(size_t n) { return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
"""
PROG = r"""
#include <stdlib.h>
static void *volatile keep[3];
__attribute__((noinline)) static void ld_site(int i) { keep[i] = malloc(100); }
int main(void) { for (int i = 0; i < 3; i++) ld_site(i); return 0; }
"""
WANT = {"ld_site": (300, 3, 300, 3, 300, 3)}


def sh(*argv):
    subprocess.run(argv, check=True)


def case(c, label, argv, lib, env_extra, tmp):
    out = os.path.join(tmp, label.replace(" ", "_") + ".json")
    env = dict(os.environ, **env_extra)
    r = subprocess.run([DT, "-v", "-o", out, "--", *argv], capture_output=True, text=True,
                       env=env, timeout=120)
    probed = [l for l in r.stderr.splitlines() if "probe on malloc at " in l]
    c.check(r.returncode == 0 and probed and f"probe on malloc at {lib}+" in probed[0],
            f"{label}: malloc probed in {lib}", f"exit {r.returncode}: {probed or r.stderr[-400:]}")
    if r.returncode == 0:
        expect_sites(c, sites(out, "prog.c"), WANT, label)


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    a, b, o = (os.path.join(tmp, d) for d in ("A", "B", "O"))
    for d in (a, b, o, os.path.join(o, "lib")):
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(tmp, "alloc.c"), "w") as f:
        f.write(LIB)
    with open(os.path.join(tmp, "prog.c"), "w") as f:
        f.write(PROG)
    for d in (a, b, os.path.join(o, "lib")):
        sh("gcc", "-O2", "-fPIC", "-shared", "-Wl,-soname,libdtalloc.so",
           "-o", os.path.join(d, "libdtalloc.so"), os.path.join(tmp, "alloc.c"))
    prog = lambda name, *ld: sh("gcc", "-O0", "-g", "-o", name, os.path.join(tmp, "prog.c"),
                                f"-L{a}", "-ldtalloc", *ld)
    rpath, runpath, origin = (os.path.join(tmp, n) for n in ("rpath", "runpath", "O/origin"))
    prog(rpath, f"-Wl,-rpath,{a}", "-Wl,--disable-new-dtags")
    prog(runpath, f"-Wl,-rpath,{a}", "-Wl,--enable-new-dtags")
    prog(origin, "-Wl,-rpath,$ORIGIN/lib", "-Wl,--enable-new-dtags")
    lib = lambda d: os.path.join(d, "libdtalloc.so")
    # DT_RPATH is searched before LD_LIBRARY_PATH, DT_RUNPATH after it.
    case(c, "rpath", [rpath], lib(a), {"LD_LIBRARY_PATH": b}, tmp)
    case(c, "runpath", [runpath], lib(b), {"LD_LIBRARY_PATH": b}, tmp)
    case(c, "origin", [origin], lib(os.path.join(o, "lib")), {}, tmp)
    # A script run through env: its program is found on PATH.
    script = os.path.join(tmp, "script")
    with open(script, "w") as f:
        f.write("#!/usr/bin/env rpath\n")
    os.chmod(script, 0o755)
    case(c, "env script", [script], lib(a),
         {"PATH": tmp + ":" + os.environ.get("PATH", ""), "LD_LIBRARY_PATH": b}, tmp)
sys.exit(c.finish())
