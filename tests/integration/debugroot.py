#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Separate debug files of a target in another root (unshare + pivot_root,
bwrap, chroot) are looked for in that root, as the target's own gdb would:
  build-id  a stripped program whose debug file is only in the container's
            /usr/lib/debug/.build-id: named from it (the host has none);
  debuglink a stripped program whose .gnu_debuglink file sits beside it in the
            container, while the host holds another program's debug file
            under that name at the same path: named from the container's;
  wrong id  the container's build-id file belongs to another program: it is
            refused, counted in dhatTrace and said on stderr, and the frames
            come from the program's own symbol table (strip --strip-debug) or
            are ??? (strip --strip-all), never the other program's names."""
import os
import shutil
import subprocess
import sys
import tempfile

from debuglib import build_pair
from dtlib import Checks, load
from nslib import attach_inside, bwrap_argv, copied_root, need_namespaces, pivot_argv

DT, BUILD = sys.argv[1], sys.argv[2]

REFUSED = "separate debug files refused"


def program(tmp, dst, strip, link=None):
    """real, stripped (strip-all or strip-debug), with a debuglink to link."""
    shutil.copy(os.path.join(tmp, "real"), dst)
    subprocess.run(["strip", "--" + strip, dst], check=True)
    if link:
        subprocess.run(["objcopy", "--add-gnu-debuglink=" + link, dst], check=True)


def place(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy(src, dst)


def check(c, label, run, out, want):
    """want: "names" (real.c:line), "symtab" (real_site, no line) or "???"."""
    if not c.check(run.rc == 0 and run.target_rc == 0, f"{label}: exit 0",
                   run.err.strip()[-600:]):
        return
    d = load(out)
    x = d["dhatTrace"]
    used, refused = x.get("debug_files", 0), x.get("debug_files_refused", 0)
    bad = [f for f in d["ftbl"] if "decoy" in f]
    c.check(not bad, f"{label}: no name from another program's debug file", str(bad[:3]))
    pps = [pp for pp in d["pps"] if pp["tb"] == 840 and pp["tbk"] == 4]
    if not c.check(len(pps) == 1, f"{label}: the 4 x 210 bytes at one site", str(len(pps))):
        return
    inner = d["ftbl"][pps[0]["fs"][0]]
    if want == "names":
        c.check(": real_site (real.c:" in inner, f"{label}: named from the container's "
                "debug file", inner)
        c.check(used >= 1 and refused == 0, f"{label}: counted as used, none refused",
                f"used {used}, refused {refused}")
        c.check(REFUSED not in run.err, f"{label}: no refusal said", run.err[-400:])
        return
    if want == "symtab":
        c.check(": real_site (in " in inner, f"{label}: named from the program's own symbols",
                inner)
    else:
        c.check(inner.endswith(": ???") or ": ??? (in " in inner, f"{label}: ???", inner)
        c.check(x["frames_without_symbol"] > 0, f"{label}: counted as frames without symbol",
                str(x["frames_without_symbol"]))
    c.check(refused >= 1, f"{label}: the wrong debug file counted as refused", str(refused))
    c.check(REFUSED in run.err, f"{label}: the refusal said on stderr", run.err[-400:])


need_namespaces("mnt")
c = Checks()
with tempfile.TemporaryDirectory(prefix="dtd-", dir="/tmp") as tmp:
    os.chmod(tmp, 0o755)
    bid = build_pair(tmp)
    by_id = f"/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug"
    app = os.path.join(tmp, "opt", "app")      # the same path in every root
    os.makedirs(os.path.dirname(app))
    # The host's file at the debuglink path belongs to another program.
    shutil.copy(os.path.join(tmp, "decoy.debug"), app + ".debug")
    # Roots: {case: (root, what the frame must be)}
    cases = {}
    for case, strip, link, debug, want in (
            ("build-id", "strip-all", None, "real", "names"),
            ("debuglink", "strip-all", "app.debug", "real", "names"),
            ("wrong id, symtab", "strip-debug", None, "decoy", "symtab"),
            ("wrong id, stripped", "strip-all", None, "decoy", "???")):
        root = os.path.join(tmp, case.replace(" ", "").replace(",", "-"))
        prog = os.path.join(tmp, "prog-" + os.path.basename(root))
        if link:
            # The link's CRC is taken from the right file, made in a scratch dir.
            d = os.path.join(tmp, "link-" + os.path.basename(root))
            os.makedirs(d)
            shutil.copy(os.path.join(tmp, "real.debug"), os.path.join(d, link))
            program(tmp, os.path.join(d, "app"), strip, os.path.join(d, link))
            shutil.copy(os.path.join(d, "app"), prog)
            place(os.path.join(tmp, "real.debug"), root + app + ".debug")
        else:
            program(tmp, prog, strip)
            place(os.path.join(tmp, debug + ".debug"), root + by_id)
        copied_root(root, {app: prog})
        cases[case] = (root, want)
    if os.path.exists(by_id):
        print(f"# note: the host has {by_id}: the build-id cases prove less")

    runs = []
    for case, (root, want) in cases.items():
        runs += [(f"pivot_root, {case}", pivot_argv(root, [app, "--wait"]), want),
                 (f"chroot, {case}", ["chroot", root, app, "--wait"], want)]
        if not case.startswith("wrong"):
            runs.append((f"bwrap, {case}", bwrap_argv([app, "--wait"], root=root), want))
    for i, (label, argv, want) in enumerate(runs):
        out = os.path.join(tmp, f"{i}.json")
        run = attach_inside(DT, out, argv, "app")
        check(c, label, run, out, want)
sys.exit(c.finish())
