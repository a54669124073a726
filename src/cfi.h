/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_CFI_H
#define DT_CFI_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "dhat_abi.h"

/*
 * An object's call-frame information (.eh_frame) turned into the compact
 * rows the BPF unwinder follows: sorted by pc, each row valid up to the
 * next one, gaps between functions marked DT_UW_GAP.  Independent of who
 * consumes the rows (a BPF map today, an in-process unwinder later).
 */
struct cfi_table {
	struct dt_uw_row *rows;
	size_t nrows;
	int64_t vaddr_delta;	/* ELF vaddr minus file offset, executable segment */
	uint64_t ino, size;	/* the file, as the kernel sees its mappings */
	size_t unsupported;	/* rows whose rule we cannot follow (DT_UW_INVALID) */
};

/*
 * Build the table for the ELF file at path.  -ENODATA when it has no
 * .eh_frame (or none we can find or read), -ENOEXEC when it is not an ELF
 * object with an executable segment, other -errno on I/O errors.
 */
int cfi__build(const char *path, struct cfi_table *t);
/* The same for an open file (the fuzzer feeds it a memfd); fd stays open. */
int cfi__build_fd(int fd, struct cfi_table *t);
void cfi__table_free(struct cfi_table *t);

#endif
