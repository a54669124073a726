// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "frametext.h"
#include "gate.h"
#include "util.h"

struct gate_sum {
	uint64_t bytes, blocks, ignored_bytes;
	uint32_t sites, ignored_sites;
};

struct kept {
	struct gate_site s;
	size_t seq;		/* order of arrival: ties keep it */
};

struct gate {
	struct gate_opts o;
	struct gate_sum leak, peak;
	/* Sites that count toward a gate (eb or gb not 0), not ignored. */
	struct kept *sites;
	size_t nr, cap;
};

struct gate *gate__new(const struct gate_opts *opts)
{
	struct gate *g = calloc(1, sizeof(*g));

	if (g)
		g->o = *opts;
	return g;
}

void gate__free(struct gate *g)
{
	if (!g)
		return;
	free(g->sites);
	free(g);
}

static void count(struct gate_sum *s, uint64_t bytes, uint64_t blocks, bool ignored)
{
	if (!bytes)
		return;
	if (ignored) {
		s->ignored_bytes = sat_add(s->ignored_bytes, bytes);
		s->ignored_sites++;
		return;
	}
	s->bytes = sat_add(s->bytes, bytes);
	s->blocks = sat_add(s->blocks, blocks);
	s->sites++;
}

int gate__add(struct gate *g, const struct gate_site *site)
{
	bool leaks = g->o.leak && site->eb, peaks = g->o.peak && site->gb, ignored;

	if (!leaks && !peaks)
		return 0;
	ignored = patterns__match(g->o.ignore, site->frames, site->nr_frames);
	if (leaks)
		count(&g->leak, site->eb, site->ebk, ignored);
	if (peaks)
		count(&g->peak, site->gb, site->gbk, ignored);
	if (ignored)
		return 0;
	if (array_reserve(&g->sites, &g->cap, g->nr + 1, sizeof(*g->sites)))
		return -ENOMEM;
	g->sites[g->nr] = (struct kept){ *site, g->nr };
	g->nr++;
	return 0;
}

bool gate__failed(const struct gate *g)
{
	return (g->o.leak && g->leak.bytes > g->o.leak_limit) ||
	       (g->o.peak && g->peak.bytes > g->o.peak_limit);
}

static struct gate_result result_of(const struct gate_sum *s, bool on, uint64_t limit)
{
	return (struct gate_result){ .on = on, .failed = on && s->bytes > limit, .limit = limit,
				     .bytes = s->bytes, .blocks = s->blocks,
				     .ignored_bytes = s->ignored_bytes, .sites = s->sites,
				     .ignored_sites = s->ignored_sites };
}

void gate__results(const struct gate *g, struct gate_result *leak, struct gate_result *peak)
{
	*leak = result_of(&g->leak, g->o.leak, g->o.leak_limit);
	*peak = result_of(&g->peak, g->o.peak, g->o.peak_limit);
}

static int by_eb(const void *a, const void *b)
{
	const struct kept *x = a, *y = b;

	if (x->s.eb != y->s.eb)
		return x->s.eb < y->s.eb ? 1 : -1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_gb(const void *a, const void *b)
{
	const struct kept *x = a, *y = b;

	if (x->s.gb != y->s.gb)
		return x->s.gb < y->s.gb ? 1 : -1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void verdict(struct gate *g, FILE *out, const char *prefix, const char *name,
		    const char *when, const struct gate_sum *s, uint64_t limit, bool eb)
{
	char b1[32], b2[32], b3[32], b4[32], label[512];
	bool failed = s->bytes > limit;
	unsigned int shown = 0;
	size_t i;

	fprintf(out, "%s%s: %s: %s bytes in %s blocks in %u sites at %s (limit %s bytes)", prefix,
		name, failed ? "FAIL" : "ok", fmt_thousands(s->bytes, b1, 32),
		fmt_thousands(s->blocks, b2, 32), s->sites, when, fmt_thousands(limit, b3, 32));
	if (s->ignored_sites)
		fprintf(out, "; ignored: %s bytes in %u sites", fmt_thousands(s->ignored_bytes, b4, 32),
			s->ignored_sites);
	fputc('\n', out);
	if (!failed)
		return;
	qsort(g->sites, g->nr, sizeof(*g->sites), eb ? by_eb : by_gb);
	for (i = 0; i < g->nr; i++) {
		const struct gate_site *st = &g->sites[i].s;
		uint64_t bytes = eb ? st->eb : st->gb, blocks = eb ? st->ebk : st->gbk;

		if (!bytes)
			break;
		if (shown++ >= g->o.show)
			continue;
		fprintf(out, "%s  %14s bytes in %9s blocks: %s\n", prefix,
			fmt_thousands(bytes, b1, 32), fmt_thousands(blocks, b2, 32),
			st->label ? st->label :
			frametext__label(st->frames, st->nr_frames, 2, label, sizeof(label)));
	}
	if (shown > g->o.show)
		fprintf(out, "%s  ... and %u more sites\n", prefix, shown - g->o.show);
}

void gate__report(struct gate *g, FILE *out, const char *prefix)
{
	if (g->o.leak)
		verdict(g, out, prefix, "leak check", "t-end", &g->leak, g->o.leak_limit, true);
	if (g->o.peak)
		verdict(g, out, prefix, "peak check", "t-gmax", &g->peak, g->o.peak_limit, false);
}
