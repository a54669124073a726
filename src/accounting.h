/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_ACCOUNTING_H
#define DT_ACCOUNTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "blocks.h"
#include "pps.h"
#include "stacks.h"

/* What could not be attributed exactly; all of it is reported. */
struct dt_loss {
	/* Blocks never seen allocated: before attach, inside the allocator
	 * (glibc's tcache), or not kept (untracked). */
	uint64_t unknown_frees;	   /* free of such a block: ignored */
	uint64_t unknown_reallocs; /* realloc of such a block: a new block */
	uint64_t displaced;	   /* allocation at a live address: its free was lost */
	uint64_t realloc_races;	   /* old address reused before realloc returned: resolved */
	uint64_t unknown_stacks;   /* allocation whose stack record never arrived */
	uint64_t bad_records;	   /* malformed ring-buffer records */
	uint64_t untracked;	   /* live block the table had no memory for */
	uint64_t after_exec;	   /* records of the program the target exec'd: not kept */
	/* --max-memory: blocks not tracked, since the tables would have grown
	 * past the cap.  They count nowhere else: not in their site's numbers
	 * (every number of a site is about the same tracked blocks), and their
	 * frees are among unknown_frees. */
	uint64_t capped_blocks, capped_bytes;
	uint64_t capped_stacks;	   /* new stacks not kept; their blocks are capped_blocks */
};

struct acct;

/* t0: tracer clock (CLOCK_MONOTONIC ns) at which the capture starts. */
struct acct *acct__new(uint64_t t0);
void acct__free(struct acct *a);
/*
 * Stacks arrive as return addresses taken in a map epoch; fn turns them into
 * the frames kept (targetview.h's locations) and returns how many to keep
 * (a frame that cannot be a code address ends the stack).  Without one, the
 * addresses are kept as they are (replay, unit tests).
 */
typedef uint32_t (*dt_translate_fn)(void *ctx, uint32_t epoch, const uint64_t *ips, uint32_t nr,
				    uint64_t *out);
void acct__set_translate(struct acct *a, dt_translate_fn fn, void *ctx);
struct dt_rec_stack;
/* A stack record with a tail (DT_STACK_TAIL) has its frames finished by fn
 * (unwinder__complete) into ips; without one, it is kept as cut. */
typedef int (*dt_complete_fn)(void *ctx, const struct dt_rec_stack *r, size_t size,
			      uint64_t *ips, uint32_t *nr);
void acct__set_complete(struct acct *a, dt_complete_fn fn, void *ctx);
/*
 * A cap on the bytes of the tables that grow with the target (live blocks,
 * stacks, sites); 0: none.  Once a block or a stack would take them past
 * it, fn is told (once) and what does not fit is counted, not tracked.
 */
void acct__set_max_memory(struct acct *a, uint64_t bytes, void (*fn)(void *ctx), void *ctx);
uint64_t acct__max_memory(const struct acct *a);
/* The cap refused something (dt_loss's capped_*). */
bool acct__capped(const struct acct *a);
/* Bytes the tables hold now, and the most they held. */
size_t acct__tables_bytes(const struct acct *a);
size_t acct__tables_peak_bytes(const struct acct *a);
/* --follow-forks, attached: fn is told of each child the target forks. */
void acct__set_on_fork(struct acct *a, void (*fn)(void *ctx, pid_t child), void *ctx);
/* Consume one raw ring-buffer record (include/dhat_abi.h); -EINVAL if malformed. */
int acct__handle(struct acct *a, const void *data, size_t size);
/* Close the capture at t_end (ns, tracer clock), or at the newest record if
 * later: lifetimes of live blocks, final t-gmax snapshot.  Returns the end used. */
uint64_t acct__finish(struct acct *a, uint64_t t_end);

/* A snapshot of the capture so far: until acct__snapshot_end, the sites
 * read are a copy finished at t (ns, tracer clock), as acct__finish would;
 * the capture itself goes on unchanged.  Returns the end used, 0 on ENOMEM. */
uint64_t acct__snapshot_begin(struct acct *a, uint64_t t);
void acct__snapshot_end(struct acct *a);

/* A launched command's own exec(s) of the program start its capture. */
void acct__skip_execs(struct acct *a, uint32_t n);
/* When the target exec'd another program (tracer clock), 0 if it has not:
 * the capture of its program ends there and later records are dropped. */
uint64_t acct__exec_ts(const struct acct *a);
uint64_t acct__t0(const struct acct *a);
uint64_t acct__events(const struct acct *a);
const struct dt_loss *acct__loss(const struct acct *a);
struct pps *acct__pps(struct acct *a);
struct stacks *acct__stacks(struct acct *a);
struct blocks *acct__blocks(struct acct *a);

#endif
