// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Live blocks keyed by address, 16 bytes a block in two machine words:
 * a million live blocks must cost well under 32 MB, load factor included.
 *
 * Ordered linear probing: blocks are sorted by the hash of their address
 * (a bijection, so equal hashes are equal addresses) and each one sits at or
 * after its home slot (the hash scaled to the capacity) with no empty slot
 * in between.  Probes stay short at 85 % load, a look-up stops at the first
 * larger hash, deletion shifts the run back (no tombstones), and growth
 * needs no second table: mremap, then spread the sorted blocks to their new
 * homes in place.  The capacity grows by half, not by doubling, so memory
 * follows the live count.  There is no wrap-around: a tail of spare slots
 * past the last home, the very last slot always empty as a sentinel.
 *
 * A block the packing cannot hold (address not 8-aligned or above 2^47,
 * size of 16 MiB or more, program point 2^24 or above) goes to a plain side
 * table of struct dt_block instead: exact, just dearer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "blocks.h"

#define KEY_BITS 44		/* addr >> 3 */
#define KEY_MASK ((1ULL << KEY_BITS) - 1)
#define SIZE_LO_BITS (64 - KEY_BITS)
#define T_BITS 36
#define SIZE_HI_BITS 4
#define PP_SHIFT (T_BITS + SIZE_HI_BITS)
#define MAX_ADDR (1ULL << (KEY_BITS + 3))
#define MAX_SIZE (1ULL << (SIZE_LO_BITS + SIZE_HI_BITS))
#define MAX_PP (1ULL << (64 - PP_SHIFT))
/* Allocation times are kept relative to a base moved forward now and then,
 * so that T_BITS of ns always span the recent past (see blocks.h). */
#define REBASE_AT (1ULL << (T_BITS - 1))
#define KEEP_SPAN (1ULL << (T_BITS - 2))

#define MIN_CAP 1024
#define TAIL 1024
#define LOAD_PCT 85

/* w0: key | size low bits; w1: t | size high bits | pp.  w0 == 0: empty. */
struct slot {
	uint64_t w0, w1;
};

/* The side table: linear probing over full blocks, power-of-two size. */
struct wide {
	struct dt_block *v;
	size_t mask, count;
};

struct blocks {
	struct slot *s;
	size_t cap;		/* home slots */
	size_t nslots;		/* cap + TAIL */
	size_t map_bytes;
	size_t packed;		/* blocks in s */
	uint64_t base;		/* time origin of the t fields */
	size_t peak_bytes;
	struct wide w;
};

static inline uint64_t hash_of(uint64_t key)
{
	return key * 0x9E3779B97F4A7C15ULL;
}

static inline size_t home_of(uint64_t h, size_t cap)
{
	return (size_t)(((unsigned __int128)h * cap) >> 64);
}

static inline uint64_t key_of(const struct slot *s)
{
	return s->w0 & KEY_MASK;
}

static bool packable(const struct dt_block *b)
{
	return !(b->addr & 7) && b->addr < MAX_ADDR && b->size < MAX_SIZE && b->pp < MAX_PP;
}

static struct slot pack(const struct blocks *b, const struct dt_block *blk)
{
	uint64_t t = blk->t_alloc > b->base ? blk->t_alloc - b->base : 0;

	return (struct slot){
		.w0 = (blk->addr >> 3) | blk->size << KEY_BITS,
		.w1 = t | (blk->size >> SIZE_LO_BITS) << T_BITS | (uint64_t)blk->pp << PP_SHIFT,
	};
}

static void unpack(const struct blocks *b, const struct slot *s, struct dt_block *out)
{
	*out = (struct dt_block){
		.addr = key_of(s) << 3,
		.size = s->w0 >> KEY_BITS |
			((s->w1 >> T_BITS) & ((1ULL << SIZE_HI_BITS) - 1)) << SIZE_LO_BITS,
		.t_alloc = b->base + (s->w1 & ((1ULL << T_BITS) - 1)),
		.pp = (uint32_t)(s->w1 >> PP_SHIFT),
	};
}

/* ---- the side table ---- */

static size_t wide_slot(const struct wide *w, uint64_t addr)
{
	return (size_t)(hash_of(addr >> 3) >> 20) & w->mask;
}

static struct dt_block *wide_find(const struct wide *w, uint64_t addr)
{
	size_t i;

	if (!w->count)
		return NULL;
	for (i = wide_slot(w, addr); w->v[i].addr; i = (i + 1) & w->mask)
		if (w->v[i].addr == addr)
			return &w->v[i];
	return NULL;
}

static void wide_place(struct wide *w, const struct dt_block *blk)
{
	size_t i = wide_slot(w, blk->addr);

	while (w->v[i].addr)
		i = (i + 1) & w->mask;
	w->v[i] = *blk;
}

