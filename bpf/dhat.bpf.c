// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Allocator probes.  Entry programs remember the call per thread (and take
 * the stack there, where the return address into the caller still sits at
 * [sp]); one shared return program turns the call into a record.  free is
 * recorded at entry, before the allocator can hand the address out again,
 * and an allocation after the allocator returned: each record takes its time
 * after its reservation, so that user space, merging the CPUs' rings by
 * time (src/intake.c), always has a free before the reuse of its address.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "dhat_abi.h"

/* Set by user space before load. */
const volatile __u32 target_tgid = 0;
const volatile __u32 max_frames = DT_MAX_FRAMES;
/* Wake the consumer only when this much is waiting: a wakeup per record costs
 * more than everything else the tracer does (design.md §3). */
const volatile __u64 wake_bytes = 256 * 1024;
/* Stacks with tails (send_tail) only while the ring holds less than this. */
const volatile __u64 tail_room = 512 * 1024;
/* --follow-forks, attached: a record for each child (see fork_seen). */
const volatile __u32 emit_forks = 0;

/* A nested allocator call (realloc(NULL, n) -> malloc, operator new ->
 * malloc, posix_memalign -> malloc) runs deeper on the same stack, shortly
 * after the outer entry.  Anything else found in the per-thread slot is a
 * leftover of a call whose return we never saw. */
#define NEST_MAX_STACK	(64 * 1024)
/* In jiffies (bpf_jiffies64(): 1 to 10 ms each, by the kernel's HZ), which
 * are cheaper to read than the clock, and this needs no more precision. */
#define NEST_MAX_JIFFIES 1000

__u64 counters[DT_CNT_NR];
/* Set once every probe is attached, so the capture starts at one instant
 * rather than function by function. */
volatile __u32 tracing_on;
/*
 * --inject with an executable that defines the allocator itself: the
 * in-process agent's code, [agent_lo, agent_hi).  A call whose return
 * address lies there came through one of its GOT hooks, which records it:
 * the probes skip it, and what it calls (nested), as the same call.  0:
 * no agent.
 */
volatile __u64 agent_lo, agent_hi;
/* Set at the first operator delete: until then no thread has a delete mark
 * (struct pending), and free() need not look its slot up. */
volatile __u32 deletes_seen;

struct pending {
	__u64 sp;	/* stack pointer at the outermost allocator entry */
	__u64 size;
	__u64 arg;	/* realloc: old pointer; posix_memalign: memptr */
	__u64 t_entry;	/* realloc only: bpf_ktime_get_ns() at the entry */
	__u64 j_entry;	/* bpf_jiffies64() at the entry */
	__u64 stack_id;
	__u32 fn;
	__u32 tail_calls;	/* allocators entered by a jump on the same frame */
	/* The call has no return probe (DT_COOKIE_NO_RETURN): the allocator it
	 * calls (operator new's malloc) returns its block. */
	__u32 no_return;
	__u32 skip;	/* the agent's call (agent_lo): nothing to record */
	/* The last operator delete entered (its free recorded), its stack
	 * pointer and jiffies: the free() it may call, on or under its frame,
	 * is the same call (allocfns.h).  0: none. */
	__u64 del_ptr;
	__u64 del_sp;
	__u64 del_j;
};

/*
 * The open call of each thread, in task-local storage: after a thread's
 * first call its slot is found without a lock, and it goes with the thread.
 * A hash keyed by tid took locks on every update and delete, with interrupts
 * off: the costliest part of these programs (docs/performance.md).  sp == 0
 * marks an empty slot.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending);
} pending SEC(".maps");

/* Stack hashes user space already has; LRU, so an evicted hash is just sent
 * again (user space interns it once). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} seen_stacks SEC(".maps");

/* In front of seen_stacks, per CPU and direct-mapped: a hit is one load,
 * where the hash map lookup cost ~50 ns on every allocation.  A hash gets
 * here only once user space has it, and user space never forgets one. */
#define SEEN_SLOTS 4096

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SEEN_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} seen_recent SEC(".maps");

/* A stack record, and room for its tail (DT_STACK_TAIL): + a page that a
 * masked offset may reach. */
struct stack_buf {
	struct dt_rec_stack s;
	struct dt_stack_tail t;
	__u8 bytes[DT_TAIL_MAX + 4096];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack_buf);
} stack_scratch SEC(".maps");

