// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * dhatfile__parse on arbitrary bytes: `report`, `diff` and `check` read
 * files from anywhere (CI artifacts, other tools).  An input is rejected
 * with one line of reason, or accepted with every frame a string of the
 * table and totals that are the sums; the frame-text helpers and the gates
 * then run over what was accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dhatfile.h"
#include "frametext.h"
#include "gate.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void frames(const struct dhat_pp *pp, struct gate *g)
{
	char buf[256];
	uint32_t i, first, n;

	for (i = 0; i < pp->nr_frames; i++) {
		const char *s = frametext__strip(pp->frames[i]);

		if (frametext__function_len(s) > strlen(s))
			abort();
		frametext__key(s, buf, sizeof(buf));
		frametext__is_valgrind_alloc(s);
		frametext__is_main(s);
	}
	n = frametext__span(pp->frames, pp->nr_frames, 0, &first);
	if (first + n > pp->nr_frames)
		abort();
	frametext__label(pp->frames, pp->nr_frames, 2, buf, sizeof(buf));
	if (strlen(buf) >= sizeof(buf))
		abort();
	gate__add(g, &(struct gate_site){ pp->eb, pp->ebk, pp->gb, pp->gbk, pp->frames,
					  pp->nr_frames, NULL });
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct patterns *ign = patterns__new();
	struct gate_opts o = { .leak = true, .peak = true, .ignore = ign, .show = 3 };
	const struct dhat_suspect *s;
	struct dhat_totals sum = { 0 };
	struct dhatfile *f;
	struct gate *g;
	char why[256];
	uint32_t i, n;
	FILE *null;

	why[0] = '\0';
	f = dhatfile__parse((const char *)data, size, why, sizeof(why));
	if (!f) {
		if (!why[0] || strchr(why, '\n'))
			abort();
		patterns__free(ign);
		return 0;
	}
	patterns__add(ign, "*main*");
	g = gate__new(&o);
	n = dhatfile__pp_count(f);
	for (i = 0; i < n; i++) {
		const struct dhat_pp *pp = dhatfile__pp(f, i);

		sum.tb = sat_add(sum.tb, pp->tb);
		sum.eb = sat_add(sum.eb, pp->eb);
		frames(pp, g);
	}
	if (sum.tb != dhatfile__totals(f)->tb || sum.eb != dhatfile__totals(f)->eb)
		abort();
	n = dhatfile__suspects(f, &s, NULL);
	for (i = 0; i < n; i++)
		if (s[i].pp >= dhatfile__pp_count(f) || !s[i].reason)
			abort();
	null = fopen("/dev/null", "w");
	if (null) {
		gate__report(g, null, "");
		fclose(null);
	}
	gate__free(g);
	patterns__free(ign);
	dhatfile__free(f);
	return 0;
}
