// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "frametext.h"
#include "patterns.h"

struct patterns {
	char **pat;
	unsigned int nr, cap;
};

struct patterns *patterns__new(void)
{
	return calloc(1, sizeof(struct patterns));
}

void patterns__free(struct patterns *p)
{
	unsigned int i;

	if (!p)
		return;
	for (i = 0; i < p->nr; i++)
		free(p->pat[i]);
	free(p->pat);
	free(p);
}

int patterns__add(struct patterns *p, const char *pattern)
{
	char **v;

	if (p->nr == p->cap) {
		v = realloc(p->pat, (p->cap ? p->cap * 2 : 8) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->pat = v;
		p->cap = p->cap ? p->cap * 2 : 8;
	}
	p->pat[p->nr] = strdup(pattern);
	if (!p->pat[p->nr])
		return -ENOMEM;
	p->nr++;
	return 0;
}

int patterns__load(struct patterns *p, const char *path, unsigned int *line)
{
	char buf[4096], *s, *e;
	FILE *f;
	int err = 0;

	*line = 0;
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(buf, sizeof(buf), f)) {
		++*line;
		e = buf + strlen(buf);
		if (e[-1] != '\n' && !feof(f)) {
			err = -E2BIG;
			goto cleanup;
		}
		for (s = buf; isspace((unsigned char)*s); s++)
			;
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (!*s || *s == '#')
			continue;
		err = patterns__add(p, s);
		if (err)
			goto cleanup;
	}
	if (ferror(f))
		err = -EIO;
cleanup:
	fclose(f);
	return err;
}

unsigned int patterns__count(const struct patterns *p)
{
	return p ? p->nr : 0;
}

static bool match_frame(const struct patterns *p, const char *frame)
{
	const char *s = frametext__strip(frame);
	size_t fn = frametext__function_len(s);
	char *name = NULL;
	bool hit = false;
	unsigned int i;

	for (i = 0; i < p->nr && !hit; i++) {
		if (!fnmatch(p->pat[i], s, 0)) {
			hit = true;
			break;
		}
		if (!name)
			name = strndup(s, fn);
		hit = name && !fnmatch(p->pat[i], name, 0);
	}
	free(name);
	return hit;
}

bool patterns__match(const struct patterns *p, const char *const *frames, uint32_t nr)
{
	uint32_t i;

	if (!p || !p->nr)
		return false;
	for (i = 0; i < nr; i++)
		if (match_frame(p, frames[i]))
			return true;
	return false;
}
