// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <time.h>
#include "jsonstr.h"
#include "reportjson.h"
#include "util.h"

void reportjson__begin(FILE *f, const char *type, int pid)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	/* Wall-clock time, UTC: what a pipeline orders and joins lines by. */
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "{\"type\":\"%s\",\"time\":\"%s.%03ldZ\",\"pid\":%d,", type, when,
		ts.tv_nsec / 1000000, pid);
}

void reportjson__end(FILE *f)
{
	fputs("}\n", f);
	fflush(f);
}

static void sites(FILE *f, const struct tick *t)
{
	uint32_t i;

	fputs(",\"sites\":[", f);
	for (i = 0; i < t->nr_sites; i++) {
		const struct tick_site *s = &t->sites[i];

		fprintf(f, "%s{\"rank\":%u,\"pp\":%u,\"bytes\":%llu,\"blocks\":%llu,"
			   "\"change_bytes\":%lld,\"site\":", i ? "," : "", i + 1, s->pp,
			(unsigned long long)s->bytes, (unsigned long long)s->blocks,
			(long long)(s->bytes - s->last_bytes));
		jsonstr__put(f, s->label);
		fputc('}', f);
	}
	fputc(']', f);
}

void reportjson__tick(FILE *f, const struct tick *t)
{
	const struct dt_totals *tot = t->tot;

	reportjson__begin(f, "report", t->pid);
	fprintf(f, "\"reportVersion\":1,\"t_us\":%llu,\"live\":{\"bytes\":%llu,\"blocks\":%llu},"
		   "\"peak\":{\"bytes\":%llu,\"blocks\":%llu,\"t_us\":%llu},"
		   "\"total\":{\"bytes\":%llu,\"blocks\":%llu,\"frees\":%llu},"
		   "\"allocs_per_s\":%.1f,\"frees_per_s\":%.1f,\"bytes_per_s\":%.1f,"
		   "\"lost_events\":%llu,\"truncated_stacks\":",
		(unsigned long long)(t->t_ns / NSEC_PER_USEC), (unsigned long long)tot->curr_b,
		(unsigned long long)tot->curr_bk, (unsigned long long)tot->max_b,
		(unsigned long long)tot->max_bk, (unsigned long long)(tot->t_gmax / NSEC_PER_USEC),
		(unsigned long long)tot->tb, (unsigned long long)tot->tbk,
		(unsigned long long)t->frees, t->allocs_per_s, t->frees_per_s, t->bytes_per_s,
		(unsigned long long)t->lost_events);
	if (t->unwinding)
		fprintf(f, "%llu", (unsigned long long)t->truncated);
	else
		fputs("null", f);
	sites(f, t);
	fprintf(f, ",%s", t->suspects_json ? t->suspects_json : "\"suspects\":[]");
	reportjson__end(f);
}
