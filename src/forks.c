// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "child.h"
#include "exechold.h"
#include "forks.h"
#include "interrupt.h"
#include "log.h"
#include "util.h"

#define MAX_ARGS 40

enum ready { READY_WAIT, READY_YES, READY_NO };

/* A child process of the traced tree. */
struct proc {
	pid_t pid, parent;
	/* Its current capture writes a byte here once its probes are placed,
	 * another once they are gone (or it exits: EOF). */
	int ready_fd;
	enum ready ready;
	bool probes_gone;	/* no capture's probes are in it */
	bool exec_pending;	/* held at an exec stop until they are */
	unsigned int programs;	/* captures started for it: the next file's number */
	uint64_t t_fork;
	bool stopped;		/* launched: its first stop came */
	bool held;		/* launched: stopped until its capture is ready */
	bool vfork;		/* traced from its exec, not before */
	bool gone;
	bool traced;		/* one of its captures got ready */
};

/* A dhat-trace started here, capturing one program of one child. */
struct sub {
	pid_t pid, target;
	bool done;
	int signals;		/* SIGINTs sent to it */
};

struct forks {
	const struct dt_config *cfg;
	bool launched, finishing;
	uint64_t deadline;	/* -d: when the run ends (mono_ns), 0: none */
	/* Pointers: a fork seen while one is handled adds to the array. */
	struct proc **procs;
	size_t nr_procs, cap_procs;
	struct sub *subs;
	size_t nr_subs, cap_subs;
	unsigned long failed_subs;
};

struct forks *forks__new(const struct dt_config *cfg, bool launched)
{
	struct forks *f = calloc(1, sizeof(*f));

	if (!f) {
		elog("out of memory\n");
		return NULL;
	}
	f->cfg = cfg;
	f->launched = launched;
	if (cfg->duration_ns)
		f->deadline = mono_ns() + cfg->duration_ns;
	if (launched)
		child__on_fork(forks__on_fork, f);
	return f;
}

static const char *unwind_name(int mode)
{
	return mode == DT_UNWIND_FP ? "fp" : mode == DT_UNWIND_DWARF ? "dwarf" : "auto";
}

/* The child's capture inherits what shapes a capture; it is told whose
 * child it is (log prefix, file names) and where to say it is ready. */
static void sub_args(const struct forks *f, pid_t pid, const char *output, char **argv,
		     char bufs[][32])
{
	const struct dt_config *cfg = f->cfg;
	int n = 0, b = 0, i;

#define ARG(s) (argv[n++] = (char *)(s))
#define NUM(fmt, v) (snprintf(bufs[b], 32, fmt, v), ARG(bufs[b++]))
	ARG("dhat-trace");
	ARG("-p");
	NUM("%d", pid);
	ARG("-o");
	ARG(output);
	ARG("--fork-of");
	ARG(cfg->fork_of ? cfg->fork_of : cfg->output);
	ARG("--ready-fd");
	ARG("3");
	if (cfg->ring_size_given) {
		ARG("--ring-size");
		NUM("%llu", (unsigned long long)cfg->ring_size);
	}
	/* Each capture has the cap of its own. */
	ARG("--max-memory");
	NUM("%llu", (unsigned long long)cfg->max_memory);
	ARG("--unwind");
	ARG(unwind_name(cfg->unwind));
	ARG("--max-frames");
	NUM("%u", cfg->max_frames);
	ARG("-t");
	NUM("%u", cfg->top);
	ARG("-i");
	NUM("%llums", (unsigned long long)(cfg->interval_ns / NSEC_PER_MSEC));
	if (f->deadline) {
		uint64_t now = mono_ns();

		ARG("-d");
		NUM("%llums", (unsigned long long)(f->deadline > now + NSEC_PER_MSEC ?
			(f->deadline - now) / NSEC_PER_MSEC : 1));
	}
	if (cfg->verbosity < 0)
		ARG("-q");
	for (i = 0; i < cfg->verbosity && i < 3; i++)
		ARG("-v");
	if (cfg->probe_at_entry)
		ARG("--probe-at-entry");
	/* Attached, nobody else sees its children or its execs: it follows
	 * them itself.  Launched, we do (ptrace). */
	if (!f->launched) {
		ARG("--follow-forks");
		if (cfg->follow_exec)
			ARG("--follow-exec");
	}
	argv[n] = NULL;
#undef NUM
#undef ARG
}

static int add_sub(struct forks *f, pid_t sub, pid_t target)
{
	int err = array_reserve(&f->subs, &f->cap_subs, f->nr_subs + 1, sizeof(*f->subs));

	if (err)
		return err;
	f->subs[f->nr_subs++] = (struct sub){ .pid = sub, .target = target };
	return 0;
}

/* Start the capture of p's program into output: 0, or -errno (reported;
 * p stays untraced). */
