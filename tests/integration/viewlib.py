# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Valgrind's own dh_view.html code in headless Chromium: what the viewer
shows of a DHAT file, and the errors it reports."""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

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
