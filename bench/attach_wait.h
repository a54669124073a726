/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The --wait protocol of the benchmark programs, which bench/run (and the
 * tests' attach helper) speak: print "ready", let a tracer attach, start at
 * SIGUSR1; at the end stay alive until stdin closes, so that the tracer
 * sees the whole run before the process goes.
 */
#ifndef DT_BENCH_ATTACH_WAIT_H
#define DT_BENCH_ATTACH_WAIT_H

#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline void wait_for_start(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
}

static inline void wait_for_eof(void)
{
	char c;

	while (read(0, &c, 1) > 0)
		;
}

#endif
