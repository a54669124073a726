// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Turns the record stream into DHAT's numbers: live blocks by address,
 * interned stacks, per-PP counters.  Pure: no BPF, no process, so that it can
 * be fed records by unit tests and (later) by a replay file.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "accounting.h"

/*
 * Blocks evicted by an allocation at their (still live) address.  Either
 * their free was lost, or a realloc moved them and another thread got the
 * old address before the realloc's return was recorded; in the second case
 * the realloc record arrives later and claims the block back from here.
 */
#define NR_ZOMBIES 256

struct zombie {
	struct dt_block blk;
	uint64_t t_evicted;
};

struct acct {
	struct blocks *blocks;
	struct stacks *stacks;
	struct pps *pps;
	uint64_t t0;
	uint64_t t_last;	/* newest record's timestamp */
	uint64_t events;
	struct dt_loss loss;
	struct zombie zombies[NR_ZOMBIES];
	unsigned int next_zombie;
	dt_translate_fn translate;
	void *translate_ctx;
	dt_complete_fn complete;
	void *complete_ctx;
	uint32_t execs_to_skip;
	uint64_t exec_ts;	/* the program was replaced then: the capture ends there */
	struct pps *live;	/* during a snapshot: the real sites (pps is the copy) */
	void (*on_fork)(void *ctx, pid_t child);
	void *on_fork_ctx;
	uint64_t max_mem;	/* --max-memory; 0: no cap */
	size_t sites_bytes;	/* stacks and sites, counted as if each stack had its site */
	bool capped;
	void (*on_cap)(void *ctx);
	void *on_cap_ctx;
};

struct acct *acct__new(uint64_t t0)
{
	struct acct *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->t0 = t0;
	a->blocks = blocks__new();
	a->stacks = stacks__new();
	a->pps = pps__new();
	if (!a->blocks || !a->stacks || !a->pps || !pps__get(a->pps, 0)) {
		acct__free(a);
		return NULL;
	}
	return a;
}

void acct__free(struct acct *a)
{
	if (!a)
		return;
	blocks__free(a->blocks);
	stacks__free(a->stacks);
	pps__free(a->pps);
	free(a);
}

static uint64_t since(uint64_t t, uint64_t t0)
{
	return t > t0 ? t - t0 : 0;
}

/*
 * The site of stack_id's allocations in *idx; -ENOSPC when that stack may be
 * one the memory cap did not keep: its blocks are then not tracked rather
 * than put at the "no stack" site.
 */
static int site_of(struct acct *a, uint64_t stack_id, uint32_t *idx)
{
	int i = stack_id ? stacks__lookup(a->stacks, stack_id) : 0;

	if (i < 0) {
		if (a->loss.capped_stacks)
			return -ENOSPC;
		a->loss.unknown_stacks++;
		i = 0;
	}
	*idx = (uint32_t)i;
	return 0;
}

static void hit_cap(struct acct *a)
{
	if (a->capped)
		return;
	a->capped = true;
	if (a->on_cap)
		a->on_cap(a->on_cap_ctx);
}

/* Would keeping b take the tables past the cap?  A block at a live address
 * replaces it (a free was lost) and costs nothing. */
static bool no_room(struct acct *a, const struct dt_block *b)
{
	struct dt_block live;

	if (!a->max_mem || blocks__mem_after_insert(a->blocks, b) + a->sites_bytes <= a->max_mem)
		return false;
	return !blocks__get(a->blocks, b->addr, &live);
}

static void refuse(struct acct *a, uint64_t size)
{
	a->loss.capped_blocks++;
	a->loss.capped_bytes += size;
	hit_cap(a);
}

static void retire(struct acct *a, const struct dt_block *b, uint64_t ts)
{
	struct dt_pp *pp = pps__get(a->pps, b->pp);

	pps__free_block(a->pps, pp, b->size, since(ts, a->t0));
}

