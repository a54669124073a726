#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""The outputs for other tools, read by those tools, numbers compared with the
DHAT file of the same capture:
- --pprof: `go tool pprof -raw` has one sample per program point with its
  alloc, inuse (t-end) and tgmax numbers; -top shows leak_site's 2,560 bytes;
  inlined frames are lines of one location; `report --pprof` of the written
  file gives the same profile, and converts a Valgrind file too;
- --folded: one line per stack, outermost first, weights summing to the
  file's t-end, t-gmax and total bytes;
- --metrics-file: `promtool check metrics` accepts it while the capture
  runs; node_exporter's textfile collector serves it on 127.0.0.1; its last
  update equals the DHAT file's totals;
- --report-format=json: every report a JSON line, the summary the last one,
  its numbers the DHAT file's; with --report-file and -q, in the file only."""
import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from dtlib import Checks, fixture, valgrind

DT, BUILD = sys.argv[1], sys.argv[2]
c = Checks()


def dhat_sums(path):
    with open(path) as f:
        d = json.load(f)
    sums = {k: sum(pp[k] for pp in d["pps"]) for k in ("tb", "tbk", "gb", "gbk", "eb", "ebk")}
    return d, sums


def capture(tmp, name, prog, *opts):
    out = os.path.join(tmp, name + ".json")
    r = subprocess.run([DT, "-o", out, *opts, "--", *prog], capture_output=True, text=True,
                       timeout=120)
    return r, out


def pprof(env, *args):
    r = subprocess.run(["go", "tool", "pprof", *args], capture_output=True, text=True,
                       env=env, timeout=120)
    return r.stdout


def raw_samples(text):
    """[(values...)] in the profile's order, from `go tool pprof -raw`."""
    out, on = [], False
    for line in text.splitlines():
        if line.startswith("Samples:"):
            on = True
        elif on and line.startswith("Locations"):
            break
        elif on and ":" in line and line.strip()[0].isdigit():
            out.append(tuple(int(v) for v in line.split(":")[0].split()))
    return out


def raw_locations(text):
    """{id: [function names, innermost first]} from `go tool pprof -raw`."""
    locs, cur, on = {}, None, False
    for line in text.splitlines():
        if line.startswith("Locations"):
            on = True
            continue
        if not on:
            continue
        if line.startswith("Mappings"):
            break
        m = re.match(r"\s+(\d+): 0x[0-9a-f]+ M=\d+ (\S+)", line)
        if m:
            cur = locs.setdefault(int(m.group(1)), [m.group(2)])
        elif cur is not None and line.startswith("            "):
            cur.append(line.split()[0])
    return locs


