#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
"""noneeded.py IN.so OUT.so: the agent without its DT_NEEDED entries.

The agent is linked against libc (symbol versions, libc_nonshared, and
--no-undefined checks every name) but must not say it needs it: dlopen
runs the constructors of every object the new one needs that has not run
them yet, and a command held before its libraries' constructors
(injlaunch.c) has not run libc's.  libc's would then run early, inside our
dlopen, with the arguments dlopen passes on (libc's own __libc_argc,
__libc_argv and __environ, still empty): the program would start with no
environment.  Without the entry, ld.so binds the agent's names in the
global scope, where libc always is (the agent is loaded through libc's
dlopen), and checks its symbol versions against the loaded libc."""
import struct
import sys

DT_NULL, DT_NEEDED = 0, 1
PT_DYNAMIC = 2

src, dst = sys.argv[1], sys.argv[2]
data = bytearray(open(src, "rb").read())
if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
    sys.exit(f"{src}: not a little-endian ELF64 object")
phoff, = struct.unpack_from("<Q", data, 0x20)
phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
dyn = None
for i in range(phnum):
    p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
    if p_type == PT_DYNAMIC:
        dyn = (p_offset, p_filesz)
if dyn is None:
    sys.exit(f"{src}: no PT_DYNAMIC")
off, size = dyn
entries = [struct.unpack_from("<qQ", data, off + i * 16) for i in range(size // 16)]
kept = [e for e in entries if e[0] != DT_NEEDED]
if len(kept) == len(entries):
    sys.exit(f"{src}: no DT_NEEDED entry to drop")
kept += [(DT_NULL, 0)] * (len(entries) - len(kept))
for i, (tag, val) in enumerate(kept):
    struct.pack_into("<qQ", data, off + i * 16, tag, val)
with open(dst, "wb") as f:
    f.write(data)
