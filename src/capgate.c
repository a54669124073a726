// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "capgate.h"

#define SHOW_SITES 10

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
	struct gate_opts o = { .leak = cfg->fail_on_leak, .leak_limit = cfg->leak_limit,
			       .peak = cfg->max_peak, .peak_limit = cfg->peak_limit,
			       .ignore = cfg->ignore, .show = SHOW_SITES };
	struct pps *pps = acct__pps(a);
	uint32_t i, n = pps__count(pps);
	const char ***frames = calloc(n ? n : 1, sizeof(*frames));
	struct gate *g = gate__new(&o);
	int err = 0;

	if (!frames || !g) {
		err = -ENOMEM;
		goto cleanup;
	}
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
		err = gate__add(g, &site);
	}
	if (!err) {
		gate__report(g, stderr, "dhat-trace: ");
		gate__results(g, leak, peak);
	}
cleanup:
	for (i = 0; frames && i < n; i++)
		free(frames[i]);
	free(frames);
	gate__free(g);
	return err;
}
