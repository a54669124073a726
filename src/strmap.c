// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "strmap.h"
#include "util.h"

struct strkey {
	char *s;	/* NUL-terminated copy, for callers that want a C string */
	size_t len;
	uint64_t hash;
};

struct strmap {
	struct strkey *keys;	/* by id */
	size_t nr, cap;
	uint32_t *slots;	/* id + 1; 0: empty.  Open addressing, linear probes. */
	size_t mask;
};

static uint64_t hash_of(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

struct strmap *strmap__new(void)
{
	struct strmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->mask = 1023;
	m->slots = calloc(m->mask + 1, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void strmap__free(struct strmap *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nr; i++)
		free(m->keys[i].s);
	free(m->keys);
	free(m->slots);
	free(m);
}

static size_t slot_of(const struct strmap *m, const void *key, size_t len, uint64_t h)
{
	size_t i = (size_t)h & m->mask;
	const struct strkey *k;

	for (; m->slots[i]; i = (i + 1) & m->mask) {
		k = &m->keys[m->slots[i] - 1];
		if (k->hash == h && k->len == len && !memcmp(k->s, key, len))
			break;
	}
	return i;
}

/* Twice the slots: kept at most half full. */
static int grow(struct strmap *m)
{
	size_t n = (m->mask + 1) * 2, i;
	uint32_t *old = m->slots;

	m->slots = calloc(n, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -ENOMEM;
	}
	m->mask = n - 1;
	for (i = 0; i < m->nr; i++)
		m->slots[slot_of(m, m->keys[i].s, m->keys[i].len, m->keys[i].hash)] =
			(uint32_t)i + 1;
	free(old);
	return 0;
}

int64_t strmap__intern(struct strmap *m, const void *key, size_t len, bool *added)
{
	uint64_t h = hash_of(key, len);
	size_t i = slot_of(m, key, len, h);
	char *copy;

	if (added)
		*added = false;
	if (m->slots[i])
		return m->slots[i] - 1;
	if ((m->nr + 1) * 2 > m->mask + 1) {
		if (grow(m))
			return -ENOMEM;
		i = slot_of(m, key, len, h);
	}
	if (m->nr >= UINT32_MAX - 1 || array_reserve(&m->keys, &m->cap, m->nr + 1, sizeof(*m->keys)))
		return -ENOMEM;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, key, len);
	copy[len] = '\0';
	m->keys[m->nr] = (struct strkey){ copy, len, h };
	m->slots[i] = (uint32_t)++m->nr;
	if (added)
		*added = true;
	return (int64_t)m->nr - 1;
}

uint32_t strmap__count(const struct strmap *m)
{
	return (uint32_t)m->nr;
}

const char *strmap__key(const struct strmap *m, uint32_t id, size_t *len)
{
	if (len)
		*len = m->keys[id].len;
	return m->keys[id].s;
}
