/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
/* Just enough TAP for meson's 'tap' protocol: ok/not ok lines and a plan. */
#ifndef DT_TAP_H
#define DT_TAP_H

#include <inttypes.h>
#include <stdio.h>

static int tap_n, tap_failed;

#define ok(cond, ...) do {						\
	int c_ = !!(cond);						\
	tap_n++;							\
	if (!c_)							\
		tap_failed++;						\
	printf("%sok %d - ", c_ ? "" : "not ", tap_n);			\
	printf(__VA_ARGS__);						\
	printf("\n");							\
} while (0)

#define is_u64(got, want, ...) do {					\
	uint64_t g_ = (got), w_ = (want);				\
	ok(g_ == w_, __VA_ARGS__);					\
	if (g_ != w_)							\
		printf("# got %" PRIu64 ", want %" PRIu64 "\n", g_, w_); \
} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
