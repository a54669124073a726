/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_PPS_H
#define DT_PPS_H

#include <stddef.h>
#include <stdint.h>

/* DHAT's per-program-point counters (dhat-format.md §3, §6). */
struct dt_pp {
	uint64_t tb, tbk;	/* total bytes / blocks */
	/* Sum of lifetimes, ns, built from per-site sums rather than per
	 * block: minus every birth time, plus every death time, plus t-end
	 * for each block still live (added by pps__finish).  Until then it
	 * is a partial sum modulo 2^64 and means nothing on its own. */
	uint64_t tl;
	uint64_t mb, mbk;	/* this PP's own maximum live bytes (blocks then) */
	uint64_t gb, gbk;	/* live at t-gmax (valid once pps__finish ran) */
	uint64_t curr_b, curr_bk;
	uint64_t report_b;	/* curr_b at the previous periodic report */
	uint64_t nb;		/* bytes new to the heap: tb less what reallocs carried
				 * over from the block they resized (for the suspects) */
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
/* A copy (for a snapshot to finish while the original goes on); NULL on ENOMEM. */
struct pps *pps__clone(const struct pps *p);
/* The PP at index idx, created (zeroed) if needed; NULL on ENOMEM. */
struct dt_pp *pps__get(struct pps *p, uint32_t idx);
uint32_t pps__count(const struct pps *p);
/* Bytes held now, and once the PP at idx exists (the growth it sets off). */
size_t pps__mem_bytes(const struct pps *p);
size_t pps__mem_after_get(const struct pps *p, uint32_t idx);
const struct dt_totals *pps__totals(const struct pps *p);

/* Times (now, t_end) are ns since the capture started. */
void pps__alloc(struct pps *p, struct dt_pp *pp, uint64_t size, uint64_t now);
void pps__free_block(struct pps *p, struct dt_pp *pp, uint64_t size, uint64_t now);
/* realloc that keeps the block: DHAT counts it as a new allocation in the
 * totals, and moves live bytes from old_size to new_size. */
void pps__resize(struct pps *p, struct dt_pp *pp, uint64_t old_size, uint64_t new_size,
		 uint64_t now);
/* Take the final t-gmax snapshot and close the lifetimes of blocks still
 * live at t_end; afterwards gb/gbk and tl of every PP are exact.  Once. */
void pps__finish(struct pps *p, uint64_t t_end);

#endif
