# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Shared by the integration tests: run dhat-trace and valgrind, read DHAT files
by call site, and count checks."""
import json
import os
import re
import signal
import subprocess
import sys
import time

from checks import Checks  # noqa: F401 (the tests take it from here)



def need_root():
    """Exit 77 (meson's skip) with the reason when not root: these tests load
    BPF programs, place uprobes and ptrace their targets, so that `meson test`
    as a user (a distribution's build) runs the rest and skips them."""
    if os.geteuid() != 0:
        print("# skipped: needs root (it loads BPF programs and places uprobes); "
              f"running as uid {os.geteuid()}")
        sys.exit(77)


# Every test that runs dhat-trace imports this module.
need_root()

FRAME = re.compile(r"^0x[0-9A-Fa-f]+: (.*) \(([^():]+):(\d+)\)$")
FIELDS = ("tb", "tbk", "gb", "gbk", "eb", "ebk")


def sites(path, source):
    """{function: {tb, tbk, ...}} keyed by the innermost frame in file `source`.

    The function name is cut at its parameter list, so C++ names from both tools
    compare equal."""
    with open(path) as f:
        d = json.load(f)
    out = {}
    for pp in d["pps"]:
        for i in pp["fs"]:
            m = FRAME.match(d["ftbl"][i])
            if m and m.group(2) == source:
                fn = m.group(1).split("(")[0].strip()
                agg = out.setdefault(fn, dict.fromkeys(FIELDS, 0))
                for k in FIELDS:
                    agg[k] += pp[k]
                break
    return out


def expect_sites(c, got, want, label):
    for fn, numbers in want.items():
        g = got.get(fn)
        if g is None:
            c.check(False, f"{label}: site {fn} present", f"sites: {sorted(got)}")
            continue
        g = tuple(g[k] for k in FIELDS)
        c.check(g == numbers, f"{label}: {fn} tb/tbk/gb/gbk/eb/ebk = {numbers}", f"got {g}")
    extra = sorted(set(got) - set(want))
    c.check(not extra, f"{label}: no unexpected site", str(extra))


def launch(dt, out, argv, *opts, timeout=120):
    r = subprocess.run([dt, "-q", "-o", out, *opts, "--", *argv], capture_output=True,
                       text=True, timeout=timeout)
    return r


def valgrind(out, argv, timeout=300):
    return subprocess.run(["valgrind", "--tool=dhat", f"--dhat-out-file={out}", *argv],
                          capture_output=True, text=True, timeout=timeout)


def attach(dt, out, argv, *opts, timeout=60):
    """Start argv with --wait, attach, release it with SIGUSR1, wait for both."""
    target = subprocess.Popen([*argv, "--wait"], stdout=subprocess.PIPE)
    tracer = None
    try:
        if target.stdout.readline() != b"ready\n":
            raise RuntimeError("fixture did not get ready")
        tracer = subprocess.Popen([dt, "-i", "0", "-p", str(target.pid), "-o", out, *opts],
                                  stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        # Warnings may come first (what the target lacks, what is done instead).
        first = ""
        while True:
            line = tracer.stderr.readline()
            first += line
            if line.startswith("dhat-trace: tracing PID"):
                break
            if not line or time.time() > deadline:
                raise RuntimeError(f"tracer did not start: {first}")
        target.send_signal(signal.SIGUSR1)
        target.wait(timeout=timeout)
        rest = tracer.stderr.read()
        tracer.wait(timeout=timeout)
        # A fixture that died (a signal it should have waited for) is a
        # failure too, whatever the capture of it says.
        if target.returncode != 0:
            return (tracer.returncode or 1,
                    first + rest + f"\n(the target exited with status {target.returncode})")
        return tracer.returncode, first + rest
    finally:
        for p in (target, tracer):
            if p and p.poll() is None:
                p.kill()
                p.wait()


def load(path):
    with open(path) as f:
        return json.load(f)


def fixture(build, name):
    return os.path.join(build, "tests", name)
