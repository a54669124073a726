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
#include "gateopts.h"
#include "subcmd.h"

struct check_args {
	const char *file;
	struct gate_args gate;	/* the options the capture takes too (gateopts.h) */
	unsigned int show;
};

static const struct argp_option options[] = {
	{ "top", 'n', "N", 0, "Offending sites printed per check (default 20)", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, NULL, 0 },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct check_args *a = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &a->gate;
		break;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case 'n':
		a->show = subcmd__number("check", "--top", arg, 1, 1000000);
		break;
	case ARGP_KEY_ARG:
		if (a->file)
			subcmd__usage_error("check", "one FILE only (extra: '%s')", arg);
		a->file = arg;
		break;
	case ARGP_KEY_END:
		if (!a->file)
			subcmd__usage_error("check", "no FILE given%s", "");
		/* No gate asked for: the leak check, at 0 bytes. */
		if (!gate_args__any(&a->gate))
			a->gate.opts.leak = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int check(const struct check_args *a, const struct dhatfile *f)
{
	struct gate_opts o = a->gate.opts;
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
	o.show = a->show;
	g = gate__new(&o);
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
	static const struct argp_child children[] = { { &gateopts__argp, 0, NULL, 0 }, {} };
	static const struct argp argp = { options, parse_opt, "FILE", doc, children, NULL,
					  NULL };
	struct check_args a = { .show = 20 };
	struct dhatfile *f = NULL;
	int ret = DT_EXIT_ERROR;

	argp_err_exit_status = DT_EXIT_USAGE;
	argv[0] = "dhat-trace check";
	argp_parse(&argp, argc, argv, 0, NULL, &a);
	f = subcmd__load(a.file);
	if (f)
		ret = check(&a, f);
	dhatfile__free(f);
	gate_args__free(&a.gate);
	return ret;
}
