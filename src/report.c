// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "jsonstr.h"
#include "log.h"
#include "metrics.h"
#include "report.h"
#include "reportjson.h"
#include "sitelabel.h"
#include "suspects.h"
#include "targetview.h"
#include "tick.h"
#include "unwind.h"
#include "util.h"

struct reporter {
	struct acct *a;
	struct symbolizer *sym;
	const volatile uint64_t *bpf;
	const struct unwinder *uw;
	const struct tview *tv;
	uint64_t rss_start, rss_end;
	unsigned int top;
	uint64_t last_t, last_tb, last_tbk, last_frees;
	FILE *json;			/* --report-format=json: the lines go there */
	FILE *text;			/* else the text reports: stderr or --report-file */
	const char *metrics;		/* --metrics-file */
	bool metrics_failed;		/* said once, until it works again */
	int pid;
	const char *cmd;
	uint64_t periodic_ns_max;	/* CPU time of the dearest periodic report */
	uint64_t output_t0;		/* when reporter__output_begin was called */
	struct suspects *sus;
	bool quiet;			/* ticks without printing */
	uint64_t (*forks)(void *ctx);	/* reporter__set_forks */
	void *forks_ctx;
	bool forks_supervised;
	char note[512];
};

#define MAX_SUSPECTS 5

struct reporter *reporter__new(struct acct *a, struct symbolizer *sym,
			       const volatile uint64_t *bpf_counters, unsigned int top)
{
	struct reporter *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->a = a;
	r->sym = sym;
	r->bpf = bpf_counters;
	r->top = top;
	r->last_t = acct__t0(a);
	r->text = stderr;
	r->sus = suspects__new();
	if (!r->sus) {
		free(r);
		return NULL;
	}
	return r;
}

void reporter__free(struct reporter *r)
{
	if (!r)
		return;
	suspects__free(r->sus);
	free(r);
}

void reporter__set_quiet(struct reporter *r, bool quiet)
{
	r->quiet = quiet;
}

void reporter__set_unwinder(struct reporter *r, const struct unwinder *uw)
{
	r->uw = uw;
}

void reporter__set_forks(struct reporter *r, uint64_t (*traced)(void *ctx), void *ctx,
			 bool supervised)
{
	r->forks = traced;
	r->forks_ctx = ctx;
	r->forks_supervised = supervised;
}

static uint64_t forks_traced(const struct reporter *r)
{
	uint64_t n = r->forks ? r->forks(r->forks_ctx) : 0;

	return n < r->bpf[DT_CNT_FORKS] ? n : r->bpf[DT_CNT_FORKS];
}

static void forks_summary(const struct reporter *r)
{
	unsigned long long n = r->bpf[DT_CNT_FORKS], traced = forks_traced(r);

	if (!n)
		return;
	if (r->forks_supervised)
		elog("%llu child processes forked during the capture: followed by the dhat-trace "
		     "that started this capture (its last line counts them)\n", n);
	else if (r->forks)
		elog("%llu child processes forked during the capture: %llu traced (a file each, "
		     "--follow-forks), %llu not traced\n", n, traced, n - traced);
	else
		wlog("%llu child processes forked during the capture were not traced (dhat-trace "
		     "follows the one process; --follow-forks traces them too)\n", n);
}

void reporter__set_view(struct reporter *r, const struct tview *tv)
{
	r->tv = tv;
}

void reporter__set_rss(struct reporter *r, uint64_t start, uint64_t end)
{
	r->rss_start = start;
	r->rss_end = end;
}

/*
 * Memory the probes cannot see (Go's heap in a cgo program, a JIT's arena,
 * mmap called directly): the process grew far more than its live blocks.
 */
#define RSS_UNSEEN_MIN (32ULL << 20)

/* RSS growth beyond the live blocks when it is the larger part by far, else 0. */
static uint64_t unseen_bytes(const struct reporter *r)
{
	uint64_t grew, live = pps__totals(acct__pps(r->a))->curr_b;

	if (!r->rss_start || !r->rss_end || r->rss_end <= r->rss_start)
		return 0;
	grew = r->rss_end - r->rss_start;
	if (grew < RSS_UNSEEN_MIN || grew < 4 * live)
		return 0;
	return grew - live;
}

