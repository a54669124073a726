// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The hooks the GOT slots point at, and the records they write.  Each does
 * what the BPF side does at its uprobes (bpf/dhat.bpf.c), with the same
 * records and the same clock: a free is published before the real free
 * runs, an allocation after it returned; realloc with an old block is one
 * record at return carrying its entry time; a full ring drops and counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include "agent.h"

typedef uint64_t (*fn3_t)(uint64_t, uint64_t, uint64_t);

void *ag_real[AF_NR + 1];
volatile int ag_on;
struct dt_inj_ctrl *ag_ctrl;
char *ag_ring;
uint64_t ag_ring_size;
uint32_t ag_max_frames = 64;
uint64_t *ag_seen;
int ag_wake_fd = -1;

/*
 * Per thread (struct ag_thread: thread.c, no TLS of the agent's own).
 *
 * guard_sp: the stack pointer of the thread's outermost hooked call still
 * open (0: none).  A call deeper on the same stack and soon after is nested
 * in it (operator new -> malloc, realloc(NULL) -> malloc, a signal handler)
 * and passes through: each user call is counted once.  The test is
 * bpf/dhat.bpf.c's: a call that is not deeper, or comes a second later,
 * means the open one was left without returning (operator new threw
 * bad_alloc through it, a longjmp), counted as a stale entry.  No cleanup
 * handler, so the agent needs no libgcc_s (a bare root may have none).
 *
 * guard_cxx_new: the open call is the C++ runtime's operator new, over once
 * the malloc it calls fails (it throws bad_alloc, or calls the new-handler
 * and tries again): the uprobes see it so (bpf/dhat.bpf.c: alloc_exit), and
 * the exception's own allocation that follows is the program's.
 * failed_sp: the stack pointer of that new, whose return records nothing
 * (a second try of the handler's counts as its own call, as in BPF).
 * open_hooks: the frames of the hooks open inside such a new (its own
 * first), which a stack taken meanwhile passes over (uwalk.c).
 *
 * stk_*: the thread's stack mapping, the only memory a frame-pointer walk
 * may read.
 */
#define OPEN_MAX AG_OPEN_MAX

/* The frame of a hook open inside the C++ runtime's new; the old count,
 * which its return restores (a throw through it leaves it, cleared by the
 * next outermost call). */
static inline uint32_t open_hook(struct ag_thread *t, const uint64_t *frame)
{
	uint32_t depth = t->open_n;

	if (depth < OPEN_MAX)
		t->open_hooks[t->open_n++] = frame;
	return depth;
}

/*
 * The frames of this thread's dlopen hooks still in the real dlopen (got.c:
 * ld.so allocates in there through its own pointers, which patch_rtld
 * hooks, and a constructor may dlopen again).  A stack taken meanwhile
 * passes over them, as over open_hooks: the frames the probes see.
 */
#define DL_MAX AG_DL_MAX

/* Only a thread with a slot of its own keeps them (not one exiting). */
uint32_t ag_dl_enter(const uint64_t *frame)
{
	struct ag_thread tmp, *t = ag_thread_get(&tmp);
	uint32_t depth;

	if (!t || t == &tmp)
		return 0;
	depth = t->dl_n;
	if (depth < DL_MAX)
		t->dl_hooks[t->dl_n++] = frame;
	return depth;
}

void ag_dl_leave(uint32_t depth)
{
	struct ag_thread tmp, *t = ag_thread_get(&tmp);

	if (t)
		t->dl_n = depth;
}

#define NEST_MAX_STACK (64 * 1024)
#define NEST_MAX_NS (1000ULL * 1000 * 1000)

void ag_count(enum dt_counter c)
{
	__atomic_fetch_add(&ag_ctrl->counters[c], 1, __ATOMIC_RELAXED);
}

/* Set once before the hooks record (agent.c): stamps are RDTSC counts. */
bool ag_tsc;

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	/* Unordered: no order rests on these times, and an ordered read (the
	 * vDSO's) cost a fifth of a hooked malloc+free. */
	if (ag_tsc)
		return __builtin_ia32_rdtsc();
	/* What bpf_ktime_get_ns() reads, through the vDSO. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * The reader's tail as last read: tail's cache line is the reader's, and
 * reading it on every record cost a quarter of a hooked call.  A stale
 * value is lower, so it can only make a writer look again, never write
 * over what the reader has not consumed.
 */
static uint64_t tail_seen;

