/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_INJRING_H
#define DT_INJRING_H

#include <stddef.h>
#include <stdint.h>

/*
 * The tracer's side of the memfd shared with the in-process agent
 * (include/dhat_inject_abi.h): the control area, and the ring read in
 * reservation order.
 */
struct injring;
struct dt_inj_ctrl;
struct tscline;

/* fd: the memfd (kept); sized and mapped here, its control area set up. */
struct injring *injring__new(int fd, uint64_t ring_size, unsigned int max_frames);
void injring__free(struct injring *q);
struct dt_inj_ctrl *injring__ctrl(struct injring *q);
/* Hand every committed record to fn (the payload, the dt_rec_* after its
 * header); returns how many.  line: the agent stamps with the TSC, and its
 * stamps are turned into CLOCK_MONOTONIC with it first (NULL: they are).
 * A length the target could not have written stops the ring for good
 * (said once; injring__bad says how often: 0 or 1).  horizon (NULL: not
 * wanted): where the drain found nothing reserved left unread, the clock
 * (CLOCK_MONOTONIC) read just before it looked; untouched otherwise. */
int injring__drain(struct injring *q, const struct tscline *line,
		   int (*fn)(void *ctx, void *data, size_t size), void *ctx, uint64_t *horizon);
uint64_t injring__bad(const struct injring *q);
/* The agent's counters (enum dt_counter), those it keeps per CPU summed. */
void injring__counters(const struct injring *q, uint64_t *out);

#endif
