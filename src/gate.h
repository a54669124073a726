/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_GATE_H
#define DT_GATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "patterns.h"

/*
 * The CI gates of --fail-on-leak and --max-peak over a capture's call
 * sites, wherever they come from (a DHAT file for `check`, the live
 * accounting at the end of a capture): sites an ignore pattern matches do
 * not count; a gate fails when the rest hold more than its limit.
 */
struct gate_opts {
	bool leak;		/* --fail-on-leak: t-end bytes above leak_limit fail */
	uint64_t leak_limit;
	bool peak;		/* --max-peak: t-gmax bytes above peak_limit fail */
	uint64_t peak_limit;
	const struct patterns *ignore;	/* may be NULL */
	unsigned int show;	/* offending sites printed per gate */
};

struct gate_site {
	uint64_t eb, ebk, gb, gbk;
	const char *const *frames;	/* must live as long as the gate */
	uint32_t nr_frames;
	const char *label;	/* one line for it; NULL: its first frames */
};

struct gate;

struct gate *gate__new(const struct gate_opts *opts);
void gate__free(struct gate *g);
/* 0 or -ENOMEM. */
int gate__add(struct gate *g, const struct gate_site *site);
bool gate__failed(const struct gate *g);
/* A gate's numbers, for a machine-readable summary. */
struct gate_result {
	bool on, failed;
	uint64_t limit, bytes, blocks, ignored_bytes;
	uint32_t sites, ignored_sites;
};

void gate__results(const struct gate *g, struct gate_result *leak, struct gate_result *peak);
/* One verdict line per gate, then the offending sites by size, each line
 * starting with prefix. */
void gate__report(struct gate *g, FILE *out, const char *prefix);

#endif
