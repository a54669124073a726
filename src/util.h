/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_UTIL_H
#define DT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL

/* "500ms", "30s", "5m", "1h", "2.5s"; a bare number is seconds. */
int parse_duration(const char *s, uint64_t *ns);
/* "64M", "4096", "1G" (powers of 1024). */
int parse_size(const char *s, uint64_t *bytes);
/* 1234567 -> "1,234,567" into buf (>= 27 bytes); returns buf. */
char *fmt_thousands(uint64_t v, char *buf, size_t len);
/* Make the array *arr (of elem-byte items, *cap of them) hold at least need,
 * doubling from 4096; 0 or -ENOMEM (the array unchanged). */
int array_reserve(void *arr, size_t *cap, size_t need, size_t elem);
/* a + b, at most UINT64_MAX: sums of counts read from files. */
static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}
/* path with tag before its ".json": "out.json", "3" -> "out.3.json";
 * without ".json", "out" -> "out.3". */
void path_tagged(const char *path, const char *tag, char *buf, size_t len);
/* The n-th file of a series named after out (n > 0): out.json -> out.n.json,
 * other names out.n; n == 0: out itself. */
void numbered_output(const char *out, unsigned long n, char *buf, size_t len);
/* What follows path's last '/' (all of it without one). */
static inline const char *path_base(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}
/* CLOCK_MONOTONIC in ns: the clock bpf_ktime_get_ns() reads. */
uint64_t mono_ns(void);

#endif
