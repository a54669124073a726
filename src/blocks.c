// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Live blocks keyed by address: open addressing, linear probing and
 * backward-shift deletion (no tombstones, so a table that sees billions of
 * malloc/free pairs never degrades).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "blocks.h"

struct blocks {
	struct dt_block *slots;
	size_t mask;
	size_t count;
};

static size_t slot_of(const struct blocks *b, uint64_t addr)
{
	/* Heap addresses share low bits (alignment) and high bits (arena). */
	uint64_t h = (addr >> 4) * 0x9E3779B97F4A7C15ULL;

	return (size_t)(h >> 20) & b->mask;
}

struct blocks *blocks__new(void)
{
	struct blocks *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->mask = 1024 - 1;
	b->slots = calloc(b->mask + 1, sizeof(*b->slots));
	if (!b->slots) {
		free(b);
		return NULL;
	}
	return b;
}

void blocks__free(struct blocks *b)
{
	if (!b)
		return;
	free(b->slots);
	free(b);
}

static void place(struct blocks *b, const struct dt_block *blk)
{
	size_t i = slot_of(b, blk->addr);

	while (b->slots[i].addr)
		i = (i + 1) & b->mask;
	b->slots[i] = *blk;
}

static int grow(struct blocks *b)
{
	struct dt_block *old = b->slots;
	size_t n = b->mask + 1, i;

	b->slots = calloc(n * 2, sizeof(*b->slots));
	if (!b->slots) {
		b->slots = old;
		return -ENOMEM;
	}
	b->mask = n * 2 - 1;
	for (i = 0; i < n; i++)
		if (old[i].addr)
			place(b, &old[i]);
	free(old);
	return 0;
}

int blocks__insert(struct blocks *b, const struct dt_block *blk)
{
	int err;

	if (!blk->addr)
		return -EINVAL;
	if (blocks__find(b, blk->addr))
		return -EEXIST;
	if ((b->count + 1) * 10 > (b->mask + 1) * 7) {
		err = grow(b);
		if (err)
			return err;
	}
	place(b, blk);
	b->count++;
	return 0;
}

struct dt_block *blocks__find(struct blocks *b, uint64_t addr)
{
	size_t i = slot_of(b, addr);

	if (!addr)
		return NULL;
	while (b->slots[i].addr) {
		if (b->slots[i].addr == addr)
			return &b->slots[i];
		i = (i + 1) & b->mask;
	}
	return NULL;
}

bool blocks__take(struct blocks *b, uint64_t addr, struct dt_block *out)
{
	struct dt_block *s = blocks__find(b, addr);
	size_t i, j, home;

	if (!s)
		return false;
	if (out)
		*out = *s;
	i = (size_t)(s - b->slots);
	/* Shift later members of the probe run back over the hole. */
	for (j = (i + 1) & b->mask; b->slots[j].addr; j = (j + 1) & b->mask) {
		home = slot_of(b, b->slots[j].addr);
		if (((j - home) & b->mask) >= ((j - i) & b->mask)) {
			b->slots[i] = b->slots[j];
			i = j;
		}
	}
	memset(&b->slots[i], 0, sizeof(b->slots[i]));
	b->count--;
	return true;
}

size_t blocks__count(const struct blocks *b)
{
	return b->count;
}

size_t blocks__mem_bytes(const struct blocks *b)
{
	return (b->mask + 1) * sizeof(*b->slots);
}

void blocks__for_each(struct blocks *b, void (*fn)(const struct dt_block *, void *), void *ctx)
{
	size_t i;

	for (i = 0; i <= b->mask; i++)
		if (b->slots[i].addr)
			fn(&b->slots[i], ctx);
}
