#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""--inject: the in-process agent.

- The same per-site numbers (and the same stacks, frame pointers both ways)
  as the uprobe mode on the frame-pointer fixtures, and DHAT's expected ones;
  on the fixtures built without frame pointers, the same numbers and frames
  as the uprobe mode's DWARF stacks, walked in the agent over the tables
  the tracer shares with it, no stack cut short.
- The GOT slots it rewrote are back, read through /proc/PID/mem, after a
  normal end and within 100 ms of the tracer's SIGKILL; the target runs on.
- The targets it cannot or must not touch are refused, each with its reason,
  and left running: a static executable, a stopped process, a traced one.
- Launched (-- COMMAND), from its first allocation, as the uprobe launch.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from dtlib import (Checks, attach, expect_sites, fixture, launch as dt_launch, load,
                   same_document, sites)
from expected import BASIC, CXX, THREADS
from nslib import copied_root

DT, BUILD = sys.argv[1], sys.argv[2]
SPIN = fixture(BUILD, "spin")
NUMS = ("tb", "tbk", "gb", "gbk", "eb", "ebk")


def pps(path):
    """{frames without their addresses: numbers}: two runs of one program."""
    with open(path) as f:
        d = json.load(f)
    return {tuple(re.sub(r"^0x[0-9A-Fa-f]+: ", "", d["ftbl"][i]) for i in pp["fs"]):
            tuple(pp[k] for k in NUMS) for pp in d["pps"]}, d["dhatTrace"]


FP = (["--inject", "--unwind=fp"], ["--unwind=fp"])
DWARF = (["--inject", "--unwind=dwarf"], ["--unwind=dwarf"])
# --unwind=auto, the default: DWARF where there are tables.
AUTO = (["--inject"], ["--unwind=dwarf"])


def capture(how, out, argv, *opts, duration="60s"):
    """(exit status, stderr) of a capture of argv, launched or attached."""
    if how == "launch":
        r = dt_launch(DT, out, argv, *opts)
        return r.returncode, r.stderr
    return attach(DT, out, argv, *opts, "-d", duration)


