// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The leak-suspect rule on synthetic histories, one tick a second:
 *   0 leak    +1000 B an interval, never freed
 *   1 cache   +5000 B an interval for 3 intervals, then nothing
 *   2 churn   more live at each tick (100 B a tick more), all of it made
 *             in the interval and freed in the next
 *   3 big     one 1 MiB block in the first interval
 *   4 slow    +200 B in two intervals of three, never freed
 *   5 buffer  one block realloc'd 500 B larger each interval (a log that
 *             is never cut): old memory that keeps growing
 */
#include <stdbool.h>
#include <stdlib.h>
#include "pps.h"
#include "suspects.h"
#include "tap.h"

#define SEC 1000000000ULL

static bool suspect(const struct dt_suspect *s, uint32_t n, uint32_t pp)
{
	for (uint32_t i = 0; i < n; i++)
		if (s[i].pp == pp)
			return true;
	return false;
}

int main(void)
{
	struct pps *p = pps__new();
	struct suspects *sus = suspects__new();
	struct dt_suspect s[8];
	uint64_t churn_live = 0;
	uint32_t n = 0, k;
	bool churn_ever = false, big_ever = false, cache_late = false;

	for (k = 1; k <= 10; k++) {
		uint64_t t = k * SEC;

		pps__alloc(p, pps__get(p, 0), 1000, t - SEC / 2);
		if (k <= 3)
			pps__alloc(p, pps__get(p, 1), 5000, t - SEC / 2);
		if (churn_live)
			pps__free_block(p, pps__get(p, 2), churn_live, t - SEC + 1);
		churn_live = 100 * k;
		pps__alloc(p, pps__get(p, 2), churn_live, t - 1);
		if (k == 1)
			pps__alloc(p, pps__get(p, 3), 1 << 20, t - SEC / 2);
		else
			pps__get(p, 3);
		if (k % 3)
			pps__alloc(p, pps__get(p, 4), 200, t - SEC / 2);
		else
			pps__get(p, 4);
		if (k == 1)
			pps__alloc(p, pps__get(p, 5), 500, t - SEC / 2);
		else
			pps__resize(p, pps__get(p, 5), 500 * (k - 1), 500 * k, t - SEC / 2);
		ok(suspects__tick(sus, p, t) == 0, "tick %u", k);
		n = suspects__find(sus, s, 8);
		if (k == 4) {
			ok(n >= 1 && s[0].pp == 0, "tick 4 (3 intervals): the leak ranks first");
			is_u64(s[0].growth, 3000, "the leak grew 3000 B over the window");
			is_u64(s[0].rose, 3, "in 3 of 3 intervals");
		}
		churn_ever |= suspect(s, n, 2);
		big_ever |= suspect(s, n, 3);
		/* The cache stopped after interval 3: two flat ones later, out. */
		if (k >= 6)
			cache_late |= suspect(s, n, 1);
	}
	ok(suspect(s, n, 0), "tick 10: the leak is a suspect");
	is_u64(s[0].of, SUSPECT_WINDOW, "judged over the whole window");
	is_u64(s[0].old, 9000, "older than the last interval: all but its newest 1000 B");
	is_u64(s[0].oldest_ns, 6 * SEC, "its oldest block older than the whole window (6 s)");
	ok(suspect(s, n, 4), "tick 10: the slow leak (2 of 3 intervals) is a suspect");
	ok(suspect(s, n, 5), "tick 10: the growing buffer is a suspect (reallocs count what they add)");
	ok(!cache_late, "the cache is no suspect two intervals after it stopped");
	ok(!churn_ever, "churn is never a suspect");
	ok(!big_ever, "one big block is never a suspect");
	suspects__free(sus);
	pps__free(p);
	return tap_done();
}
