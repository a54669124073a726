// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include "child.h"
#include "log.h"

int child__seize(pid_t pid)
{
	if (ptrace(PTRACE_SEIZE, pid, 0, (void *)(long)PTRACE_O_TRACEEXIT)) {
		int err = -errno;

		vlog("cannot watch PID %d for its exit (%s): symbols of a program that exits "
		     "quickly may be missing\n", pid, strerror(-err));
		return err;
	}
	return 0;
}

bool child__on_sigchld(pid_t pid, void (*at_exit)(void *), void *ctx, int *status)
{
	int st, sig, event;

	while (waitpid(pid, &st, WNOHANG | __WALL) == pid) {
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			*status = st;
			return true;
		}
		if (!WIFSTOPPED(st))
			continue;
		sig = WSTOPSIG(st);
		event = st >> 16;
		if (event == PTRACE_EVENT_EXIT) {
			at_exit(ctx);
			ptrace(PTRACE_CONT, pid, 0, 0);
		} else if (event == PTRACE_EVENT_STOP) {
			/* group-stop (SIGSTOP & co.): stay stopped, as without us */
			ptrace(PTRACE_LISTEN, pid, 0, 0);
		} else {
			ptrace(PTRACE_CONT, pid, 0, (void *)(long)sig);
		}
	}
	return false;
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
