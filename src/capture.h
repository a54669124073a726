/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_CAPTURE_H
#define DT_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "cli.h"
#include "loop.h"
#include "target.h"

/*
 * One capture: one program of the target, from probes placed to its DHAT
 * file written.  A target that execs with --follow-exec has one per
 * program (main.c).
 */
struct capture_opts {
	const struct dt_config *cfg;
	struct target *t;
	const char *output;	/* this program's file */
	const char *summary;	/* --summary-json's for it, or NULL */
	int out_fd;		/* -o -: the document's fd; else -1 */
	const char *pprof, *folded;	/* --pprof's and --folded's for it, or NULL */
	FILE *report_out;	/* --report-file; NULL: the reports go to stderr */
	uint64_t deadline_ns;	/* -d: when the whole run ends (mono_ns); 0: -d from now */
	bool *watching;		/* launched: the child is seized (child.h) */
	bool from_maps;		/* objects read from its maps (else a launched command's
				 * load order: it has not started yet) */
	bool held;		/* the child waits under ptrace: resume it once traced */
	struct forks *forks;	/* --follow-forks: where its children go; NULL: not followed */
	int ready_fd;		/* one byte there once the probes are placed (forks.c); -1 */
};

struct capture_end {
	enum loop_end end;
	int status;		/* a launched child's wait status, once it exited */
	bool held;		/* it execs and is held at its exec stop */
	bool gate_failed;	/* --fail-on-leak or --max-peak failed */
	uint64_t t0, t_end;	/* mono_ns at the capture's start and end */
};

/* DT_EXIT_* or the launched command's own status (its exit); *e says how
 * the capture ended. */
int capture__run(const struct capture_opts *o, struct capture_end *e);

#endif
