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

/* Every record starts with a __u32 kind; all but DT_REC_STACK have their
 * time at offset 8, by which user space merges the CPUs' rings (intake.c). */
enum dt_rec_kind {
	DT_REC_ALLOC = 1,	/* struct dt_rec_alloc */
	DT_REC_FREE = 2,	/* struct dt_rec_free */
	DT_REC_REALLOC = 3,	/* struct dt_rec_realloc */
	DT_REC_STACK = 4,	/* struct dt_rec_stack, variable length */
	DT_REC_EXEC = 5,	/* struct dt_rec_exec */
	DT_REC_FORK = 6,	/* struct dt_rec_fork */
	DT_REC_LOAD = 7,	/* struct dt_rec_load */
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
	/* Not allocators: the target's code may change (see struct dt_unmap). */
	DT_FN_MUNMAP,
	DT_FN_MMAP,
	DT_FN_MREMAP,
	DT_FN_DL_DEBUG_STATE,	/* ld.so's hook around every dlopen and dlclose */
	DT_FN_NR,
};

/*
 * In an entry probe's attach cookie (uprobe-multi links), beside its DT_FN_*:
 * the function has no return probe (the C++ runtime's operator new: an
 * exception thrown through a return probe's trampoline cannot be caught);
 * the allocator it calls returns the block (bpf/dhat.bpf.c: alloc_exit).
 */
#define DT_COOKIE_NO_RETURN (1ULL << 32)

/* A block was handed out: emitted at the allocator's return. */
struct dt_rec_alloc {
	__u32 kind;
	__u32 fn;
	__u64 ts;	/* bpf_ktime_get_ns() at return, once the record is reserved */
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
	__u64 stack_id;	/* hash of the frames and the epoch */
	__u32 epoch;	/* dt_map_epoch when the stack was taken */
	__u32 flags;	/* DT_STACK_* */
	__u64 ips[DT_MAX_FRAMES];
};

#define DT_REC_STACK_HDR 24

/*
 * The unwind met an object mapped so recently that its rows were not built
 * yet (dlopen, in a thread nobody holds): the record carries all of ips[]
 * and, after it, struct dt_stack_tail, the registers where the walk stopped
 * (ips[nr_frames - 1] is pc) and a copy of the stack from sp up, so that
 * user space can go on once it has the rows.  Such a stack_id names only
 * this record: the frames beyond the cut may differ from one call to the
 * next.
 */
#define DT_STACK_TAIL 1
#define DT_TAIL_MAX (16 * 1024)	/* bytes of stack copied, at most */

struct dt_stack_tail {
	__u64 pc, sp, bp;
	__u32 exact;	/* pc is an interrupted instruction, not a return address */
	__u32 len;	/* bytes copied from sp, which follow */
	__u64 missing_ino, missing_size;	/* the object's key (struct dt_uw_obj_key) */
};

/* Registers the kernel saved in the rt_sigframe: at the signal trampoline,
 * sp points at its ucontext, whose mcontext starts 40 bytes in. */
#define DT_SIGCTX_RBP (40 + 80)
#define DT_SIGCTX_RSP (40 + 120)
#define DT_SIGCTX_RIP (40 + 128)

/*
 * Code unmapped in the target (munmap, mremap, mmap MAP_FIXED over a file
 * mapping, exec): the BPF side bumps map_epoch and logs the range at
 * unmap_log[epoch % DT_UNMAP_LOG], writing epoch last.  A stack names its
 * epoch, so user space knows which object an address meant when it was
 * taken, even after a dlclose put another library at the same address.
 */
#define DT_UNMAP_LOG 1024

/* The dynamic linker changed its objects (dlopen, dlclose): it maps and
 * unmaps without a call the probes see, so the range is unknown; but it
 * never unloads what was loaded with the program (targetview.c: pinned). */
#define DT_UNMAP_LOADER 1

struct dt_unmap {
	__u64 start, end;
	__u32 epoch;
	__u32 flags;	/* DT_UNMAP_* */
};

/* The target replaced its program: every record after this one is the new
 * program's. */
struct dt_rec_exec {
	__u32 kind;
	__u32 pad;
	__u64 ts;
};

/* The target forked a child process (only with --follow-forks, attached:
 * a launched command's forks are seen through ptrace). */
struct dt_rec_fork {
	__u32 kind;
	__u32 pid;	/* the child's, in the tracer's PID namespace */
	__u64 ts;
};

/* The dynamic linker mapped objects in a thread that was not held there:
 * sent only to wake user space at once, to build their tables. */
struct dt_rec_load {
	__u32 kind;
	__u32 pad;
	__u64 ts;
};

