/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_CLI_H
#define DT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "gateopts.h"

#define DT_EXIT_OK 0
#define DT_EXIT_ERROR 1
#define DT_EXIT_USAGE 64
/* A gate of `check` failed (LeakSanitizer's leak status, unused elsewhere). */
#define DT_EXIT_GATE 23

/* The agent's ring, unless --ring-size: its target has no uprobe's trap to
 * slow it, so a burst outruns the reader by more (docs/performance.md). */
#define DT_AGENT_RING_SIZE (32ULL << 20)

struct dt_config {
	pid_t pid;		/* -p; 0 when launching */
	char **argv;		/* COMMAND ARGS; NULL when attaching */
	uint64_t duration_ns;	/* 0: until the target exits or a signal */
	uint64_t interval_ns;	/* 0: no periodic report */
	const char *output;	/* NULL: dhat-trace.NAME.PID.json, named once the target is known */
	unsigned int top;
	unsigned int max_frames;
	uint64_t ring_size;	/* the BPF rings' total; the agent's ring if ring_size_given */
	uint64_t max_memory;	/* cap on the tracer's growing tables; 0: none */
	int unwind;		/* enum dt_unwind_mode */
	bool probe_at_entry;	/* no probe placement past the entry */
	bool probe_only;	/* attach empty programs: measure the uprobe floor */
	bool inject;		/* record in the target through an agent (inject.h) */
	bool follow_exec;	/* a new capture (and file) for each program the target execs */
	/* CI gates at the end (gate.h), and a summary for scripts */
	struct gate_args gate;	/* --fail-on-leak, --max-peak, --ignore-* (gateopts.h) */
	const char *summary_json;	/* NULL: none */
	uint64_t snapshot_ns;		/* --snapshot-every; 0: on SIGUSR1 only */
	bool follow_forks;	/* a capture (and file) for each child process too (forks.h) */
	/* Outputs for other tools, converted from the DHAT document: NULL: none */
	const char *pprof, *folded;
	int folded_weight;		/* enum folded_weight */
	const char *metrics_file;	/* Prometheus text, rewritten at each report */
	bool report_json;		/* --report-format=json: reports as JSON lines */
	const char *report_file;	/* reports appended there; NULL: stderr */
	bool ring_size_given;	/* --ring-size: forks' captures use it too */
	/* Hidden, for a capture of a forked child started by forks.c: */
	const char *fork_of;	/* the user's -o: this capture is one of its children's */
	int ready_fd;		/* one byte written there once the probes are placed; -1 */
	int verbosity;		/* -1 quiet, 0 default, 1+ verbose */
};

/* Parse argv into cfg; exits with DT_EXIT_USAGE (one line) on bad usage. */
void cli__parse(int argc, char **argv, struct dt_config *cfg);

#endif
