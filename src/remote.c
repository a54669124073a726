// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Remote calls with ptrace (see remote.h).  What the code follows, from
 * CRIU's compel, Orbit, gdb and kubo/injector (docs: /work/shared/inject.md):
 *   - every thread is seized (no SIGSTOP) and interrupted: a
 *     PTRACE_EVENT_STOP; a thread met in a signal-delivery-stop keeps its
 *     signal, delivered when we let it go;
 *   - the borrowed thread's general registers, NT_X86_XSTATE and signal
 *     mask are saved; for the calls its signals are all blocked, orig_rax is
 *     -1 (the kernel must not rewind a system call it was in onto our code:
 *     restoring the saved registers at the end lets that call restart), the
 *     stack is a private one, 16-aligned at the call, so the red zone and a
 *     small signal stack are never touched;
 *   - each call is a real call (`call *%rax; int3`) in a page of our own, and
 *     the trap at its int3 ends it; a fault ends it too, reported;
 *   - the first system calls (mapping that page) run from two bytes written
 *     over the thread's own pc while every thread is stopped, then put back.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <elf.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include "log.h"
#include "remote.h"
#include "util.h"

#define SCRATCH_LEN (1024 * 1024)	/* code page, data page, then the stack */
#define CODE_SYSCALL 0			/* syscall; int3 */
#define CODE_CALL 8			/* call *%rax; int3 */
#define XSTATE_MAX (64 * 1024)
#define PICK_ROUNDS 200

struct rthread {
	pid_t tid;
	int sig;		/* met in a signal-delivery-stop: delivered at detach */
	bool running;		/* let go during a call */
	bool gone;
	bool held;		/* traced and stopped before us: left so */
};

struct remote {
	pid_t pid;
	struct rthread *th;
	int n, cap;
	struct rthread *me;		/* the borrowed thread */
	struct user_regs_struct saved;
	uint8_t *xstate;
	size_t xlen;
	uint64_t sigmask;
	bool have_regs, have_mask;
	int mem;			/* /proc/PID/mem */
	uint64_t scratch;		/* 0: not mapped yet */
	sigset_t our_mask;		/* ours before the session */
};

int remote__read(struct remote *r, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = pread(r->mem, buf, len, (off_t)addr);

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

int remote__write(struct remote *r, uint64_t addr, const void *buf, size_t len)
{
	ssize_t n = pwrite(r->mem, buf, len, (off_t)addr);

	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

static struct rthread *find(struct remote *r, pid_t tid)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (r->th[i].tid == tid)
			return &r->th[i];
	return NULL;
}

/* Until t stops (the interrupt's stop, or a signal's first). */
static int wait_stop(struct rthread *t)
{
	int st;

	for (;;) {
		if (waitpid(t->tid, &st, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			t->gone = true;
			return -ESRCH;
		}
		if (st >> 16 == PTRACE_EVENT_STOP)
			return 0;
		if (st >> 16 == 0) {
			/* A signal on its way: delivered when we let go (the
			 * interrupt's stop is still to come once it runs). */
			if (!t->sig)
				t->sig = WSTOPSIG(st);
			return 0;
		}
		ptrace(PTRACE_CONT, t->tid, 0, 0);
	}
}

/* A thread on its way out: ptrace refuses it with EPERM, not ESRCH. */
static bool exiting(pid_t pid, pid_t tid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
}

static int seize(struct remote *r, pid_t tid)
{
	struct rthread *t;
	int err;

	if (find(r, tid))
		return 0;
	if (r->n == r->cap) {
		int cap = r->cap ? 2 * r->cap : 64;
		struct rthread *th = realloc(r->th, (size_t)cap * sizeof(*th));

		if (!th)
			return -ENOMEM;
		r->th = th;
		r->cap = cap;
	}
	if (ptrace(PTRACE_SEIZE, tid, 0, 0)) {
		err = -errno;
		/* Exited meanwhile (a thread that comes and goes). */
		return err == -ESRCH || (err == -EPERM && exiting(r->pid, tid)) ? 0 : err;
	}
	t = &r->th[r->n++];
	*t = (struct rthread){ .tid = tid };
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0))
		return errno == ESRCH ? 0 : -errno;
	err = wait_stop(t);
	return err == -ESRCH ? 0 : err;
}

/* Every thread, read again until a pass finds none new (a thread may
 * create another while we stop them). */
