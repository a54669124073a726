/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_FORKS_H
#define DT_FORKS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "cli.h"

/*
 * --follow-forks: each child process of the target (and each of theirs) is
 * traced by a dhat-trace of its own, started here in attach mode (-p CHILD
 * -o FILE.CHILD.json), so that one capture stays one process, one BPF
 * object and one file.
 *
 * Launched, this dhat-trace traces the command's whole process tree with
 * ptrace (child.h): a new child starts stopped and is held until its
 * capture says its probes are placed, so it is traced from its first
 * allocation.  A vfork child is traced from its exec (it shares its
 * parent's memory until then).  With --follow-exec a child's exec is held
 * like the command's, and the new program gets FILE.CHILD.N.json.
 *
 * Attached, nothing can hold a child: its capture starts when the BPF side
 * says it was forked, and what it allocates before its probes are placed is
 * not seen.
 */
struct forks;

/* NULL (reported) on failure.  launched: the target is a command we run. */
struct forks *forks__new(const struct dt_config *cfg, bool launched);
/* parent forked child (vfork: a child that shares its memory until it
 * execs).  Launched: the child is stopped and traced by us. */
void forks__on_fork(void *forks, pid_t parent, pid_t child, bool vfork);
/* Every tick of the capture loop: the traced children's stops, their
 * captures' readiness and ends.  ctx: the forks. */
void forks__poll(void *forks);
/* Children of parent forked since `since` (mono_ns) whose capture started. */
uint64_t forks__traced(const struct forks *f, pid_t parent, uint64_t since);
/* The run ends: let go of every child still traced, end their captures
 * (SIGINT), wait for them, and say how many children were and were not
 * traced.  Then frees f. */
void forks__finish(struct forks *f);

#endif
