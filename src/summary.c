// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dhat_json.h"
#include "jsonstr.h"
#include "outfile.h"
#include "reportjson.h"
#include "summary.h"
#include "util.h"

static void gate_json(FILE *f, const char *name, const struct gate_result *g)
{
	fprintf(f, "\"%s\":", name);
	if (!g || !g->on) {
		fprintf(f, "null");
		return;
	}
	fprintf(f, "{\"failed\":%s,\"limit_bytes\":%llu,\"bytes\":%llu,\"blocks\":%llu,"
		   "\"sites\":%u,\"ignored_bytes\":%llu,\"ignored_sites\":%u}",
		g->failed ? "true" : "false", (unsigned long long)g->limit,
		(unsigned long long)g->bytes, (unsigned long long)g->blocks, g->sites,
		(unsigned long long)g->ignored_bytes, g->ignored_sites);
}

/* The document, or (line) the same members as a --report-format=json line. */
static void render(FILE *f, struct acct *a, struct reporter *rep, const struct summary_info *in,
		   bool line)
{
	const struct dt_totals *t = pps__totals(acct__pps(a));
	const char *names[DT_MAX_STATS];
	uint64_t values[DT_MAX_STATS];
	char *suspects = reporter__json(rep);
	int i, n = reporter__stats(rep, names, values);

	if (line)
		reportjson__begin(f, "summary", in->pid);
	else
		fputc('{', f);
	fprintf(f, "\"summaryVersion\":1,\"tool\":\"dhat-trace %s\",\"cmd\":", DT_VERSION);
	jsonstr__put(f, in->cmd);
	if (!line)
		fprintf(f, ",\"pid\":%d", in->pid);
	fprintf(f, ",\"dhat_file\":");
	if (in->dhat_file)
		jsonstr__put(f, in->dhat_file);
	else
		fprintf(f, "null");
	fprintf(f, ",\"duration_us\":%llu", (unsigned long long)(in->t_end_ns / NSEC_PER_USEC));
	fprintf(f, ",\"total\":{\"bytes\":%llu,\"blocks\":%llu}", (unsigned long long)t->tb,
		(unsigned long long)t->tbk);
	fprintf(f, ",\"t_gmax\":{\"bytes\":%llu,\"blocks\":%llu,\"us\":%llu}",
		(unsigned long long)t->max_b, (unsigned long long)t->max_bk,
		(unsigned long long)(t->t_gmax / NSEC_PER_USEC));
	fprintf(f, ",\"t_end\":{\"bytes\":%llu,\"blocks\":%llu}", (unsigned long long)t->curr_b,
		(unsigned long long)t->curr_bk);
	fprintf(f, ",%s", suspects ? suspects : "\"suspects\":[]");
	free(suspects);
	fprintf(f, ",\"counters\":{");
	for (i = 0; i < n; i++)
		fprintf(f, "%s\"%s\":%llu", i ? "," : "", names[i], (unsigned long long)values[i]);
	fprintf(f, "},\"gates\":{");
	gate_json(f, "fail_on_leak", in->leak);
	fputc(',', f);
	gate_json(f, "max_peak", in->peak);
	fprintf(f, "},\"command_status\":");
	if (in->exited)
		fprintf(f, "%d", in->status);
	else
		fprintf(f, "null");
	if (line)
		reportjson__end(f);
	else
		fprintf(f, "}\n");
}

int summary__write(const char *path, struct acct *a, struct reporter *rep,
		   const struct summary_info *info)
{
	struct outfile o;
	int err = outfile__open(&o, path);

	if (err)
		return err;
	render(o.f, a, rep, info, false);
	return outfile__commit(&o);
}

void summary__line(FILE *f, struct acct *a, struct reporter *rep, const struct summary_info *info)
{
	render(f, a, rep, info, true);
}
