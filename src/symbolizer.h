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
	uint64_t gone;		/* its object was unmapped before it could be read */
	uint64_t unreadable;	/* in an object whose file could not be opened as mapped */
	uint64_t no_symbol;	/* object known, no symbol covers it */
	uint64_t no_line;	/* symbol known, no line information */
	uint64_t debug_files;	/* separate debug files used */
	uint64_t debug_files_refused;	/* found in the target's root, not the object's */
};

struct tview;

/* Frames are the target view's locations; tv outlives the symbolizer
 * (NULL: every frame is ???). */
struct symbolizer *symbolizer__new(const struct tview *tv);
void symbolizer__free(struct symbolizer *s);
/* dt_describe_fn: DHAT frame strings for the frame at location loc. */
int symbolizer__describe(void *s, uint64_t loc, const char *const **strs);
/* "fn (file.c:12)" of the innermost frame at loc. */
const char *symbolizer__site(struct symbolizer *s, uint64_t loc);
const struct symbolizer_stats *symbolizer__stats(struct symbolizer *s);

#endif
