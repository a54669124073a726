/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_AGENT_H
#define DT_AGENT_H

/*
 * The in-process agent: a shared object the tracer loads into the target
 * (src/inject.c).  It rewrites the GOT slots of the allocator functions
 * (got.c), records each call into the shared ring (hooks.c) and restores the
 * slots when the tracer says so or dies (agent.c).  Everything here runs
 * inside someone else's program: no malloc, no stdio, no lock on a hook's
 * path, errno left as the real function set it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "dhat_inject_abi.h"
#include "allocfns.h"

#define AG_HIDDEN __attribute__((visibility("hidden")))

#define AG_IDX(id, sym, kind, fn, required, nargs, prog) AF_##id,
enum { DT_ALLOC_FNS(AG_IDX) AF_NR, AF_DLOPEN = AF_NR };
#undef AG_IDX

struct ag_fn {
	const char *sym;
	unsigned int fn;	/* DT_FN_* */
	void *hook;
};

/* hooks.c */
extern const struct ag_fn ag_fns[AF_NR] AG_HIDDEN;
/* The function each hook calls: the one the process had bound. */
extern void *ag_real[AF_NR + 1] AG_HIDDEN;
/* 1: record; 0: every hook passes the call through (not yet, detached,
 * the tracer gone, or a forked child). */
extern volatile int ag_on AG_HIDDEN;
extern struct dt_inj_ctrl *ag_ctrl AG_HIDDEN;
extern char *ag_ring AG_HIDDEN;
extern uint64_t ag_ring_size AG_HIDDEN;
extern uint32_t ag_max_frames AG_HIDDEN;
extern uint64_t *ag_seen AG_HIDDEN;	/* stack hashes sent, AG_SEEN_SLOTS of them */
extern int ag_wake_fd AG_HIDDEN;
extern bool ag_tsc AG_HIDDEN;	/* records are stamped with RDTSC counts */	/* eventfd the reader polls; -1: none */
#define AG_SEEN_SLOTS (1U << 16)
void *ag_hook_dlopen(const char *file, int mode) AG_HIDDEN;

/* thread.c: what each thread keeps (the fields: hooks.c) */
#define AG_OPEN_MAX 8
#define AG_DL_MAX 4
struct ag_thread {
	uint64_t guard_sp, guard_t, failed_sp;
	uint64_t stk_lo, stk_hi;
	uint64_t dlinit_passes;
	const uint64_t *open_hooks[AG_OPEN_MAX];
	const uint64_t *dl_hooks[AG_DL_MAX];
	uint32_t open_n, dl_n;
	uint32_t next_free;	/* the pool's: a free slot's successor + 1 */
	bool guard_cxx_new;
} __attribute__((aligned(64)));	/* each thread's own cache lines: written on every call */
int ag_thread_init(void) AG_HIDDEN;
extern pthread_key_t ag_thread_key AG_HIDDEN;
struct ag_thread *ag_thread_none(struct ag_thread *tmp, struct ag_thread *t) AG_HIDDEN;
/* This thread's state; tmp (zeroed) where it has none (it is exiting, or
 * the pool is spent); NULL: the call is the agent's own (setting up the
 * slot), to be passed through. */
static inline struct ag_thread *ag_thread_get(struct ag_thread *tmp)
{
	struct ag_thread *t = pthread_getspecific(ag_thread_key);

	if (__builtin_expect((uintptr_t)t > 1, 1))
		return t;
	return ag_thread_none(tmp, t);
}
/* A dlopen hook's frame while the real dlopen runs (hooks.c: dl_hooks);
 * leave with what enter returned. */
uint32_t ag_dl_enter(const uint64_t *frame) AG_HIDDEN;
void ag_dl_leave(uint32_t depth) AG_HIDDEN;
void ag_count(enum dt_counter c) AG_HIDDEN;
/* DT_CNT_UW_STACKS once, DT_CNT_UW_FP_FRAMES by fp_frames. */
void ag_count_stack(uint64_t fp_frames) AG_HIDDEN;
/* Signal the tracer's eventfd, once until it drains. */
void ag_wake_reader(void) AG_HIDDEN;

