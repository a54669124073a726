// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The ELF symbol reader on arbitrary bytes: dhat-trace (root) opens the
 * objects a traced process maps, finds the allocator's functions in them
 * and reads its code, its PT_INTERP, and the DT_NEEDED and DT_RUNPATH
 * entries it follows.  The input is written as <tmp>/exe and read as the
 * tracer reads it: by path, and with <tmp> as the root the dynamic
 * linker's search runs in, so that a DT_NEEDED name finds only the input
 * itself (or nothing), never the machine's libraries.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elfsym.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/fuzz_elfsym.XXXXXX";
static char exe[sizeof(root) + 8], dir[sizeof(root) + 1];

static void remove_root(void)
{
	unlink(exe);
	rmdir(root);
}

static void setup(void)
{
	if (!mkdtemp(root))
		abort();
	snprintf(exe, sizeof(exe), "%s/exe", root);
	snprintf(dir, sizeof(dir), "%s/", root);
	atexit(remove_root);
	/* The search order reads them: the same result for every run. */
	unsetenv("LD_PRELOAD");
	unsetenv("LD_LIBRARY_PATH");
}

static void functions(struct elfsym *e, const uint8_t *data, size_t size)
{
	static const char *const names[] = { "malloc", "free", "calloc", "realloc",
					     "_Znwm", "__libc_malloc", "" };
	struct elfsym_fn fn;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (elfsym__function(e, names[i], &fn))
			continue;
		/* The code pointer is the file's bytes at file_off, size of
		 * them: placement decodes exactly that range. */
		if (fn.code && (fn.file_off >= size || fn.size > size - fn.file_off ||
				memcmp(fn.code, data + fn.file_off, fn.size)))
			abort();
		elfsym__function_starts_in(e, fn.vaddr, fn.vaddr + 16);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char prog[PATH_MAX], **order;
	struct elfsym *e;
	const char *interp;
	int fd, i, n;

	if (!exe[0])
		setup();
	fd = open(exe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd))
		abort();

	elfsym__program_of(exe, prog, sizeof(prog), NULL);
	e = elfsym__open(exe);
	if (e) {
		functions(e, data, size);
		interp = elfsym__interp(e);
		if (interp && strlen(interp) > size)
			abort();
		elfsym__close(e);
	}
	n = elfsym__load_order(root, "/exe", &order);
	for (i = 0; i < n; i++)
		free(order[i]);
	free(order);
	/* And named without a directory, as a script's "#!exe" names it. */
	n = elfsym__load_order(dir, "exe", &order);
	for (i = 0; i < n; i++)
		free(order[i]);
	free(order);
	return 0;
}
