/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_CFIPROG_H
#define DT_CFIPROG_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "dhat_abi.h"

/*
 * The call-frame instructions of one FDE (after its CIE's initial ones)
 * run once from the FDE's start, a row given at each address where the
 * rule changes: what a lookup per address (libdw's dwarf_cfi_addrframe,
 * which runs them again from the start each time) gives, in linear time.
 */
struct cfiprog_cie {
	const uint8_t *insns, *insns_end;	/* initial instructions */
	uint64_t code_align;
	int64_t data_align;
	bool signal;		/* 'S': every FDE of it is a signal trampoline */
};

/* push(ctx, pc, row) for each row of the FDE covering [start, stop), in
 * order; 0, or the first non-zero push() returned.  *end: the address up
 * to which rows were given (stop, or where malformed instructions ended
 * them). */
int cfiprog__rows(const struct cfiprog_cie *cie, const uint8_t *insns, const uint8_t *insns_end,
		  uint64_t start, uint64_t stop,
		  int (*push)(void *ctx, uint64_t pc, struct dt_uw_row r), void *ctx,
		  uint64_t *end);

#endif