def check_pprof(tmp, env):
    r, out = capture(tmp, "leak", [fixture(BUILD, "leakfix")], "-q",
                     f"--pprof={tmp}/leak.pb.gz", f"--folded={tmp}/leak.folded")
    c.check(r.returncode == 0 and os.path.exists(f"{tmp}/leak.pb.gz"),
            "capture with --pprof and --folded", r.stderr[-500:])
    d, sums = dhat_sums(out)
    raw = pprof(env, "-raw", f"{tmp}/leak.pb.gz")
    want = [(pp["tbk"], pp["tb"], pp["ebk"], pp["eb"], pp["gbk"], pp["gb"]) for pp in d["pps"]]
    c.check(raw_samples(raw) == want,
            "pprof -raw: one sample per program point, alloc/inuse/tgmax objects and space "
            "equal to the DHAT file's", f"{raw_samples(raw)} != {want}")
    c.check("alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes[dflt]"
            " tgmax_objects/count tgmax_space/bytes" in raw,
            "pprof -raw: six sample types, inuse_space the default", raw[:400])
    for index, fn, want_b, total in (("inuse_space", "leak_site", 2560, sums["eb"]),
                                     ("tgmax_space", "leak_site", 2560, sums["gb"]),
                                     ("alloc_space", "temp_site", 20000, sums["tb"])):
        top = pprof(env, "-top", "-unit=B", f"-sample_index={index}", f"{tmp}/leak.pb.gz")
        c.check(re.search(rf"^\s+{want_b}B .* {fn}$", top, re.M) is not None and
                f"Total samples = {total}B" in top,
                f"pprof -top -sample_index={index}: {fn} {want_b} B, total {total} B "
                f"(the DHAT file's)", top[:900])

    # The file written, converted by `report`: the same profile.
    r = subprocess.run([DT, "report", f"--pprof={tmp}/again.pb.gz", out], capture_output=True,
                       timeout=60)
    same = r.returncode == 0 and r.stdout == b"" and \
        gzip.open(f"{tmp}/again.pb.gz").read() == gzip.open(f"{tmp}/leak.pb.gz").read()
    c.check(same, "report --pprof of the DHAT file: the same profile as the capture's, "
            "nothing on stdout", r.stderr[-300:])

    folded = open(f"{tmp}/leak.folded").read().splitlines()
    weights = {line.rsplit(" ", 1)[0]: int(line.rsplit(" ", 1)[1]) for line in folded}
    c.check(sum(weights.values()) == sums["eb"] and
            any(s.endswith(";main;leak_site") and w == 2560 for s, w in weights.items()),
            f"--folded (tend): weights sum to t-end {sums['eb']}, ...;main;leak_site 2560",
            "\n".join(folded))
    for w, key in (("tgmax", "gb"), ("total", "tb")):
        r = subprocess.run([DT, "report", f"--folded-weight={w}", "--folded=-", out],
                           capture_output=True, text=True, timeout=60)
        got = sum(int(line.rsplit(" ", 1)[1]) for line in r.stdout.splitlines())
        c.check(r.returncode == 0 and got == sums[key],
                f"report --folded=- --folded-weight={w}: weights sum to {sums[key]}",
                f"{got} {r.stderr}")
    r = subprocess.run([DT, "report", "--folded=-", out], capture_output=True, text=True)
    c.check(r.stdout.splitlines() == folded, "report --folded of the file: the capture's lines")

    # Inlined functions: lines of one location, innermost first.
    r, out = capture(tmp, "inline", [fixture(BUILD, "inline")], "-q",
                     f"--pprof={tmp}/inline.pb.gz")
    locs = raw_locations(pprof(env, "-raw", f"{tmp}/inline.pb.gz"))
    chain = [fns for fns in locs.values() if "middle_alloc" in fns]
    c.check(chain and len(chain[0]) >= 2 and chain[0].index("middle_alloc") <
            chain[0].index("site_outer"),
            "inlined middle_alloc and site_outer: lines of one location, innermost first",
            str(locs))

    # A Valgrind file: its allocator frames left out.
    vg = os.path.join(tmp, "vg.json")
    valgrind(vg, [fixture(BUILD, "leakfix")])
    r = subprocess.run([DT, "report", f"--pprof={tmp}/vg.pb.gz", f"--folded={tmp}/vg.folded",
                        vg], capture_output=True, text=True, timeout=60)
    top = pprof(env, "-top", "-unit=B", "-sample_index=inuse_space", f"{tmp}/vg.pb.gz")
    vf = open(f"{tmp}/vg.folded").read() if os.path.exists(f"{tmp}/vg.folded") else ""
    c.check(r.returncode == 0 and re.search(r"^\s+2560B .* leak_site$", top, re.M) and
            "vgpreload" not in top and "malloc" not in vf,
            "Valgrind's file: pprof shows leak_site 2560 B, no Valgrind malloc frame",
            r.stderr + top[:600] + vf)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as f:
        text = f.read().decode()
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r"^(dhat_trace_\w+)\{[^}]*\} (\S+)$", text, re.M)
            if "site" not in m.group(1)}, text


