/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_UNWIND_H
#define DT_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "dhat_abi.h"

/*
 * The unwind tables of the target's objects in the BPF maps (see
 * bpf/unwind.bpf.h): built from the files before the BPF object is loaded
 * (so the row array can be sized), installed after, and extended when the
 * target maps new code.
 */
struct unwinder;

struct unwinder_stats {
	uint64_t objects;	/* objects with rows */
	uint64_t objects_without_cfi;	/* followed by frame pointer, or not at all */
	uint64_t rows, row_capacity;
	uint64_t table_bytes;	/* kernel memory of rows + object index */
	uint64_t objects_not_loaded;	/* no room left in the row array */
	uint64_t build_ns;	/* time spent turning CFI into rows */
	/* Stacks cut by the load window and finished here (unwinder__complete):
	 * how many, and why those that did not reach the bottom ended
	 * (indexed by DT_CNT_UW_*). */
	uint64_t tails, tails_cut[DT_CNT_NR];
	uint64_t fp_frames;
};

/* Whether this kernel can run the unwinder (bpf_loop, bpf_find_vma). */
bool unwinder__kernel_ok(void);
struct tview;

struct unwinder *unwinder__new(struct tview *tv);
void unwinder__free(struct unwinder *u);
/* Build an object's rows now (before load); duplicates are ignored. */
int unwinder__add_file(struct unwinder *u, const char *path);
/* Launch: the program (a script's interpreter), what it loads, its ld.so. */
int unwinder__add_program(struct unwinder *u, const char *exe);
/* Add every executable file mapping the target view has (after a sync). */
int unwinder__add_mapped(struct unwinder *u);
/* Row-array size to create: what is built, plus room for dlopen. */
uint32_t unwinder__capacity(const struct unwinder *u);
/* Where the tables go: the loaded BPF maps, or (rows set) memory shared
 * with the in-process agent, which has no object index and reads the
 * mapping table of slots[*gen & 1] (include/dhat_inject_abi.h). */
struct unwinder_maps {
	int rows_fd, objs_fd, maps_fd;
	volatile uint32_t *maps_cur;	/* which uw_maps slot BPF reads */
	struct dt_uw_row *rows;		/* already mapped, capacity rows */
	struct dt_uw_maps *slots;	/* two */
	volatile uint32_t *gen;
};

/* Copy the rows, object index and mapping table into the loaded maps. */
int unwinder__install(struct unwinder *u, const struct unwinder_maps *m, uint32_t capacity);
/* Sync the target view and install what is new; -errno. */
int unwinder__refresh(struct unwinder *u);
/* How far the walks go on in user space (unwinder__complete). */
void unwinder__set_walk(struct unwinder *u, uint32_t max_frames, bool fp_fallback);
/* The frames of a stack record with a tail (DT_STACK_TAIL), ips its own
 * r->ips-sized buffer: built with the tables as they are now, read first if
 * the object it was cut at is new.  0, or -EINVAL for a malformed record. */
int unwinder__complete(struct unwinder *u, const struct dt_rec_stack *r, size_t size,
		       uint64_t *ips, uint32_t *nr);
const struct unwinder_stats *unwinder__stats(const struct unwinder *u);

#endif