/*
 * One ring per CPU, created and put here by user space (src/bpfrings.c):
 * with one ring shared by all CPUs, its lock and producer position bounced
 * between them on every record (docs/performance.md, issue 12).  The
 * programs run with migration disabled, so a record goes whole to the ring
 * of the CPU that looked it up.
 */
struct cpu_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);	/* the template; the rings are sized apart */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);		/* one per possible CPU, set before load */
	__type(key, __u32);
	__array(values, struct cpu_ring);
} rings SEC(".maps");

/* See struct dt_unmap: bumped whenever the target's code may change meaning. */
volatile __u32 map_epoch;
/* ld.so's _r_debug minus the address of its _dl_debug_state probe; 0:
 * unknown (user space: probes.c). */
__s64 r_debug_delta;
__u32 r_state_prev = ~0U;
struct dt_unmap unmap_log[DT_UNMAP_LOG];

/*
 * What is counted on every stack (DWARF: stacks unwound, frames taken by
 * frame pointer), per CPU: counters[] shares its cache line with what every
 * program reads (tracing_on, map_epoch), and an atomic add there on each
 * event made the other CPU's programs miss it.  User space adds these up
 * into counters[] (capture.c), which BPF then never writes for them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DT_CNT_NR);
	__type(key, __u32);
	__type(value, __u64);
} cpu_counters SEC(".maps");

static __always_inline void count_n(enum dt_counter c, __u64 n)
{
	__u32 k = c;
	__u64 *v;

	if (c >= DT_CNT_NR)
		return;
	if (c != DT_CNT_UW_STACKS && c != DT_CNT_UW_FP_FRAMES) {
		__sync_fetch_and_add(&counters[c], n);
		return;
	}
	v = bpf_map_lookup_elem(&cpu_counters, &k);
	if (v)
		__sync_fetch_and_add(v, n);	/* local: a preempted add must not lose one */
}

static __always_inline void count(enum dt_counter c)
{
	count_n(c, 1);
}

#include "unwind.bpf.h"

/* This CPU's ring; NULL only if user space has not put one there. */
static __always_inline void *cpu_ring(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&rings, &cpu);
}

static __always_inline __u64 rb_flags(void *rb)
{
	return bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) >= wake_bytes ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline int traced(__u64 pid_tgid)
{
	return (pid_tgid >> 32) == target_tgid && tracing_on;
}

#include "fpwalk.bpf.h"

/*
 * A stack cut at an object whose rows are being built (the walk ended with
 * DT_CNT_UW_WINDOW) goes with a copy of the stack from where the walk
 * stopped, for user space to finish once it has the rows: its id, or 0 when
 * it goes as it is (no room in the ring; the caller counts the cut).  Up to
 * DT_TAIL_MAX bytes, read a page at a time: the read stops at the first
 * page that cannot be read (above the stack's top).
 */
static __always_inline __u64 send_tail(void *rb, struct stack_buf *b, struct uw_state *st,
				       struct stack_win *w, __u64 gen, __u32 nr, __u32 epoch)
{
	__u64 addr, off = 0, n;
	__u32 i;

	/* Tails are large: they never take the room that the records of
	 * allocations and frees need, only the first part of the ring. */
	if (bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) >= tail_room)
		return 0;
	addr = st->sp;
	for (i = 0; i < DT_TAIL_MAX / SW_PAGE + 1; i++) {
		n = SW_PAGE - (addr & (SW_PAGE - 1));
		if (n > DT_TAIL_MAX - off)
			n = DT_TAIL_MAX - off;
		if (!n || n > SW_PAGE ||
		    bpf_probe_read_user(b->bytes + (off & (DT_TAIL_MAX - 1)), n, (void *)addr))
			break;
		off += n;
		addr += n;
		if (off >= DT_TAIL_MAX)
			break;
	}
	/* Another walk on this CPU mixed in. */
	if (w->gen != gen || off > DT_TAIL_MAX)
		return 0;
	b->t.pc = st->pc;
	b->t.sp = st->sp;
	b->t.bp = st->bp;
	b->t.exact = (__u32)st->exact;
	b->t.len = (__u32)off;
	b->t.missing_ino = st->missing.ino;
	b->t.missing_size = st->missing.size;
	b->s.kind = DT_REC_STACK;
	b->s.nr_frames = nr;
	b->s.epoch = epoch;
	b->s.flags = DT_STACK_TAIL;
	b->s.stack_id = (__u64)bpf_get_prandom_u32() << 32 | bpf_get_prandom_u32() | 1;
	if (bpf_ringbuf_output(rb, b, sizeof(b->s) + sizeof(b->t) + off, rb_flags(rb)))
		return 0;
	count(DT_CNT_UW_TAILS);
	return b->s.stack_id;
}

