// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "log.h"
#include "report.h"
#include "sitelabel.h"
#include "suspects.h"
#include "targetview.h"
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
	uint64_t last_t, last_tb, last_tbk;
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

/* Unwinds that ended before the bottom of the stack. */
static uint64_t truncated(const struct reporter *r)
{
	return r->bpf[DT_CNT_UW_NO_TABLE] + r->bpf[DT_CNT_UW_READ_FAULT] +
	       r->bpf[DT_CNT_UW_DEPTH] + r->bpf[DT_CNT_UW_BAD_RULE];
}

static void unwind_summary(const struct reporter *r)
{
	const struct unwinder_stats *u = unwinder__stats(r->uw);

	elog("stacks: %llu unwound, %llu truncated (no unwind table %llu, unreadable stack "
	     "%llu, --max-frames %llu, unsupported rule %llu); unwind tables: %llu objects "
	     "(%llu without CFI), %llu rows, %.1f MiB\n",
	     (unsigned long long)r->bpf[DT_CNT_UW_STACKS], (unsigned long long)truncated(r),
	     (unsigned long long)r->bpf[DT_CNT_UW_NO_TABLE],
	     (unsigned long long)r->bpf[DT_CNT_UW_READ_FAULT],
	     (unsigned long long)r->bpf[DT_CNT_UW_DEPTH],
	     (unsigned long long)r->bpf[DT_CNT_UW_BAD_RULE], (unsigned long long)u->objects,
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

	snprintf(buf, len, "LEAK? +%s in %u of %u reports, %llu %% of live bytes older than %.0f "
		 "s: %s%s", mib(s->growth, g, sizeof(g)), s->rose, s->of,
		 (unsigned long long)(s->live ? s->old * 100 / s->live : 0), secs(s->interval_ns),
		 label, via);
}

typedef void (*suspect_fn)(void *ctx, uint32_t i, const struct dt_suspect *s,
			   const char *reason);

/* Each suspect's line to stderr (after indent), or to out; sites of one
 * label say where their stacks part. */
static void each_suspect(struct reporter *r, const char *indent, suspect_fn out, void *ctx)
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
			elog("%s%s\n", indent, line);
	}
}

