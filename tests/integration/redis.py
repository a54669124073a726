#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A real program without frame pointers: Debian's redis-server (allocating through
libjemalloc.so.2), attached by PID while redis-benchmark loads it on 127.0.0.1.

The test starts its own redis-server on a free loopback port in a temporary
directory (never the packaged service on 6379), and stops exactly the processes
it started. Checks: a valid file with allocations, no lost events, stacks that
reach main() through the event loop, fewer than 1% truncated stacks, and stacks
that are not single frames.

    redis.py DHAT_TRACE BUILD_ROOT [EXTRA DHAT-TRACE ARGS...]
"""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from dtlib import Checks

DT, BUILD, EXTRA = sys.argv[1], sys.argv[2], sys.argv[3:]
HOST = "127.0.0.1"  # loopback only, never any other address
REQUESTS = 20000
BENCH = ["-n", str(REQUESTS), "-c", "4", "-t", "set,get,lpush,incr", "-q"]
EVENT_LOOP = {"aeMain", "aeProcessEvents"}
TRUNCATION = ("truncated_no_table", "truncated_load_window", "truncated_read_fault",
              "truncated_depth", "truncated_bad_rule")
# "0xADDR: fn (file:line)", "0xADDR: fn (in object)" or "0xADDR: fn"
FRAME = re.compile(r"^0x[0-9A-Fa-f]+: (.*?)(?: \((?:in [^()]*|[^():]+:\d+)\))?$")

TOOLS = {t: shutil.which(t) for t in ("redis-server", "redis-cli", "redis-benchmark")}
if not all(TOOLS.values()):
    print("needs Debian's redis-server and redis-tools packages: "
          "apt-get install redis-server redis-tools")
    sys.exit(1)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def ping(port):
    try:
        r = subprocess.run([TOOLS["redis-cli"], "-h", HOST, "-p", str(port), "ping"],
                           capture_output=True, text=True, timeout=5)
        return r.stdout.strip() == "PONG"
    except subprocess.TimeoutExpired:
        return False


def start_redis(tmp, started):
    """Our own redis-server on a free loopback port; (process, port) or (None, log)."""
    log = ""
    for attempt in range(3):  # the port can be taken between free_port() and bind
        port = free_port()
        logfile = os.path.join(tmp, f"redis-{attempt}.log")
        with open(logfile, "w") as lf:
            p = subprocess.Popen([TOOLS["redis-server"], "--port", str(port), "--bind", HOST,
                                  "--save", "", "--appendonly", "no", "--daemonize", "no",
                                  "--dir", tmp, "--logfile", ""],
                                 stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT)
        started.append(p)
        deadline = time.time() + 20
        while time.time() < deadline and p.poll() is None:
            if ping(port):
                return p, port
            time.sleep(0.1)
        stop(p)
        with open(logfile) as f:
            log = f.read()
    return None, log


def stop(p, sig=signal.SIGTERM, timeout=10):
    """Stop one process we started, by its PID; SIGKILL if it does not go."""
    if p is None or p.poll() is not None:
        return
    p.send_signal(sig)
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


class Tracer:
    """dhat-trace -p PID with stderr collected by a thread (never blocks, never fills)."""

    def __init__(self, pid, out):
        self.p = subprocess.Popen([DT, "-i", "0", "-p", str(pid), "-o", out, *EXTRA],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.tracing = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stderr:
            self.lines.append(line)
            if line.startswith("dhat-trace: tracing PID"):
                self.tracing.set()
        self.tracing.set()  # EOF: the tracer is gone

    def wait_tracing(self, timeout=30):
        self.tracing.wait(timeout)
        return any(l.startswith("dhat-trace: tracing PID") for l in self.lines)

    def finish(self, timeout=180):
        self.p.send_signal(signal.SIGINT)
        rc = self.p.wait(timeout=timeout)
        self.reader.join(10)
        return rc

    def stderr(self):
        return "".join(self.lines)


def fn_name(frame):
    m = FRAME.match(frame)
    return m.group(1).split("(")[0].strip() if m else ""


def throughput(text):
    """{"SET": rps, ...} from redis-benchmark -q (progress lines end in \\r)."""
    out = {}
    for part in re.split(r"[\r\n]+", text):
        m = re.match(r"\s*([A-Z_]+(?: [^:]*)?): ([\d.]+) requests per second", part)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def check_file(c, out):
    try:
        with open(out) as f:
            d = json.load(f)
        pps, ftbl = d["pps"], d["ftbl"]
        ok = (d.get("dhatFileVersion") == 2 and isinstance(pps, list)
              and all(0 <= i < len(ftbl) for pp in pps for i in pp["fs"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        c.check(False, "the tracer wrote a valid DHAT file", repr(e))
        return
    tb = sum(pp["tb"] for pp in pps)
    c.check(ok and tb > 0, "the tracer wrote a valid DHAT file with tb > 0",
            f"version {d.get('dhatFileVersion')}, {len(pps)} pps, tb {tb}")

    stats = d.get("dhatTrace", {})
    print(f"# dhatTrace: {json.dumps(stats, sort_keys=True)}")
    lost = stats.get("lost_events")
    c.check(lost == 0, "no lost events",
            "dhatTrace has no lost_events" if lost is None else f"lost_events = {lost}")

    # Stacks: names per pp, innermost first.
    names = [[fn_name(ftbl[i]) for i in pp["fs"]] for pp in pps]
    with_main = [i for i, n in enumerate(names) if "main" in n]
    with_loop = [i for i, n in enumerate(names) if EVENT_LOOP & set(n)]
    both = [i for i in with_main if EVENT_LOOP & set(names[i])]
    top = max(range(len(pps)), key=lambda i: pps[i]["tbk"], default=None)
    top_stack = " <- ".join(names[top]) if top is not None else "no pp"
    c.check(with_main, "some stacks reach main()",
            f"no pp has main in its stack; {len(pps)} pps; biggest: {top_stack}")
    c.check(with_loop, "some stacks contain the event loop (aeMain/aeProcessEvents)",
            f"no pp has aeMain or aeProcessEvents; biggest: {top_stack}")
    c.check(both, "some stacks run main() -> event loop -> allocation",
            f"{len(with_main)} pps with main, {len(with_loop)} with the event loop, "
            f"{len(both)} with both")
    tbk = sum(pp["tbk"] for pp in pps)
    tbk_main = sum(pps[i]["tbk"] for i in with_main)
    share = tbk_main / tbk if tbk else 0.0
    c.check(share >= 0.9, "at least 90% of the blocks have a stack that reaches main()",
            f"{tbk_main} of {tbk} blocks ({share:.1%})")
    depths = [len(pp["fs"]) for pp in pps]
    med = statistics.median(depths) if depths else 0
    c.check(med >= 5, "stacks are not single frames: median pp stack depth >= 5",
            f"median {med}, depths {sorted(depths)[:20]}{'...' if len(depths) > 20 else ''}; "
            f"biggest: {top_stack}")

    # Truncation statistics (stack_unwinds, stacks_truncated and the breakdown).
    want = ("stack_unwinds", "stacks_truncated") + TRUNCATION
    missing = [k for k in want if k not in stats]
    if missing:
        c.check(False, "dhatTrace has the stack truncation statistics",
                f"missing from dhatTrace: {', '.join(missing)}")
        return
    unwinds, trunc = stats["stack_unwinds"], stats["stacks_truncated"]
    c.check(unwinds > 0, "stacks were captured (stack_unwinds > 0)", f"stack_unwinds = {unwinds}")
    parts = {k: stats[k] for k in TRUNCATION}
    c.check(sum(parts.values()) == trunc, "the truncation breakdown adds up to stacks_truncated",
            f"stacks_truncated = {trunc}, breakdown {parts}")
    ratio = trunc / unwinds if unwinds else 1.0
    c.check(ratio < 0.01, "fewer than 1% of captured stacks were truncated",
            f"{trunc} of {unwinds} ({ratio:.2%}); {parts}")


def run(c, tmp, started):
    server, port = start_redis(tmp, started)
    if not c.check(server is not None, "our own redis-server answers PING on 127.0.0.1", port):
        return
    print(f"# redis-server PID {server.pid} on {HOST}:{port}; dhat-trace extra args: {EXTRA}")

    out = os.path.join(tmp, "redis.json")
    tracer = Tracer(server.pid, out)
    started.append(tracer.p)
    if not c.check(tracer.wait_tracing(), "dhat-trace attached (tracing PID line)",
                   tracer.stderr()):
        return

    t1 = time.time()
    bench = subprocess.Popen([TOOLS["redis-benchmark"], "-h", HOST, "-p", str(port), *BENCH],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    started.append(bench)
    try:
        btext, brc = bench.communicate(timeout=240)[0], bench.returncode
    except subprocess.TimeoutExpired:
        brc, btext = "timeout", "redis-benchmark did not finish in 240s"
    rps = throughput(btext)
    print(f"# redis-benchmark under tracing: {time.time() - t1:.1f}s, requests/s {rps}")
    c.check(brc == 0 and len(rps) == 4, "redis-benchmark ran to the end under tracing",
            f"rc={brc}: {btext[-2000:]}")

    t1 = time.time()
    try:
        rc = tracer.finish()
    except subprocess.TimeoutExpired:
        rc = "timeout"
    print(f"# dhat-trace took {time.time() - t1:.1f}s to stop and write the file")
    c.check(rc == 0, "SIGINT stops dhat-trace with status 0", f"rc={rc}: {tracer.stderr()}")
    c.check(server.poll() is None and ping(port),
            "redis-server still answers PING after dhat-trace detached")
    check_file(c, out)


def interrupted(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main():
    # SIGTERM (meson's timeout) and SIGINT, even if inherited as ignored, unwind
    # through `finally` so nothing we started is left behind.
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    c = Checks()
    t0 = time.time()
    started = []  # every process this test started, stopped by PID in `finally`
    with tempfile.TemporaryDirectory(prefix="dt-redis-") as tmp:
        try:
            run(c, tmp, started)
        except KeyboardInterrupt as e:
            c.check(False, "the test ran to the end", f"interrupted by {e}")
        finally:
            # The tracer (started last) first, with SIGINT so it detaches cleanly.
            for p in reversed(started):
                stop(p, signal.SIGINT if p.args[0] == DT else signal.SIGTERM)
    print(f"# test took {time.time() - t0:.1f}s")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
