/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_PPROF_H
#define DT_PPROF_H

#include "dhatfile.h"

/*
 * A DHAT file as pprof's profile.proto, gzip'd, for `go tool pprof`,
 * Pyroscope, Grafana and the like.  One sample per program point, its stack
 * innermost first as DHAT keeps it (Valgrind's allocator frames left out);
 * one location per return address, the frames inlined there as its lines
 * (innermost first, as pprof wants them).  Sample types: alloc_objects and
 * alloc_space (all blocks), inuse_objects and inuse_space (live at t-end,
 * the default), tgmax_objects and tgmax_space (live at t-gmax, the peak);
 * the last four only where the file has block lifetimes.  Written whole or
 * not at all; path "-" is standard output.  0 or -errno.
 */
int pprof__write(const struct dhatfile *f, const char *path);

#endif
