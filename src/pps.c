// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * DHAT's accounting.  The global peak is the largest live-bytes value, the
 * latest one among equals (DHAT compares with >=).  DHAT copies every PP's
 * live counts when the heap is about to come down from a peak: O(PPs) each
 * time.  Here that copy is lazy: a snapshot only bumps an epoch, and a PP
 * settles (copies curr into gb) the first time it changes in a newer epoch;
 * a PP that did not change since the snapshot still holds the value it had
 * then.  pps__finish settles everyone once.
 */
#include <stdlib.h>
#include <string.h>
#include "pps.h"

struct pps {
	struct dt_pp *v;
	uint32_t count, cap;
	uint32_t epoch;		/* number of snapshots taken */
	int peak_dirty;		/* the heap is at a peak no snapshot has seen */
	struct dt_totals t;
};

struct pps *pps__new(void)
{
	return calloc(1, sizeof(struct pps));
}

void pps__free(struct pps *p)
{
	if (!p)
		return;
	free(p->v);
	free(p);
}

struct pps *pps__clone(const struct pps *p)
{
	struct pps *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	*c = *p;
	c->v = malloc((size_t)(p->cap ? p->cap : 1) * sizeof(*c->v));
	if (!c->v) {
		free(c);
		return NULL;
	}
	memcpy(c->v, p->v, (size_t)p->count * sizeof(*c->v));
	return c;
}

/* The rare part of pps__get, out of its way. */
static __attribute__((noinline)) struct dt_pp *extend(struct pps *p, uint32_t idx)
{
	if (idx >= p->cap) {
		uint32_t cap = p->cap ? p->cap : 256;
		struct dt_pp *v;

		while (cap <= idx)
			cap *= 2;
		v = realloc(p->v, (size_t)cap * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + p->cap, 0, (size_t)(cap - p->cap) * sizeof(*v));
		p->v = v;
		p->cap = cap;
	}
	while (p->count <= idx)
		/* A PP born after the last snapshot had nothing live at it. */
		p->v[p->count++].epoch = p->epoch;
	return &p->v[idx];
}

struct dt_pp *pps__get(struct pps *p, uint32_t idx)
{
	return idx < p->count ? &p->v[idx] : extend(p, idx);
}

uint32_t pps__count(const struct pps *p)
{
	return p->count;
}

size_t pps__mem_bytes(const struct pps *p)
{
	return sizeof(*p) + (size_t)p->cap * sizeof(*p->v);
}

/* Mirrors extend(). */
size_t pps__mem_after_get(const struct pps *p, uint32_t idx)
{
	size_t cap = p->cap ? p->cap : 256;

	while (cap <= idx)
		cap *= 2;
	return sizeof(*p) + cap * sizeof(*p->v);
}

const struct dt_totals *pps__totals(const struct pps *p)
{
	return &p->t;
}

static void settle(const struct pps *p, struct dt_pp *pp)
{
	if (pp->epoch != p->epoch) {
		pp->gb = pp->curr_b;
		pp->gbk = pp->curr_bk;
		pp->epoch = p->epoch;
	}
}

/* DHAT's check_for_peak(), taken just before live bytes go down. */
static void before_decrease(struct pps *p)
{
	if (p->peak_dirty) {
		p->epoch++;
		p->peak_dirty = 0;
	}
}

static void after_increase(struct pps *p, struct dt_pp *pp, uint64_t now)
{
	if (pp->curr_b > pp->mb || (pp->curr_b == pp->mb && pp->curr_bk > pp->mbk)) {
		pp->mb = pp->curr_b;
		pp->mbk = pp->curr_bk;
	}
	if (p->t.curr_b >= p->t.max_b) {
		p->t.max_b = p->t.curr_b;
		p->t.max_bk = p->t.curr_bk;
		p->t.t_gmax = now;
		p->peak_dirty = 1;
	}
}

void pps__alloc(struct pps *p, struct dt_pp *pp, uint64_t size, uint64_t now)
{
	settle(p, pp);
	pp->tb += size;
	pp->nb += size;
	pp->tbk++;
	pp->tl -= now;
	pp->curr_b += size;
	pp->curr_bk++;
	p->t.tb += size;
	p->t.tbk++;
	p->t.curr_b += size;
	p->t.curr_bk++;
	after_increase(p, pp, now);
}

void pps__free_block(struct pps *p, struct dt_pp *pp, uint64_t size, uint64_t now)
{
	before_decrease(p);
	settle(p, pp);
	pp->curr_b -= size;
	pp->curr_bk--;
	pp->tl += now;
	p->t.curr_b -= size;
	p->t.curr_bk--;
}

void pps__resize(struct pps *p, struct dt_pp *pp, uint64_t old_size, uint64_t new_size,
		 uint64_t now)
{
	if (new_size < old_size)
		before_decrease(p);
	settle(p, pp);
	pp->tb += new_size;
	pp->nb += new_size > old_size ? new_size - old_size : 0;
	pp->tbk++;
	pp->curr_b += new_size - old_size;
	p->t.tb += new_size;
	p->t.tbk++;
	p->t.curr_b += new_size - old_size;
	/* DHAT runs its peak check after every resize, shrinking ones too. */
	after_increase(p, pp, now);
}

void pps__finish(struct pps *p, uint64_t t_end)
{
	uint32_t i;

	before_decrease(p);
	for (i = 0; i < p->count; i++) {
		settle(p, &p->v[i]);
		p->v[i].tl += p->v[i].curr_bk * t_end;
	}
}
