// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * dhat-trace diff BEFORE AFTER: per call site, how total, t-gmax and t-end
 * changed.  Sites are matched by their frames' text without addresses,
 * which move between runs and builds (frametext__span, frametext__key);
 * sites of one file whose texts are equal are added up first.
 */
#include <argp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "frametext.h"
#include "subcmd.h"
#include "util.h"

enum { TB, TBK, GB, GBK, EB, EBK, NR_VALS };

struct diff_args {
	const char *file[2];
	unsigned int top, depth;
};

struct site {
	char *key;		/* frames' keys, '\n' between them */
	uint64_t v[NR_VALS];
};

struct side {
	struct site *s;
	size_t nr;
};

struct row {
	const struct site *site[2];	/* NULL: not in that file */
	double d[NR_VALS];		/* after - before */
};

static const struct argp_option options[] = {
	{ "top", 'n', "N", 0, "Changed sites shown (default 20)", 0 },
	{ "frames", 'f', "N", 0, "Match sites by their N innermost frames only (default: all, up "
	  "to main)", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, NULL, 0 },
	{},
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct diff_args *a = state->input;

	switch (key) {
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case 'n':
		a->top = subcmd__number("diff", "--top", arg, 1, 1000000);
		break;
	case 'f':
		a->depth = subcmd__number("diff", "--frames", arg, 1, 100000);
		break;
	case ARGP_KEY_ARG:
		if (state->arg_num >= 2)
			subcmd__usage_error("diff", "two files only (extra: '%s')", arg);
		a->file[state->arg_num] = arg;
		break;
	case ARGP_KEY_END:
		if (state->arg_num < 2)
			subcmd__usage_error("diff", "give two files, BEFORE and AFTER%s",
					    "");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static char *site_key(const struct dhat_pp *pp, unsigned int depth)
{
	uint32_t first, n = frametext__span(pp->frames, pp->nr_frames, depth, &first), i;
	size_t len = 1, o = 0;
	char *key;

	for (i = 0; i < n; i++)
		len += strlen(frametext__strip(pp->frames[first + i])) + 2;
	key = malloc(len);
	if (!key)
		return NULL;
	key[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i)
			key[o++] = '\n';
		frametext__key(frametext__strip(pp->frames[first + i]), key + o, len - o);
		/* Printed as it is: no control characters, and '\n' is ours. */
		for (; key[o]; o++)
			if ((unsigned char)key[o] < 0x20 || key[o] == 0x7f)
				key[o] = '?';
	}
	return key;
}

static int cmp_site(const void *a, const void *b)
{
	return strcmp(((const struct site *)a)->key, ((const struct site *)b)->key);
}

/* The file's sites by key, equal keys added up.  0 or -ENOMEM. */
static int side_build(struct side *sd, const struct dhatfile *f, unsigned int depth)
{
	uint32_t n = dhatfile__pp_count(f), i;
	size_t o = 0, k;

	sd->s = calloc(n ? n : 1, sizeof(*sd->s));
	if (!sd->s)
		return -1;
	for (i = 0; i < n; i++) {
		const struct dhat_pp *pp = dhatfile__pp(f, i);
		uint64_t v[NR_VALS] = { pp->tb, pp->tbk, pp->gb, pp->gbk, pp->eb, pp->ebk };

		sd->s[i].key = site_key(pp, depth);
		if (!sd->s[i].key)
			return -1;
		memcpy(sd->s[i].v, v, sizeof(v));
		sd->nr++;
	}
	qsort(sd->s, sd->nr, sizeof(*sd->s), cmp_site);
	for (i = 0; i < sd->nr; i++) {
		if (o && !strcmp(sd->s[o - 1].key, sd->s[i].key)) {
			for (k = 0; k < NR_VALS; k++)
				sd->s[o - 1].v[k] = sat_add(sd->s[o - 1].v[k], sd->s[i].v[k]);
			free(sd->s[i].key);
			continue;
		}
		sd->s[o++] = sd->s[i];
	}
	sd->nr = o;
	return 0;
}

static void side_free(struct side *sd)
{
	size_t i;

	for (i = 0; sd->s && i < sd->nr; i++)
		free(sd->s[i].key);
	free(sd->s);
}

static double absd(double x)
{
	return x < 0 ? -x : x;
}

/* Largest change at t-end first, then at t-gmax, then in total; then by
 * frames, so that the output does not depend on the files' order. */
static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	static const int order[] = { EB, GB, TB, EBK, GBK, TBK };
	const struct site *sx, *sy;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(order); i++)
		if (absd(x->d[order[i]]) != absd(y->d[order[i]]))
			return absd(x->d[order[i]]) < absd(y->d[order[i]]) ? 1 : -1;
	sx = x->site[0] ? x->site[0] : x->site[1];
	sy = y->site[0] ? y->site[0] : y->site[1];
	return strcmp(sx->key, sy->key);
}

static void fmt_change(uint64_t before, uint64_t after, const char *unit, char *buf, size_t len)
{
	char b1[32], b2[32], b3[32];

	fmt_thousands(before, b1, 32);
	fmt_thousands(after, b2, 32);
	fmt_thousands(after > before ? after - before : before - after, b3, 32);
	snprintf(buf, len, "%s -> %s %s (%s%s)", b1, b2, unit,
		 after > before ? "+" : after < before ? "-" : "", b3);
}

static void print_pair(const char *what, const uint64_t *b, const uint64_t *a, int bytes)
{
	char s1[128], s2[128];

	fmt_change(b[bytes], a[bytes], "bytes", s1, sizeof(s1));
	fmt_change(b[bytes + 1], a[bytes + 1], "blocks", s2, sizeof(s2));
	printf("%s%s, %s", what, s1, s2);
}

