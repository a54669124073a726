/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_LOOP_H
#define DT_LOOP_H

#include <stdint.h>
#include "report.h"
#include "targetview.h"
#include "target.h"
#include "unwind.h"

struct intake;

/* LOOP_TARGET_EXEC_STOP: it execs, and the watched child is held at its exec stop. */
enum loop_end { LOOP_DURATION, LOOP_SIGNAL, LOOP_TARGET_EXIT, LOOP_TARGET_EXEC,
		LOOP_TARGET_EXEC_STOP, LOOP_ERROR };

struct loop_opts {
	struct intake *intake;		/* the BPF rings; NULL: none (--inject) */
	int (*drain)(void *ctx);	/* another source of records, drained every tick */
	void *drain_ctx;
	int drain_fd;			/* with drain: readable when it should be drained; -1 */
	struct target *target;
	struct tview *tv;	/* re-read when code was unmapped */
	struct reporter *reporter;
	struct acct *acct;	/* its capture ends when the target execs */
	uint64_t t0, duration_ns, interval_ns;
	bool watch_child;	/* the launched child is seized (child.h) */
	struct unwinder *uw;	/* NULL: frame pointers only */
	volatile uint32_t *uw_refresh;	/* set by BPF: a stack met code without rows,
					 * or the loader mapped objects (DT_UW_REFRESH_*) */
	const volatile uint64_t *holds_asked;	/* watched child held at loads (child.h) */
	void (*tick)(void *ctx);	/* called every tick (forks__poll); NULL: none */
	void *tick_ctx;
	uint64_t *rss_last;	/* the target's RSS, read now and then and at a launched
				 * child's exit stop (NULL: unwanted) */
	/* A snapshot on SIGUSR1 and every snapshot_ns (0: only on SIGUSR1). */
	void (*snapshot)(void *ctx, uint64_t now);
	void *snapshot_ctx;
	uint64_t snapshot_ns;
};

/* Drain events until the capture ends; *exit_status: the launched child's wait status. */
enum loop_end loop__run(const struct loop_opts *o, int *exit_status);

#endif
