// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * cfi__build on arbitrary bytes: dhat-trace runs as root and turns the
 * .eh_frame of every object a traced process maps into unwind rows, also
 * objects a container controls.  The input goes into a memfd so that libelf
 * maps it as it maps a real object (ELF_C_READ_MMAP): a read past the end of
 * the mapping faults as it would in dhat-trace.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "cfi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct cfi_table t;
	size_t i;

	if (fd < 0)
		fd = memfd_create("fuzz_cfi", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (cfi__build_fd(fd, &t)) {
		/* A failure leaves an empty table: unwind.c keeps it. */
		if (t.rows || t.nrows || t.unsupported)
			abort();
	} else {
		/* The BPF side binary-searches the rows by pc: a table out of
		 * order unwinds wrongly without any fault, so check it here. */
		for (i = 1; i < t.nrows; i++)
			if (t.rows[i].pc <= t.rows[i - 1].pc)
				abort();
		if (t.unsupported > t.nrows || t.size != size)
			abort();
	}
	cfi__table_free(&t);
	return 0;
}
