/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_BPFRINGS_H
#define DT_BPFRINGS_H

#include <stdint.h>
#include "intake.h"

/*
 * The BPF side's ring buffers, one per CPU (dhat.bpf.c: rings), read as one
 * source of the intake.
 */
struct bpfrings;

/* Bytes of each CPU's ring for a --ring-size of total: see bpfrings.c. */
uint64_t bpfrings__size(uint64_t total, int ncpu);
/* Creates ncpu rings of size bytes and puts them into the array of maps
 * outer_fd (before the probes are attached).  NULL with errno set. */
struct bpfrings *bpfrings__new(int outer_fd, int ncpu, uint64_t size);
void bpfrings__free(struct bpfrings *r);
/* The rings as one source (valid while r is). */
struct intake_source bpfrings__source(struct bpfrings *r);

#endif