/*
 * The stack at the allocator's entry, innermost first.  There the caller's
 * return address is at [sp] and rbp still belongs to the caller, so every
 * walk starts from [sp].  bpf_get_stack() would do the frame-pointer walk
 * but costs ~5 µs per call on 6.18 (its generic user unwinder), several
 * times these loops.  Returns the stack's hash, 0 if none.
 */
static __always_inline __u64 capture_stack(struct pt_regs *ctx)
{
	__u64 sp = PT_REGS_SP(ctx), bp = PT_REGS_FP(ctx), gen, *recent, h = 0, ip0;
	__u32 zero = 0, nr, slot, end, fp_frames;
	struct dt_rec_stack *s;
	struct stack_win *w;
	struct uw_state *st;
	struct sc_entry *e;
	/* The epoch is in the hash: the same addresses after an unmap are
	 * another stack, sent again and placed by user space anew. */
	__u32 epoch = map_epoch;
	void *rb = cpu_ring();	/* the one lookup: stacks and tails go there */
	bool alone, hit;
	__u8 one = 1;

	s = bpf_map_lookup_elem(&stack_scratch, &zero);
	st = bpf_map_lookup_elem(&uw_state, &zero);
	w = win_get();
	if (!s || !st || !w || !rb)
		return 0;
	/* What the window holds was read by an earlier call: memory since moved on. */
	w->len = 0;
	gen = ++w->gen;
	alone = __sync_fetch_and_add(&w->busy, 1) == 0;
	if (win_word(w, sp, &ip0)) {
		count(DT_CNT_STACK_FAIL);
		goto out;
	}
	slot = sc_index(sp, ip0);
	e = sc_get(slot);
	hit = e && sc_hit(e, w, sp, bp, ip0, epoch);
	if (hit) {
		h = e->h;
		nr = e->nr;
		end = e->end;
		fp_frames = e->fp_frames;
		if (!h)
			h = 1;
		slot = (__u32)h & (SEEN_SLOTS - 1);
		recent = bpf_map_lookup_elem(&seen_recent, &slot);
		if (recent && *recent == h)
			goto counted;
		if (bpf_map_lookup_elem(&seen_stacks, &h)) {
			if (recent)
				*recent = h;
			goto counted;
		}
		/* User space has not got these frames: walk to have them. */
		slot = sc_index(sp, ip0);
	}
	s->ips[0] = ip0;
	sc_begin(st, alone ? e : NULL, slot, sp, alone);
	/* The walkers hash each frame as they push it: no second pass. */
	st->h = stack_hash_step(0xcbf29ce484222325ULL ^ epoch, ip0);
	st->end = DT_CNT_NR;
	nr = unwind_mode == DT_UNWIND_FP ? unwind_fp(ctx, st) : unwind_dwarf(ctx, st, ip0, epoch);
	h = st->h;
	end = (__u32)st->end;
	fp_frames = (__u32)st->fp_frames;
	/* Both walkers leave in st->sp where their last frame's reads ended. */
	win_reached(w, sp, st->sp);
	/* Another walk ran on this CPU meanwhile (a preemptible kernel) and
	 * used the same per-CPU buffers: the frames may be a mix of two. */
	if (w->gen != gen) {
		count(DT_CNT_STACK_FAIL);
		h = 0;
		goto counted;
	}
	if (end == DT_CNT_UW_WINDOW) {
		__u64 id = send_tail(rb, (struct stack_buf *)s, st, w, gen, nr, epoch);

		/* Sent with its copy: user space finishes it and counts how it
		 * ends.  Never kept (st->nocache) nor marked seen: its id is
		 * this call's alone. */
		if (id) {
			h = id;
			end = DT_CNT_NR;
			goto counted;
		}
	}
	sc_end(st, alone ? e : NULL, sp, bp, ip0, epoch, true, unwind_mode == DT_UNWIND_FP);
	if (!h)
		h = 1;
	slot = (__u32)h & (SEEN_SLOTS - 1);
	recent = bpf_map_lookup_elem(&seen_recent, &slot);
	if (recent && *recent == h)
		goto counted;
	if (bpf_map_lookup_elem(&seen_stacks, &h)) {
		if (recent)
			*recent = h;
		goto counted;
	}
	s->kind = DT_REC_STACK;
	s->nr_frames = nr;
	s->stack_id = h;
	s->epoch = epoch;
	s->flags = 0;
	if (bpf_ringbuf_output(rb, s, DT_REC_STACK_HDR + (__u64)(nr & 127) * sizeof(__u64),
			       rb_flags(rb))) {
		count(DT_CNT_RB_DROP_STACK);
		goto counted;	/* not marked seen: the next call sends it again */
	}
	bpf_map_update_elem(&seen_stacks, &h, &one, BPF_ANY);
	if (recent)
		*recent = h;
counted:
	if (unwind_mode != DT_UNWIND_FP) {
		count(DT_CNT_UW_STACKS);
		if (end != DT_CNT_NR)
			count(end);
		if (fp_frames)
			count_n(DT_CNT_UW_FP_FRAMES, fp_frames);
	}
out:
	__sync_fetch_and_add(&w->busy, -1);
	return h;
}

