// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * malloc(64)+free pairs at a chosen stack depth, on 1 or more threads:
 *   mallocbench PAIRS DEPTH THREADS [--wait]
 * With --wait: prints "ready", waits for SIGUSR1 (a tracer attaches in
 * between), runs, prints "ns_per_pair N", then waits for stdin to close so
 * the tracer's BPF statistics can be read while its programs still exist.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "attach_wait.h"

static long pairs;
static int depth;
/* Each thread its own: one shared sink was a cache line both threads wrote
 * on every pair, which the two-thread runs measured as the tracer's cost. */
static __thread void *volatile sink;

__attribute__((noinline)) static void leaf(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = malloc(64);

		sink = p;
		free(p);
	}
}

/* Each level a real frame: not inlined, not a tail call. */
__attribute__((noinline)) static void descend(int d, long n)
{
	if (d > 1)
		descend(d - 1, n);
	else
		leaf(n);
	__asm__ volatile("" ::: "memory");
}

static void *worker(void *arg)
{
	(void)arg;
	descend(depth, pairs);
	return NULL;
}


int main(int argc, char **argv)
{
	int threads, i;
	pthread_t th[64];
	double t0;

	if (argc < 4) {
		fprintf(stderr, "usage: mallocbench PAIRS DEPTH THREADS [--wait]\n");
		return 64;
	}
	pairs = atol(argv[1]);
	depth = atoi(argv[2]) - 3;	/* main, worker/start_thread and leaf count too */
	threads = atoi(argv[3]);
	if (depth < 1)
		depth = 1;
	if (threads < 1 || threads > 64)
		return 64;
	if (argc > 4 && !strcmp(argv[4], "--wait")) {
		wait_for_start();
	}
	t0 = now();
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	printf("ns_per_pair %.1f\n", (now() - t0) / (double)pairs);
	fflush(stdout);
	if (argc > 4)
		wait_for_eof();
	return 0;
}