static int seize_all(struct remote *r)
{
	char path[64];
	int err, added, pass;

	snprintf(path, sizeof(path), "/proc/%d/task", r->pid);
	for (pass = 0; pass < 100; pass++) {
		DIR *d = opendir(path);
		struct dirent *e;

		if (!d)
			return -errno;
		added = 0;
		while ((e = readdir(d))) {
			pid_t tid = (pid_t)atoi(e->d_name);

			if (tid <= 0 || find(r, tid))
				continue;
			err = seize(r, tid);
			if (err) {
				closedir(d);
				return err;
			}
			added++;
		}
		closedir(d);
		if (!added)
			return 0;
	}
	return -EAGAIN;
}

/* System calls a thread waits in for something else, holding no lock of
 * the allocator's or the loader's (a futex wait waits for one, holds none
 * that it needs again). */
static bool blocking_syscall(long nr)
{
	static const long nrs[] = { SYS_read, SYS_poll, SYS_select, SYS_pause, SYS_nanosleep,
				    SYS_wait4, SYS_accept, SYS_recvfrom, SYS_recvmsg, SYS_futex,
				    SYS_epoll_wait, SYS_clock_nanosleep, SYS_rt_sigsuspend,
				    SYS_rt_sigtimedwait, SYS_epoll_pwait, SYS_ppoll,
				    SYS_pselect6, SYS_accept4, SYS_waitid, SYS_msgrcv,
				    SYS_semtimedop, SYS_epoll_pwait2 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(nrs); i++)
		if (nrs[i] == nr)
			return true;
	return false;
}

static struct rthread *pick(struct remote *r, bool (*in_unsafe)(void *, uint64_t), void *ctx)
{
	struct user_regs_struct regs;
	int i;

	for (i = 0; i < r->n; i++) {
		struct rthread *t = &r->th[i];

		if (t->gone || t->sig || ptrace(PTRACE_GETREGS, t->tid, 0, &regs))
			continue;
		if (!in_unsafe || ((long)regs.orig_rax >= 0 && blocking_syscall((long)regs.orig_rax)) ||
		    !in_unsafe(ctx, regs.rip))
			return t;
	}
	return NULL;
}

/* Let every thread run a moment and stop them again: one may leave the
 * allocator or a loader lock meanwhile. */
static void nudge(struct remote *r)
{
	struct timespec ms = { 0, 1000 * 1000 };
	int i;

	for (i = 0; i < r->n; i++)
		if (!r->th[i].gone && !r->th[i].sig && !r->th[i].held)
			ptrace(PTRACE_CONT, r->th[i].tid, 0, 0);
	nanosleep(&ms, NULL);
	for (i = 0; i < r->n; i++) {
		if (r->th[i].gone || r->th[i].sig || r->th[i].held)
			continue;
		if (ptrace(PTRACE_INTERRUPT, r->th[i].tid, 0, 0) || wait_stop(&r->th[i]))
			r->th[i].gone = true;
	}
}

static int save_state(struct remote *r)
{
	struct iovec iov;

	if (ptrace(PTRACE_GETREGS, r->me->tid, 0, &r->saved))
		return -errno;
	r->have_regs = true;
	r->xstate = malloc(XSTATE_MAX);
	if (!r->xstate)
		return -ENOMEM;
	iov = (struct iovec){ r->xstate, XSTATE_MAX };
	if (ptrace(PTRACE_GETREGSET, r->me->tid, NT_X86_XSTATE, &iov) == 0)
		r->xlen = iov.iov_len;
	if (ptrace(PTRACE_GETSIGMASK, r->me->tid, sizeof(r->sigmask), &r->sigmask) == 0) {
		uint64_t all = ~0ULL;

		r->have_mask = true;
		if (ptrace(PTRACE_SETSIGMASK, r->me->tid, sizeof(all), &all))
			return -errno;
	}
	return 0;
}

/*
 * Run the borrowed thread from regs until its int3 at stop_pc.  Others'
 * stops meanwhile are passed on (they run, during a call); a signal for
 * the borrowed thread waits for the detach.
 */
