// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"
#include "frametext.h"
#include "subcmd.h"
#include "util.h"

void subcmd__usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "dhat-trace %s: ", cmd);
	fprintf(stderr, fmt, arg);
	/* The same second line as argp's own usage errors. */
	fprintf(stderr, "\nTry `dhat-trace %s --help' or `dhat-trace %s --usage' for more "
		"information.\n", cmd, cmd);
	exit(DT_EXIT_USAGE);
}

unsigned long subcmd__number(const char *cmd, const char *opt, const char *arg,
			     unsigned long lo, unsigned long hi)
{
	char *end, msg[128];
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || v < lo || v > hi || *arg == '-') {
		snprintf(msg, sizeof(msg), "invalid %s '%%s': use a number from %lu to %lu", opt,
			 lo, hi);
		subcmd__usage_error(cmd, msg, arg);
	}
	return v;
}

uint64_t subcmd__bytes(const char *cmd, const char *opt, const char *arg)
{
	char msg[128];
	uint64_t v;

	if (parse_size(arg, &v)) {
		snprintf(msg, sizeof(msg), "invalid %s '%%s': use a number of bytes, with K, M "
			 "or G for powers of 1024", opt);
		subcmd__usage_error(cmd, msg, arg);
	}
	return v;
}

struct dhatfile *subcmd__load(const char *path)
{
	struct dhatfile *f;
	char why[256];

	f = dhatfile__read(path, why, sizeof(why));
	if (!f) {
		fprintf(stderr, "dhat-trace: ");
		frametext__print(stderr, path);
		fprintf(stderr, ": %s\n", why);
	}
	return f;
}
