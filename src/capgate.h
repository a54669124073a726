/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_CAPGATE_H
#define DT_CAPGATE_H

#include <stdbool.h>
#include "accounting.h"
#include "cli.h"
#include "gate.h"
#include "symbolizer.h"

/*
 * --fail-on-leak and --max-peak at the end of a capture: the gates of
 * `dhat-trace check` (gate.h) over the finished accounting, the frames as
 * the file names them.  Prints the verdicts on stderr.  Fills leak and
 * peak; 0, or -ENOMEM.
 */
int capgate__run(const struct dt_config *cfg, struct acct *a, struct symbolizer *sym,
		 struct gate_result *leak, struct gate_result *peak);

#endif
