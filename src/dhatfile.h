/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_DHATFILE_H
#define DT_DHATFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A DHAT v2 file (Valgrind's, dhat-rs's, dhat-trace's) read with cJSON and
 * checked by the rules of Valgrind's viewer, dh_view.js (dhat-format.md §5):
 * what it rejects is rejected here with the same reason.  Beyond the viewer,
 * the numbers a reader adds up must be non-negative integers and every
 * frame index must name a string of ftbl, where the viewer would go on with
 * NaN or "undefined".
 */
struct dhat_pp {
	uint64_t tb, tbk;	/* total bytes, blocks */
	uint64_t tl;		/* total lifetimes (tu); 0 when absent */
	uint64_t mb, mbk, gb, gbk, eb, ebk;	/* 0 without block lifetimes (bklt) */
	const char *const *frames;	/* innermost first, as stored ("0xADDR: fn (file:line)") */
	uint32_t nr_frames;
};

struct dhat_totals {
	uint64_t tb, tbk, gb, gbk, eb, ebk, tl;
};

/* One of dhat-trace's leak suspects, best first: read from the optional
 * array dhatTrace.suspects, whose entries are objects with "pp" (an index
 * into pps) and "reason" (one line of text).  Entries of another shape are
 * skipped. */
struct dhat_suspect {
	uint32_t pp;
	const char *reason;
};

struct dhatfile_info {
	const char *mode, *cmd, *tu;	/* "" when not a string */
	uint64_t te, tg;		/* tg: 0 without bklt */
	bool bklt;			/* block lifetimes: t-gmax, t-end, lifetimes */
	bool dhat_trace;		/* has a dhatTrace object */
};

struct dhatfile;

/* NULL with errno set and why holding one line (no file name, no newline):
 * EINVAL for content that is not a valid DHAT file, else the I/O error. */
struct dhatfile *dhatfile__read(const char *path, char *why, size_t why_len);
/* The same for a document in memory (need not be NUL-terminated). */
struct dhatfile *dhatfile__parse(const char *buf, size_t len, char *why, size_t why_len);
void dhatfile__free(struct dhatfile *f);

const struct dhatfile_info *dhatfile__info(const struct dhatfile *f);
/* Sums over all program points, as the viewer's root node shows them. */
const struct dhat_totals *dhatfile__totals(const struct dhatfile *f);
uint32_t dhatfile__pp_count(const struct dhatfile *f);
const struct dhat_pp *dhatfile__pp(const struct dhatfile *f, uint32_t i);
/* Suspects whose pp exists; *skipped counts the malformed entries. */
uint32_t dhatfile__suspects(const struct dhatfile *f, const struct dhat_suspect **out,
			    uint32_t *skipped);

#endif
