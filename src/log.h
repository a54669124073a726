/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_LOG_H
#define DT_LOG_H

#include <stdio.h>

extern int dt_verbosity;
/* "dhat-trace: ", or "dhat-trace [PID N]: " in the capture of a forked child
 * (--follow-forks), whose lines mix with the first capture's. */
extern const char *dt_log_prefix;

/* A status line is on the terminal (status.h): the next line goes over it. */
extern int dt_status_shown;
void log__clear_status(void);

/* Every line the tool prints on stderr carries the same prefix, so scripts
 * can tell it from the traced command's own output. */
#define elog(fmt, ...) do { \
		if (dt_status_shown) \
			log__clear_status(); \
		fprintf(stderr, "%s" fmt, dt_log_prefix, ##__VA_ARGS__); \
	} while (0)
#define wlog(fmt, ...) elog("warning: " fmt, ##__VA_ARGS__)
#define ilog(fmt, ...) do { if (dt_verbosity >= 0) elog(fmt, ##__VA_ARGS__); } while (0)
#define vlog(fmt, ...) do { if (dt_verbosity >= 1) elog(fmt, ##__VA_ARGS__); } while (0)
#define dlog(fmt, ...) do { if (dt_verbosity >= 2) elog(fmt, ##__VA_ARGS__); } while (0)

#endif
