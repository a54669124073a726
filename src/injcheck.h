/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_INJCHECK_H
#define DT_INJCHECK_H

#include <stddef.h>
#include <sys/types.h>

/*
 * --inject -p PID: what makes an injection impossible or harmful (another
 * architecture, a tracer already there, a stopped process, strict seccomp,
 * Yama's ptrace_scope 3), said in one line before the process is touched.
 * 0, or -errno said.
 */
int injcheck__preflight(pid_t pid);
/* One line of /proc/PID/status: its value, or "". */
void injcheck__status(pid_t pid, const char *key, char *out, size_t len);

#endif
