#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A target under plain chroot(8), in dhat-trace's own mount namespace: its
/proc/PID/maps paths are host paths already (ROOT/...), so joining them to
/proc/PID/root doubles the root.  dhat-trace -p must attach and name ctr.c's
code, also where the same path outside the root holds another program.

`dhat-trace -- chroot ROOT PROG` is run too and only reported: the launched
command is chroot, whose libc (the host's) is not the one the program maps."""
import os
import subprocess
import sys
import tempfile

from dtlib import Checks, fixture, load, sites
from nslib import attach_inside, check_container_run, copied_root, samepath_setup

DT, BUILD = sys.argv[1], sys.argv[2]
CTR, HOST = fixture(BUILD, "ctr"), fixture(BUILD, "host")
LEAK = {"ctr_leak_site": (3702, 3, 3702, 3, 3702, 3)}

c = Checks()
with tempfile.TemporaryDirectory(prefix="dtc-", dir="/tmp") as tmp:
    app, only, ref = samepath_setup(DT, tmp, CTR, HOST)
    root = copied_root(os.path.join(tmp, "root"), {app: CTR, only: CTR})

    for i, (label, path) in enumerate((("chroot, same path on the host", app),
                                       ("chroot, path not on the host", only))):
        out = os.path.join(tmp, f"{i}.json")
        run = attach_inside(DT, out, ["chroot", root, path, "--wait"], "app")
        c.check(run.mnt == os.readlink("/proc/self/ns/mnt") and run.root == root
                and run.target_rc == 0,
                f"{label}: target in our mount namespace, root {root}, exit 0",
                f"{run.mnt} {run.root} exit {run.target_rc}")
        check_container_run(c, label, run, out, ref, LEAK)

    # Recorded, not asserted: what a launch through chroot(8) gives.
    out = os.path.join(tmp, "launch.json")
    r = subprocess.run([DT, "-q", "-o", out, "--", "chroot", root, app], capture_output=True,
                       text=True, timeout=120)
    got = sites(out, "ctr.c") if r.returncode == 0 and os.path.exists(out) else None
    print(f"# note: dhat-trace -- chroot ROOT PROG: exit {r.returncode}, ctr.c sites {got}, "
          f"blocks {sum(pp['tbk'] for pp in load(out)['pps']) if got is not None else '-'}")
    for line in r.stderr.splitlines():
        print(f"#   {line}")
sys.exit(c.finish())
