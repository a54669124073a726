// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The merge of the record sources (intake.h).  Timed records wait in a
 * binary heap ordered by (timestamp, arrival); a drain round of every
 * source gives each a horizon, and what is older than all of them goes
 * out.  perf's "finished round" passes on what the previous round saw;
 * here a source proves its horizon instead (bpfrings.c: the clock read
 * before a drain that left no reservation open), so no timing is assumed:
 * a program stopped between its reservation and its commit (an interrupt,
 * the hypervisor taking the vCPU) holds the merge back, never reorders it.
 *
 * Stacks go out as they are read.  The BPF side marks a stack sent after
 * its record is committed, and only then may an allocation on any CPU
 * refer to it without sending it again; that allocation's record is
 * stamped later still, so by the time the horizons pass its time the
 * stack's ring has been drained past the stack.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "intake.h"

/* Every timed record is one of these, ts at the same place. */
#define REC_MAX sizeof(struct dt_rec_realloc)
_Static_assert(__builtin_offsetof(struct dt_rec_alloc, ts) == 8 &&
	       __builtin_offsetof(struct dt_rec_free, ts) == 8 &&
	       __builtin_offsetof(struct dt_rec_realloc, ts) == 8 &&
	       __builtin_offsetof(struct dt_rec_exec, ts) == 8 &&
	       __builtin_offsetof(struct dt_rec_fork, ts) == 8 &&
	       __builtin_offsetof(struct dt_rec_load, ts) == 8, "ts at offset 8");

#define HEAP_MIN 1024

struct held {
	uint64_t ts, seq;	/* seq: arrival, for records stamped alike */
	uint32_t size;
	uint32_t pad;
	uint64_t rec[REC_MAX / 8];
};

struct source {
	struct intake_source s;
	uint64_t horizon;
};

struct intake {
	intake_sink_fn sink;
	void *ctx;
	struct source *src;
	size_t nr_src;
	struct held *heap;
	size_t nr, cap;
	uint64_t seq;
	int epfd;
};

struct intake *intake__new(intake_sink_fn sink, void *ctx)
{
	struct intake *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->sink = sink;
	in->ctx = ctx;
	in->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (in->epfd < 0) {
		free(in);
		return NULL;
	}
	return in;
}

void intake__free(struct intake *in)
{
	if (!in)
		return;
	close(in->epfd);
	free(in->src);
	free(in->heap);
	free(in);
}

int intake__add_source(struct intake *in, const struct intake_source *s)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct source *n = realloc(in->src, (in->nr_src + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	in->src = n;
	if (s->fd >= 0) {
		ev.data.u64 = in->nr_src;
		if (epoll_ctl(in->epfd, EPOLL_CTL_ADD, s->fd, &ev))
			return -errno;
	}
	n[in->nr_src++] = (struct source){ .s = *s };
	return 0;
}

int intake__epoll_fd(const struct intake *in)
{
	return in->epfd;
}

size_t intake__held(const struct intake *in)
{
	return in->nr;
}

static bool before(const struct held *a, const struct held *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static void swap(struct held *a, struct held *b)
{
	struct held t = *a;

	*a = *b;
	*b = t;
}

int intake__push(struct intake *in, const void *data, size_t size)
{
	uint32_t kind;
	struct held *h;
	size_t i;

	if (size < sizeof(kind))
		return in->sink(in->ctx, (void *)data, size);
	memcpy(&kind, data, sizeof(kind));
	/* Stacks (and what is not a record: the sink counts it) at once. */
	if (kind == DT_REC_STACK || size < 16 || size > REC_MAX)
		return in->sink(in->ctx, (void *)data, size);
	if (in->nr == in->cap) {
		size_t cap = in->cap ? 2 * in->cap : HEAP_MIN;

		h = realloc(in->heap, cap * sizeof(*h));
		if (!h)
			return in->sink(in->ctx, (void *)data, size);	/* late, not lost */
		in->heap = h;
		in->cap = cap;
	}
	h = &in->heap[in->nr];
	memcpy(&h->ts, (const char *)data + 8, sizeof(h->ts));
	h->seq = in->seq++;
	h->size = (uint32_t)size;
	memcpy(h->rec, data, size);
	for (i = in->nr++; i && before(&in->heap[i], &in->heap[(i - 1) / 2]); i = (i - 1) / 2)
		swap(&in->heap[i], &in->heap[(i - 1) / 2]);
	return 0;
}

/* Pass on the oldest record. */
static void pop(struct intake *in)
{
	struct held top = in->heap[0];
	size_t i = 0, c;

	in->heap[0] = in->heap[--in->nr];
	for (;;) {
		c = 2 * i + 1;
		if (c >= in->nr)
			break;
		if (c + 1 < in->nr && before(&in->heap[c + 1], &in->heap[c]))
			c++;
		if (!before(&in->heap[c], &in->heap[i]))
			break;
		swap(&in->heap[i], &in->heap[c]);
		i = c;
	}
	in->sink(in->ctx, top.rec, top.size);
}

/* A drain after a pause (a snapshot written) reads all that the rings
 * held into the heap at once: that room goes back once it is not used. */
static void shrink(struct intake *in)
{
	struct held *h;

	if (in->cap <= HEAP_MIN || in->nr >= in->cap / 4)
		return;
	h = realloc(in->heap, in->cap / 2 * sizeof(*h));
	if (!h)
		return;
	in->heap = h;
	in->cap /= 2;
}

static int drain_all(struct intake *in)
{
	uint64_t h;
	size_t i;
	int n = 0, got;

	for (i = 0; i < in->nr_src; i++) {
		h = 0;
		got = in->src[i].s.drain(in->src[i].s.ctx, in, &h);
		if (got < 0)
			return got;
		n += got;
		if (h > in->src[i].horizon)
			in->src[i].horizon = h;
	}
	return n;
}

int intake__poll(struct intake *in)
{
	uint64_t fence = UINT64_MAX;
	size_t i;
	int n = drain_all(in);

	if (n < 0)
		return n;
	for (i = 0; i < in->nr_src; i++)
		if (in->src[i].horizon < fence)
			fence = in->src[i].horizon;
	while (in->nr && in->heap[0].ts < fence)
		pop(in);
	shrink(in);
	return n;
}

void intake__flush(struct intake *in)
{
	while (drain_all(in) > 0)
		;
	while (in->nr)
		pop(in);
}
