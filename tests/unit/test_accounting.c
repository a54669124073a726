// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/* Raw ring-buffer records in, DHAT numbers out. */
#include <string.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "accounting.h"
#include "tap.h"

static struct acct *a;

static void stack(uint64_t id, uint64_t ip)
{
	struct dt_rec_stack s = { .kind = DT_REC_STACK, .nr_frames = 1, .stack_id = id };

	s.ips[0] = ip;
	acct__handle(a, &s, DT_REC_STACK_HDR + 8);
}

static void alloc(uint64_t ts, uint64_t addr, uint64_t size, uint64_t stack)
{
	struct dt_rec_alloc r = { DT_REC_ALLOC, DT_FN_MALLOC, ts, addr, size, stack };

	acct__handle(a, &r, sizeof(r));
}

static void release(uint64_t ts, uint64_t addr)
{
	struct dt_rec_free r = { DT_REC_FREE, DT_FN_FREE, ts, addr };

	acct__handle(a, &r, sizeof(r));
}

static void resize(uint64_t ts, uint64_t old, uint64_t addr, uint64_t size, uint64_t stack,
		   uint64_t t_entry)
{
	struct dt_rec_realloc r = { DT_REC_REALLOC, DT_FN_REALLOC, ts, addr, size, stack, old,
				    t_entry };

	acct__handle(a, &r, sizeof(r));
}

static struct dt_pp *pp_of(uint64_t stack_id)
{
	return pps__get(acct__pps(a), (uint32_t)stacks__lookup(acct__stacks(a), stack_id));
}

static void on_cap(void *ctx)
{
	(*(int *)ctx)++;
}

/*
 * --max-memory: past the cap, blocks and stacks are counted, not tracked;
 * the tracked ones keep exact numbers, and room made by frees is used again.
 */
static void test_cap(void)
{
	const uint64_t cap = 1 << 20;
	uint64_t i, n = 100000, kept;
	const struct dt_loss *l;
	struct dt_pp *s1;
	int told = 0;

	a = acct__new(0);
	acct__set_max_memory(a, cap, on_cap, &told);
	stack(0x11, 0x401000);
	for (i = 0; i < n; i++)
		alloc(10 + i, 0x100000 + i * 16, 48, 0x11);
	l = acct__loss(a);
	s1 = pp_of(0x11);
	kept = s1->tbk;
	ok(kept > 10000 && kept < n, "cap: some blocks tracked (%llu of %llu)",
	   (unsigned long long)kept, (unsigned long long)n);
	ok(acct__tables_bytes(a) <= cap, "cap: the tables stay within it (%zu)",
	   acct__tables_bytes(a));
	is_u64(l->capped_blocks, n - kept, "cap: the others counted");
	is_u64(l->capped_bytes, (n - kept) * 48, "cap: and their bytes");
	is_u64(s1->tb, kept * 48, "cap: site totals are the tracked blocks'");
	is_u64(s1->curr_bk, kept, "cap: live blocks, the tracked ones");
	is_u64(told, 1, "cap: said once");
	ok(acct__capped(a), "cap: marked");
	/* New stacks are kept while their tables need not grow, then not. */
	for (i = 0; i < 400; i++)
		stack(0x1000 + i, 0x403000 + i);
	ok(l->capped_stacks > 0 && l->capped_stacks < 400, "cap: stacks past it counted (%llu)",
	   (unsigned long long)l->capped_stacks);
	alloc(200000, 0x900000, 8, 0x1000 + 399);	/* at one of them: capped, not at PP 0 */
	is_u64(l->unknown_stacks, 0, "cap: its blocks are not 'without stack'");
	is_u64(l->capped_blocks, n - kept + 1, "cap: its block counted capped");
	for (i = 0; i < n; i++)
		release(300000 + i, 0x100000 + i * 16);
	is_u64(l->unknown_frees, n - kept, "cap: frees of untracked blocks are unknown frees");
	alloc(500000, 0x800000, 100, 0x11);	/* room again */
	is_u64(s1->tbk, kept + 1, "cap: room made by frees is used again");
	is_u64(s1->curr_b, 100, "cap: live bytes exact");
	acct__finish(a, 600000);
	is_u64(s1->gb, kept * 48, "cap: t-gmax of the tracked blocks");
	is_u64(told, 1, "cap: still said once");
	acct__free(a);
}

