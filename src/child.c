// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <linux/types.h>
#include "child.h"
#include "dhat_abi.h"
#include "log.h"
#include "util.h"

#define EXEC_WAIT_NS (2 * NSEC_PER_SEC)
/* The dynamic linker calls _dl_debug_state twice as a program starts; a
 * bound in case it is not the one we know. */
#define MAX_HITS 16

static unsigned int execs_to_skip;
static bool hold_execs;
static void (*fork_handler)(void *ctx, pid_t parent, pid_t child, bool vfork);
static void *fork_ctx;
static void (*hold_handler)(void *ctx);
static void *hold_ctx;
static const volatile uint64_t *holds_asked;
static uint64_t holds_done;

int child__seize(pid_t pid, bool exec_stops, unsigned int skip, bool forks)
{
	long opts = PTRACE_O_TRACEEXIT | (exec_stops ? PTRACE_O_TRACEEXEC : 0);

	/* Children inherit the options: their execs are stops too (forks.c),
	 * even when the command's own are not held.  Threads are not children. */
	if (forks)
		opts |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC;
	execs_to_skip = skip;
	hold_execs = exec_stops;
	if (ptrace(PTRACE_SEIZE, pid, 0, (void *)opts)) {
		int err = -errno;

		vlog("cannot watch PID %d for its exit (%s): symbols of a program that exits "
		     "quickly may be missing\n", pid, strerror(-err));
		return err;
	}
	return 0;
}

void child__on_fork(void (*fn)(void *ctx, pid_t parent, pid_t child, bool vfork), void *ctx)
{
	fork_handler = fn;
	fork_ctx = ctx;
}

void child__on_hold(void (*fn)(void *ctx), void *ctx, const volatile uint64_t *asked)
{
	hold_handler = fn;
	hold_ctx = ctx;
	holds_asked = asked;
}

/* A signal-delivery stop for the BPF side's hold signal, sent by the kernel
 * (bpf_send_signal_thread) while a hold was asked for and not yet seen. */
static bool our_hold(pid_t pid, int st)
{
	siginfo_t si;

	if (st >> 16 || WSTOPSIG(st) != DT_HOLD_SIGNAL || !holds_asked ||
	    holds_done >= *holds_asked || ptrace(PTRACE_GETSIGINFO, pid, 0, &si) ||
	    si.si_code != SI_KERNEL)
		return false;
	holds_done++;
	return true;
}

/* A fork stop: the new child, auto-attached, is the handler's (a child
 * nobody takes stays stopped until we exit). */
static bool fork_event(pid_t pid, int st)
{
	int event = st >> 16;
	unsigned long child = 0;

	if (event != PTRACE_EVENT_FORK && event != PTRACE_EVENT_VFORK)
		return false;
	if (!ptrace(PTRACE_GETEVENTMSG, pid, 0, &child) && child && fork_handler)
		fork_handler(fork_ctx, pid, (pid_t)child, event == PTRACE_EVENT_VFORK);
	return true;
}

void child__pass(pid_t pid, int st)
{
	int event = st >> 16;

	if (event == PTRACE_EVENT_STOP) {
		/* group-stop (SIGSTOP & co.): stay stopped, as without us */
		ptrace(PTRACE_LISTEN, pid, 0, 0);
		return;
	}
	fork_event(pid, st);
	/* Event stops carry SIGTRAP in their status: not a signal to deliver. */
	ptrace(PTRACE_CONT, pid, 0, event ? 0 : (void *)(long)WSTOPSIG(st));
}

/* One stop that is not ours to keep: pass it on.  false: an exec stop to hold. */
static bool pass_on(pid_t pid, int st, void (*at_exit)(void *), void *ctx)
{
	int event = st >> 16;

	if (our_hold(pid, st)) {
		if (hold_handler)
			hold_handler(hold_ctx);
		ptrace(PTRACE_CONT, pid, 0, 0);
		return true;
	}
	if (event == PTRACE_EVENT_EXEC && hold_execs) {
		if (!execs_to_skip)
			return false;
		execs_to_skip--;
	} else if (event == PTRACE_EVENT_EXIT && at_exit) {
		at_exit(ctx);
	}
	child__pass(pid, st);
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

/* Debug registers: DR0 holds the address; DR7's L0 bit enables it for
 * execution (its R/W0 and LEN0 bits zero). */
#define DR_OFF(n) (offsetof(struct user, u_debugreg) + (n) * sizeof(long))
#define DR7_L0 1UL

static int set_hw_break(pid_t pid, uint64_t addr, bool on)
{
	if (on && ptrace(PTRACE_POKEUSER, pid, (void *)DR_OFF(0), (void *)addr))
		return -errno;
	if (ptrace(PTRACE_POKEUSER, pid, (void *)DR_OFF(7), (void *)(on ? DR7_L0 : 0)))
		return -errno;
	return 0;
}

/*
 * A hardware breakpoint, not an int3: a uprobe anywhere on the same
 * instruction of the same file (our own capture of another process, or any
 * other tracer's: _dl_debug_state is probed) would take the int3 as its
 * own and remove it.  The kernel sets RF on the hit, so continuing runs the
 * instruction rather than stopping again.
 */
int child__run_to(pid_t pid, uint64_t addr, bool (*at)(void *), void *ctx, int *status)
{
	struct user_regs_struct regs;
	int st, sig = 0, hits = 0, err;

	err = set_hw_break(pid, addr, true);
	if (err)
		return err;
	for (;;) {
		if (ptrace(PTRACE_CONT, pid, 0, (void *)(long)sig)) {
			err = -errno;
			break;
		}
		sig = 0;
		st = next_stop(pid, status);
		if (st < 0)
			return st;
		if (!WIFSTOPPED(st))
			continue;
		if (st >> 16 || WSTOPSIG(st) != SIGTRAP) {
			/* Not our breakpoint: a signal goes on to the program. */
			if (fork_event(pid, st))
				sig = 0;
			else if (!(st >> 16))
				sig = WSTOPSIG(st);
			continue;
		}
		if (ptrace(PTRACE_GETREGS, pid, 0, &regs)) {
			err = -errno;
			break;
		}
		if (regs.rip != addr) {
			sig = SIGTRAP;	/* the program's own */
			continue;
		}
		if (at(ctx) || ++hits >= MAX_HITS) {
			err = hits < MAX_HITS ? 0 : -ENOENT;
			break;
		}
	}
	set_hw_break(pid, addr, false);
	return err;
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
		if (st >> 16) {
			/* Ours, or another event that came first (a fork: the
			 * child is the handler's). */
			fork_event(pid, st);
			ptrace(PTRACE_DETACH, pid, 0, 0);
			return;
		}
		/* A signal arrived first: hand it over while letting go (not
		 * a hold: its tables no longer matter). */
		ptrace(PTRACE_DETACH, pid, 0,
		       our_hold(pid, st) ? NULL : (void *)(long)WSTOPSIG(st));
		return;
	}
}
