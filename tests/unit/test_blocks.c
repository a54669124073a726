// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <stdlib.h>
#include "blocks.h"
#include "tap.h"

#define N 200000

int main(void)
{
	struct blocks *b = blocks__new();
	struct dt_block blk = {}, out;
	uint64_t i, bad = 0;

	ok(b != NULL, "table created");
	for (i = 1; i <= N; i++) {
		blk.addr = 0x7f0000000000ULL + i * 16;
		blk.size = i;
		blk.pp = (uint32_t)(i % 7);
		if (blocks__insert(b, &blk))
			bad++;
	}
	is_u64(bad, 0, "%d inserts succeed", N);
	is_u64(blocks__count(b), N, "count after inserts");
	blk.addr = 0x7f0000000000ULL + 16;
	ok(blocks__insert(b, &blk) == -17 /* -EEXIST */, "inserting a live address is refused");
	blk.addr = 0;
	ok(blocks__insert(b, &blk) != 0, "address 0 is refused");
	/* Remove every other block, then check that every survivor is found:
	 * backward-shift deletion must not break probe runs. */
	for (i = 1; i <= N; i += 2)
		if (!blocks__take(b, 0x7f0000000000ULL + i * 16, &out) || out.size != i)
			bad++;
	is_u64(bad, 0, "take returns the block that was stored");
	is_u64(blocks__count(b), N / 2, "count after removals");
	for (i = 1; i <= N; i++) {
		struct dt_block *f = blocks__find(b, 0x7f0000000000ULL + i * 16);

		if ((i % 2) ? f != NULL : (!f || f->size != i || f->pp != i % 7))
			bad++;
	}
	is_u64(bad, 0, "survivors found, removed ones gone");
	ok(!blocks__take(b, 0x1234, NULL), "taking an unknown address fails");
	/* Grown at 70 % load, so at most 1/0.35 slots per block at the peak. */
	ok(blocks__mem_bytes(b) <= 3 * sizeof(struct dt_block) * (size_t)N,
	   "table memory within 3 slots per peak block");
	blocks__free(b);
	return tap_done();
}
