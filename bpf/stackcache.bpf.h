/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The reuse of a walk whose words have not changed.
 *
 * Either walk, frame pointers or DWARF CFI, is a function of where it
 * starts (sp, rbp and the return address at [sp]), of the map epoch (the
 * rules the DWARF walk looks up are a function of address and epoch, once
 * found) and of the stack words it reads.  So each walk logs the words it
 * read, as offsets from sp and values, in a per-CPU entry chosen by its
 * start; the next walk from the same start compares those words with the
 * window (one pass of independent loads: no pointer chasing, no rule
 * lookups, no hashing), and when every one is unchanged it would find the
 * same frames: their hash and count are taken from the entry.  A frame
 * that changed anywhere, inner or outer, makes it a miss and the stack is
 * walked again.  Walks whose result did not depend on their reads alone
 * are not kept: one that ended at an unreadable word (it may be readable
 * later), or met a rule that was not found yet (a library whose rows are
 * still being built), or read more than SC_LOG words.
 *
 * Where the DWARF walk reads a saved rbp, optimised code most often keeps
 * a value there that no later frame uses (a pointer to this request's
 * data, say): that word, and rbp at the entry, count only once a rule uses
 * rbp (sc_use_bp()); else every request would miss.
 *
 * A kernel that preempts these programs could interleave two walks on one
 * CPU: an entry is written only by a walk that was alone on its CPU when it
 * began (w->busy), invalidated before its log is written and marked valid
 * only if no other walk ran meanwhile (w->gen, as capture_stack() checks).
 */
#ifndef DT_STACKCACHE_BPF_H
#define DT_STACKCACHE_BPF_H

#define SC_SLOTS 32
#define SC_LOG 256	/* two words a frame, for DT_MAX_FRAMES frames */

struct sc_entry {
	__u64 sp, bp, ip0;	/* where the walk began */
	__u64 h;		/* what it found: the hash of the frames, */
	__u32 nr;		/* their count, */
	__u32 end;		/* DWARF: the DT_CNT_* it ended with (DT_CNT_NR: none) */
	__u32 fp_frames;	/* DWARF: frames taken by frame pointer */
	__u32 epoch;
	__u32 nlog;		/* words: a multiple of 4, 8 in a log of pairs (sc_end()) */
	__u32 need;		/* the window must hold [sp, sp + need) */
	__u32 valid;
	__u32 bp_used;		/* the result depends on bp (else bp is not compared) */
	/* The frame-pointer walk reads two adjacent words a frame: logged as
	 * pairs, one offset for both (see sc_log_pair()). */
	__u32 pairs;
	__u32 pad;
	__u16 off[SC_LOG];	/* the words it read: offset from sp (pairs: of the first), */
	__u64 val[SC_LOG];	/* and value */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SC_SLOTS + 1);	/* + 1: where a walk not kept logs */
	__type(key, __u32);
	__type(value, struct sc_entry);
} stack_cache SEC(".maps");

static __always_inline __u32 sc_index(__u64 sp, __u64 ip0)
{
	return (__u32)(((sp ^ (ip0 << 17)) * 0x9e3779b97f4a7c15ULL) >> 59) & (SC_SLOTS - 1);
}

static __always_inline struct sc_entry *sc_get(__u64 slot)
{
	__u32 i = (__u32)slot;

	return bpf_map_lookup_elem(&stack_cache, &i);
}

/* One word the walk from sp0 read at addr: into the log of the entry it
 * fills, e, whose n words are logged already. */
static __always_inline void sc_log(struct sc_entry *e, __u64 sp0, __u64 *n, __u64 *nocache,
				   __u64 addr, __u64 val)
{
	__u64 i = *n, off = addr - sp0;

	if (i >= SC_LOG || off > SW_SIZE - 8) {
		*nocache = 1;
		return;
	}
	e->off[i & (SC_LOG - 1)] = (__u16)off;
	e->val[i & (SC_LOG - 1)] = val;
	*n = i + 1;
	if (off + 8 > e->need)
		e->need = off + 8;
}