/* Entered from the agent's hooks: the return address at [sp] is its code
 * (every probe sits where sp is still the entry's, src/placement.c). */
static __always_inline bool from_agent(__u64 sp)
{
	__u64 ra;

	if (!agent_hi)
		return false;
	return !bpf_probe_read_user(&ra, sizeof(ra), (void *)sp) && ra >= agent_lo &&
	       ra < agent_hi;
}

static __always_inline struct pending *slot(__u64 flags)
{
	return bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0, flags);
}

static __always_inline int enter(struct pt_regs *ctx, __u32 fn, __u64 size, __u64 arg,
				 bool no_return)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 sp = PT_REGS_SP(ctx), jif;
	struct pending *p;

	if (!traced(pid_tgid))
		return 0;
	jif = bpf_jiffies64();
	p = slot(BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!p) {
		count(DT_CNT_PENDING_FULL);
		return 0;
	}
	/* An allocation since: a delete that did not call free is over. */
	p->del_ptr = 0;
	if (p->sp) {
		if (p->sp >= sp && p->sp - sp < NEST_MAX_STACK &&
		    jif - p->j_entry < NEST_MAX_JIFFIES) {
			/* Nested: the outer call is the user's.  operator new[]
			 * tail-jumps to operator new: same frame, and both return
			 * probes will fire on its one return. */
			if (p->sp == sp)
				p->tail_calls++;
			return 0;
		}
		count(DT_CNT_STALE_ENTRY);
	}
	p->skip = from_agent(sp);
	p->stack_id = p->skip ? 0 : capture_stack(ctx);
	p->size = size;
	p->arg = arg;
	p->j_entry = jif;
	p->fn = fn;
	/* Read back: a test of fn itself, known on each of multi_enter's
	 * paths, made the verifier go through capture_stack() once per
	 * function (~2.5 s to load, not 0.4 s). */
	asm volatile("" ::: "memory");
	/* Orders the call against other threads' records (the realloc race,
	 * accounting.c); nothing else needs the entry's time. */
	p->t_entry = p->fn == DT_FN_REALLOC || p->fn == DT_FN_REALLOCARRAY ? bpf_ktime_get_ns() : 0;
	p->tail_calls = 0;
	p->no_return = no_return;
	p->sp = sp;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(malloc_enter, __u64 size)
{
	return enter(ctx, DT_FN_MALLOC, size, 0, false);
}

SEC("uprobe")
int BPF_KPROBE(calloc_enter, __u64 nmemb, __u64 size)
{
	return enter(ctx, DT_FN_CALLOC, nmemb * size, 0, false);
}

SEC("uprobe")
int BPF_KPROBE(realloc_enter, __u64 ptr, __u64 size)
{
	return enter(ctx, DT_FN_REALLOC, size, ptr, false);
}

SEC("uprobe")
int BPF_KPROBE(reallocarray_enter, __u64 ptr, __u64 nmemb, __u64 size)
{
	return enter(ctx, DT_FN_REALLOCARRAY, nmemb * size, ptr, false);
}

