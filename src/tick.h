/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_TICK_H
#define DT_TICK_H

#include <stdbool.h>
#include <stdint.h>
#include "pps.h"

/* One of the sites a report lists, most live bytes first. */
struct tick_site {
	uint32_t pp;		/* index among the sites the DHAT file would list now */
	uint64_t bytes, blocks;	/* live now */
	uint64_t last_bytes;	/* live at the report before */
	char label[512];	/* sitelabel.h */
};

/*
 * What a periodic report (or the end of a capture) says, for the outputs
 * that are not text: the JSON report lines and the metrics file.
 */
struct tick {
	int pid;
	const char *cmd;
	bool final;			/* the capture has ended */
	uint64_t t_ns;			/* since the capture started */
	const struct dt_totals *tot;	/* live, peak and total bytes and blocks */
	uint64_t frees;			/* blocks freed (a realloc frees one and allocates one) */
	double allocs_per_s, frees_per_s, bytes_per_s;	/* since the report before */
	uint64_t lost_events;
	bool unwinding;			/* DWARF unwinding: truncated stacks are known */
	uint64_t truncated;
	const struct tick_site *sites;
	uint32_t nr_sites;
	uint32_t nr_suspects;
	const char *suspects_json;	/* "\"suspects\":[...]" as in dhatTrace; may be NULL */
};

#endif
