#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A real cgo program (tests/fixtures/cgo): its Go side keeps 200 MiB of Go
slices, which no malloc probe can see; its C side mallocs 3 x 3000 bytes
(cgo_c_site).  Launched: the C allocations are counted exactly, and stderr
says once, and dhatTrace's rss_growth_unseen_bytes says, that most of the
memory growth was not the probed allocator's.

The fixture is built here with Debian's /usr/bin/go, offline (standard
library only, GOPROXY=off), into BUILD_DIR/tests/cgo with GOCACHE and GOPATH
there too, so nothing of ~/go or ~/.cache is used."""
import os
import subprocess
import sys
import tempfile
import time

from dtlib import Checks, expect_sites, load, sites

DT, BUILD = sys.argv[1], sys.argv[2]
GO = "/usr/bin/go"
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "cgo")
OUT = os.path.join(BUILD, "tests", "cgo")
PROG = os.path.join(OUT, "cgoalloc")
WARN = "most of its memory comes from elsewhere (a runtime's own heap such as Go's"
C_SITE = {"cgo_c_site": (9000, 3, 9000, 3, 9000, 3)}
GO_HEAP = 200 << 20


def build(c):
    if not c.check(os.access(GO, os.X_OK), "Debian's go is installed",
                   f"no {GO} (apt-get install golang-go; dev.sh test does)"):
        return None
    os.makedirs(OUT, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "CGO"))}
    env.update(GOCACHE=os.path.join(OUT, "gocache"), GOPATH=os.path.join(OUT, "gopath"),
               GOENV="off", GOPROXY="off", GOFLAGS="", GO111MODULE="on",
               GOTOOLCHAIN="local", CGO_ENABLED="1")
    t0 = time.monotonic()
    # cwd=SRC for its go.mod; -o: the binary goes to the build dir, not there.
    r = subprocess.run([GO, "build", "-o", PROG, "."], cwd=SRC, env=env, capture_output=True,
                       text=True, timeout=300)
    print(f"# go build: {time.monotonic() - t0:.1f}s")
    if not c.check(r.returncode == 0 and os.access(PROG, os.X_OK),
                   "fixture builds offline with Debian's go", r.stderr[-3000:]):
        return None
    return PROG


c = Checks()
prog = build(c)
if prog:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cgo.json")
        r = subprocess.run([DT, "-o", out, "--", prog], capture_output=True, text=True,
                           timeout=120)
        if c.check(r.returncode == 0, "launched: exit 0", r.stderr[-600:]):
            expect_sites(c, sites(out, "calloc.c"), C_SITE, "launched")
            c.check(r.stderr.count(WARN) == 1,
                    "launched: stderr says once that most memory is not malloc's",
                    r.stderr[-800:])
            x = load(out)["dhatTrace"]
            grew = x["rss_end_bytes"] - x["rss_start_bytes"]
            c.check(grew >= GO_HEAP, "launched: dhatTrace has the RSS growth of the Go heap",
                    f"grew {grew}")
            c.check(x.get("rss_growth_unseen_bytes", 0) >= GO_HEAP - (8 << 20),
                    "launched: dhatTrace says that growth was not seen",
                    str({k: v for k, v in x.items() if k.startswith("rss")}))
sys.exit(c.finish())
