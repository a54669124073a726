#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Leak suspects while a capture runs (tests/fixtures/suspects.c: a slow
leak, a cache that fills for 2 s and stops, churn, one big block, all
through one xmalloc wrapper), traced with a report every second for 8 s:
- the leak is the first suspect by the report that ends its third interval
  and in every report after, with its reason, labelled from leak_site (the
  wrapper skipped); its two stacks (route_a, route_b) are two suspects of
  one label that say where they part;
- the cache is no suspect from two intervals after it stopped on;
- churn and the big block are never suspects;
- the final summary and the JSON's dhatTrace.suspects name the leak."""
import json
import os
import re
import subprocess
import sys
import tempfile

from dtlib import Checks, fixture

DT, BUILD = sys.argv[1], sys.argv[2]
PROG = fixture(BUILD, "suspects")
REPORT = re.compile(r"^dhat-trace: \[(\d+\.\d)s\] live ")
LEAK = re.compile(r"LEAK\? \+\S+ \S+ in (\d+) of (\d+) reports, (\d+) % of live bytes older than "
                  r"\d+ s(?:, the oldest over (\d+) s)?: (\S+).*?( \(via .*\))?$")


def reports(err):
    """[(time, [innermost function of each suspect line, in order])], and the
    suspects of the final summary."""
    out, final, cur = [], [], None
    for line in err.splitlines():
        m = REPORT.match(line)
        if m:
            cur = []
            out.append((float(m.group(1)), cur))
            continue
        m = LEAK.search(line)
        if not m:
            continue
        (cur if line.startswith("dhat-trace:   ") and cur is not None else final).append(
            m.group(5))
        if line.startswith("dhat-trace:   "):
            VIA.append(m.group(6) or "")
            OLDEST.append(int(m.group(4) or 0))
    return out, final


VIA = []
OLDEST = []


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "s.json")
    r = subprocess.run([DT, "-i", "1s", "-o", out, "--", PROG], capture_output=True, text=True,
                       timeout=120)
    if c.check(r.returncode == 0, "exit 0", r.stderr[-600:]):
        reps, final = reports(r.stderr)
        print("# reports: " + "; ".join(f"{t}s {s}" for t, s in reps))
        print(f"# final: {final}")
        c.check(len(reps) >= 7, "at least 7 periodic reports", str(len(reps)))
        third = [s for t, s in reps if t >= 3.5]
        c.check(third and all(s and s[0] == "leak_site" for s in third),
                "the leak is the first suspect from the report after its third interval on",
                str([(t, s) for t, s in reps]))
        c.check(not any("xmalloc" in s for t, s in reps), "no label starts at the wrapper")
        last = reps[-1][1] if reps else []
        c.check(last[:2] == ["leak_site", "leak_site"] and VIA[-len(last):][:2] and
                all("route_" in v for v in VIA[-len(last):][:2]) and
                len(set(VIA[-len(last):][:2])) == 2,
                "the leak's two stacks: two suspects of one label, each saying where it parts",
                f"{last} {VIA[-len(last):]}")
        c.check(not any("cache_site" in s for t, s in reps if t >= 4.5),
                "the cache is no suspect two intervals after it stopped",
                str([(t, s) for t, s in reps if "cache_site" in s]))
        c.check(not any(x in s for t, s in reps for x in ("churn_site", "big_site")),
                "churn and the big block are never suspects")
        c.check(final[:1] == ["leak_site"] and "churn_site" not in final and
                "big_site" not in final, "the final summary names the leak first", str(final))
        d = json.load(open(out))
        sus = d["dhatTrace"].get("suspects", [])
        first = " ".join(d["ftbl"][i] for i in d["pps"][sus[0]["pp"]]["fs"][:2]) if sus else ""
        c.check("xmalloc" in first and "leak_site" in first,
                "dhatTrace.suspects[0] is the leak's site (its whole stack)", first)
        if sus:
            h = sus[0]["history_bytes"]
            hb = sus[0]["history_blocks"]
            c.check(len(h) == 7 and all(b > a for a, b in zip(h, h[1:])) and
                    [b * 2048 for b in hb] == h,
                    "its history: 7 ticks of live bytes and blocks (2 KiB each), rising",
                    f"{h} {hb}")
            c.check(sus[0]["rose"] == sus[0]["of"] == 6, "it rose in 6 of 6 intervals",
                    str(sus[0]))
            c.check(5_500_000 <= sus[0]["oldest_at_least_us"] <= 6_500_000 and OLDEST and
                    OLDEST[-1] == 6, "its oldest block: over the whole window (6 s), said so",
                    f"{sus[0]['oldest_at_least_us']} {OLDEST[-3:]}")
sys.exit(c.finish())
