// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * DWARF stacks in the agent: src/uwexec.c, the plain-C twin of
 * bpf/unwind.bpf.h, over the tables the tracer builds for BPF and shares
 * here read-only (struct dt_inj_uw).  From a hook it may take no lock and
 * allocate nothing: the mapping table is read under its generation word
 * (a writer never touches the slot in use until the generation moves),
 * and only the thread's own stack is read.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include "agent.h"
#include "uwexec.h"

const struct dt_inj_uw *ag_uw;
static const struct dt_uw_row *uw_rows;
static uint32_t uw_capacity;
static size_t uw_len;

/* Code the table does not hold yet (a dlopen): the tracer reads the
 * target's mappings again on its next drain. */
static void want_refresh(void)
{
	if (!__atomic_load_n(&ag_ctrl->uw_want, __ATOMIC_RELAXED))
		__atomic_store_n(&ag_ctrl->uw_want, DT_UW_REFRESH_SOON, __ATOMIC_RELEASE);
}

/*
 * In front of the two binary searches, a cache shared by the threads, as
 * bpf/unwind.bpf.h keeps one per CPU: the same few return addresses come
 * back call after call, and a hit is a few loads where the searches were
 * most of a frame's time.  Entries are written without a lock; the check
 * word makes one that two writers tore (or that a reader caught half
 * written) a miss.  An entry holds for the table generation it was found
 * in only.
 */
#define RC_SLOTS 4096

struct rc_slot {
	uint64_t w[4];	/* addr, gen | kind << 32, the row, check */
};

static struct rc_slot *rc;

static inline uint64_t rc_check(const uint64_t *w)
{
	return (w[0] * 0x9e3779b97f4a7c15ULL) ^ (w[1] * 0xc2b2ae3d27d4eb4fULL) ^
	       (w[2] * 0x165667b19e3779f9ULL) ^ 0x5bd1e995ULL;
}

static inline struct rc_slot *rc_slot(uint64_t addr)
{
	return &rc[(addr ^ (addr >> 12)) & (RC_SLOTS - 1)];
}

static bool rc_get(uint64_t addr, uint32_t g, uint8_t *kind, struct dt_uw_row *row)
{
	struct rc_slot *s = rc_slot(addr);
	uint64_t w[4];
	int i;

	for (i = 0; i < 4; i++)
		w[i] = __atomic_load_n(&s->w[i], __ATOMIC_RELAXED);
	if (w[0] != addr || (uint32_t)w[1] != g || w[3] != rc_check(w))
		return false;
	*kind = (uint8_t)(w[1] >> 32);
	memcpy(row, &w[2], sizeof(*row));
	return true;
}

static void rc_put(uint64_t addr, uint32_t g, uint8_t kind, const struct dt_uw_row *row)
{
	struct rc_slot *s = rc_slot(addr);
	uint64_t w[4] = { addr, g | (uint64_t)kind << 32, 0, 0 };
	int i;

	memcpy(&w[2], row, sizeof(*row));
	w[3] = rc_check(w);
	for (i = 0; i < 4; i++)
		__atomic_store_n(&s->w[i], w[i], __ATOMIC_RELAXED);
}

static uint8_t rule(void *ctx, uint64_t addr, struct dt_uw_row *row)
{
	const struct dt_inj_uw *t = ag_uw;
	struct dt_uw_row r = { 0 };
	uint32_t g, tries;
	uint8_t kind;

	(void)ctx;
	g = __atomic_load_n(&t->gen, __ATOMIC_ACQUIRE);
	if (rc && rc_get(addr, g, &kind, row))
		return kind;
	/* A table published while we looked: look again, a few times at most
	 * (the tracer publishes after a dlopen, not in a loop). */
	for (tries = 0; tries < 4; tries++) {
		g = __atomic_load_n(&t->gen, __ATOMIC_ACQUIRE);
		kind = uwexec__map_rule(&t->maps[g & 1], uw_rows, uw_capacity, addr, &r);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&t->gen, __ATOMIC_RELAXED) != g)
			continue;
		if (kind == DT_UW_NOT_YET)
			want_refresh();
		else if (rc)
			rc_put(addr, g, kind, &r);
		*row = r;
		return kind;
	}
	return DT_UW_NOT_YET;
}

