/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_REPORT_H
#define DT_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "accounting.h"
#include "dhat_json.h"
#include "symbolizer.h"

struct reporter;

struct reporter *reporter__new(struct acct *a, struct symbolizer *sym,
			       const volatile uint64_t *bpf_counters, unsigned int top);
void reporter__free(struct reporter *r);
struct unwinder;
/* With DWARF unwinding: its table sizes go into the summary and stats. */
void reporter__set_unwinder(struct reporter *r, const struct unwinder *uw);
struct tview;
/* Its counters (objects, unmaps, unplaced frames) go into the summary and stats. */
void reporter__set_view(struct reporter *r, const struct tview *tv);
/* The target's resident memory when the capture started and ended (0: not
 * known): growth the probed allocator does not explain is said. */
void reporter__set_rss(struct reporter *r, uint64_t start, uint64_t end);
/* --follow-forks: traced(ctx) says how many of the target's children were
 * traced (NULL: not followed); supervised: a launched command's child,
 * whose children the dhat-trace that started this one follows. */
void reporter__set_forks(struct reporter *r, uint64_t (*traced)(void *ctx), void *ctx,
			 bool supervised);
/* Where the reports go besides (or instead of) the text on stderr. */
struct report_outputs {
	FILE *json;		/* --report-format=json: a JSON line per report; NULL: text */
	FILE *text;		/* else where the text goes; NULL: stderr */
	const char *metrics;	/* --metrics-file, rewritten at each report; NULL: none */
	int pid;		/* the target, for both */
	const char *cmd;
};
void reporter__set_outputs(struct reporter *r, const struct report_outputs *o);
/* The periodic peak report, now: ns on the tracer clock. */
void reporter__periodic(struct reporter *r, uint64_t now);
/* The capture has ended at now: the metrics file's last update. */
void reporter__final(struct reporter *r, uint64_t now);
/* Writing the output starts: its cost (output_write_us) counts from here. */
void reporter__output_begin(struct reporter *r);
/* The closing summary in DHAT's words, plus every loss counter; after the
 * output is written, since writing it describes the frames it counts. */
void reporter__summary(struct reporter *r);
/* dt_stats_fn (ctx: the reporter): counters for the JSON's dhatTrace
 * object, at most DT_MAX_STATS; returns how many. */
int reporter__stats(void *ctx, const char **names, uint64_t *values);
/* Reports tick (for the leak suspects) but print nothing: -q. */
void reporter__set_quiet(struct reporter *r, bool quiet);
/* dt_json_fn (ctx: the reporter): the leak suspects for dhatTrace. */
char *reporter__json(void *ctx);
/* A note for the JSON's cmd field: the losses of an attached capture, and
 * the memory cap if it was reached; NULL if there is nothing to say. */
const char *reporter__loss_note(struct reporter *r, bool attached);
/* For acct__set_max_memory (ctx: the reporter): says once, at once, that
 * the cap was reached. */
void reporter__on_cap(void *ctx);
/* Events lost so far (as lost_events in the stats), for the status line. */
uint64_t reporter__lost(const struct reporter *r);

#endif
