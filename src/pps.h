/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_PPS_H
#define DT_PPS_H

#include <stdint.h>

/* DHAT's per-program-point counters (dhat-format.md §3, §6). */
struct dt_pp {
	uint64_t tb, tbk;	/* total bytes / blocks */
	uint64_t tl;		/* sum of lifetimes, ns */
	uint64_t mb, mbk;	/* this PP's own maximum live bytes (blocks then) */
	uint64_t gb, gbk;	/* live at t-gmax (valid once pps__finish ran) */
	uint64_t curr_b, curr_bk;
	uint64_t report_b;	/* curr_b at the previous periodic report */
	uint32_t epoch;		/* snapshot epoch gb/gbk were settled for */
	uint32_t pad;
};

struct dt_totals {
	uint64_t tb, tbk;
	uint64_t curr_b, curr_bk;
	uint64_t max_b, max_bk;	/* the global peak t-gmax */
	uint64_t t_gmax;	/* ns, tracer clock */
};

struct pps;

struct pps *pps__new(void);
void pps__free(struct pps *p);
/* The PP at index idx, created (zeroed) if needed; NULL on ENOMEM. */
struct dt_pp *pps__get(struct pps *p, uint32_t idx);
uint32_t pps__count(const struct pps *p);
const struct dt_totals *pps__totals(const struct pps *p);

void pps__alloc(struct pps *p, struct dt_pp *pp, uint64_t size, uint64_t now);
void pps__free_block(struct pps *p, struct dt_pp *pp, uint64_t size, uint64_t lifetime);
/* realloc that keeps the block: DHAT counts it as a new allocation in the
 * totals, and moves live bytes from old_size to new_size. */
void pps__resize(struct pps *p, struct dt_pp *pp, uint64_t old_size, uint64_t new_size,
		 uint64_t now);
/* Blocks live at the end: their lifetimes up to t-end.  Call once per block,
 * then pps__finish. */
void pps__retire_at_end(struct pps *p, struct dt_pp *pp, uint64_t lifetime);
/* Take the final t-gmax snapshot; afterwards gb/gbk of every PP are exact. */
void pps__finish(struct pps *p);

#endif
