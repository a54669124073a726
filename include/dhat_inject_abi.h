/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The contract between the in-process agent (src/agent/) and the tracer
 * (src/inject.c): one memfd both map, a control area followed by a ring of
 * records.  The records are dhat_abi.h's struct dt_rec_*, each behind a
 * struct dt_inj_hdr, so the tracer's intake is the BPF ring's.  Include
 * dhat_abi.h (and __u32/__u64) first.
 *
 * The ring is many writers (the target's threads), one reader (the
 * tracer), never blocking a writer:
 *   - a writer reserves len bytes by compare-and-swap on head, only while
 *     head + len - tail <= ring_size, else it drops the record and counts it;
 *   - it writes the record, then stores hdr.len (release): committed;
 *   - the reader takes records in reservation order while hdr.len is
 *     non-zero, zeroes what it consumed, then moves tail (release), so a
 *     writer never finds a stale length where its own record will go.
 * The ring is mapped twice back to back on both sides: a record that
 * wraps is contiguous.  The reader drains it on a tick, and when a writer
 * finds wake_bytes waiting it signals an eventfd once (wake_pending), as the
 * BPF side wakes its consumer only when the ring fills.  The reader trusts
 * nothing the target wrote: a bad length stops the ring, said once.
 */
#ifndef DT_DHAT_INJECT_ABI_H
#define DT_DHAT_INJECT_ABI_H

#define DT_INJ_MAGIC 0x6a6e4964U	/* "dInj" */
#define DT_INJ_VERSION 5
/* The control area: this struct, page-rounded; the ring starts after it. */
#define DT_INJ_CTRL_SIZE (256 * 1024)
#define DT_INJ_MAX_SLOTS 7000
/* Largest record: a full stack behind its header. */
#define DT_INJ_REC_MAX (8 + DT_REC_STACK_HDR + 8 * DT_MAX_FRAMES)

/* What a record's times are.  TSC: RDTSC counts, which the tracer turns
 * into CLOCK_MONOTONIC (src/tscmap.h); offered only where the kernel's
 * clock is the TSC, taken only if the target may read it (PR_GET_TSC). */
enum dt_inj_clock {
	DT_INJ_CLOCK_MONO,	/* clock_gettime(CLOCK_MONOTONIC), bpf_ktime_get_ns()'s */
	DT_INJ_CLOCK_TSC,
};

struct dt_inj_hdr {
	__u32 len;	/* header included, a multiple of 8; 0: not committed yet */
	__u32 pad;
};

enum dt_inj_state {
	DT_INJ_LOADING,	/* mapped, not patching yet */
	DT_INJ_ACTIVE,	/* GOT slots patched */
	DT_INJ_INERT,	/* slots restored; hooks pass every call through */
};

/* Why the agent went inert. */
enum dt_inj_why {
	DT_INJ_WHY_NONE,
	DT_INJ_WHY_DETACH,	/* the tracer asked */
	DT_INJ_WHY_TRACER_GONE,	/* its end of the pipe closed: the tracer died */
	DT_INJ_WHY_PIPE_LOST,	/* the target closed or broke our pipe */
};

/* Slot flags */
#define DT_INJ_SLOT_RELRO 1	/* in a read-only page: made writable for the store */

/* A GOT slot the agent rewrote: the tracer can restore it through
 * /proc/PID/mem if the agent cannot (the target is stopped). */
struct dt_inj_slot {
	__u64 addr;
	__u64 orig;	/* what it held: the resolved function, or a lazy PLT entry */
	__u64 hook;
	__u32 flags;
	__u32 fn;	/* DT_FN_*, or DT_FN_NR for dlopen */
};

/* The counters the agent bumps on every stack, one line per CPU: a counter
 * all threads bumped was a tenth of a hooked call with two busy threads. */
#define DT_INJ_CPU_SLOTS 256
struct dt_inj_cpucount {
	__u64 uw_stacks;	/* DT_CNT_UW_STACKS */
	__u64 uw_fp_frames;	/* DT_CNT_UW_FP_FRAMES */
	__u64 pad[6];
};

struct dt_inj_ctrl {
	/* Written by the tracer before the agent starts */
	__u32 magic, version;
	__u64 ring_size;	/* a power of two */
	__u32 max_frames;
	__u32 tracing;		/* 1: record (the agent's thread follows it) */
	__u32 cmd_detach;	/* 1: restore the slots and go inert */
	__u32 epoch;		/* the map epoch stacks are taken in */
	__u64 wake_bytes;	/* wake the reader once this much waits (0: never) */
	__u32 unwind;		/* enum dt_unwind_mode; FP unless a table memfd is given */
	__u32 uw_want;		/* agent: DT_UW_REFRESH_*, code the table lacks (tracer clears) */
	__u32 clock;		/* enum dt_inj_clock: the stamps the tracer can read */
	__u32 clock_used;	/* agent: the stamps its records carry (enum dt_inj_clock) */
	__u32 dlinit_want;	/* 1: take a signal to patch a dlopen's objects before their
				 * constructors (bpf/dlinit.bpf.c sends it) */
	__u32 dlinit_sig;	/* agent: that signal (0: none free) */
	__u64 dlinit_handler;	/* agent: its handler, which the probe checks is still there */
	/* Written by the agent */
	__u32 state;		/* enum dt_inj_state */
	__u32 why;		/* enum dt_inj_why */
	__u32 agent_pid;
	__u32 nslots;		/* slots[] in use (only grows) */
	__u32 recording;	/* the agent's answer to tracing: its hooks record */
	__u32 wake_pending;	/* the agent woke the reader; the reader clears it */
	__u64 objects;		/* objects whose GOT was patched */
	__u64 slots_other;	/* slots bound to another function: left alone */
	__u64 slots_full;	/* slots not patched: slots[] was full */
	__u64 rescans;		/* patch passes after a dlopen */
	__u64 restored;		/* slots put back */
	__u64 dlinit_passes;	/* patch passes the signal ran, before constructors */
	__u64 ctors_unseen;	/* dlopens through the hook whose new objects' constructors
				 * ran before their slots were patched (no signal came) */
	__u64 counters[DT_CNT_NR];	/* enum dt_counter, as the BPF side's, but see percpu[] */
	__u64 head __attribute__((aligned(64)));
	__u64 tail __attribute__((aligned(64)));
	struct dt_inj_slot slots[DT_INJ_MAX_SLOTS] __attribute__((aligned(64)));
	/* Indexed by the writer's CPU (modulo DT_INJ_CPU_SLOTS); the reader sums. */
	struct dt_inj_cpucount percpu[DT_INJ_CPU_SLOTS] __attribute__((aligned(64)));
};

/*
 * --unwind=dwarf/auto: the unwind tables of src/unwind.c, shared with the
 * agent in a memfd of their own that it maps read-only: this header, then
 * the rows.  Rows are only ever appended past the ones in use; a new
 * mapping table goes into maps[(gen + 1) & 1], then gen moves on
 * (release).  A reader takes maps[gen & 1] and checks gen again after
 * copying what it needs: unchanged, no writer touched that slot.
 */
#define DT_INJ_UW_MAGIC 0x77556964U	/* "dIUw" */

struct dt_inj_uw {
	__u32 magic;
	__u32 gen;
	__u32 capacity;		/* rows after the header */
	__u32 pad;
	struct dt_uw_maps maps[2];
};

/* Where the rows start in the memfd: the header, page-rounded. */
#define DT_INJ_UW_ROWS_OFF ((sizeof(struct dt_inj_uw) + 4095) & ~(__u64)4095)

#endif
