// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/* dhat-trace report FILE: the totals and the top call sites of a DHAT file. */
#include <argp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "frametext.h"
#include "patterns.h"
#include "subcmd.h"
#include "util.h"

enum sort_key { SORT_TOTAL, SORT_TGMAX, SORT_TEND, SORT_BLOCKS, SORT_LIFETIME };

static const char *const sort_names[] = { "total", "tgmax", "tend", "blocks", "lifetime" };
static const char *const sort_texts[] = { "total bytes", "bytes at t-gmax", "bytes at t-end",
					  "total blocks", "average lifetime" };

struct report_args {
	const char *file;
	enum sort_key sort;
	unsigned int top, frames;
	uint64_t min_bytes;
	struct patterns *match;
};

enum { OPT_MIN_BYTES = 1000, OPT_FRAMES };

static const struct argp_option options[] = {
	{ "top", 'n', "N", 0, "Call sites shown (default 10)", 0 },
	{ "sort", 's', "KEY", 0, "total (the default), tgmax, tend, blocks or lifetime "
	  "(average, longest first)", 0 },
	{ "min-bytes", OPT_MIN_BYTES, "BYTES", 0, "Only sites with at least BYTES of the sort key "
	  "(total bytes for blocks and lifetime); K, M, G suffixes", 0 },
	{ "match", 'm', "PATTERN", 0, "Only sites with a frame whose function or text matches the "
	  "glob PATTERN (repeatable: any of them)", 0 },
	{ "frames", OPT_FRAMES, "N", 0, "Frames shown per site (default: all)", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, NULL, 0 },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct report_args *a = state->input;
	size_t i;

	switch (key) {
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case 'n':
		a->top = subcmd__number("report", "--top", arg, 1, 1000000);
		break;
	case 's':
		for (i = 0; i < ARRAY_SIZE(sort_names) && strcmp(arg, sort_names[i]); i++)
			;
		if (i == ARRAY_SIZE(sort_names))
			subcmd__usage_error("report", "invalid --sort '%s': use total, tgmax, tend, "
					    "blocks or lifetime", arg);
		a->sort = (enum sort_key)i;
		break;
	case OPT_MIN_BYTES:
		a->min_bytes = subcmd__bytes("report", "--min-bytes", arg);
		break;
	case 'm':
		if (patterns__add(a->match, arg))
			subcmd__usage_error("report", "out of memory%s", "");
		break;
	case OPT_FRAMES:
		a->frames = subcmd__number("report", "--frames", arg, 1, 100000);
		break;
	case ARGP_KEY_ARG:
		if (a->file)
			subcmd__usage_error("report", "one FILE only (extra: '%s')", arg);
		a->file = arg;
		break;
	case ARGP_KEY_END:
		if (!a->file)
			subcmd__usage_error("report", "no FILE given%s", "");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static uint64_t lifetime(const struct dhat_pp *pp)
{
	return pp->tbk ? pp->tl / pp->tbk : 0;
}

static uint64_t sort_value(const struct dhat_pp *pp, enum sort_key k)
{
	switch (k) {
	case SORT_TGMAX:
		return pp->gb;
	case SORT_TEND:
		return pp->eb;
	case SORT_BLOCKS:
		return pp->tbk;
	case SORT_LIFETIME:
		return lifetime(pp);
	default:
		return pp->tb;
	}
}

static uint64_t filter_bytes(const struct dhat_pp *pp, enum sort_key k)
{
	return k == SORT_TGMAX ? pp->gb : k == SORT_TEND ? pp->eb : pp->tb;
}

struct ranked {
	const struct dhat_pp *pp;
	uint32_t idx;
	uint64_t key;
};

/* Larger first; then more total bytes; then the file's order. */
static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? 1 : -1;
	if (x->pp->tb != y->pp->tb)
		return x->pp->tb < y->pp->tb ? 1 : -1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void print_header(const struct report_args *a, const struct dhatfile *f)
{
	const struct dhatfile_info *in = dhatfile__info(f);
	const struct dhat_totals *t = dhatfile__totals(f);
	char b1[32], b2[32], b3[32], b4[32];

	printf("File:      ");
	frametext__print(stdout, a->file);
	printf(" (mode ");
	frametext__print(stdout, in->mode);
	printf(in->dhat_trace ? ", dhat-trace)\nCommand:   " : ")\nCommand:   ");
	frametext__print(stdout, in->cmd);
	printf("\nTotal:     %s bytes in %s blocks\n", fmt_thousands(t->tb, b1, 32),
	       fmt_thousands(t->tbk, b2, 32));
	if (!in->bklt)
		return;
	printf("At t-gmax: %s bytes in %s blocks, at %s of %s ", fmt_thousands(t->gb, b1, 32),
	       fmt_thousands(t->gbk, b2, 32), fmt_thousands(in->tg, b3, 32),
	       fmt_thousands(in->te, b4, 32));
	frametext__print(stdout, in->tu);
	printf("\nAt t-end:  %s bytes in %s blocks\n", fmt_thousands(t->eb, b1, 32),
	       fmt_thousands(t->ebk, b2, 32));
}

static void print_suspects(const struct dhatfile *f)
{
	const struct dhat_suspect *s;
	uint32_t n, skipped, i;
	char b1[32], b2[32];

	n = dhatfile__suspects(f, &s, &skipped);
	if (n)
		printf("\nLeak suspects (dhat-trace, most likely first):\n");
	for (i = 0; i < n; i++) {
		const struct dhat_pp *pp = dhatfile__pp(f, s[i].pp);

		/* The reason names the site already (after its allocator wrappers). */
		printf("  ");
		frametext__print(stdout, s[i].reason);
		printf("\n      pps[%u]: %s bytes in %s blocks at t-end\n", s[i].pp,
		       fmt_thousands(pp->eb, b1, 32), fmt_thousands(pp->ebk, b2, 32));
	}
	if (skipped)
		printf("(%u entries of dhatTrace.suspects not understood)\n", skipped);
}

static void print_site(const struct report_args *a, const struct dhatfile *f, uint32_t rank,
		       const struct dhat_pp *pp)
{
	char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], b7[32];
	uint32_t i, nr = a->frames && a->frames < pp->nr_frames ? a->frames : pp->nr_frames;

	printf("\n#%u: total %s bytes in %s blocks", rank, fmt_thousands(pp->tb, b1, 32),
	       fmt_thousands(pp->tbk, b2, 32));
	if (dhatfile__info(f)->bklt) {
		printf("; t-gmax %s bytes in %s blocks; t-end %s bytes in %s blocks; "
		       "avg lifetime %s ", fmt_thousands(pp->gb, b3, 32),
		       fmt_thousands(pp->gbk, b4, 32), fmt_thousands(pp->eb, b5, 32),
		       fmt_thousands(pp->ebk, b6, 32), fmt_thousands(lifetime(pp), b7, 32));
		frametext__print(stdout, dhatfile__info(f)->tu);
	}
	printf("\n");
	for (i = 0; i < nr; i++) {
		printf("    ");
		frametext__print(stdout, pp->frames[i]);
		printf("\n");
	}
	if (nr < pp->nr_frames)
		printf("    ... %u more frames\n", pp->nr_frames - nr);
}

static int report(const struct report_args *a, const struct dhatfile *f)
{
	uint32_t n = dhatfile__pp_count(f), i, kept = 0;
	struct ranked *r;

	if (!dhatfile__info(f)->bklt && a->sort != SORT_TOTAL && a->sort != SORT_BLOCKS) {
		fprintf(stderr, "dhat-trace: ");
		frametext__print(stderr, a->file);
		fprintf(stderr, ": has no block lifetimes (bklt is false): --sort=%s needs them\n",
			sort_names[a->sort]);
		return DT_EXIT_ERROR;
	}
	r = malloc((n ? n : 1) * sizeof(*r));
	if (!r) {
		fprintf(stderr, "dhat-trace: out of memory\n");
		return DT_EXIT_ERROR;
	}
	for (i = 0; i < n; i++) {
		const struct dhat_pp *pp = dhatfile__pp(f, i);

		if (filter_bytes(pp, a->sort) < a->min_bytes ||
		    (patterns__count(a->match) &&
		     !patterns__match(a->match, pp->frames, pp->nr_frames)))
			continue;
		r[kept++] = (struct ranked){ pp, i, sort_value(pp, a->sort) };
	}
	qsort(r, kept, sizeof(*r), cmp_ranked);
	print_header(a, f);
	printf("Sites:     %u; %u shown, by %s", n, kept < a->top ? kept : a->top,
	       sort_texts[a->sort]);
	if (kept < n)
		printf(" (%u left out by --min-bytes or --match)", n - kept);
	printf("\n");
	print_suspects(f);
	for (i = 0; i < kept && i < a->top; i++)
		print_site(a, f, i + 1, r[i].pp);
	free(r);
	return DT_EXIT_OK;
}

int report_cmd__main(int argc, char **argv)
{
	static const char doc[] =
		"Show the totals and the top call sites of a DHAT file: dhat-trace's, Valgrind's "
		"(valgrind --tool=dhat) or dhat-rs's.  FILE - reads standard input.\v"
		"Exit status: 0; 1 when FILE cannot be read or is not a valid DHAT file; 64 for "
		"bad usage.";
	static const struct argp argp = { options, parse_opt, "FILE", doc, NULL, NULL, NULL };
	struct report_args a = { .sort = SORT_TOTAL, .top = 10 };
	struct dhatfile *f = NULL;
	int ret = DT_EXIT_ERROR;

	a.match = patterns__new();
	if (!a.match) {
		fprintf(stderr, "dhat-trace: out of memory\n");
		return DT_EXIT_ERROR;
	}
	argp_err_exit_status = DT_EXIT_USAGE;
	argv[0] = "dhat-trace report";
	argp_parse(&argp, argc, argv, 0, NULL, &a);
	f = subcmd__load(a.file);
	if (f)
		ret = report(&a, f);
	dhatfile__free(f);
	patterns__free(a.match);
	return ret;
}
