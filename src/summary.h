/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_SUMMARY_H
#define DT_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>
#include "accounting.h"
#include "gate.h"
#include "report.h"

/* What --summary-json writes besides the accounting and the reporter's. */
struct summary_info {
	const char *cmd;
	int pid;
	const char *dhat_file;		/* the DHAT file written, NULL if none */
	uint64_t t_end_ns;		/* since the capture started */
	const struct gate_result *leak, *peak;	/* NULL: no gate ran */
	bool exited;			/* a launched command exited ... */
	int status;			/* ... with this exit status (128 + signal) */
};

/*
 * The --summary-json file (schema in the man page, summaryVersion 1):
 * totals, t-gmax and t-end, the leak suspects, every loss counter of
 * dhatTrace, the gates' results.  Written whole or not at all (a temporary
 * renamed).  0 or -errno.
 */
int summary__write(const char *path, struct acct *a, struct reporter *rep,
		   const struct summary_info *info);

/* The same as one --report-format=json line, {"type":"summary", ...}: the
 * members of the document after "type", "time" and "pid". */
void summary__line(FILE *f, struct acct *a, struct reporter *rep,
		   const struct summary_info *info);

#endif
