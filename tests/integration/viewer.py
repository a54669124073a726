#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""The real client: Valgrind's own dh_view.html code, in headless Chromium, loads
dhat-trace's file through the viewer's own load path and renders the totals."""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from dtlib import Checks, fixture, launch

DT, BUILD = sys.argv[1], sys.argv[2]
VIEW = "/usr/libexec/valgrind"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not os.path.exists(f"{VIEW}/dh_view.js") or not CHROMIUM:
    print("needs Debian's valgrind and chromium packages: apt-get install valgrind chromium")
    sys.exit(1)


def render(tmp, text):
    """The DOM text after dh_view.js loaded `text` as loadFile()'s reader.onload does."""
    page = os.path.join(tmp, "view.html")
    with open(page, "w") as f:
        f.write(f"""<!DOCTYPE html><html><head><meta charset="UTF-8">
<link rel="stylesheet" href="file://{VIEW}/dh_view.css">
<script src="file://{VIEW}/dh_view.js"></script></head><body><script>
onLoad();
tryFunc(() => {{
  gData = JSON.parse({json.dumps(text)});
  buildTree();
  displayTree(0, 0, 0);
}});
</script></body></html>""")
    profile = tempfile.mkdtemp(dir=tmp)
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--lang=en-US",
                        f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                        "--dump-dom", "file://" + page],
                       capture_output=True, text=True, timeout=120)
    dom = r.stdout
    errors = re.findall(r'class="error"[^>]*>([^<]*)<', dom)
    return html.unescape(re.sub(r"<[^>]+>", "", dom)), errors


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