/*
 * The thread's stack only: anything else may be unmapped under us.  Each
 * word read is logged for walkcache.c; a saved rbp only once a rule uses it
 * (use_bp), as bpf/stackcache.bpf.h does.
 */
struct walk_ctx {
	uint64_t lo, hi;
	struct ag_walk_log *log;
};

static void log_word(struct ag_walk_log *log, uint64_t addr, uint64_t val)
{
	if (log->nlog >= AG_WC_LOG) {
		log->nocache = true;
		return;
	}
	log->off[log->nlog] = (uint32_t)(addr - log->sp);
	log->val[log->nlog++] = val;
}

static int stack_word(const struct walk_ctx *w, uint64_t addr, uint64_t *out)
{
	if (addr < w->lo || addr > w->hi - 8 || (addr & 7) || addr < w->log->sp) {
		w->log->nocache = true;	/* unreadable now, perhaps not later */
		return -1;
	}
	*out = *(const uint64_t *)addr;
	return 0;
}

static int read_word(void *ctx, uint64_t addr, uint64_t *out)
{
	const struct walk_ctx *w = ctx;

	if (stack_word(w, addr, out))
		return -1;
	log_word(w->log, addr, *out);
	return 0;
}

static int read_bp(void *ctx, uint64_t addr, uint64_t *out)
{
	const struct walk_ctx *w = ctx;

	if (stack_word(w, addr, out))
		return -1;
	w->log->bp_at = addr;
	return 0;
}

static void use_bp(void *ctx)
{
	const struct walk_ctx *w = ctx;
	struct ag_walk_log *log = w->log;

	if (!log->bp_at)
		log->bp_used = true;
	else
		log_word(log, log->bp_at, *(const uint64_t *)log->bp_at);
}

uint32_t ag_uw_gen(void)
{
	return __atomic_load_n(&ag_uw->gen, __ATOMIC_ACQUIRE);
}

void ag_uw_count(uint32_t end, uint64_t fp_frames)
{
	ag_count_stack(fp_frames);
	/* As the BPF side counts them; no tail is sent from here, so a walk
	 * cut by the load window is counted as one. */
	if (end != DT_CNT_NR)
		ag_count(end);
}

static inline bool in_agent(uint64_t pc)
{
	return pc >= ag_self_lo && pc < ag_self_hi;
}

/*
 * hooks[0, nhooks): the frames of this thread's hooks still open above the
 * walk, outermost first (a hooked call inside another's real function, the
 * C++ runtime's new whose malloc failed: hooks.c).  A walk that meets a
 * return address into one (no table holds the agent) goes on from that
 * hook's caller, as if the hook were not there: the frames the probes see.
 * Not kept in the walk cache: its result depends on those frames.
 */
