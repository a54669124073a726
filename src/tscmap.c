// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tscmap.h"

#define NSEC_PER_SEC 1000000000ULL
#define MOVE_NS (10 * 1000 * 1000ULL)	/* the line's anchor moves this often */
#define BASE_NS NSEC_PER_SEC		/* its slope is measured over this much */
#define SLEW_NS (100 * 1000 * 1000LL)	/* a gap to the clock is closed over this */
#define JUMP_NS (1000 * 1000LL)		/* a gap beyond this is jumped */

struct point {
	uint64_t tsc, ns;
};

struct tscmap {
	struct point base, cand;	/* the slope's start; the next one */
	struct tscline line;
};

#if defined(__x86_64__)
static inline uint64_t tsc_now(void)
{
	unsigned int aux;

	/* RDTSCP waits for what came before: the pair brackets the clock. */
	return __builtin_ia32_rdtscp(&aux);
}

/* A (counter, clock) pair, from the narrowest of a few brackets: a
 * preemption between the two reads would shift the line. */
static struct point point_now(void)
{
	struct point p = { 0, 0 };
	uint64_t best = UINT64_MAX, t1, t2;
	struct timespec ts;
	int i;

	for (i = 0; i < 5; i++) {
		t1 = tsc_now();
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t2 = tsc_now();
		if (t2 - t1 < best) {
			best = t2 - t1;
			p.tsc = t1 + (t2 - t1) / 2;
			p.ns = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
		}
	}
	return p;
}

static bool tsc_is_clocksource(void)
{
	char name[32] = "";
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource",
			"re");

	if (!f)
		return false;
	if (!fgets(name, sizeof(name), f))
		name[0] = 0;
	fclose(f);
	return !strcmp(name, "tsc\n");
}
#else
static struct point point_now(void)
{
	return (struct point){ 0, 0 };
}

static bool tsc_is_clocksource(void)
{
	return false;
}
#endif

static void set_slope(struct tscmap *m, const struct point *from, const struct point *to)
{
	if (to->tsc > from->tsc && to->ns > from->ns)
		m->line.mult = (uint64_t)((double)(to->ns - from->ns) * 4294967296.0 /
				     (double)(to->tsc - from->tsc));
}

struct tscmap *tscmap__new(void)
{
	struct timespec nap = { 0, 2 * 1000 * 1000 };
	struct tscmap *m;
	struct point p;

	if (!tsc_is_clocksource()) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->base = m->cand = point_now();
	nanosleep(&nap, NULL);
	p = point_now();
	set_slope(m, &m->base, &p);
	m->line.tsc = p.tsc;
	m->line.ns = p.ns;
	if (!m->line.mult) {
		free(m);
		errno = EOPNOTSUPP;
		return NULL;
	}
	return m;
}

void tscmap__free(struct tscmap *m)
{
	free(m);
}

struct tscline tscmap__update(struct tscmap *m)
{
	struct timespec ts;
	uint64_t ns, cur, rate;
	int64_t err;
	double per_count;
	struct point p;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	ns = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	if (ns < m->line.ns + MOVE_NS)
		return m->line;
	p = point_now();
	if (p.ns - m->cand.ns >= BASE_NS) {
		m->base = m->cand;
		m->cand = p;
	}
	cur = tscline__ns(&m->line, p.tsc);
	set_slope(m, &m->base, &p);	/* kept if the pair gives none */
	rate = m->line.mult;
	/* The new line starts where the old one is now, so that a count maps
	 * to the same time whichever line converts it (no step between two
	 * drains: a thread's records stay in order, a short life is never
	 * negative), and steers its slope to close the gap to the clock over
	 * SLEW_NS.  A gap too large to slew (none is expected: both count the
	 * same oscillator) is jumped. */
	err = (int64_t)(p.ns - cur);
	if (err > JUMP_NS || err < -JUMP_NS) {
		m->line.tsc = p.tsc;
		m->line.ns = p.ns;
		m->line.mult = rate;
		return m->line;
	}
	per_count = (double)rate / 4294967296.0;
	m->line.mult = (uint64_t)((double)rate + (double)err * 4294967296.0 /
				  ((double)SLEW_NS / per_count));
	m->line.tsc = p.tsc;
	m->line.ns = cur;
	return m->line;
}