static int insert(struct acct *a, const struct dt_block *b, uint64_t ts)
{
	struct dt_block old;
	struct zombie *z;
	int err = blocks__insert(a->blocks, b);

	if (err == -EEXIST) {
		blocks__take(a->blocks, b->addr, &old);
		retire(a, &old, ts);
		a->loss.displaced++;
		z = &a->zombies[a->next_zombie++ % NR_ZOMBIES];
		z->blk = old;
		z->t_evicted = ts;
		err = blocks__insert(a->blocks, b);
	}
	/* Out of memory: the block stays counted live at its site, and its
	 * free will look like one of a block never seen allocated. */
	if (err)
		a->loss.untracked++;
	return err;
}

static void on_alloc(struct acct *a, const struct dt_rec_alloc *r)
{
	struct dt_block b = { .addr = r->addr, .size = r->size ? r->size : 1, .t_alloc = r->ts };
	struct dt_pp *pp;

	if (site_of(a, r->stack_id, &b.pp) || no_room(a, &b)) {
		refuse(a, b.size);
		return;
	}
	pp = pps__get(a->pps, b.pp);
	if (!pp) {
		a->loss.untracked++;
		return;
	}
	pps__alloc(a->pps, pp, b.size, since(r->ts, a->t0));
	insert(a, &b, r->ts);
}

static void on_free(struct acct *a, const struct dt_rec_free *r)
{
	struct dt_block b;

	if (!blocks__take(a->blocks, r->addr, &b)) {
		a->loss.unknown_frees++;
		return;
	}
	retire(a, &b, r->ts);
}

/* The evicted block a racing realloc resized, if any; it leaves the list. */
static int claim_zombie(struct acct *a, uint64_t addr, uint64_t t_entry, struct zombie *out)
{
	unsigned int i;

	for (i = 0; i < NR_ZOMBIES; i++) {
		struct zombie *z = &a->zombies[i];

		if (z->blk.addr == addr && z->blk.t_alloc <= t_entry && z->t_evicted >= t_entry) {
			*out = *z;
			memset(z, 0, sizeof(*z));
			return 0;
		}
	}
	return -ENOENT;
}

static void on_realloc(struct acct *a, const struct dt_rec_realloc *r)
{
	uint64_t size = r->size ? r->size : 1;
	struct dt_block b, nb = { .addr = r->addr, .size = size };
	bool cur = blocks__take(a->blocks, r->old_addr, &b);
	struct dt_pp *pp;
	struct zombie z;

	/* A block at old_addr born after this call began is someone else's;
	 * a failed call changed nothing.  Either way it goes back. */
	if (cur && (b.t_alloc > r->t_entry || (!r->addr && r->size))) {
		blocks__insert(a->blocks, &b);
		cur = false;
	}
	if (!r->addr) {
		/* realloc(p, 0) freed p (glibc, and DHAT 3.19); a nested free()
		 * may have reported it already. */
		if (cur)
			retire(a, &b, r->ts);
		return;
	}
	/* The old block is out of the table: the new one fits, but for the
	 * table's rare regrowth at its end.  If not, the old block is gone and
	 * the new one is not tracked. */
	if (cur && no_room(a, &nb)) {
		retire(a, &b, r->ts);
		refuse(a, size);
		return;
	}
	if (cur) {
		pp = pps__get(a->pps, b.pp);
		pps__resize(a->pps, pp, b.size, size, since(r->ts, a->t0));
	} else if (no_room(a, &nb)) {
		/* The old block, if we knew it, was counted freed when another
		 * block took its address. */
		refuse(a, size);
		return;
	} else if (!claim_zombie(a, r->old_addr, r->t_entry, &z)) {
		/* Its eviction counted it freed: count it back as live. */
		a->loss.displaced--;
		a->loss.realloc_races++;
		b = z.blk;
		pp = pps__get(a->pps, b.pp);
		pps__alloc(a->pps, pp, size, since(r->ts, a->t0));
		/* Undo both its eviction's death and this new birth: the block
		 * lives on from its first allocation. */
		pp->tl += since(r->ts, a->t0) - since(z.t_evicted, a->t0);
	} else {
		a->loss.unknown_reallocs++;
		if (site_of(a, r->stack_id, &b.pp)) {
			refuse(a, size);
			return;
		}
		pp = pps__get(a->pps, b.pp);
		if (!pp) {
			a->loss.untracked++;
			return;
		}
		b.t_alloc = r->ts;
		pps__alloc(a->pps, pp, size, since(r->ts, a->t0));
	}
	b.addr = r->addr;
	b.size = size;
	insert(a, &b, r->ts);
}