/*
 * Two adjacent words at addr, logged as one pair: off[i / 2] for val[i] and
 * val[i + 1].  Only in a log of pairs alone: the frame-pointer walk's.
 * Checking a pair is two loads from one offset, where two words logged
 * apart were each an offset to load and bound: a quarter fewer
 * instructions in sc_changed(), which checks every frame on every hit.
 */
static __always_inline void sc_log_pair(struct sc_entry *e, __u64 sp0, __u64 *n, __u64 *nocache,
					__u64 addr, __u64 v0, __u64 v1)
{
	__u64 i = *n, off = addr - sp0;

	if (i >= SC_LOG - 1 || (i & 1) || off > SW_SIZE - 16) {
		*nocache = 1;
		return;
	}
	e->off[(i / 2) & (SC_LOG - 1)] = (__u16)off;
	e->val[i & (SC_LOG - 1)] = v0;
	e->val[(i + 1) & (SC_LOG - 1)] = v1;
	*n = i + 2;
	if (off + 16 > e->need)
		e->need = off + 16;
}

/* win_word(), logged in st's entry. */
static __always_inline int win_word_log(struct stack_win *w, struct uw_state *st,
					struct sc_entry *e, __u64 addr, __u64 *out)
{
	if (win_word(w, addr, out)) {
		st->nocache = 1;	/* unreadable now, perhaps not later */
		return -1;
	}
	sc_log(e, st->sp0, &st->nlog, &st->nocache, addr, *out);
	return 0;
}

#define SC_REG (~0ULL)

/* rbp, read at addr (not logged until a rule uses it). */
static __always_inline int win_bp(struct stack_win *w, struct uw_state *st, __u64 addr)
{
	if (win_word(w, addr, &st->bp)) {
		st->nocache = 1;
		return -1;
	}
	st->bp_src = addr - st->sp0;
	return 0;
}

/* The walk's result depends on bp's value now: where it came from is logged. */
static __always_inline void sc_use_bp(struct uw_state *st, struct sc_entry *e)
{
	if (st->bp_src == SC_REG)
		st->bp_used = 1;
	else
		sc_log(e, st->sp0, &st->nlog, &st->nocache, st->sp0 + st->bp_src, st->bp);
}

/*
 * Whether any word e's walk read differs in the window now.  An OR of
 * differences, four independent loads a round, one branch.  Not static
 * (a global function): the verifier checks it once, by itself; inlined,
 * each of the loop's 64 exits led into the rest of the program with its
 * own state, which took it ~2.5 s to go through.
 */
__attribute__((noinline)) int sc_changed(const struct sc_entry *e, const struct stack_win *w)
{
	__u64 diff = 0;
	__u32 k, n;

	if (!e || !w)
		return 1;
	n = e->nlog;
	for (k = 0; k < SC_LOG; k += 4) {
		if (k >= n)
			break;
		diff |= (*(const __u64 *)(w->buf + (e->off[k] & (SW_SIZE - 1))) ^ e->val[k]) |
			(*(const __u64 *)(w->buf + (e->off[k + 1] & (SW_SIZE - 1))) ^ e->val[k + 1]) |
			(*(const __u64 *)(w->buf + (e->off[k + 2] & (SW_SIZE - 1))) ^ e->val[k + 2]) |
			(*(const __u64 *)(w->buf + (e->off[k + 3] & (SW_SIZE - 1))) ^ e->val[k + 3]);
	}
	return diff != 0;
}

