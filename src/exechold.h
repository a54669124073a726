/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_EXECHOLD_H
#define DT_EXECHOLD_H

#include <sys/types.h>

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

#endif
