#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A target in its own PID namespace, attached by its host PID: unshare -p -f
with and without --mount-proc (the host's files); bwrap --unshare-pid with the
host's /usr, and unshare -p -f -m + pivot_root into a copied root, both with
the program at a path the host does not have.  Its leak
must be found, with the names a run outside gives.

`dhat-trace -- unshare -p -f --mount-proc PROG` is run too and only reported:
the launched command is unshare, and the program is its forked child."""
import os
import subprocess
import sys
import tempfile

from dtlib import Checks, fixture, load, sites
from nslib import (attach_inside, bwrap_argv, check_container_run, copied_root, need_namespaces,
                   pivot_argv, reference)

DT, BUILD = sys.argv[1], sys.argv[2]
CTR = fixture(BUILD, "ctr")
LEAK = {"ctr_leak_site": (3702, 3, 3702, 3, 3702, 3)}

need_namespaces("pid", "mnt")
c = Checks()
with tempfile.TemporaryDirectory(prefix="dtc-", dir="/tmp") as tmp:
    ref = reference(DT, CTR, os.path.join(tmp, "ref.json"), "ctr_leak_site")
    only = os.path.join(tmp, "only", "ctr")      # the host has nothing here
    root = copied_root(os.path.join(tmp, "root"), {only: CTR})
    modes = (
        ("unshare -p -f --mount-proc", ["unshare", "-p", "-f", "--mount-proc", CTR, "--wait"]),
        ("unshare -p -f, host /proc", ["unshare", "-p", "-f", CTR, "--wait"]),
        ("bwrap --unshare-pid, path not on the host",
         bwrap_argv([only, "--wait"], binds=[(CTR, only)], unshare_pid=True)),
        ("unshare -p -f -m + pivot_root, path not on the host",
         pivot_argv(root, [only, "--wait"], pid_ns=True)),
    )
    for i, (label, argv) in enumerate(modes):
        out = os.path.join(tmp, f"{i}.json")
        run = attach_inside(DT, out, argv, "ctr")
        c.check(run.pidns != os.readlink("/proc/self/ns/pid") and len(run.nspid) == 2
                and run.target_rc == 0,
                f"{label}: target in its own PID namespace (host PID {run.pid}, "
                f"inside {run.nspid[-1]}), exit 0", f"{run.pidns} {run.nspid} exit {run.target_rc}")
        c.check(f"tracing PID {run.pid} (PID {run.nspid[-1]} in its own PID namespace; "
                in run.err, f"{label}: traced by its host PID, both PIDs said",
                run.err.strip()[-400:])
        check_container_run(c, label, run, out, ref, LEAK)

    # Recorded, not asserted: a launch through unshare, whose child is the program.
    out = os.path.join(tmp, "launch.json")
    r = subprocess.run([DT, "-i", "0", "-o", out, "--", "unshare", "-p", "-f", "--mount-proc", CTR],
                       capture_output=True, text=True, timeout=120)
    got = sites(out, "ctr.c") if r.returncode == 0 and os.path.exists(out) else None
    print(f"# note: dhat-trace -- unshare -p -f --mount-proc PROG: exit {r.returncode}, "
          f"ctr.c sites {got}, "
          f"blocks {sum(pp['tbk'] for pp in load(out)['pps']) if got is not None else '-'}")
    for line in r.stderr.splitlines():
        print(f"#   {line}")
sys.exit(c.finish())
