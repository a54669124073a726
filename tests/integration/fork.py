#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A target that forks children while traced (forker.c), launched and attached.

Not followed: nothing of the children's in the file, and the tracer says how
many went untraced, on stderr and in dhatTrace.

--follow-forks: each child gets FILE.PID.json with its own site alone, exact,
and its free of the block it inherited counted as a free of a block never seen
allocated; the parent's file is what it is without the option.  Launched, the
children are held until their capture is ready; attached it is best effort
(forker's children wait FORKER_CHILD_MS before they allocate).

Children that exec, --follow-exec --follow-forks: dash runs a command in a
vfork child (traced from its exec), bash in a fork child (traced from the fork;
its exec is held like the command's): FILE.PID.json, FILE.PID.1.json, ... hold
one program each, exact."""
import glob
import os
import re
import subprocess
import sys
import tempfile
from dtlib import Checks, attach, expect_sites, fixture, load, sites

DT, BUILD = sys.argv[1], sys.argv[2]
FORKER = fixture(BUILD, "forker")
FIRST, SECOND = fixture(BUILD, "execfirst"), fixture(BUILD, "execsecond")
PARENT = {"parent_site": (900, 3, 900, 3, 900, 3), "keep_site": (64, 1, 64, 1, 64, 1)}
FIRST_SITES = {"first_leak_site": (1554, 2, 1554, 2, 1554, 2)}
SECOND_SITES = {"second_leak_site": (2997, 3, 2997, 3, 2997, 3)}


def children_of(out):
    """FILE.PID.json beside out (not FILE.PID.N.json), by PID."""
    base = out[:-len(".json")]
    found = {}
    for path in glob.glob(base + ".*.json"):
        m = re.fullmatch(re.escape(base) + r"\.(\d+)\.json", path)
        if m:
            found[int(m.group(1))] = path
    return found


def check_parent(c, label, rc, err, out):
    if not c.check(rc == 0 and os.path.exists(out), f"{label}: exit 0, file written",
                   f"exit {rc}: {err.strip()[-400:]}"):
        return False
    expect_sites(c, sites(out, "forker.c"), PARENT, label)
    return True


def check_not_followed(c, label, rc, err, out):
    if not check_parent(c, label, rc, err, out):
        return
    c.check(load(out)["dhatTrace"].get("forks_not_traced") == 3,
            f"{label}: dhatTrace forks_not_traced = 3", str(load(out)["dhatTrace"]))
    c.check("3 child processes forked during the capture were not traced" in err,
            f"{label}: stderr says 3 children were not traced", err.strip()[-400:])
    c.check(not children_of(out), f"{label}: no child's file", str(children_of(out)))


def check_followed(c, label, rc, err, out):
    if not check_parent(c, label, rc, err, out):
        return
    stats = load(out)["dhatTrace"]
    c.check((stats.get("forks_traced"), stats.get("forks_not_traced")) == (3, 0),
            f"{label}: dhatTrace forks_traced = 3, forks_not_traced = 0", str(stats))
    c.check("--follow-forks: 3 child processes, 3 traced" in err,
            f"{label}: the last line says 3 children were traced", err.strip()[-600:])
    files = children_of(out)
    if not c.check(len(files) == 3, f"{label}: a file per child", str(files)):
        return
    got = []
    for pid, path in sorted(files.items()):
        s = sites(path, "forker.c")
        got.append(s.get("child_site", {}).get("tb"))
        c.check(set(s) == {"child_site"}, f"{label}: PID {pid}: child_site alone",
                str(sorted(s)))
        c.check(load(path)["pid"] == pid, f"{label}: PID {pid}: the file's pid is the child's")
        c.check(load(path)["dhatTrace"].get("unknown_frees") == 1,
                f"{label}: PID {pid}: the inherited block's free counted as never seen "
                "allocated", str(load(path)["dhatTrace"].get("unknown_frees")))
        n = s.get("child_site", {}).get("tb")
        expect_sites(c, s, {"child_site": (n, 1, n, 1, n, 1)}, f"{label}: PID {pid}")
    c.check(sorted(got, key=str) == [500, 600, 700], f"{label}: the children's sizes 500, 600, "
            "700, one each", str(got))


def check_exec_chain(c, label, r, out, files):
    """files: [(suffix, source, want)]: FILE.PID<suffix>.json holds source's sites alone."""
    if not c.check(r.returncode == 0 and os.path.exists(out), f"{label}: exit 0, file written",
                   f"exit {r.returncode}: {r.stderr.strip()[-600:]}"):
        return
    for src in ("execfirst.c", "execsecond.c"):
        c.check(not sites(out, src), f"{label}: nothing of {src} in the shell's file")
    kids = children_of(out)
    if not c.check(len(kids) == 1, f"{label}: one child's file", str(kids)):
        return
    pid = next(iter(kids))
    base = out[:-len(".json")] + f".{pid}"
    for suffix, src, want in files:
        path = base + suffix + ".json"
        if not c.check(os.path.exists(path), f"{label}: {os.path.basename(path)} written",
                       r.stderr.strip()[-600:]):
            continue
        other = "execsecond.c" if src == "execfirst.c" else "execfirst.c"
        if want is not None:
            expect_sites(c, sites(path, src), want, f"{label}: {suffix or 'first file'}")
        c.check(not sites(path, other), f"{label}: nothing of {other} in {suffix or 'first file'}")
    nxt = base + f".{len(files)}.json"
    c.check(not os.path.exists(nxt), f"{label}: no more files", nxt)


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "launch.json")
    r = subprocess.run([DT, "-o", out, "--", FORKER], capture_output=True, text=True,
                       timeout=120)
    check_not_followed(c, "launched", r.returncode, r.stderr, out)
    out = os.path.join(tmp, "attach.json")
    rc, err = attach(DT, out, [FORKER])
    check_not_followed(c, "attached", rc, err, out)

    out = os.path.join(tmp, "follow.json")
    r = subprocess.run([DT, "-i", "0", "--follow-forks", "-o", out, "--", FORKER],
                       capture_output=True, text=True, timeout=120)
    check_followed(c, "launched, --follow-forks", r.returncode, r.stderr, out)
    out = os.path.join(tmp, "follow-attach.json")
    os.environ["FORKER_CHILD_MS"] = "2000"
    rc, err = attach(DT, out, [FORKER], "--follow-forks", timeout=120)
    del os.environ["FORKER_CHILD_MS"]
    check_followed(c, "attached, --follow-forks", rc, err, out)

    cmd = f"{FIRST} {SECOND}; true"
    out = os.path.join(tmp, "dash.json")
    r = subprocess.run([DT, "-q", "--follow-forks", "--follow-exec", "-o", out, "--",
                        "dash", "-c", cmd], capture_output=True, text=True, timeout=120)
    check_exec_chain(c, "dash (vfork), --follow-exec", r, out,
                     [("", "execfirst.c", FIRST_SITES), (".1", "execsecond.c", SECOND_SITES)])
    out = os.path.join(tmp, "bash.json")
    r = subprocess.run([DT, "-q", "--follow-forks", "--follow-exec", "-o", out, "--",
                        "bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    # The fork child's own file: bash between fork and exec, none of the programs'.
    check_exec_chain(c, "bash (fork), --follow-exec", r, out,
                     [("", "execfirst.c", None), (".1", "execfirst.c", FIRST_SITES),
                      (".2", "execsecond.c", SECOND_SITES)])
    out = os.path.join(tmp, "noexec.json")
    r = subprocess.run([DT, "--follow-forks", "-o", out, "--", "dash", "-c", cmd],
                       capture_output=True, text=True, timeout=120)
    check_exec_chain(c, "dash, no --follow-exec", r, out,
                     [("", "execfirst.c", FIRST_SITES)])
    c.check("the new program runs on untraced" in r.stderr,
            "dash, no --follow-exec: stderr says the child's new program is not traced",
            r.stderr.strip()[-600:])
sys.exit(c.finish())
