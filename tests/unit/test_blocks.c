// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/* The live-block table: exact round trips through the packed slots and the
 * side table for what does not pack, deletion, growth, memory per block. */
#include <stdlib.h>
#include "blocks.h"
#include "tap.h"

#define N 200000

static uint64_t rng = 42;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static int same(const struct dt_block *a, const struct dt_block *b)
{
	return a->addr == b->addr && a->size == b->size && a->t_alloc == b->t_alloc &&
	       a->pp == b->pp;
}

/* Values the packing cannot hold must come back intact too. */
static void limits(void)
{
	static const struct dt_block odd[] = {
		{ .addr = 0x7f0000001001ULL, .size = 8, .t_alloc = 5, .pp = 1 },	/* unaligned */
		{ .addr = 0x7f0000002004ULL, .size = 8, .t_alloc = 5, .pp = 1 },	/* 4-aligned */
		{ .addr = 1ULL << 47, .size = 8, .t_alloc = 5, .pp = 1 },		/* above 2^47 */
		{ .addr = 0xfffffffffffffff0ULL, .size = 8, .t_alloc = 5, .pp = 1 },
		{ .addr = 0x10000, .size = 1ULL << 24, .t_alloc = 5, .pp = 1 },	/* 16 MiB */
		{ .addr = 0x20000, .size = 1ULL << 48, .t_alloc = 5, .pp = 1 },
		{ .addr = 0x30000, .size = UINT64_MAX, .t_alloc = 5, .pp = 1 },
		{ .addr = 0x40000, .size = 8, .t_alloc = 5, .pp = 1U << 24 },	/* many sites */
		{ .addr = 0x50000, .size = 8, .t_alloc = 5, .pp = UINT32_MAX },
		{ .addr = 0x60000, .size = (1ULL << 24) - 1, .t_alloc = 5,
		  .pp = (1U << 24) - 1 },						/* largest packed */
		{ .addr = (1ULL << 47) - 8, .size = 1, .t_alloc = 5, .pp = 0 },
		{ .addr = 8, .size = 1, .t_alloc = 5, .pp = 0 },
	};
	struct blocks *b = blocks__new();
	struct dt_block out, blk;
	size_t i, bad = 0;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		if (blocks__insert(b, &odd[i]))
			bad++;
	is_u64(bad, 0, "blocks at the packing limits are all accepted");
	is_u64(blocks__unpacked(b), 9, "those beyond the limits go to the side table");
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		if (!blocks__get(b, odd[i].addr, &out) || !same(&out, &odd[i]))
			bad++;
	is_u64(bad, 0, "and come back exactly");
	blk = (struct dt_block){ .addr = 0x10000, .size = 8, .t_alloc = 6 };
	ok(blocks__insert(b, &blk) == -17, "a small block at an oversized one's address is refused");
	blk = (struct dt_block){ .addr = 0x60000, .size = 1ULL << 30, .t_alloc = 6 };
	ok(blocks__insert(b, &blk) == -17, "a big block at a packed one's address is refused");
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		if (!blocks__take(b, odd[i].addr, &out) || !same(&out, &odd[i]))
			bad++;
	is_u64(bad, 0, "taken back exactly");
	is_u64(blocks__count(b), 0, "table empty again");
	blocks__free(b);
}

/* Random inserts and removals against a plain array. */
#define M 50000

static void model(void)
{
	static struct dt_block ref[M];
	static char live[M];
	struct blocks *b = blocks__new();
	struct dt_block out;
	size_t i, k, n = 0, bad = 0, count_bad = 0;

	for (i = 0; i < M; i++) {
		uint64_t r = rnd();

		/* Mostly heap-like addresses, some anywhere, some unaligned. */
		ref[i].addr = r % 10 < 7 ? 0x555555a00000ULL + i * 48 :
			      r % 10 < 9 ? (rnd() & ((1ULL << 47) - 16)) | 16 : rnd() | 1;
		ref[i].size = r % 100 ? 1 + rnd() % 4096 : rnd();
		ref[i].pp = r % 50 ? (uint32_t)(rnd() % 100000) : (uint32_t)rnd();
	}
	for (k = 0; k < 20 * M; k++) {
		i = rnd() % M;
		if (live[i]) {
			if (!blocks__take(b, ref[i].addr, &out) || !same(&out, &ref[i]))
				bad++;
			live[i] = 0;
			n--;
		} else {
			ref[i].t_alloc = 1000 + k;
			if (blocks__insert(b, &ref[i]))
				bad++;
			live[i] = 1;
			n++;
		}
		if (blocks__count(b) != n)
			count_bad++;
	}
	for (i = 0; i < M; i++)
		if (live[i] != blocks__get(b, ref[i].addr, &out) || (live[i] && !same(&out, &ref[i])))
			bad++;
	is_u64(bad, 0, "a million random inserts and takes agree with a plain array");
	is_u64(count_bad, 0, "count always right");
	blocks__free(b);
}

