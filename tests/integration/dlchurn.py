#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""dlopen/dlclose churn (tests/fixtures/dlchurn.c): libA and libB, of one
layout, loaded in turn at the same address, each leaking one block per cycle
whose size says which library made it (A 1009 bytes, B 3011).

A site's blocks split exactly into A's and B's from its tb and tbk, so per
site: A blocks are never under a frame naming libB (b_*, libb.c, libb.so) and
B blocks never under libA's; the innermost frame (malloc's caller) names the
right library's a_alloc_site / b_alloc_site or is ???.
  fast  2000 cycles, no delay: ??? is allowed, counted and printed, and must
        be counted in dhat-trace's own summary and dhatTrace;
  held  6 cycles, each library loaded 150 ms after its allocation: every A
        block under a_alloc_site (liba.c), every B block under b_alloc_site.
Each variant launched (dhat-trace -- prog) and attached (-p)."""
import os
import re
import struct
import sys
import tempfile

from dtlib import Checks, fixture, launch, load
from nslib import attach_inside, key, stacks, unknown

DT, BUILD = sys.argv[1], sys.argv[2]
PROG = fixture(BUILD, "dlchurn")
LIBS = [fixture(BUILD, "liba.so"), fixture(BUILD, "libb.so")]
SIZE = {"A": 1009, "B": 3011}
NAMES = {"A": re.compile(r"^a_alloc(_site)? \(|\(liba\.c:|\(in liba\.so\)"),
         "B": re.compile(r"^b_alloc(_site)? \(|\(libb\.c:|\(in libb\.so\)")}
SITE = {"A": re.compile(r"^a_alloc_site \(liba\.c:\d+\)$"),
        "B": re.compile(r"^b_alloc_site \(libb\.c:\d+\)$")}
OTHER = {"A": "B", "B": "A"}


def split(tb, tbk):
    """A site's (A blocks, B blocks), or None when its bytes are not such a sum."""
    nb, r = divmod(tb - SIZE["A"] * tbk, SIZE["B"] - SIZE["A"])
    return (tbk - nb, nb) if r == 0 and 0 <= nb <= tbk else None


def reuse(stdout):
    """Loads whose base address was the one the previous load (of the other
    library) had."""
    bases = [line.split() for line in stdout.splitlines() if line[:2] in ("A ", "B ")]
    return sum(1 for p, q in zip(bases, bases[1:]) if p[1] == q[1]), len(bases)


def span(path):
    """One past the highest ELF address an object's PT_LOADs take."""
    with open(path, "rb") as f:
        elf = f.read()
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    end = 0
    for i in range(phnum):
        p_type, _, _, vaddr, _, _, memsz = struct.unpack_from("<IIQQQQQ", elf, phoff + i * phentsize)
        if p_type == 1:
            end = max(end, vaddr + memsz)
    return end


def in_churned_code(stdout):
    """Whether an address is in code of a loaded liba or libb."""
    size = max(span(lib) for lib in LIBS)
    bases = sorted({int(line.split()[1], 16) for line in stdout.splitlines()
                    if line[:2] in ("A ", "B ")})
    return lambda a: any(b <= a < b + size for b in bases)


