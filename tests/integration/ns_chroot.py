#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A target under plain chroot(8), in dhat-trace's own mount namespace: its
/proc/PID/maps paths are host paths already (ROOT/...), so joining them to
/proc/PID/root doubles the root.  dhat-trace -p must attach and name ctr.c's
code, also where the same path outside the root holds another program.

`dhat-trace --follow-exec -- chroot ROOT PROG` too: the launched command is
chroot, whose libc (the host's) is not the one the program maps, so the
program's own capture (launch.1.json) must be placed in the root's objects."""
import os
import subprocess
import sys
import tempfile
from types import SimpleNamespace

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

    # Launched through chroot(8): the capture of chroot ends at its exec;
    # with --follow-exec the program gets its own, from its first allocation.
    out = os.path.join(tmp, "launch.json")
    r = subprocess.run([DT, "-q", "--follow-exec", "-o", out, "--", "chroot", root, app],
                       capture_output=True, text=True, timeout=120)
    c.check(r.returncode == 0 and os.path.basename(load(out)["cmd"].split()[0]) == "chroot",
            "chroot ROOT PROG, --follow-exec: exit 0, first file chroot's",
            f"exit {r.returncode}: {r.stderr.strip()[-600:]}")
    check_container_run(c, "chroot ROOT PROG, --follow-exec",
                        SimpleNamespace(rc=r.returncode, pid="(launched)", err=r.stderr),
                        os.path.join(tmp, "launch.1.json"), ref, LEAK)
sys.exit(c.finish())
