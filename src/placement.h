/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_PLACEMENT_H
#define DT_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

/* Where a function's uprobe goes, and why (for -v). */
struct placement {
	size_t skip;		/* bytes past the function's entry */
	char insn[64];		/* the probed instruction, AT&T syntax */
	char why[160];
};

/*
 * Decide from the function's machine code (code[0..len), len its size from
 * the symbol table) where its probe costs least while seeing the call
 * exactly as at the entry: the first nargs argument registers, the stack
 * pointer (the return address at [sp]) and rbp (the caller's frame)
 * untouched.  len 0 (size unknown): the entry.  addr: the function's
 * address, for the text.  x86-64 only.
 */
void placement__decide(const uint8_t *code, size_t len, uint64_t addr, unsigned int nargs,
		       struct placement *out);

#endif