static int run_to(struct remote *r, struct user_regs_struct *regs, uint64_t stop_pc,
		  unsigned int timeout_ms)
{
	uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	struct timespec nap = { 0, 100 * 1000 };
	struct rthread *t;
	int st, sig;
	pid_t tid;

	regs->orig_rax = (unsigned long)-1;
	regs->eflags &= ~0x500UL;	/* TF, DF */
	if (ptrace(PTRACE_SETREGS, r->me->tid, 0, regs) || ptrace(PTRACE_CONT, r->me->tid, 0, 0))
		return -errno;
	for (;;) {
		tid = waitpid(-1, &st, __WALL | WNOHANG);
		if (tid == 0) {
			if (mono_ns() > deadline)
				goto timeout;
			nanosleep(&nap, NULL);
			continue;
		}
		if (tid < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		t = find(r, tid);
		if (!t)
			continue;
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			t->gone = true;
			if (t == r->me)
				return -ESRCH;
			continue;
		}
		sig = st >> 16 ? 0 : WSTOPSIG(st);
		if (t != r->me) {
			ptrace(PTRACE_CONT, tid, 0, sig == SIGSTOP ? 0 : sig);
			continue;
		}
		if (sig == SIGTRAP) {
			if (ptrace(PTRACE_GETREGS, tid, 0, regs))
				return -errno;
			if (regs->rip == stop_pc)
				return 0;
		}
		if (sig == SIGTRAP || sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
		    sig == SIGFPE || sig == SIGSYS) {
			ptrace(PTRACE_GETREGS, tid, 0, regs);
			elog("the remote call in PID %d stopped on signal %d (%s) at 0x%llx%s\n",
			     r->pid, sig, strsignal(sig), (unsigned long long)regs->rip,
			     sig == SIGSYS ? ": a seccomp filter forbids that system call" : "");
			return sig == SIGSYS ? -EPERM : -EFAULT;
		}
		if (sig && !t->sig)
			t->sig = sig;
		ptrace(PTRACE_CONT, tid, 0, 0);
	}
timeout:
	ptrace(PTRACE_INTERRUPT, r->me->tid, 0, 0);
	wait_stop(r->me);
	return -ETIMEDOUT;
}

int64_t remote__syscall(struct remote *r, long nr, uint64_t a1, uint64_t a2, uint64_t a3,
			uint64_t a4, uint64_t a5, uint64_t a6)
{
	struct user_regs_struct regs = r->saved;
	uint64_t at = r->scratch ? r->scratch + CODE_SYSCALL : r->saved.rip;
	int err;

	regs.rax = (unsigned long)nr;
	regs.rdi = a1;
	regs.rsi = a2;
	regs.rdx = a3;
	regs.r10 = a4;
	regs.r8 = a5;
	regs.r9 = a6;
	regs.rip = at;
	err = run_to(r, &regs, at + 3, 2000);
	return err ? err : (int64_t)regs.rax;
}

/* A system call before our page exists: from `syscall; int3` over the
 * thread's own pc, put back after.  Every thread is stopped. */
static int64_t syscall_at_pc(struct remote *r, long nr, uint64_t a1, uint64_t a2, uint64_t a3,
			     uint64_t a4, uint64_t a5, uint64_t a6)
{
	static const uint8_t code[] = { 0x0f, 0x05, 0xcc };
	uint8_t orig[sizeof(code)];
	uint64_t scratch = r->scratch;
	int64_t ret;
	int err;

	err = remote__read(r, r->saved.rip, orig, sizeof(orig));
	if (!err)
		err = remote__write(r, r->saved.rip, code, sizeof(code));
	if (err)
		return err;
	r->scratch = 0;
	ret = remote__syscall(r, nr, a1, a2, a3, a4, a5, a6);
	r->scratch = scratch;
	err = remote__write(r, r->saved.rip, orig, sizeof(orig));
	return err ? err : ret;
}

