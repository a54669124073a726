#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""A library deleted from its path while mapped, another library put at that
path, then the process attached; and a library with no path at all (a memfd):
as root (through /proc/PID/map_files) their frames get the library's own
names; as nobody with the four
capabilities (no map_files) they are ??? and counted (and the stack ends
there: no unwind table without the file), and in both cases no frame names
the file now at that path."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dtlib import Checks, fixture

DT, BUILD = sys.argv[1], sys.argv[2]
CAPS = "+bpf,+perfmon,+sys_ptrace,+dac_read_search"


def run(c, label, tmp, prefix, prog="dlgone"):
    lib = os.path.join(tmp, "libgone.so")
    shutil.copy(fixture(BUILD, "libdlalloc.so"), lib)
    target = subprocess.Popen([fixture(BUILD, prog), lib, "--wait"], stdout=subprocess.PIPE)
    out = os.path.join(tmp, label + ".json")
    try:
        if target.stdout.readline() != b"ready\n":
            c.check(False, f"{label}: fixture ready")
            return None
        # Another library where the mapped one was: same name, other code.
        if os.path.exists(lib):
            os.unlink(lib)
        shutil.copy(fixture(BUILD, "libb.so"), lib)
        tracer = subprocess.Popen([*prefix, DT, "-p", str(target.pid), "-o", out],
                                  stderr=subprocess.PIPE, text=True)
        first = ""
        while not first.endswith("") or "tracing PID" not in first:
            line = tracer.stderr.readline()
            if not line:
                break
            first += line
        target.send_signal(signal.SIGUSR1)
        target.wait(timeout=60)
        err = first + tracer.stderr.read()
        tracer.wait(timeout=60)
    finally:
        if target.poll() is None:
            target.kill()
            target.wait()
    if not c.check(tracer.returncode == 0, f"{label}: exit 0", err[-400:]):
        return None
    with open(out) as f:
        d = json.load(f)
    pp = [p for p in d["pps"] if p["tb"] == 1500 and p["tbk"] == 10]
    c.check(len(pp) == 1, f"{label}: 10 x 150 bytes at one site", str(len(pp)))
    frames = [d["ftbl"][i] for i in pp[0]["fs"]] if pp else []
    c.check(not any("libb.c" in f or "b_alloc_site" in f for f in d["ftbl"]),
            f"{label}: no name from the file now at the path", str(frames[:3]))
    return d, frames, err


c = Checks()
with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    r = run(c, "memfd root", tmp, [], "dlmemfd")
    if r:
        c.check(any(": lib_inner (dlalloc.c:" in f for f in r[1]) and
                any(": site_memfd (dlmemfd.c:" in f for f in r[1]),
                "memfd root: the library's own names and its caller", str(r[1][:4]))
    r = run(c, "root", tmp, [])
    if r:
        c.check(any(": lib_inner (dlalloc.c:" in f for f in r[1]),
                "root: the deleted library's own names (map_files)", str(r[1][:3]))
        c.check(any(": site_gone (dlgone.c:" in f for f in r[1]), "root: the caller named",
                str(r[1]))
    dt = os.path.join(tmp, "dhat-trace")
    shutil.copy(DT, dt)
    DT = dt
    r = run(c, "nobody", tmp, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               f"--inh-caps={CAPS}", f"--ambient-caps={CAPS}", "--"])
    if r:
        d, frames, err = r
        c.check(frames and frames[0].split(": ", 1)[1].startswith("???"),
                "nobody: its frames ???", str(frames[:3]))
        x = d["dhatTrace"]
        c.check(x["objects_unreadable"] >= 1 and x["frames_in_unreadable_objects"] >= 1,
                "nobody: counted as an unreadable object", str(x))
        c.check("its frames will be ???" in err, "nobody: said on stderr", err[-400:])
        # Without its file there is no unwind table either: the stack ends
        # there, counted.
        c.check(x["stacks_truncated"] >= 1, "nobody: the stack cut there is counted", str(x))
sys.exit(c.finish())