/* Stacks and their sites, each stack counted with its site before it has
 * one (a site is made at the first allocation). */
static size_t sites_bytes(const struct acct *a)
{
	return stacks__mem_bytes(a->stacks) +
	       pps__mem_after_get(a->pps, stacks__count(a->stacks) - 1);
}

/* The same once one more stack, of nr frames, is kept. */
static size_t sites_bytes_with(const struct acct *a, uint32_t nr)
{
	return stacks__mem_after_add(a->stacks, nr) +
	       pps__mem_after_get(a->pps, stacks__count(a->stacks));
}

static int on_stack(struct acct *a, const struct dt_rec_stack *r, size_t size)
{
	uint64_t locs[DT_MAX_FRAMES], full[DT_MAX_FRAMES];
	const uint64_t *frames = (const uint64_t *)r->ips;
	uint32_t nr = r->nr_frames;

	if (r->nr_frames > DT_MAX_FRAMES || size < DT_REC_STACK_HDR + (size_t)r->nr_frames * 8)
		return -EINVAL;
	if ((r->flags & DT_STACK_TAIL) && a->complete) {
		if (a->complete(a->complete_ctx, r, size, full, &nr))
			return -EINVAL;
		frames = full;
	}
	if (a->translate) {
		nr = a->translate(a->translate_ctx, r->epoch, frames, nr, locs);
		frames = locs;
	}
	if (a->max_mem && stacks__lookup(a->stacks, r->stack_id) < 0 &&
	    sites_bytes_with(a, nr) + blocks__mem_bytes(a->blocks) > a->max_mem) {
		a->loss.capped_stacks++;
		hit_cap(a);
		return 0;
	}
	if (stacks__add(a->stacks, r->stack_id, frames, nr) < 0)
		return -ENOMEM;
	a->sites_bytes = sites_bytes(a);
	return 0;
}

void acct__set_complete(struct acct *a, dt_complete_fn fn, void *ctx)
{
	a->complete = fn;
	a->complete_ctx = ctx;
}

void acct__set_translate(struct acct *a, dt_translate_fn fn, void *ctx)
{
	a->translate = fn;
	a->translate_ctx = ctx;
}

static inline void seen(struct acct *a, uint64_t ts)
{
	if (ts > a->t_last)
		a->t_last = ts;
}

