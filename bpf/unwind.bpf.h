/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * DWARF CFI unwinding of the user stack, at an allocator's entry.
 *
 * User space turns each object's .eh_frame into rows (src/cfi.c) in one
 * array, and says where each object's rows are, keyed by the file's inode
 * and size.  Here a return address is looked up in a per-address cache
 * first (stacks repeat, so nearly every frame ends there); on a miss,
 * bpf_find_vma() names the mapping and its file, and a binary search of
 * that object's rows gives the rule.  Looking the file up from the mapping
 * in the kernel, rather than in a table of mappings that user space keeps,
 * means no race with the dynamic linker: a launched program's libraries are
 * unwound from its first allocation, before user space could have read its
 * /proc/PID/maps.  An object nobody built rows for (dlopen) ends the stack,
 * is counted, and asks user space to add it.
 *
 * Needs bpf_loop() and bpf_find_vma() (Linux 5.17).
 */
#ifndef DT_UNWIND_BPF_H
#define DT_UNWIND_BPF_H

#include <stdbool.h>
#include <bpf/bpf_core_read.h>
#include "stackwin.bpf.h"
#include "stackcache.bpf.h"

/* Kernel types, only the fields read here; CO-RE finds their offsets. */
struct super_block;
struct inode {
	unsigned long i_ino;
	long long i_size;
} __attribute__((preserve_access_index));
struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));
struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	unsigned long vm_pgoff;
	struct file *vm_file;
} __attribute__((preserve_access_index));
struct task_struct;

const volatile __u32 unwind_mode = DT_UNWIND_FP;
/* Set when a stack met a file-backed mapping without rows. */
volatile __u32 uw_refresh;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);	/* sized by user space before load */
	__type(key, __u32);
	__type(value, struct dt_uw_row);
} uw_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct dt_uw_obj_key);
	__type(value, struct dt_uw_obj);
} uw_objs SEC(".maps");

/* Two copies: user space fills the one not in use, then flips uw_maps_cur. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct dt_uw_maps);
} uw_maps SEC(".maps");

volatile __u32 uw_maps_cur;

/* Looked-up address (return address - 1) → its rule. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct dt_uw_cache_key);
	__type(value, struct dt_uw_row);
} uw_cache SEC(".maps");

struct vma_found {
	__u64 start, end, pgoff;
	struct dt_uw_obj_key key;
	__u32 found, has_file;
};

static long vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_found *v = data;
	struct file *f = vma->vm_file;

	v->found = 1;
	v->start = vma->vm_start;
	v->end = vma->vm_end;
	v->pgoff = vma->vm_pgoff;
	if (f) {
		v->has_file = 1;
		v->key.ino = f->f_inode->i_ino;
		v->key.size = (__u64)f->f_inode->i_size;
	}
	return 0;
}

/*
 * Mappings learnt from bpf_find_vma(), whole: bpf_find_vma() only try-locks
 * the mmap lock and fails while another thread maps memory (a runtime
 * starting its worker threads, right after main begins), before user space
 * had a chance to read /proc/PID/maps.  Learning each mapping at its first
 * sighting (typically single-threaded, in libc's start-up) means later
 * addresses in it need no lock.  Appended only; user space clears the list
 * once its own table covers the target.
 */
struct dt_uw_learned uw_learned[DT_UW_LEARNED];
__u32 uw_learned_n;

/*
 * Whether code at addr may have been unmapped between epochs since and now:
 * the unmap log says, for the last few unmaps.  Most unmaps are of other
 * ranges (a thread's stack, a large block), and should not cost the whole
 * table until user space reads the mappings again.
 */
#define UW_LOG_LOOK 8

static __always_inline bool unmapped_since(__u32 since, __u32 now, __u64 addr)
{
	__u32 i, e;

	if (now - since > UW_LOG_LOOK)
		return true;
	for (i = 1; i <= UW_LOG_LOOK; i++) {
		struct dt_unmap *l;

		if (i > now - since)
			break;
		e = since + i;
		l = &unmap_log[e & (DT_UNMAP_LOG - 1)];
		if (l->epoch != e || (addr >= l->start && addr < l->end))
			return true;
	}
	return false;
}

static __always_inline bool lookup_learned(__u64 addr, __u32 epoch, struct dt_uw_obj *o,
					   __u64 *rel)
{
	__u32 i, n = uw_learned_n;

	for (i = 0; i < DT_UW_LEARNED; i++) {
		struct dt_uw_learned *l = &uw_learned[i];

		if (i >= n)
			break;
		if (l->valid && addr >= l->start && addr < l->end &&
		    (l->epoch == epoch || !unmapped_since(l->epoch, epoch, addr))) {
			o->first_row = l->first_row;
			o->nrows = l->nrows;
			*rel = addr - l->bias;
			return true;
		}
	}
	return false;
}

