// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "util.h"

int parse_duration(const char *s, uint64_t *ns)
{
	static const struct { const char *unit; double mult; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "", 1e9 },
		{ "m", 60e9 }, { "min", 60e9 }, { "h", 3600e9 },
	};
	char *end;
	double v;
	size_t i;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0 || *s == '-' || *s == '+')
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			v *= units[i].mult;
			if (v >= 18e18)
				return -ERANGE;
			*ns = (uint64_t)v;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	else if (*end)
		return -EINVAL;
	if (shift && end[1])
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = (uint64_t)v << shift;
	return 0;
}

char *fmt_thousands(uint64_t v, char *buf, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	size_t o = 0;
	int i;

	for (i = 0; i < n && o + 1 < len; i++) {
		if (i && (n - i) % 3 == 0 && o + 2 < len)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

int array_reserve(void *arr, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 4096;
	void *v;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	v = realloc(*(void **)arr, n * elem);
	if (!v)
		return -ENOMEM;
	*(void **)arr = v;
	*cap = n;
	return 0;
}

void path_tagged(const char *path, const char *tag, char *buf, size_t len)
{
	size_t l = strlen(path);

	if (l > 5 && strcmp(path + l - 5, ".json") == 0)
		snprintf(buf, len, "%.*s.%s.json", (int)(l - 5), path, tag);
	else
		snprintf(buf, len, "%s.%s", path, tag);
}

void numbered_output(const char *out, unsigned long n, char *buf, size_t len)
{
	char tag[24];

	snprintf(tag, sizeof(tag), "%lu", n);
	if (n)
		path_tagged(out, tag, buf, len);
	else
		snprintf(buf, len, "%s", out);
}