static void print_row(unsigned int rank, const struct row *r)
{
	static const uint64_t zero[NR_VALS];
	const uint64_t *b = r->site[0] ? r->site[0]->v : zero, *a = r->site[1] ? r->site[1]->v : zero;
	const char *key = (r->site[0] ? r->site[0] : r->site[1])->key, *nl;

	printf("\n#%u %s: ", rank, !r->site[0] ? "new" : !r->site[1] ? "gone" : "changed");
	print_pair("t-end ", b, a, EB);
	print_pair("; t-gmax ", b, a, GB);
	print_pair("; total ", b, a, TB);
	printf("\n");
	do {
		nl = strchr(key, '\n');
		printf("    %.*s\n", nl ? (int)(nl - key) : (int)strlen(key), key);
		key = nl + 1;
	} while (nl);
}

static void print_totals(const struct diff_args *args, const struct dhatfile *f[2])
{
	const struct dhat_totals *tb = dhatfile__totals(f[0]), *ta = dhatfile__totals(f[1]);
	const uint64_t b[NR_VALS] = { tb->tb, tb->tbk, tb->gb, tb->gbk, tb->eb, tb->ebk };
	const uint64_t a[NR_VALS] = { ta->tb, ta->tbk, ta->gb, ta->gbk, ta->eb, ta->ebk };
	int i;

	for (i = 0; i < 2; i++) {
		printf(i ? "After:     " : "Before:    ");
		frametext__print(stdout, args->file[i]);
		printf(" (");
		frametext__print(stdout, dhatfile__info(f[i])->cmd);
		printf(")\n");
	}
	print_pair("Total:     ", b, a, TB);
	print_pair("\nAt t-gmax: ", b, a, GB);
	print_pair("\nAt t-end:  ", b, a, EB);
	printf("\n");
}

static int diff(const struct diff_args *args, const struct dhatfile *f[2])
{
	struct side sd[2] = { { 0 } };
	struct row *rows = NULL;
	size_t i = 0, j = 0, n = 0, k, same = 0, added = 0, gone = 0;
	int ret = DT_EXIT_ERROR, c;

	if (side_build(&sd[0], f[0], args->depth) || side_build(&sd[1], f[1], args->depth) ||
	    !(rows = calloc(sd[0].nr + sd[1].nr + 1, sizeof(*rows)))) {
		fprintf(stderr, "dhat-trace: out of memory\n");
		goto cleanup;
	}
	/* Both sides are sorted by key: one merge pass pairs them. */
	while (i < sd[0].nr || j < sd[1].nr) {
		struct row r = { { NULL, NULL }, { 0 } };

		c = i == sd[0].nr ? 1 : j == sd[1].nr ? -1 : strcmp(sd[0].s[i].key, sd[1].s[j].key);
		if (c <= 0)
			r.site[0] = &sd[0].s[i++];
		if (c >= 0)
			r.site[1] = &sd[1].s[j++];
		for (k = 0; k < NR_VALS; k++)
			r.d[k] = (double)(r.site[1] ? r.site[1]->v[k] : 0) -
				 (double)(r.site[0] ? r.site[0]->v[k] : 0);
		added += !r.site[0];
		gone += !r.site[1];
		if (r.site[0] && r.site[1] && !memcmp(r.site[0]->v, r.site[1]->v, sizeof(r.site[0]->v))) {
			same++;
			continue;
		}
		rows[n++] = r;
	}
	qsort(rows, n, sizeof(*rows), cmp_row);
	print_totals(args, f);
	printf("Sites:     %zu in both (%zu changed, %zu unchanged), %zu new, %zu gone; by the "
	       "change at t-end\n", n + same - added - gone, n - added - gone, same, added, gone);
	for (k = 0; k < n && k < args->top; k++)
		print_row((unsigned int)k + 1, &rows[k]);
	if (n > args->top)
		printf("\n... %zu more changed sites (--top)\n", n - args->top);
	ret = DT_EXIT_OK;
cleanup:
	free(rows);
	side_free(&sd[0]);
	side_free(&sd[1]);
	return ret;
}

int diff_cmd__main(int argc, char **argv)
{
	static const char doc[] =
		"Compare two DHAT files (dhat-trace's, Valgrind's, dhat-rs's, in any pair) call "
		"site by call site: the change of total, t-gmax and t-end bytes and blocks, largest "
		"change at t-end first; sites in only one file are new or gone.  Sites are matched "
		"by their frames' text (function, file and line), without addresses and without "
		"Valgrind's allocator frames, up to main; equal sites of one file are added up.\v"
		"Exit status: 0; 1 when a file cannot be read or is not a valid DHAT file; 64 for "
		"bad usage.";
	static const struct argp argp = { options, parse_opt, "BEFORE AFTER", doc, NULL, NULL,
					  NULL };
	struct diff_args a = { .top = 20 };
	const struct dhatfile *f[2] = { NULL, NULL };
	int ret = DT_EXIT_ERROR;

	argp_err_exit_status = DT_EXIT_USAGE;
	argv[0] = "dhat-trace diff";
	argp_parse(&argp, argc, argv, 0, NULL, &a);
	f[0] = subcmd__load(a.file[0]);
	f[1] = f[0] ? subcmd__load(a.file[1]) : NULL;
	if (f[1])
		ret = diff(&a, f);
	dhatfile__free((struct dhatfile *)f[0]);
	dhatfile__free((struct dhatfile *)f[1]);
	return ret;
}
