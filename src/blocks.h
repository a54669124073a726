/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_BLOCKS_H
#define DT_BLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A live heap block.  Address 0 is never a block (it marks empty slots). */
struct dt_block {
	uint64_t addr;
	uint64_t size;		/* as DHAT counts it: a 0-byte request is 1 */
	uint64_t t_alloc;	/* ns, tracer clock */
	uint32_t pp;
	uint32_t pad;
};

struct blocks;

struct blocks *blocks__new(void);
void blocks__free(struct blocks *b);
/* Insert a block; -EEXIST (and nothing changes) if the address is live. */
int blocks__insert(struct blocks *b, const struct dt_block *blk);
struct dt_block *blocks__find(struct blocks *b, uint64_t addr);
/* Remove the block at addr, copying it to *out; false if none. */
bool blocks__take(struct blocks *b, uint64_t addr, struct dt_block *out);
size_t blocks__count(const struct blocks *b);
size_t blocks__mem_bytes(const struct blocks *b);
void blocks__for_each(struct blocks *b, void (*fn)(const struct dt_block *, void *), void *ctx);

#endif
