/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_REMOTE_H
#define DT_REMOTE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Running code in another process with ptrace, without gdb (CRIU's compel
 * and Orbit's way): every thread seized and stopped, one of them borrowed
 * for calls, its registers, extended state and signal mask saved first and
 * put back at the end, so it resumes where it was (an interrupted system
 * call restarts).  x86-64 only.
 */
struct remote;

/*
 * Seize and stop every thread of pid (PTRACE_SEIZE + PTRACE_INTERRUPT,
 * /proc/PID/task read again until no new thread appears), pick the one to
 * borrow (in_unsafe(ctx, pc): pc is code where it may hold the allocator's
 * or the loader's lock; NULL: any) and give it a scratch stack and code
 * page.  held: a thread we trace already, stopped (a launched command):
 * used as it is, and left so, stopped and traced.  NULL with errno set and the reason said.
 */
struct remote *remote__attach(pid_t pid, pid_t held, bool (*in_unsafe)(void *ctx, uint64_t pc),
			      void *ctx);
/* A system call in the target; its return (-errno as the kernel says). */
int64_t remote__syscall(struct remote *r, long nr, uint64_t a1, uint64_t a2, uint64_t a3,
			uint64_t a4, uint64_t a5, uint64_t a6);
/* Call fn(a1..a4) in the borrowed thread; *ret: its rax.  The other threads
 * run meanwhile (a lock one of them holds is let go, gdb's all-stop way).
 * 0 or -errno (-ETIMEDOUT after timeout_ms; -EFAULT: it faulted). */
int remote__call(struct remote *r, uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3,
		 uint64_t a4, unsigned int timeout_ms, uint64_t *ret);
/* Scratch memory in the target for arguments (remote__attach's page). */
uint64_t remote__scratch(const struct remote *r, size_t *len);
int remote__write(struct remote *r, uint64_t addr, const void *buf, size_t len);
int remote__read(struct remote *r, uint64_t addr, void *buf, size_t len);
/* Put everything back and let every thread go. */
void remote__detach(struct remote *r);

#endif