int main(void)
{
	const struct dt_loss *l;
	struct dt_pp *s1, *s2;
	uint32_t kind = 99;

	a = acct__new(1000);
	stack(0x11, 0x401000);
	stack(0x22, 0x402000);
	alloc(1100, 0xa000, 0, 0x11);		/* malloc(0) counts as 1 byte */
	alloc(1200, 0xb000, 100, 0x11);
	resize(1300, 0xb000, 0xc000, 400, 0x22, 1250);	/* moves; stays at site 1 */
	resize(1400, 0xc000, 0xc000, 40, 0x22, 1350);	/* shrinks in place */
	alloc(1500, 0xd000, 8, 0x22);
	release(1600, 0xd000);
	release(1700, 0xdead);			/* allocated before attach */
	resize(1800, 0xbeef, 0xe000, 16, 0x22, 1750);	/* realloc of a pre-attach block */
	alloc(1900, 0xa000, 5, 0x22);		/* live address reused: a free was lost */
	resize(2000, 0xe000, 0, 0, 0x22, 1950);	/* realloc(p, 0) frees p */
	resize(2100, 0xc000, 0, 999, 0x22, 2050);	/* failed realloc changes nothing */
	alloc(2200, 0xf000, 4, 0x77);		/* stack record never arrived */
	acct__handle(a, &kind, sizeof(kind));	/* garbage */
	acct__finish(a, 3000);

	s1 = pp_of(0x11);
	s2 = pp_of(0x22);
	l = acct__loss(a);
	is_u64(s1->tb, 1 + 100 + 400 + 40, "site 1 total bytes (realloc charged to the original site)");
	is_u64(s1->tbk, 4, "site 1 total blocks");
	is_u64(s1->curr_b, 40, "site 1 live bytes at t-end (malloc(0) block displaced)");
	is_u64(s1->curr_bk, 1, "site 1 live blocks at t-end");
	is_u64(s1->gb, 401, "site 1 at t-gmax (after the growing realloc)");
	is_u64(s2->tb, 8 + 16 + 5, "site 2 total bytes");
	is_u64(s2->curr_b, 5, "site 2 live at t-end");
	is_u64(pps__get(acct__pps(a), 0)->tb, 4, "unknown stack goes to PP 0");
	is_u64(l->unknown_frees, 1, "free of a pre-attach block counted");
	is_u64(l->unknown_reallocs, 1, "realloc of a pre-attach block counted");
	is_u64(l->displaced, 1, "allocation at a live address counted");
	is_u64(l->unknown_stacks, 1, "missing stack record counted");
	is_u64(l->bad_records, 1, "malformed record counted");
	is_u64(pps__totals(acct__pps(a))->max_b, 401, "peak");
	is_u64(s1->tl, (1900 - 1100) + (3000 - 1200),
	       "site 1 lifetimes: displaced block until its eviction, realloc'd block until t-end");
	acct__free(a);

	/* The realloc race: T1 realloc(0xb000) moves the block; before its
	 * return is recorded, T2's malloc gets 0xb000. */
	a = acct__new(0);
	stack(0x11, 0x401000);
	stack(0x22, 0x402000);
	alloc(100, 0xb000, 100, 0x11);
	alloc(300, 0xb000, 7, 0x22);		/* T2, at 300: the old address */
	resize(400, 0xb000, 0xc000, 200, 0x11, 250);	/* T1 entered at 250 */
	acct__finish(a, 1000);
	s1 = pp_of(0x11);
	s2 = pp_of(0x22);
	l = acct__loss(a);
	is_u64(s1->curr_b, 200, "race: the realloc'd block is live at its new address");
	is_u64(s1->curr_bk, 1, "race: one block at site 1");
	is_u64(s1->tb, 300, "race: totals count the realloc once");
	is_u64(s1->tbk, 2, "race: two blocks in total");
	is_u64(s2->curr_b, 7, "race: T2's block is untouched");
	is_u64(l->displaced, 0, "race: not reported as a lost free");
	is_u64(l->realloc_races, 1, "race: counted as resolved");
	is_u64(s1->tl, 1000 - 100, "race: lifetime runs from the first allocation");
	acct__free(a);

	/* A call inside malloc when tracing stopped returns after t_end: the
	 * capture ends with it, never with a negative lifetime. */
	a = acct__new(0);
	stack(0x11, 0x401000);
	alloc(100, 0xb000, 10, 0x11);
	alloc(1200, 0xc000, 20, 0x11);
	is_u64(acct__finish(a, 1000), 1200, "t-end moves to the newest record");
	is_u64(pp_of(0x11)->tl, 1200 - 100, "late block: lifetime 0, not negative");
	acct__free(a);

	test_cap();
	return tap_done();
}
