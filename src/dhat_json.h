/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_DHAT_JSON_H
#define DT_DHAT_JSON_H

#include <signal.h>
#include <stdint.h>
#include "accounting.h"

/*
 * Frame strings for the return address ip, innermost (inlined) first, e.g.
 * "0x401136: leak_small (leak.c:43)".  The strings stay owned by the callee
 * and must live until the document is written.  Returns how many (>= 1).
 */
typedef int (*dt_describe_fn)(void *ctx, uint64_t ip, const char *const **strs);

/* Counters for the extra "dhatTrace" object: fills at most DT_MAX_STATS
 * name/value pairs, returns how many. */
#define DT_MAX_STATS 96
typedef int (*dt_stats_fn)(void *ctx, const char **names, uint64_t *values);
/* Members for the dhatTrace object as JSON text ("name":value,...), malloc'd;
 * NULL if there are none (or no memory). */
typedef char *(*dt_json_fn)(void *ctx);

struct dt_doc {
	const char *cmd;	/* command line of the target */
	int pid;
	uint64_t t_end;		/* ns since the capture started */
	const char *note;	/* appended to cmd in brackets (losses), may be NULL */
	/* name/value pairs written into the extra "dhatTrace" object */
	const char *const *stat_names;
	const uint64_t *stat_values;
	int nr_stats;
	/* More of them, asked for once the frames and program points are
	 * written (the object is the document's last), may be NULL. */
	dt_stats_fn stats;
	dt_json_fn json;	/* more members, after the numbers; may be NULL */
	void *stats_ctx;	/* for both */
	/* Set (by a signal handler): stop writing and fail with -ECANCELED,
	 * leaving no file.  May be NULL. */
	const volatile sig_atomic_t *abandon;
};

/* The whole DHAT v2 document as a string (malloc'd), NULL on ENOMEM.
 * Every distinct ip is described once per document. */
char *dhat_json__render(struct acct *a, const struct dt_doc *doc, dt_describe_fn describe,
			void *ctx);
/* Render and write to path through a temporary file, named only once it is
 * complete and synced (rename() or linkat()), so a failure (full disk,
 * SIGKILL, ...) never leaves a partial file under path; where the file
 * system has O_TMPFILE, never a temporary either.  0 or -errno; *failed_step
 * says what failed. */
int dhat_json__write(const char *path, struct acct *a, const struct dt_doc *doc,
		     dt_describe_fn describe, void *ctx, const char **failed_step);
/* The same document as it is rendered on fd (standard output, a pipe), which
 * stays open: a failure leaves what was written. */
int dhat_json__write_fd(int fd, struct acct *a, const struct dt_doc *doc,
			dt_describe_fn describe, void *ctx, const char **failed_step);

#endif
