// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * placement__decide on arbitrary machine code: the bytes come from an
 * allocator in a file the traced process (maybe a container) controls.
 * Input: one byte for the number of argument registers to keep, then the
 * function's code, all of it inside its symbol's size.  libFuzzer and the
 * replay driver both hand over a buffer of exactly size bytes, so ASan sees
 * a read past the function's end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "placement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct placement pl;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	placement__decide(data + 1, len, 0x401000, data[0] % 8, &pl);
	/* The probe stays inside the function; the texts are terminated. */
	if ((pl.skip && pl.skip >= len) || strnlen(pl.insn, sizeof(pl.insn)) == sizeof(pl.insn) ||
	    strnlen(pl.why, sizeof(pl.why)) == sizeof(pl.why) || !pl.why[0])
		abort();
	return 0;
}