uint32_t ag_uw_walk(uint64_t *ips, uint32_t max, struct ag_walk_log *log, uint64_t lo,
		    uint64_t hi, const uint64_t *const *hooks, uint32_t nhooks)
{
	struct walk_ctx w = { lo, hi, log };
	struct uwexec_ops ops = { .rule = rule, .read = read_word, .read_bp = read_bp,
				  .use_bp = use_bp, .ctx = &w, .max_frames = max,
				  .fp_fallback = ag_ctrl->unwind == DT_UNWIND_AUTO };
	/* At the hook's entry (a GOT call leaves no frame of its own), as at
	 * the allocator's in BPF: CFA = the return address + 8. */
	struct uwexec_regs r = { .pc = log->ret, .sp = log->sp + 16, .bp = log->bp };
	uint64_t fp_frames = 0;
	uint32_t n = 1, i, k;
	bool hooked = nhooks;
	int end;

	ips[0] = log->ret;
	log->gen = ag_uw_gen();
	for (;;) {
		end = uwexec__walk(&ops, &r, ips, &n, &fp_frames);
		if (end == DT_CNT_NR || !nhooks || !in_agent(ips[n - 1]))
			break;
		r = (struct uwexec_regs){ .pc = hooks[nhooks - 1][1],
					  .sp = (uint64_t)(uintptr_t)(hooks[nhooks - 1] + 2),
					  .bp = hooks[nhooks - 1][0] };
		ips[n - 1] = r.pc;
		nhooks--;
		log->nocache = true;
	}
	/* Frames a frame-pointer step (--unwind=auto) took through a hook, or
	 * rows of the agent's own did (tables the tracer rebuilt once the agent
	 * was mapped, after a dlopen: a constructor's stack passes its hook). */
	if (fp_frames || hooked) {
		for (i = k = 0; i < n; i++)
			if (i == 0 || !in_agent(ips[i]))
				ips[k++] = ips[i];
		log->nocache |= k != n;
		n = k;
	}
	ag_uw_count((uint32_t)end, fp_frames);
	log->end = (uint32_t)end;
	log->fp_frames = (uint32_t)fp_frames;
	/* A rule not found yet, or tables published during the walk: its
	 * result depended on more than its words. */
	if (end == DT_CNT_UW_WINDOW || end == DT_CNT_UW_READ_FAULT || ag_uw_gen() != log->gen)
		log->nocache = true;
	return n;
}

int ag_uw_map(int fd)
{
	const struct dt_inj_uw *t;
	size_t len;

	t = mmap(NULL, DT_INJ_UW_ROWS_OFF, PROT_READ, MAP_SHARED, fd, 0);
	if (t == MAP_FAILED)
		return -errno;
	if (t->magic != DT_INJ_UW_MAGIC || !t->capacity) {
		munmap((void *)t, DT_INJ_UW_ROWS_OFF);
		return -EPROTO;
	}
	len = DT_INJ_UW_ROWS_OFF + (size_t)t->capacity * sizeof(struct dt_uw_row);
	munmap((void *)t, DT_INJ_UW_ROWS_OFF);
	t = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (t == MAP_FAILED)
		return -errno;
	uw_rows = (const struct dt_uw_row *)((const char *)t + DT_INJ_UW_ROWS_OFF);
	uw_capacity = t->capacity;
	uw_len = len;
	/* No cache, no harm: every lookup searches. */
	rc = mmap(NULL, RC_SLOTS * sizeof(*rc), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rc == MAP_FAILED)
		rc = NULL;
	ag_wc_init();
	ag_uw = t;
	return 0;
}

/* Inert: the tables go back to the tracer, zero pages in their place (a
 * late walk then finds no mapping and stops). */
void ag_uw_let_go(void)
{
	if (ag_uw)
		mmap((void *)ag_uw, uw_len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		     0);
}

/*
 * A dlopen just mapped code the tables lack: ask for it and wait, up to
 * 100 ms, for the tracer to publish it, so that the new library's first
 * calls have whole stacks, as the BPF side has by learning mappings itself.
 * It is the dlopen caller that waits, never an allocator hook, and only
 * while the tracer is there (ag_on); past the wait, stacks met there end
 * counted (DT_CNT_UW_WINDOW) until the table comes.
 */
void ag_uw_loaded(void)
{
	struct timespec nap = { 0, 1000 * 1000 };
	uint32_t g;
	int i, saved = errno;

	if (!ag_uw || !ag_on)
		return;
	g = __atomic_load_n(&ag_uw->gen, __ATOMIC_ACQUIRE);
	__atomic_store_n(&ag_ctrl->uw_want, DT_UW_REFRESH_NOW, __ATOMIC_RELEASE);
	ag_wake_reader();
	for (i = 0; i < 100 && ag_on && __atomic_load_n(&ag_uw->gen, __ATOMIC_ACQUIRE) == g; i++)
		nanosleep(&nap, NULL);
	errno = saved;
}
