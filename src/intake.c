// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The merge of the record sources (intake.h).  A source's records come in
 * lanes (a BPF ring each), each in time order but for a rare neighbour (a
 * program preempted between its reservation and its clock read, on a
 * preemptible kernel): a lane is a queue kept sorted by moving a new record
 * back past the newer ones before it, which is one comparison when it is
 * in order.  What goes out is the oldest head of all lanes, while it is
 * older than every source's horizon.  (A binary heap of all held records
 * cost the consumer more than the accounting itself: its sift-down on
 * every record.)
 *
 * perf's "finished round" passes on what the previous round saw; here a
 * source proves its horizon instead (bpfrings.c: the clock read before a
 * drain that left no reservation open), so no timing is assumed: a program
 * stopped between its reservation and its commit (an interrupt, the
 * hypervisor taking the vCPU) holds the merge back, never reorders it.
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

#define LANE_MIN 256
/* An empty lane bigger than this gives its room back (a drain after a
 * pause, a snapshot written, read all that its ring held), once
 * LANE_IDLE polls in a row have brought it nothing.  Given back after every
 * drain, a lane's room was taken again at once under a steady stream: with
 * the agent's rings fed through here (an experiment, branch injpercpu), its
 * page faults were a sixth of the reader's time. */
#define LANE_KEEP 16384
#define LANE_IDLE 100

struct held {
	uint64_t ts, seq;	/* seq: arrival, for records stamped alike */
	uint32_t size;
	uint32_t pad;
	uint64_t rec[REC_MAX / 8];
};

/* Records q[head..tail), sorted by (ts, seq). */
struct lane {
	struct held *q;
	size_t head, tail, cap;
	unsigned int idle;	/* polls in a row that brought it nothing */
	bool used;		/* it got a record since the last poll */
};

struct source {
	struct intake_source s;
	unsigned int lane0;	/* its first lane */
	uint64_t horizon;
};

struct intake {
	intake_sink_fn sink;
	void *ctx;
	struct source *src;
	size_t nr_src;
	struct lane *lanes;
	unsigned int nr_lanes;
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
	unsigned int i;

	if (!in)
		return;
	close(in->epfd);
	for (i = 0; i < in->nr_lanes; i++)
		free(in->lanes[i].q);
	free(in->lanes);
	free(in->src);
	free(in);
}

int intake__add_source(struct intake *in, const struct intake_source *s)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned int lanes = s->lanes ? s->lanes : 1;
	struct source *n = realloc(in->src, (in->nr_src + 1) * sizeof(*n));
	struct lane *l;

	if (!n)
		return -ENOMEM;
	in->src = n;
	l = realloc(in->lanes, (in->nr_lanes + lanes) * sizeof(*l));
	if (!l)
		return -ENOMEM;
	in->lanes = l;
	memset(l + in->nr_lanes, 0, lanes * sizeof(*l));
	if (s->fd >= 0) {
		ev.data.u64 = in->nr_src;
		if (epoll_ctl(in->epfd, EPOLL_CTL_ADD, s->fd, &ev))
			return -errno;
	}
	n[in->nr_src++] = (struct source){ .s = *s, .lane0 = in->nr_lanes };
	in->nr_lanes += lanes;
	return 0;
}

int intake__epoll_fd(const struct intake *in)
{
	return in->epfd;
}

size_t intake__held(const struct intake *in)
{
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < in->nr_lanes; i++)
		n += in->lanes[i].tail - in->lanes[i].head;
	return n;
}

static bool before(const struct held *a, const struct held *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

/* Room at l's tail: the consumed front reused, else the queue doubled. */
static int make_room(struct lane *l)
{
	size_t cap = l->cap ? 2 * l->cap : LANE_MIN;
	struct held *q;

	if (l->tail < l->cap)
		return 0;
	if (l->head && l->head >= l->cap / 2) {
		memmove(l->q, l->q + l->head, (l->tail - l->head) * sizeof(*q));
		l->tail -= l->head;
		l->head = 0;
		return 0;
	}
	q = realloc(l->q, cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	l->q = q;
	l->cap = cap;
	return 0;
}

int intake__push(struct intake *in, unsigned int lane, const void *data, size_t size)
{
	struct lane *l = &in->lanes[lane < in->nr_lanes ? lane : 0];
	struct held h, *q;
	uint32_t kind;
	size_t i;

	if (size < sizeof(kind) || !in->nr_lanes)
		return in->sink(in->ctx, (void *)data, size);
	memcpy(&kind, data, sizeof(kind));
	/* Stacks (and what is not a record: the sink counts it) at once. */
	if (kind == DT_REC_STACK || size < 16 || size > REC_MAX)
		return in->sink(in->ctx, (void *)data, size);
	if (make_room(l))
		return in->sink(in->ctx, (void *)data, size);	/* out of order, not lost */
	q = l->q;
	l->used = true;
	i = l->tail++;
	memcpy(&q[i].ts, (const char *)data + 8, sizeof(q[i].ts));
	q[i].seq = in->seq++;
	q[i].size = (uint32_t)size;
	memcpy(q[i].rec, data, size);
	for (; i > l->head && before(&q[i], &q[i - 1]); i--) {
		h = q[i];
		q[i] = q[i - 1];
		q[i - 1] = h;
	}
	return 0;
}

/* Pass on, oldest first, every head older than fence (all: every one). */
static void release(struct intake *in, uint64_t fence, bool all)
{
	struct lane *min, *l;
	struct held *h;
	unsigned int i;

	for (;;) {
		min = NULL;
		for (i = 0; i < in->nr_lanes; i++) {
			l = &in->lanes[i];
			if (l->head < l->tail &&
			    (!min || before(&l->q[l->head], &min->q[min->head])))
				min = l;
		}
		if (!min || (!all && min->q[min->head].ts >= fence))
			return;
		h = &min->q[min->head++];
		in->sink(in->ctx, h->rec, h->size);
		if (min->head == min->tail)
			min->head = min->tail = 0;
	}
}

/* A lane that grew large gives its room back once it is not used. */
static void shrink(struct intake *in)
{
	struct lane *l;
	unsigned int i;

	for (i = 0; i < in->nr_lanes; i++) {
		l = &in->lanes[i];
		if (l->used || l->tail) {
			l->idle = 0;
			l->used = false;
			continue;
		}
		if (l->cap <= LANE_KEEP || ++l->idle < LANE_IDLE)
			continue;
		free(l->q);
		l->q = NULL;
		l->cap = 0;
		l->idle = 0;
	}
}

static int drain_all(struct intake *in)
{
	uint64_t h;
	size_t i;
	int n = 0, got;

	for (i = 0; i < in->nr_src; i++) {
		h = 0;
		got = in->src[i].s.drain(in->src[i].s.ctx, in, in->src[i].lane0, &h);
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
	release(in, fence, false);
	shrink(in);
	return n;
}

void intake__flush(struct intake *in)
{
	while (drain_all(in) > 0)
		;
	release(in, 0, true);
}
