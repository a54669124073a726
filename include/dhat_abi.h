/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The contract between bpf/dhat.bpf.c and user space: ring-buffer record
 * layouts and limits.  Fixed-width types only, explicit padding, no includes:
 * the includer provides __u32/__u64 (linux/types.h or the BPF headers).
 */
#ifndef DT_DHAT_ABI_H
#define DT_DHAT_ABI_H

#define DT_MAX_FRAMES 127

/* Every record starts with a __u32 kind. */
enum dt_rec_kind {
	DT_REC_ALLOC = 1,	/* struct dt_rec_alloc */
	DT_REC_FREE = 2,	/* struct dt_rec_free */
	DT_REC_REALLOC = 3,	/* struct dt_rec_realloc */
	DT_REC_STACK = 4,	/* struct dt_rec_stack, variable length */
};

/* Which user call produced a record (for -v and statistics only). */
enum dt_fn {
	DT_FN_MALLOC,
	DT_FN_CALLOC,
	DT_FN_REALLOC,
	DT_FN_REALLOCARRAY,
	DT_FN_POSIX_MEMALIGN,
	DT_FN_ALIGNED_ALLOC,
	DT_FN_MEMALIGN,
	DT_FN_VALLOC,
	DT_FN_PVALLOC,
	DT_FN_NEW,
	DT_FN_FREE,
	DT_FN_DELETE,
	DT_FN_NR,
};

/* A block was handed out: emitted at the allocator's return. */
struct dt_rec_alloc {
	__u32 kind;
	__u32 fn;
	__u64 ts;	/* bpf_ktime_get_ns() at return */
	__u64 addr;
	__u64 size;	/* requested size as the caller asked (0 stays 0 here) */
	__u64 stack_id;	/* 0: no stack could be captured */
};

/* A block is about to be released: emitted at free()'s entry, before the
 * allocator can hand the address out again. */
struct dt_rec_free {
	__u32 kind;
	__u32 fn;
	__u64 ts;
	__u64 addr;
};

/*
 * realloc/reallocarray with a non-NULL old pointer, emitted at return only.
 * The old block was released somewhere between t_entry and ts, so another
 * thread may already have been handed the old address: t_entry lets user
 * space tell which block at that address is the one this call resized.
 */
struct dt_rec_realloc {
	__u32 kind;
	__u32 fn;
	__u64 ts;
	__u64 addr;	/* new address, 0 if the call failed or freed */
	__u64 size;
	__u64 stack_id;
	__u64 old_addr;
	__u64 t_entry;
};

/* First sighting of a stack hash: its frames, innermost first. Every frame
 * is a return address into the caller (never the allocator's own PC). */
struct dt_rec_stack {
	__u32 kind;
	__u32 nr_frames;
	__u64 stack_id;
	__u64 ips[DT_MAX_FRAMES];
};

/* Loss counters kept in the BPF program's .bss, read by user space. */
enum dt_counter {
	DT_CNT_RB_DROP_ALLOC,	/* ring buffer full: allocation record lost */
	DT_CNT_RB_DROP_FREE,	/* ring buffer full: free record lost */
	DT_CNT_RB_DROP_STACK,	/* ring buffer full: stack record lost (resent later) */
	DT_CNT_STACK_FAIL,	/* bpf_get_stack failed: block has no stack */
	DT_CNT_PENDING_FULL,	/* per-thread map full: call not traced */
	DT_CNT_RET_NO_ENTRY,	/* return without a matching entry (attach race) */
	DT_CNT_STALE_ENTRY,	/* entry left behind by a call that never returned */
	DT_CNT_NR,
};

#endif /* DT_DHAT_ABI_H */
