// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The user-space side alone: a recorded-style stream of raw ring-buffer
 * records (include/dhat_abi.h) through acct__handle, a periodic report at
 * the heap's peak, and the DHAT file with real symbolization.
 *
 *   replay [--events N] [--sites N] [--live N] [--frames N] [--seed N] [--out FILE]
 *          [--no-ring]
 *
 * The stream is generated in memory first (not timed), laid out as the BPF
 * ring buffer lays it out (8-byte header, records padded to 8).  Frames are
 * return addresses inside this binary's own functions, so libdw has real
 * DWARF to resolve against our own PID.  Prints a table on stderr and one
 * JSON object on stdout (bench/run parses it: keep the key names).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "accounting.h"
#include "dhat_json.h"
#include "log.h"
#include "report.h"
#include "symbolizer.h"
#include "targetview.h"

/* ---- frames: 256 functions of this binary, each long enough for several
 * distinct return addresses inside it ---- */

#define FN(n)								\
	__attribute__((noinline, used)) void rp_fn_##n(volatile int *p)	\
	{								\
		p[0] += 0x##n; p[1] ^= p[0]; p[2] += p[1] * 3;		\
		p[3] = p[2] - p[0]; p[4] += p[3] >> 1; p[5] ^= p[4];	\
		p[6] += p[5] * 7; p[7] = p[6] + p[1];			\
	}
