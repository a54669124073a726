/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_METRICS_H
#define DT_METRICS_H

#include "tick.h"

/* Sites with a series of their own: the label cardinality stays bounded. */
#define METRICS_MAX_SITES 10

/*
 * The tick in Prometheus' text exposition format (0.0.4), every family
 * with HELP and TYPE, every series labelled with the target's pid, the top
 * sites (at most METRICS_MAX_SITES) by rank and site label, label values
 * escaped.  Rewritten whole at path (a temporary renamed), so that
 * node_exporter's textfile collector never reads half of it.  0 or -errno.
 */
int metrics__write(const char *path, const struct tick *t);

#endif