static uint64_t fresh_tail(void)
{
	uint64_t t = __atomic_load_n(&ag_ctrl->tail, __ATOMIC_ACQUIRE);

	__atomic_store_n(&tail_seen, t, __ATOMIC_RELEASE);
	return t;
}

/* len bytes in the ring, or NULL (full: the caller counts the drop); *pos:
 * where. */
static void *reserve(uint32_t len, uint64_t *pos)
{
	struct dt_inj_ctrl *c = ag_ctrl;
	__u64 h = __atomic_load_n(&c->head, __ATOMIC_RELAXED);
	uint64_t t = __atomic_load_n(&tail_seen, __ATOMIC_ACQUIRE);

	/* Signed: a head read before the reader moved tail past it is stale,
	 * not a full ring; the compare-and-swap fails on it and reads it again. */
	do {
		if ((int64_t)(h + len - t) > (int64_t)ag_ring_size &&
		    (int64_t)(h + len - (t = fresh_tail())) > (int64_t)ag_ring_size)
			return NULL;
	} while (!__atomic_compare_exchange_n(&c->head, &h, h + len, true, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	*pos = h;
	return ag_ring + (h & (ag_ring_size - 1));
}

/* An eventfd, not a pipe: a write to it never raises SIGPIPE in the
 * target, whether the tracer is there or not. */
void ag_wake_reader(void)
{
	struct dt_inj_ctrl *c = ag_ctrl;
	uint64_t one = 1;
	uint32_t zero = 0;
	int saved;

	if (!__atomic_compare_exchange_n(&c->wake_pending, &zero, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;
	saved = errno;
	if (write(ag_wake_fd, &one, sizeof(one)) != sizeof(one))
		__atomic_store_n(&c->wake_pending, 0, __ATOMIC_RELEASE);
	errno = saved;
}

/* The record's end (pos + len) tells how much waits: reading head again
 * here took its cache line from the other writers once more.  Signed: the
 * reader may have taken the record already. */
static inline void commit(void *rec, uint32_t len, uint64_t pos)
{
	struct dt_inj_ctrl *c = ag_ctrl;
	int64_t wake = (int64_t)c->wake_bytes;

	__atomic_store_n(&((struct dt_inj_hdr *)rec)->len, len, __ATOMIC_RELEASE);
	if (ag_wake_fd < 0 || !wake || __atomic_load_n(&c->wake_pending, __ATOMIC_RELAXED))
		return;
	pos += len;
	if ((int64_t)(pos - __atomic_load_n(&tail_seen, __ATOMIC_RELAXED)) >= wake &&
	    (int64_t)(pos - fresh_tail()) >= wake)
		ag_wake_reader();
}

/* Once per stack, on this CPU's line (sched_getcpu(): rseq's cpu_id). */
void ag_count_stack(uint64_t fp_frames)
{
	int cpu = sched_getcpu();
	struct dt_inj_cpucount *k = &ag_ctrl->percpu[(unsigned int)(cpu < 0 ? 0 : cpu) %
						      DT_INJ_CPU_SLOTS];

	__atomic_fetch_add(&k->uw_stacks, 1, __ATOMIC_RELAXED);
	if (fp_frames)
		__atomic_fetch_add(&k->uw_fp_frames, fp_frames, __ATOMIC_RELAXED);
}

/*
 * The mapping holding sp, from /proc/self/maps read with plain system
 * calls into a stack buffer (once per thread; again only if sp leaves it,
 * as on a signal's alternate stack).  0/0 if not found: no walk then.
 */
static void find_stack(struct ag_thread *t, uint64_t sp)
{
	char buf[512];
	uint64_t start = 0, end = 0, *v = &start;
	int fd, saved = errno, state = 0;
	ssize_t n, i;

	t->stk_lo = t->stk_hi = 0;
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++) {
			char ch = buf[i];

			if (ch == '\n') {
				state = 0;
				start = end = 0;
				v = &start;
				continue;
			}
			if (state == 2)
				continue;
			if (ch == '-' && state == 0) {
				state = 1;
				v = &end;
			} else if (ch == ' ') {
				state = 2;
				if (sp >= start && sp < end) {
					t->stk_lo = start;
					t->stk_hi = end;
					goto done;
				}
			} else {
				*v = *v << 4 | (uint64_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
			}
		}
	}
done:
	close(fd);
out:
	errno = saved;
}

/*
 * The stack at the hooked call: the caller's return address, then the
 * frame-pointer chain from the caller's rbp, the walk bpf/dhat.bpf.c's
 * fp_step() does, with its hash (the map epoch in it) so that stack
 * records are the BPF side's.  Sent the first time its hash is seen.
 */
/*
 * Whether every page of [lo, hi) is mapped: madvise() fails with ENOMEM on
 * a hole.  MADV_NORMAL changes nothing on a stack (it clears read-ahead
 * hints nobody sets there), and madvise is a call glibc's own malloc makes,
 * so a seccomp filter that lets the program allocate lets it through
 * (mincore, the obvious choice, is missing from systemd's @system-service,
 * whose filters kill).
 */
static bool mapped(uint64_t lo, uint64_t hi)
{
	int saved = errno;
	bool ok = madvise((void *)lo, hi - lo, MADV_NORMAL) == 0;

	errno = saved;
	return ok;
}

/*
 * The stack above sp that a walk may read.  A thread pthread_create()
 * made has its descriptor (the thread pointer) at the top of the one
 * mapping that holds its stack: [sp, tp) is that mapping's, checked once
 * with a system call that reads no file.  Only the main thread, and a
 * stack of the program's own (a coroutine's, a signal's alternate one),
 * are looked up in /proc/self/maps: reading it from a thousand threads at
 * once took seconds.
 */
static void stack_bounds(struct ag_thread *t, uint64_t sp)
{
	uint64_t tp = (uint64_t)(uintptr_t)__builtin_thread_pointer(), lo = sp & ~4095ULL;

	if (tp > sp && tp - sp <= (64ULL << 20) && mapped(lo, tp)) {
		t->stk_lo = lo;
		t->stk_hi = tp;
		return;
	}
	find_stack(t, sp);
}

static uint64_t stack_hash(const uint64_t *ips, uint32_t n, uint32_t epoch)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ epoch;
	uint32_t i;

	for (i = 0; i < n; i++) {
		h = (h ^ ips[i]) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h ? h : 1;
}

static bool stack_sent(uint64_t h)
{
	uint64_t *slot = &ag_seen[h & (AG_SEEN_SLOTS - 1)];
	uint32_t k;

	for (k = 0; k < 8; k++)
		if (__atomic_load_n(&slot[k], __ATOMIC_RELAXED) == h)
			return true;
	return false;
}

static uint32_t fp_walk(const struct ag_thread *t, uint64_t *ips, uint32_t max, uint64_t fp,
		       uint64_t sp)
{
	uint64_t next, r;
	uint32_t n = 1;

	while (n < max && fp >= sp && fp + 16 <= t->stk_hi && !(fp & 7)) {
		next = ((const uint64_t *)fp)[0];
		r = ((const uint64_t *)fp)[1];
		if (!r)
			break;
		/* A dlopen hook's frame (dl_hooks): not the program's. */
		if (r < ag_self_lo || r >= ag_self_hi)
			ips[n++] = r;
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
}

/* The hook frames a walk passes over, outermost (highest) first: the
 * dlopen hooks', then nopen of open_hooks. */
static uint32_t hooks_open(const struct ag_thread *t, const uint64_t **out, uint32_t nopen)
{
	uint32_t n = 0, i, j;
	const uint64_t *f;

	for (i = 0; i < t->dl_n && i < DL_MAX; i++)
		out[n++] = t->dl_hooks[i];
	for (i = 0; i < nopen && i < OPEN_MAX; i++)
		out[n++] = t->open_hooks[i];
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && out[j] > out[j - 1]; j--) {
			f = out[j];
			out[j] = out[j - 1];
			out[j - 1] = f;
		}
	return n;
}

static uint64_t take_stack(struct ag_thread *t, uint64_t ret, uint64_t fp, uint64_t sp,
			   uint32_t nopen)
{
	const uint64_t *hooks[DL_MAX + OPEN_MAX];
	uint32_t nhooks = t->dl_n || nopen ? hooks_open(t, hooks, nopen) : 0;
	uint64_t ips[DT_MAX_FRAMES], h, *slot, pos;
	uint32_t n = 1, max = ag_max_frames, epoch, k;
	struct ag_walk_log log;
	struct ag_wc_hit hit;
	struct dt_rec_stack *s;
	char *rec;

	ips[0] = ret;
	if (sp < t->stk_lo || sp >= t->stk_hi)
		stack_bounds(t, sp);
	epoch = __atomic_load_n(&ag_ctrl->epoch, __ATOMIC_RELAXED);
	if (sp >= t->stk_lo && sp < t->stk_hi && ag_uw) {
		log.sp = sp;
		log.ret = ret;
		log.bp = fp;
		log.epoch = epoch;
		log.gen = ag_uw_gen();
		/* Found again and sent: nothing else to do (if not sent, the
		 * frames are needed, so it is walked). */
		if (!nhooks && ag_wc_find(&log, t->stk_hi, &hit) && stack_sent(hit.h)) {
			ag_uw_count(hit.end, hit.fp_frames);
			return hit.h;
		}
		log.nlog = 0;
		log.bp_used = log.nocache = false;
		log.bp_at = 0;
		n = ag_uw_walk(ips, max, &log, t->stk_lo, t->stk_hi, hooks, nhooks);
		h = stack_hash(ips, n, epoch);
		ag_wc_keep(&log, h);
	} else {
		if (sp >= t->stk_lo && sp < t->stk_hi)
			n = fp_walk(t, ips, max, fp, sp);
		else
			ag_count(DT_CNT_UW_READ_FAULT);
		h = stack_hash(ips, n, epoch);
	}
	if (stack_sent(h))
		return h;
	rec = reserve(8 + DT_REC_STACK_HDR + n * 8, &pos);
	if (!rec) {
		ag_count(DT_CNT_RB_DROP_STACK);
		return h;	/* not marked sent: the next call sends it again */
	}
	s = (struct dt_rec_stack *)(rec + 8);
	s->kind = DT_REC_STACK;
	s->nr_frames = n;
	s->stack_id = h;
	s->epoch = epoch;
	s->flags = 0;
	memcpy(s->ips, ips, n * 8);
	commit(rec, 8 + DT_REC_STACK_HDR + n * 8, pos);
	/* Marked only once its record is in the ring: whoever finds the mark
	 * reserves after it, so the intake meets the frames first. */
	slot = &ag_seen[h & (AG_SEEN_SLOTS - 1)];
	for (k = 0; k < 8; k++) {
		uint64_t zero = 0;

		if (__atomic_compare_exchange_n(&slot[k], &zero, h, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED) || zero == h)
			break;
	}
	return h;
}

static void emit_free(uint64_t addr)
{
	uint64_t pos;
	char *rec = reserve(8 + sizeof(struct dt_rec_free), &pos);
	struct dt_rec_free *f;

	if (!rec) {
		ag_count(DT_CNT_RB_DROP_FREE);
		return;
	}
	f = (struct dt_rec_free *)(rec + 8);
	*f = (struct dt_rec_free){ .kind = DT_REC_FREE, .fn = DT_FN_FREE, .ts = now_ns(),
				   .addr = addr };
	commit(rec, 8 + sizeof(*f), pos);
}

static void emit_alloc(unsigned int fn, uint64_t addr, uint64_t size, uint64_t sid)
{
	uint64_t pos;
	char *rec = reserve(8 + sizeof(struct dt_rec_alloc), &pos);
	struct dt_rec_alloc *a;

	if (!rec) {
		ag_count(DT_CNT_RB_DROP_ALLOC);
		return;
	}
	a = (struct dt_rec_alloc *)(rec + 8);
	*a = (struct dt_rec_alloc){ .kind = DT_REC_ALLOC, .fn = fn, .ts = now_ns(), .addr = addr,
				    .size = size, .stack_id = sid };
	commit(rec, 8 + sizeof(*a), pos);
}

static void emit_realloc(unsigned int fn, uint64_t addr, uint64_t size, uint64_t sid,
			 uint64_t old, uint64_t t_entry)
{
	uint64_t pos;
	char *rec = reserve(8 + sizeof(struct dt_rec_realloc), &pos);
	struct dt_rec_realloc *r;

	if (!rec) {
		ag_count(DT_CNT_RB_DROP_ALLOC);
		return;
	}
	r = (struct dt_rec_realloc *)(rec + 8);
	*r = (struct dt_rec_realloc){ .kind = DT_REC_REALLOC, .fn = fn, .ts = now_ns(),
				      .addr = addr, .size = size, .stack_id = sid,
				      .old_addr = old, .t_entry = t_entry };
	commit(rec, 8 + sizeof(*r), pos);
}

/* The vDSO's tick-grained clock: a few ns, enough for the guard's second. */
static inline uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline bool nested(struct ag_thread *t, uint64_t sp)
{
	if (!t->guard_sp)
		return false;
	if (sp < t->guard_sp && t->guard_sp - sp < NEST_MAX_STACK &&
	    coarse_ns() - t->guard_t < NEST_MAX_NS)
		return true;
	ag_count(DT_CNT_STALE_ENTRY);
	t->guard_sp = 0;
	return false;
}

/* The agent's own calls (a thread without a slot: not marked). */
uint64_t ag_self_begin(uint64_t sp)
{
	struct ag_thread tmp, *t = ag_thread_get(&tmp);
	uint64_t saved;

	if (!t || t == &tmp)
		return 1;
	saved = t->guard_sp;
	if (!saved) {
		t->guard_sp = sp;
		t->guard_t = coarse_ns();
	}
	return saved;
}

void ag_self_end(uint64_t saved)
{
	struct ag_thread tmp, *t = ag_thread_get(&tmp);

	if (!saved && t)
		t->guard_sp = 0;
}

/*
 * One body for every hook; fn is a constant in each, so the switch folds.
 * Arguments are passed on as three integer registers: every function in
 * the table takes at most three integer or pointer arguments, and the
 * extra registers are ignored by those taking fewer (x86-64 SysV).
 */
static inline __attribute__((always_inline)) uint64_t
hook(int idx, unsigned int fn, uint64_t a, uint64_t b, uint64_t c, uint64_t *frame)
{
	fn3_t real = (fn3_t)ag_real[idx];
	uint64_t size = 0, old = 0, t_entry, sid, addr, r, sp = (uint64_t)frame;
	struct ag_thread tmp, *t;
	uint32_t depth;

	if (!ag_on)
		return real(a, b, c);
	t = ag_thread_get(&tmp);
	if (!t)
		return real(a, b, c);
	if (nested(t, sp)) {
		if (!t->guard_cxx_new)
			return real(a, b, c);
		depth = open_hook(t, frame);
		r = real(a, b, c);
		t->open_n = depth;
		if (!r && fn != DT_FN_FREE && fn != DT_FN_DELETE && fn != DT_FN_POSIX_MEMALIGN) {
			t->failed_sp = t->guard_sp;
			t->guard_sp = 0;
		}
		return r;
	}
	if (t->failed_sp && t->failed_sp <= sp)
		t->failed_sp = 0;	/* that new is long gone (it threw) */
	if (!t->failed_sp)
		t->open_n = 0;
	t->guard_sp = sp;
	t->guard_t = coarse_ns();
	t->guard_cxx_new = ag_cxx_new[idx];
	if (fn == DT_FN_FREE || fn == DT_FN_DELETE) {
		if (a)
			emit_free(a);
		r = real(a, b, c);
		t->guard_sp = 0;
		return r;
	}
	switch (fn) {
	case DT_FN_CALLOC:
		size = a * b;
		break;
	case DT_FN_REALLOC:
		old = a;
		size = b;
		break;
	case DT_FN_REALLOCARRAY:
		old = a;
		size = b * c;
		break;
	case DT_FN_POSIX_MEMALIGN:
		size = c;
		break;
	case DT_FN_ALIGNED_ALLOC:
	case DT_FN_MEMALIGN:
		size = b;
		break;
	default:	/* malloc, valloc, pvalloc, every operator new */
		size = a;
	}
	/* Only a realloc's record carries its entry time. */
	t_entry = old ? now_ns() : 0;
	/* frame[1]: the return address into the caller (a GOT call leaves no
	 * frame of its own); frame[0]: the caller's rbp. */
	sid = take_stack(t, frame[1], frame[0], sp, t->failed_sp ? t->open_n : 0);
	depth = t->guard_cxx_new ? open_hook(t, frame) : t->open_n;
	r = real(a, b, c);
	t->open_n = depth;
	if (t->failed_sp == sp) {
		t->failed_sp = 0;
		return r;
	}
	addr = r;
	if (fn == DT_FN_POSIX_MEMALIGN)
		addr = (int)r == 0 ? *(const uint64_t *)a : 0;
	if ((fn == DT_FN_REALLOC || fn == DT_FN_REALLOCARRAY) && old)
		emit_realloc(fn, addr, size, sid, old, t_entry);
	else if (addr)
		emit_alloc(fn, addr, size, sid);
	t->guard_sp = 0;
	return r;
}

#define AG_HOOK(id, sym, kind, fn, required, nargs, prog) \
	static uint64_t hook_##id(uint64_t a, uint64_t b, uint64_t c) \
	{ \
		return hook(AF_##id, fn, a, b, c, __builtin_frame_address(0)); \
	}
DT_ALLOC_FNS(AG_HOOK)
#undef AG_HOOK

#define AG_FN(id, sym, kind, fn, required, nargs, prog) \
	[AF_##id] = { sym, fn, (void *)hook_##id },
const struct ag_fn ag_fns[AF_NR] = { DT_ALLOC_FNS(AG_FN) };
#undef AG_FN
