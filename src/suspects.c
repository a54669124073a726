// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "suspects.h"

#define SLOTS (SUSPECT_WINDOW + 1)

/* What a site did at the last ticks: a ring of live bytes. */
struct hist {
	uint64_t live[SLOTS];
	uint64_t blocks[SLOTS];
	uint64_t nb[SLOTS];	/* its bytes new to the heap so far (pps.h: nb) */
};

struct suspects {
	struct hist *h;
	uint32_t nh;		/* sites with a history */
	uint32_t ticks;		/* ticks so far; slot of tick k: k % SLOTS */
	uint64_t t[SLOTS];	/* when each tick was */
};

struct suspects *suspects__new(void)
{
	return calloc(1, sizeof(struct suspects));
}

void suspects__free(struct suspects *s)
{
	if (!s)
		return;
	free(s->h);
	free(s);
}

uint32_t suspects__ticks(const struct suspects *s)
{
	return s->ticks;
}

int suspects__tick(struct suspects *s, struct pps *pps, uint64_t now)
{
	uint32_t n = pps__count(pps), i, slot = s->ticks % SLOTS;

	if (n > s->nh) {
		struct hist *h = realloc(s->h, (size_t)n * sizeof(*h));

		if (!h)
			return -ENOMEM;
		/* A site born since had nothing live at the ticks before. */
		memset(h + s->nh, 0, (size_t)(n - s->nh) * sizeof(*h));
		s->h = h;
		s->nh = n;
	}
	for (i = 0; i < n; i++) {
		const struct dt_pp *pp = pps__get(pps, i);
		struct hist *h = &s->h[i];

		h->live[slot] = pp->curr_b;
		h->blocks[slot] = pp->curr_bk;
		h->nb[slot] = pp->nb;
	}
	s->t[slot] = now;
	s->ticks++;
	return 0;
}

/* Live bytes of site h at tick k (k < ticks, within the ring). */
static uint64_t live_at(const struct hist *h, uint32_t k)
{
	return h->live[k % SLOTS];
}

/* Whether site i is a suspect at the last tick; fills *out if so. */
static bool judge(const struct suspects *s, uint32_t i, struct dt_suspect *out)
{
	const struct hist *h = &s->h[i];
	uint32_t last = s->ticks - 1, of = s->ticks - 1, first, k, rose = 0;
	uint64_t now, fresh;
	bool recent = false;

	if (of > SUSPECT_WINDOW)
		of = SUSPECT_WINDOW;
	if (of < 3)
		return false;
	first = last - of;
	for (k = first + 1; k <= last; k++) {
		if (live_at(h, k) <= live_at(h, k - 1))
			continue;
		rose++;
		recent |= k + 2 > last;
	}
	now = live_at(h, last);
	if (rose * 3 < of * 2 || !recent || now <= live_at(h, first))
		return false;
	fresh = h->nb[last % SLOTS] - h->nb[(last - 1) % SLOTS];
	if (fresh > now || (now - fresh) * 2 < now)
		return false;
	*out = (struct dt_suspect){ .pp = i, .rose = rose, .of = of,
				    .growth = now - live_at(h, first), .live = now,
				    .old = now - fresh,
				    .interval_ns = s->t[last % SLOTS] - s->t[(last - 1) % SLOTS],
				    .nhistory = of + 1 };
	/* The oldest live block is older than the earliest tick since which
	 * the site made fewer new bytes than it has live now. */
	for (k = first; k < last; k++)
		if (h->nb[last % SLOTS] - h->nb[k % SLOTS] < now) {
			out->oldest_ns = s->t[last % SLOTS] - s->t[k % SLOTS];
			break;
		}
	for (k = 0; k <= of; k++) {
		out->history[k] = live_at(h, first + k);
		out->history_blocks[k] = h->blocks[(first + k) % SLOTS];
	}
	return true;
}

/* The steadier grower first (rose in more of its intervals), then the
 * larger growth. */
static bool better(const struct dt_suspect *a, const struct dt_suspect *b)
{
	uint64_t x = (uint64_t)a->rose * b->of, y = (uint64_t)b->rose * a->of;

	return x > y || (x == y && a->growth > b->growth);
}

uint32_t suspects__find(const struct suspects *s, struct dt_suspect *out, uint32_t max)
{
	uint32_t i, n = 0, j;
	struct dt_suspect c;

	for (i = 0; i < s->nh && max; i++) {
		if (!judge(s, i, &c))
			continue;
		/* Insertion into the best max. */
		if (n == max && !better(&c, &out[n - 1]))
			continue;
		j = n < max ? n++ : n - 1;
		for (; j && better(&c, &out[j - 1]); j--)
			out[j] = out[j - 1];
		out[j] = c;
	}
	return n;
}
