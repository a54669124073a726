/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_REPORT_H
#define DT_REPORT_H

#include <stdint.h>
#include "accounting.h"
#include "symbolizer.h"

#define DT_MAX_STATS 32

struct reporter;

struct reporter *reporter__new(struct acct *a, struct symbolizer *sym,
			       const volatile uint64_t *bpf_counters, unsigned int top);
void reporter__free(struct reporter *r);
struct unwinder;
/* With DWARF unwinding: its table sizes go into the summary and stats. */
void reporter__set_unwinder(struct reporter *r, const struct unwinder *uw);
/* The periodic peak report, now: ns on the tracer clock. */
void reporter__periodic(struct reporter *r, uint64_t now);
/* Describe every frame the output will show (before the summary and stats). */
void reporter__symbolize_all(struct reporter *r);
/* The closing summary in DHAT's words, plus every loss counter. */
void reporter__summary(struct reporter *r);
/* Counters for the JSON's dhatTrace object; returns how many. */
int reporter__stats(struct reporter *r, const char **names, uint64_t *values);
/* One line of losses for the JSON's cmd field, or NULL if nothing was lost. */
const char *reporter__loss_note(struct reporter *r);

#endif