SEC("uprobe")
int BPF_KPROBE(posix_memalign_enter, __u64 memptr, __u64 align, __u64 size)
{
	return enter(ctx, DT_FN_POSIX_MEMALIGN, size, memptr, false);
}

SEC("uprobe")
int BPF_KPROBE(aligned_alloc_enter, __u64 align, __u64 size)
{
	return enter(ctx, DT_FN_ALIGNED_ALLOC, size, 0, false);
}

SEC("uprobe")
int BPF_KPROBE(memalign_enter, __u64 align, __u64 size)
{
	return enter(ctx, DT_FN_MEMALIGN, size, 0, false);
}

SEC("uprobe")
int BPF_KPROBE(valloc_enter, __u64 size)
{
	return enter(ctx, DT_FN_VALLOC, size, 0, false);
}

SEC("uprobe")
int BPF_KPROBE(pvalloc_enter, __u64 size)
{
	return enter(ctx, DT_FN_PVALLOC, size, 0, false);
}

/* Every operator new variant takes the size first. */
SEC("uprobe")
int BPF_KPROBE(new_enter, __u64 size)
{
	return enter(ctx, DT_FN_NEW, size, 0, false);
}

/* The C++ runtime's operator new, with no return probe (dhat_abi.h). */
SEC("uprobe")
int BPF_KPROBE(new_noret_enter, __u64 size)
{
	return enter(ctx, DT_FN_NEW, size, 0, true);
}

/* --probe-only: every probe runs this instead, the floor any uprobe tracer
 * pays (bench/run measures against it). */
SEC("uprobe")
int probe_only(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(alloc_exit, __u64 ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	/* After the return, sp is one word above where it was at entry. */
	__u64 sp = PT_REGS_SP(ctx) - sizeof(__u64), addr = ret;
	struct pending *p, c;
	void *rb;

	if (!traced(pid_tgid))
		return 0;
	p = slot(0);
	if (!p || !p->sp) {
		count(DT_CNT_RET_NO_ENTRY);
		return 0;
	}
	if (p->sp != sp) {
		if (sp > p->sp) {
			count(DT_CNT_STALE_ENTRY);
			p->sp = 0;
			return 0;
		}
		/* A nested call returns; the outer one is still open, unless it
		 * has no return probe: then this is its block (libstdc++'s
		 * operator new calls malloc, or aligned_alloc: the pointer in
		 * the return register).  A failure ends it too: new throws
		 * bad_alloc, or calls the new-handler and tries again, that
		 * second call then counted as the allocator's own. */
		if (!p->no_return)
			return 0;
	} else if (p->tail_calls) {
		p->tail_calls--;
		return 0;
	}
	c = *p;
	p->sp = 0;
	if (c.skip)
		return 0;

	if (c.fn == DT_FN_POSIX_MEMALIGN) {
		if ((int)ret != 0 || bpf_probe_read_user(&addr, sizeof(addr), (void *)c.arg))
			return 0;
	}
	if ((c.fn == DT_FN_REALLOC || c.fn == DT_FN_REALLOCARRAY) && c.arg) {
		struct dt_rec_realloc *r;

		rb = cpu_ring();
		r = rb ? bpf_ringbuf_reserve(rb, sizeof(*r), 0) : NULL;
		if (!r) {
			count(DT_CNT_RB_DROP_ALLOC);
			return 0;
		}
		r->kind = DT_REC_REALLOC;
		r->fn = c.fn;
		r->addr = addr;
		r->size = c.size;
		r->stack_id = c.stack_id;
		r->old_addr = c.arg;
		r->t_entry = c.t_entry;
		r->ts = bpf_ktime_get_ns();
		bpf_ringbuf_submit(r, rb_flags(rb));
		return 0;
	}
	if (!addr)
		return 0;	/* failed allocation: nothing was handed out */
	rb = cpu_ring();
	{
		struct dt_rec_alloc *a;

		a = rb ? bpf_ringbuf_reserve(rb, sizeof(*a), 0) : NULL;
		if (!a) {
			count(DT_CNT_RB_DROP_ALLOC);
			return 0;
		}
		a->kind = DT_REC_ALLOC;
		a->fn = c.fn;
		a->addr = addr;
		a->size = c.size;
		a->stack_id = c.stack_id;
		a->ts = bpf_ktime_get_ns();
		bpf_ringbuf_submit(a, rb_flags(rb));
	}
	return 0;
}

/*
 * free(), and operator delete (del): recorded once.  A delete that calls
 * free (libc++'s, an allocator's plain one) reaches it on or under its own
 * frame (sp, a jump to it: the same), before any other allocator call of
 * the thread; one that does not (libjemalloc's sized and aligned deletes)
 * leaves a mark that the thread's next allocator call clears.
 */
static __always_inline int record_free(struct pt_regs *ctx, __u64 ptr, bool del)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), sp = PT_REGS_SP(ctx);
	struct dt_rec_free *f;
	struct pending *p;
	void *rb;

	if (!ptr || !traced(pid_tgid))
		return 0;
	/* The mark is the thread's own, set before its free() in program
	 * order: seen here even if the thread moved to another CPU since. */
	p = del || deletes_seen ? slot(del ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0) : NULL;
	if (p && !del && p->del_ptr) {
		bool nested = p->del_ptr == ptr && p->del_sp >= sp &&
			      p->del_sp - sp < NEST_MAX_STACK &&
			      bpf_jiffies64() - p->del_j < NEST_MAX_JIFFIES;

		p->del_ptr = 0;
		if (nested)
			return 0;
	}
	if (p && del) {
		if (!deletes_seen)	/* once: the line stays shared, read by every free */
			deletes_seen = 1;
		p->del_ptr = ptr;
		p->del_sp = sp;
		p->del_j = bpf_jiffies64();
	}
	/* After the delete's mark: the free it calls is its own either way. */
	if (from_agent(sp))
		return 0;
	rb = cpu_ring();
	f = rb ? bpf_ringbuf_reserve(rb, sizeof(*f), 0) : NULL;
	if (!f) {
		count(DT_CNT_RB_DROP_FREE);
		return 0;
	}
	f->kind = DT_REC_FREE;
	f->fn = DT_FN_FREE;
	f->addr = ptr;
	/* Taken once reserved, and the record committed at once: the merge
	 * (src/intake.c) passes on a time only when every ring has shown all
	 * its reservations up to then. */
	f->ts = bpf_ktime_get_ns();
	bpf_ringbuf_submit(f, rb_flags(rb));
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(free_enter, __u64 ptr)
{
	return record_free(ctx, ptr, false);
}

