#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""--max-memory: a program that keeps allocating (tests/fixtures/capfill.c:
200,000 blocks of 48 bytes kept live, all freed, then 1,000 blocks of 100
bytes kept) under a 2M cap.  The cap is said once on stderr, in the periodic
report and in the summary; the file is a valid DHAT document marked as
capped; the blocks tracked have exact numbers at their sites and, with the
ones counted as not tracked, make up every allocation; once frees made room,
blocks are tracked again.  Without a cap every block is tracked."""
import json
import os
import subprocess
import sys
import tempfile

from dtlib import Checks, fixture, sites

DT, BUILD = sys.argv[1], sys.argv[2]
PROG = fixture(BUILD, "capfill")
FILL, AFTER = 200000, 1000
CAP = 2 << 20
TOP = ("dhatFileVersion", "mode", "verb", "bklt", "bkacc", "tu", "Mtu", "cmd", "pid", "te",
       "tg", "pps", "ftbl")
PP = ("tb", "tbk", "tl", "mb", "mbk", "gb", "gbk", "eb", "ebk", "fs")


def run(tmp, name, *opts):
    out = os.path.join(tmp, name + ".json")
    summary = os.path.join(tmp, name + ".summary.json")
    r = subprocess.run([DT, "-i", "100ms", "-o", out, "--summary-json", summary, *opts, "--",
                        PROG], capture_output=True, text=True, timeout=240)
    return r, out, summary


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    r, out, summary = run(tmp, "capped", "--max-memory=2M")
    c.check(r.returncode == 0 and os.path.exists(out), "capped: exit 0, file written",
            f"exit {r.returncode}: {r.stderr[-800:]}")
    said = [l for l in r.stderr.splitlines() if "warning: memory cap reached (--max-memory" in l]
    c.check(len(said) == 1, "capped: said once on stderr when reached", "\n".join(said))
    periodic = [l for l in r.stderr.splitlines() if "blocks not tracked" in l and "] live " in l]
    c.check(len(periodic) >= 1, "capped: said in the periodic report", r.stderr[-800:])
    c.check("memory cap (--max-memory 2.0 MiB) reached:" in r.stderr, "capped: in the summary",
            r.stderr[-800:])

    with open(out) as f:
        d = json.load(f)
    c.check(all(k in d for k in TOP) and d["dhatFileVersion"] == 2 and d["mode"] == "heap"
            and d["ftbl"][0] == "[root]" and d["bklt"] is True,
            "capped: a DHAT v2 document with every top-level field", str(sorted(d)))
    c.check(all(all(k in pp for k in PP) for pp in d["pps"]) and
            all(0 <= i < len(d["ftbl"]) for pp in d["pps"] for i in pp["fs"]),
            "capped: every program point has DHAT's fields and valid frames")
    x = d["dhatTrace"]
    c.check(x["memory_capped"] == 1 and x["max_memory_bytes"] == CAP,
            "capped: dhatTrace says memory_capped, and the cap", str(x))
    c.check(0 < x["tables_bytes"] <= CAP, "capped: the tables stayed within the cap",
            str(x["tables_bytes"]))
    c.check("memory cap reached" in d["cmd"], "capped: the viewer's command line says so",
            d["cmd"])
    c.check(x["lost_events"] == 0, "capped: no event lost", str(x["lost_events"]))

    got = sites(out, "capfill.c")
    fill, after = got.get("site_fill"), got.get("site_after")
    c.check(fill is not None and after is not None, "capped: both sites present", str(got))
    if fill and after:
        kept = fill["tbk"]
        c.check(10000 < kept < FILL, f"capped: part of the fill tracked ({kept:,})")
        c.check(x["untracked_cap_blocks"] == FILL - kept and
                x["untracked_cap_bytes"] == 48 * (FILL - kept),
                "capped: tracked + not tracked = every fill block, bytes too",
                f"{kept} + {x['untracked_cap_blocks']}, {x['untracked_cap_bytes']}")
        c.check((fill["tb"], fill["gb"], fill["gbk"], fill["eb"], fill["ebk"]) ==
                (48 * kept, 48 * kept, kept, 0, 0),
                "capped: site_fill's tb/gb/gbk/eb/ebk exact for its tracked blocks", str(fill))
        c.check((after["tb"], after["tbk"], after["eb"], after["ebk"]) ==
                (100 * AFTER, AFTER, 100 * AFTER, AFTER),
                "capped: room made by the frees: site_after fully tracked", str(after))
        c.check(x["unknown_frees"] >= FILL - kept,
                "capped: frees of untracked blocks count as frees of unknown blocks",
                f"{x['unknown_frees']} < {FILL - kept}")
    with open(summary) as f:
        s = json.load(f)
    c.check(s["counters"]["memory_capped"] == 1, "capped: --summary-json says so too")

    r, out, _ = run(tmp, "uncapped", "-q")
    got = sites(out, "capfill.c")
    x = json.load(open(out))["dhatTrace"]
    c.check(r.returncode == 0 and "memory cap" not in r.stderr and x["memory_capped"] == 0,
            "default cap: not reached", r.stderr[-400:])
    c.check(got.get("site_fill", {}).get("tbk") == FILL and x["untracked_cap_blocks"] == 0,
            "default cap: every block tracked", str(got))
sys.exit(c.finish())
