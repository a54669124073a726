/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_REPORTJSON_H
#define DT_REPORTJSON_H

#include <stdio.h>
#include "tick.h"

/*
 * --report-format=json: one JSON object per line, for log pipelines
 * (schema in the man page, REPORTS AS JSON).  Every line starts
 * {"type":TYPE,"time":"2026-01-02T03:04:05.678Z","pid":N, ...
 */

/* The head of a line, up to and including the pid's comma; the caller
 * writes the rest of the object and ends it with "}\n" (reportjson__end). */
void reportjson__begin(FILE *f, const char *type, int pid);
/* "}\n", and the line flushed: a pipeline sees it at once. */
void reportjson__end(FILE *f);
/* A periodic report: {"type":"report", ...}. */
void reportjson__tick(FILE *f, const struct tick *t);

#endif
