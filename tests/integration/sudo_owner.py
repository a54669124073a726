#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Under sudo, the files dhat-trace creates belong to the user who ran it.

A user is created for the test (useradd; removed at the end) and dhat-trace
runs as root with SUDO_UID, SUDO_GID and SUDO_USER of that user set, as sudo
sets them, writing into a directory of that user's: the DHAT file, its
snapshots, --summary-json, and with --follow-forks each child's file are that
user's (owner and group); so is a file written over an existing one (the path
through a temporary name).  Without the variables they stay root's."""
import glob
import os
import pwd
import subprocess
import sys
import tempfile

from dtlib import Checks, fixture

DT, BUILD = sys.argv[1], sys.argv[2]
USER = f"dtown{os.getpid() % 100000}"


def owned(c, paths, uid, gid, label):
    bad = {p: (st.st_uid, st.st_gid) for p in paths
           for st in [os.stat(p)] if (st.st_uid, st.st_gid) != (uid, gid)}
    c.check(paths and not bad, f"{label}: {len(paths)} files owned by {uid}:{gid}",
            f"{bad or 'no files'}")


def run(argv, env):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


c = Checks()
subprocess.run(["useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin",
                USER], check=True)
try:
    pw = pwd.getpwnam(USER)
    uid, gid = pw.pw_uid, pw.pw_gid
    sudo = {"SUDO_UID": str(uid), "SUDO_GID": str(gid), "SUDO_USER": USER}
    with tempfile.TemporaryDirectory() as tmp:
        os.chown(tmp, uid, gid)
        out, summary = os.path.join(tmp, "run.json"), os.path.join(tmp, "run.summary.json")
        cmd = [DT, "-q", "-o", out, "--summary-json", summary, "--snapshot-every=400ms", "--",
               fixture(BUILD, "suspects"), "1300"]
        r = run(cmd, sudo)
        snaps = sorted(glob.glob(os.path.join(tmp, "run.snapshot.*.json")))
        if c.check(r.returncode == 0 and os.path.exists(out) and os.path.exists(summary)
                   and snaps, "sudo: output, summary and snapshots written",
                   f"exit {r.returncode}: {r.stderr[-600:]}"):
            owned(c, [out, summary] + snaps, uid, gid, "sudo: output, summary, snapshots")
        # Again over the same files: replaced through a temporary name.
        r = run(cmd, sudo)
        c.check(r.returncode == 0, "sudo: written over the first run's files", r.stderr[-400:])
        owned(c, [out, summary], uid, gid, "sudo: files written over")
        c.check(not [f for f in os.listdir(tmp) if f.startswith(".")],
                "sudo: no temporary left", str(os.listdir(tmp)))

        forks = os.path.join(tmp, "forks.json")
        r = run([DT, "-q", "--follow-forks", "-o", forks, "--", fixture(BUILD, "forker")],
                sudo)
        children = sorted(glob.glob(os.path.join(tmp, "forks.*.json")))
        if c.check(r.returncode == 0 and len(children) == 3,
                   "sudo --follow-forks: the parent's file and 3 children's",
                   f"exit {r.returncode}, {children}: {r.stderr[-600:]}"):
            owned(c, [forks] + children, uid, gid, "sudo --follow-forks: every file")

        plain = os.path.join(tmp, "root.json")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
        r = subprocess.run([DT, "-q", "-o", plain, "--", fixture(BUILD, "basic")],
                           capture_output=True, text=True, timeout=120, env=env)
        if c.check(r.returncode == 0, "without sudo's variables: written", r.stderr[-400:]):
            owned(c, [plain], 0, 0, "without sudo's variables: root's")
finally:
    subprocess.run(["userdel", USER], check=False)
    subprocess.run(["groupdel", USER], check=False, capture_output=True)
sys.exit(c.finish())