static void unseen_summary(const struct reporter *r)
{
	uint64_t unseen = unseen_bytes(r), live = pps__totals(acct__pps(r->a))->curr_b;

	if (!unseen)
		return;
	wlog("the target's resident memory grew by %.1f MiB during the capture, but only %.1f "
	     "MiB of blocks from the probed allocator are live: most of its memory comes from "
	     "elsewhere (a runtime's own heap such as Go's, a JIT, or mmap called directly), "
	     "which dhat-trace does not see\n", (double)(unseen + live) / (1 << 20),
	     (double)live / (1 << 20));
}

/* Frames named ??? for a reason the target view knows: say each reason. */
static void view_summary(const struct reporter *r, const struct symbolizer_stats *ss)
{
	const struct tview_stats *v = tview__stats(r->tv);

	if (v->frames_not_code)
		wlog("%llu stacks ended at an address no code can have (a frame-pointer walk "
		     "through code built without frame pointers): cut there\n",
		     (unsigned long long)v->frames_not_code);
	if (!ss->gone && !ss->unreadable && !v->modules_unopened && !v->log_overflows)
		return;
	wlog("frames named ???: %llu in code unmapped before it could be read, %llu in objects "
	     "whose file could not be opened as the target maps it (%llu objects), %llu in no "
	     "mapping%s\n",
	     (unsigned long long)ss->gone, (unsigned long long)ss->unreadable,
	     (unsigned long long)v->modules_unopened, (unsigned long long)ss->no_module,
	     v->log_overflows ? "; unmaps came faster than they were read: every object was "
				"read again" : "");
}

/* Unwinds that ended for this reason, in BPF or where user space finished
 * a stack cut by the load window (unwinder__complete). */
static uint64_t cut(const struct reporter *r, enum dt_counter c)
{
	return r->bpf[c] + (r->uw ? unwinder__stats(r->uw)->tails_cut[c] : 0);
}

/* Unwinds that ended before the bottom of the stack. */
static uint64_t truncated(const struct reporter *r)
{
	return cut(r, DT_CNT_UW_NO_TABLE) + cut(r, DT_CNT_UW_WINDOW) +
	       cut(r, DT_CNT_UW_READ_FAULT) + cut(r, DT_CNT_UW_DEPTH) +
	       cut(r, DT_CNT_UW_BAD_RULE);
}

static void unwind_summary(const struct reporter *r)
{
	const struct unwinder_stats *u = unwinder__stats(r->uw);

	elog("stacks: %llu unwound, %llu truncated (no unwind table %llu, library loaded a "
	     "moment before %llu, unreadable stack %llu, --max-frames %llu, unsupported rule "
	     "%llu); unwind tables: %llu objects (%llu without CFI), %llu rows, %.1f MiB\n",
	     (unsigned long long)r->bpf[DT_CNT_UW_STACKS], (unsigned long long)truncated(r),
	     (unsigned long long)cut(r, DT_CNT_UW_NO_TABLE),
	     (unsigned long long)cut(r, DT_CNT_UW_WINDOW),
	     (unsigned long long)cut(r, DT_CNT_UW_READ_FAULT),
	     (unsigned long long)cut(r, DT_CNT_UW_DEPTH),
	     (unsigned long long)cut(r, DT_CNT_UW_BAD_RULE), (unsigned long long)u->objects,
	     (unsigned long long)u->objects_without_cfi, (unsigned long long)u->rows,
	     (double)u->table_bytes / (1 << 20));
}

/* Calls whose record never reached us. */
static uint64_t lost_events(const struct reporter *r)
{
	return r->bpf[DT_CNT_RB_DROP_ALLOC] + r->bpf[DT_CNT_RB_DROP_FREE] +
	       r->bpf[DT_CNT_PENDING_FULL] + r->bpf[DT_CNT_STALE_ENTRY];
}