static int start_capture(struct forks *f, struct proc *p, const char *output)
{
	char *argv[MAX_ARGS], bufs[8][32];
	sigset_t sigs;
	int fds[2], err;
	pid_t pid;

	sub_args(f, p->pid, output, argv, bufs);
	if (pipe2(fds, O_CLOEXEC)) {
		err = -errno;
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		goto fail;
	}
	if (pid == 0) {
		/* Ended by us (one SIGINT, see forks__finish), not by the
		 * terminal's Ctrl-C, which is ours to pass on; nor left behind. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		/* Taken by its loop's signalfd, even one sent while it starts. */
		sigemptyset(&sigs);
		sigaddset(&sigs, SIGINT);
		sigaddset(&sigs, SIGTERM);
		sigaddset(&sigs, SIGHUP);
		sigprocmask(SIG_BLOCK, &sigs, NULL);
		/* dup2 onto itself would keep O_CLOEXEC. */
		if (fds[1] == 3 ? fcntl(3, F_SETFD, 0) == 0 : dup2(fds[1], 3) == 3)
			execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	if (p->ready_fd >= 0)
		close(p->ready_fd);
	p->ready_fd = fds[0];
	p->ready = READY_WAIT;
	p->probes_gone = false;
	p->programs++;
	err = add_sub(f, pid, p->pid);
	if (err)
		kill(pid, SIGTERM);	/* a capture we could not wait for */
	return err;
fail:
	elog("cannot start the capture of PID %d: %s\n", p->pid, strerror(-err));
	p->ready = READY_NO;
	return err;
}

/* FILE.PID.json, and FILE.PID.N.json for its N-th program. */
static void output_of(const struct forks *f, const struct proc *p, char *buf, size_t len)
{
	char one[PATH_MAX];

	numbered_output(f->cfg->fork_of ? f->cfg->fork_of : f->cfg->output, (unsigned long)p->pid,
			one, sizeof(one));
	numbered_output(one, p->programs, buf, len);
}

void forks__on_fork(void *ctx, pid_t parent, pid_t child, bool vfork)
{
	struct forks *f = ctx;
	char output[PATH_MAX];
	struct proc *p;

	if (array_reserve(&f->procs, &f->cap_procs, f->nr_procs + 1, sizeof(*f->procs))) {
		/* Not held: it runs on, untraced and uncounted but for this line. */
		elog("out of memory: PID %d (child of %d) is not traced\n", child, parent);
		if (f->launched)
			child__release(child);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		elog("out of memory: PID %d (child of %d) is not traced\n", child, parent);
		if (f->launched)
			child__release(child);
		return;
	}
	f->procs[f->nr_procs++] = p;
	*p = (struct proc){ .pid = child, .parent = parent, .ready_fd = -1, .vfork = vfork,
			    .t_fork = mono_ns(), .ready = READY_NO, .probes_gone = true };
	if (f->finishing || (vfork && f->launched))
		return;
	output_of(f, p, output, sizeof(output));
	if (!start_capture(f, p, output))
		p->held = f->launched;
}

/* Its capture placed its probes (a byte), took them away (another), or
 * ended (EOF). */
static void poll_ready(struct proc *p)
{
	char c;
	ssize_t n;

	while (p->ready_fd >= 0) {
		n = read(p->ready_fd, &c, 1);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n == 1 && p->ready == READY_WAIT) {
			p->ready = READY_YES;
			p->traced = true;
			continue;
		}
		if (p->ready == READY_WAIT)
			p->ready = READY_NO;
		p->probes_gone = true;
		close(p->ready_fd);
		p->ready_fd = -1;
	}
}

/* An exec stop: true if p is held for the capture of its new program. */
static bool on_exec(struct forks *f, struct proc *p)
{
	if (!(p->vfork && !p->programs) && !f->cfg->follow_exec) {
		ilog("PID %d (child of %d) replaced its program (exec): its capture ends there; "
		     "the new program runs on untraced (--follow-exec traces it)\n", p->pid,
		     p->parent);
		return false;
	}
	/* The old program's capture ends at the exec on its own; its probes
	 * must be gone first, or ld.so's would take our breakpoint there. */
	p->held = p->exec_pending = true;
	return true;
}

/* Held at its exec stop, no probes left in it: on to where its libraries
 * are mapped and none of their code has run, where the new program's
 * capture starts. */
static void start_program(struct forks *f, struct proc *p)
{
	char output[PATH_MAX];
	int status = 0;

	p->exec_pending = false;
	if (exechold__to_loader(p->pid, &status) == -ESRCH) {
		p->gone = true;
		return;
	}
	output_of(f, p, output, sizeof(output));
	vlog("PID %d (child of %d) replaced its program (exec): tracing it into %s\n", p->pid,
	     p->parent, output);
	if (start_capture(f, p, output)) {
		p->held = false;
		child__resume(p->pid);
	}
}