def check_metrics_and_json(tmp):
    mdir = os.path.join(tmp, "textfile")
    os.mkdir(mdir)
    prom = os.path.join(mdir, "dhat.prom")
    out = os.path.join(tmp, "sus.json")
    port = free_port()
    exporter = subprocess.Popen(["prometheus-node-exporter", "--collector.disable-defaults",
                                 "--collector.textfile", f"--collector.textfile.directory={mdir}",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tracer = subprocess.Popen([DT, "-i", "500ms", "-o", out, f"--metrics-file={prom}",
                               "--report-format=json", "--", fixture(BUILD, "suspects"), "3000"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 30
        while not os.path.exists(prom) and time.time() < deadline and tracer.poll() is None:
            time.sleep(0.1)
        r = subprocess.run(["promtool", "check", "metrics"], stdin=open(prom),
                           capture_output=True, text=True)
        c.check(r.returncode == 0, "promtool check metrics: the file of a running capture",
                r.stdout + r.stderr)
        live = None
        for _ in range(50):
            try:
                live, _ = scrape(port)
                break
            except OSError:
                time.sleep(0.1)
        c.check(live is not None and "dhat_trace_live_bytes" in live,
                "node_exporter serves the metrics while tracing", str(live))
        err = tracer.communicate(timeout=120)[1]
        _, sums = dhat_sums(out)
        got, text = scrape(port)
        want = {"dhat_trace_live_bytes": sums["eb"], "dhat_trace_live_blocks": sums["ebk"],
                "dhat_trace_peak_bytes": sums["gb"], "dhat_trace_peak_blocks": sums["gbk"],
                "dhat_trace_allocations_total": sums["tbk"],
                "dhat_trace_allocated_bytes_total": sums["tb"],
                "dhat_trace_capture_ended": 1}
        c.check(all(got.get(k) == v for k, v in want.items()),
                "node_exporter, after the capture: live, peak and totals equal the DHAT file's",
                f"{got} vs {want}")
        big = re.search(r'^dhat_trace_site_live_bytes\{pid="\d+",rank="1",site="big_site '
                        r'\(suspects.c:\d+\) <- main \(suspects.c:\d+\)"\} (\S+)$', text, re.M)
        c.check(big and float(big.group(1)) == 8 << 20 and
                re.search(r'^dhat_trace_site_live_bytes\{pid="\d+",rank="\d",site="leak_site '
                          r'\(suspects.c:\d+\) <- common \(suspects.c:\d+\)"\} \S+$', text, re.M),
                "node_exporter: the top sites' live bytes (big_site's 8 MiB first, leak_site), "
                "labelled by rank and site",
                text[-1500:])
        r = subprocess.run(["promtool", "check", "metrics"], stdin=open(prom),
                           capture_output=True, text=True)
        c.check(r.returncode == 0, "promtool check metrics: the last update", r.stdout + r.stderr)
    finally:
        exporter.terminate()
        exporter.wait(timeout=10)
        if tracer.poll() is None:
            tracer.kill()
            tracer.wait()

    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    reports = [x for x in lines if x["type"] == "report"]
    c.check(len(reports) >= 3 and lines[-1]["type"] == "summary",
            "--report-format=json: a line per report (3 s at 500 ms), the summary last",
            err[-800:])
    c.check("Total:" not in err and "At t-end:" not in err,
            "--report-format=json on stderr: no text summary", err[-500:])
    s = lines[-1] if lines else {}
    c.check(s.get("t_end", {}).get("bytes") == sums["eb"] and
            s.get("total", {}).get("blocks") == sums["tbk"] and
            s.get("t_gmax", {}).get("bytes") == sums["gb"],
            "the summary line's t-end, total and t-gmax equal the DHAT file's", str(s)[:500])
    ok = all(isinstance(x.get("live", {}).get("bytes"), int) and "sites" in x and "time" in x
             and isinstance(x.get("suspects"), list) for x in reports)
    c.check(ok and any(x["suspects"] for x in reports),
            "report lines: live, sites, time and suspects (leak_site among them)",
            json.dumps(reports[-1])[:600] if reports else "")

    log = os.path.join(tmp, "reports.jsonl")
    r, _ = capture(tmp, "rf", [fixture(BUILD, "suspects"), "1500"], "-q", "-i", "500ms",
                   "--report-format=json", f"--report-file={log}")
    types = [json.loads(line)["type"] for line in open(log)] if os.path.exists(log) else []
    c.check(r.returncode == 0 and len(types) >= 2 and types[-1] == "summary" and
            types.count("summary") == 1 and '"type"' not in r.stderr,
            "--report-file with -q: the reports and the summary in the file, none on stderr",
            f"{types} {r.stderr[-300:]}")


if os.geteuid() != 0:
    print("SKIP: needs root (BPF)")
    sys.exit(77)
missing = [t for t in ("go", "promtool", "prometheus-node-exporter", "valgrind")
           if not shutil.which(t)]
if missing:
    print(f"SKIP: {', '.join(missing)} not installed (dev.sh installs them)")
    sys.exit(77)
with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, HOME=tmp, GOCACHE=os.path.join(tmp, "gocache"),
               PPROF_TMPDIR=tmp)
    check_pprof(tmp, env)
    check_metrics_and_json(tmp)
sys.exit(c.finish())
