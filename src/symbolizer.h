/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_SYMBOLIZER_H
#define DT_SYMBOLIZER_H

#include <stdint.h>
#include <sys/types.h>

struct symbolizer;

struct symbolizer_stats {
	uint64_t frames;	/* distinct return addresses described */
	uint64_t no_module;	/* address in no known object */
	uint64_t no_symbol;	/* object known, no symbol covers it */
	uint64_t no_line;	/* symbol known, no line information */
};

struct symbolizer *symbolizer__new(pid_t pid);
void symbolizer__free(struct symbolizer *s);
/*
 * Read the target's mappings (while it is alive) and load every object's
 * ELF and DWARF now, so that addresses still resolve after it exits.
 * Objects seen before are kept.  0 or -errno.
 */
int symbolizer__refresh(struct symbolizer *s);
/* dt_describe_fn: DHAT frame strings for the return address ip. */
int symbolizer__describe(void *s, uint64_t ip, const char *const **strs);
/* "fn (file.c:12)" of the innermost frame at return address ip. */
const char *symbolizer__site(struct symbolizer *s, uint64_t ip);
const struct symbolizer_stats *symbolizer__stats(struct symbolizer *s);

#endif
