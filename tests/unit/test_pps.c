// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/* DHAT's t-gmax rule (dhat-format.md §6), driven directly. */
#include "pps.h"
#include "tap.h"

static struct pps *p;

static struct dt_pp *pp(uint32_t i)
{
	return pps__get(p, i);
}

int main(void)
{
	const struct dt_totals *t;

	/* Peak at A=100,B=50 (t=2); a free lowers it; a second, equal peak with
	 * another mix (A=100,C=50) at t=5 must win because DHAT compares >=. */
	p = pps__new();
	pps__alloc(p, pp(1), 100, 1);
	pps__alloc(p, pp(2), 50, 2);
	pps__free_block(p, pp(2), 50, 3);
	pps__alloc(p, pp(3), 20, 4);
	pps__alloc(p, pp(3), 30, 5);
	pps__free_block(p, pp(1), 100, 9);	/* heap comes down from the second peak */
	pps__alloc(p, pp(2), 10, 10);
	pps__finish(p, 12);
	t = pps__totals(p);
	is_u64(t->max_b, 150, "peak bytes");
	is_u64(t->max_bk, 3, "blocks at the latest equal peak");
	is_u64(t->t_gmax, 5, "t-gmax is the latest equal peak");
	is_u64(pp(1)->gb, 100, "A at t-gmax");
	is_u64(pp(2)->gb, 0, "B at t-gmax (freed before the second peak)");
	is_u64(pp(3)->gb, 50, "C at t-gmax");
	is_u64(pp(3)->gbk, 2, "C blocks at t-gmax");
	is_u64(pp(2)->tb, 60, "B total bytes");
	is_u64(pp(2)->tbk, 2, "B total blocks");
	is_u64(pp(2)->curr_b, 10, "B at t-end");
	is_u64(pp(1)->tl, 9 - 1, "A lifetime");
	is_u64(pp(2)->tl, (3 - 2) + (12 - 10), "B lifetimes: one freed, one live at t-end");
	is_u64(pp(3)->tl, (12 - 4) + (12 - 5), "C lifetimes: both live at t-end");
	is_u64(pp(1)->mb, 100, "A max");
	pps__free(p);

	/* A heap that only grows: the snapshot is the end state. */
	p = pps__new();
	pps__alloc(p, pp(0), 5, 1);
	pps__alloc(p, pp(1), 7, 2);
	pps__finish(p, 2);
	is_u64(pp(0)->gb + pp(1)->gb, 12, "growing heap: t-gmax = t-end");
	is_u64(pps__totals(p)->t_gmax, 2, "growing heap: t-gmax at the last allocation");
	pps__free(p);

	/* A PP that is settled for an old snapshot and never changes again must
	 * still report its value at the newer peak. */
	p = pps__new();
	pps__alloc(p, pp(1), 10, 1);
	pps__alloc(p, pp(2), 10, 2);
	pps__free_block(p, pp(2), 10, 3);	/* snapshot 1: A=10,B=10 */
	pps__alloc(p, pp(2), 30, 3);		/* new peak 40: A=10,B=30 */
	pps__free_block(p, pp(2), 30, 4);	/* snapshot 2 */
	pps__finish(p, 5);
	is_u64(pp(1)->gb, 10, "untouched PP keeps its value at the newest peak");
	is_u64(pp(2)->gb, 30, "changed PP holds its value at the newest peak");
	is_u64(pps__totals(p)->max_b, 40, "peak 40");
	pps__free(p);

	/* realloc: totals count it as an allocation, live blocks do not change;
	 * shrinking snapshots the peak first. */
	p = pps__new();
	pps__alloc(p, pp(1), 100, 1);
	pps__resize(p, pp(1), 100, 300, 2);
	pps__resize(p, pp(1), 300, 50, 3);
	pps__finish(p, 7);
	is_u64(pp(1)->tb, 450, "realloc totals: 100 + 300 + 50");
	is_u64(pp(1)->tbk, 3, "realloc totals: 3 blocks");
	is_u64(pp(1)->curr_bk, 1, "one live block");
	is_u64(pp(1)->curr_b, 50, "live bytes follow the last size");
	is_u64(pp(1)->gb, 300, "t-gmax before the shrink");
	is_u64(pp(1)->tl, 7 - 1, "a resized block lives from its first allocation");
	is_u64(pps__totals(p)->t_gmax, 2, "t-gmax at the growing realloc");
	pps__free(p);
	return tap_done();
}