/* Loss counters kept in the BPF program's .bss, read by user space. */
enum dt_counter {
	DT_CNT_RB_DROP_ALLOC,	/* ring buffer full: allocation record lost */
	DT_CNT_RB_DROP_FREE,	/* ring buffer full: free record lost */
	DT_CNT_RB_DROP_STACK,	/* ring buffer full: stack record lost (resent later) */
	DT_CNT_STACK_FAIL,	/* bpf_get_stack failed: block has no stack */
	DT_CNT_PENDING_FULL,	/* no per-thread slot (task storage): call not traced */
	DT_CNT_RET_NO_ENTRY,	/* return without a matching entry (attach race) */
	DT_CNT_STALE_ENTRY,	/* entry left behind by a call that never returned */
	/* DWARF unwinding (--unwind): every stack taken, and why some end early. */
	DT_CNT_UW_STACKS,	/* stacks unwound */
	DT_CNT_UW_NO_TABLE,	/* ended at an address without an unwind table */
	DT_CNT_UW_READ_FAULT,	/* ended: the stack could not be read */
	DT_CNT_UW_DEPTH,	/* ended at --max-frames */
	DT_CNT_UW_BAD_RULE,	/* ended at a rule we cannot follow, or a CFA going down */
	DT_CNT_UW_FP_FRAMES,	/* frames taken by frame pointer (mapping without table) */
	DT_CNT_UW_WINDOW,	/* ended in an object mapped so recently it had no table yet */
	DT_CNT_UW_TAILS,	/* ... and sent with a copy of the stack instead (DT_STACK_TAIL) */
	DT_CNT_LOADS,		/* the dynamic linker mapped objects (start, dlopen) */
	DT_CNT_LOADS_HELD,	/* ... and the thread was held until their tables were built */
	DT_CNT_FORKS,		/* child processes the target forked */
	DT_CNT_NR,
};

/* uw_refresh (bpf/unwind.bpf.h): a stack met code without rows, so the
 * tables should grow within a few ms; or the loader has just mapped objects,
 * so they should grow now. */
enum { DT_UW_REFRESH_SOON = 1, DT_UW_REFRESH_NOW = 2 };

/* The signal that stops a launched thread at each load (bpf/dhat.bpf.c
 * loader_mapped): its default action is to be ignored, should it ever
 * reach the program. */
#define DT_HOLD_SIGNAL 23	/* SIGURG */

/* --unwind: frame pointers only, DWARF CFI only, or CFI with frame pointers
 * where an object has none (JIT code, objects without .eh_frame). */
enum dt_unwind_mode { DT_UNWIND_FP, DT_UNWIND_DWARF, DT_UNWIND_AUTO };

/*
 * DWARF unwinding tables, built from .eh_frame by src/cfi.c and followed by
 * bpf/unwind.bpf.h.  One row covers [pc, next row's pc) of one object; pc is
 * the ELF virtual address (objects above 4 GiB are not tabled).
 */
enum dt_uw_kind {
	DT_UW_INVALID,	/* a rule we do not follow: the stack ends here */
	DT_UW_CFA_RSP,	/* CFA = rsp + 8 * cfa_off */
	DT_UW_CFA_RBP,	/* CFA = rbp + 8 * cfa_off */
	DT_UW_PLT,	/* GCC PLT stub: CFA = rsp + 8, + 8 more when (pc & 15) >= cfa_off */
	DT_UW_SIGNAL,	/* signal trampoline: registers come from the rt_sigframe */
	DT_UW_STOP,	/* return address undefined: outermost frame (_start, clone) */
	DT_UW_GAP,	/* no FDE covers the address */
	DT_UW_FP,	/* (cache only) mapping without a table: follow rbp */
	DT_UW_NOT_YET,	/* (never stored) a mapped file whose rows are not built yet */
	DT_UW_NR,
};

struct dt_uw_row {
	__u32 pc;
	__s16 cfa_off;
	__u8 kind;
	__s8 rbp_off8;	/* caller's rbp saved at CFA + 8 * rbp_off8; 0: rbp unchanged */
};

/* Objects are found from a mapping's file: inode and size, which stay the
 * same through bind mounts, overlay layers and btrfs subvolumes, where the
 * device number user space sees differs from the kernel's. */
struct dt_uw_obj_key {
	__u64 ino;
	__u64 size;
};

struct dt_uw_obj {
	__s64 vaddr_delta;	/* ELF vaddr minus file offset in the executable segment */
	__u32 first_row;	/* DT_UW_NO_ROWS (and nrows 0): no table will come, the
				 * stack ends there; other with nrows 0: follow rbp */
	__u32 nrows;		/* 0: the object has no usable CFI */
};

#define DT_UW_NO_ROWS 0xffffffffu

/* The target's executable mappings with rows, sorted by start, as user space
 * last read them from /proc/PID/maps: the unwinder's first place to look,
 * since bpf_find_vma() fails while another thread holds the mmap lock. */
#define DT_UW_MAX_MAPS 1024

struct dt_uw_map {
	__u64 start, end;
	__u64 bias;		/* row pc = address - bias */
	__u32 first_row;
	__u32 nrows;		/* 0: no CFI in this object */
};

struct dt_uw_maps {
	__u32 n;
	__u32 epoch;	/* map_epoch the mappings were read at: stale once it moves */
	struct dt_uw_map m[DT_UW_MAX_MAPS];
};

/* Mappings the BPF side learnt by itself (bpf/unwind.bpf.h). */
#define DT_UW_LEARNED 64

struct dt_uw_learned {
	__u64 start, end, bias;
	__u32 first_row, nrows;
	__u32 valid, epoch;
};

/* uw_cache key: a looked-up address means another rule once code there is unmapped. */
struct dt_uw_cache_key {
	__u64 addr;
	__u32 epoch;
	__u32 pad;
};

#endif /* DT_DHAT_ABI_H */
