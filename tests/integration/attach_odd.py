#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Processes that are hard to attach: a zombie, one whose main thread has
exited while a worker runs, and a thread ID given for the process."""
import os
import signal
import subprocess
import sys
import tempfile
import time

from dtlib import Checks, fixture, load, sites, expect_sites

DT, BUILD = sys.argv[1], sys.argv[2]
c = Checks()
WORKER = {"site_worker": (3000, 3, 3000, 3, 3000, 3)}


def state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def trace(mode, pick, out, env=None):
    """Start leaderexit MODE, trace the PID pick(pid, tid) names, let the
    worker allocate; the tracer's rc, its stderr lines and the target's PID."""
    target = subprocess.Popen([fixture(BUILD, "leaderexit"), mode], stdout=subprocess.PIPE)
    tracer = None
    try:
        ready = target.stdout.readline().split()
        if len(ready) != 2 or ready[0] != b"ready":
            raise RuntimeError(f"fixture did not get ready: {ready}")
        tid = int(ready[1])
        tracer = subprocess.Popen([DT, "-i", "0", "-p", str(pick(target.pid, tid)), "-o", out],
                                  stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, **(env or {})})
        lines = []
        while not lines or (lines[-1] and not lines[-1].startswith("dhat-trace: tracing PID")):
            lines.append(tracer.stderr.readline())
        if lines[-1]:
            # Process-directed: reaches the worker also when main is a zombie.
            target.send_signal(signal.SIGUSR1)
            target.wait(timeout=30)
        # No -d: the tracer must end by itself once the last thread has gone.
        lines += tracer.stderr.read().splitlines(keepends=True)
        tracer.wait(timeout=30)
        return tracer.returncode, [ln.rstrip("\n") for ln in lines if ln], target.pid
    finally:
        for p in (target, tracer):
            if p and p.poll() is None:
                p.kill()
                p.wait()


with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "x.json")

    # A child that exited and that we (its parent) do not reap.
    zombie = subprocess.Popen(["true"])
    try:
        deadline = time.time() + 10
        while state(zombie.pid) != "Z" and time.time() < deadline:
            time.sleep(0.01)
        r = subprocess.run([DT, "-p", str(zombie.pid), "-o", out], capture_output=True,
                           text=True, timeout=60)
        want = (f"dhat-trace: PID {zombie.pid} is a zombie (exited, not yet reaped by its "
                f"parent PID {os.getpid()}): nothing to trace\n")
        c.check(r.returncode == 1, "zombie: exit 1", f"rc={r.returncode}")
        c.check(r.stderr == want, "zombie: one line saying so", repr(r.stderr))
        c.check(not os.path.exists(out), "zombie: no output file")
    finally:
        zombie.wait()

    # main() called pthread_exit(); the worker leaks after we attached.
    for label, env in (("main exited", None),
                       ("main exited, classic links", {"DHAT_TRACE_UPROBE_MULTI": "0"})):
        rc, lines, pid = trace("exit-main", lambda pid, tid: pid, out, env)
        c.check(rc == 0, f"{label}: exit 0", "\n".join(lines))
        c.check(any(ln.startswith(f"dhat-trace: warning: the main thread of PID {pid} has "
                                  "exited") for ln in lines),
                f"{label}: says the probes cannot be limited to it", "\n".join(lines))
        c.check(f"dhat-trace: tracing PID {pid} (" in "\n".join(lines), f"{label}: traced",
                "\n".join(lines))
        if c.check(os.path.exists(out), f"{label}: output written"):
            c.check(load(out)["cmd"].startswith(fixture(BUILD, "leaderexit") + " exit-main"),
                    f"{label}: cmd read through the worker", load(out)["cmd"])
            expect_sites(c, sites(out, "leaderexit.c"), WORKER, label)
            os.unlink(out)

    # A worker's thread ID: the whole process is traced, main's leak too.
    rc, lines, pid = trace("join", lambda pid, tid: tid, out)
    c.check(rc == 0, "thread ID: exit 0", "\n".join(lines))
    c.check(len(lines) > 1 and lines[0].startswith("dhat-trace: PID ") and
            lines[0].endswith(f" is a thread of process {pid}: tracing {pid}") and
            lines[1].startswith(f"dhat-trace: tracing PID {pid} ("),
            "thread ID: one line names the process, which is traced", "\n".join(lines))
    if c.check(os.path.exists(out), "thread ID: output written"):
        c.check(load(out)["pid"] == pid, "thread ID: the JSON's pid is the process's",
                str(load(out)["pid"]))
        expect_sites(c, sites(out, "leaderexit.c"),
                     {**WORKER, "site_main": (500, 1, 500, 1, 500, 1)}, "thread ID")
sys.exit(c.finish())
