// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "sitelabel.h"

#define MAX_WRAPPERS 8
#define WRAPPER_CALLERS 3

/* Whether two frame descriptions name one function ("fn (file:line)"). */
static bool same_function(const char *x, const char *y)
{
	size_t nx = strcspn(x, "("), ny = strcspn(y, "(");

	return nx == ny && strncmp(x, y, nx) == 0 && strncmp(x, "???", 3) != 0;
}

/* Whether the site's frames 0..j all name the functions ref's do. */
static bool same_path(struct symbolizer *sym, const uint64_t *f, uint32_t nf,
		      const uint64_t *ref, uint32_t j)
{
	uint32_t t;

	if (nf <= j + 1)
		return false;
	for (t = 0; t <= j; t++)
		if (f[t] != ref[t] &&
		    !same_function(symbolizer__site(sym, f[t]), symbolizer__site(sym, ref[t])))
			return false;
	return true;
}

/* Whether frame j of ref (after wrappers 0..j-1) is a wrapper too. */
static bool is_wrapper(struct acct *a, struct symbolizer *sym, const uint64_t *ref, uint32_t j)
{
	struct stacks *st = acct__stacks(a);
	uint32_t n = pps__count(acct__pps(a)), q, k, ncallers = 0, nf;
	const char *callers[WRAPPER_CALLERS];

	if (!strncmp(symbolizer__site(sym, ref[j]), "???", 3))
		return false;
	for (q = 0; q < n && ncallers < WRAPPER_CALLERS; q++) {
		const uint64_t *f = stacks__frames(st, q, &nf);
		const char *c;

		if (!same_path(sym, f, nf, ref, j))
			continue;
		c = symbolizer__site(sym, f[j + 1]);
		for (k = 0; k < ncallers && !same_function(callers[k], c); k++)
			;
		if (k == ncallers && strncmp(c, "???", 3))
			callers[ncallers++] = c;
	}
	return ncallers >= WRAPPER_CALLERS;
}

void sitelabel__format(struct acct *a, struct symbolizer *sym, uint32_t pp, char *buf,
		       size_t len)
{
	uint32_t nr, skip = 0, i;
	const uint64_t *ips = stacks__frames(acct__stacks(a), pp, &nr);
	size_t o = 0;

	if (!nr) {
		snprintf(buf, len, "[stack not captured]");
		return;
	}
	while (skip < MAX_WRAPPERS && skip + 2 < nr && is_wrapper(a, sym, ips, skip))
		skip++;
	buf[0] = '\0';
	for (i = skip; i < nr && i < skip + 2 && o < len; i++)
		o += snprintf(buf + o, len - o, "%s%s", i > skip ? " <- " : "",
			      symbolizer__site(sym, ips[i]));
}

void sitelabel__difference(struct acct *a, struct symbolizer *sym, uint32_t pp, uint32_t other,
			   char *buf, size_t len)
{
	uint32_t n1, n2, i, first = UINT32_MAX;
	const uint64_t *f1 = stacks__frames(acct__stacks(a), pp, &n1);
	const uint64_t *f2 = stacks__frames(acct__stacks(a), other, &n2);

	for (i = 0; i < n1 && i < n2; i++) {
		const char *x = symbolizer__site(sym, f1[i]);

		if (f1[i] == f2[i])
			continue;
		if (strcmp(x, symbolizer__site(sym, f2[i]))) {
			snprintf(buf, len, "%s", x);
			return;
		}
		if (first == UINT32_MAX)
			first = i;
	}
	if (i < n1 && n1 != n2)
		snprintf(buf, len, "%s", symbolizer__site(sym, f1[i]));
	else if (first != UINT32_MAX) {
		const char *const *strs;

		/* The address as the file's frames show it ("0x55...: fn ..."). */
		symbolizer__describe(sym, f1[first], &strs);
		snprintf(buf, len, "another call on that line, at %.*s", (int)strcspn(strs[0], ":"),
			 strs[0]);
	}
	else
		snprintf(buf, len, "a stack of its own");
}