def parity(c, tmp):
    # ld.so allocates through its own pointers to libc's functions (the DTV
    # of each new thread): the agent finds and hooks them (got.c).
    for name, src, want, ldso, how in (("basic", "basic.c", BASIC, False, FP),
                                       ("cxx", "cxx.cpp", CXX, False, FP),
                                       ("threads", "threads.c", THREADS, True, FP),
                                       ("basic-nofp", "basic.c", BASIC, False, DWARF),
                                       ("cxx-nofp", "cxx.cpp", CXX, False, AUTO),
                                       ("threads-nofp", "threads.c", THREADS, True, DWARF)):
        got = {}
        for mode, opts in (("inject", how[0]), ("uprobe", how[1])):
            out = os.path.join(tmp, f"{name}-{mode}.json")
            rc, err = attach(DT, out, [fixture(BUILD, name)], *opts, "-d", "60s")
            if not c.check(rc == 0, f"{name} {mode}: exit 0", err[-600:]):
                break
            got[mode] = pps(out)
            if mode == "inject":
                got_sites = sites(out, src)
                w = want
                if ldso:
                    w = {k: v for k, v in want.items() if k != "main"}
                    m = got_sites.pop("main", {})
                    # By frame pointers the walk cannot get out of ld.so.
                    c.check(how is FP or (m.get("tbk"), m.get("gbk"), m.get("ebk")) ==
                            (want["main"][1], want["main"][3], want["main"][5]),
                            f"{name} --inject: each new thread's DTV, from ld.so", str(m))
                expect_sites(c, got_sites, w, f"{name} --inject")
                extra = got[mode][1]
                c.check(extra.get("lost_events", 0) == 0, f"{name} --inject: nothing lost",
                        str(extra))
                c.check("in-process agent" in err, f"{name} --inject: says how it records",
                        err[:300])
                if how is not FP:
                    c.check(extra.get("stack_unwinds", 0) > 0 and
                            extra.get("stacks_truncated", 1) == 0,
                            f"{name} --inject: DWARF stacks from the agent, none cut short",
                            str({k: v for k, v in extra.items() if "unwind" in k or
                                 "truncated" in k}))
        if len(got) < 2:
            continue
        a, b = got["inject"][0], got["uprobe"][0]
        diff = {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
        c.check(not diff and len(a) > 0,
                f"{name}: --inject and uprobes give the same stacks and numbers ({len(a)} sites)",
                str(list(diff.items())[:3]))


def times(c, tmp):
    """The agent's times: RDTSC counts where the kernel's clock is the TSC,
    turned into CLOCK_MONOTONIC by the tracer (src/tscmap.c).  ctr leaks
    three blocks and lingers 300 ms: their lifetimes, to the end, are the
    same in both modes, to within the runs' own difference."""
    with open("/sys/devices/system/clocksource/clocksource0/current_clocksource") as f:
        tsc = f.read().strip() == "tsc"
    got = {}
    for mode, opts in (("inject", ["--inject", "-v"]), ("uprobe", [])):
        out = os.path.join(tmp, f"times-{mode}.json")
        r = subprocess.run([DT, "-o", out, *opts, "--", fixture(BUILD, "ctr")],
                           capture_output=True, text=True, timeout=120)
        if not c.check(r.returncode == 0, f"times {mode}: exit 0", r.stderr[-400:]):
            return
        if mode == "inject":
            c.check(("stamps its records with the TSC" in r.stderr) == tsc,
                    f"times: the agent stamps with the TSC {'' if tsc else 'not '}"
                    f"(the kernel's clocksource is{'' if tsc else ' not'} the TSC)",
                    r.stderr[-600:])
        with open(out) as f:
            d = json.load(f)
        pp = [p for p in d["pps"] if any("ctr_leak_site" in d["ftbl"][i] for i in p["fs"])]
        if c.check(len(pp) == 1, f"times {mode}: one ctr_leak_site", str(len(pp))):
            got[mode] = (pp[0]["tl"], d["te"])
    if len(got) == 2:
        (tl_i, te_i), (tl_u, te_u) = got["inject"], got["uprobe"]
        for mode, (tl, te) in got.items():
            c.check(900_000 <= tl <= 3 * te, f"times {mode}: three blocks live 300 ms or more "
                    f"and no longer than the run (tl {tl} µs, te {te} µs)")
        c.check(abs(tl_i - tl_u) < 0.1 * tl_u, f"times: the lifetimes agree between modes "
                f"({tl_i} µs against {tl_u} µs)")


def launch(c, tmp):
    """--inject -- COMMAND: the agent goes in once ld.so has relocated every
    library and before their constructors run (injlaunch.c): the same
    document as the uprobe launch, the libraries' constructors' blocks
    (libstdc++'s exception pool) included.  dash and ls too: dash reads
    environ, which libc's constructor sets (noneeded.py says why it does
    not run early, inside the agent's dlopen)."""
    for name, cmd, want, how in (("basic", [fixture(BUILD, "basic")], BASIC, FP),
                                 ("cxx", [fixture(BUILD, "cxx")], CXX, FP),
                                 ("cxx-nofp", [fixture(BUILD, "cxx-nofp")], CXX, AUTO),
                                 ("dash", ["sh", "-c", "echo \"$HOME\" > /dev/null"], None, AUTO),
                                 ("ls", ["ls", "/"], None, AUTO)):
        got = {}
        for mode, opts in (("inject", how[0]), ("uprobe", how[1])):
            out = os.path.join(tmp, f"launch-{name}-{mode}.json")
            r = subprocess.run([DT, "-q", "-o", out, *opts, "--", *cmd],
                               capture_output=True, text=True, timeout=120)
            if c.check(r.returncode == 0, f"launch {name} {mode}: exit 0", r.stderr[-400:]):
                got[mode] = pps(out)[0]
                if mode == "inject" and want:
                    src = "cxx.cpp" if "cxx" in name else "basic.c"
                    expect_sites(c, sites(out, src), want, f"launch {name} --inject")
        if len(got) == 2:
            a, b = got["inject"], got["uprobe"]
            diff = {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
            c.check(not diff and a, f"launch {name}: --inject and uprobes give the same stacks "
                    f"and numbers ({len(a)} sites)", str(list(diff.items())[:3]))
    # operator new throwing bad_alloc through the hook does not leave the
    # thread's guard set: what follows is recorded.  (The exceptions' own
    # blocks, under main: fixtures.py, in both modes.)
    out = os.path.join(tmp, "badalloc.json")
    r = subprocess.run([DT, "-q", "-o", out, "--inject", "--", fixture(BUILD, "badalloc")],
                       capture_output=True, text=True, timeout=60)
    if c.check(r.returncode == 0, "badalloc: exit 0 (three bad_alloc caught)", r.stderr[-300:]):
        expect_sites(c, {k: v for k, v in sites(out, "badalloc.cpp").items() if k != "main"},
                     {"site_after_throw": (500, 5) * 3}, "badalloc --inject")
    r = subprocess.run([DT, "-q", "-o", os.path.join(tmp, "sh.json"), "--inject", "--", "sh",
                        "-c", "exit 3"], capture_output=True, text=True, timeout=60)
    c.check(r.returncode == 3, "launch --inject: the command's exit status is dhat-trace's",
            f"exit {r.returncode}: {r.stderr[-300:]}")
    r = subprocess.run([DT, "-q", "-o", os.path.join(tmp, "st.json"), "--inject", "--",
                        fixture(BUILD, "basic-static")], capture_output=True, text=True,
                       timeout=60)
    m = re.search(r"PID (\d+) has no dynamic libc", r.stderr)
    c.check(r.returncode == 1 and m, "launch --inject of a static executable: refused, saying so",
            r.stderr)
    if m:
        time.sleep(0.2)
        try:
            with open(f"/proc/{m.group(1)}/status") as f:
                state = re.search(r"State:\s+(\S)", f.read()).group(1)
        except OSError:
            state = "gone"
        c.check(state in ("gone", "Z"), "launch --inject of a static executable: it does not "
                "run untraced", state)


def later(c, tmp):
    """A library dlopen'ed during the capture is patched at once (batch 1
    runs right after its dlopen); forked children are not recorded."""
    out = os.path.join(tmp, "dlopen.json")
    rc, err = attach(DT, out, [fixture(BUILD, "dlopen"), fixture(BUILD, "libdlalloc.so")],
                     "--inject", "-d", "60s")
    if c.check(rc == 0, "dlopen: exit 0", err[-600:]):
        with open(out) as f:
            d = json.load(f)
        # Frame 0 is in the library (the -O2 build has no frame pointers
        # beyond it): both batches meet there.
        lib = [pp for pp in d["pps"] if pp["fs"] and "(dlalloc.c:" in d["ftbl"][pp["fs"][0]]]
        got = (sum(pp["tb"] for pp in lib), sum(pp["tbk"] for pp in lib))
        c.check(got == (6000, 40), "dlopen: both batches of the library loaded while tracing "
                "recorded (20 x 100 and 20 x 200 bytes from dlalloc.c)", str(got))
        # DWARF (the default): the agent waits for the new library's table
        # after the dlopen, so batch 1 already has its whole stack.
        whole = [pp["tb"] for pp in lib if any(" main (dlopen.c:" in d["ftbl"][i]
                                               for i in pp["fs"])]
        c.check(sum(whole) == 6000, "dlopen --inject: stacks through the library loaded while "
                "tracing reach main (its table was shared with the agent at once)",
                str([[d["ftbl"][i] for i in pp["fs"]] for pp in lib]))
        # The agent's own calls (dlsym in its dlopen hook) are not the program's.
        agent = [d["ftbl"][i] for pp in d["pps"] for i in pp["fs"]
                 if "dhat-agent" in d["ftbl"][i] or "ag_got" in d["ftbl"][i]]
        c.check(not agent, "dlopen --inject: no site of the agent's own", str(agent[:4]))
    want = {"keep_site": (64, 1, 64, 1, 64, 1), "parent_site": (900, 3, 900, 3, 900, 3)}
    out = os.path.join(tmp, "forker.json")
    rc, err = attach(DT, out, [fixture(BUILD, "forker")], "--inject", "-d", "60s")
    if c.check(rc == 0, "forker: exit 0", err[-600:]):
        expect_sites(c, sites(out, "forker.c"), want, "forker --inject (children not recorded)")


def constructors(c, tmp):
    """A library whose constructor allocates, dlopen'ed while traced: the
    loader runs the constructor inside dlopen, and the agent has patched the
    library by then (the signal of --inject's one probe, src/agent/dlinit.c),
    so both modes write the same document, launched and attached.  A thread
    that blocks that signal gets none: its dlopen is counted and said."""
    argv = [fixture(BUILD, "dlopen"), fixture(BUILD, "libdlctor.so")]
    want = {"ctor_keep": (900, 3), "ctor_temp": (100, 2), "lib_alloc": (6000, 40)}
    late = "constructors before the agent could patch them"
    for how in ("launch", "attach"):
        docs = {}	# mode: its output
        for mode, opts in (("inject", ["--inject", "-v"]), ("uprobe", [])):
            out = os.path.join(tmp, f"ctor-{how}-{mode}.json")
            rc, err = capture(how, out, argv, *opts)
            if c.check(rc == 0, f"constructors {how} {mode}: exit 0", err[-600:]):
                docs[mode] = out
            if mode == "inject":
                c.check(late not in err and re.search(r"[1-9]\d* patch passes before "
                                                        r"constructors", err),
                        f"constructors {how} --inject: patched before the constructor ran",
                        err[-600:])
        if len(docs) < 2:
            continue
        got = {k: (v["tb"], v["tbk"]) for k, v in sites(docs["inject"], "dlctor.c").items()}
        c.check(got == want, f"constructors {how} --inject: the constructor's allocations "
                "recorded (ctor_keep 3 x 300, ctor_temp 2 x 50)", str(got))
        diffs = same_document(load(docs["inject"]), load(docs["uprobe"]))
        c.check(not diffs, f"constructors {how}: --inject and uprobes write the same document",
                "; ".join(diffs[:4]))
    out = os.path.join(tmp, "ctor-blocked.json")
    rc, err = attach(DT, out, argv, "--inject", "-d", "60s",
                     env=dict(os.environ, DLOPEN_BLOCK_URG="1"))
    if c.check(rc == 0, "constructors, SIGURG blocked: exit 0", err[-600:]):
        got = sites(out, "dlctor.c")
        c.check("ctor_keep" not in got and re.search(r"1 dlopen\(s\) in PID \d+ ran the new "
                                                    r"objects' " + late + r" \(the thread "
                                                    r"blocked SIGURG\)", err),
                "constructors, SIGURG blocked: not recorded, and said", err[-600:])


def exec_(c, tmp):
    """exec: the new image is untouched (the agent went with the old one);
    the capture ends at the exec as with the probes, the old image's
    numbers kept."""
    out = os.path.join(tmp, "exec.json")
    rc, err = attach(DT, out, [fixture(BUILD, "execfirst"), fixture(BUILD, "execsecond")],
                     "--inject", "-d", "60s")
    if c.check(rc == 0, "exec: exit 0", err[-600:]):
        expect_sites(c, sites(out, "execfirst.c"), {"first_leak_site": (1554, 2) * 3},
                     "exec --inject")
        c.check("replaced its program (exec): the capture of" in err,
                "exec: the capture ends there, as with the probes", err[-600:])


def churn(c, tmp):
    """Attach and detach again and again (and once SIGKILL the tracer) while
    four threads allocate, check and free without pause and others come and
    go: every capture ends well and no block is ever found damaged."""
    p = subprocess.Popen([fixture(BUILD, "churn"), "8"], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"ready\n"
        fails = []
        for i in range(6):
            out = os.path.join(tmp, f"churn-{i}.json")
            t = subprocess.Popen([DT, "--inject", "-q", "-p", str(p.pid), "-o", out, "-i", "0",
                                  "-d", "0.6s"], stderr=subprocess.PIPE, text=True)
            if i == 3:
                time.sleep(0.3)
                t.kill()
            err = t.communicate(timeout=60)[1]
            if i != 3 and (t.returncode != 0 or not os.path.exists(out)):
                fails.append(f"{i}: exit {t.returncode}: {err[-300:]}")
            time.sleep(0.1)
        c.check(not fails, "churn: six attach/detach cycles under load (one tracer killed)",
                "; ".join(fails))
        rc = p.wait(timeout=60)
        c.check(rc == 0, "churn: the target ran on and found no block damaged", f"exit {rc}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def many_threads(c, tmp):
    """A thousand threads stopped and let go, then all allocating at once:
    every call counted (sink[] keeps 256 of the kept blocks; the rest leak
    as well, unreferenced)."""
    out = os.path.join(tmp, "manythreads.json")
    rc, err = attach(DT, out, [fixture(BUILD, "manythreads")], "--inject", "-d", "60s")
    if c.check(rc == 0, "1000 threads: exit 0", err[-400:]):
        got = sites(out, "manythreads.c").get("thread_site")
        want = {"tb": 128000, "tbk": 2000, "eb": 64000, "ebk": 1000}
        pp = [(p["tb"], p["tbk"]) for p in load(out)["pps"]][:6]
        c.check(got and all(got[k] == v for k, v in want.items()),
                "1000 threads: every call of every thread counted once",
                f"{got}; sites {pp}; {err[-600:]}")


OWN = {"site_cross": (24, 1, 0, 0, 0, 0), "site_own": (300, 3, 300, 3, 200, 2),
       "site_grow": (150, 2, 100, 1, 100, 1), "site_lib": (96, 2, 96, 2, 96, 2),
       "site_mixed": (120, 2, 80, 1, 80, 1)}


def own_allocator(c, tmp):
    """An executable with its own malloc: its direct calls reach no GOT slot,
    so the uprobes on it record them, beside the agent, which records the
    calls through the GOT (the probes skip those: their return address is
    the agent's).  ownmalloc: its library's calls, blocks crossing between
    the two both ways.  ownnew: libstdc++'s new and delete over our malloc
    and free, each counted once.  The document is the uprobes' alone,
    attached and launched."""
    msg = "defines free, malloc, calloc, realloc itself: uprobes record its own calls"
    for name, src, want, agent in (("ownmalloc", "ownmalloc.c", OWN, 5),
                                   ("ownnew", "ownnew.cpp", None, None)):
        argv = [fixture(BUILD, name)]
        for how in ("attach", "launch"):
            docs = {}
            for mode, opts in (("inject", ["--inject", "-v"]), ("uprobe", [])):
                out = os.path.join(tmp, f"{name}-{how}-{mode}.json")
                rc, err = capture(how, out, argv, *opts)
                label = f"{name}, {how} {mode}"
                if not c.check(rc == 0, f"{label}: exit 0", err[-600:]):
                    continue
                docs[mode] = out
                if want:
                    expect_sites(c, sites(out, src), want, label)
                if mode == "inject":
                    m = re.search(r"--inject: (\d+) calls recorded by the agent", err)
                    c.check(msg in err and m and (int(m.group(1)) == agent if agent else
                                                  int(m.group(1)) > 0),
                            f"{label}: said, and both record", err[-800:])
            if len(docs) == 2:
                got = sites(docs["inject"], src)
                diffs = same_document(load(docs["inject"]), load(docs["uprobe"]))
                c.check(not diffs and {"site_new", "site_del", "site_own"} <= set(got)
                        if name == "ownnew" else not diffs,
                        f"{name}, {how}: --inject beside the uprobes and the uprobes alone "
                        "write the same document", "; ".join(diffs[:4]) or str(got))


def own_reuse(c, tmp):
    """The executable's own allocator hands each freed address out again at
    once, to the library (the agent's records) and to the executable (the
    uprobes'), in turn, 40,000 times on each of two threads: merged by time,
    every free comes before the reuse of its address, and nothing is left."""
    argv = [fixture(BUILD, "ownreuse")]
    for how in ("attach", "launch"):
        out = os.path.join(tmp, f"ownreuse-{how}.json")
        rc, err = capture(how, out, argv, "--inject", "-v", duration="120s")
        if not c.check(rc == 0, f"own allocator reused, {how}: exit 0", err[-600:]):
            continue
        m = re.search(r"--inject: (\d+) calls recorded by the agent", err)
        c.check(m and int(m.group(1)) >= 120000,
                f"own allocator reused, {how}: the agent recorded the library's 120,000 calls",
                m.group(0) if m else err[-600:])
        got = {k: tuple(v[n] for n in ("tb", "tbk", "eb", "ebk"))
               for k, v in sites(out, "ownreuse.c").items() if k.startswith("site_")}
        want = {"site_libside": (2560000, 80000, 0, 0), "site_ownside": (1280000, 40000, 0, 0)}
        c.check(got == want, f"own allocator reused, {how}: every block counted, none left",
                str(got))
        t = load(out)["dhatTrace"]
        c.check(all(t.get(k) == 0 for k in ("displaced_blocks", "unknown_frees",
                                              "lost_events")),
                f"own allocator reused, {how}: no block displaced, no free unknown",
                str({k: t.get(k) for k in ("displaced_blocks", "unknown_frees",
                                           "lost_events")}))


def stalled_reader(c, tmp):
    """capfill's burst, 200,000 blocks kept and freed (~16 MB of records),
    while the tracer is stopped: the default ring holds all of it, and
    nothing is lost; an 8M ring drops and says how many.  A reader that
    falls behind (a busy or stolen CPU) is the same case, less often."""
    for ring, lossless in (([], True), (["--ring-size", "8M"], False)):
        label = "stalled reader" + (", --ring-size 8M" if ring else "")
        out = os.path.join(tmp, "stalled.json")
        target = subprocess.Popen([fixture(BUILD, "capfill"), "--wait"], stdout=subprocess.PIPE)
        tracer = None
        try:
            assert target.stdout.readline() == b"ready\n"
            tracer = subprocess.Popen([DT, "--inject", "-i", "0", "-p", str(target.pid),
                                       "-o", out, *ring], stderr=subprocess.PIPE, text=True)
            err = ""
            for line in iter(tracer.stderr.readline, ""):
                err += line
                if "tracing PID" in line:
                    break
            tracer.send_signal(signal.SIGSTOP)
            target.send_signal(signal.SIGUSR1)
            target.wait(timeout=60)
            tracer.send_signal(signal.SIGCONT)
            err += tracer.communicate(timeout=60)[1]
        finally:
            for p in (target, tracer):
                if p and p.poll() is None:
                    p.kill()
                    p.wait()
        if not c.check(tracer.returncode == 0, f"{label}: exit 0", err[-600:]):
            continue
        lost = load(out)["dhatTrace"]["lost_events"]
        said = re.search(r"lost events: (\d+)", err)
        c.check(said and int(said.group(1)) == lost, f"{label}: the losses said as counted",
                f"{lost}; {err[-400:]}")
        if lossless:
            got = {k: tuple(v[n] for n in NUMS)
                   for k, v in sites(out, "capfill.c").items() if k.startswith("site_")}
            want = {"site_fill": (9600000, 200000, 9600000, 200000, 0, 0),
                    "site_after": (100000, 1000, 0, 0, 100000, 1000)}
            c.check(lost == 0 and got == want, f"{label}: nothing lost, every block counted",
                    f"lost {lost}; {got}")
        else:
            c.check(lost > 10000, f"{label}: the overflow dropped records", str(lost))


def chroot(c, tmp):
    """A bare chroot (no /proc inside: no /proc/self/fd/N to dlopen): the
    agent comes from a file of the target's root, removed once loaded; it
    needs no library there but libc."""
    root = copied_root(os.path.join(tmp, "root"), {"/app": fixture(BUILD, "ctr")})
    out = os.path.join(tmp, "chroot.json")
    target = subprocess.Popen(["chroot", root, "/app", "--wait"], stdout=subprocess.PIPE)
    tracer = None
    try:
        assert target.stdout.readline() == b"ready\n"
        tracer = subprocess.Popen([DT, "--inject", "-v", "-i", "0", "-p", str(target.pid), "-o",
                                   out, "-d", "60s"], stderr=subprocess.PIPE, text=True)
        said = []
        for line in tracer.stderr:
            said.append(line)
            if line.startswith("dhat-trace: tracing PID") or "error" in line:
                break
        target.send_signal(signal.SIGUSR1)
        rc_target = target.wait(timeout=60)
        said.append(tracer.stderr.read())
        tracer.wait(timeout=60)
        err = "".join(said)
        if c.check(tracer.returncode == 0 and rc_target == 0 and
                   "has no /proc in its root" in err,
                   "chroot: loaded from a file of its root, saying so", err[-600:]):
            expect_sites(c, sites(out, "ctr.c"), {"ctr_leak_site": (3702, 3) * 3},
                         "chroot --inject")
            left = [n for _, _, names in os.walk(root) for n in names if "dhat-agent" in n]
            c.check(not left, "chroot: the file is gone once loaded", str(left))
    finally:
        for p in (target, tracer):
            if p and p.poll() is None:
                p.kill()
                p.wait()


def noexec(c, tmp):
    """vm.memfd_noexec = 2 in the target's PID namespace (Linux 6.3): no
    executable memfd; the agent is loaded from a file in its root, removed
    once mapped."""
    if not os.path.exists("/proc/sys/vm/memfd_noexec"):
        print("# skipped noexec: this kernel has no vm.memfd_noexec")
        return
    u = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c",
                          "sysctl -qw vm.memfd_noexec=2 && exec \"$0\"", SPIN],
                         stdout=subprocess.PIPE)
    pid = None
    try:
        assert u.stdout.readline() == b"ready\n"
        with open(f"/proc/{u.pid}/task/{u.pid}/children") as f:
            pid = int(f.read().split()[0])
        out = os.path.join(tmp, "noexec.json")
        r = subprocess.run([DT, "--inject", "-v", "-p", str(pid), "-o", out, "-i", "0", "-d",
                            "1s"], capture_output=True, text=True, timeout=60)
        if c.check(r.returncode == 0 and "refuses executable memfds" in r.stderr,
                   "noexec: loaded from a file instead, saying so", r.stderr[-500:]):
            c.check(sum(pp["tbk"] for pp in load(out)["pps"]) > 100, "noexec: it records")
            left = [n for d in ("dev/shm", "tmp", "var/tmp")
                    for n in os.listdir(f"/proc/{pid}/root/{d}") if "dhat-agent" in n]
            c.check(not left, "noexec: the file is gone once loaded", str(left))
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
        u.kill()
        u.wait()


def syscalls(c, tmp):
    """Threads stopped in clock_nanosleep, read and sigwait while the agent is
    loaded: each call goes on as if nothing happened (sleeper.c checks)."""
    p = subprocess.Popen([fixture(BUILD, "sleeper")], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"ready\n"
        t0 = time.time()
        r = subprocess.run([DT, "--inject", "-p", str(p.pid), "-o",
                            os.path.join(tmp, "sleeper.json"), "-i", "0"],
                           capture_output=True, text=True, timeout=60)
        c.check(r.returncode == 0, "sleeper: attached until it exited, exit 0", r.stderr[-400:])
        rc = p.wait(timeout=30)
        c.check(rc == 0 and time.time() - t0 >= 1.9,
                "sleeper: its sleep, read and sigwait went on through the injection",
                f"exit {rc} (10: sleep cut short, 11: read, 12: sigwait)")
        expect_sites(c, sites(os.path.join(tmp, "sleeper.json"), "sleeper.c"),
                     {"reader": (10, 1, 10, 1, 10, 1)}, "sleeper --inject")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def regions(pid, data=True):
    """The target's file-backed data mappings (where GOTs are), or all of
    its file mappings, with their paths."""
    out = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 6 or not parts[5].startswith("/") or (data and "x" in parts[1]):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if hi - lo <= 8 << 20:
                out.append((lo, hi, parts[5]))
    return out


def object_at(regs, addr):
    return next((path for lo, hi, path in regs if lo <= addr < hi), None)


def agent_range(pid):
    with open(f"/proc/{pid}/maps") as f:
        spans = [tuple(int(x, 16) for x in line.split()[0].split("-"))
                 for line in f if "dhat-agent" in line]
    return (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else (0, 0)


def words(pid, regs):
    """{address: 8-byte word} of the regions, read through /proc/PID/mem."""
    out = {}
    with open(f"/proc/{pid}/mem", "rb") as m:
        for lo, hi, _ in regs:
            try:
                m.seek(lo)
                data = m.read(hi - lo)
            except OSError:
                continue
            for off in range(0, len(data) - 7, 8):
                out[lo + off] = int.from_bytes(data[off:off + 8], "little")
    return out


def hooked(pid, regs):
    lo, hi = agent_range(pid)
    return {a: v for a, v in words(pid, regs).items() if lo <= v < hi}


def progress_of(path, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(path) as f:
                return int(f.read())
        except (OSError, ValueError):
            time.sleep(0.02)
    return -1


def runs_on(p, progress):
    a = progress_of(progress)
    time.sleep(0.5)
    return p.poll() is None and progress_of(progress) > a


def restore(c, tmp, how):
    progress = os.path.join(tmp, f"progress-{how}")
    p = subprocess.Popen([SPIN, progress], stdout=subprocess.PIPE)
    tracer = None
    try:
        assert p.stdout.readline() == b"ready\n"
        regs = regions(p.pid)
        before = words(p.pid, regs)
        out = os.path.join(tmp, f"spin-{how}.json")
        tracer = subprocess.Popen([DT, "--inject", "-p", str(p.pid), "-o", out, "-i", "0",
                                   "-d", "2s" if how == "detach" else "60s"],
                                  stderr=subprocess.PIPE, text=True)
        first = tracer.stderr.readline()
        if not c.check(first.startswith("dhat-trace: tracing PID"), f"{how}: attached", first):
            return
        time.sleep(0.5)
        during = hooked(p.pid, regs)
        c.check(len(during) >= 3, f"{how}: GOT slots point into the agent while tracing "
                f"({len(during)})")
        if how == "kill":
            tracer.kill()
            tracer.wait()
            time.sleep(0.1)
        else:
            tracer.stderr.read()
            tracer.wait(timeout=30)
            c.check(tracer.returncode == 0 and os.path.exists(out), "detach: exit 0, file written",
                    str(tracer.returncode))
        after = words(p.pid, regs)
        # A slot that was still lazy (its object's own PLT entry) is put
        # back as such, and the next call binds it again: to the function,
        # never to the agent.
        objs = regions(p.pid, data=False)
        lo, hi = agent_range(p.pid)
        wrong = {hex(a): (hex(after.get(a, 0)), hex(before[a])) for a in during
                 if after.get(a) != before.get(a) and
                 not (object_at(objs, before[a]) == object_at(objs, a) and
                      object_at(objs, after.get(a, 0)) and not lo <= after[a] < hi)}
        c.check(during and not wrong, f"{how}: every slot holds its value from before the attach "
                f"again{' within 100 ms of the SIGKILL' if how == 'kill' else ''}",
                str(list(wrong.items())[:4]))
        c.check(runs_on(p, progress), f"{how}: the target runs on")
        c.check(not hooked(p.pid, regs), f"{how}: no word points into the agent any more")
        with open(f"/proc/{p.pid}/maps") as f:
            c.check("dhat-ring" not in f.read(), f"{how}: the shared ring is let go of")
        # Attached again: the inert agent stays, another is loaded and records.
        out = os.path.join(tmp, f"spin-{how}-again.json")
        r = subprocess.run([DT, "--inject", "-p", str(p.pid), "-o", out, "-i", "0", "-d", "1s"],
                           capture_output=True, text=True, timeout=60)
        if c.check(r.returncode == 0, f"{how}: attached again, exit 0", r.stderr[-400:]):
            with open(out) as f:
                d = json.load(f)
            c.check(sum(pp["tbk"] for pp in d["pps"]) > 100, f"{how}: the second agent records")
        c.check(runs_on(p, progress), f"{how}: the target runs on after the second detach")
    finally:
        for q in (p, tracer):
            if q and q.poll() is None:
                q.kill()
                q.wait()


def refused(c, tmp, label, argv, setup, want):
    """A target --inject must not touch: its reason, exit 1, the target left running."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.PIPE)
    helper = None
    try:
        assert p.stdout.readline() == b"ready\n"
        helper = setup(p)
        r = subprocess.run([DT, "--inject", "-p", str(p.pid), "-o",
                            os.path.join(tmp, "refused.json"), "-d", "5s"],
                           capture_output=True, text=True, timeout=60)
        c.check(r.returncode == 1 and want in r.stderr, f"{label}: refused, saying so",
                f"exit {r.returncode}: {r.stderr.strip()[-400:]}")
        c.check(r.stderr.count("\n") <= 2, f"{label}: in one line", r.stderr)
        with open(f"/proc/{p.pid}/maps") as f:
            c.check("dhat-agent" not in f.read(), f"{label}: nothing loaded into it")
    finally:
        if helper:
            helper.kill()
            helper.wait()
        os.kill(p.pid, signal.SIGCONT)
        c.check(p.poll() is None, f"{label}: the target is still alive")
        p.kill()
        p.wait()


def strace(p):
    s = subprocess.Popen(["strace", "-p", str(p.pid), "-o", os.devnull],
                         stderr=subprocess.DEVNULL)
    for _ in range(100):
        with open(f"/proc/{p.pid}/status") as f:
            if re.search(r"TracerPid:\s+[1-9]", f.read()):
                break
        time.sleep(0.02)
    return s

def interrupted(c, tmp):
    """Ctrl-C while the agent goes in: dhat-trace waits until every thread of
    the target has its own registers back, then ends.  Signalled at once
    (before remote calls), part way, or after: the target runs on in every
    case.  Before remote.c held the signal, one in three of these targets
    died (SIGSEGV or SIGTRAP) here."""
    dead = []
    out = os.path.join(tmp, "interrupted.json")
    for i in range(40):
        delay = i * 0.001
        target = subprocess.Popen([SPIN], stdout=subprocess.PIPE)
        try:
            assert target.stdout.readline() == b"ready\n"
            tracer = subprocess.Popen([DT, "--inject", "-i", "0", "-p", str(target.pid),
                                       "-o", out], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            time.sleep(delay)
            tracer.send_signal(signal.SIGINT)
            tracer.wait(timeout=60)
            time.sleep(0.1)
            if target.poll() is not None:
                dead.append(f"{delay * 1000:.0f} ms: {target.returncode}")
        finally:
            if target.poll() is None:
                target.kill()
            target.wait()
    c.check(not dead, "SIGINT while the agent is loaded: every target runs on (40 delays, "
            "0-39 ms)", "; ".join(dead))


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    parity(c, tmp)
    later(c, tmp)
    constructors(c, tmp)
    syscalls(c, tmp)
    churn(c, tmp)
    noexec(c, tmp)
    many_threads(c, tmp)
    own_allocator(c, tmp)
    own_reuse(c, tmp)
    stalled_reader(c, tmp)
    interrupted(c, tmp)
    chroot(c, tmp)
    exec_(c, tmp)
    restore(c, tmp, "detach")
    restore(c, tmp, "kill")
    refused(c, tmp, "static executable", [fixture(BUILD, "basic-static"), "--wait"],
            lambda p: None, "no dynamic libc")
    refused(c, tmp, "stopped target", [SPIN], lambda p: os.kill(p.pid, signal.SIGSTOP) or
            time.sleep(0.1), "is stopped")
    refused(c, tmp, "traced target", [SPIN], strace, "already traced")
    refused(c, tmp, "strict seccomp", [fixture(BUILD, "strict")], lambda p: None,
            "strict seccomp mode")
    refused(c, tmp, "seccomp filter refusing memfd_create", [fixture(BUILD, "nomemfd")],
            lambda p: None, "a seccomp filter refusing memfd_create")
    launch(c, tmp)
    times(c, tmp)
sys.exit(c.finish())
