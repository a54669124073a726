#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Stopping and detaching: -d, SIGINT, SIGKILL of the tracer, two tracers at once.

The target must keep running untouched after every kind of stop, a killed tracer
must leave no probe behind, and every clean stop must write a valid file.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import dtlib  # noqa: F401 (exits 77, a skip, when not root)

DT, SPIN = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"FAIL - {what} {detail}")


def start_target(tmp):
    progress = os.path.join(tmp, "progress")
    p = subprocess.Popen([SPIN, progress], stdout=subprocess.PIPE)
    assert p.stdout.readline() == b"ready\n"
    return p, progress


def count(progress, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(progress) as f:
                return int(f.read())
        except (OSError, ValueError):
            time.sleep(0.05)
    return -1


def still_running(p, progress):
    """The target is alive and still making progress."""
    a = count(progress)
    time.sleep(0.5)
    return p.poll() is None and count(progress) > a


def start_tracer(pid, out, *extra):
    t = subprocess.Popen([DT, "-p", str(pid), "-o", out, "-i", "0", *extra],
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    line = ""
    while time.time() < deadline:
        line = t.stderr.readline()
        if line.startswith("dhat-trace: tracing PID") or not line:
            break
    return t, line


def tracer_programs(pid):
    """IDs of the BPF programs a tracer holds (its fds' fdinfo): other tracers
    on the machine do not count."""
    ids = set()
    fds = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fds) if os.path.isdir(fds) else ():
        try:
            with open(os.path.join(fds, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def loaded(ids):
    return [i for i in ids if subprocess.run(["bpftool", "prog", "show", "id", str(i)],
                                             capture_output=True).returncode == 0]


def valid_output(path):
    try:
        with open(path) as f:
            d = json.load(f)
        return d["dhatFileVersion"] == 2 and sum(pp["tbk"] for pp in d["pps"]) > 0
    except (OSError, ValueError, KeyError):
        return False


with tempfile.TemporaryDirectory() as tmp:
    target, progress = start_target(tmp)
    try:
        out = os.path.join(tmp, "d.json")
        t, line = start_tracer(target.pid, out, "-d", "700ms")
        check(line.startswith("dhat-trace: tracing PID"), "tracing line printed", line)
        rc = t.wait(timeout=30)
        check(rc == 0, "-d ends the capture with status 0", f"rc={rc}")
        check(valid_output(out), "-d writes a valid file with allocations")
        check(still_running(target, progress), "target keeps running after -d")

        # The periodic report: live, peak, rate and the growing site.
        r = subprocess.run([DT, "-p", str(target.pid), "-o", os.path.join(tmp, "i.json"),
                            "-i", "300ms", "-d", "1s"], capture_output=True, text=True,
                           timeout=60)
        reports = [l for l in r.stderr.splitlines() if "] live " in l]
        check(r.returncode == 0 and len(reports) >= 2, "a peak report every --interval",
              r.stderr)
        check(all("peak" in l and "allocs/s" in l and "lost events 0" in l
                  and "truncated stacks 0" in l for l in reports),
              "reports give peak, rate, losses and truncated stacks", r.stderr)
        check("spin_alloc (spin.c:" in r.stderr, "reports name the top call site", r.stderr)

        out = os.path.join(tmp, "int.json")
        t, line = start_tracer(target.pid, out)
        time.sleep(0.5)
        t.send_signal(signal.SIGINT)
        rc = t.wait(timeout=30)
        check(rc == 0 and valid_output(out), "SIGINT ends the capture and writes the file",
              f"rc={rc}")
        check(still_running(target, progress), "target keeps running after SIGINT")

        out = os.path.join(tmp, "kill.json")
        t, line = start_tracer(target.pid, out)
        time.sleep(0.3)
        ids = tracer_programs(t.pid)
        check(len(loaded(ids)) > 0, "programs loaded while tracing", str(ids))
        t.kill()
        t.wait(timeout=10)
        time.sleep(0.3)
        check(not loaded(ids), "no program or probe left after SIGKILL of the tracer",
              str(loaded(ids)))
        check(not os.path.exists(out), "SIGKILL leaves no output file")
        leftovers = [f for f in os.listdir(tmp) if f.startswith(".kill.json")]
        check(not leftovers, "SIGKILL leaves no temporary file", str(leftovers))
        check(still_running(target, progress), "target keeps running after SIGKILL of the tracer")

        other = subprocess.Popen([SPIN], stdout=subprocess.PIPE)
        other.stdout.readline()
        try:
            o1, o2 = os.path.join(tmp, "a.json"), os.path.join(tmp, "b.json")
            t1, l1 = start_tracer(target.pid, o1, "-d", "1s")
            t2, l2 = start_tracer(other.pid, o2, "-d", "1s")
            r1, r2 = t1.wait(timeout=30), t2.wait(timeout=30)
            check(r1 == 0 and r2 == 0 and valid_output(o1) and valid_output(o2),
                  "two tracers on two processes at once both work")
            with open(o1) as f1, open(o2) as f2:
                p1, p2 = json.load(f1)["pid"], json.load(f2)["pid"]
            check((p1, p2) == (target.pid, other.pid), "each file is of its own process")
        finally:
            other.kill()
            other.wait()
    finally:
        target.kill()
        target.wait()

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