/* Allocation times: exact for the recent past, and an old block never reads
 * as born later than 2^34 ns before the newest allocation. */
static void times(void)
{
	struct blocks *b = blocks__new();
	struct dt_block old = { .addr = 0x1000, .size = 1, .t_alloc = 100 }, out;
	struct dt_block blk = { .size = 1 };
	uint64_t t = 100, bad = 0, i;

	blocks__insert(b, &old);
	for (i = 1; i <= 1000; i++) {
		t += 1ULL << 30;	/* about a second apart: many rebases */
		blk.addr = 0x2000 + i * 16;
		blk.t_alloc = t;
		blocks__insert(b, &blk);
	}
	for (i = 1000; i > 1000 - 16; i--)
		if (!blocks__get(b, 0x2000 + i * 16, &out) ||
		    out.t_alloc != 100 + i * (1ULL << 30))
			bad++;
	is_u64(bad, 0, "recent allocation times exact across rebases");
	ok(blocks__get(b, 0x1000, &out) && out.t_alloc >= 100 && out.t_alloc <= t - (1ULL << 34),
	   "an old block reads as old");
	blocks__free(b);
}

int main(void)
{
	struct blocks *b = blocks__new();
	struct dt_block blk = {}, out;
	uint64_t i, bad = 0, worst = 0;

	ok(b != NULL, "table created");
	for (i = 1; i <= N; i++) {
		blk.addr = 0x7f0000000000ULL + i * 16;
		blk.size = i;
		blk.pp = (uint32_t)(i % 7);
		blk.t_alloc = 1000 + i;
		if (blocks__insert(b, &blk))
			bad++;
		/* Growth by half at 85 % load: 16 * 1.5 / 0.85 B plus the tail. */
		if (i > 100000 && blocks__mem_bytes(b) * 1000 / i > worst)
			worst = blocks__mem_bytes(b) * 1000 / i;
	}
	is_u64(bad, 0, "%d inserts succeed", N);
	is_u64(blocks__count(b), N, "count after inserts");
	ok(worst <= 28500, "at most 28.5 bytes per live block while growing (%.1f)",
	   (double)worst / 1000);
	ok(blocks__peak_bytes(b) >= blocks__mem_bytes(b), "peak bytes kept");
	blk.addr = 0x7f0000000000ULL + 16;
	ok(blocks__insert(b, &blk) == -17 /* -EEXIST */, "inserting a live address is refused");
	blk.addr = 0;
	ok(blocks__insert(b, &blk) != 0, "address 0 is refused");
	/* Remove every other block, then check that every survivor is found:
	 * backward-shift deletion must not break probe runs. */
	for (i = 1; i <= N; i += 2)
		if (!blocks__take(b, 0x7f0000000000ULL + i * 16, &out) || out.size != i ||
		    out.t_alloc != 1000 + i)
			bad++;
	is_u64(bad, 0, "take returns the block that was stored");
	is_u64(blocks__count(b), N / 2, "count after removals");
	for (i = 1; i <= N; i++) {
		bool f = blocks__get(b, 0x7f0000000000ULL + i * 16, &out);

		if ((i % 2) ? f : (!f || out.size != i || out.pp != i % 7))
			bad++;
	}
	is_u64(bad, 0, "survivors found, removed ones gone");
	ok(!blocks__take(b, 0x1234, NULL), "taking an unknown address fails");
	ok(!blocks__get(b, 0, &out), "address 0 is never found");
	blocks__free(b);
	limits();
	model();
	times();
	return tap_done();
}
