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


# meson's *_inject tests run the same files with DT_INJECT=1: launch() and
# attach() then capture with --inject (MODE, for the tests' own command
# lines too), and each such capture is made once more with the uprobes, into
# FILE.uprobe.json, for compare_modes().
INJECT = os.environ.get("DT_INJECT") == "1"
MODE = ["--inject"] if INJECT else []
TWINS = []


def _launch(dt, out, argv, opts, timeout, env):
    return subprocess.run([dt, "-q", "-o", out, *opts, "--", *argv], capture_output=True,
                          text=True, timeout=timeout, env=env)


def launch(dt, out, argv, *opts, timeout=120, env=None):
    r = _launch(dt, out, argv, [*MODE, *opts], timeout, env)
    if INJECT and r.returncode == 0:
        twin = out + ".uprobe.json"
        u = _launch(dt, twin, argv, opts, timeout, env)
        pre = [f"LD_PRELOAD={env['LD_PRELOAD']}"] if env and "LD_PRELOAD" in env else []
        TWINS.append(("launch " + " ".join([*pre, os.path.basename(argv[0]), *opts]), out, twin,
                      u.returncode, u.stderr))
    return r


def valgrind(out, argv, timeout=300):
    return subprocess.run(["valgrind", "--tool=dhat", f"--dhat-out-file={out}", *argv],
                          capture_output=True, text=True, timeout=timeout)


def attach(dt, out, argv, *opts, timeout=60, env=None):
    """Start argv with --wait, attach, release it with SIGUSR1, wait for both
    (under DT_INJECT=1 with --inject, then once more with the uprobes)."""
    rc, err = _attach(dt, out, argv, [*MODE, *opts], timeout, env)
    if INJECT and rc == 0:
        twin = out + ".uprobe.json"
        urc, uerr = _attach(dt, twin, argv, opts, timeout, env)
        pre = [f"LD_PRELOAD={env['LD_PRELOAD']}"] if env and "LD_PRELOAD" in env else []
        TWINS.append(("attach " + " ".join([*pre, os.path.basename(argv[0]), *opts]), out,
                      twin, urc, uerr))
    return rc, err


def _attach(dt, out, argv, opts, timeout, env=None):
    target = subprocess.Popen([*argv, "--wait"], stdout=subprocess.PIPE, env=env)
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


# Per site, every number but tl (the sum of lifetimes: times).  mb/mbk,
# a site's own peak, only where one thread allocates there: threads that
# allocate and free at one site at once (threads.c's site_work) give it
# another peak from run to run, with the uprobes as well.
PP_NUMS = ("tb", "tbk", "mb", "mbk", "gb", "gbk", "eb", "ebk")
PP_NUMS_THREADS = ("tb", "tbk", "gb", "gbk", "eb", "ebk")
# The top-level fields that differ between two runs: the times (te, tg),
# the process (pid) and dhatTrace, the tracer's statistics, of which only
# those below compare; cmd, once the count of frees ignored is taken out.
TOP_DIFFER = ("te", "tg", "pid", "dhatTrace", "pps", "ftbl")
_IGNORED = re.compile(r"frees of blocks never seen allocated \d+")
# dhatTrace's counts of what happened to the program's calls, the same
# whichever way they were recorded (the rest count the tracer's own work:
# probes, tables, loads held, times, memory).  Not unknown_frees, the frees
# of blocks never seen allocated, ignored either way: the uprobes see libc's
# calls to free from inside itself, past its PLT (8 in threads: each exiting
# thread's tcache_thread_shutdown freeing what libc made without malloc's
# API), the agent does not; and the agent sees frees of blocks ld.so
# allocated unseen (1 in dlopen).
TRACE_SAME = ("lost_events", "unknown_reallocs", "displaced_blocks", "realloc_races",
              "returns_without_entry", "allocs_without_stack", "bad_records",
              "untracked_blocks", "stacks_truncated")
_ADDR = re.compile(r"^0x[0-9A-Fa-f]+: ")


def by_stack(d):
    """{frames without their addresses (ASLR): sorted numbers of the pps}."""
    out = {}
    for pp in d["pps"]:
        frames = tuple(_ADDR.sub("", d["ftbl"][i]) for i in pp["fs"])
        nums = PP_NUMS_THREADS if any("start_thread (" in f for f in frames) else PP_NUMS
        out.setdefault(frames, []).append(tuple(pp[k] for k in nums))
    return {k: sorted(v) for k, v in out.items()}


def same_document(a, b):
    """The differences between an --inject capture (a) and the uprobes' (b):
    [] when they are the same document but for times, pid and tracer
    statistics."""
    diffs = []
    for k in sorted(set(a) | set(b)):
        va, vb = (_IGNORED.sub("frees ignored", str(d.get(k))) for d in (a, b))
        if k not in TOP_DIFFER and va != vb:
            diffs.append(f"{k}: {a.get(k)!r} vs {b.get(k)!r}")
    ta, tb = a.get("dhatTrace", {}), b.get("dhatTrace", {})
    for k in TRACE_SAME:
        if ta.get(k) != tb.get(k):
            diffs.append(f"dhatTrace.{k}: {ta.get(k)} vs {tb.get(k)}")
    sa, sb = by_stack(a), by_stack(b)
    for k in sorted(set(sa) | set(sb)):
        if sa.get(k) != sb.get(k):
            diffs.append(f"{' | '.join(k[:4])}: {sa.get(k)} vs {sb.get(k)}")
    fa, fb = (frames_used(d) for d in (a, b))
    if not diffs and fa != fb:
        diffs.append(f"ftbl: {len(fa)} vs {len(fb)} frames")
    return diffs


def frames_used(d):
    """ftbl's entries (addresses off) that the pps use."""
    used = set()
    for pp in d["pps"]:
        used.update(pp["fs"])
    return sorted(_ADDR.sub("", d["ftbl"][i]) for i in used)


def compare_modes(c):
    """Under DT_INJECT=1: each capture the test made with --inject against
    its twin made with the uprobes."""
    for label, a, b, rc, err in TWINS:
        if not c.check(rc == 0, f"{label}: the uprobe twin: exit 0", err[-400:]):
            continue
        da, db = load(a), load(b)
        diffs = same_document(da, db)
        c.check(not diffs, f"{label}: --inject and uprobes write the same document "
                "(but times, pid, tracer statistics)", "; ".join(diffs[:6]))
    TWINS.clear()
