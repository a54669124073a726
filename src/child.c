// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include "child.h"
#include "log.h"
#include "util.h"

#define EXEC_WAIT_NS (2 * NSEC_PER_SEC)
/* The dynamic linker calls _dl_debug_state twice as a program starts; a
 * bound in case it is not the one we know. */
#define MAX_HITS 16

static unsigned int execs_to_skip;

int child__seize(pid_t pid, bool exec_stops, unsigned int skip)
{
	long opts = PTRACE_O_TRACEEXIT | (exec_stops ? PTRACE_O_TRACEEXEC : 0);

	execs_to_skip = skip;
	if (ptrace(PTRACE_SEIZE, pid, 0, (void *)opts)) {
		int err = -errno;

		vlog("cannot watch PID %d for its exit (%s): symbols of a program that exits "
		     "quickly may be missing\n", pid, strerror(-err));
		return err;
	}
	return 0;
}

/* One stop that is not ours to keep: pass it on.  false: an exec stop to hold. */
static bool pass_on(pid_t pid, int st, void (*at_exit)(void *), void *ctx)
{
	int event = st >> 16;

	if (event == PTRACE_EVENT_EXEC) {
		if (!execs_to_skip)
			return false;
		execs_to_skip--;
		ptrace(PTRACE_CONT, pid, 0, 0);
	} else if (event == PTRACE_EVENT_EXIT) {
		if (at_exit)
			at_exit(ctx);
		ptrace(PTRACE_CONT, pid, 0, 0);
	} else if (event == PTRACE_EVENT_STOP) {
		/* group-stop (SIGSTOP & co.): stay stopped, as without us */
		ptrace(PTRACE_LISTEN, pid, 0, 0);
	} else {
		ptrace(PTRACE_CONT, pid, 0, (void *)(long)WSTOPSIG(st));
	}
	return true;
}

enum child_state child__on_sigchld(pid_t pid, void (*at_exit)(void *), void *ctx, int *status)
{
	int st;

	while (waitpid(pid, &st, WNOHANG | __WALL) == pid) {
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			*status = st;
			return CHILD_GONE;
		}
		if (WIFSTOPPED(st) && !pass_on(pid, st, at_exit, ctx))
			return CHILD_AT_EXEC;
	}
	return CHILD_RUNS;
}

int child__wait_exec(pid_t pid, int *status)
{
	uint64_t t0 = mono_ns();

	while (mono_ns() - t0 < EXEC_WAIT_NS) {
		switch (child__on_sigchld(pid, NULL, NULL, status)) {
		case CHILD_GONE:
			return -ESRCH;
		case CHILD_AT_EXEC:
			return 0;
		default:
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
		}
	}
	return -ETIMEDOUT;
}

#ifdef __x86_64__
/* Wait for the next stop; -ESRCH once gone. */
static int next_stop(pid_t pid, int *status)
{
	int st;

	if (waitpid(pid, &st, __WALL) != pid)
		return -errno;
	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		*status = st;
		return -ESRCH;
	}
	return st;
}

int child__run_to(pid_t pid, uint64_t addr, bool (*at)(void *), void *ctx, int *status)
{
	struct user_regs_struct regs;
	long orig, trap;
	int st, sig = 0, hits = 0;

	errno = 0;
	orig = ptrace(PTRACE_PEEKTEXT, pid, (void *)addr, 0);
	if (errno)
		return -errno;
	trap = (orig & ~0xffL) | 0xcc;
	if (ptrace(PTRACE_POKETEXT, pid, (void *)addr, (void *)trap))
		return -errno;
	for (;;) {
		if (ptrace(PTRACE_CONT, pid, 0, (void *)(long)sig))
			return -errno;
		sig = 0;
		st = next_stop(pid, status);
		if (st < 0)
			return st;
		if (!WIFSTOPPED(st))
			continue;
		if (st >> 16 || WSTOPSIG(st) != SIGTRAP) {
			/* Not our breakpoint: a signal goes on to the program. */
			if (!(st >> 16))
				sig = WSTOPSIG(st);
			else if ((st >> 16) == PTRACE_EVENT_STOP)
				sig = 0;
			continue;
		}
		if (ptrace(PTRACE_GETREGS, pid, 0, &regs))
			return -errno;
		if (regs.rip - 1 != addr) {
			sig = SIGTRAP;	/* the program's own */
			continue;
		}
		regs.rip = addr;
		if (ptrace(PTRACE_SETREGS, pid, 0, &regs) ||
		    ptrace(PTRACE_POKETEXT, pid, (void *)addr, (void *)orig))
			return -errno;
		if (at(ctx) || ++hits >= MAX_HITS)
			return hits < MAX_HITS ? 0 : -ENOENT;
		/* Over the real instruction, then the breakpoint back. */
		if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0))
			return -errno;
		st = next_stop(pid, status);
		if (st < 0)
			return st;
		if (ptrace(PTRACE_POKETEXT, pid, (void *)addr, (void *)trap))
			return -errno;
	}
}
#else
int child__run_to(pid_t pid, uint64_t addr, bool (*at)(void *), void *ctx, int *status)
{
	return -ENOTSUP;
}
#endif

void child__resume(pid_t pid)
{
	ptrace(PTRACE_CONT, pid, 0, 0);
}

void child__let_go(pid_t pid)
{
	ptrace(PTRACE_DETACH, pid, 0, 0);
}

void child__release(pid_t pid)
{
	int st;

	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0))
		return;
	while (waitpid(pid, &st, __WALL) == pid) {
		if (!WIFSTOPPED(st))
			return;
		if ((st >> 16) == PTRACE_EVENT_STOP || (st >> 16) == PTRACE_EVENT_EXIT) {
			ptrace(PTRACE_DETACH, pid, 0, 0);
			return;
		}
		/* A signal arrived first: hand it over while letting go. */
		ptrace(PTRACE_DETACH, pid, 0, (void *)(long)WSTOPSIG(st));
		return;
	}
}
