// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "gateopts.h"
#include "util.h"

enum { OPT_FAIL_ON_LEAK = 2000, OPT_MAX_PEAK, OPT_IGNORE_SITE, OPT_IGNORE_FILE };

static const struct argp_option options[] = {
	{ "fail-on-leak", OPT_FAIL_ON_LEAK, "BYTES", OPTION_ARG_OPTIONAL,
	  "Fail (exit 23) when more than BYTES (default 0) are live at t-end in sites not "
	  "ignored", 0 },
	{ "max-peak", OPT_MAX_PEAK, "BYTES", 0,
	  "Fail (exit 23) when more than BYTES are live at t-gmax in sites not ignored", 0 },
	{ "ignore-site", OPT_IGNORE_SITE, "PATTERN", 0,
	  "Sites the gates do not count: a glob on any frame's function or text (repeatable)",
	  0 },
	{ "ignore-file", OPT_IGNORE_FILE, "FILE", 0,
	  "Patterns as for --ignore-site, one a line; '#' starts a comment line (repeatable)", 0 },
	{},
};

static uint64_t bytes_arg(struct argp_state *state, const char *opt, const char *arg)
{
	uint64_t v;

	if (parse_size(arg, &v))
		argp_error(state, "invalid %s '%s': use a number of bytes, with K, M or G for "
			   "powers of 1024", opt, arg);
	return v;
}

static struct patterns *patterns_of(struct argp_state *state, struct gate_args *g)
{
	if (!g->patterns && !(g->patterns = patterns__new()))
		argp_failure(state, 1, ENOMEM, "patterns");
	g->opts.ignore = g->patterns;
	return g->patterns;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct gate_args *g = state->input;
	unsigned int line = 0;
	int err;

	switch (key) {
	case OPT_FAIL_ON_LEAK:
		g->opts.leak = true;
		g->opts.leak_limit = arg ? bytes_arg(state, "--fail-on-leak", arg) : 0;
		break;
	case OPT_MAX_PEAK:
		g->opts.peak = true;
		g->opts.peak_limit = bytes_arg(state, "--max-peak", arg);
		break;
	case OPT_IGNORE_SITE:
		if (patterns__add(patterns_of(state, g), arg))
			argp_failure(state, 1, ENOMEM, "--ignore-site");
		break;
	case OPT_IGNORE_FILE:
		err = patterns__load(patterns_of(state, g), arg, &line);
		if (err == -E2BIG)
			argp_error(state, "--ignore-file %s: line %u is too long", arg, line);
		if (err)
			argp_error(state, "--ignore-file %s: %s", arg, strerror(-err));
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp gateopts__argp = { options, parse_opt, NULL, NULL, NULL, NULL, NULL };

bool gate_args__any(const struct gate_args *g)
{
	return g->opts.leak || g->opts.peak;
}

void gate_args__free(struct gate_args *g)
{
	patterns__free(g->patterns);
	g->patterns = NULL;
	g->opts.ignore = NULL;
}
