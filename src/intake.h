/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_INTAKE_H
#define DT_INTAKE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The records of several sources (one BPF ring per CPU today; the
 * in-process agent's ring could be one more) merged into one stream in the
 * order of their timestamps.  A free's record is stamped before the memory
 * is released and an allocation's after the allocator returned, so in
 * timestamp order a reused address is always freed before it is handed out
 * again, whichever CPUs the two calls ran on.
 *
 * Records are held until no source can still deliver an older one: each
 * source says, at each drain, a horizon before which all of its records
 * have been handed over; what is older than every source's horizon is
 * passed on, oldest first.  A source's records come in lanes (a BPF ring
 * each), each in time order or nearly.  Stack records carry no time and are passed on
 * as they are read: an allocation refers to a stack sent before it was
 * stamped, so the stack is always read first (see intake.c).
 */
struct intake;

/* Gets the records, in time order; its return value is ignored. */
typedef int (*intake_sink_fn)(void *ctx, void *data, size_t size);

struct intake_source {
	/*
	 * Hand every record that can be read now to intake__push(in, lane0 +
	 * its lane, ...); return how many, or -errno.  Set *horizon (left 0: unknown this
	 * time) to a time such that every record of this source stamped
	 * before it has been handed over, now or at an earlier drain: the
	 * clock (CLOCK_MONOTONIC, bpf_ktime_get_ns()'s) read before draining
	 * works if each record takes its time after its place in the source
	 * is reserved and the source shows it has no reservation left open.
	 */
	int (*drain)(void *ctx, struct intake *in, unsigned int lane0, uint64_t *horizon);
	int fd;		/* readable when the source should be drained; -1: none */
	unsigned int lanes;	/* how many (0: one) */
	void *ctx;
};

struct intake *intake__new(intake_sink_fn sink, void *ctx);
void intake__free(struct intake *in);
/* 0 or -errno. */
int intake__add_source(struct intake *in, const struct intake_source *s);
/* For the sources' drain(): the record is copied (or passed on at once). */
int intake__push(struct intake *in, unsigned int lane, const void *data, size_t size);
/* Readable when a source is: one fd for an event loop. */
int intake__epoll_fd(const struct intake *in);
/* Drain every source once and pass on what no source can precede any
 * more.  Records read (0: nothing new), or -errno. */
int intake__poll(struct intake *in);
/* Drain every source until it is empty and pass on all that is held: once
 * nothing can be recorded any more (the probes are detached). */
void intake__flush(struct intake *in);
/* Records read but not yet passed on. */
size_t intake__held(const struct intake *in);

#endif
