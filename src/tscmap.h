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
 * The map is a line through a recent (counter, clock) pair, its slope
 * measured over at least a second once the run is that old: it follows the
 * kernel's slow NTP corrections, and two records converted with different
 * lines differ from their true distance by a few tens of ns at most.  No
 * order depends on these times (the agent's ring is read in reservation
 * order); they give the lifetimes and the peak's time.
 */
struct tscmap;

/* NULL (errno: EOPNOTSUPP) where the TSC is not the kernel's clocksource,
 * or not on x86-64.  Takes ~2 ms: the first slope. */
struct tscmap *tscmap__new(void);
void tscmap__free(struct tscmap *m);
/* Moves the line to now if the last move is 10 ms old; cheap otherwise. */
void tscmap__update(struct tscmap *m);
/* The CLOCK_MONOTONIC time of a counter reading. */
uint64_t tscmap__ns(const struct tscmap *m, uint64_t tsc);

#endif
