#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A real Rust program: Tokio, release mode (no frame pointers), built offline
from Debian's packaged crates, leaking through a task nobody awaits and through
a cache that only grows (tests/fixtures/rust-tokio).  Traced launched and
attached by PID: the leaked bytes at t-end per site, found by block size, and
the Rust function names on those sites' stacks.

    rust_tokio.py DHAT_TRACE BUILD_DIR [DHAT_TRACE_ARG...]

Extra dhat-trace arguments (e.g. --unwind=dwarf) come after BUILD_DIR or, under
`meson test`, from the environment: DT_EXTRA_ARGS="--unwind=dwarf".  With
DT_INJECT=1 (meson's rust_tokio_inject) each capture is made with --inject and
again with the uprobes: the three sites' stacks and numbers must be the same
(the rest of the document is not: Tokio starts another number of blocking
threads from run to run, and the peak's moment moves with them).

The fixture is built with Debian's /usr/bin/cargo and /usr/bin/rustc (never
rustup's, whatever PATH says), offline from /usr/share/cargo/registry, into
BUILD_DIR/tests/rust-tokio; CARGO_HOME is there too, so ~/.cargo is not used.
Missing packages fail the test: dev.sh installs them."""
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

from dtlib import FRAME, INJECT, TWINS, Checks, attach, launch, load

DT, BUILD = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
EXTRA = sys.argv[3:] + shlex.split(os.environ.get("DT_EXTRA_ARGS", ""))

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "fixtures", "rust-tokio"))
OUT = os.path.join(BUILD, "tests", "rust-tokio")
CARGO, RUSTC = "/usr/bin/cargo", "/usr/bin/rustc"
REGISTRY = "/usr/share/cargo/registry"
PROG = os.path.join(OUT, "target", "release", "rust-tokio-leak")

# Block size -> (label, blocks, leaked at t-end in bytes, blocks); see main.rs.
# Every other allocation of the program (Rust's, Tokio's, the HashMap's table)
# has another size, so a site is "the pps whose blocks all have this size".
SITES = {
    40_000: ("session buffers (never-awaited task)", 12, 480_000, 12),
    3_000: ("cache values (grow-only cache)", 100, 300_000, 100),
    7_777: ("response bodies (short-lived)", 100, 0, 0),
}
# Names that must be on every stack of the site (demangled, hash or not).
NAMES = {
    40_000: ("rust_tokio_leak::session_buffers",
             "rust_tokio_leak::spawn_leaky_task::{{closure}}",
             "tokio::runtime::"),
    3_000: ("rust_tokio_leak::Cache::insert",
            "rust_tokio_leak::handle_request::{{closure}}",
            "tokio::runtime::"),
    7_777: ("rust_tokio_leak::render_response",
            "rust_tokio_leak::handle_request::{{closure}}"),
}
# Legacy Rust mangling left in a name: _ZN...E, $LT$, $u7b$, "..".
MANGLED = re.compile(r"\b_ZN|\b_R[A-Z]|\$(LT|GT|C|u[0-9a-f]+|RF|BP|SP|LP|RP)\$|\w\.\.\w")


def build(c):
    """Build the fixture with Debian's toolchain; its path, or None."""
    missing = [p for p in (CARGO, RUSTC) if not os.access(p, os.X_OK)]
    have_tokio = os.path.isdir(REGISTRY) and any(
        d.startswith("tokio-1.") for d in os.listdir(REGISTRY))
    if not c.check(not missing and have_tokio,
                   "Debian's rustc, cargo and librust-tokio-dev are installed",
                   f"missing {missing or ''} {'' if have_tokio else REGISTRY + '/tokio-1.*'}"
                   " (apt-get install rustc cargo librust-tokio-dev; dev.sh test does)"):
        return None
    os.makedirs(OUT, exist_ok=True)
    # Nothing of the caller's Rust set-up (rustup toolchain, RUSTFLAGS, wrappers,
    # ~/.cargo) may leak into the build.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARGO", "RUST"))}
    env.update(CARGO_HOME=os.path.join(OUT, "cargo-home"),
               CARGO_TARGET_DIR=os.path.join(OUT, "target"),
               RUSTC=RUSTC, RUSTDOC="/usr/bin/rustdoc",
               PATH="/usr/bin:" + env.get("PATH", "/bin"))
    version = subprocess.run([RUSTC, "--version"], capture_output=True, text=True, env=env)
    print(f"# {version.stdout.strip()}, {CARGO}")
    t0 = time.monotonic()
    # cwd=SRC: cargo reads .cargo/config.toml (the Debian registry) from the
    # working directory.  --frozen: offline, and Cargo.lock must not change.
    r = subprocess.run([CARGO, "build", "--release", "--frozen"], cwd=SRC, env=env,
                       capture_output=True, text=True, timeout=1500)
    print(f"# cargo build --release --frozen: {time.monotonic() - t0:.1f}s")
    if not c.check(r.returncode == 0 and os.access(PROG, os.X_OK),
                   "fixture builds offline with Debian's cargo", r.stderr[-3000:]):
        return None
    return PROG


def by_size(d):
    """{size: [pp, ...]} for the pps whose blocks all have one of SITES' sizes."""
    out = {}
    for pp in d["pps"]:
        for size in SITES:
            if pp["tbk"] and pp["tb"] == pp["tbk"] * size:
                out.setdefault(size, []).append(pp)
    return out


def stack(d, pp):
    return [d["ftbl"][i] for i in pp["fs"]]


def has_name(frames, name):
    """name is a frame's function, allowing a trailing ::h<hash> and arguments."""
    for f in frames:
        m = FRAME.match(f)
        fn = m.group(1) if m else f.split(": ", 1)[-1]
        fn = re.sub(r"::h[0-9a-f]{16}\b", "", fn)
        if name.endswith("::") and name in fn or fn == name or fn.startswith(name + "("):
            return True
    return False


def sites_of(d):
    """{size: {frames without addresses: (tb, tbk, eb, ebk)}} of SITES' pps."""
    return {size: {tuple(re.sub(r"^0x[0-9A-Fa-f]+: ", "", f) for f in stack(d, pp)):
                   tuple(pp[k] for k in ("tb", "tbk", "eb", "ebk")) for pp in pps}
            for size, pps in by_size(d).items()}


def compare_modes(c):
    for label, a, b, rc, err in TWINS:
        if c.check(rc == 0, f"{label}: the uprobe twin: exit 0", err[-400:]):
            sa, sb = sites_of(load(a)), sites_of(load(b))
            c.check(sa == sb and len(sa) == len(SITES),
                    f"{label}: --inject and uprobes: the same stacks and numbers at the "
                    "three sites", f"{sa} vs {sb}")
    TWINS.clear()


def check_file(c, out, label):
    d = load(out)
    extra = d["dhatTrace"]
    c.check(extra["lost_events"] == 0 and extra["returns_without_entry"] == 0,
            f"{label}: nothing lost", str(extra))
    found = by_size(d)
    for size, (what, blocks, eb, ebk) in SITES.items():
        pps = found.get(size, [])
        tot = tuple(sum(pp[k] for pp in pps) for k in ("tb", "tbk", "eb", "ebk"))
        c.check(tot == (size * blocks, blocks, eb, ebk),
                f"{label}: {what}: {size}-byte blocks tb/tbk/eb/ebk = "
                f"{(size * blocks, blocks, eb, ebk)}", f"got {tot} in {len(pps)} pps")
        if not pps:
            continue
        stacks = [stack(d, pp) for pp in pps]
        for name in NAMES[size]:
            bad = [s for s in stacks if not has_name(s, name)]
            c.check(not bad, f"{label}: {what}: every stack has {name}",
                    f"{len(bad)} of {len(stacks)} without, e.g. {bad[0] if bad else ''}")
        mangled = sorted({f for s in stacks for f in s if MANGLED.search(f)})
        c.check(not mangled, f"{label}: {what}: no Rust mangling left in frames",
                "; ".join(mangled[:3]))
        src = [s for s in stacks if not any(
            FRAME.match(f) and FRAME.match(f).group(2) == "main.rs" for f in s)]
        c.check(not src, f"{label}: {what}: every stack has a main.rs:LINE frame",
                f"e.g. {src[0] if src else ''}")


c = Checks()
if EXTRA:
    print(f"# extra dhat-trace arguments: {' '.join(EXTRA)}")
prog = build(c)
if prog:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "launch.json")
        r = launch(DT, out, [prog], *EXTRA)
        if c.check(r.returncode == 0, "launch: exit 0", r.stderr):
            check_file(c, out, "launch")
        out = os.path.join(tmp, "attach.json")
        try:
            rc, err = attach(DT, out, [prog], "-d", "60s", *EXTRA)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            rc, err = -1, str(e)
        if c.check(rc == 0, "attach: target exit ends the capture, exit 0", err):
            check_file(c, out, "attach")
        if INJECT:
            compare_modes(c)
sys.exit(c.finish())