static int wide_insert(struct wide *w, const struct dt_block *blk)
{
	if (!w->v || (w->count + 1) * 10 > (w->mask + 1) * 7) {
		struct wide n = { .mask = w->v ? w->mask * 2 + 1 : 63, .count = w->count };
		size_t i;

		n.v = calloc(n.mask + 1, sizeof(*n.v));
		if (!n.v)
			return -ENOMEM;
		for (i = 0; w->v && i <= w->mask; i++)
			if (w->v[i].addr)
				wide_place(&n, &w->v[i]);
		free(w->v);
		*w = n;
	}
	wide_place(w, blk);
	w->count++;
	return 0;
}

static void wide_remove(struct wide *w, struct dt_block *s)
{
	size_t i = (size_t)(s - w->v), j, home;

	/* Backward shift: move later members of the probe run over the hole. */
	for (j = (i + 1) & w->mask; w->v[j].addr; j = (j + 1) & w->mask) {
		home = wide_slot(w, w->v[j].addr);
		if (((j - home) & w->mask) >= ((j - i) & w->mask)) {
			w->v[i] = w->v[j];
			i = j;
		}
	}
	memset(&w->v[i], 0, sizeof(w->v[i]));
	w->count--;
}

/* ---- the packed table ---- */

static size_t map_size(size_t nslots)
{
	return (nslots * sizeof(struct slot) + 4095) & ~(size_t)4095;
}

static void note_size(struct blocks *b)
{
	size_t m = blocks__mem_bytes(b);

	if (m > b->peak_bytes)
		b->peak_bytes = m;
}

struct blocks *blocks__new(void)
{
	struct blocks *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->cap = MIN_CAP;
	b->nslots = MIN_CAP + TAIL;
	b->map_bytes = map_size(b->nslots);
	b->s = mmap(NULL, b->map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->s == MAP_FAILED) {
		free(b);
		return NULL;
	}
	note_size(b);
	return b;
}

void blocks__free(struct blocks *b)
{
	if (!b)
		return;
	munmap(b->s, b->map_bytes);
	free(b->w.v);
	free(b);
}

/* First slot whose hash is not below h: where h is, or would go. */
static inline size_t seek(const struct blocks *b, uint64_t h)
{
	size_t i = home_of(h, b->cap);

	while (b->s[i].w0 && hash_of(key_of(&b->s[i])) < h)
		i++;
	return i;
}

static inline bool holds(const struct blocks *b, size_t i, uint64_t key)
{
	return b->s[i].w0 && key_of(&b->s[i]) == key;
}

/*
 * Spread the sorted blocks of s[from..to) (increasing hash, into slots
 * below `from` that are empty) to their homes for the current capacity.
 * Returns false if they do not fit before the sentinel.
 */
static bool spread(struct blocks *b, size_t from, size_t to)
{
	size_t k, next = 0, pos;

	for (k = from; k < to; k++) {
		struct slot x = b->s[k];

		if (!x.w0)
			continue;
		pos = home_of(hash_of(key_of(&x)), b->cap);
		if (pos < next)
			pos = next;
		/* Only when the last run would pass the sentinel. */
		if (pos > k || pos >= b->nslots - 1)
			return false;
		b->s[k] = (struct slot){ 0, 0 };
		b->s[pos] = x;
		next = pos + 1;
	}
	return true;
}

/* Into a fresh mapping: the fallback when spreading in place runs out of
 * tail.  s is sorted in index order whatever stage the in-place pass
 * reached, so the copy is one more spread. */