/* uwalk.c: DWARF stacks over the tracer's tables (NULL: frame pointers) */
extern const struct dt_inj_uw *ag_uw AG_HIDDEN;
int ag_uw_map(int fd) AG_HIDDEN;
void ag_uw_let_go(void) AG_HIDDEN;
/* After a dlopen: the tracer adds the new objects' tables (waited for). */
void ag_uw_loaded(void) AG_HIDDEN;
/*
 * A walk's start (sp: the hook's frame, ret and bp what it holds) and, once
 * walked, the words it read and how it ended: what walkcache.c keeps.
 */
#define AG_WC_LOG 64
struct ag_walk_log {
	uint64_t sp, ret, bp;
	uint32_t gen, epoch;
	uint32_t nlog, end, fp_frames;
	bool bp_used;	/* the result depends on bp at the start */
	bool nocache;	/* the result depends on more than the words read */
	uint64_t bp_at;	/* where bp was last read from (0: it is the start's) */
	uint32_t off[AG_WC_LOG];
	uint64_t val[AG_WC_LOG];
};
struct ag_wc_hit {
	uint64_t h;
	uint32_t end, fp_frames;
};
/* ips[0] = log->ret taken; [lo, hi) the thread's stack: the frame count
 * after the walk from log's start, logged into log.  hooks[0, nhooks): the
 * frames of hooks still open above it, passed over (uwalk.c). */
uint32_t ag_uw_walk(uint64_t *ips, uint32_t max, struct ag_walk_log *log, uint64_t lo,
		    uint64_t hi, const uint64_t *const *hooks, uint32_t nhooks) AG_HIDDEN;
/* The tables' generation now (ag_uw set). */
uint32_t ag_uw_gen(void) AG_HIDDEN;
/* The counters a walk that ended as hit says, as ag_uw_walk() counts them. */
void ag_uw_count(uint32_t end, uint64_t fp_frames) AG_HIDDEN;

/* walkcache.c */
void ag_wc_init(void) AG_HIDDEN;
/* Whether a walk from k's start (sp, ret, bp, gen, epoch) would find what a
 * kept one found, every word it read unchanged below hi: *hit set. */
bool ag_wc_find(const struct ag_walk_log *k, uint64_t hi, struct ag_wc_hit *hit) AG_HIDDEN;
/* Keep k's walk, whose frames hash to h (unless k says it may not be). */
void ag_wc_keep(const struct ag_walk_log *k, uint64_t h) AG_HIDDEN;

/* got.c: both under the agent's lock; 0 or -errno */
/* The agent's own addresses (found by the first patching pass). */
extern uint64_t ag_self_lo AG_HIDDEN, ag_self_hi AG_HIDDEN;
/* The C++ runtime's operator new (libstdc++'s): its malloc failing ends it
 * (hooks.c), as the uprobes see it (bpf/dhat.bpf.c: alloc_exit). */
extern bool ag_cxx_new[AF_NR] AG_HIDDEN;
int ag_got_patch(void) AG_HIDDEN;
void ag_got_restore(void) AG_HIDDEN;
/* Look up the functions the hooks call (never under the loader's locks). */
void ag_got_resolve(void) AG_HIDDEN;
/* The agent's own calls into libc that may allocate (dlsym), made from the
 * frame at sp: the hooks they reach pass them through unrecorded, as
 * nested calls.  ag_self_end() with what ag_self_begin() returned. */
uint64_t ag_self_begin(uint64_t sp) AG_HIDDEN;
void ag_self_end(uint64_t saved) AG_HIDDEN;
void ag_lock(void) AG_HIDDEN;
void ag_unlock(void) AG_HIDDEN;
/* Patching is over for good (inert): a dlopen hook must not patch again. */
extern int ag_inert AG_HIDDEN;
bool ag_dl_rescan(void) AG_HIDDEN;
void ag_dlinit_install(void) AG_HIDDEN;
void ag_dlinit_restore(void) AG_HIDDEN;
uint64_t ag_dlinit_passes(void) AG_HIDDEN;

#endif
