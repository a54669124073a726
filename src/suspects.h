/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_SUSPECTS_H
#define DT_SUSPECTS_H

#include <stdint.h>
#include "pps.h"

/*
 * Leak suspects, from what each call site's live bytes did at the last
 * report ticks (the rule, in the man page's words):
 *   over the last SUSPECT_WINDOW intervals (at least 3), a site's live
 *   bytes rose in two thirds of them or more, one of the last two among
 *   them, and are higher than at the window's start; and at least half of
 *   what is live now was allocated before the last interval began (its
 *   blocks stay alive).
 * A cache that fills and stops drops out two intervals after it stopped; a
 * site whose blocks are freed soon after they are made keeps few of them
 * older than an interval; one large block rose once.  Suspects rank by the
 * share of intervals they rose in, then by how much they grew.  "Older than
 * the last interval" is exact as a bound: what is live minus all the bytes
 * new to the heap since the tick before (a realloc adds only what it grew
 * by: a buffer that keeps growing is old memory, and a leak too).  The
 * same bound over more intervals says how old its oldest live block is at
 * least.
 */
#define SUSPECT_WINDOW 6

struct dt_suspect {
	uint32_t pp;		/* site index (pps) */
	uint32_t rose, of;	/* intervals its live bytes rose in, of the window's */
	uint64_t growth;	/* live bytes now minus at the window's start */
	uint64_t live;		/* live bytes now */
	uint64_t old;		/* of them, allocated before the last interval began */
	uint64_t interval_ns;	/* the last interval's length */
	/* Its oldest live block is at least this old: live bytes outnumber
	 * all it made new since that tick (within the window). */
	uint64_t oldest_ns;
	uint64_t history[SUSPECT_WINDOW + 1];	/* live bytes at each tick, oldest first */
	uint64_t history_blocks[SUSPECT_WINDOW + 1];	/* live blocks, likewise */
	uint32_t nhistory;
};

struct suspects;

struct suspects *suspects__new(void);
void suspects__free(struct suspects *s);
/* A report tick at now (ns, any clock that only goes forward). */
int suspects__tick(struct suspects *s, struct pps *pps, uint64_t now);
/* The suspects at the last tick, best first, at most max; how many. */
uint32_t suspects__find(const struct suspects *s, struct dt_suspect *out, uint32_t max);
/* Ticks so far. */
uint32_t suspects__ticks(const struct suspects *s);

#endif
