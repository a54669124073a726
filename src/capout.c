// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * What a capture writes: its DHAT document (and snapshots of it while it
 * runs), the conversions of it, and what scripts read once it is written.
 * They read the model and the reporter's numbers, never the probes.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "accounting.h"
#include "capgate.h"
#include "capout.h"
#include "convert.h"
#include "dhatfile.h"
#include "dhat_json.h"
#include "interrupt.h"
#include "log.h"
#include "report.h"
#include "summary.h"
#include "symbolizer.h"
#include "util.h"

/* To path, or o->out_fd if path is NULL; 0 or -errno, *step saying what
 * failed.  A snapshot cannot be abandoned (a signal ends the capture). */
static struct dt_doc doc_of(const struct capture_opts *o, const char *path,
			    struct reporter *rep, uint64_t t_end)
{
	return (struct dt_doc){
		.cmd = o->t->cmdline,
		.pid = o->t->pid,
		.t_end = t_end,
		.note = reporter__loss_note(rep, !o->t->launched),
		.stats = reporter__stats,
		.json = reporter__json,
		.stats_ctx = rep,
		.abandon = path == o->output ? interrupt__abandoned() : NULL,
	};
}

int capout__write(const struct capture_opts *o, const char *path, struct acct *a,
		  struct symbolizer *sym, struct reporter *rep, uint64_t t_end, const char **step)
{
	struct dt_doc doc = doc_of(o, path, rep, t_end);

	if (!path)
		return dhat_json__write_fd(o->out_fd, a, &doc, symbolizer__describe, sym, step);
	return dhat_json__write(path, a, &doc, symbolizer__describe, sym, step);
}

/*
 * SIGUSR1 or --snapshot-every: the capture so far as a DHAT file of its
 * own, OUT.snapshot.N.json, written whole or not at all, while the capture
 * goes on (the ring waits meanwhile: a large capture may lose events then,
 * counted).
 */
void capout__snapshot(void *ctx, uint64_t now)
{
	struct capout_snapper *s = ctx;
	char tag[32], path[PATH_MAX];
	const char *step;
	uint64_t t_end;
	int err;

	if (s->o->out_fd >= 0) {
		if (!s->told)
			wlog("no snapshot: the document goes to standard output (-o -)\n");
		s->told = true;
		return;
	}
	snprintf(tag, sizeof(tag), "snapshot.%u", s->n + 1);
	path_tagged(s->o->output, tag, path, sizeof(path));
	t_end = acct__snapshot_begin(s->a, now);
	if (!t_end) {
		elog("no snapshot: out of memory\n");
		return;
	}
	err = capout__write(s->o, path, s->a, s->sym, s->rep, t_end - s->t0, &step);
	acct__snapshot_end(s->a);
	if (err) {
		elog("cannot write the snapshot %s: %s failed: %s\n", path, step, strerror(-err));
		return;
	}
	s->n++;
	elog("snapshot %u: wrote %s\n", s->n, path);
}

/*
 * --pprof and --folded: the DHAT document converted by the code that
 * converts any DHAT file (`dhat-trace report --pprof`), read back from the
 * file just written (or rendered again, for -o -).  0 or -errno.
 */
int capout__convert(const struct capture_opts *o, struct acct *a, struct symbolizer *sym,
		    struct reporter *rep, uint64_t t_end)
{
	struct dt_doc doc = doc_of(o, NULL, rep, t_end);
	struct dhatfile *f;
	char why[256], *text;
	int err;

	if (!o->pprof && !o->folded)
		return 0;
	if (o->out_fd < 0) {
		f = dhatfile__read(o->output, why, sizeof(why));
	} else {
		text = dhat_json__render(a, &doc, symbolizer__describe, sym);
		errno = ENOMEM;
		snprintf(why, sizeof(why), "out of memory");
		f = text ? dhatfile__parse(text, strlen(text), why, sizeof(why)) : NULL;
		free(text);
	}
	if (!f) {
		err = -errno;
		elog("cannot convert the capture for --pprof or --folded: %s\n", why);
		return err;
	}
	err = convert__write(f, &(struct convert_opts){ .pprof = o->pprof, .folded = o->folded,
		.folded_weight = o->cfg->folded_weight, .quiet = o->cfg->verbosity < 0 });
	dhatfile__free(f);
	return err;
}

/* The CI gates and the summary for scripts, once the file is written. */
void capout__after(const struct capture_opts *o, struct capture_end *e, struct acct *a,
		   struct symbolizer *sym, struct reporter *rep, int status)
{
	const struct dt_config *cfg = o->cfg;
	struct gate_result leak = { 0 }, peak = { 0 };
	struct summary_info info;
	bool gated = gate_args__any(&cfg->gate);
	int err;

	if (gated) {
		err = capgate__run(cfg, a, sym, &leak, &peak);
		if (err)
			elog("cannot check the gates: %s\n", strerror(-err));
		e->gate_failed = err || leak.failed || peak.failed;
	}
	info = (struct summary_info){
		.cmd = o->t->cmdline, .pid = o->t->pid,
		.dhat_file = o->out_fd >= 0 ? NULL : o->output, .t_end_ns = e->t_end - e->t0,
		.leak = gated ? &leak : NULL, .peak = gated ? &peak : NULL,
		.exited = o->t->launched && e->end == LOOP_TARGET_EXIT, .status = status };
	if (cfg->report_json)
		summary__line(o->report_out ? o->report_out : stderr, a, rep, &info);
	if (!o->summary)
		return;
	err = summary__write(o->summary, a, rep, &info);
	if (err)
		elog("cannot write %s: %s\n", o->summary, strerror(-err));
}