void reporter__periodic(struct reporter *r, uint64_t now)
{
	struct pps *pps = acct__pps(r->a);
	const struct dt_totals *t = pps__totals(pps);
	uint32_t n = pps__count(pps), i, k, *top;
	uint64_t dt = now > r->last_t ? now - r->last_t : 1, cpu0 = thread_cpu_ns();
	char b1[32], b2[32], b3[32], b4[32], b5[32], label[512], unw[48] = "";

	suspects__tick(r->sus, pps, now);
	if (r->quiet) {
		r->last_t = now;
		r->last_tb = t->tb;
		r->last_tbk = t->tbk;
		return;
	}

	/* Frame-pointer walks cannot tell a truncated stack from a short one. */
	if (r->uw)
		snprintf(unw, sizeof(unw), "; truncated stacks %llu",
			 (unsigned long long)truncated(r));
	elog("[%.1fs] live %s bytes in %s blocks; peak %s bytes in %s blocks at %.1fs; "
	     "%s allocs/s, %.1f MB/s; lost events %llu%s\n",
	     secs(now - acct__t0(r->a)), fmt_thousands(t->curr_b, b1, 32),
	     fmt_thousands(t->curr_bk, b2, 32), fmt_thousands(t->max_b, b3, 32),
	     fmt_thousands(t->max_bk, b4, 32), secs(t->t_gmax),
	     fmt_thousands((t->tbk - r->last_tbk) * NSEC_PER_SEC / dt, b5, 32),
	     (double)(t->tb - r->last_tb) * NSEC_PER_SEC / dt / 1e6,
	     (unsigned long long)lost_events(r), unw);
	r->last_t = now;
	r->last_tb = t->tb;
	r->last_tbk = t->tbk;

	top = calloc(r->top, sizeof(*top));
	k = top ? top_sites(pps, top, r->top) : 0;
	for (i = 0; i < k; i++) {
		struct dt_pp *pp = pps__get(pps, top[i]);
		bool shrank = pp->curr_b < pp->report_b;

		site_label(r, top[i], label, sizeof(label));
		fmt_thousands(shrank ? pp->report_b - pp->curr_b : pp->curr_b - pp->report_b, b3, 32);
		elog("  %14s B in %9s blocks, %c%s B since last report: %s\n",
		     fmt_thousands(pp->curr_b, b1, 32), fmt_thousands(pp->curr_bk, b2, 32),
		     shrank ? '-' : '+', b3, label);
	}
	each_suspect(r, "  ", NULL, NULL);
	for (i = 0; i < n; i++) {
		struct dt_pp *pp = pps__get(pps, i);

		pp->report_b = pp->curr_b;
	}
	free(top);
	cpu0 = thread_cpu_ns() - cpu0;
	if (cpu0 > r->periodic_ns_max)
		r->periodic_ns_max = cpu0;
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
	if (ss->debug_files_refused)
		wlog("%llu separate debug files refused: found where the target keeps them, but "
		     "their build-id (or debuglink CRC) is not their object's; those objects' "
		     "frames are named without them: from their own symbols, or ??? (-v names "
		     "the files)\n",
		     (unsigned long long)ss->debug_files_refused);
	unseen_summary(r);
	each_suspect(r, "", NULL, NULL);
	forks_summary(r);
	if (r->tv)
		view_summary(r, ss);
	if (r->uw)
		unwind_summary(r);
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

struct json_ctx {
	struct reporter *r;
	FILE *f;
};

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
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

static void json_suspect(void *ctx, uint32_t i, const struct dt_suspect *s, const char *reason)
{
	struct json_ctx *j = ctx;
	uint32_t k;

	fprintf(j->f, "%s{\"pp\":%u,\"reason\":", i ? "," : "", listed_index(j->r, s->pp));
	json_string(j->f, reason);
	fprintf(j->f, ",\"growth_bytes\":%llu,\"rose\":%u,\"of\":%u,\"live_bytes\":%llu,"
		      "\"older_bytes\":%llu,\"interval_us\":%llu,\"history_bytes\":[",
		(unsigned long long)s->growth, s->rose, s->of, (unsigned long long)s->live,
		(unsigned long long)s->old, (unsigned long long)(s->interval_ns / NSEC_PER_USEC));
	for (k = 0; k < s->nhistory; k++)
		fprintf(j->f, "%s%llu", k ? "," : "", (unsigned long long)s->history[k]);
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
	each_suspect(j.r, "", json_suspect, &j);
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

#define STAT(name, v) do { names[n] = name; values[n] = (v); n++; } while (0)
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
	STAT("events", acct__events(r->a));
	STAT("block_table_bytes", blocks__peak_bytes(acct__blocks(r->a)));
	STAT("periodic_report_us_max", r->periodic_ns_max / NSEC_PER_USEC);
	STAT("output_write_us", r->output_t0 ? (mono_ns() - r->output_t0) / NSEC_PER_USEC : 0);
	if (r->uw) {
		const struct unwinder_stats *u = unwinder__stats(r->uw);

		STAT("stack_unwinds", r->bpf[DT_CNT_UW_STACKS]);
		STAT("stacks_truncated", truncated(r));
		STAT("truncated_no_table", r->bpf[DT_CNT_UW_NO_TABLE]);
		STAT("truncated_read_fault", r->bpf[DT_CNT_UW_READ_FAULT]);
		STAT("truncated_depth", r->bpf[DT_CNT_UW_DEPTH]);
		STAT("truncated_bad_rule", r->bpf[DT_CNT_UW_BAD_RULE]);
		STAT("frames_by_frame_pointer", r->bpf[DT_CNT_UW_FP_FRAMES]);
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

const char *reporter__loss_note(struct reporter *r)
{
	const struct dt_loss *l = acct__loss(r->a);

	snprintf(r->note, sizeof(r->note),
		 "dhat-trace: attached; lost events %llu; frees of blocks never seen allocated %llu "
		 "(ignored); allocations without stack %llu",
		 (unsigned long long)lost_events(r), (unsigned long long)l->unknown_frees,
		 (unsigned long long)stackless(r));
	return r->note;
}