/* sc_changed() for a log of pairs (sc_log_pair()): four at a round. */
__attribute__((noinline)) int sc_pairs_changed(const struct sc_entry *e, const struct stack_win *w)
{
	const __u8 *a, *b, *c, *d;
	__u64 diff = 0;
	__u32 k, n;

	if (!e || !w)
		return 1;
	n = e->nlog;
	for (k = 0; k < SC_LOG; k += 8) {
		if (k >= n)
			break;
		a = w->buf + (e->off[k / 2] & (SW_SIZE - 1));
		b = w->buf + (e->off[k / 2 + 1] & (SW_SIZE - 1));
		c = w->buf + (e->off[k / 2 + 2] & (SW_SIZE - 1));
		d = w->buf + (e->off[k / 2 + 3] & (SW_SIZE - 1));
		diff |= (*(const __u64 *)a ^ e->val[k]) | (*(const __u64 *)(a + 8) ^ e->val[k + 1]) |
			(*(const __u64 *)b ^ e->val[k + 2]) | (*(const __u64 *)(b + 8) ^ e->val[k + 3]) |
			(*(const __u64 *)c ^ e->val[k + 4]) | (*(const __u64 *)(c + 8) ^ e->val[k + 5]) |
			(*(const __u64 *)d ^ e->val[k + 6]) | (*(const __u64 *)(d + 8) ^ e->val[k + 7]);
	}
	return diff != 0;
}

/*
 * Whether e's walk would be found again: same start and epoch, and every
 * word it read unchanged in the window, which was just filled from sp
 * (w->base == sp).
 */
static __always_inline bool sc_hit(const struct sc_entry *e, const struct stack_win *w, __u64 sp,
				   __u64 bp, __u64 ip0, __u32 epoch)
{
	if (!e->valid || e->sp != sp || (e->bp_used && e->bp != bp) || e->ip0 != ip0 ||
	    e->epoch != epoch || w->base != sp || w->len < e->need)
		return false;
	return e->pairs ? !sc_pairs_changed(e, w) : !sc_changed(e, w);
}

/* A walk that will log into e begins at sp. */
static __always_inline void sc_begin(struct uw_state *st, struct sc_entry *e, __u32 slot,
				     __u64 sp, bool alone)
{
	st->sp0 = sp;
	st->nlog = 0;
	st->fp_frames = 0;
	st->bp_src = SC_REG;
	st->bp_used = 0;
	/* SC_SLOTS: logged into all the same (fewer paths for the verifier
	 * than a NULL entry), never valid. */
	st->slot = alone && e ? slot : SC_SLOTS;
	st->nocache = !alone || !e;
	if (alone && e) {
		e->valid = 0;
		asm volatile("" ::: "memory");
		e->need = 8;
	}
}

/* The walk ended with st's result; clean: it depended on its reads alone;
 * pairs: it logged with sc_log_pair() only. */
static __always_inline void sc_end(struct uw_state *st, struct sc_entry *e, __u64 sp, __u64 bp,
				   __u64 ip0, __u32 epoch, bool clean, bool pairs)
{
	__u64 n = st->nlog;

	if (!e || st->nocache || !clean)
		return;
	/* Padded to whole rounds of sc_changed() with the word at [sp], ip0,
	 * and of sc_pairs_changed() with the first pair again (the word after
	 * ip0 is the caller's and may change: as a pair it would make hits
	 * misses). */
	if (pairs && (n & 7))
		sc_log_pair(e, sp, &n, &st->nocache, sp + e->off[0], e->val[0], e->val[1]);
	if (pairs && (n & 7))
		sc_log_pair(e, sp, &n, &st->nocache, sp + e->off[0], e->val[0], e->val[1]);
	if (pairs && (n & 7))
		sc_log_pair(e, sp, &n, &st->nocache, sp + e->off[0], e->val[0], e->val[1]);
	if (!pairs && (n & 3))
		sc_log(e, sp, &n, &st->nocache, sp, ip0);
	if (!pairs && (n & 3))
		sc_log(e, sp, &n, &st->nocache, sp, ip0);
	if (!pairs && (n & 3))
		sc_log(e, sp, &n, &st->nocache, sp, ip0);
	if (st->nocache)
		return;
	e->sp = sp;
	e->bp = bp;
	e->ip0 = ip0;
	e->h = st->h;
	e->nr = (__u32)st->nr;
	e->end = (__u32)st->end;
	e->fp_frames = (__u32)st->fp_frames;
	e->bp_used = (__u32)st->bp_used;
	e->pairs = pairs;
	e->epoch = epoch;
	e->nlog = (__u32)n;
	asm volatile("" ::: "memory");
	e->valid = 1;
}

#endif
