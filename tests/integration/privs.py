#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Least privilege: dhat-trace run as an unprivileged user (nobody) holding only
the capabilities the README names (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE,
CAP_DAC_READ_SEARCH), attached to a root process: the same exact sites and
complete, named stacks as root gets.  With one of them missing it says which,
in one line, and exits 1."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dtlib import Checks, expect_sites, fixture, sites
from expected import BASIC

DT, BUILD = sys.argv[1], sys.argv[2]
NEED = ["bpf", "perfmon", "sys_ptrace", "dac_read_search"]


def as_nobody(caps, argv):
    spec = ",".join("+" + c for c in caps)
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if caps:
        cmd += [f"--inh-caps={spec}", f"--ambient-caps={spec}"]
    return cmd + ["--", *argv]


def traced(c, label, caps, tmp):
    target = subprocess.Popen([fixture(BUILD, "basic"), "--wait"], stdout=subprocess.PIPE)
    out = os.path.join(tmp, label.replace(" ", "_") + ".json")
    try:
        target.stdout.readline()
        tracer = subprocess.Popen(as_nobody(caps, [DT, "-p", str(target.pid), "-o", out]),
                                  stderr=subprocess.PIPE, text=True)
        first = tracer.stderr.readline()
        if first.startswith("dhat-trace: tracing PID"):
            target.send_signal(10)
            target.wait(timeout=60)
        err = first + tracer.stderr.read()
        tracer.wait(timeout=60)
        return tracer.returncode, err, out
    finally:
        if target.poll() is None:
            target.kill()
            target.wait()


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    # A copy nobody can reach, wherever the build tree lives.
    shutil.copy(DT, os.path.join(tmp, "dhat-trace"))
    DT = os.path.join(tmp, "dhat-trace")
    for label, caps in (("the README's four", NEED),
                        ("four + CAP_CHECKPOINT_RESTORE", NEED + ["checkpoint_restore"])):
        rc, err, out = traced(c, label, caps, tmp)
        if not c.check(rc == 0 and os.path.exists(out), f"{label}: traced as nobody",
                       f"exit {rc}: {err[-500:]}"):
            continue
        expect_sites(c, sites(out, "basic.c"), BASIC, label)
        with open(out) as f:
            d = json.load(f)
        x = d["dhatTrace"]
        c.check(x["stacks_truncated"] == 0 and x["unwind_objects"] >= 3,
                f"{label}: complete stacks, unwind tables for every object", str(x))
        c.check(x["frames_without_module"] + x["frames_in_unreadable_objects"] == 0 and
                x["objects_unreadable"] == 0, f"{label}: every object read", str(x))
    for missing in ("sys_ptrace", "bpf"):
        rc, err, out = traced(c, missing, [x for x in NEED if x != missing], tmp)
        lines = [l for l in err.splitlines() if l.strip()]
        c.check(rc == 1 and len(lines) == 1 and f"CAP_{missing.upper()}" in lines[0],
                f"without CAP_{missing.upper()}: one line naming it, exit 1",
                f"exit {rc}: {err[-400:]}")
sys.exit(c.finish())
