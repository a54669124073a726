#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""Debian's python3 loading extension modules (issue 17): a program that loads
libraries as it runs loses no stack to them.

Launched, python3 imports 30 extension modules (and what they load in turn:
libcrypto, libsqlite3, libmpdec...) while traced, allocating in each import,
then calls into several of them and makes 1,000 bytearray(4096).  The thread
is held at each load until the new objects' tables are built, so no stack may
end at a library loaded a moment before, every frame has a module, and every
frame's name is the one eu-addr2line gives for the same address in the same
process (Debian's python3 is stripped: its static functions are ??? to both).
Attached after start-up, the same calls give the same guarantees."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading

from dtlib import Checks

DT, BUILD = sys.argv[1], sys.argv[2]
PY = "/usr/bin/python3"   # Debian's, never a pyenv or venv one
c = Checks()

SCRIPT = r'''
import importlib, sys
MODS = ["_asyncio", "_bz2", "_codecs_cn", "_codecs_hk", "_codecs_iso2022", "_codecs_jp",
        "_codecs_kr", "_codecs_tw", "_contextvars", "_crypt", "_ctypes", "_curses", "_dbm",
        "_decimal", "_hashlib", "_json", "_lsprof", "_lzma", "_multibytecodec",
        "_multiprocessing", "_posixshmem", "_queue", "_sqlite3", "_ssl", "_uuid", "_zoneinfo",
        "audioop", "mmap", "resource", "termios"]
keep = []

def imports():
    for m in MODS:
        keep.append(importlib.import_module(m))
        keep.append([bytearray(100 + len(m)) for _ in range(10)])

def work():
    import _bz2, _decimal, _hashlib, _json, _lzma, _sqlite3
    keep.append(_json.encode_basestring_ascii("x" * 5000))
    keep.append(_decimal.Decimal(7) ** 3000)
    for comp in (_bz2.BZ2Compressor(), _lzma.LZMACompressor()):
        keep.append(comp.compress(b"dhat" * 50000) + comp.flush())
    con = _sqlite3.connect(":memory:")
    con.execute("create table t(x)")
    con.executemany("insert into t values (?)", [(str(i) * 20,) for i in range(200)])
    keep.append(con)
    h = _hashlib.new("sha256")
    h.update(b"x" * 100000)
    keep.append(h.hexdigest())
    keep.append([bytearray(4096) for _ in range(1000)])

if sys.argv[1] == "attach":
    imports()
    print("ready", flush=True)
    sys.stdin.readline()
else:
    imports()
work()
n = sum(1 for l in open("/proc/self/maps") if "/lib-dynload/" in l and " r-xp " in l)
print("done", n, flush=True)
sys.stdin.readline()
'''

FRAME = re.compile(r"^0x([0-9A-Fa-f]+): (.*?)(?: \((?:in ([^()]*)|[^():]+:\d+)\))?$")


class Run:
    """python3 under dhat-trace (launched, or attached once it is ready);
    python3 stays alive after the capture, for eu-addr2line to read it."""

    def __init__(self, out, attach):
        self.py = None
        self.lines = []
        self.script = os.path.join(os.path.dirname(out), "loads.py")
        with open(self.script, "w") as f:
            f.write(SCRIPT)
        if attach:
            self.py = subprocess.Popen([PY, self.script, "attach"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
            self.pid = self.py.pid
            self.expect(self.py.stdout, "ready")
            self.dt = subprocess.Popen([DT, "-i", "0", "-o", out, "-p", str(self.pid)],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
            self.started()
            self.pystdin, self.pystdout = self.py.stdin, self.py.stdout
            self.pystdin.write("go\n")
            self.pystdin.flush()
        else:
            self.dt = subprocess.Popen([DT, "-i", "0", "-o", out, "--", PY, self.script, "launch"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
            self.started()
            self.pystdin, self.pystdout = self.dt.stdin, self.dt.stdout
        done = self.expect(self.pystdout, "done")
        self.dynload = int(done.split()[1])

    def expect(self, stream, word):
        line = stream.readline()
        if not line.startswith(word):
            raise RuntimeError(f"python3 said {line!r}, not {word}")
        return line

    def started(self):
        first = self.dt.stderr.readline()
        self.lines.append(first)
        m = re.match(r"dhat-trace: tracing PID (\d+) ", first)
        if not m:
            raise RuntimeError(f"dhat-trace did not start: {first!r}")
        self.pid = int(m.group(1))
        threading.Thread(target=lambda: self.lines.extend(self.dt.stderr), daemon=True).start()

    def stop_capture(self):
        """End the capture, python3 running on; dhat-trace's exit status."""
        self.dt.send_signal(signal.SIGINT)
        return self.dt.wait(timeout=120)

    def finish(self):
        self.pystdin.close()
        if self.py:
            self.py.wait(timeout=30)


def addr2line(pid, addrs):
    """{address: function name or None} from eu-addr2line on the live process,
    at address - 1: frames are return addresses, the call is just before."""
    r = subprocess.run(["eu-addr2line", f"--pid={pid}", "-f"] +
                       [hex(a - 1) for a in addrs], capture_output=True, text=True, timeout=120)
    out = r.stdout.splitlines()
    if r.returncode != 0 or len(out) != 2 * len(addrs):
        raise RuntimeError(f"eu-addr2line: {r.returncode} {len(out)} lines: {r.stderr[-500:]}")
    return {a: (None if out[2 * i] == "??" else out[2 * i]) for i, a in enumerate(addrs)}


def bare(name):
    """A symbol without its version (__libc_start_main@@GLIBC_2.34)."""
    return name.split("@")[0]


def check(label, run, out, held):
    d = json.load(open(out))
    x = d["dhatTrace"]
    c.check(run.dynload >= 20, f"{label}: python3 has >= 20 extension modules mapped",
            str(run.dynload))
    c.check(x["truncated_no_table"] == 0 and x["truncated_load_window"] == 0,
            f"{label}: no stack ends at a library without its table",
            f"no table {x['truncated_no_table']}, window {x['truncated_load_window']}")
    if held:
        c.check(x["loader_loads"] >= 20 and x["loader_loads_held"] == x["loader_loads"],
                f"{label}: every load held until its tables were built",
                f"{x['loader_loads_held']} of {x['loader_loads']}")
    frames, lines = {}, set()
    bad = []
    for f in d["ftbl"][1:]:
        m = FRAME.match(f)
        if not m or (m.group(2) == "???" and not m.group(3)):
            bad.append(f)
            continue
        addr = int(m.group(1), 16)
        frames.setdefault(addr, set()).add(m.group(2))
        if not m.group(3) and m.group(2) != "???":
            lines.add(addr)     # named from debug information (file:line)
    c.check(x["frames_without_module"] == 0 and not bad, f"{label}: every frame has a module",
            f"{x['frames_without_module']} {bad[:5]}")
    mods = {m.group(3) for m in map(FRAME.match, d["ftbl"][1:])
            if m and m.group(3) and "/lib-dynload/" in m.group(3)}
    # Small objects come from CPython's own arenas, not malloc: only some
    # modules' own code calls malloc.
    c.check(len(mods) >= (15 if held else 5),
            f"{label}: stacks run through the extension modules' own code", str(len(mods)))
    names = addr2line(run.pid, sorted(frames))
    # Where both read the object's symbol table the names are the same; from
    # debug information eu-addr2line gives the DWARF name (__GI_setlocale,
    # "f inlined at ... in g") where dhat-trace gives the symbol (setlocale)
    # and each inlined function as a frame: there it must only be named.
    wrong = [(hex(a), want, sorted(frames[a])) for a, want in names.items()
             if want and (frames[a] == {"???"} or
                          (a not in lines and bare(want) not in map(bare, frames[a])))]
    named = sum(1 for w in names.values() if w)
    c.check(named >= 100 and not wrong,
            f"{label}: every frame eu-addr2line names has that name ({named} of {len(names)})",
            str(wrong[:10]))
    site = [pp for pp in d["pps"] if pp["tbk"] == 1000 and pp["tb"] == 1000 * 4097]
    c.check(len(site) == 1 and
            any(": PyByteArray_" in d["ftbl"][i] for i in site[0]["fs"]),
            f"{label}: bytearray(4096) x 1000 is one site, through PyByteArray_*",
            "\n".join(d["ftbl"][i] for i in site[0]["fs"][:8]) if site else "no such site")


def main():
    if not os.path.exists(PY) or subprocess.run(["eu-addr2line", "--version"],
                                                capture_output=True).returncode:
        print("# Debian's python3 and eu-addr2line (elfutils) are needed: ./dev.sh installs them")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for label, attach in (("launched", False), ("attached", True)):
            out = os.path.join(tmp, label + ".json")
            run = Run(out, attach)
            try:
                rc = run.stop_capture()
                if c.check(rc == 0 and os.path.exists(out), f"{label}: capture written",
                           "".join(run.lines)[-3000:]):
                    check(label, run, out, not attach)
            finally:
                run.finish()
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