static int map_scratch(struct remote *r)
{
	static const uint8_t code[] = { 0x0f, 0x05, 0xcc, 0x90, 0x90, 0x90, 0x90, 0x90,
					0xff, 0xd0, 0xcc };
	int64_t addr;
	int err;

	addr = syscall_at_pc(r, SYS_mmap, 0, SCRATCH_LEN, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	if (addr < 0 && addr > -4096)
		return (int)addr;
	err = remote__write(r, (uint64_t)addr, code, sizeof(code));
	if (!err)
		err = (int)syscall_at_pc(r, SYS_mprotect, (uint64_t)addr, 4096,
					 PROT_READ | PROT_EXEC, 0, 0, 0);
	r->scratch = (uint64_t)addr;
	return err;
}

uint64_t remote__scratch(const struct remote *r, size_t *len)
{
	*len = 4096;
	return r->scratch + 4096;
}

int remote__call(struct remote *r, uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3,
		 uint64_t a4, unsigned int timeout_ms, uint64_t *ret)
{
	struct user_regs_struct regs = r->saved;
	int i, err;

	/* The others run through the call: one may hold a lock it needs. */
	for (i = 0; i < r->n; i++) {
		struct rthread *t = &r->th[i];

		if (t == r->me || t->gone || t->running || t->held)
			continue;
		if (ptrace(PTRACE_CONT, t->tid, 0, t->sig) == 0) {
			t->sig = 0;
			t->running = true;
		}
	}
	regs.rax = fn;
	regs.rdi = a1;
	regs.rsi = a2;
	regs.rdx = a3;
	regs.rcx = a4;
	regs.rip = r->scratch + CODE_CALL;
	/* 16-aligned before the call pushes its return address (psABI). */
	regs.rsp = (r->scratch + SCRATCH_LEN - 256) & ~15ULL;
	err = run_to(r, &regs, r->scratch + CODE_CALL + 3, timeout_ms);
	*ret = regs.rax;
	return err;
}

struct remote *remote__attach(pid_t pid, pid_t held, bool (*in_unsafe)(void *ctx, uint64_t pc),
			      void *ctx)
{
	struct remote *r = calloc(1, sizeof(*r));
	sigset_t ends;
	char path[64];
	int err, round;

	if (!r)
		return NULL;
	/* Ctrl-C, SIGTERM and SIGHUP wait until every thread has its own state
	 * back: ended by one mid-call, we would leave a thread running our code
	 * with nothing to trap its return (the target crashed).  Delivered by
	 * remote__detach(), or taken by the capture's signalfd. */
	sigemptyset(&ends);
	sigaddset(&ends, SIGINT);
	sigaddset(&ends, SIGTERM);
	sigaddset(&ends, SIGHUP);
	sigprocmask(SIG_BLOCK, &ends, &r->our_mask);
	r->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	r->mem = open(path, O_RDWR | O_CLOEXEC);
	if (r->mem < 0) {
		err = -errno;
		elog("cannot open %s: %s\n", path, strerror(-err));
		goto cleanup;
	}
	if (held) {
		r->th = calloc(64, sizeof(*r->th));
		if (!r->th) {
			err = -ENOMEM;
			goto cleanup;
		}
		r->cap = 64;
		r->th[r->n++] = (struct rthread){ .tid = held, .held = true };
	}
	err = seize_all(r);
	if (err) {
		elog("cannot stop the threads of PID %d with ptrace: %s%s\n", pid, strerror(-err),
		     err == -EPERM ? " (kernel.yama.ptrace_scope, a seccomp or LSM policy, or "
				     "another tracer)" : "");
		goto cleanup;
	}
	for (round = 0; round < PICK_ROUNDS && !(r->me = pick(r, in_unsafe, ctx)); round++)
		nudge(r);
	if (!r->me) {
		err = -EBUSY;
		elog("no thread of PID %d could be borrowed: each was inside the allocator or the "
		     "dynamic linker in %d tries\n", pid, PICK_ROUNDS);
		goto cleanup;
	}
	dlog("borrowing thread %d of PID %d\n", r->me->tid, pid);
	err = save_state(r);
	if (!err)
		err = map_scratch(r);
	if (err)
		elog("cannot map a page in PID %d: %s\n", pid, strerror(-err));
cleanup:
	if (err) {
		remote__detach(r);
		errno = -err;
		return NULL;
	}
	return r;
}

void remote__detach(struct remote *r)
{
	struct iovec iov;
	int i;

	if (!r)
		return;
	/* Stopped again, all of them: detaching needs it, and so does the
	 * unmap below, run from the borrowed thread's own pc. */
	for (i = 0; i < r->n; i++) {
		struct rthread *t = &r->th[i];

		if (t->running && !t->gone) {
			if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) || wait_stop(t))
				t->gone = true;
			t->running = false;
		}
	}
	if (r->me && !r->me->gone && r->have_regs) {
		if (r->scratch)
			syscall_at_pc(r, SYS_munmap, r->scratch, SCRATCH_LEN, 0, 0, 0, 0);
		ptrace(PTRACE_SETREGS, r->me->tid, 0, &r->saved);
		if (r->xlen) {
			iov = (struct iovec){ r->xstate, r->xlen };
			ptrace(PTRACE_SETREGSET, r->me->tid, NT_X86_XSTATE, &iov);
		}
		if (r->have_mask)
			ptrace(PTRACE_SETSIGMASK, r->me->tid, sizeof(r->sigmask), &r->sigmask);
	}
	for (i = 0; i < r->n; i++)
		if (!r->th[i].gone && !r->th[i].held)
			ptrace(PTRACE_DETACH, r->th[i].tid, 0, r->th[i].sig);
	if (r->mem >= 0)
		close(r->mem);
	sigprocmask(SIG_SETMASK, &r->our_mask, NULL);
	free(r->xstate);
	free(r->th);
	free(r);
}
