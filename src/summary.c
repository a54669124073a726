// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "dhat_json.h"
#include "owner.h"
#include "summary.h"
#include "util.h"

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

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

static void render(FILE *f, struct acct *a, struct reporter *rep, const struct summary_info *in)
{
	const struct dt_totals *t = pps__totals(acct__pps(a));
	const char *names[DT_MAX_STATS];
	uint64_t values[DT_MAX_STATS];
	char *suspects = reporter__json(rep);
	int i, n = reporter__stats(rep, names, values);

	fprintf(f, "{\"summaryVersion\":1,\"tool\":\"dhat-trace %s\",\"cmd\":", DT_VERSION);
	json_str(f, in->cmd);
	fprintf(f, ",\"pid\":%d,\"dhat_file\":", in->pid);
	if (in->dhat_file)
		json_str(f, in->dhat_file);
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
	fprintf(f, "}\n");
}

int summary__write(const char *path, struct acct *a, struct reporter *rep,
		   const struct summary_info *info)
{
	char tmp[PATH_MAX];
	int fd, err = 0;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	/* mkstemp's 0600 is for secrets; this is a report, like the DHAT file. */
	{
		mode_t um = umask(0);

		umask(um);
		fchmod(fd, 0666 & ~um);
	}
	owner__give(fd, path);
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	render(f, a, rep, info);
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}
