#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Snapshots while a capture runs: --snapshot-every=1s on a program that
allocates for 4.5 s (tests/fixtures/suspects.c), plus one SIGUSR1 to
dhat-trace.  Every snapshot is a complete DHAT file that Valgrind's viewer
loads, its totals never decrease from one to the next (nor to the final
file), the capture and the command go on (exit 0), and a snapshot taken
with -o - is refused at the command line."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from dtlib import Checks, fixture
from viewlib import render

DT, BUILD = sys.argv[1], sys.argv[2]
PROG = fixture(BUILD, "suspects")

c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "run.json")
    p = subprocess.Popen([DT, "-q", "--snapshot-every=1s", "-o", out, "--", PROG, "4500"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    p.send_signal(signal.SIGUSR1)
    _, err = p.communicate(timeout=120)
    c.check(p.returncode == 0 and os.path.exists(out), "exit 0 (the command's), final file",
            f"{p.returncode}: {err[-600:]}")
    said = re.findall(r"snapshot (\d+): wrote (\S+)", err)
    files = sorted((int(n), path) for n, path in said)
    c.check(len(files) >= 5, "at least 5 snapshots: 4 timed, 1 on SIGUSR1", str(said))
    c.check(all(os.path.basename(path) == f"run.snapshot.{n}.json" for n, path in files),
            "named run.snapshot.N.json beside run.json", str(files))
    prev = (0, 0, 0)
    rising = True
    for n, path in files + [(None, out)]:
        d = json.load(open(path))
        now = (sum(pp["tb"] for pp in d["pps"]), sum(pp["tbk"] for pp in d["pps"]), d["te"])
        rising &= all(x >= y for x, y in zip(now, prev)) and now[2] > prev[2]
        prev = now
    c.check(rising, "total bytes, blocks and te never decrease, snapshot to snapshot to the end")
    for n, path in files[:2] + files[-1:]:
        d = json.load(open(path))
        text, errors = render(tmp, open(path).read())
        tb = sum(pp["tb"] for pp in d["pps"])
        c.check(not errors and f"Total:     {tb:,} bytes (100%" in text,
                f"snapshot {n} loads in the viewer, total {tb:,} bytes", str(errors))

    r = subprocess.run([DT, "--snapshot-every=1s", "-o", "-", "--", PROG, "100"],
                       capture_output=True, text=True, timeout=60)
    c.check(r.returncode == 64 and "--snapshot-every writes files" in r.stderr,
            "--snapshot-every with -o -: a usage error", r.stderr[-300:])
sys.exit(c.finish())
