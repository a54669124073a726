/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_CHILD_H
#define DT_CHILD_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * A launched command is watched with ptrace for one reason only: to stop it
 * at its exit while its mappings still exist, so short-lived programs can be
 * symbolized.  Nothing else is intercepted; signals are passed on unchanged.
 */
int child__seize(pid_t pid);
/* Reap or resume after SIGCHLD.  at_exit runs at the exit stop.  Returns
 * true once the child is gone, with its wait status in *status. */
bool child__on_sigchld(pid_t pid, void (*at_exit)(void *), void *ctx, int *status);
/* Let go of a child that is still running. */
void child__release(pid_t pid);

#endif