static __always_inline void learn(const struct vma_found *v, const struct dt_uw_obj *o,
				  __u32 epoch)
{
	__u32 i = __sync_fetch_and_add(&uw_learned_n, 1);
	struct dt_uw_learned *l;

	if (i >= DT_UW_LEARNED)
		return;
	l = &uw_learned[i];
	l->start = v->start;
	l->end = v->end;
	l->bias = v->start - (v->pgoff << 12) - o->vaddr_delta;
	l->first_row = o->first_row;
	l->nrows = o->nrows;
	l->epoch = epoch;
	/* A locked add: the fields are visible before valid is. */
	__sync_fetch_and_add(&l->valid, 1);
}

/* The object's row covering rel: the last row whose pc is <= rel. */
static __always_inline __u8 search_rows(const struct dt_uw_obj *o, __u64 rel,
					struct dt_uw_row *out)
{
	__u32 lo = o->first_row, hi = o->first_row + o->nrows, mid, i;
	struct dt_uw_row *r;

	if (rel > 0xffffffffULL)
		return DT_UW_GAP;
	for (i = 0; i < 26 && lo < hi; i++) {
		mid = lo + (hi - lo) / 2;
		r = bpf_map_lookup_elem(&uw_rows, &mid);
		if (!r)
			return DT_UW_GAP;
		if (r->pc <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == o->first_row)
		return DT_UW_GAP;
	mid = lo - 1;
	r = bpf_map_lookup_elem(&uw_rows, &mid);
	if (!r)
		return DT_UW_GAP;
	*out = *r;
	return r->kind;
}

/* The mapping holding addr in the table user space keeps; false if none. */
static __always_inline bool lookup_map(__u64 addr, __u32 epoch, struct dt_uw_obj *o,
				       __u64 *rel)
{
	__u32 cur = uw_maps_cur & 1, lo = 0, hi, mid, i;
	struct dt_uw_maps *t = bpf_map_lookup_elem(&uw_maps, &cur);
	struct dt_uw_map *m;

	if (!t)
		return false;
	hi = t->n;
	if (hi > DT_UW_MAX_MAPS)
		return false;
	for (i = 0; i < 11 && lo < hi; i++) {
		mid = (lo + (hi - lo) / 2) & (DT_UW_MAX_MAPS - 1);
		if (t->m[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	m = &t->m[(lo - 1) & (DT_UW_MAX_MAPS - 1)];
	if (addr >= m->end || (t->epoch != epoch && unmapped_since(t->epoch, epoch, addr)))
		return false;
	o->first_row = m->first_row;
	o->nrows = m->nrows;
	*rel = addr - m->bias;
	return true;
}

/* The rule at rel in a known object, remembered for addr. */
static __always_inline void rule_in(const struct dt_uw_obj *o, __u64 rel,
				    const struct dt_uw_cache_key *key, struct dt_uw_row *out)
{
	if (!o->nrows)
		out->kind = o->first_row == DT_UW_NO_ROWS ? DT_UW_GAP : DT_UW_FP;
	else
		search_rows(o, rel, out);
	bpf_map_update_elem(&uw_cache, key, out, BPF_ANY);
}

/*
 * In front of uw_cache, a direct-mapped cache per CPU: a hit is a few loads
 * where a hash map lookup (hashing the key, walking a bucket, comparing) was
 * a tenth of the DWARF walk's time.  The check word makes an entry that a
 * preempted writer left half written a miss (a torn entry goes unnoticed
 * with probability 2^-64); address and epoch are compared in full.
 */
#define RC_SLOTS 2048

struct rc_slot {
	__u64 addr;
	struct dt_uw_row row;
	__u64 check;
	__u32 epoch, pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RC_SLOTS);
	__type(key, __u32);
	__type(value, struct rc_slot);
} uw_rcache SEC(".maps");

static __always_inline __u64 rc_check(__u64 addr, __u32 epoch, const struct dt_uw_row *r)
{
	__u64 h = addr * 0x9e3779b97f4a7c15ULL;

	h ^= (*(const __u64 *)r + epoch) * 0xc2b2ae3d27d4eb4fULL;
	return h ^ (h >> 29);
}

static __always_inline struct rc_slot *rc_slot(__u64 addr)
{
	__u32 i = ((addr * 0x9e3779b97f4a7c15ULL) >> 53) & (RC_SLOTS - 1);

	return bpf_map_lookup_elem(&uw_rcache, &i);
}

static __always_inline void rc_put(struct rc_slot *e, __u64 addr, __u32 epoch,
				   const struct dt_uw_row *r)
{
	if (!e)
		return;
	e->addr = 0;
	asm volatile("" ::: "memory");
	e->row = *r;
	e->epoch = epoch;
	e->check = rc_check(addr, epoch, r);
	asm volatile("" ::: "memory");
	e->addr = addr;
}

static __always_inline bool resolve_fast(__u64 addr, __u32 epoch, struct dt_uw_row *out)
{
	struct rc_slot *e = rc_slot(addr);

	if (!e || e->addr != addr || e->epoch != epoch ||
	    e->check != rc_check(addr, epoch, &e->row))
		return false;
	*out = e->row;
	return true;
}

static __always_inline bool resolve_slow(__u64 addr, __u32 epoch, struct dt_uw_row *out)
{
	struct dt_uw_cache_key key = { .addr = addr, .epoch = epoch };
	struct vma_found v = {};
	struct dt_uw_obj *o, known;
	struct dt_uw_row *c;
	__u32 zero = 0;
	__u64 rel;

	c = bpf_map_lookup_elem(&uw_cache, &key);
	if (c) {
		*out = *c;
		return true;
	}
	out->kind = DT_UW_GAP;
	if (lookup_map(addr, epoch, &known, &rel)) {
		rule_in(&known, rel, &key, out);
		return true;
	}
	/* Mapped since user space last looked (or a launched program that
	 * user space has not looked at yet), or unmapped since. */
	if (!uw_refresh)
		uw_refresh = DT_UW_REFRESH_SOON;
	if (lookup_learned(addr, epoch, &known, &rel)) {
		rule_in(&known, rel, &key, out);
		return true;
	}
	if (bpf_find_vma(bpf_get_current_task_btf(), addr, vma_cb, &v, 0) || !v.found)
		return false;	/* not mapped (garbage, a mapping gone), or the lock was busy */
	if (!v.has_file) {
		out->kind = DT_UW_FP;	/* anonymous code (JIT): no CFI anywhere */
	} else {
		o = bpf_map_lookup_elem(&uw_objs, &v.key);
		if (!o) {
			/* Mapped a moment ago (dlopen): its rows come soon. */
			struct uw_state *st = bpf_map_lookup_elem(&uw_state, &zero);

			if (st)
				st->missing = v.key;
			out->kind = DT_UW_NOT_YET;
			return false;
		}
		learn(&v, o, epoch);
		if (!o->nrows)
			out->kind = o->first_row == DT_UW_NO_ROWS ? DT_UW_GAP : DT_UW_FP;
		else
			search_rows(o, addr - v.start + (v.pgoff << 12) + o->vaddr_delta, out);
	}
	bpf_map_update_elem(&uw_cache, &key, out, BPF_ANY);
	return true;
}

/* False if the rule is not known yet (it may be later). */
static __always_inline bool resolve(__u64 addr, __u32 epoch, struct dt_uw_row *out)
{
	if (resolve_fast(addr, epoch, out))
		return true;
	/* Only what uw_cache keeps: a miss that may resolve later stays one. */
	if (!resolve_slow(addr, epoch, out))
		return false;
	rc_put(rc_slot(addr), addr, epoch, out);
	return true;
}


/* One frame: 0 to go on, 1 at the end; 2 when only the rule cache was to be
 * asked (!full) and it had no entry: the next uw_step() takes that frame. */
static __always_inline int uw_frame(struct uw_state *st, struct stack_win *w,
				    struct dt_rec_stack *s, struct sc_entry *e, bool full)
{
	struct dt_uw_row r = {};
	__u64 cfa, ra, addr, nr;

	nr = st->nr;
	if (nr >= max_frames || nr >= DT_MAX_FRAMES) {
		st->end = DT_CNT_UW_DEPTH;
		return 1;
	}
	addr = st->exact ? st->pc : st->pc - 1;
	if (full) {
		if (!resolve(addr, (__u32)st->epoch, &r))
			st->nocache = 1;
	} else if (!resolve_fast(addr, (__u32)st->epoch, &r))
		return 2;
	st->exact = 0;
	switch (r.kind) {
	case DT_UW_CFA_RSP:
		cfa = st->sp + (__s64)r.cfa_off * 8;
		break;
	case DT_UW_CFA_RBP:
		sc_use_bp(st, e);
		cfa = st->bp + (__s64)r.cfa_off * 8;
		break;
	case DT_UW_PLT:
		cfa = st->sp + 8 + ((addr & 15) >= (__u64)r.cfa_off ? 8 : 0);
		break;
	case DT_UW_FP:
		if (unwind_mode != DT_UNWIND_AUTO) {
			st->end = DT_CNT_UW_NO_TABLE;
			return 1;
		}
		st->fp_frames++;
		sc_use_bp(st, e);
		cfa = st->bp + 16;
		r.rbp_off8 = -2;
		break;
	case DT_UW_SIGNAL:
		if (win_bp(w, st, st->sp + DT_SIGCTX_RBP) ||
		    win_word_log(w, st, e, st->sp + DT_SIGCTX_RIP, &st->pc) ||
		    win_word_log(w, st, e, st->sp + DT_SIGCTX_RSP, &st->sp)) {
			st->end = DT_CNT_UW_READ_FAULT;
			return 1;
		}
		st->exact = 1;
		ra = st->pc;
		goto push;
	case DT_UW_STOP:
		st->end = DT_CNT_NR;
		return 1;
	case DT_UW_NOT_YET:
		st->end = DT_CNT_UW_WINDOW;
		return 1;
	case DT_UW_GAP:
		/* The ABI's outermost-frame marker where CFI says nothing. */
		sc_use_bp(st, e);
		st->end = st->bp ? DT_CNT_UW_NO_TABLE : DT_CNT_NR;
		return 1;
	default:
		st->end = DT_CNT_UW_BAD_RULE;
		return 1;
	}
	if (cfa <= st->sp) {
		st->end = DT_CNT_UW_BAD_RULE;	/* a stack only grows up towards callers */
		return 1;
	}
	if (win_word_log(w, st, e, cfa - 8, &ra) ||
	    (r.rbp_off8 && win_bp(w, st, cfa + (__s64)r.rbp_off8 * 8))) {
		st->end = DT_CNT_UW_READ_FAULT;
		return 1;
	}
	st->sp = cfa;
	st->pc = ra;
	if (!ra) {
		st->end = DT_CNT_NR;
		return 1;
	}
push:
	/* Bounded where it is used: clang hoists the address otherwise. */
	asm volatile("" : "+r"(nr));
	if (nr >= DT_MAX_FRAMES) {
		st->end = DT_CNT_UW_BAD_RULE;
		return 1;
	}
	s->ips[nr] = ra;
	st->h = stack_hash_step(st->h, ra);
	st->nr = nr + 1;
	return 0;
}

/*
 * Up to UW_UNROLL frames per call, the first with the full lookup and the
 * others only while the per-CPU rule cache knows them: the call itself is
 * a good part of a frame's cost, and the slow lookup is too large to repeat.
 */
#define UW_UNROLL 4

/* What a walker's bpf_loop() callback works on, all per CPU; false if a
 * lookup failed (never, short of a bug: the walk then ends). */
static __always_inline bool walk_bufs(struct uw_state **st, struct dt_rec_stack **s,
				      struct stack_win **w, struct sc_entry **e)
{
	__u32 zero = 0;

	*st = bpf_map_lookup_elem(&uw_state, &zero);
	*s = bpf_map_lookup_elem(&stack_scratch, &zero);
	*w = win_get();
	if (!*st || !*s || !*w)
		return false;
	*e = sc_get((*st)->slot);
	return *e != NULL;
}

static long uw_step(__u32 i, void *data)
{
	struct dt_rec_stack *s;
	struct uw_state *st;
	struct stack_win *w;
	struct sc_entry *e;
	__u32 k;
	int ret;

	if (!walk_bufs(&st, &s, &w, &e))
		return 1;
	ret = uw_frame(st, w, s, e, true);
	for (k = 1; k < UW_UNROLL && !ret; k++)
		ret = uw_frame(st, w, s, e, false);
	return ret == 1;
}

/* Frames after ips[0] (the caller, read at [sp]); returns the frame count. */
static __always_inline __u32 unwind_dwarf(struct pt_regs *ctx, struct uw_state *st,
					  __u64 caller, __u32 epoch)
{
	st->pc = caller;
	st->sp = PT_REGS_SP(ctx) + 8;	/* at the entry: CFA = rsp + 8 */
	st->bp = PT_REGS_FP(ctx);
	st->nr = 1;
	st->exact = 0;
	st->end = DT_CNT_UW_DEPTH;
	st->epoch = epoch;
	bpf_loop(DT_MAX_FRAMES, uw_step, NULL, 0);
	return (__u32)st->nr;
}

#endif
