/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_STACKS_H
#define DT_STACKS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Interned stacks.  The BPF side names a stack by a 64-bit hash and sends
 * its frames only the first time; here each distinct stack gets a dense
 * index, which is also its program point.  Index 0 is the empty stack, the
 * program point of allocations whose stack is unknown.
 */
struct stacks;

struct stacks *stacks__new(void);
void stacks__free(struct stacks *s);
/* Intern frames under id; returns the index, or -errno.  Known id with other
 * frames is a hash collision: counted, the first frames are kept.  A new id
 * with the frames of a known stack names that stack. */
int stacks__add(struct stacks *s, uint64_t id, const uint64_t *ips, uint32_t nr);
/* Index of id, or -ENOENT. */
int stacks__lookup(const struct stacks *s, uint64_t id);
const uint64_t *stacks__frames(const struct stacks *s, uint32_t idx, uint32_t *nr);
uint32_t stacks__count(const struct stacks *s);
uint64_t stacks__collisions(const struct stacks *s);
/* Bytes held now, and after adding a new stack of nr frames (its growth). */
size_t stacks__mem_bytes(const struct stacks *s);
size_t stacks__mem_after_add(const struct stacks *s, uint32_t nr);

#endif
