/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_FOLDED_H
#define DT_FOLDED_H

#include "dhatfile.h"

/* Which bytes weigh a stack (--folded-weight). */
enum folded_weight { FOLDED_TEND, FOLDED_TGMAX, FOLDED_TOTAL };

/* "tend", "tgmax", "total" -> *w; -EINVAL for another word. */
int folded__weight_of(const char *name, enum folded_weight *w);

/*
 * A DHAT file as collapsed stacks, the input of flamegraph.pl, inferno,
 * speedscope: one line per distinct stack, its function names outermost
 * first joined by ';' (inlined functions as frames of their own), a space,
 * and the bytes of its program points: live at t-end (the default), at
 * t-gmax, or all allocated.  Stacks that weigh nothing are left out; ';' in
 * a name becomes ':' and control characters '?'.  Lines sorted, written
 * whole or not at all; path "-" is standard output.  0, -EINVAL (t-end or
 * t-gmax asked of a file without block lifetimes), or -errno.
 */
int folded__write(const struct dhatfile *f, enum folded_weight w, const char *path);

#endif
