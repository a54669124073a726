// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The reuse of a DWARF walk whose words have not changed: the agent's twin
 * of bpf/stackcache.bpf.h, for the same reason (a walk is a function of
 * where it starts, of the tables' generation and map epoch, and of the
 * stack words it reads) and with the same rules (only walks whose result
 * depended on their reads alone are kept; rbp counts once a rule uses it).
 *
 * The table is shared by the target's threads: an entry is chosen by sp,
 * so threads (whose stacks differ) rarely meet in one.  Each entry is a
 * sequence lock taken by compare-and-swap: a writer that finds it taken
 * (another thread, or this one interrupted by a signal handler) does not
 * write, and a reader that finds it taken or changed misses.  Never a
 * wait, so a hook may use it anywhere.  A torn entry is never trusted,
 * and never makes a read fault: every offset is clamped to the thread's
 * stack before it is read.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>
#include "agent.h"

#define WC_SLOTS 256

struct wc_entry {
	uint64_t seq;		/* odd while written */
	uint64_t sp, ret, bp, h;
	uint32_t gen, epoch;
	uint32_t nlog, end;	/* words logged; the DT_CNT_* the walk ended with */
	uint32_t fp_frames, bp_used;
	uint32_t off[AG_WC_LOG];	/* the words it read: offset from sp, */
	uint64_t val[AG_WC_LOG];	/* and value */
};

static struct wc_entry *wc;

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

void ag_wc_init(void)
{
	void *p = mmap(NULL, WC_SLOTS * sizeof(*wc), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	/* No cache, no harm: every stack is walked. */
	wc = p == MAP_FAILED ? NULL : p;
}

static inline struct wc_entry *slot(uint64_t sp, uint64_t ret)
{
	return &wc[((sp ^ (ret << 17)) * 0x9e3779b97f4a7c15ULL) >> 56 & (WC_SLOTS - 1)];
}

bool ag_wc_find(const struct ag_walk_log *k, uint64_t hi, struct ag_wc_hit *hit)
{
	struct wc_entry *e;
	uint64_t s, diff = 0, diff2 = 0, lim, off, off2;
	const char *base;
	uint32_t i, n;

	if (!wc || hi < k->sp + 8)
		return false;
	e = slot(k->sp, k->ret);
	s = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
	if ((s & 1) || LD(e->sp) != k->sp || LD(e->ret) != k->ret || LD(e->gen) != k->gen ||
	    LD(e->epoch) != k->epoch || (LD(e->bp_used) && LD(e->bp) != k->bp))
		return false;
	n = LD(e->nlog);
	if (n > AG_WC_LOG)
		return false;
	/* Two chains of loads and compares, and a clamp instead of a branch:
	 * a torn entry's offset reads the stack's top word (a mismatch the
	 * sequence check then throws away), never past it. */
	base = (const char *)k->sp;
	lim = hi - 8 - k->sp;
	for (i = 0; i + 1 < n; i += 2) {
		off = LD(e->off[i]);
		off2 = LD(e->off[i + 1]);
		off = off > lim ? lim : off;
		off2 = off2 > lim ? lim : off2;
		diff |= *(const volatile uint64_t *)(base + off) ^ LD(e->val[i]);
		diff2 |= *(const volatile uint64_t *)(base + off2) ^ LD(e->val[i + 1]);
	}
	if (i < n) {
		off = LD(e->off[i]);
		off = off > lim ? lim : off;
		diff |= *(const volatile uint64_t *)(base + off) ^ LD(e->val[i]);
	}
	diff |= diff2;
	hit->h = LD(e->h);
	hit->end = LD(e->end);
	hit->fp_frames = LD(e->fp_frames);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return !diff && __atomic_load_n(&e->seq, __ATOMIC_RELAXED) == s;
}

void ag_wc_keep(const struct ag_walk_log *k, uint64_t h)
{
	struct wc_entry *e;
	uint64_t s;
	uint32_t i;

	if (!wc || k->nocache)
		return;
	e = slot(k->sp, k->ret);
	s = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
	if ((s & 1) || !__atomic_compare_exchange_n(&e->seq, &s, s + 1, false, __ATOMIC_ACQUIRE,
						    __ATOMIC_RELAXED))
		return;
	/* The odd sequence is seen before any word below changes. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	ST(e->sp, k->sp);
	ST(e->ret, k->ret);
	ST(e->bp, k->bp);
	ST(e->bp_used, k->bp_used);
	ST(e->gen, k->gen);
	ST(e->epoch, k->epoch);
	ST(e->h, h);
	ST(e->end, k->end);
	ST(e->fp_frames, k->fp_frames);
	ST(e->nlog, k->nlog);
	for (i = 0; i < k->nlog; i++) {
		ST(e->off[i], k->off[i]);
		ST(e->val[i], k->val[i]);
	}
	__atomic_store_n(&e->seq, s + 2, __ATOMIC_RELEASE);
}