static void resume_if_ready(struct proc *p)
{
	if (p->held && p->stopped && !p->exec_pending && p->ready != READY_WAIT) {
		child__resume(p->pid);
		p->held = false;
	}
}

/* Launched: p's stops, passed on, but its first (held for its capture, or
 * let go at once if a vfork child) and its execs. */
static void poll_stops(struct forks *f, struct proc *p)
{
	int st;

	while (!p->gone && !(p->held && p->stopped) &&
	       waitpid(p->pid, &st, WNOHANG | __WALL) == p->pid) {
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			p->gone = true;
			break;
		}
		if (!p->stopped) {
			p->stopped = true;
			if (!p->held)
				child__resume(p->pid);
			continue;
		}
		if ((st >> 16) == PTRACE_EVENT_EXEC && on_exec(f, p))
			continue;
		child__pass(p->pid, st);
	}
}

static void poll_subs(struct forks *f)
{
	size_t i;
	int st;

	for (i = 0; i < f->nr_subs; i++) {
		struct sub *s = &f->subs[i];

		if (s->done || waitpid(s->pid, &st, WNOHANG) != s->pid)
			continue;
		s->done = true;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			f->failed_subs++;
	}
}

void forks__poll(void *ctx)
{
	struct forks *f = ctx;
	size_t i;

	for (i = 0; i < f->nr_procs; i++) {
		poll_ready(f->procs[i]);
		if (!f->launched)
			continue;
		poll_stops(f, f->procs[i]);
		if (f->procs[i]->exec_pending && f->procs[i]->probes_gone)
			start_program(f, f->procs[i]);
		resume_if_ready(f->procs[i]);
	}
	poll_subs(f);
}

uint64_t forks__traced(const struct forks *f, pid_t parent, uint64_t since)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; f && i < f->nr_procs; i++)
		n += f->procs[i]->parent == parent && f->procs[i]->t_fork >= since &&
		     f->procs[i]->traced;
	return n;
}

/* Launched: every child still traced runs on untraced. */
static void let_go(struct forks *f)
{
	size_t i;
	int st;

	for (i = 0; i < f->nr_procs; i++) {
		struct proc *p = f->procs[i];

		if (p->gone)
			continue;
		if (!p->stopped) {
			/* Its first stop comes (auto-attached): let go there. */
			while (waitpid(p->pid, &st, __WALL) == p->pid && WIFSTOPPED(st) &&
			       (st >> 16) != PTRACE_EVENT_STOP)
				child__pass(p->pid, st);
			child__let_go(p->pid);
		} else if (p->held) {
			child__let_go(p->pid);
		} else {
			child__release(p->pid);
		}
		p->gone = true;
	}
}

/* Wait for every capture; the first signal each gets is ours (if its
 * child still runs), later ones are the user's Ctrl-C passed on. */
static void wait_subs(struct forks *f)
{
	int user = 0;
	size_t i, left;

	for (i = 0; i < f->nr_subs; i++)
		if (!f->subs[i].done && kill(f->subs[i].target, 0) == 0) {
			kill(f->subs[i].pid, SIGINT);
			f->subs[i].signals++;
		}
	for (;;) {
		poll_subs(f);
		if (interrupt__abandoned()[0])
			user = 2;
		else if (interrupt__seen())
			user = 1;
		for (i = left = 0; i < f->nr_subs; i++) {
			struct sub *s = &f->subs[i];

			if (s->done)
				continue;
			left++;
			while (s->signals < user) {
				kill(s->pid, SIGINT);
				s->signals++;
			}
		}
		if (!left)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000 }, NULL);
	}
}

void forks__finish(struct forks *f)
{
	uint64_t traced = 0;
	size_t i;

	if (!f)
		return;
	f->finishing = true;
	for (i = 0; i < f->nr_procs; i++)
		poll_ready(f->procs[i]);
	if (f->launched)
		let_go(f);
	wait_subs(f);
	for (i = 0; i < f->nr_procs; i++)
		traced += f->procs[i]->traced;
	if (f->nr_procs)
		elog("--follow-forks: %zu child processes, %llu traced (a file each beside %s), "
		     "%llu not traced%s\n", f->nr_procs, (unsigned long long)traced,
		     f->cfg->fork_of ? f->cfg->fork_of : f->cfg->output,
		     (unsigned long long)(f->nr_procs - traced),
		     f->failed_subs ? "; some of their captures failed (see above)" : "");
	for (i = 0; i < f->nr_procs; i++) {
		if (f->procs[i]->ready_fd >= 0)
			close(f->procs[i]->ready_fd);
		free(f->procs[i]);
	}
	free(f->procs);
	free(f->subs);
	free(f);
}
