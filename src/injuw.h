/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_INJUW_H
#define DT_INJUW_H

/*
 * --inject with DWARF stacks: src/unwind.c's tables installed into a memfd
 * the agent maps read-only (struct dt_inj_uw) instead of BPF maps, and
 * extended when the agent meets code they lack.
 */
struct injuw;
struct unwinder;
struct dt_inj_ctrl;

/* fd: the memfd (kept); sized, mapped and filled with what uw has built.
 * NULL and errno set on failure. */
struct injuw *injuw__new(int fd, struct unwinder *uw);
void injuw__free(struct injuw *q);
/* The agent asked for code it met without a table (ctrl->uw_want): read
 * the target's mappings again and publish; at once after a dlopen, else at
 * most every 100 ms. */
void injuw__poll(struct injuw *q, struct dt_inj_ctrl *ctrl);

#endif