def analyse(c, label, out, err, stdout, cycles, held):
    d = load(out)
    n, loads = reuse(stdout)
    c.check(loads == 2 * cycles and n > 0, f"{label}: libB loaded where libA was (reuse)",
            f"{n} of {loads} loads at the previous load's address")
    blocks = {"A": 0, "B": 0}
    named = {"A": 0, "B": 0}
    wrong = {"A": [], "B": []}
    unknown_blocks = {"A": 0, "B": 0}
    for fs, pp in zip(stacks(d), d["pps"]):
        ab = split(pp["tb"], pp["tbk"])
        keys = [key(f) for f in fs]
        lib = {x: any(NAMES[x].search(k) for k in keys) for x in "AB"}
        via = any(k.startswith(("call_a ", "call_b ")) for k in keys)
        if not ab or not fs or not (lib["A"] or lib["B"] or via or unknown(fs[0])):
            continue        # not a churn site (the loader's own allocations)
        for x, nx in zip("AB", ab):
            if not nx:
                continue
            blocks[x] += nx
            if lib[OTHER[x]]:
                wrong[x].append(f"{nx} {x} blocks under {keys[:3]}")
            elif SITE[x].match(keys[0]):
                named[x] += nx
            elif unknown(fs[0]):
                unknown_blocks[x] += nx
            else:
                wrong[x].append(f"{nx} {x} blocks under innermost {keys[0]!r}")
    # Only the churned libraries may be ???: the program, ld.so and libc are
    # never unloaded, whatever dlopen and dlclose do around them.
    churned = in_churned_code(stdout)
    elsewhere = [f for f in d["ftbl"][1:] if unknown(f) and not churned(int(f.split(":")[0], 16))]
    # ... unless the tracer fell so far behind that it could not know which
    # code a stack's epoch had (a log overwritten or not yet written): then
    # every frame of those stacks is ???, counted.
    extra = d["dhatTrace"]
    behind = extra["unmap_log_overflows"] + extra["unmap_log_timeouts"]
    if elsewhere and behind:
        print(f"# {label}: {len(elsewhere)} ??? frames outside liba/libb, allowed: "
              f"{extra['unmap_log_overflows']} log overflows, "
              f"{extra['unmap_log_timeouts']} log timeouts")
    c.check(not elsewhere or behind, f"{label}: ??? frames only in liba's and libb's code",
            f"{len(elsewhere)} elsewhere: {elsewhere[:4]}")
    for x in "AB":
        c.check(blocks[x] == cycles, f"{label}: all {cycles} {x} blocks found",
                f"{blocks[x]} found")
        c.check(not wrong[x], f"{label}: {x} blocks only under {x}'s names or ???",
                "; ".join(wrong[x][:4]) + (f" (+{len(wrong[x]) - 4})" if len(wrong[x]) > 4 else ""))
    print(f"# {label}: ??? innermost for {unknown_blocks['A']} A and {unknown_blocks['B']} B "
          f"blocks; named right: {named['A']} A, {named['B']} B")
    if held:
        for x in "AB":
            c.check(named[x] == cycles, f"{label}: every {x} block under {x.lower()}_alloc_site",
                    f"{named[x]} of {cycles}")
    # Unknown frames are never silent: dhatTrace and the summary count them.
    unknown_frames = sum(1 for f in d["ftbl"][1:] if unknown(f))
    extra = d["dhatTrace"]
    counted = (extra["frames_without_module"] + extra["frames_without_symbol"] +
               extra["frames_unmapped_before_read"] + extra["frames_in_unreadable_objects"])
    m = re.search(r"frames without symbol: (\d+) of", err)
    c.check(counted >= unknown_frames and m and int(m.group(1)) == counted,
            f"{label}: {unknown_frames} ??? frames counted in dhatTrace and the summary",
            f"dhatTrace {counted}, summary {m.group(1) if m else None}")


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    for variant, cycles, hold in (("fast", 2000, 0), ("held", 6, 150)):
        argv = [PROG, *LIBS, str(cycles), str(hold)]
        label = f"{variant}, launched"
        out = os.path.join(tmp, f"{variant}-launch.json")
        r = launch(DT, out, argv)
        if c.check(r.returncode == 0, f"{label}: exit 0", r.stderr.strip()[-600:]):
            analyse(c, label, out, r.stderr, r.stdout, cycles, variant == "held")
        label = f"{variant}, attached"
        out = os.path.join(tmp, f"{variant}-attach.json")
        run = attach_inside(DT, out, argv + ["--wait"], "dlchurn")
        if c.check(run.rc == 0 and run.target_rc == 0, f"{label}: exit 0",
                   f"{run.rc}/{run.target_rc} {run.err.strip()[-600:]}"):
            analyse(c, label, out, run.err, run.stdout, cycles, variant == "held")
sys.exit(c.finish())
