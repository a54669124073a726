#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Fixture programs traced for real, launched and attached by PID: exact per-site
totals, t-gmax and t-end (the tables at the top of each fixture).

meson's fixtures_inject runs this file again with DT_INJECT=1: every capture
with --inject, checked against the same tables and compared, document to
document, with the same capture by the uprobes (dtlib.compare_modes).  The
checks of the uprobes' own machinery (their links, probe places, held loads)
are left out there, and so are the sites the man page says --inject does
not see, each where it is."""
import os
import signal
import subprocess
import sys
import tempfile

from dtlib import (FRAME, INJECT, MODE, Checks, attach, compare_modes, expect_sites, fixture,
                   launch, load, sites)
from expected import BASIC, CXX, JEMALLOC_SAME, STDCXX, THREADS

DT, BUILD = sys.argv[1], sys.argv[2]

PREATTACH = {
    "site_resize": (300, 1, 300, 1, 300, 1),
    "site_post": (1280, 10, 1280, 10, 896, 7),
}

c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    # meson's fixtures_classic runs this file again with DHAT_TRACE_UPROBE_MULTI=0
    # (passed on to every dhat-trace below): it must really take the classic
    # per-probe links, as on kernels without uprobe-multi.  Otherwise the
    # kernel decides; the log says what it chose.
    r = launch(DT, os.path.join(tmp, "links.json"), [fixture(BUILD, "basic")], "-v")
    attached = [ln for ln in r.stderr.splitlines() if ": attached " in ln]
    print("# " + "\n# ".join(attached or ["no 'attached' line in -v output"]))
    if os.environ.get("DHAT_TRACE_UPROBE_MULTI") == "0" and not INJECT:
        c.check(r.returncode == 0 and len(attached) == 1 and "classic uprobe links" in attached[0],
                "DHAT_TRACE_UPROBE_MULTI=0: classic uprobe links attached", r.stderr)
    # The -nofp builds (-O2 -fomit-frame-pointer) must attribute exactly as
    # the frame-pointer builds do.
    for name, source, want in (("basic", "basic.c", BASIC), ("threads", "threads.c", THREADS),
                               ("cxx", "cxx.cpp", CXX), ("basic-nofp", "basic.c", BASIC),
                               ("threads-nofp", "threads.c", THREADS),
                               ("cxx-nofp", "cxx.cpp", CXX), ("stdcxx", "stdcxx.cpp", STDCXX)):
        out = os.path.join(tmp, name + ".json")
        r = launch(DT, out, [fixture(BUILD, name)])
        if c.check(r.returncode == 0, f"launch {name}: exit 0", r.stderr):
            expect_sites(c, sites(out, source), want, f"launch {name}")
            extra = load(out)["dhatTrace"]
            c.check(extra["lost_events"] == 0 and extra["returns_without_entry"] == 0,
                    f"launch {name}: nothing lost", str(extra))
        out = os.path.join(tmp, name + "-attach.json")
        rc, err = attach(DT, out, [fixture(BUILD, name)], "-d", "60s")
        if c.check(rc == 0, f"attach {name}: target exit ends the capture, exit 0", err):
            expect_sites(c, sites(out, source), want, f"attach {name}")

    # Each --unwind mode on what it can do: frame pointers on the -O0 build,
    # DWARF alone on the build without them.
    for name, mode in (("basic", "fp"), ("basic-nofp", "dwarf")):
        out = os.path.join(tmp, f"{name}-{mode}.json")
        r = launch(DT, out, [fixture(BUILD, name)], f"--unwind={mode}")
        if c.check(r.returncode == 0, f"{name} --unwind={mode}: exit 0", r.stderr):
            expect_sites(c, sites(out, "basic.c"), BASIC, f"{name} --unwind={mode}")
            extra = load(out)["dhatTrace"]
            if mode == "dwarf":
                c.check(extra["stack_unwinds"] >= 25 and extra["stacks_truncated"] == 0,
                        "--unwind=dwarf: every stack complete, counted", str(extra))
            else:
                c.check("stack_unwinds" not in extra, "--unwind=fp: no DWARF statistics")
    r = launch(DT, os.path.join(tmp, "x.json"), [fixture(BUILD, "basic")], "--unwind=sideways")
    c.check(r.returncode == 64 and "invalid --unwind" in r.stderr, "bad --unwind is a usage error",
            r.stderr)

    # A library dlopen'ed while traced, its first batch of allocations right
    # after the dlopen returns.  Launched, the thread is held at the load
    # until the library's table is built; attached, the stacks that meet it
    # before then go with a copy of the stack, finished once it is.  Either
    # way both batches are complete, and the library's frames named.
    # (glibc's own dlopen.c has sites too: dlopen's allocations.)
    for how in ("launch", "attach"):
        out = os.path.join(tmp, f"dl-{how}.json")
        argv = [fixture(BUILD, "dlopen"), fixture(BUILD, "libdlalloc.so")]
        if how == "launch":
            r = launch(DT, out, argv, "--unwind=dwarf")
            rc, err = r.returncode, r.stderr
        else:
            rc, err = attach(DT, out, argv, "--unwind=dwarf")
        if not c.check(rc == 0, f"{how} dlopen: exit 0", err):
            continue
        expect_sites(c, {k: v for k, v in sites(out, "dlopen.c").items()
                         if k.startswith("site_")},
                     {"site_batch1": (2000, 20, 2000, 20, 2000, 20),
                      "site_batch2": (4000, 20, 4000, 20, 4000, 20)}, f"{how} dlopen")
        d = load(out)
        extra = d["dhatTrace"]
        c.check(extra["stacks_truncated"] == 0, f"{how} dlopen: no stack cut short", str(extra))
        if INJECT:
            # No uprobe on the loader to hold: the agent's dlopen hook waits
            # for the table instead, and stacks_truncated == 0 above says
            # it was there for batch 1.
            pass
        elif how == "launch":
            c.check(extra["loader_loads_held"] >= 2 and
                    extra["loader_loads_held"] == extra["loader_loads"],
                    "launch dlopen: every load held", str(extra))
        else:
            # Batch 1 races the tracer: its stacks meet the library before
            # its table (finished from copies, the usual case) or after it
            # (a busy machine can stop the target right after the load; it
            # failed one run in four when this asked for the copies).
            # Either way nothing is cut short (checked above); python_loads
            # covers the copies deterministically enough.
            print(f"# attach dlopen: {extra['stacks_finished_after_load']} stacks finished "
                  "once the table was built")
            c.check(extra["truncated_load_window"] == 0,
                    "attach dlopen: batch 1 whole, from copies or from the table", str(extra))
        c.check(any(": lib_inner (dlalloc.c:" in f for f in d["ftbl"]) and
                any(": lib_alloc (dlalloc.c:" in f for f in d["ftbl"]),
                f"{how} dlopen: the library's own frames are named")

    # A handler's allocation: the unwind crosses the signal frame into the
    # interrupted code (raise) and on to its callers.
    out = os.path.join(tmp, "sig.json")
    r = launch(DT, out, [fixture(BUILD, "signal-nofp")], "--unwind=dwarf")
    if c.check(r.returncode == 0, "signal handler fixture: exit 0", r.stderr):
        expect_sites(c, sites(out, "signal.c"), {"site_handler": (385, 5, 385, 5, 385, 5)},
                     "signal")
        d = load(out)
        names = [[FRAME.match(d["ftbl"][i]).group(1) if FRAME.match(d["ftbl"][i]) else ""
                  for i in pp["fs"]] for pp in d["pps"]]
        c.check(names and all("site_raiser" in n and "main" in n for n in names),
                "signal: stacks continue past the signal frame to site_raiser and main",
                str(names))

    out = os.path.join(tmp, "pre.json")
    rc, err = attach(DT, out, [fixture(BUILD, "preattach-nofp")])
    if c.check(rc == 0, "attach preattach (no frame pointers): exit 0", err):
        expect_sites(c, sites(out, "preattach.c"), PREATTACH, "attach preattach")
        extra = load(out)["dhatTrace"]
        c.check(extra["unknown_frees"] == 5, "frees of pre-attach blocks counted",
                str(extra["unknown_frees"]))
        c.check(extra["unknown_reallocs"] == 1, "realloc of a pre-attach block counted",
                str(extra["unknown_reallocs"]))
        c.check("frees of blocks never seen allocated: 5 (ignored)" in err,
                "stderr summary reports the ignored frees", err)

    # Symbols must survive the target's exit: the launched fixtures above exit
    # before the file is written, so their frames resolved only if this holds.
    d = load(os.path.join(tmp, "basic.json"))
    c.check(d["dhatTrace"]["frames_without_module"] == 0, "every frame in a known object")
    c.check(any("site_leak (basic.c:" in f for f in d["ftbl"]), "file:line in frame strings")
    d = load(os.path.join(tmp, "cxx.json"))
    c.check(any(": site_object() (cxx.cpp:" in f for f in d["ftbl"]),
            "C++ names demangled with parameters")
    # The allocator the process really uses: the executable's own malloc, and
    # an interposing libjemalloc.so.2 (as Debian's redis links it).
    # (--inject: the uprobes record its own calls beside the agent: inject.py.)
    out = os.path.join(tmp, "own.json")
    r = launch(DT, out, [fixture(BUILD, "ownmalloc")], "-v")
    c.check(r.returncode == 0 and "probe on malloc at " + fixture(BUILD, "ownmalloc") in r.stderr,
            "executable's own malloc is the one probed", f"exit {r.returncode}: {r.stderr}")
    if r.returncode == 0:
        expect_sites(c, sites(out, "ownmalloc.c"), {
            "site_cross": (24, 1, 0, 0, 0, 0), "site_own": (300, 3, 300, 3, 200, 2),
            "site_grow": (150, 2, 100, 1, 100, 1), "site_lib": (96, 2, 96, 2, 96, 2),
            "site_mixed": (120, 2, 80, 1, 80, 1)}, "own malloc")
    jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
    if c.check(os.path.exists(jemalloc), "libjemalloc2 is installed (dev.sh installs it)"):
        out = os.path.join(tmp, "je.json")
        env = dict(os.environ, LD_PRELOAD=jemalloc)
        r = launch(DT, out, [fixture(BUILD, "basic")], "-v", env=env)
        # (--inject: the agent keeps the function each slot was bound to,
        # jemalloc's here; a free of its blocks in glibc's would abort.)
        c.check(r.returncode == 0 and (INJECT or "probe on malloc at " + jemalloc in r.stderr
                                       and "probe on free at " + jemalloc in r.stderr),
                "LD_PRELOADed jemalloc is the one probed", r.stderr)
        if r.returncode == 0:
            got = sites(out, "basic.c")
            expect_sites(c, {k: v for k, v in got.items() if k in JEMALLOC_SAME},
                         {k: BASIC[k] for k in JEMALLOC_SAME}, "jemalloc")
        # C++ on jemalloc: its operator delete is probed (hooked), as its
        # sized and aligned ones free without calling free (they were
        # missed: phantom leaks); its plain ones jump to free, counted once.
        # Linked with it (before libstdc++ in ld.so's search, mapped above
        # it), attached: its operator new is the one probed, not libstdc++'s.
        out = os.path.join(tmp, "cxx-je.json")
        rc, err = attach(DT, out, [fixture(BUILD, "cxx-je")], "-d", "60s")
        if c.check(rc == 0, "cxx linked with jemalloc, attached: exit 0", err[-400:]):
            expect_sites(c, sites(out, "cxx.cpp"), CXX, "cxx linked with jemalloc, attached")
        # Preloaded, attached too.
        out = os.path.join(tmp, "je-attach.json")
        rc, err = attach(DT, out, [fixture(BUILD, "basic")], "-d", "60s", env=env)
        if c.check(rc == 0, "jemalloc, attached: exit 0", err[-400:]):
            got = sites(out, "basic.c")
            expect_sites(c, {k: v for k, v in got.items() if k in JEMALLOC_SAME},
                         {k: BASIC[k] for k in JEMALLOC_SAME}, "jemalloc, attached")
        for name, source, want in (("cxx", "cxx.cpp", CXX), ("stdcxx", "stdcxx.cpp", STDCXX)):
            out = os.path.join(tmp, f"je-{name}.json")
            r = launch(DT, out, [fixture(BUILD, name)], "-v", env=env)
            if not c.check(r.returncode == 0, f"jemalloc {name}: exit 0", r.stderr[-400:]):
                continue
            expect_sites(c, sites(out, source), want, f"jemalloc {name}")
            c.check(load(out)["dhatTrace"]["unknown_frees"] == 0,
                    f"jemalloc {name}: no free recorded twice", str(load(out)["dhatTrace"]))
            c.check(INJECT or "probe on _ZdlPvm at " + jemalloc in r.stderr,
                    f"jemalloc {name}: its sized operator delete is probed", r.stderr)
            out = os.path.join(tmp, f"je-{name}-attach.json")
            rc, err = attach(DT, out, [fixture(BUILD, name)], "-d", "60s", env=env)
            if c.check(rc == 0, f"jemalloc {name}, attached: exit 0", err[-400:]):
                expect_sites(c, sites(out, source), want, f"jemalloc {name}, attached")

    # operator new failing: the std::bad_alloc is caught under the probes
    # too (libstdc++'s operator new has no return probe: the C++ unwinder
    # cannot step past the kernel's trampoline), the exceptions' own blocks
    # are counted (under main, as the throw is operator new's), with the
    # same stacks by --inject (its hooks passed over), and what follows too.
    out = os.path.join(tmp, "badalloc.json")
    r = launch(DT, out, [fixture(BUILD, "badalloc")], "-v")
    # libstdc++'s operator delete is a call to free: no probe of its own.
    c.check(INJECT or "probe on _Znwm at " in r.stderr and "probe on _Zd" not in r.stderr,
            "libstdc++'s operator delete is not probed (it calls free)", r.stderr[-2000:])
    if c.check(r.returncode == 0, "badalloc: exit 0 (three bad_alloc caught)", r.stderr[-300:]):
        got = sites(out, "badalloc.cpp")
        exc = got.pop("main", {})
        expect_sites(c, got, {"site_after_throw": (500, 5) * 3}, "badalloc")
        c.check(exc.get("tbk") == 3 and exc.get("ebk") == 0,
                "badalloc: the three exceptions' own blocks counted, freed", str(exc))
        extra = load(out)["dhatTrace"]
        c.check(extra["lost_events"] == 0 and extra["stacks_truncated"] == 0,
                "badalloc: no call left open, no stack cut short", str(extra))

    # Inlined helpers expand into one frame string per level, same address.
    out = os.path.join(tmp, "inline.json")
    r = launch(DT, out, [fixture(BUILD, "inline")])
    d = load(out)
    stacks = [[d["ftbl"][i] for i in pp["fs"]] for pp in d["pps"]]
    chain = next((s for s in stacks if s and ": inner_alloc (" in s[0]), None)
    c.check(chain is not None and len(chain) >= 3 and ": middle_alloc (inline.c:" in chain[1]
            and ": site_outer (inline.c:" in chain[2]
            and len({f.split(":")[0] for f in chain[:3]}) == 1,
            "inlined frames expanded innermost first at one address", str(chain))
    c.check(sites(out, "inline.c").get("inner_alloc", {}).get("tb") == 120,
            "inline fixture: 3 x 40 bytes at the inlined site")

    # Forced loss: a 4 KiB ring cannot hold a burst the tracer does not drain
    # (stopped while the target runs): every lost record is counted.
    out = os.path.join(tmp, "burst.json")
    target = subprocess.Popen([fixture(BUILD, "burst"), "--wait"], stdout=subprocess.PIPE)
    target.stdout.readline()
    tracer = subprocess.Popen([DT, *MODE, "-p", str(target.pid), "-o", out, "--ring-size",
                               "4K"], stderr=subprocess.PIPE, text=True)
    first = tracer.stderr.readline()
    tracer.send_signal(signal.SIGSTOP)
    target.send_signal(signal.SIGUSR1)
    target.wait(timeout=120)
    tracer.send_signal(signal.SIGCONT)
    err = first + tracer.stderr.read()
    tracer.wait(timeout=120)
    lost = load(out)["dhatTrace"]["lost_events"] if tracer.returncode == 0 else 0
    c.check(lost > 0 and f"lost events: {lost};" in err
            and sites(out, "burst.c")["site_burst"]["tbk"] + lost >= 20000,
            "lost events counted and reported with a tiny ring", f"lost={lost} {err}")
    r = launch(DT, out, [fixture(BUILD, "burst")])
    c.check(r.returncode == 0 and load(out)["dhatTrace"]["lost_events"] == 0
            and sites(out, "burst.c")["site_burst"]["tbk"] == 20000,
            "no loss with the default ring: all 20000 blocks", r.stderr)

    # Under sudo the launched command runs as the user who asked for it.
    env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534", SUDO_USER="nobody")
    r = subprocess.run([DT, *MODE, "-q", "-o", os.path.join(tmp, "id.json"), "--", "id", "-u"],
                       capture_output=True, text=True, env=env, timeout=60)
    c.check(r.returncode == 0 and r.stdout.strip() == "65534",
            "under sudo the command runs as SUDO_UID", r.stdout + r.stderr)

    # Under DT_INJECT=1, the fixtures with no table here too, each compared
    # document to document with its uprobe twin: deep stacks, swapped outer
    # frames, many sites, a leak, a library with no path, memory the
    # allocator does not give, 200,000 live blocks, an exec.  Launched, and
    # attached where the fixture can wait for it.
    sweep = ((["bigframes"], [], False), (["bigframes-nofp"], ["--unwind=dwarf"], False),
             (["outerswap"], [], True), (["outerswap-nofp"], ["--unwind=dwarf"], True),
             (["manysites", "20000"], [], False),
             (["leakfix"], [], False), (["leakfix", "--fixed"], [], False),
             (["suspects", "300"], [], False),
             (["dlmemfd", fixture(BUILD, "libdlalloc.so")], [], True),
             (["unseen"], [], True), (["capfill"], [], True), (["inline"], [], True),
             (["signal-nofp"], ["--unwind=dwarf"], True),
             (["execfirst", fixture(BUILD, "execsecond")], [], True))
    for argv, opts, wait in sweep if INJECT else ():
        argv = [fixture(BUILD, argv[0]), *argv[1:]]
        name = " ".join(os.path.basename(a) for a in argv)
        r = launch(DT, os.path.join(tmp, "sweep.json"), argv, *opts)
        c.check(r.returncode == 0, f"launch {name}: exit 0", r.stderr[-400:])
        if wait:
            rc, err = attach(DT, os.path.join(tmp, "sweep-attach.json"), argv, *opts,
                             "-d", "60s")
            c.check(rc == 0, f"attach {name}: exit 0", err[-400:])
        compare_modes(c)
    compare_modes(c)
sys.exit(c.finish())
