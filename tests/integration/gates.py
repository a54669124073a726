#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""The CI gates at the end of a capture, and --summary-json, on
tests/fixtures/leakfix.c (t-end: leak_site 2,560 B in 40 blocks, keep_site
1,000 B; peak 3,560 B or more, with temp_site's blocks):
- --fail-on-leak fails (exit 23) on the leak and names leak_site; passes on
  the fixed program with a limit of 1,000, and with leak_site ignored;
- a launched command's own non-zero status comes before the gate's;
- --max-peak against the real peak;
- --summary-json: totals equal to the DHAT file's sums, the gates' results
  and the command's status."""
import json
import os
import subprocess
import sys
import tempfile

from dtlib import Checks, fixture

DT, BUILD = sys.argv[1], sys.argv[2]
PROG = fixture(BUILD, "leakfix")
GATE = 23


def run(tmp, name, opts, args=()):
    out = os.path.join(tmp, name + ".json")
    r = subprocess.run([DT, "-q", "-o", out, *opts, "--", PROG, *args], capture_output=True,
                       text=True, timeout=120)
    return r, out


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    r, out = run(tmp, "leak", ["--fail-on-leak"])
    c.check(r.returncode == GATE, "leaking: --fail-on-leak exits 23", f"{r.returncode}")
    c.check("leak check: FAIL: 3,560 bytes in 41 blocks" in r.stderr and "leak_site" in r.stderr,
            "leaking: the verdict counts 3,560 bytes in 41 blocks and names leak_site",
            r.stderr[-800:])
    c.check(os.path.exists(out), "leaking: the DHAT file is written all the same")

    r, _ = run(tmp, "fixed", ["--fail-on-leak=1000"], ["--fixed"])
    c.check(r.returncode == 0 and "leak check: ok: 1,000 bytes" in r.stderr,
            "fixed: --fail-on-leak=1000 passes", f"{r.returncode} {r.stderr[-400:]}")
    r, _ = run(tmp, "fixed0", ["--fail-on-leak"], ["--fixed"])
    c.check(r.returncode == GATE and "keep_site" in r.stderr and "leak_site" not in r.stderr,
            "fixed: --fail-on-leak (0) still fails on keep_site alone", f"{r.returncode}")

    r, _ = run(tmp, "ignored", ["--fail-on-leak", "--ignore-site=leak_site",
                                "--ignore-site=*(leakfix.c:2?)"])
    ok = r.returncode == 0 and "ignored: 3,560 bytes in 2 sites" in r.stderr
    c.check(ok, "leaking, both sites ignored (by function, by file:line glob): passes",
            f"{r.returncode} {r.stderr[-400:]}")
    pats = os.path.join(tmp, "ignore.txt")
    with open(pats, "w") as f:
        f.write("# known one-time allocations\nkeep_site\n")
    r, _ = run(tmp, "ignorefile", ["--fail-on-leak=2560", f"--ignore-file={pats}"])
    c.check(r.returncode == 0, "leaking, keep_site in an --ignore-file, limit 2,560: passes",
            f"{r.returncode} {r.stderr[-400:]}")

    r, _ = run(tmp, "failing", ["--fail-on-leak"], ["--exit=3"])
    c.check(r.returncode == 3, "a command that fails (exit 3) and leaks: its status, not 23",
            f"{r.returncode}")

    r, out = run(tmp, "peak", ["--max-peak=1K", "--summary-json=" + os.path.join(tmp, "s.json")])
    c.check(r.returncode == GATE and "peak check: FAIL" in r.stderr,
            "--max-peak=1K fails on the real peak", f"{r.returncode} {r.stderr[-400:]}")
    d = json.load(open(out))
    s = json.load(open(os.path.join(tmp, "s.json")))
    tot = (sum(p["tb"] for p in d["pps"]), sum(p["tbk"] for p in d["pps"]))
    end = (sum(p["eb"] for p in d["pps"]), sum(p["ebk"] for p in d["pps"]))
    gmax = (sum(p["gb"] for p in d["pps"]), sum(p["gbk"] for p in d["pps"]))
    c.check((s["total"]["bytes"], s["total"]["blocks"]) == tot and
            (s["t_end"]["bytes"], s["t_end"]["blocks"]) == end and
            (s["t_gmax"]["bytes"], s["t_gmax"]["blocks"]) == gmax,
            "summary: totals, t-end and t-gmax equal the DHAT file's sums",
            f"{s['total']} {s['t_end']} {s['t_gmax']} vs {tot} {end} {gmax}")
    pk = s["gates"]["max_peak"]
    c.check(s["summaryVersion"] == 1 and s["gates"]["fail_on_leak"] is None and pk and
            pk["failed"] and pk["limit_bytes"] == 1024 and pk["bytes"] == gmax[0],
            "summary: the peak gate failed at the peak's bytes; no leak gate", str(s["gates"]))
    c.check(s["command_status"] == 0 and s["dhat_file"] == out and
            s["counters"]["lost_events"] == 0 and isinstance(s["suspects"], list),
            "summary: command status, file, counters and suspects", json.dumps(s)[:400])
sys.exit(c.finish())
