/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_CHILD_H
#define DT_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * A launched command is watched with ptrace: to stop it at its exit while
 * its mappings still exist, so short-lived programs can be symbolized, and
 * with --follow-exec to hold it where each new program it execs can be
 * traced from its first allocation, and at each load of the dynamic linker
 * until the new objects' unwind tables are built (child__on_hold).  Nothing
 * else is intercepted; signals are passed on unchanged.
 */
enum child_state { CHILD_RUNS, CHILD_GONE, CHILD_AT_EXEC };

/* exec_stops: hold the child at each exec after the first skip ones (those
 * that start the command itself).  forks: its children (and theirs) are
 * traced too, each fork told to the child__on_fork handler. */
int child__seize(pid_t pid, bool exec_stops, unsigned int skip, bool forks);
/* Who is told of a fork of a traced process: the new child is stopped,
 * traced by us, and the handler's to resume. */
void child__on_fork(void (*fn)(void *ctx, pid_t parent, pid_t child, bool vfork), void *ctx);
/* Who builds the tables while a thread is held at a load (bpf/dhat.bpf.c
 * loader_mapped); asked counts the holds the BPF side asked for.  The
 * thread goes on when fn returns. */
void child__on_hold(void (*fn)(void *ctx), void *ctx, const volatile uint64_t *asked);
/* Let a traced process go on from a stop that is not ours to keep (signal,
 * group-stop, exit, exec, fork: told to the handler). */
void child__pass(pid_t pid, int st);
/* Reap or resume after SIGCHLD.  at_exit runs at the exit stop.  CHILD_GONE
 * with its wait status in *status; CHILD_AT_EXEC: held at an exec stop. */
enum child_state child__on_sigchld(pid_t pid, void (*at_exit)(void *), void *ctx, int *status);
/* The capture saw the exec first: wait (bounded) for its stop.  0: held
 * there; -ESRCH: gone (*status set); -ETIMEDOUT: no stop came (the exec was
 * a thread's that is not traced), the child runs on. */
int child__wait_exec(pid_t pid, int *status);
/* Where a process's dynamic linker is, for child__run_to_loaded(). */
struct child_loader {
	uint64_t brk;		/* the address of its _dl_debug_state() */
	uint64_t r_state;	/* and of its _r_debug.r_state */
	uint64_t lo, hi;	/* its code: [lo, hi) */
};
/* Run the child, held at its exec stop, until its dynamic linker has mapped
 * and relocated every library and not yet run their constructors.  0: held
 * there (or a little later, said in -v: see child.c); -ESRCH: gone (*status
 * set); other -errno: held, or running, somewhere else (child__resume). */
int child__run_to_loaded(pid_t pid, const struct child_loader *ld, int *status);
/* Run the held child until it reaches addr (a breakpoint of ours, gone when
 * this returns).  Return values as child__run_to_loaded()'s. */
int child__run_to(pid_t pid, uint64_t addr, int *status);
/* Let a held child go on. */
void child__resume(pid_t pid);
/* Let go of a held child: it runs on, no longer watched. */
void child__let_go(pid_t pid);
/* Let go of a child that is still running. */
void child__release(pid_t pid);

#endif