int acct__handle(struct acct *a, const void *data, size_t size)
{
	uint32_t kind;
	int err = 0;

	if (size < sizeof(kind))
		goto bad;
	memcpy(&kind, data, sizeof(kind));
	/* Another program's records from the exec on: not this capture's. */
	if (a->exec_ts) {
		a->loss.after_exec++;
		return 0;
	}
	a->events++;
	switch (kind) {
	case DT_REC_EXEC:
		if (size < sizeof(struct dt_rec_exec))
			goto bad;
		if (a->execs_to_skip)
			a->execs_to_skip--;
		else
			a->exec_ts = ((const struct dt_rec_exec *)data)->ts;
		break;
	case DT_REC_FORK:
		if (size < sizeof(struct dt_rec_fork))
			goto bad;
		if (a->on_fork)
			a->on_fork(a->on_fork_ctx, (pid_t)((const struct dt_rec_fork *)data)->pid);
		break;
	case DT_REC_LOAD:
		/* Only a wakeup: the loop builds the new objects' tables. */
		if (size < sizeof(struct dt_rec_load))
			goto bad;
		break;
	case DT_REC_ALLOC:
		if (size < sizeof(struct dt_rec_alloc))
			goto bad;
		on_alloc(a, data);
		seen(a, ((const struct dt_rec_alloc *)data)->ts);
		break;
	case DT_REC_FREE:
		if (size < sizeof(struct dt_rec_free))
			goto bad;
		on_free(a, data);
		seen(a, ((const struct dt_rec_free *)data)->ts);
		break;
	case DT_REC_REALLOC:
		if (size < sizeof(struct dt_rec_realloc))
			goto bad;
		on_realloc(a, data);
		seen(a, ((const struct dt_rec_realloc *)data)->ts);
		break;
	case DT_REC_STACK:
		if (size < DT_REC_STACK_HDR)
			goto bad;
		err = on_stack(a, data, size);
		if (err == -EINVAL)
			goto bad;
		break;
	default:
		goto bad;
	}
	return err;
bad:
	a->loss.bad_records++;
	return -EINVAL;
}

uint64_t acct__finish(struct acct *a, uint64_t t_end)
{
	/* Calls already inside the allocator when tracing stopped are recorded
	 * after t_end: the capture ends at the last of them, or a block born
	 * then would live a negative time. */
	if (a->t_last > t_end)
		t_end = a->t_last;
	/* O(sites): live blocks' lifetimes come from the per-site sums. */
	pps__finish(a->pps, since(t_end, a->t0));
	return t_end;
}

uint64_t acct__snapshot_begin(struct acct *a, uint64_t t)
{
	struct pps *copy = pps__clone(a->pps);

	if (!copy)
		return 0;
	if (a->t_last > t)
		t = a->t_last;
	pps__finish(copy, since(t, a->t0));
	a->live = a->pps;
	a->pps = copy;
	return t;
}

void acct__snapshot_end(struct acct *a)
{
	if (!a->live)
		return;
	pps__free(a->pps);
	a->pps = a->live;
	a->live = NULL;
}

void acct__set_on_fork(struct acct *a, void (*fn)(void *ctx, pid_t child), void *ctx)
{
	a->on_fork = fn;
	a->on_fork_ctx = ctx;
}

void acct__set_max_memory(struct acct *a, uint64_t bytes, void (*fn)(void *ctx), void *ctx)
{
	a->max_mem = bytes;
	a->on_cap = fn;
	a->on_cap_ctx = ctx;
	a->sites_bytes = sites_bytes(a);
}

size_t acct__tables_bytes(const struct acct *a)
{
	return blocks__mem_bytes(a->blocks) + stacks__mem_bytes(a->stacks) +
	       pps__mem_bytes(a->pps);
}

/* Stacks and sites never shrink: their peak is now. */
size_t acct__tables_peak_bytes(const struct acct *a)
{
	return blocks__peak_bytes(a->blocks) + stacks__mem_bytes(a->stacks) +
	       pps__mem_bytes(a->pps);
}

uint64_t acct__max_memory(const struct acct *a) { return a->max_mem; }
bool acct__capped(const struct acct *a) { return a->capped; }
void acct__skip_execs(struct acct *a, uint32_t n) { a->execs_to_skip = n; }
uint64_t acct__exec_ts(const struct acct *a) { return a->exec_ts; }
uint64_t acct__t0(const struct acct *a) { return a->t0; }
uint64_t acct__events(const struct acct *a) { return a->events; }
const struct dt_loss *acct__loss(const struct acct *a) { return &a->loss; }
struct pps *acct__pps(struct acct *a) { return a->pps; }
struct stacks *acct__stacks(struct acct *a) { return a->stacks; }
struct blocks *acct__blocks(struct acct *a) { return a->blocks; }
