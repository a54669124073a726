// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * One thread, one epoll: the ring buffers (each woken only when it is
 * filling, otherwise drained on a short tick), signals, and the target's pidfd.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "child.h"
#include "intake.h"
#include "log.h"
#include "loop.h"
#include "status.h"
#include "util.h"

#define TICK_MS 10
#define RSS_NS (100 * NSEC_PER_MSEC)

#define UW_REFRESH_NS (20 * NSEC_PER_MSEC)

struct refresher {
	const struct loop_opts *o;
	uint64_t uw_last;
};

/* Every source of records: the BPF rings, the in-process agent's. */
static int consume(const struct loop_opts *o)
{
	int n = 0;

	if (o->intake)
		n = intake__poll(o->intake);
	if (o->drain)
		n += o->drain(o->drain_ctx);
	return n;
}

/* Stacks met code mapped since the tables were built, or the loader has
 * just mapped objects (dlopen) and their code is about to run. */
static void maybe_add_tables(struct refresher *f, uint64_t now)
{
	const struct loop_opts *o = f->o;

	if (!o->uw || !*o->uw_refresh ||
	    (*o->uw_refresh != DT_UW_REFRESH_NOW && now - f->uw_last < UW_REFRESH_NS))
		return;
	*o->uw_refresh = 0;
	f->uw_last = now;
	unwinder__refresh(o->uw);
}

/* Code came and went: open what is mapped now, while it still is (a
 * library dlclose'd later keeps its names).  Stacks that meet code mapped
 * since are placed by a sync of their own (tview__translate). */
static void maybe_refresh(struct refresher *f, bool force)
{
	if (force || tview__stale(f->o->tv))
		tview__sync(f->o->tv);
}

/* An attached target's memory is gone once it exits: keep the last read. */
static void note_rss(const struct loop_opts *o)
{
	uint64_t rss = o->rss_last ? target__rss(o->target) : 0;

	if (rss)
		*o->rss_last = rss;
}

/* A launched thread held where the loader has mapped objects: their tables
 * and names before their code runs (it goes on when this returns). */
static void at_load(void *ctx)
{
	struct refresher *f = ctx;

	consume(f->o);
	if (f->o->uw) {
		*f->o->uw_refresh = DT_UW_REFRESH_NOW;
		maybe_add_tables(f, mono_ns());
	} else {
		tview__sync(f->o->tv);
	}
}

static void at_child_exit(void *ctx)
{
	struct refresher *f = ctx;

	/* Last moment the mappings exist: take all records first. */
	consume(f->o);
	maybe_refresh(f, true);
	note_rss(f->o);
}

enum loop_end loop__run(const struct loop_opts *o, int *exit_status)
{
	struct refresher f = { .o = o };
	enum loop_end end = LOOP_ERROR;
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t now, next_report = o->t0 + o->interval_ns, rss_read = 0;
	uint64_t next_snapshot = o->t0 + o->snapshot_ns;
	int epfd = -1, sfd = -1, pidfd = -1;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	/* Ignored (main.c) until now: an ignored signal never reaches a signalfd. */
	signal(SIGUSR1, SIG_DFL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || epfd < 0) {
		elog("cannot set up the event loop: %s\n", strerror(errno));
		goto cleanup;
	}
	ev.data.fd = sfd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	if (o->watch_child && o->holds_asked)
		child__on_hold(at_load, &f, o->holds_asked);
	if (o->intake) {
		ev.data.fd = intake__epoll_fd(o->intake);
		epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if (o->drain && o->drain_fd >= 0) {
		ev.data.fd = o->drain_fd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if (!o->target->launched) {
		/* Readable when the process exits; without pidfds, poll /proc. */
		pidfd = (int)syscall(SYS_pidfd_open, o->target->pid, 0);
		if (pidfd >= 0) {
			ev.data.fd = pidfd;
			epoll_ctl(epfd, EPOLL_CTL_ADD, pidfd, &ev);
		}
	}
	for (;;) {
		struct epoll_event evs[4];
		int n = epoll_wait(epfd, evs, 4, TICK_MS), i;

		if (n < 0 && errno != EINTR) {
			elog("epoll_wait: %s\n", strerror(errno));
			goto cleanup;
		}
		consume(o);
		for (i = 0; i < n; i++) {
			struct signalfd_siginfo si;

			if (evs[i].data.fd == pidfd) {
				end = LOOP_TARGET_EXIT;
				goto cleanup;
			}
			if (evs[i].data.fd != sfd)
				continue;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGUSR1) {
					consume(o);
					if (o->snapshot)
						o->snapshot(o->snapshot_ctx, mono_ns());
					continue;
				}
				if (si.ssi_signo != SIGCHLD) {
					end = LOOP_SIGNAL;
					goto cleanup;
				}
			}
			if (o->target->launched && !o->watch_child &&
			    waitpid(o->target->pid, exit_status, WNOHANG) > 0) {
				end = LOOP_TARGET_EXIT;
				goto cleanup;
			}
		}
		/* A SIGCHLD sent before the loop blocked it is gone (its default
		 * action discards it): look at the child on every tick. */
		if (o->target->launched && o->watch_child) {
			enum child_state cs = child__on_sigchld(o->target->pid, at_child_exit, &f,
								exit_status);

			if (cs != CHILD_RUNS) {
				end = cs == CHILD_GONE ? LOOP_TARGET_EXIT : LOOP_TARGET_EXEC_STOP;
				goto cleanup;
			}
		}
		if (o->tick)
			o->tick(o->tick_ctx);
		if (acct__exec_ts(o->acct)) {
			end = LOOP_TARGET_EXEC;
			goto cleanup;
		}
		now = mono_ns();
		if (pidfd < 0 && !o->target->launched && !target__alive(o->target->pid)) {
			end = LOOP_TARGET_EXIT;
			goto cleanup;
		}
		maybe_refresh(&f, false);
		maybe_add_tables(&f, now);
		if (now - rss_read >= RSS_NS) {
			note_rss(o);
			rss_read = now;
		}
		if (o->duration_ns && now - o->t0 >= o->duration_ns) {
			end = LOOP_DURATION;
			goto cleanup;
		}
		status__tick(now, o->acct, o->reporter);
		if (o->interval_ns && now >= next_report) {
			reporter__periodic(o->reporter, now);
			next_report = now + o->interval_ns;
		}
		if (o->snapshot_ns && o->snapshot && now >= next_snapshot) {
			o->snapshot(o->snapshot_ctx, now);
			next_snapshot = mono_ns() + o->snapshot_ns;
		}
	}
cleanup:
	/* A hold asked for now is still told from a signal of the program's. */
	child__on_hold(NULL, NULL, o->holds_asked);
	signal(SIGUSR1, SIG_IGN);
	/* Whatever the target did before the end is in the ring: take it all. */
	while (consume(o) > 0)
		;
	if (end != LOOP_TARGET_EXIT)
		maybe_refresh(&f, true);
	if (pidfd >= 0)
		close(pidfd);
	if (sfd >= 0)
		close(sfd);
	if (epfd >= 0)
		close(epfd);
	return end;
}
