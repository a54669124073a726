// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "capgate.h"
#include "sitelabel.h"

#define SHOW_SITES 10
/* Labels (after the allocator's wrappers: sitelabel.h) for the sites most
 * likely printed, the largest by each gate's measure; the rest keep the
 * gate's own (their first frames), should ignored sites push them up. */
#define LABELLED (2 * SHOW_SITES)

struct ranked {
	uint64_t key;
	uint32_t pp;
};

static int by_key(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return x->key != y->key ? (x->key < y->key ? 1 : -1) : (x->pp > y->pp) - (x->pp < y->pp);
}

/* Label the LABELLED largest sites by live bytes at the end (eb) or at the
 * peak (!eb) into labels[pp] (malloc'd). */
static void label_top(struct acct *a, struct symbolizer *sym, char **labels, bool eb)
{
	struct pps *pps = acct__pps(a);
	uint32_t n = pps__count(pps), i;
	struct ranked *r = calloc(n ? n : 1, sizeof(*r));
	char buf[512];

	if (!r)
		return;
	for (i = 0; i < n; i++)
		r[i] = (struct ranked){ eb ? pps__get(pps, i)->curr_b : pps__get(pps, i)->gb, i };
	qsort(r, n, sizeof(*r), by_key);
	for (i = 0; i < n && i < LABELLED && r[i].key; i++) {
		if (labels[r[i].pp])
			continue;
		sitelabel__format(a, sym, r[i].pp, buf, sizeof(buf));
		labels[r[i].pp] = strdup(buf);
	}
	free(r);
}

/* The site's frame strings, every inlined one too: what patterns match. */
static const char **frames_of(struct acct *a, struct symbolizer *sym, uint32_t pp, uint32_t *n)
{
	uint32_t nr, i, k = 0, cap = 0;
	const uint64_t *ips = stacks__frames(acct__stacks(a), pp, &nr);
	const char **v = NULL;

	for (i = 0; i < nr; i++) {
		const char *const *strs;
		int m = symbolizer__describe(sym, ips[i], &strs);

		if (k + (uint32_t)m > cap) {
			const char **w = realloc(v, (cap = (k + m) * 2) * sizeof(*v));

			if (!w) {
				free(v);
				return NULL;
			}
			v = w;
		}
		for (int j = 0; j < m; j++)
			v[k++] = strs[j];
	}
	*n = k;
	return v ? v : calloc(1, sizeof(*v));
}

int capgate__run(const struct dt_config *cfg, struct acct *a, struct symbolizer *sym,
		 struct gate_result *leak, struct gate_result *peak)
{
	struct gate_opts o = cfg->gate.opts;
	struct pps *pps = acct__pps(a);
	uint32_t i, n = pps__count(pps);
	const char ***frames = calloc(n ? n : 1, sizeof(*frames));
	char **labels = calloc(n ? n : 1, sizeof(*labels));
	struct gate *g;
	int err = 0;

	o.show = SHOW_SITES;
	g = gate__new(&o);

	if (!frames || !labels || !g) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (o.leak)
		label_top(a, sym, labels, true);
	if (o.peak)
		label_top(a, sym, labels, false);
	for (i = 0; i < n && !err; i++) {
		const struct dt_pp *pp = pps__get(pps, i);
		struct gate_site site = { .eb = pp->curr_b, .ebk = pp->curr_bk, .gb = pp->gb,
					  .gbk = pp->gbk };

		if (!(o.leak && site.eb) && !(o.peak && site.gb))
			continue;
		frames[i] = frames_of(a, sym, i, &site.nr_frames);
		if (!frames[i]) {
			err = -ENOMEM;
			break;
		}
		site.frames = frames[i];
		site.label = labels[i];
		err = gate__add(g, &site);
	}
	if (!err) {
		gate__report(g, stderr, "dhat-trace: ");
		gate__results(g, leak, peak);
	}
cleanup:
	for (i = 0; frames && i < n; i++)
		free(frames[i]);
	for (i = 0; labels && i < n; i++)
		free(labels[i]);
	free(frames);
	free(labels);
	gate__free(g);
	return err;
}
