/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_EXECHOLD_H
#define DT_EXECHOLD_H

#include <stdint.h>
#include <sys/types.h>
#include "child.h"

/*
 * --follow-exec, launched: the child is held at the stop of an exec.  Run
 * it to where the dynamic linker has mapped the new program's libraries and
 * run none of their code (r_state back to RT_CONSISTENT: where gdb loads
 * their symbols; child__run_to_loaded()), so the next capture reads
 * them from its maps and misses no allocation.  A static program is already
 * there.  0: held there; -ESRCH: it exited (*status); other -errno: held at
 * an earlier point (its first allocations may be missed).
 */
int exechold__to_loader(pid_t pid, int *status);
/* The dynamic linker at path, its first segment at bias in the process:
 * where child__run_to_loaded() stops it.  -errno if it does not say. */
int exechold__loader_of(const char *path, uint64_t bias, struct child_loader *ld);

#endif
