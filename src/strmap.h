/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_STRMAP_H
#define DT_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Interning of byte strings: each distinct key gets the next id, from 0.
 * The keys are copied; the map gives them back by id, in order, as a
 * string table is written.
 */
struct strmap;

struct strmap *strmap__new(void);
void strmap__free(struct strmap *m);
/* The id of key (len bytes), added if new (*added says so; may be NULL).
 * -ENOMEM, else the id (>= 0). */
int64_t strmap__intern(struct strmap *m, const void *key, size_t len, bool *added);
uint32_t strmap__count(const struct strmap *m);
const char *strmap__key(const struct strmap *m, uint32_t id, size_t *len);

#endif
