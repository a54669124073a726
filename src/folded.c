// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "folded.h"
#include "frametext.h"
#include "outfile.h"
#include "util.h"

static const char *const weight_names[] = { "tend", "tgmax", "total" };

int folded__weight_of(const char *name, enum folded_weight *w)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(weight_names); i++)
		if (!strcmp(name, weight_names[i])) {
			*w = (enum folded_weight)i;
			return 0;
		}
	return -EINVAL;
}

struct stack {
	char *text;
	uint64_t weight;
};

static uint64_t weight_of(const struct dhat_pp *pp, enum folded_weight w)
{
	return w == FOLDED_TEND ? pp->eb : w == FOLDED_TGMAX ? pp->gb : pp->tb;
}

/* The names, outermost first; NULL on ENOMEM. */
static char *stack_text(const struct dhat_pp *pp)
{
	struct frame_parts fp;
	size_t len = 0, cap = 0, i;
	uint32_t k;
	char *s = NULL;

	/* Valgrind's own malloc frames: dhat-trace and dhat-rs show none. */
	for (k = pp->nr_frames; k-- > 0;) {
		const char *f = frametext__strip(pp->frames[k]);

		if (frametext__is_valgrind_alloc(f))
			continue;
		frametext__parts(f, &fp);
		if (array_reserve(&s, &cap, len + fp.fn_len + 2, 1)) {
			free(s);
			return NULL;
		}
		if (len)
			s[len++] = ';';
		for (i = 0; i < fp.fn_len; i++) {
			unsigned char c = (unsigned char)fp.fn[i];

			/* flamegraph.pl splits frames at ';' and lines at '\n'. */
			s[len++] = c == ';' ? ':' : c < 0x20 || c == 0x7f ? '?' : (char)c;
		}
	}
	if (array_reserve(&s, &cap, len + 1, 1)) {
		free(s);
		return NULL;
	}
	s[len] = '\0';
	return s;
}

static int cmp_stack(const void *a, const void *b)
{
	return strcmp(((const struct stack *)a)->text, ((const struct stack *)b)->text);
}

int folded__write(const struct dhatfile *f, enum folded_weight w, const char *path)
{
	uint32_t n = dhatfile__pp_count(f), i, j, k = 0;
	struct stack *st = NULL;
	struct outfile o;
	uint64_t sum;
	int err = -ENOMEM;

	if (w != FOLDED_TOTAL && !dhatfile__info(f)->bklt)
		return -EINVAL;
	st = calloc(n ? n : 1, sizeof(*st));
	if (!st)
		goto cleanup;
	for (i = 0; i < n; i++) {
		const struct dhat_pp *pp = dhatfile__pp(f, i);

		if (!weight_of(pp, w))
			continue;
		st[k].weight = weight_of(pp, w);
		st[k].text = stack_text(pp);
		if (!st[k++].text)
			goto cleanup;
	}
	/* Sites whose stacks differ only in addresses or lines fold into one. */
	qsort(st, k, sizeof(*st), cmp_stack);
	err = outfile__open(&o, path);
	if (err)
		goto cleanup;
	for (i = 0; i < k; i = j) {
		for (sum = 0, j = i; j < k && !strcmp(st[i].text, st[j].text); j++)
			sum = sat_add(sum, st[j].weight);
		fprintf(o.f, "%s %llu\n", st[i].text[0] ? st[i].text : "[no frames]",
			(unsigned long long)sum);
	}
	err = outfile__commit(&o);
cleanup:
	for (i = 0; st && i < k; i++)
		free(st[i].text);
	free(st);
	return err;
}
