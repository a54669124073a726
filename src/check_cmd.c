// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/* dhat-trace check FILE: the CI gates (gate.c) on an existing DHAT file. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "frametext.h"
#include "gate.h"
#include "subcmd.h"

struct check_args {
	const char *file;
	struct gate_opts gate;
	struct patterns *ignore;
};

enum { OPT_FAIL_ON_LEAK = 1000, OPT_MAX_PEAK, OPT_IGNORE_SITE, OPT_IGNORE_FILE };

static const struct argp_option options[] = {
	{ "fail-on-leak", OPT_FAIL_ON_LEAK, "BYTES", OPTION_ARG_OPTIONAL,
	  "Fail when more than BYTES (default 0) are live at t-end in sites not ignored; "
	  "the check made when no other is asked for", 0 },
	{ "max-peak", OPT_MAX_PEAK, "BYTES", 0,
	  "Fail when more than BYTES are live at t-gmax in sites not ignored", 0 },
	{ "ignore-site", OPT_IGNORE_SITE, "PATTERN", 0,
	  "Leave out sites with a frame whose function or text matches the glob PATTERN "
	  "(repeatable)", 0 },
	{ "ignore-file", OPT_IGNORE_FILE, "FILE", 0,
	  "Patterns as for --ignore-site, one a line; '#' starts a comment line (repeatable)", 0 },
	{ "top", 'n', "N", 0, "Offending sites printed per check (default 20)", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, NULL, 0 },
	{},
};

static void load_ignore_file(struct check_args *a, const char *path)
{
	unsigned int line;
	int err = patterns__load(a->ignore, path, &line);

	if (!err)
		return;
	fprintf(stderr, "dhat-trace check: --ignore-file ");
	frametext__print(stderr, path);
	if (err == -E2BIG)
		fprintf(stderr, ": line %u is too long\n", line);
	else
		fprintf(stderr, ": %s\n", strerror(-err));
	exit(DT_EXIT_USAGE);
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct check_args *a = state->input;

	switch (key) {
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case OPT_FAIL_ON_LEAK:
		a->gate.leak = true;
		a->gate.leak_limit = arg ? subcmd__bytes("check", "--fail-on-leak", arg) : 0;
		break;
	case OPT_MAX_PEAK:
		a->gate.peak = true;
		a->gate.peak_limit = subcmd__bytes("check", "--max-peak", arg);
		break;
	case OPT_IGNORE_SITE:
		if (patterns__add(a->ignore, arg))
			subcmd__usage_error("check", "out of memory%s", "");
		break;
	case OPT_IGNORE_FILE:
		load_ignore_file(a, arg);
		break;
	case 'n':
		a->gate.show = subcmd__number("check", "--top", arg, 1, 1000000);
		break;
	case ARGP_KEY_ARG:
		if (a->file)
			subcmd__usage_error("check", "one FILE only (extra: '%s')", arg);
		a->file = arg;
		break;
	case ARGP_KEY_END:
		if (!a->file)
			subcmd__usage_error("check", "no FILE given%s", "");
		if (!a->gate.leak && !a->gate.peak)
			a->gate.leak = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int check(const struct check_args *a, const struct dhatfile *f)
{
	struct gate *g;
	uint32_t i, n = dhatfile__pp_count(f);
	int ret = DT_EXIT_ERROR;

	/* Without lifetimes (dhat-rs's ad-hoc mode) there is no t-end to check. */
	if (!dhatfile__info(f)->bklt) {
		fprintf(stderr, "dhat-trace: ");
		frametext__print(stderr, a->file);
		fprintf(stderr, ": has no block lifetimes (bklt is false): nothing at t-end or "
			"t-gmax to check\n");
		return DT_EXIT_ERROR;
	}
	g = gate__new(&a->gate);
	if (!g)
		goto oom;
	for (i = 0; i < n; i++) {
		const struct dhat_pp *pp = dhatfile__pp(f, i);
		struct gate_site s = { pp->eb, pp->ebk, pp->gb, pp->gbk, pp->frames,
				       pp->nr_frames, NULL };

		if (gate__add(g, &s))
			goto oom;
	}
	gate__report(g, stdout, "");
	ret = gate__failed(g) ? DT_EXIT_GATE : DT_EXIT_OK;
	gate__free(g);
	return ret;
oom:
	gate__free(g);
	fprintf(stderr, "dhat-trace: out of memory\n");
	return ret;
}

int check_cmd__main(int argc, char **argv)
{
	static const char doc[] =
		"Gate on a DHAT file (dhat-trace's, Valgrind's, dhat-rs's), as CI does: fail when "
		"bytes are still live at the end (--fail-on-leak, the default check) or the peak "
		"is too high (--max-peak), counting only the sites no --ignore-site pattern "
		"matches.  The offending sites are printed, largest first.\v"
		"BYTES takes K, M and G suffixes (powers of 1024).  A PATTERN is a shell glob "
		"(*, ?, [...]) matched against each frame's function name and against its text "
		"without the address, \"fn (file.c:12)\"; a site is ignored when any of its "
		"frames matches.\n\nExit status: 0 when every check passes; 23 when one fails; "
		"1 when FILE cannot be read, is not a valid DHAT file or has no block lifetimes; "
		"64 for bad usage.";
	static const struct argp argp = { options, parse_opt, "FILE", doc, NULL, NULL, NULL };
	struct check_args a = { .gate.show = 20 };
	struct dhatfile *f = NULL;
	int ret = DT_EXIT_ERROR;

	a.ignore = patterns__new();
	if (!a.ignore) {
		fprintf(stderr, "dhat-trace: out of memory\n");
		return DT_EXIT_ERROR;
	}
	a.gate.ignore = a.ignore;
	argp_err_exit_status = DT_EXIT_USAGE;
	argv[0] = "dhat-trace check";
	argp_parse(&argp, argc, argv, 0, NULL, &a);
	f = subcmd__load(a.file);
	if (f)
		ret = check(&a, f);
	dhatfile__free(f);
	patterns__free(a.ignore);
	return ret;
}
