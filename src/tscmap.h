/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_TSCMAP_H
#define DT_TSCMAP_H

#include <stdint.h>

/*
 * CLOCK_MONOTONIC from time-stamp counter readings: the --inject agent
 * stamps its records with a bare RDTSC (~15 ns here) instead of
 * clock_gettime() (~36 ns: the vDSO's ordered RDTSC and its sequence lock),
 * twice per malloc+free pair, and the tracer turns the counts into the
 * clock's nanoseconds as it reads them.  Only where the kernel itself
 * derives CLOCK_MONOTONIC from the TSC (current clocksource "tsc": it found
 * the counter invariant and in step across CPUs).
 *
 * The map is a line, moved every 10 ms: it starts where the last one had
 * got to (so a count maps to one time whichever line converts it, and
 * later counts never to earlier times), with the slope measured over the
 * last second or more, steered to close its gap to the clock within
 * 100 ms: it follows the kernel's slow NTP corrections.  No order depends
 * on these times (the agent's ring is read in reservation order); they
 * give the lifetimes and the peak's time.
 */
struct tscmap;

/* NULL (errno: EOPNOTSUPP) where the TSC is not the kernel's clocksource,
 * or not on x86-64.  Takes ~2 ms: the first slope. */
struct tscmap *tscmap__new(void);
void tscmap__free(struct tscmap *m);
/* The line counts are turned into nanoseconds with until the next update:
 * a value, so that a reader converts in line, per record. */
struct tscline {
	uint64_t tsc, ns;
	uint64_t mult;		/* ns per count, fixed point 32.32 */
};

/* Moves the line to now if the last move is 10 ms old (cheap otherwise),
 * and gives it. */
struct tscline tscmap__update(struct tscmap *m);

/* The CLOCK_MONOTONIC time of a count. */
static inline uint64_t tscline__ns(const struct tscline *l, uint64_t tsc)
{
	int64_t d = (int64_t)(tsc - l->tsc);

	/* Within ~0.1 s of the line's point (every record of a drain, as a
	 * rule) the product fits in 64 bits. */
	if (d > -(1LL << 28) && d < (1LL << 28) && l->mult < (1ULL << 34))
		return l->ns + (uint64_t)((d * (int64_t)l->mult) >> 32);
	return l->ns + (uint64_t)(int64_t)(((__int128)d * (__int128)l->mult) >> 32);
}

#endif
