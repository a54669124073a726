/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_INJECT_H
#define DT_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * --inject: the capture's records come from an agent loaded into the
 * target (src/agent/), which rewrites the allocator functions' GOT slots,
 * rather than from uprobes.  The records and their intake are the BPF
 * ring's; stacks are taken by frame pointer, or with the unwind tables
 * shared with the agent (src/injuw.c).
 */
struct injection;
struct tview;

struct unwinder;

struct inject_opts {
	uint64_t ring_size;	/* a power of two */
	unsigned int max_frames;
	struct unwinder *uw;	/* DWARF stacks from these tables; NULL: frame pointers */
	unsigned int unwind;	/* enum dt_unwind_mode, with uw */
	bool held;		/* a launched command held by us at a ptrace stop */
	/* The uprobes record beside the agent (the executable's own
	 * allocator): stamps from CLOCK_MONOTONIC, the probes' clock, so that
	 * the two streams merge by time (inject__drain's horizon). */
	bool beside_probes;
};

/* Load and start the agent in the running process pid (recording waits for
 * inject__start).  NULL, the reason said, errno set: the target is left as
 * it was (or, past its dlopen, with an inert agent). */
struct injection *inject__attach(pid_t pid, const struct tview *tv, const struct inject_opts *o);
/* How many of the C allocator's functions the executable defines itself
 * (their names, comma-separated, into names): calls the agent cannot see. */
int inject__own_allocator(const struct tview *tv, char *names, size_t len);
/* Record from now on. */
void inject__start(struct injection *in);
/* Hand the records written so far to fn; how many.  horizon (NULL: not
 * wanted; only with beside_probes): set as intake.h's sources set theirs. */
int inject__drain(struct injection *in, int (*fn)(void *ctx, void *data, size_t size),
		  void *ctx, uint64_t *horizon);
/* The agent's code in the target, [*lo, *hi): the return addresses of the
 * calls its hooks make.  -ENOENT: not found (no slot patched). */
int inject__code_range(const struct injection *in, struct tview *tv, uint64_t *lo,
		       uint64_t *hi);
/* Readable when the agent finds its ring filling: drain it then; -1: none. */
int inject__wake_fd(const struct injection *in);
/* enum dt_counter's counters, as the BPF side's .bss has them (as of the
 * last drain). */
const volatile uint64_t *inject__counters(const struct injection *in);
/* "GOT hooks: 16 slots in 3 objects" */
const char *inject__summary(const struct injection *in);
/* Put every GOT slot back and make the agent inert (the target running on
 * untouched); the records stay readable until inject__free. */
void inject__detach(struct injection *in);
void inject__free(struct injection *in);

#endif
