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

/* An id and the stack it names: several ids name one stack when the same
 * frames were taken in several map epochs (see targetview.h). */
struct id_slot {
	uint64_t id;
	uint32_t idx1;	/* 0 = empty, else index + 1 */
};

struct stacks {
	struct stack_ent *ents;
	uint32_t count, cap;
	uint64_t *frames;
	uint64_t nframes;
	size_t frames_cap;
	struct id_slot *index;	/* open addressing by id */
	uint32_t index_mask, nids;
	uint32_t *by_frames;	/* open addressing over ents by their frames; idx+1 */
	uint64_t collisions;
};

static uint32_t id_slot(const struct stacks *s, uint64_t id)
{
	return (uint32_t)((id * 0x9E3779B97F4A7C15ULL) >> 32) & s->index_mask;
}

static uint64_t frames_hash(const uint64_t *ips, uint32_t nr)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ nr;
	uint32_t i;

	for (i = 0; i < nr; i++)
		h = (h ^ ips[i]) * 0x100000001b3ULL;
	return h ^ (h >> 31);
}

static void put_id(struct stacks *s, uint64_t id, uint32_t idx)
{
	uint32_t j = id_slot(s, id);

	while (s->index[j].idx1)
		j = (j + 1) & s->index_mask;
	s->index[j] = (struct id_slot){ id, idx + 1 };
}

static void put_frames(struct stacks *s, uint32_t idx)
{
	const struct stack_ent *e = &s->ents[idx];
	uint32_t j = id_slot(s, frames_hash(&s->frames[e->off], e->nr));

	while (s->by_frames[j])
		j = (j + 1) & s->index_mask;
	s->by_frames[j] = idx + 1;
}

/* Both indexes stay at most half full, sized together. */
static int index_grow(struct stacks *s)
{
	uint32_t n = (s->index_mask + 1) * 2, i, old = s->index_mask + 1;
	struct id_slot *idx = calloc(n, sizeof(*idx)), *prev = s->index;
	uint32_t *byf = calloc(n, sizeof(*byf));

	if (!idx || !byf) {
		free(idx);
		free(byf);
		return -ENOMEM;
	}
	s->index = idx;
	free(s->by_frames);
	s->by_frames = byf;
	s->index_mask = n - 1;
	for (i = 0; i < old; i++)
		if (prev[i].idx1)
			put_id(s, prev[i].id, prev[i].idx1 - 1);
	free(prev);
	for (i = 1; i < s->count; i++)
		put_frames(s, i);
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
	s->by_frames = calloc(s->index_mask + 1, sizeof(*s->by_frames));
	if (!s->ents || !s->index || !s->by_frames) {
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
	free(s->by_frames);
	free(s);
}

int stacks__lookup(const struct stacks *s, uint64_t id)
{
	uint32_t j = id_slot(s, id);

	while (s->index[j].idx1) {
		if (s->index[j].id == id)
			return (int)s->index[j].idx1 - 1;
		j = (j + 1) & s->index_mask;
	}
	return -ENOENT;
}

static int lookup_frames(const struct stacks *s, const uint64_t *ips, uint32_t nr)
{
	uint32_t j = id_slot(s, frames_hash(ips, nr));

	while (s->by_frames[j]) {
		const struct stack_ent *e = &s->ents[s->by_frames[j] - 1];

		if (e->nr == nr && !memcmp(&s->frames[e->off], ips, nr * sizeof(*ips)))
			return (int)s->by_frames[j] - 1;
		j = (j + 1) & s->index_mask;
	}
	return -ENOENT;
}

int stacks__add(struct stacks *s, uint64_t id, const uint64_t *ips, uint32_t nr)
{
	struct stack_ent *e;
	int idx = stacks__lookup(s, id);
	if (idx >= 0) {
		e = &s->ents[idx];
		if (e->nr != nr || memcmp(&s->frames[e->off], ips, nr * sizeof(*ips)))
			s->collisions++;
		return idx;
	}
	if ((uint64_t)(s->nids + 1) * 2 > (uint64_t)s->index_mask + 1 && index_grow(s))
		return -ENOMEM;
	idx = lookup_frames(s, ips, nr);
	if (idx >= 0) {
		put_id(s, id, (uint32_t)idx);
		s->nids++;
		return idx;
	}
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
	put_id(s, id, s->count);
	s->nids++;
	put_frames(s, s->count);
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

static size_t bytes_of(size_t ents, size_t frames, size_t slots)
{
	return sizeof(struct stacks) + ents * sizeof(struct stack_ent) + frames * sizeof(uint64_t) +
	       slots * (sizeof(struct id_slot) + sizeof(uint32_t));
}

size_t stacks__mem_bytes(const struct stacks *s)
{
	return bytes_of(s->cap, s->frames_cap, (size_t)s->index_mask + 1);
}

/* Mirrors stacks__add's growth: ents and the indexes double, frames as
 * array_reserve does. */
size_t stacks__mem_after_add(const struct stacks *s, uint32_t nr)
{
	size_t ents = s->count == s->cap ? (size_t)s->cap * 2 : s->cap;
	size_t slots = (size_t)s->index_mask + 1, frames = s->frames_cap ? s->frames_cap : 4096;

	if ((size_t)(s->nids + 1) * 2 > slots)
		slots *= 2;
	while (frames < s->nframes + nr)
		frames *= 2;
	return bytes_of(ents, frames, slots);
}
