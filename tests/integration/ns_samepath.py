#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A target in a container whose program sits at a path that on the host holds
another program: dhat-trace -p must name the container's code (ctr.c), never
the host file's (host.c), whether the root is entered by unshare + pivot_root
or by bwrap, and whether its libc is a copy (another inode) or the host's /usr
bind-mounted (the same inode).  And a program at a path the host does not have
at all must get names too."""
import os
import shutil
import sys
import tempfile

from dtlib import Checks, fixture
from nslib import (attach_inside, bwrap_argv, check_container_run, copied_root, need_namespaces,
                   pivot_argv, samepath_setup, usr_root)

DT, BUILD = sys.argv[1], sys.argv[2]
CTR, HOST = fixture(BUILD, "ctr"), fixture(BUILD, "host")
LEAK = {"ctr_leak_site": (3702, 3, 3702, 3, 3702, 3)}

need_namespaces("mnt")
c = Checks()
with tempfile.TemporaryDirectory(prefix="dtc-", dir="/tmp") as tmp:
    app, only, ref = samepath_setup(DT, tmp, CTR, HOST)
    copied = copied_root(os.path.join(tmp, "copied"), {app: CTR, only: CTR})
    usr = usr_root(os.path.join(tmp, "usr"), {app: CTR, only: CTR})
    merged, upper, work = (os.path.join(tmp, "ovl", d) for d in ("merged", "upper", "work"))
    for d in (merged, upper, work):
        os.makedirs(d)

    modes = (
        ("pivot_root, copied libc", pivot_argv(copied, [app, "--wait"])),
        ("pivot_root, host /usr", pivot_argv(usr, [app, "--wait"], bind_usr=True)),
        ("bwrap, copied libc", bwrap_argv([app, "--wait"], root=copied)),
        ("bwrap, host /usr", bwrap_argv([app, "--wait"], binds=[(CTR, app)])),
        ("pivot_root, path not on the host", pivot_argv(copied, [only, "--wait"])),
        ("pivot_root onto overlayfs, copied libc",
         pivot_argv(merged, [app, "--wait"], overlay=(copied, upper, work))),
        ("bwrap, path not on the host", bwrap_argv([only, "--wait"], binds=[(CTR, only)])),
    )
    # The tracer with only the README's four capabilities, as user nobody: no
    # /proc/PID/map_files, so every file is opened by its path inside the
    # target's root and must prove to be the mapped inode.
    os.chmod(tmp, 0o755)
    unpriv = os.path.join(tmp, "unpriv")
    os.mkdir(unpriv, 0o777)
    os.chmod(unpriv, 0o777)
    shutil.copy(DT, os.path.join(unpriv, "dhat-trace"))
    wrapper = os.path.join(unpriv, "dt-nobody")
    caps = "+bpf,+perfmon,+sys_ptrace,+dac_read_search"
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups "
                f"--inh-caps={caps} --ambient-caps={caps} -- {unpriv}/dhat-trace \"$@\"\n")
    os.chmod(wrapper, 0o755)
    modes += tuple((label + ", tracer as nobody with four capabilities", argv, wrapper)
                   for label, argv in modes if "copied libc" in label)
    for i, (label, argv, *dt) in enumerate(modes):
        out = os.path.join(unpriv if dt else tmp, f"{i}.json")
        run = attach_inside(dt[0] if dt else DT, out, argv, "app")
        # The set-up itself: another mount namespace, the program's root elsewhere.
        c.check(run.mnt != os.readlink("/proc/self/ns/mnt") and run.target_rc == 0,
                f"{label}: target in its own mount namespace, exit 0",
                f"{run.mnt} exit {run.target_rc}")
        check_container_run(c, label, run, out, ref, LEAK)
sys.exit(c.finish())
