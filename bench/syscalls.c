// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The cost a capture puts on processes it does not trace: dhat-trace watches
 * its target's unmaps with a raw tracepoint on every system call's entry
 * (src/mapwatch.c), so every process on the machine pays its PID check.
 * Prints the median of ROUNDS rounds of N getppid() calls, in ns per call.
 * argv: [N [ROUNDS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000, i;
	int rounds = argc > 2 ? atoi(argv[2]) : 7, r;
	double ns[64];
	struct timespec a, b;

	if (rounds < 1 || rounds > 64 || n < 1)
		return 64;
	for (r = 0; r < rounds; r++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (i = 0; i < n; i++)
			syscall(SYS_getppid);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ns[r] = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
	}
	qsort(ns, rounds, sizeof(ns[0]), cmp);
	printf("%.1f ns per system call (median of %d x %ld)\n", ns[rounds / 2], rounds, n);
	return 0;
}
