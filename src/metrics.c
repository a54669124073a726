// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <stdio.h>
#include <string.h>
#include "metrics.h"
#include "outfile.h"
#include "util.h"

/* Label values longer than this are cut (at a character boundary): a site
 * label is for a legend, not for the whole stack. */
#define LABEL_MAX 200

/* A label value in quotes: '\', '"' and newline escaped as the format
 * wants, other control characters as '?'. */
static void label_value(FILE *f, const char *s)
{
	size_t n = strlen(s), i;

	if (n > LABEL_MAX) {
		n = LABEL_MAX;
		/* Not in the middle of a UTF-8 sequence: Prometheus wants UTF-8. */
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	fputc('"', f);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' || c == '"')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else
			fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP dhat_trace_%s %s\n# TYPE dhat_trace_%s %s\n", name, help, name, type);
}

/* A count: exact, where a double would round above 2^53. */
static void one(FILE *f, const struct tick *t, const char *name, const char *type,
		const char *help, uint64_t v)
{
	family(f, name, type, help);
	fprintf(f, "dhat_trace_%s{pid=\"%d\"} %llu\n", name, t->pid, (unsigned long long)v);
}

/* Seconds and rates. */
static void real(FILE *f, const struct tick *t, const char *name, const char *help, double v)
{
	family(f, name, "gauge", help);
	fprintf(f, "dhat_trace_%s{pid=\"%d\"} %.3f\n", name, t->pid, v);
}

static void sites(FILE *f, const struct tick *t, const char *name, const char *help,
		  bool blocks)
{
	uint32_t i, n = t->nr_sites < METRICS_MAX_SITES ? t->nr_sites : METRICS_MAX_SITES;

	family(f, name, "gauge", help);
	for (i = 0; i < n; i++) {
		fprintf(f, "dhat_trace_%s{pid=\"%d\",rank=\"%u\",site=", name, t->pid, i + 1);
		label_value(f, t->sites[i].label);
		fprintf(f, "} %llu\n", (unsigned long long)(blocks ? t->sites[i].blocks :
								      t->sites[i].bytes));
	}
}

static void render(FILE *f, const struct tick *t)
{
	const struct dt_totals *tot = t->tot;

	family(f, "target_info", "gauge", "The traced process: its pid and command line.");
	fprintf(f, "dhat_trace_target_info{pid=\"%d\",command=", t->pid);
	label_value(f, t->cmd ? t->cmd : "");
	fprintf(f, "} 1\n");
	real(f, t, "capture_seconds", "Seconds since the capture started.",
	    (double)t->t_ns / NSEC_PER_SEC);
	one(f, t, "capture_ended", "gauge", "1 once the capture has ended (the last update).",
	    t->final);
	one(f, t, "live_bytes", "gauge", "Bytes in heap blocks live now.", tot->curr_b);
	one(f, t, "live_blocks", "gauge", "Heap blocks live now.", tot->curr_bk);
	one(f, t, "peak_bytes", "gauge", "Bytes live at the peak so far (t-gmax).",
	    tot->max_b);
	one(f, t, "peak_blocks", "gauge", "Blocks live at the peak so far (t-gmax).",
	    tot->max_bk);
	real(f, t, "peak_time_seconds", "When the peak was, in seconds since the capture "
	    "started.", (double)tot->t_gmax / NSEC_PER_SEC);
	one(f, t, "allocations_total", "counter", "Blocks allocated (a realloc counts as one).",
	    tot->tbk);
	one(f, t, "allocated_bytes_total", "counter", "Bytes allocated.", tot->tb);
	one(f, t, "frees_total", "counter", "Blocks freed (a realloc frees one).",
	    t->frees);
	real(f, t, "allocations_per_second", "Allocations per second since the report "
	    "before.", t->allocs_per_s);
	real(f, t, "frees_per_second", "Frees per second since the report before.",
	    t->frees_per_s);
	one(f, t, "lost_events_total", "counter", "Allocator calls whose record never reached "
	    "dhat-trace (ring buffer full, too many calls in flight).", t->lost_events);
	if (t->unwinding)
		one(f, t, "truncated_stacks_total", "counter", "Stacks whose DWARF unwinding ended "
		    "before their bottom.", t->truncated);
	one(f, t, "leak_suspects", "gauge", "Sites that look like leaks now (see the man page).",
	    t->nr_suspects);
	sites(f, t, "site_live_bytes", "Bytes live now in the sites with the most, by rank.",
	      false);
	sites(f, t, "site_live_blocks", "Blocks live now in the sites with the most live bytes, by "
	      "rank.", true);
}

int metrics__write(const char *path, const struct tick *t)
{
	struct outfile o;
	int err = outfile__open(&o, path);

	if (err)
		return err;
	render(o.f, t);
	return outfile__commit(&o);
}
