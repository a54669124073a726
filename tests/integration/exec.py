#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A target that execs another program while traced (execfirst -> execsecond,
one libc), launched and attached.  One output file holds one image: here the
first, whose capture ends at the exec with its file written (cmd naming it)
and a notice on stderr that says exec; the second image's sites never join it.

With --follow-exec the next program gets a capture and a file of its own,
OUT.1.json: launched, it is held until its libraries are mapped, so its file
has every allocation it makes, the ones its libraries' constructors make
included (checked against valgrind --tool=dhat on libstdc++'s program, run
through env(1)).  Attached, the new program is traced from when its probes
are placed (execsecond waits before it leaks): its file names it, has its
leak and nothing of the first."""
import os
import re
import subprocess
import sys
import tempfile

from dtlib import Checks, expect_sites, fixture, load, sites, valgrind
from nslib import attach_inside

DT, BUILD = sys.argv[1], sys.argv[2]
FIRST, SECOND = fixture(BUILD, "execfirst"), fixture(BUILD, "execsecond")
FIRST_SITES = {"first_leak_site": (1554, 2, 1554, 2, 1554, 2)}
SECOND_SITES = {"second_leak_site": (2997, 3, 2997, 3, 2997, 3)}
STDCXX = fixture(BUILD, "stdcxx")
# "exec" as a word of its own, not in the fixtures' names.
NOTICE = re.compile(r"\bexec(?!first|second)", re.I)


def check(c, label, rc, err, out):
    if not c.check(rc == 0 and os.path.exists(out), f"{label}: exit 0, file written",
                   f"exit {rc}: {err.strip()[-600:]}"):
        return
    first, second = sites(out, "execfirst.c"), sites(out, "execsecond.c")
    c.check(not (first and second), f"{label}: never two images' sites in one file",
            f"execfirst.c {sorted(first)}, execsecond.c {sorted(second)}")
    expect_sites(c, first, FIRST_SITES, f"{label}: first image")
    cmd = load(out)["cmd"]
    c.check(os.path.basename(cmd.split()[0]) == "execfirst", f"{label}: cmd names the first image",
            cmd)
    notice = [line for line in err.splitlines() if NOTICE.search(line)]
    c.check(notice, f"{label}: a notice on stderr says exec", err.strip()[-600:])


def totals(path):
    d = load(path)
    return sum(pp["tb"] for pp in d["pps"]), sum(pp["tbk"] for pp in d["pps"])


def check_followed(c, label, out, exact):
    """OUT.1.json: the second program's capture, alone."""
    nxt = out[:-len(".json")] + ".1.json"
    if not c.check(os.path.exists(nxt), f"{label}: the next program's file written", nxt):
        return
    first, second = sites(nxt, "execfirst.c"), sites(nxt, "execsecond.c")
    c.check(not first, f"{label}: nothing of the first program in the next one's file",
            str(sorted(first)))
    if exact:
        expect_sites(c, second, SECOND_SITES, f"{label}: second image")
    cmd = load(nxt)["cmd"]
    c.check(os.path.basename(cmd.split()[0]) == "execsecond",
            f"{label}: its cmd names the second image", cmd)
    c.check(not os.path.exists(out[:-len(".json")] + ".2.json"), f"{label}: no third file")


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "launch.json")
    r = subprocess.run([DT, "-i", "0", "-o", out, "--", FIRST, SECOND], capture_output=True,
                       text=True, timeout=120)
    check(c, "launched", r.returncode, r.stderr, out)
    out = os.path.join(tmp, "attach.json")
    run = attach_inside(DT, out, [FIRST, SECOND, "--wait"], "execfirst")
    check(c, "attached", run.rc, run.err, out)

    out = os.path.join(tmp, "follow.json")
    r = subprocess.run([DT, "-i", "0", "--follow-exec", "-o", out, "--", FIRST, SECOND],
                       capture_output=True, text=True, timeout=120)
    check(c, "launched, --follow-exec", r.returncode, r.stderr, out)
    check_followed(c, "launched, --follow-exec", out, exact=True)
    out = os.path.join(tmp, "follow-attach.json")
    # Attached, the new program is traced once its probes are placed: it
    # waits a while before it leaks.
    os.environ["EXECSECOND_MS"] = "1500"
    run = attach_inside(DT, out, [FIRST, SECOND, "--wait"], "execfirst", "--follow-exec")
    del os.environ["EXECSECOND_MS"]
    check(c, "attached, --follow-exec", run.rc, run.err, out)
    check_followed(c, "attached, --follow-exec", out, exact=True)

    # Through a wrapper that execs it: the program's own file has what
    # valgrind sees of it alone, libstdc++'s start-up allocations too.
    out = os.path.join(tmp, "env.json")
    r = subprocess.run([DT, "-q", "--follow-exec", "-o", out, "--", "env", "DT_TEST=1", STDCXX],
                       capture_output=True, text=True, timeout=120)
    nxt = os.path.join(tmp, "env.1.json")
    if c.check(r.returncode == 0 and os.path.exists(nxt), "env PROG, --follow-exec: exit 0, "
               "PROG's file written", f"exit {r.returncode}: {r.stderr.strip()[-600:]}"):
        vg = os.path.join(tmp, "vg.json")
        v = valgrind(vg, [STDCXX])
        if c.check(v.returncode == 0, "valgrind ran", v.stderr[-400:]):
            c.check(totals(nxt) == totals(vg),
                    "env PROG, --follow-exec: PROG's bytes and blocks equal valgrind's",
                    f"dhat-trace {totals(nxt)}, valgrind {totals(vg)}")
        c.check(load(nxt)["cmd"].split()[0] == STDCXX, "env PROG: its file's cmd names PROG",
                load(nxt)["cmd"])
sys.exit(c.finish())
