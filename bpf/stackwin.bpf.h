/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * What both stack walkers share: the window through which they read the
 * target's stack, the walk's state, and the stack's hash.
 */
#ifndef DT_STACKWIN_BPF_H
#define DT_STACKWIN_BPF_H

/*
 * The user stack, read in one piece where possible.  Each
 * bpf_probe_read_user() has a fixed cost (~150 ns on this VM, several
 * times that of copying a few KiB, and it was most of the FP walk's time
 * when it read 16 bytes per frame: docs/performance.md), and the frames of a
 * stack lie close together, so every read below comes from this window.  A
 * walk's first read goes from sp to where the last walk on this CPU stopped
 * reading (w->end: a thread's next stack usually shares its outer frames, so
 * it ends at the same address), known to be readable then; a walk that
 * leaves the window refills it from there to the end of that page.  A read
 * is all or nothing and the page above the stack's top may be unmapped (the
 * main thread's, a few frames above main), so a read that fails is retried
 * up to the end of its page only.  Per CPU: the programs run with migration
 * disabled and this kernel does not preempt them; capture_stack() checks
 * that all the same.
 */
#define SW_PAGE 4096
#define SW_SIZE (2 * SW_PAGE)	/* the most one read takes */

struct stack_win {
	__u64 base, len;	/* buf holds [base, base + len) of the target's memory */
	__u64 gen;		/* bumped by every walk on this CPU */
	__u64 end;		/* where the last walk's reads ended */
	__u64 busy;		/* walks under way on this CPU (stackcache.bpf.h) */
	__u8 buf[SW_SIZE + 16];	/* + 16: what a masked offset's pair may reach */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack_win);
} stack_win SEC(".maps");

static __always_inline struct stack_win *win_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stack_win, &zero);
}

/* The window filled from addr; the word at addr into out.  Non-zero if it
 * cannot be read. */
static __always_inline int win_fill(struct stack_win *w, __u64 addr, __u64 *out)
{
	__u64 page = SW_PAGE - (addr & (SW_PAGE - 1)), n = w->end - addr;

	w->len = 0;
	if (w->end > addr + 8 && n <= SW_SIZE && n != page) {
		if (!bpf_probe_read_user(w->buf, n, (void *)addr))
			goto read;
		w->end = 0;	/* unmapped since: not again */
	}
	if (page < 8)	/* straddles two pages: read it alone */
		return bpf_probe_read_user(out, sizeof(*out), (void *)addr);
	n = page;
	if (n > SW_PAGE)
		n = SW_PAGE;
	if (bpf_probe_read_user(w->buf, n, (void *)addr))
		return -1;
read:
	w->base = addr;
	w->len = n;
	*out = *(__u64 *)w->buf;
	return 0;
}

/* The word at addr; non-zero if it cannot be read. */
static __always_inline int win_word(struct stack_win *w, __u64 addr, __u64 *out)
{
	__u64 off = addr - w->base;

	if (w->len < 8 || off > w->len - 8)
		return win_fill(w, addr, out);
	*out = *(__u64 *)(w->buf + (off & (SW_SIZE - 1)));
	return 0;
}

/*
 * The walk from sp read up to reach: the next walk's first read ends there,
 * or a little further within the same page (mapped, then), so that a stack
 * a few frames deeper needs no second read.
 */
#define SW_MARGIN 256

static __always_inline void win_reached(struct stack_win *w, __u64 sp, __u64 reach)
{
	__u64 page_end = ((reach - 1) | (SW_PAGE - 1)) + 1;

	if (reach <= sp || reach - sp > SW_SIZE) {
		w->end = 0;
		return;
	}
	w->end = reach + SW_MARGIN < page_end ? reach + SW_MARGIN : page_end;
}

/*
 * The walk's state lives in a map, not on the stack: values read back from
 * a map are unknown to the verifier, so every loop iteration looks the same
 * to it and the callback is verified in a few passes.  On the stack, the
 * frame count would be a known constant in each iteration and the verifier
 * would walk all 127 of them (over its 1M instruction limit).
 */
struct uw_state {
	__u64 pc, sp, bp;
	__u64 nr;
	__u64 exact;	/* pc is an interrupted instruction, not a return address */
	__u64 end;	/* DT_CNT_* that ended the walk; DT_CNT_NR: reached the bottom */
	__u64 epoch;	/* map_epoch the stack is taken in */
	__u64 h;	/* hash of the frames pushed so far (stack_hash_step) */
	/* For the reuse of a walk (stackcache.bpf.h): */
	__u64 sp0;	/* sp at the allocator's entry: where the walk began */
	__u64 slot;	/* the stack_cache entry this walk logs its reads into */
	__u64 nlog;	/* words logged */
	__u64 nocache;	/* the walk is not to be reused (see sc_log()) */
	__u64 fp_frames;	/* DWARF frames taken by frame pointer (auto mode) */
	__u64 bp_src;	/* where bp was read: offset from sp0, SC_REG: the register */
	__u64 bp_used;	/* the result depends on rbp's value at the entry */
	struct dt_uw_obj_key missing;	/* the file without rows a DT_CNT_UW_WINDOW end met */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct uw_state);
} uw_state SEC(".maps");

/* The stack's id: FNV-style over the frames, innermost first. */
static __always_inline __u64 stack_hash_step(__u64 h, __u64 ip)
{
	h = (h ^ ip) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

#endif
