// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "stacks.h"
#include "util.h"

struct stack_ent {
	uint64_t id;
	uint64_t off;	/* into frames[] */
	uint32_t nr;
};

struct stacks {
	struct stack_ent *ents;
	uint32_t count, cap;
	uint64_t *frames;
	uint64_t nframes;
	size_t frames_cap;
	uint32_t *index;	/* open addressing over ents by id; 0 = empty, else idx+1 */
	uint32_t index_mask;
	uint64_t collisions;
};

static uint32_t id_slot(const struct stacks *s, uint64_t id)
{
	return (uint32_t)((id * 0x9E3779B97F4A7C15ULL) >> 32) & s->index_mask;
}

static int index_grow(struct stacks *s)
{
	uint32_t n = (s->index_mask + 1) * 2, i, j;
	uint32_t *idx = calloc(n, sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	free(s->index);
	s->index = idx;
	s->index_mask = n - 1;
	for (i = 1; i < s->count; i++) {
		j = id_slot(s, s->ents[i].id);
		while (s->index[j])
			j = (j + 1) & s->index_mask;
		s->index[j] = i + 1;
	}
	return 0;
}

struct stacks *stacks__new(void)
{
	struct stacks *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cap = 256;
	s->ents = calloc(s->cap, sizeof(*s->ents));
	s->index_mask = 511;
	s->index = calloc(s->index_mask + 1, sizeof(*s->index));
	if (!s->ents || !s->index) {
		stacks__free(s);
		return NULL;
	}
	s->count = 1;	/* index 0: the empty stack */
	return s;
}

void stacks__free(struct stacks *s)
{
	if (!s)
		return;
	free(s->ents);
	free(s->frames);
	free(s->index);
	free(s);
}

int stacks__lookup(const struct stacks *s, uint64_t id)
{
	uint32_t j = id_slot(s, id);

	while (s->index[j]) {
		if (s->ents[s->index[j] - 1].id == id)
			return (int)s->index[j] - 1;
		j = (j + 1) & s->index_mask;
	}
	return -ENOENT;
}

int stacks__add(struct stacks *s, uint64_t id, const uint64_t *ips, uint32_t nr)
{
	struct stack_ent *e;
	int idx = stacks__lookup(s, id);
	uint32_t j;

	if (idx >= 0) {
		e = &s->ents[idx];
		if (e->nr != nr || memcmp(&s->frames[e->off], ips, nr * sizeof(*ips)))
			s->collisions++;
		return idx;
	}
	if ((uint64_t)(s->count + 1) * 2 > (uint64_t)s->index_mask + 1 && index_grow(s))
		return -ENOMEM;
	if (s->count == s->cap) {
		e = realloc(s->ents, s->cap * 2 * sizeof(*s->ents));
		if (!e)
			return -ENOMEM;
		s->ents = e;
		s->cap *= 2;
	}
	if (array_reserve(&s->frames, &s->frames_cap, s->nframes + nr, sizeof(*s->frames)))
		return -ENOMEM;
	e = &s->ents[s->count];
	e->id = id;
	e->nr = nr;
	e->off = s->nframes;
	if (nr)
		memcpy(&s->frames[s->nframes], ips, nr * sizeof(*ips));
	s->nframes += nr;
	j = id_slot(s, id);
	while (s->index[j])
		j = (j + 1) & s->index_mask;
	s->index[j] = s->count + 1;
	return (int)s->count++;
}

const uint64_t *stacks__frames(const struct stacks *s, uint32_t idx, uint32_t *nr)
{
	if (idx >= s->count || !s->ents[idx].nr) {
		*nr = 0;
		return NULL;
	}
	*nr = s->ents[idx].nr;
	return &s->frames[s->ents[idx].off];
}

uint32_t stacks__count(const struct stacks *s)
{
	return s->count;
}

uint64_t stacks__collisions(const struct stacks *s)
{
	return s->collisions;
}
