/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_BLOCKS_H
#define DT_BLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A live heap block.  Address 0 is never a block. */
struct dt_block {
	uint64_t addr;
	uint64_t size;		/* as DHAT counts it: a 0-byte request is 1 */
	/*
	 * ns, tracer clock.  Kept to tell a block born during a realloc call
	 * from the one that call resized, and exact only where that needs
	 * it: for blocks allocated within 2^34 ns (17 s) of the newest one.
	 * An older block may read back as born later than it was, but still
	 * 17 s or more before the newest allocation.  Lifetimes are not
	 * computed from it (see pps.h).
	 */
	uint64_t t_alloc;
	uint32_t pp;
	uint32_t pad;
};

struct blocks;

struct blocks *blocks__new(void);
void blocks__free(struct blocks *b);
/* Insert a block; -EEXIST (and nothing changes) if the address is live,
 * -EINVAL for address 0, -ENOMEM. */
int blocks__insert(struct blocks *b, const struct dt_block *blk);
/* Copy the block at addr to *out; false if none. */
bool blocks__get(const struct blocks *b, uint64_t addr, struct dt_block *out);
/* Remove the block at addr, copying it to *out (may be NULL); false if none. */
bool blocks__take(struct blocks *b, uint64_t addr, struct dt_block *out);
size_t blocks__count(const struct blocks *b);
/* Blocks the packed encoding could not hold (kept at twice the cost). */
size_t blocks__unpacked(const struct blocks *b);
/* Bytes the table holds now, and the most it held at once. */
size_t blocks__mem_bytes(const struct blocks *b);
/* What blocks__mem_bytes would be once blk is inserted: the growth it would
 * set off, so that a memory cap can refuse a block before the table grows
 * (the rare regrowth at the table's end aside). */
size_t blocks__mem_after_insert(const struct blocks *b, const struct dt_block *blk);
size_t blocks__peak_bytes(const struct blocks *b);

#endif