#define FN16(h) FN(h##0) FN(h##1) FN(h##2) FN(h##3) FN(h##4) FN(h##5) FN(h##6) FN(h##7) \
		FN(h##8) FN(h##9) FN(h##a) FN(h##b) FN(h##c) FN(h##d) FN(h##e) FN(h##f)
FN16(0) FN16(1) FN16(2) FN16(3) FN16(4) FN16(5) FN16(6) FN16(7)
FN16(8) FN16(9) FN16(a) FN16(b) FN16(c) FN16(d) FN16(e) FN16(f)

#define REF(n) rp_fn_##n,
#define REF16(h) REF(h##0) REF(h##1) REF(h##2) REF(h##3) REF(h##4) REF(h##5) REF(h##6) \
		 REF(h##7) REF(h##8) REF(h##9) REF(h##a) REF(h##b) REF(h##c) REF(h##d) \
		 REF(h##e) REF(h##f)
static void (*const fns[256])(volatile int *) = {
	REF16(0) REF16(1) REF16(2) REF16(3) REF16(4) REF16(5) REF16(6) REF16(7)
	REF16(8) REF16(9) REF16(a) REF16(b) REF16(c) REF16(d) REF16(e) REF16(f)
};

/* Offsets past each function's entry that stay inside its body (ip - 1 is
 * what gets looked up). */
#define OFFSETS_PER_FN 8
#define MAX_FRAMES_POOL (256 * OFFSETS_PER_FN)

/* ---- a deterministic generator ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rnd() * n) >> 64);
}

struct opts {
	uint64_t events, sites, live, frames, seed;
	const char *out;
};

struct stream {
	uint8_t *buf;
	size_t len, cap;
	uint64_t nrec;
	size_t peak_off;	/* records before this offset reach the peak */
	uint64_t ts;
};

static void *emit(struct stream *s, size_t size)
{
	size_t need = 8 + ((size + 7) & ~(size_t)7);
	uint8_t *p;

	if (s->len + need > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1 << 24;
		s->buf = realloc(s->buf, s->cap);
		if (!s->buf) {
			fprintf(stderr, "replay: out of memory generating the stream\n");
			exit(1);
		}
	}
	p = s->buf + s->len;
	memset(p, 0, need);
	*(uint32_t *)p = (uint32_t)size;
	s->len += need;
	s->nrec++;
	s->ts += 40 + below(80);
	return p + 8;
}

/* A toy allocator with glibc's habits: per-size-class LIFO free lists, a
 * bump pointer in a main-arena-like region, large blocks elsewhere. */
#define NCLASS 66

struct heap {
	uint64_t *free_list[NCLASS];
	size_t nfree[NCLASS], cap[NCLASS];
	uint64_t brk, mmap_top;
};

static unsigned int class_of(uint64_t size)
{
	return size >= 1024 ? NCLASS - 1 : (unsigned int)((size + 15) / 16);
}

static uint64_t heap_alloc(struct heap *h, uint64_t size)
{
	unsigned int c = class_of(size);
	uint64_t a;

	if (size >= 128 * 1024) {
		h->mmap_top -= (size + 4095 + 4096) & ~4095ULL;
		return h->mmap_top + 16;
	}
	if (c < NCLASS - 1 && h->nfree[c])
		return h->free_list[c][--h->nfree[c]];
	a = h->brk + 16;
	h->brk += ((size + 16 + 15) & ~15ULL);
	return a;
}

static void heap_free(struct heap *h, uint64_t addr, uint64_t size)
{
	unsigned int c = class_of(size);

	if (c == NCLASS - 1)
		return;	/* large and mmapped ones are not reused here */
	if (h->nfree[c] == h->cap[c]) {
		h->cap[c] = h->cap[c] ? h->cap[c] * 2 : 1024;
		h->free_list[c] = realloc(h->free_list[c], h->cap[c] * sizeof(uint64_t));
		if (!h->free_list[c])
			exit(1);
	}
	h->free_list[c][h->nfree[c]++] = addr;
}

static uint64_t rand_size(void)
{
	uint64_t r = below(1000);

	if (r < 700)
		return 8 + below(120);
	if (r < 950)
		return 128 + below(900);
	if (r < 998)
		return 1024 + below(16 * 1024);
	return 64 * 1024 + below(1024 * 1024);
}

struct live_blk {
	uint64_t addr, size;
};

struct gen {
	struct stream s;
	struct heap h;
	const struct opts *o;
	uint64_t *pool;		/* return addresses */
	uint8_t *site_sent;
	uint64_t nalloc;
	struct live_blk *lng, *shrt;
	size_t nlng, nshrt;
};

static uint64_t stack_id_of(uint64_t site)
{
	uint64_t z = site * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;

	z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9ULL;
	return (z ^ (z >> 29)) | 1;
}

/* Site's frames: the first three spell the site number in base pool-size,
 * so every site is a distinct stack; the rest vary. */
static void send_stack(struct gen *g, uint64_t site)
{
	uint64_t n = g->o->frames, x = site, st = rng_state;
	uint32_t depth, i;
	struct dt_rec_stack *r;

	rng_state = site * 7919;
	depth = 8 + (uint32_t)below(9);
	r = emit(&g->s, DT_REC_STACK_HDR + depth * 8);
	r->kind = DT_REC_STACK;
	r->nr_frames = depth;
	r->stack_id = stack_id_of(site);
	r->epoch = 0;
	for (i = 0; i < depth; i++) {
		r->ips[i] = g->pool[i < 3 ? x % n : below(n)];
		if (i < 3)
			x /= n;
	}
	rng_state = st;
}

static uint64_t pick_site(struct gen *g)
{
	uint64_t n = g->o->sites;
	double u;

	/* Every site once, then a skewed mix: a few hot sites, a long tail. */
	if (g->nalloc < n)
		return g->nalloc + 1;
	u = (double)(rnd() >> 11) / (double)(1ULL << 53);
	return 1 + (uint64_t)(u * u * u * (double)n) % n;
}

static struct live_blk gen_alloc(struct gen *g)
{
	uint64_t site = pick_site(g);
	struct live_blk b = { .size = rand_size() };
	struct dt_rec_alloc *r;

	if (!g->site_sent[site]) {
		g->site_sent[site] = 1;
		send_stack(g, site);
	}
	g->nalloc++;
	b.addr = heap_alloc(&g->h, b.size);
	r = emit(&g->s, sizeof(*r));
	*r = (struct dt_rec_alloc){ DT_REC_ALLOC, DT_FN_MALLOC, g->s.ts, b.addr, b.size,
				    stack_id_of(site) };
	return b;
}

static void gen_free(struct gen *g, struct live_blk b)
{
	struct dt_rec_free *r = emit(&g->s, sizeof(*r));

	*r = (struct dt_rec_free){ DT_REC_FREE, DT_FN_FREE, g->s.ts, b.addr };
	heap_free(&g->h, b.addr, b.size);
}

static void gen_realloc(struct gen *g, struct live_blk *b)
{
	uint64_t size = b->size + 16 + below(256), addr = b->addr;
	uint64_t t_entry = g->s.ts;
	struct dt_rec_realloc *r;

	if (class_of(size) != class_of(b->size)) {
		addr = heap_alloc(&g->h, size);
		heap_free(&g->h, b->addr, b->size);
	}
	r = emit(&g->s, sizeof(*r));
	*r = (struct dt_rec_realloc){ DT_REC_REALLOC, DT_FN_REALLOC, g->s.ts, addr, size,
				      stack_id_of(1 + below(g->o->sites)), b->addr, t_entry };
	b->addr = addr;
	b->size = size;
}

/* Short-lived churn: a small LIFO stack of blocks, now and then one freed
 * out of order or resized. */
static void churn(struct gen *g)
{
	if (g->nshrt < 4 || (g->nshrt < 64 && below(2))) {
		g->shrt[g->nshrt++] = gen_alloc(g);
		return;
	}
	if (below(32) == 0) {
		gen_realloc(g, &g->shrt[below(g->nshrt)]);
		return;
	}
	if (below(8) == 0) {
		size_t i = below(g->nshrt);
		struct live_blk b = g->shrt[i];

		g->shrt[i] = g->shrt[--g->nshrt];
		gen_free(g, b);
		return;
	}
	gen_free(g, g->shrt[--g->nshrt]);
}

static void generate(struct gen *g)
{
	const struct opts *o = g->o;
	uint64_t long_frees = o->live * 4 / 5, budget;
	size_t i;

	/* Ramp to the peak: long-lived blocks spread through the churn. */
	budget = o->events > o->live * 2 ? (o->events - o->live - long_frees) / 2 : o->live;
	while (g->nlng < o->live) {
		if (below(budget) < o->live)
			g->lng[g->nlng++] = gen_alloc(g);
		else
			churn(g);
	}
	g->s.peak_off = g->s.len;
	/* Come down: most long-lived blocks freed in random order, the rest
	 * live at the end. */
	while (g->s.nrec < o->events) {
		if (g->nlng > o->live - long_frees && below(budget) < long_frees) {
			i = below(g->nlng);
			gen_free(g, g->lng[i]);
			g->lng[i] = g->lng[--g->nlng];
		} else {
			churn(g);
		}
	}
}

/* ---- measurement ---- */

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t status_kb(const char *key)
{
	char line[256];
	uint64_t v = 0;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n))
			v = strtoull(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v * 1024;
}

static void reset_peak_rss(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");

	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

/* Profile one phase alone: perf record -D -1 --control fd:CTL,ACK with
 * PERF_CTL_FD=CTL in the environment, and PERF_PHASE=write for the output
 * rather than the replay. */
static void perf_ctl_phase(const char *phase, const char *cmd)
{
	const char *fd = getenv("PERF_CTL_FD"), *want = getenv("PERF_PHASE");

	if (strcmp(want ? want : "replay", phase))
		return;
	if (fd && write(atoi(fd), cmd, strlen(cmd)) < 0)
		fprintf(stderr, "replay: PERF_CTL_FD: %s\n", strerror(errno));
}

/*
 * Feed records [p, end) to acct__handle; returns the CPU seconds spent in
 * it.  The tracer reads records moments after the BPF side wrote them, from
 * a ring buffer whose recent part is in cache; so does this, in untimed
 * copies of RING_CHUNK bytes, unless --no-ring asks for the stream straight
 * from memory.
 */
#define RING_CHUNK (1 << 20)

static bool no_ring;
static uint8_t *ring;

static double replay(struct acct *a, const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q, *stop;
	double t = 0, c0;
	size_t n;

	while (p < end) {
		if (no_ring) {
			q = p;
			stop = end;
		} else {
			for (n = 0; p + n < end;) {
				uint32_t len = 8 + ((*(const uint32_t *)(p + n) + 7) & ~7u);

				if (n + len > RING_CHUNK)
					break;
				n += len;
			}
			memcpy(ring, p, n);
			q = ring;
			stop = ring + n;
		}
		perf_ctl_phase("replay", "enable\n");
		c0 = cpu_s();
		while (q < stop) {
			uint32_t len = *(const uint32_t *)q;

			acct__handle(a, q + 8, len);
			q += 8 + ((len + 7) & ~7u);
		}
		t += cpu_s() - c0;
		perf_ctl_phase("replay", "disable\n");
		p += q - (no_ring ? p : ring);
	}
	return t;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static uint64_t number(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 1) {
		fprintf(stderr, "replay: bad %s '%s'\n", what, s);
		exit(2);
	}
	if (*end == 'k' || *end == 'K')
		v *= 1e3;
	else if (*end == 'M' || *end == 'm')
		v *= 1e6;
	return (uint64_t)v;
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "events", 1, NULL, 'e' }, { "sites", 1, NULL, 's' }, { "live", 1, NULL, 'l' },
		{ "frames", 1, NULL, 'f' }, { "seed", 1, NULL, 'r' }, { "out", 1, NULL, 'o' },
		{ "no-ring", 0, NULL, 'n' }, { "help", 0, NULL, 'h' }, { 0 } };
	int c;

	*o = (struct opts){ .events = 20000000, .sites = 10000, .live = 1000000, .frames = 1024,
			    .seed = 1 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'e': o->events = number(optarg, "--events"); break;
		case 's': o->sites = number(optarg, "--sites"); break;
		case 'l': o->live = number(optarg, "--live"); break;
		case 'f': o->frames = number(optarg, "--frames"); break;
		case 'r': o->seed = number(optarg, "--seed"); break;
		case 'o': o->out = optarg; break;
		case 'n': no_ring = true; break;
		default:
			fprintf(stderr, "usage: replay [--events N] [--sites N] [--live N] "
					"[--frames N (<= %d)] [--seed N] [--out FILE] [--no-ring]\n"
					"N may end in k or M\n", MAX_FRAMES_POOL);
			exit(c == 'h' ? 0 : 2);
		}
	}
	if (o->frames > MAX_FRAMES_POOL || o->frames < 2) {
		fprintf(stderr, "replay: --frames must be 2..%d\n", MAX_FRAMES_POOL);
		exit(2);
	}
	/* The ramp alone is live allocations plus their stacks. */
	if (o->events < o->live * 3)
		o->events = o->live * 3;
}