/* Every operator delete variant takes the pointer first. */
SEC("uprobe")
int BPF_KPROBE(delete_enter, __u64 ptr)
{
	return record_free(ctx, ptr, true);
}

#include "mapchange.bpf.h"

/*
 * With uprobe-multi links (Linux 6.6+) one link carries every entry probe of
 * an object, so one program serves them all, told apart by the attach cookie
 * user space gives each offset: the function's DT_FN_*.  The per-function
 * programs above remain for the classic links, which older kernels need
 * (bpf_get_attach_cookie() itself needs 5.15).
 */
SEC("uprobe")
int BPF_KPROBE(multi_enter, __u64 a0, __u64 a1, __u64 a2)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 fn = (__u32)cookie;
	__u64 size = a0, arg = 0;

	switch (fn) {
	case DT_FN_FREE:
		return record_free(ctx, a0, false);
	case DT_FN_DELETE:
		return record_free(ctx, a0, true);
	case DT_FN_MUNMAP:
	case DT_FN_MMAP:
	case DT_FN_MREMAP:
	case DT_FN_DL_DEBUG_STATE:
		return map_change(ctx, fn);
	case DT_FN_CALLOC:
		size = a0 * a1;
		break;
	case DT_FN_REALLOC:
		size = a1;
		arg = a0;
		break;
	case DT_FN_REALLOCARRAY:
		size = a1 * a2;
		arg = a0;
		break;
	case DT_FN_POSIX_MEMALIGN:
		size = a2;
		arg = a0;
		break;
	case DT_FN_ALIGNED_ALLOC:
	case DT_FN_MEMALIGN:
		size = a1;
		break;
	default:	/* malloc, valloc, pvalloc, every operator new: size first */
		break;
	}
	return enter(ctx, fn, size, arg, (cookie & DT_COOKIE_NO_RETURN) != 0);
}

char LICENSE[] SEC("license") = "GPL";
