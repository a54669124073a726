/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_UWEXEC_H
#define DT_UWEXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "dhat_abi.h"

/*
 * The unwind rows of bpf/unwind.bpf.h followed in plain C, frame by frame
 * exactly as uw_frame() does there: one table format, two executors.  It
 * takes no lock, allocates nothing and calls only what it is given, so that
 * it may run anywhere (a signal handler, an allocator hook).
 */
struct uwexec_regs {
	uint64_t pc, sp, bp;
	bool exact;	/* pc is an interrupted instruction, not a return address */
};

struct uwexec_ops {
	/* The rule for the code at addr: its kind (enum dt_uw_kind), *row set. */
	uint8_t (*rule)(void *ctx, uint64_t addr, struct dt_uw_row *row);
	/* The 8 bytes at addr of the target's memory; non-zero if unreadable. */
	int (*read)(void *ctx, uint64_t addr, uint64_t *out);
	/* Optional, for a cache of walks (src/agent/walkcache.c): reads of a
	 * saved rbp go to read_bp (read if NULL), and use_bp is told each time
	 * a rule makes the walk depend on rbp's value; optimised code keeps data
	 * in rbp that no rule reads, and a cache comparing it would miss. */
	int (*read_bp)(void *ctx, uint64_t addr, uint64_t *out);
	void (*use_bp)(void *ctx);
	void *ctx;
	uint32_t max_frames;
	bool fp_fallback;	/* --unwind=auto: frame pointers where no table */
};

/* Walk on from r, whose pc is ips[*nr - 1], appending frames; returns why
 * it ended: DT_CNT_NR at the bottom of the stack, else a DT_CNT_UW_* reason.
 * *fp_frames counts frames taken by frame pointer. */
int uwexec__walk(const struct uwexec_ops *ops, struct uwexec_regs *r, uint64_t *ips,
		 uint32_t *nr, uint64_t *fp_frames);

/* The row of rows[first, first + n) covering rel (an object's ELF address):
 * its kind, *row set; DT_UW_GAP where no row does. */
uint8_t uwexec__row(const struct dt_uw_row *rows, uint32_t first, uint32_t n, uint64_t rel,
		    struct dt_uw_row *row);

/* The rule for addr from a mapping table as src/unwind.c publishes it
 * (sorted by start) over rows[0, capacity): DT_UW_NOT_YET where no mapping
 * holds addr (code mapped since the table was written). */
uint8_t uwexec__map_rule(const struct dt_uw_maps *t, const struct dt_uw_row *rows,
			 uint32_t capacity, uint64_t addr, struct dt_uw_row *row);

#endif