int main(int argc, char **argv)
{
	static const uint64_t counters[DT_CNT_NR];
	struct opts o;
	struct gen g = { .o = &o };
	struct symbolizer *sym;
	struct tview *tv;
	struct acct *a;
	struct reporter *rep;
	const char *step;
	uint64_t live_peak, table_bytes, rss_base, rss_peak, t_end, hwm_replay;
	double t_gen, c0, handle_s, rep_ms[3], w0, write_s, bpb;
	char dir[] = "/tmp/dhat-replay-XXXXXX", path[512];
	struct dt_doc doc = { .cmd = "bench/replay", .pid = getpid(), .stats = reporter__stats };
	size_t i;
	int err;

	parse(argc, argv, &o);
	dt_verbosity = 0;
	rng_state = o.seed;

	/* Generate (not timed). */
	t_gen = wall_s();
	g.pool = calloc(o.frames, sizeof(*g.pool));
	g.site_sent = calloc(o.sites + 1, 1);
	g.lng = calloc(o.live, sizeof(*g.lng));
	g.shrt = calloc(64, sizeof(*g.shrt));
	if (!g.pool || !g.site_sent || !g.lng || !g.shrt)
		return 1;
	for (i = 0; i < o.frames; i++)
		g.pool[i] = (uint64_t)(uintptr_t)fns[i % 256] + 4 + 4 * (i / 256);
	g.h.brk = 0x555555a00000ULL;
	g.h.mmap_top = 0x7f0000000000ULL;
	g.s.ts = 1000000000ULL;
	generate(&g);
	t_end = g.s.ts + 1000;
	t_gen = wall_s() - t_gen;
	for (i = 0; i < NCLASS; i++)
		free(g.h.free_list[i]);
	free(g.lng);
	free(g.shrt);
	free(g.site_sent);
	free(g.pool);

	tv = tview__new(getpid());
	sym = tv && tview__sync(tv) == 0 ? symbolizer__new(tv) : NULL;
	if (!sym) {
		fprintf(stderr, "replay: cannot read our own modules\n");
		return 1;
	}
	ring = malloc(RING_CHUNK);
	if (!ring)
		return 1;
	memset(ring, 0, RING_CHUNK);
	/* Everything so far is the fixed base: the stream, the ring (in the
	 * kernel for the real tracer), libdw's view of us. */
	reset_peak_rss();
	rss_base = status_kb("VmRSS:");

	a = acct__new(1000000000ULL);
	rep = a ? reporter__new(a, sym, counters, 5) : NULL;
	if (!rep)
		return 1;
	acct__set_translate(a, tview__translate, tv);
	doc.stats_ctx = rep;
	handle_s = replay(a, g.s.buf, g.s.buf + g.s.peak_off);

	live_peak = pps__totals(acct__pps(a))->curr_bk;
	table_bytes = blocks__mem_bytes(acct__blocks(a));
	rss_peak = status_kb("VmRSS:");
	for (i = 0; i < 3; i++) {
		c0 = cpu_s();
		reporter__periodic(rep, g.s.ts);
		rep_ms[i] = (cpu_s() - c0) * 1e3;
	}
	qsort(rep_ms, 3, sizeof(double), cmp_double);

	handle_s += replay(a, g.s.buf + g.s.peak_off, g.s.buf + g.s.len);
	acct__finish(a, t_end);
	hwm_replay = status_kb("VmHWM:");

	if (o.out) {
		snprintf(path, sizeof(path), "%s", o.out);
	} else {
		if (!mkdtemp(dir))
			return 1;
		snprintf(path, sizeof(path), "%s/dhat-heap.json", dir);
	}
	doc.t_end = t_end - acct__t0(a);
	perf_ctl_phase("write", "enable\n");
	w0 = wall_s();
	reporter__output_begin(rep);
	err = dhat_json__write(path, a, &doc, symbolizer__describe, sym, &step);
	write_s = wall_s() - w0;
	perf_ctl_phase("write", "disable\n");
	if (err) {
		fprintf(stderr, "replay: cannot write %s: %s: %s\n", path, step, strerror(-err));
		return 1;
	}
	if (!o.out) {
		unlink(path);
		rmdir(dir);
	}

	bpb = (double)(table_bytes > rss_peak - rss_base ? table_bytes : rss_peak - rss_base) /
	      (double)live_peak;
	fprintf(stderr,
		"replay: %" PRIu64 " records generated in %.1f s (%.0f MB)\n"
		"  events                  %12" PRIu64 "\n"
		"  acct__handle CPU        %12.3f s   %.2f M events/s\n"
		"  live blocks at peak     %12" PRIu64 "\n"
		"  block table at peak     %12" PRIu64 " B   %.1f B/block\n"
		"  RSS beyond base at peak %12" PRIu64 " B   %.1f B/block\n"
		"  peak RSS beyond base    %12" PRIu64 " B (%" PRIu64 " B before writing)\n"
		"  periodic report at peak %12.2f ms CPU (median of 3; max %.2f)\n"
		"  sites                   %12" PRIu64 "\n"
		"  symbolize + write       %12.3f s\n",
		g.s.nrec, t_gen, (double)g.s.len / 1e6, acct__events(a), handle_s,
		(double)acct__events(a) / handle_s / 1e6, live_peak, table_bytes,
		(double)table_bytes / (double)live_peak, rss_peak - rss_base,
		(double)(rss_peak - rss_base) / (double)live_peak,
		status_kb("VmHWM:") - rss_base, hwm_replay - rss_base, rep_ms[1], rep_ms[2],
		(uint64_t)pps__count(acct__pps(a)) - 1, write_s);
	printf("{\"events\":%" PRIu64 ",\"events_per_s\":%.0f,\"live_blocks_peak\":%" PRIu64
	       ",\"block_table_bytes\":%" PRIu64 ",\"rss_delta_at_peak_bytes\":%" PRIu64
	       ",\"bytes_per_live_block\":%.2f,\"report_ms_at_peak\":%.3f"
	       ",\"sites\":%" PRIu64 ",\"write_s\":%.3f,\"peak_rss_bytes\":%" PRIu64
	       ",\"peak_rss_delta_bytes\":%" PRIu64 "}\n",
	       acct__events(a), (double)acct__events(a) / handle_s, live_peak, table_bytes,
	       rss_peak - rss_base, bpb, rep_ms[1], (uint64_t)pps__count(acct__pps(a)) - 1,
	       write_s, status_kb("VmHWM:"), status_kb("VmHWM:") - rss_base);
	reporter__free(rep);
	acct__free(a);
	symbolizer__free(sym);
	tview__free(tv);
	free(g.s.buf);
	return 0;
}
