/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_STATUS_H
#define DT_STATUS_H

#include <stdbool.h>
#include <stdint.h>

struct acct;
struct reporter;

/*
 * One line on the terminal that says what is going on: what attaching is
 * doing, then events per second, live bytes and lost events while tracing.
 * Only where stderr is a terminal; every log line clears it first (log.h)
 * and the next tick draws it again.
 */
void status__init(bool want);
/* While attaching: the step now under way (printf-style). */
void status__phase(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Tracing: whether the numbers are drawn (a launched command that writes
 * to the same terminal would break the line). */
void status__tracing(bool show);
/* From the loop's tick: redrawn a few times a second, else nothing. */
void status__tick(uint64_t now, struct acct *a, struct reporter *r);
/* Off the terminal before a line that is not the status. */
void status__clear(void);

#endif