uint64_t reporter__lost(const struct reporter *r)
{
	return lost_events(r);
}

/* Allocations attributed to the "stack not captured" program point. */
static uint64_t stackless(const struct reporter *r)
{
	return r->bpf[DT_CNT_STACK_FAIL] + acct__loss(r->a)->unknown_stacks;
}

static double secs(uint64_t ns)
{
	return (double)ns / NSEC_PER_SEC;
}

static void site_label(struct reporter *r, uint32_t pp, char *buf, size_t len)
{
	sitelabel__format(r->a, r->sym, pp, buf, len);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Site a before site b in the report: more live bytes, then lower index. */
static bool before(struct pps *pps, uint32_t a, uint32_t b)
{
	uint64_t x = pps__get(pps, a)->curr_b, y = pps__get(pps, b)->curr_b;

	return x > y || (x == y && a < b);
}

/* Put x in the min-heap heap[0..len) (root: the weakest) from slot j down. */
static void sift_down(struct pps *pps, uint32_t *heap, uint32_t len, uint32_t j, uint32_t x)
{
	uint32_t c;

	for (; (c = 2 * j + 1) < len; j = c) {
		if (c + 1 < len && before(pps, heap[c], heap[c + 1]))
			c++;
		if (!before(pps, x, heap[c]))
			break;
		heap[j] = heap[c];
	}
	heap[j] = x;
}

/*
 * Indices of the k sites with the most live bytes (none with 0), best first:
 * one pass with a k-entry heap whose root is the weakest kept, so a report
 * costs O(sites log k) however many blocks are live.  Returns how many.
 */
static uint32_t top_sites(struct pps *pps, uint32_t *heap, uint32_t k)
{
	uint32_t n = pps__count(pps), len = 0, i, j, t;

	for (i = 0; i < n && k; i++) {
		if (!pps__get(pps, i)->curr_b)
			continue;
		if (len == k) {
			/* Replace the root if i beats it. */
			if (before(pps, i, heap[0]))
				sift_down(pps, heap, len, 0, i);
			continue;
		}
		/* Sift up: the weakest goes to the root. */
		for (j = len++; j && before(pps, heap[(j - 1) / 2], i); j = (j - 1) / 2)
			heap[j] = heap[(j - 1) / 2];
		heap[j] = i;
	}
	/* Heap sort in place: take the weakest out to the end each time. */
	for (i = len; i > 1; i--) {
		t = heap[i - 1];
		heap[i - 1] = heap[0];
		sift_down(pps, heap, i - 1, 0, t);
	}
	return len;
}

/* "12.4 MiB" */
static const char *mib(uint64_t b, char *buf, size_t len)
{
	if (b >= 1 << 20)
		snprintf(buf, len, "%.1f MiB", (double)b / (1 << 20));
	else if (b >= 1 << 10)
		snprintf(buf, len, "%.1f KiB", (double)b / (1 << 10));
	else
		snprintf(buf, len, "%llu B", (unsigned long long)b);
	return buf;
}

/* "LEAK? +12.4 MiB in 6 of 6 reports, 98 % of live bytes older than 10 s: fn <- caller" */
static void reason(const struct dt_suspect *s, const char *label, const char *via, char *buf,
		   size_t len)
{
	char g[32];

	char oldest[48] = "";

	if (s->oldest_ns > s->interval_ns)
		snprintf(oldest, sizeof(oldest), ", the oldest over %.0f s", secs(s->oldest_ns));
	snprintf(buf, len, "LEAK? +%s in %u of %u reports, %llu %% of live bytes older than %.0f "
		 "s%s: %s%s", mib(s->growth, g, sizeof(g)), s->rose, s->of,
		 (unsigned long long)(s->live ? s->old * 100 / s->live : 0), secs(s->interval_ns),
		 oldest, label, via);
}

typedef void (*suspect_fn)(void *ctx, uint32_t i, const struct dt_suspect *s,
			   const char *reason);

/* Each suspect's line to stderr (after indent), or to out; sites of one
 * label say where their stacks part. */
static void each_suspect(struct reporter *r, FILE *to, const char *indent, suspect_fn out,
			 void *ctx)
{
	struct dt_suspect s[MAX_SUSPECTS];
	char labels[MAX_SUSPECTS][512], line[1024];
	uint32_t n = suspects__find(r->sus, s, MAX_SUSPECTS), i, j;

	for (i = 0; i < n; i++)
		site_label(r, s[i].pp, labels[i], sizeof(labels[i]));
	for (i = 0; i < n; i++) {
		char via[300] = "", diff[280];

		for (j = 0; j < n; j++)
			if (j != i && !strcmp(labels[i], labels[j])) {
				sitelabel__difference(r->a, r->sym, s[i].pp, s[j].pp, diff,
						      sizeof(diff));
				snprintf(via, sizeof(via), " (via %s)", diff);
				break;
			}
		reason(&s[i], labels[i], via, line, sizeof(line));
		if (out)
			out(ctx, i, &s[i], line);
		else
			fprintf(to, "%s%s%s\n", dt_log_prefix, indent, line);
	}
}

/* Index of site pp among those the document lists (the ones with blocks). */
static uint32_t listed_index(struct reporter *r, uint32_t pp)
{
	struct pps *pps = acct__pps(r->a);
	uint32_t i, k = 0;

	for (i = 0; i < pp; i++)
		k += pps__get(pps, i)->tbk != 0;
	return k;
}

/* The text report of a tick, on stderr. */
/* A line of the text report: stderr, or --report-file. */
#define tlog(r, fmt, ...) fprintf((r)->text, "%s" fmt, dt_log_prefix, ##__VA_ARGS__)

static void print_tick(struct reporter *r, const struct tick *t)
{
	const struct dt_totals *tot = t->tot;
	char b1[32], b2[32], b3[32], b4[32], b5[32], unw[48] = "", cap[96] = "";
	uint32_t i;

	/* Frame-pointer walks cannot tell a truncated stack from a short one. */
	if (t->unwinding)
		snprintf(unw, sizeof(unw), "; truncated stacks %llu",
			 (unsigned long long)t->truncated);
	if (acct__capped(r->a))
		snprintf(cap, sizeof(cap), "; memory cap: %s blocks not tracked",
			 fmt_thousands(acct__loss(r->a)->capped_blocks, b5, 32));
	tlog(r, "[%.1fs] live %s bytes in %s blocks; peak %s bytes in %s blocks at %.1fs; "
	     "%s allocs/s, %.1f MB/s; lost events %llu%s%s\n",
	     secs(t->t_ns), fmt_thousands(tot->curr_b, b1, 32),
	     fmt_thousands(tot->curr_bk, b2, 32), fmt_thousands(tot->max_b, b3, 32),
	     fmt_thousands(tot->max_bk, b4, 32), secs(tot->t_gmax),
	     fmt_thousands((uint64_t)t->allocs_per_s, b5, 32), t->bytes_per_s / 1e6,
	     (unsigned long long)t->lost_events, unw, cap);
	for (i = 0; i < t->nr_sites; i++) {
		const struct tick_site *ts = &t->sites[i];
		bool shrank = ts->bytes < ts->last_bytes;

		fmt_thousands(shrank ? ts->last_bytes - ts->bytes : ts->bytes - ts->last_bytes, b3,
			      32);
		tlog(r, "  %14s B in %9s blocks, %c%s B since last report: %s\n",
		     fmt_thousands(ts->bytes, b1, 32), fmt_thousands(ts->blocks, b2, 32),
		     shrank ? '-' : '+', b3, ts->label);
	}
	each_suspect(r, r->text, "  ", NULL, NULL);
}

/* The tick at now; sites: room for r->top.  The rates are since the last tick. */
static void build_tick(struct reporter *r, uint64_t now, struct tick *t,
		       struct tick_site *sites, uint32_t *top)
{
	struct pps *pps = acct__pps(r->a);
	const struct dt_totals *tot = pps__totals(pps);
	uint64_t dt = now > r->last_t ? now - r->last_t : 1, frees = tot->tbk - tot->curr_bk;
	struct dt_suspect sus[MAX_SUSPECTS];
	uint32_t i, k = top ? top_sites(pps, top, r->top) : 0;

	*t = (struct tick){
		.pid = r->pid, .cmd = r->cmd, .t_ns = now - acct__t0(r->a), .tot = tot,
		.frees = frees,
		.allocs_per_s = (double)(tot->tbk - r->last_tbk) * NSEC_PER_SEC / dt,
		.frees_per_s = (double)(frees - r->last_frees) * NSEC_PER_SEC / dt,
		.bytes_per_s = (double)(tot->tb - r->last_tb) * NSEC_PER_SEC / dt,
		.lost_events = lost_events(r), .unwinding = r->uw != NULL, .truncated = truncated(r),
		.sites = sites, .nr_sites = k,
		.nr_suspects = suspects__find(r->sus, sus, MAX_SUSPECTS),
	};
	for (i = 0; i < k; i++) {
		struct dt_pp *pp = pps__get(pps, top[i]);

		sites[i] = (struct tick_site){ .pp = listed_index(r, top[i]), .bytes = pp->curr_b,
			.blocks = pp->curr_bk, .last_bytes = pp->report_b };
		site_label(r, top[i], sites[i].label, sizeof(sites[i].label));
	}
	r->last_t = now;
	r->last_tb = tot->tb;
	r->last_tbk = tot->tbk;
	r->last_frees = frees;
}

/* The tick to the JSON lines and the metrics file that are asked for. */
static void emit_tick(struct reporter *r, struct tick *t, bool json)
{
	char *suspects = json ? reporter__json(r) : NULL;
	int err;

	if (json) {
		t->suspects_json = suspects;
		reportjson__tick(r->json, t);
	}
	free(suspects);
	if (!r->metrics)
		return;
	err = metrics__write(r->metrics, t);
	if (err && !r->metrics_failed)
		elog("cannot write %s: %s (tried again at each report)\n", r->metrics,
		     strerror(-err));
	r->metrics_failed = err != 0;
}

void reporter__periodic(struct reporter *r, uint64_t now)
{
	struct pps *pps = acct__pps(r->a);
	uint32_t n = pps__count(pps), i, *top;
	uint64_t cpu0 = thread_cpu_ns();
	/* -q quiets the terminal; a --report-file still gets its reports. */
	bool json = r->json && (!r->quiet || r->json != stderr),
	     text = !r->json && (!r->quiet || r->text != stderr);
	struct tick_site *sites;
	struct tick t;

	suspects__tick(r->sus, pps, now);
	if (!text && !json && !r->metrics) {
		build_tick(r, now, &t, NULL, NULL);
		return;
	}
	top = calloc(r->top, sizeof(*top));
	sites = calloc(r->top, sizeof(*sites));
	build_tick(r, now, &t, sites, top && sites ? top : NULL);
	if (text)
		print_tick(r, &t);
	emit_tick(r, &t, json);
	for (i = 0; i < n; i++)
		pps__get(pps, i)->report_b = pps__get(pps, i)->curr_b;
	free(top);
	free(sites);
	cpu0 = thread_cpu_ns() - cpu0;
	if (cpu0 > r->periodic_ns_max)
		r->periodic_ns_max = cpu0;
}

static void cap_summary(struct reporter *r)
{
	const struct dt_loss *l = acct__loss(r->a);
	char cap[32], blocks[32], bytes[32];

	wlog("memory cap (--max-memory %s) reached: %s blocks (%s bytes) and %llu stacks not "
	     "tracked; the numbers above and each site's are those of the tracked blocks; the "
	     "frees of untracked blocks count among frees of blocks never seen allocated\n",
	     mib(acct__max_memory(r->a), cap, sizeof(cap)),
	     fmt_thousands(l->capped_blocks, blocks, 32), fmt_thousands(l->capped_bytes, bytes, 32),
	     (unsigned long long)l->capped_stacks);
}

void reporter__final(struct reporter *r, uint64_t now)
{
	uint32_t *top;
	struct tick_site *sites;
	struct tick t;

	if (!r->metrics)
		return;
	top = calloc(r->top, sizeof(*top));
	sites = calloc(r->top, sizeof(*sites));
	build_tick(r, now, &t, sites, top && sites ? top : NULL);
	t.final = true;
	emit_tick(r, &t, false);
	free(top);
	free(sites);
}

void reporter__set_outputs(struct reporter *r, const struct report_outputs *o)
{
	r->json = o->json;
	r->text = o->text ? o->text : stderr;
	r->metrics = o->metrics;
	r->pid = o->pid;
	r->cmd = o->cmd;
}

void reporter__summary(struct reporter *r)
{
	const struct dt_totals *t = pps__totals(acct__pps(r->a));
	const struct dt_loss *l = acct__loss(r->a);
	const struct symbolizer_stats *ss = symbolizer__stats(r->sym);
	char a[32], b[32];

	elog("Total:     %s bytes in %s blocks\n", fmt_thousands(t->tb, a, 32),
	     fmt_thousands(t->tbk, b, 32));
	elog("At t-gmax: %s bytes in %s blocks\n", fmt_thousands(t->max_b, a, 32),
	     fmt_thousands(t->max_bk, b, 32));
	elog("At t-end:  %s bytes in %s blocks\n", fmt_thousands(t->curr_b, a, 32),
	     fmt_thousands(t->curr_bk, b, 32));
	elog("lost events: %llu; frees of blocks never seen allocated: %llu (ignored); "
	     "reallocs of such blocks: %llu; allocations without a stack: %llu; "
	     "frames without symbol: %llu of %llu\n",
	     (unsigned long long)lost_events(r), (unsigned long long)l->unknown_frees,
	     (unsigned long long)l->unknown_reallocs, (unsigned long long)stackless(r),
	     (unsigned long long)(ss->no_module + ss->no_symbol + ss->gone + ss->unreadable),
	     (unsigned long long)ss->frames);
	if (l->displaced || l->bad_records || l->untracked ||
	    stacks__collisions(acct__stacks(r->a)))
		wlog("%llu blocks replaced at a live address (their free was lost), %llu "
		     "malformed records, %llu stack hash collisions, %llu blocks not kept "
		     "(out of memory)\n",
		     (unsigned long long)l->displaced, (unsigned long long)l->bad_records,
		     (unsigned long long)stacks__collisions(acct__stacks(r->a)),
		     (unsigned long long)l->untracked);
	if (acct__capped(r->a))
		cap_summary(r);
	if (ss->debug_files_refused)
		wlog("%llu separate debug files refused: found where the target keeps them, but "
		     "their build-id (or debuglink CRC) is not their object's; those objects' "
		     "frames are named without them: from their own symbols, or ??? (-v names "
		     "the files)\n",
		     (unsigned long long)ss->debug_files_refused);
	unseen_summary(r);
	each_suspect(r, stderr, "", NULL, NULL);
	forks_summary(r);
	if (r->tv)
		view_summary(r, ss);
	if (r->uw)
		unwind_summary(r);
}

struct json_ctx {
	struct reporter *r;
	FILE *f;
};

static void json_suspect(void *ctx, uint32_t i, const struct dt_suspect *s, const char *reason)
{
	struct json_ctx *j = ctx;
	uint32_t k;

	fprintf(j->f, "%s{\"pp\":%u,\"reason\":", i ? "," : "", listed_index(j->r, s->pp));
	jsonstr__put(j->f, reason);
	fprintf(j->f, ",\"growth_bytes\":%llu,\"rose\":%u,\"of\":%u,\"live_bytes\":%llu,"
		      "\"older_bytes\":%llu,\"interval_us\":%llu,\"oldest_at_least_us\":%llu,"
		      "\"history_bytes\":[",
		(unsigned long long)s->growth, s->rose, s->of, (unsigned long long)s->live,
		(unsigned long long)s->old, (unsigned long long)(s->interval_ns / NSEC_PER_USEC),
		(unsigned long long)(s->oldest_ns / NSEC_PER_USEC));
	for (k = 0; k < s->nhistory; k++)
		fprintf(j->f, "%s%llu", k ? "," : "", (unsigned long long)s->history[k]);
	fprintf(j->f, "],\"history_blocks\":[");
	for (k = 0; k < s->nhistory; k++)
		fprintf(j->f, "%s%llu", k ? "," : "", (unsigned long long)s->history_blocks[k]);
	fprintf(j->f, "]}");
}

char *reporter__json(void *ctx)
{
	struct json_ctx j = { .r = ctx };
	char *buf = NULL;
	size_t len = 0;

	j.f = open_memstream(&buf, &len);
	if (!j.f)
		return NULL;
	fprintf(j.f, "\"suspects\":[");
	each_suspect(j.r, NULL, "", json_suspect, &j);
	fprintf(j.f, "]");
	if (fclose(j.f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

void reporter__output_begin(struct reporter *r)
{
	r->output_t0 = mono_ns();
}

int reporter__stats(void *ctx, const char **names, uint64_t *values)
{
	struct reporter *r = ctx;
	const struct dt_loss *l = acct__loss(r->a);
	const struct symbolizer_stats *ss = symbolizer__stats(r->sym);
	int n = 0;

	/* A counter past DT_MAX_STATS is a bug: stop short of the arrays' end. */
#define STAT(name, v) do { if (n < DT_MAX_STATS) { names[n] = name; values[n] = (v); n++; } } \
		      while (0)
	STAT("lost_events", lost_events(r));
	STAT("ringbuf_drops", r->bpf[DT_CNT_RB_DROP_ALLOC] + r->bpf[DT_CNT_RB_DROP_FREE] +
				      r->bpf[DT_CNT_RB_DROP_STACK]);
	STAT("unknown_frees", l->unknown_frees);
	STAT("unknown_reallocs", l->unknown_reallocs);
	STAT("displaced_blocks", l->displaced);
	STAT("realloc_races", l->realloc_races);
	STAT("returns_without_entry", r->bpf[DT_CNT_RET_NO_ENTRY]);
	STAT("allocs_without_stack", stackless(r));
	STAT("stack_collisions", stacks__collisions(acct__stacks(r->a)));
	STAT("bad_records", l->bad_records);
	STAT("untracked_blocks", l->untracked);
	STAT("memory_capped", acct__capped(r->a));
	STAT("max_memory_bytes", acct__max_memory(r->a));
	STAT("untracked_cap_blocks", l->capped_blocks);
	STAT("untracked_cap_bytes", l->capped_bytes);
	STAT("untracked_cap_stacks", l->capped_stacks);
	STAT("tables_bytes", acct__tables_peak_bytes(r->a));
	if (r->forks_supervised) {
		STAT("forks_followed_by_supervisor", r->bpf[DT_CNT_FORKS]);
	} else {
		STAT("forks_traced", forks_traced(r));
		STAT("forks_not_traced", r->bpf[DT_CNT_FORKS] - forks_traced(r));
	}
	STAT("rss_start_bytes", r->rss_start);
	STAT("rss_end_bytes", r->rss_end);
	/* Non-zero exactly when the summary says most memory is not seen. */
	STAT("rss_growth_unseen_bytes", unseen_bytes(r));
	STAT("records_after_exec", l->after_exec);
	STAT("frames", ss->frames);
	STAT("frames_without_module", ss->no_module);
	STAT("frames_without_symbol", ss->no_symbol);
	STAT("frames_without_line", ss->no_line);
	STAT("frames_unmapped_before_read", ss->gone);
	STAT("frames_in_unreadable_objects", ss->unreadable);
	STAT("debug_files", ss->debug_files);
	STAT("debug_files_refused", ss->debug_files_refused);
	if (r->tv) {
		const struct tview_stats *v = tview__stats(r->tv);

		STAT("objects", v->modules);
		STAT("objects_unreadable", v->modules_unopened);
		STAT("code_unmaps", v->unmaps);
		STAT("unmap_log_overflows", v->log_overflows);
		STAT("mapping_reads", v->syncs);
		STAT("stacks_cut_at_non_code", v->frames_not_code);
		STAT("unmap_log_waits", v->log_waits);
		STAT("unmap_log_timeouts", v->log_timeouts);
	}
	STAT("loader_loads", r->bpf[DT_CNT_LOADS]);
	STAT("loader_loads_held", r->bpf[DT_CNT_LOADS_HELD]);
	STAT("events", acct__events(r->a));
	STAT("block_table_bytes", blocks__peak_bytes(acct__blocks(r->a)));
	STAT("periodic_report_us_max", r->periodic_ns_max / NSEC_PER_USEC);
	STAT("output_write_us", r->output_t0 ? (mono_ns() - r->output_t0) / NSEC_PER_USEC : 0);
	if (r->uw) {
		const struct unwinder_stats *u = unwinder__stats(r->uw);

		STAT("stack_unwinds", r->bpf[DT_CNT_UW_STACKS]);
		STAT("stacks_truncated", truncated(r));
		STAT("truncated_no_table", cut(r, DT_CNT_UW_NO_TABLE));
		STAT("truncated_load_window", cut(r, DT_CNT_UW_WINDOW));
		STAT("truncated_read_fault", cut(r, DT_CNT_UW_READ_FAULT));
		STAT("truncated_depth", cut(r, DT_CNT_UW_DEPTH));
		STAT("truncated_bad_rule", cut(r, DT_CNT_UW_BAD_RULE));
		STAT("stacks_finished_after_load", u->tails);
		STAT("frames_by_frame_pointer", r->bpf[DT_CNT_UW_FP_FRAMES] + u->fp_frames);
		STAT("unwind_objects", u->objects);
		STAT("unwind_objects_without_cfi", u->objects_without_cfi);
		STAT("unwind_rows", u->rows);
		STAT("unwind_row_capacity", u->row_capacity);
		STAT("unwind_objects_not_loaded", u->objects_not_loaded);
		STAT("unwind_table_bytes", u->table_bytes);
		STAT("unwind_build_us", u->build_ns / 1000);
	}
#undef STAT
	return n;
}

const char *reporter__loss_note(struct reporter *r, bool attached)
{
	const struct dt_loss *l = acct__loss(r->a);
	char cap[160] = "";

	if (acct__capped(r->a))
		snprintf(cap, sizeof(cap), "%smemory cap reached: %llu blocks not tracked",
			 attached ? "; " : "dhat-trace: ", (unsigned long long)l->capped_blocks);
	if (!attached)
		return *cap ? strcpy(r->note, cap) : NULL;
	snprintf(r->note, sizeof(r->note),
		 "dhat-trace: attached; lost events %llu; frees of blocks never seen allocated %llu "
		 "(ignored); allocations without stack %llu%s",
		 (unsigned long long)lost_events(r), (unsigned long long)l->unknown_frees,
		 (unsigned long long)stackless(r), cap);
	return r->note;
}

void reporter__on_cap(void *ctx)
{
	struct reporter *r = ctx;
	char cap[32], now[32];

	wlog("memory cap reached (--max-memory %s; the tables hold %s for %zu live blocks and "
	     "%u stacks): from now on, blocks and stacks that do not fit are counted, not "
	     "tracked; each site's numbers are those of its tracked blocks\n",
	     mib(acct__max_memory(r->a), cap, sizeof(cap)),
	     mib(acct__tables_bytes(r->a), now, sizeof(now)), blocks__count(acct__blocks(r->a)),
	     stacks__count(acct__stacks(r->a)) - 1);
}