static int rebuild(struct blocks *b, size_t cap)
{
	struct blocks n = *b;
	size_t i;

	for (;;) {
		n.cap = cap;
		n.nslots = cap + TAIL;
		n.map_bytes = map_size(n.nslots + b->nslots);
		n.s = mmap(NULL, n.map_bytes, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (n.s == MAP_FAILED)
			return -ENOMEM;
		/* Old blocks copied above the new table, then spread down. */
		for (i = 0; i < b->nslots; i++)
			n.s[n.nslots + i] = b->s[i];
		if (spread(&n, n.nslots, n.nslots + b->nslots))
			break;
		munmap(n.s, n.map_bytes);
		cap += cap / 2;
	}
	/* The copy's pages are all zero again: give them back. */
	n.s = mremap(n.s, n.map_bytes, map_size(n.nslots), 0);
	n.map_bytes = map_size(n.nslots);
	munmap(b->s, b->map_bytes);
	*b = n;
	return 0;
}

static int grow(struct blocks *b)
{
	size_t cap = b->cap + b->cap / 2, nslots = cap + TAIL, bytes = map_size(nslots);
	size_t i, dst;
	void *p;

	p = mremap(b->s, b->map_bytes, bytes, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return -ENOMEM;
	b->s = p;
	b->map_bytes = bytes;
	/* Pack every block against the end (keeping order and the sentinel),
	 * then spread them forward: a block's new home is never before its
	 * old slot, so nothing is overwritten before it has moved. */
	dst = nslots - 1;
	for (i = b->nslots; i-- > 0;) {
		if (!b->s[i].w0)
			continue;
		b->s[--dst] = b->s[i];
		if (dst != i)
			b->s[i] = (struct slot){ 0, 0 };
	}
	b->cap = cap;
	b->nslots = nslots;
	/* If this fails the blocks past the failure point may sit before
	 * their home: rebuild puts them right, from any stage. */
	if (!spread(b, dst, nslots - 1) && rebuild(b, cap + cap / 2))
		return -ENOMEM;
	note_size(b);
	return 0;
}

/* Keep every block's time within T_BITS of the base. */
static void rebase(struct blocks *b, uint64_t t)
{
	uint64_t shift = t - b->base - KEEP_SPAN, v;
	size_t i;

	for (i = 0; i < b->nslots; i++) {
		if (!b->s[i].w0)
			continue;
		v = b->s[i].w1 & ((1ULL << T_BITS) - 1);
		b->s[i].w1 -= v > shift ? shift : v;
	}
	b->base += shift;
}

int blocks__insert(struct blocks *b, const struct dt_block *blk)
{
	uint64_t key = blk->addr >> 3, h = hash_of(key);
	struct slot x;
	size_t i, j;
	int err;

	if (!blk->addr)
		return -EINVAL;
	if (wide_find(&b->w, blk->addr))
		return -EEXIST;
	if (!packable(blk)) {
		if (!(blk->addr & 7) && blk->addr < MAX_ADDR && holds(b, seek(b, h), key))
			return -EEXIST;
		err = wide_insert(&b->w, blk);
		note_size(b);
		return err;
	}
	if (blk->t_alloc > b->base && blk->t_alloc - b->base >= REBASE_AT)
		rebase(b, blk->t_alloc);
	i = seek(b, h);
	if (holds(b, i, key))
		return -EEXIST;
	for (j = i; b->s[j].w0; j++)
		;
	/* Too full, or the run reached the sentinel (rare, only at the end). */
	if ((b->packed + 1) * 100 > b->cap * LOAD_PCT || j >= b->nslots - 1) {
		do {
			if ((err = grow(b)))
				return err;
			i = seek(b, h);
			for (j = i; b->s[j].w0; j++)
				;
		} while (j >= b->nslots - 1);
	}
	/* Runs are a few slots: a loop beats a call to memmove. */
	x = pack(b, blk);
	for (; j > i; j--)
		b->s[j] = b->s[j - 1];
	b->s[i] = x;
	b->packed++;
	return 0;
}

bool blocks__get(const struct blocks *b, uint64_t addr, struct dt_block *out)
{
	const struct dt_block *w;
	size_t i;

	if (!(addr & 7) && addr && addr < MAX_ADDR) {
		i = seek(b, hash_of(addr >> 3));
		if (holds(b, i, addr >> 3)) {
			unpack(b, &b->s[i], out);
			return true;
		}
	}
	w = wide_find(&b->w, addr);
	if (w)
		*out = *w;
	return w != NULL;
}

bool blocks__take(struct blocks *b, uint64_t addr, struct dt_block *out)
{
	struct dt_block *w, tmp;
	size_t i, j;

	if (!out)
		out = &tmp;
	if (!(addr & 7) && addr && addr < MAX_ADDR) {
		i = seek(b, hash_of(addr >> 3));
		if (holds(b, i, addr >> 3)) {
			unpack(b, &b->s[i], out);
			/* The run after i moves back one, up to a block at home. */
			for (j = i + 1; b->s[j].w0 &&
					home_of(hash_of(key_of(&b->s[j])), b->cap) < j; j++)
				b->s[j - 1] = b->s[j];
			b->s[j - 1] = (struct slot){ 0, 0 };
			b->packed--;
			return true;
		}
	}
	w = wide_find(&b->w, addr);
	if (!w)
		return false;
	*out = *w;
	wide_remove(&b->w, w);
	return true;
}

size_t blocks__count(const struct blocks *b)
{
	return b->packed + b->w.count;
}

size_t blocks__unpacked(const struct blocks *b)
{
	return b->w.count;
}

size_t blocks__mem_bytes(const struct blocks *b)
{
	return b->map_bytes + (b->w.v ? (b->w.mask + 1) * sizeof(*b->w.v) : 0);
}

size_t blocks__mem_after_insert(const struct blocks *b, const struct dt_block *blk)
{
	size_t wide = b->w.v ? (b->w.mask + 1) * sizeof(*b->w.v) : 0, cap;

	if (!packable(blk)) {
		if (!b->w.v)
			return b->map_bytes + 64 * sizeof(*b->w.v);
		return b->map_bytes + ((b->w.count + 1) * 10 > (b->w.mask + 1) * 7 ? 2 * wide : wide);
	}
	if ((b->packed + 1) * 100 <= b->cap * LOAD_PCT)
		return b->map_bytes + wide;
	cap = b->cap + b->cap / 2;
	return map_size(cap + TAIL) + wide;
}

size_t blocks__peak_bytes(const struct blocks *b)
{
	return b->peak_bytes;
}
