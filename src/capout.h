/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_CAPOUT_H
#define DT_CAPOUT_H

#include <stdbool.h>
#include <stdint.h>
#include "capture.h"

struct acct;
struct symbolizer;
struct reporter;

/* The DHAT document to path, or to o->out_fd if path is NULL; 0 or
 * -errno, *step saying what failed. */
int capout__write(const struct capture_opts *o, const char *path, struct acct *a,
		  struct symbolizer *sym, struct reporter *rep, uint64_t t_end, const char **step);

/* Snapshots while the capture runs: capout__snapshot(&snapper, now) is the
 * loop's snapshot callback. */
struct capout_snapper {
	const struct capture_opts *o;
	struct acct *a;
	struct symbolizer *sym;
	struct reporter *rep;
	uint64_t t0;
	unsigned int n;
	bool told;
};
void capout__snapshot(void *ctx, uint64_t now);

/* --pprof and --folded from the document just written; 0 or -errno. */
int capout__convert(const struct capture_opts *o, struct acct *a, struct symbolizer *sym,
		    struct reporter *rep, uint64_t t_end);

/* The CI gates and the summary for scripts (e->gate_failed set). */
void capout__after(const struct capture_opts *o, struct capture_end *e, struct acct *a,
		   struct symbolizer *sym, struct reporter *rep, int status);

#endif
