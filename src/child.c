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
	/* TRACESYSGOOD: child__run_to_loaded()'s system-call stops are told
	 * from a SIGTRAP of the program's own. */
	long opts = PTRACE_O_TRACEEXIT | PTRACE_O_TRACESYSGOOD |
		    (exec_stops ? PTRACE_O_TRACEEXEC : 0);

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

/*
 * Resume with op (and sig) until the next stop for SIGTRAP (a breakpoint, a
 * step, a system call: SIGTRAP | 0x80) that is not an event; other signals
 * are passed on, forks told.  The stop's status, or -ESRCH once gone.
 */
static int resume_until(pid_t pid, enum __ptrace_request op, int sig, int *status)
{
	int st;

	for (;;) {
		if (ptrace(op, pid, 0, (void *)(long)sig))
			return -errno;
		st = next_stop(pid, status);
		if (st < 0)
			return st;
		if (!WIFSTOPPED(st))
			continue;
		if (!(st >> 16) && (WSTOPSIG(st) & ~0x80) == SIGTRAP)
			return st;
		sig = fork_event(pid, st) || st >> 16 ? 0 : WSTOPSIG(st);
	}
}

/* An int3 of ours at addr, in the program's own copy of the page; *word:
 * what was there. */
static int break_set(pid_t pid, uint64_t addr, long *word)
{
	errno = 0;
	*word = ptrace(PTRACE_PEEKTEXT, pid, (void *)addr, 0);
	if (errno)
		return -errno;
	if (ptrace(PTRACE_POKETEXT, pid, (void *)addr, (void *)((*word & ~0xffL) | 0xcc)))
		return -errno;
	return 0;
}

/* Stopped by a SIGTRAP: at our int3 at addr?  Then back to addr, the int3
 * gone, and 1.  0: another trap (the program's own). */
static int break_hit(pid_t pid, uint64_t addr, long word)
{
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETREGS, pid, 0, &regs))
		return -errno;
	if (regs.rip != addr + 1)
		return 0;
	regs.rip = addr;
	if (ptrace(PTRACE_POKETEXT, pid, (void *)addr, (void *)word) ||
	    ptrace(PTRACE_SETREGS, pid, 0, &regs))
		return -errno;
	return 1;
}

/* glibc's <link.h> r_state values. */
#define RT_CONSISTENT 0
#define RT_ADD 1

static int r_state(pid_t pid, const struct child_loader *ld, int32_t *state)
{
	long word;

	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, pid, (void *)ld->r_state, 0);
	if (errno)
		return -errno;
	*state = (int32_t)word;
	return 0;
}

/*
 * glibc's dl_main says RT_ADD and calls _dl_debug_state() before it maps
 * the libraries, and RT_CONSISTENT and calls it again once they are
 * relocated and libc is initialised, its last act but unmapping ld.so.cache
 * before _dl_init runs the constructors.  An int3 of ours on
 * _dl_debug_state, not a hardware breakpoint: some machines (VMs) accept
 * the debug registers and never trap.  But a uprobe on that instruction of
 * ld.so, ours for another process included, takes our int3 as its own: the
 * kernel runs it as the uprobe's and we never see it.  So the child also
 * stops at each system call, and the first one in RT_CONSISTENT after
 * RT_ADD holds it if the int3 did not: that munmap, made from ld.so's code,
 * or, where no library came through the cache, a later call (said in -v).
 */
int child__run_to_loaded(pid_t pid, const struct child_loader *ld, int *status)
{
	struct __ptrace_syscall_info si;
	bool adding = false;
	int st, sig = 0, hit, err;
	int32_t state;
	long word;

	err = break_set(pid, ld->brk, &word);
	if (err)
		return err;
	for (;;) {
		st = resume_until(pid, PTRACE_SYSCALL, sig, status);
		sig = hit = 0;
		if (st == -ESRCH)
			return st;
		err = st < 0 ? st : r_state(pid, ld, &state);
		if (err)
			break;
		if (WSTOPSIG(st) == SIGTRAP) {
			hit = break_hit(pid, ld->brk, word);
			if (hit < 0) {
				err = hit;
				break;
			}
			if (!hit) {
				sig = SIGTRAP;	/* the program's own */
				continue;
			}
		} else if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(si), &si) <= 0) {
			err = -errno;
			break;
		} else if (si.op != PTRACE_SYSCALL_INFO_ENTRY) {
			continue;
		}
		if (adding && state == RT_CONSISTENT) {
			if (hit)
				return 0;	/* at the int3, gone */
			break;
		}
		adding |= state == RT_ADD;
		if (!hit)
			continue;
		/* On, over the instruction, and the int3 back. */
		st = resume_until(pid, PTRACE_SINGLESTEP, 0, status);
		if (st == -ESRCH)
			return st;
		err = st < 0 ? st : break_set(pid, ld->brk, &word);
		if (err)
			return err;
	}
	if (ptrace(PTRACE_POKETEXT, pid, (void *)ld->brk, (void *)word) && !err)
		err = -errno;
	if (err)
		return err;
	if (si.instruction_pointer < ld->lo || si.instruction_pointer >= ld->hi)
		vlog("PID %d held after its dynamic linker was done, at its first system call "
		     "since: a constructor may have run before\n", pid);
	else
		dlog("PID %d: no stop at our int3 on _dl_debug_state (a uprobe there?): held "
		     "at its system call %llu\n", pid, (unsigned long long)si.entry.nr);
	/* Out of the call to the next instruction: a stop like a breakpoint's,
	 * where registers may be changed (inject.c's remote calls) without the
	 * kernel's system call taking them. */
	st = resume_until(pid, PTRACE_SYSCALL, 0, status);
	if (st >= 0)
		st = resume_until(pid, PTRACE_SINGLESTEP, 0, status);
	return st < 0 ? st : 0;
}

/* Only used at an executable's entry point, where no uprobe is expected
 * (see child__run_to_loaded() for why that matters). */
int child__run_to(pid_t pid, uint64_t addr, int *status)
{
	int st, sig = 0, hit = 0, err;
	long word;

	err = break_set(pid, addr, &word);
	if (err)
		return err;
	while (!hit) {
		st = resume_until(pid, PTRACE_CONT, sig, status);
		if (st == -ESRCH)
			return st;
		hit = st < 0 ? st : break_hit(pid, addr, word);
		sig = SIGTRAP;	/* if not ours: the program's own */
	}
	if (hit < 0)
		ptrace(PTRACE_POKETEXT, pid, (void *)addr, (void *)word);
	return hit < 0 ? hit : 0;
}
#else
int child__run_to_loaded(pid_t pid, const struct child_loader *ld, int *status)
{
	return -ENOTSUP;
}

int child__run_to(pid_t pid, uint64_t addr, int *status)
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
