/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_CONVERT_H
#define DT_CONVERT_H

#include "dhatfile.h"

/* The formats a DHAT file converts to; NULL: not asked for. */
struct convert_opts {
	const char *pprof;	/* pprof.h */
	const char *folded;	/* folded.h */
	int folded_weight;	/* enum folded_weight */
	bool quiet;		/* no "wrote FILE" line */
};

/*
 * Each output asked for, from f: one converter whether f was just captured
 * or read by `dhat-trace report`.  A failure is said on stderr, the others
 * are still written.  0 or the first -errno.
 */
int convert__write(const struct dhatfile *f, const struct convert_opts *o);

#endif
