/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_SITELABEL_H
#define DT_SITELABEL_H

#include <stddef.h>
#include <stdint.h>
#include "accounting.h"
#include "symbolizer.h"

/*
 * A site in one line: "fn (file:12) <- caller (file:30)", its two innermost
 * frames after the allocator's wrappers.  A frame is a wrapper when the
 * sites that reach the allocator through it (and the wrappers before it)
 * are called from three or more different functions: zmalloc, xmalloc,
 * __rdl_alloc, operator new forward every caller's request, while a frame
 * that allocates for itself has one caller or two.  At least two frames are
 * always kept; the JSON has the whole stack.
 */
void sitelabel__format(struct acct *a, struct symbolizer *sym, uint32_t pp, char *buf,
		       size_t len);
/* What tells apart two sites of one label: the first frame, from the
 * innermost, whose text differs; where only addresses do (two calls on one
 * source line, a loop the compiler unrolled), that frame's address. */
void sitelabel__difference(struct acct *a, struct symbolizer *sym, uint32_t pp, uint32_t other,
			   char *buf, size_t len);

#endif
