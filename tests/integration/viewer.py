#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""The real client: Valgrind's own dh_view.html code, in headless Chromium, loads
dhat-trace's file through the viewer's own load path and renders the totals."""
import json
import os
import sys
import tempfile

from dtlib import Checks, fixture, launch
from viewlib import render

DT, BUILD = sys.argv[1], sys.argv[2]

c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    # The test must be able to fail: a file missing a required field.
    text, errors = render(tmp, json.dumps({"dhatFileVersion": 2, "mode": "heap"}))
    c.check(any("missing a field: verb" in e for e in errors),
            "negative control: the viewer reports a broken file", str(errors) + text[-300:])

    out = os.path.join(tmp, "basic.json")
    r = launch(DT, out, [fixture(BUILD, "basic")])
    c.check(r.returncode == 0, "dhat-trace traced the fixture", r.stderr)
    with open(out) as f:
        data = f.read()
    d = json.loads(data)
    tb = sum(p["tb"] for p in d["pps"])
    tbk = sum(p["tbk"] for p in d["pps"])
    gb = sum(p["gb"] for p in d["pps"])
    eb = sum(p["eb"] for p in d["pps"])
    text, errors = render(tmp, data)
    c.check(not errors, "no error shown by the viewer", str(errors))
    for what, want in (("total", f"Total:     {tb:,} bytes (100%"),
                       ("blocks", f"in {tbk:,} blocks (100%"),
                       ("t-gmax", f"At t-gmax: {gb:,} bytes (100%)"),
                       ("t-end", f"At t-end:  {eb:,} bytes (100%)"),
                       ("command", f"Command: {d['cmd']}"),
                       ("frame", "site_leak (basic.c:")):
        c.check(want in text, f"viewer renders the {what}: {want!r}")
sys.exit(c.finish())
