// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Holds many live heap blocks, for the tracer's memory per live block:
 *   liveblocks BLOCKS [--churn] [--wait]
 * Allocates BLOCKS blocks of varied small sizes (16..271 bytes) from 32
 * call sites and keeps them all live; with --churn each block is freed
 * right after it was allocated (the same allocations and events, but
 * almost nothing live: the baseline).  The array of pointers is mmap'd, so
 * it is not a heap block itself.
 * With --wait: prints "ready", waits for SIGUSR1 (a tracer attaches in
 * between), allocates, prints "allocated N ns_per_alloc X", then waits for
 * stdin to close and exits without freeing.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "attach_wait.h"

#define SITE(i)                                                               \
	__attribute__((noinline)) static void *site##i(size_t n)              \
	{                                                                     \
		void *p = malloc(n);                                          \
		__asm__ volatile("" : : "r"(p) : "memory");                   \
		return p;                                                     \
	}
#define SITES8(a) SITE(a##0) SITE(a##1) SITE(a##2) SITE(a##3) SITE(a##4) SITE(a##5) \
	SITE(a##6) SITE(a##7)
SITES8(0)
SITES8(1)
SITES8(2)
SITES8(3)

#define REF8(a) site##a##0, site##a##1, site##a##2, site##a##3, site##a##4, site##a##5, \
	site##a##6, site##a##7
static void *(*const sites[32])(size_t) = { REF8(0), REF8(1), REF8(2), REF8(3) };


int main(int argc, char **argv)
{
	int churn = 0, wait = 0, i;
	unsigned long long x = 88172645463325252ULL;
	long n, k;
	void **keep;
	double t0;

	if (argc < 2) {
		fprintf(stderr, "usage: liveblocks BLOCKS [--churn] [--wait]\n");
		return 64;
	}
	n = atol(argv[1]);
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--churn"))
			churn = 1;
		else if (!strcmp(argv[i], "--wait"))
			wait = 1;
		else
			return 64;
	}
	if (n < 1)
		return 64;
	keep = mmap(NULL, n * sizeof(*keep), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (keep == MAP_FAILED)
		return 1;
	if (wait) {
		wait_for_start();
	}
	t0 = now();
	for (k = 0; k < n; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		keep[k] = sites[x % 32](16 + (x >> 8) % 256);
		if (!keep[k])
			return 1;
		if (churn) {
			free(keep[k]);
			keep[k] = NULL;
		}
	}
	printf("allocated %ld ns_per_alloc %.1f\n", n, (now() - t0) / (double)n);
	fflush(stdout);
	if (wait)
		wait_for_eof();
	return 0;
}
