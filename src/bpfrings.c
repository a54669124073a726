// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * One BPF ring buffer per CPU.  With a single ring the programs of two CPUs
 * took turns at its lock and producer position on every record: +75-200 ns
 * per record with a second thread (docs/performance.md, issue 12).
 *
 * The order across rings comes from the records' times (intake.c).  A
 * BPF program reserves its record and only then reads the clock, so a
 * record stamped before time t was reserved before t: once a drain that
 * began after t leaves every ring with its consumer at its producer (no
 * reservation open, nothing unread), every record stamped before t has
 * been read.  That is this source's horizon.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfrings.h"
#include "util.h"

/* Tries per drain to see every ring settled (a ring written meanwhile is
 * drained again); failing that, the horizon waits for the next drain. */
#define SETTLE_TRIES 4
/* bpf_ktime_get_ns() reads the NMI-safe copy of CLOCK_MONOTONIC's
 * timekeeper, which may trail the copy clock_gettime() reads by a little:
 * the horizon is taken that much earlier. */
#define CLOCK_SLACK_NS 10000

struct pos {
	const unsigned long *cons, *prod;	/* read-only mappings of the ring's pages */
};

/* libbpf's callback context: the lane is the ring's. */
struct lane_ctx {
	struct bpfrings *r;
	unsigned int i;
};

struct bpfrings {
	struct ring_buffer *rb;
	struct lane_ctx *lanes;
	int *fds;
	struct pos *pos;
	bool *settled;
	int n;
	size_t page;
	struct intake *in;	/* during a drain */
	unsigned int lane0;
};

/*
 * --ring-size is the budget of all the rings, as it was of the one ring: at
 * the default (8 MiB) each CPU of this 2-CPU machine gets 4 MiB, the memory
 * of before.  A thread runs on one CPU at a time and its CPU's ring must
 * absorb the consumer's pauses alone, so no ring gets less than 1 MiB (60 ms
 * of the fastest producer measured here, docs/performance.md "The ring"),
 * unless --ring-size itself is smaller: many CPUs take more than the budget.
 */
uint64_t bpfrings__size(uint64_t total, int ncpu)
{
	uint64_t min = total < (1ULL << 20) ? total : 1ULL << 20, sz = 1;

	while (ncpu > 0 && sz * 2 <= total / (uint64_t)ncpu)
		sz *= 2;
	return sz > min ? sz : min;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct lane_ctx *c = ctx;

	intake__push(c->r->in, c->r->lane0 + c->i, data, size);
	return 0;
}

/* Nothing reserved in ring i is left unread (libbpf stops at a record not
 * yet committed). */
static bool ring_settled(const struct bpfrings *r, int i)
{
	unsigned long prod = __atomic_load_n(r->pos[i].prod, __ATOMIC_ACQUIRE);

	return __atomic_load_n(r->pos[i].cons, __ATOMIC_ACQUIRE) == prod;
}

static int drain(void *ctx, struct intake *in, unsigned int lane0, uint64_t *horizon)
{
	struct bpfrings *r = ctx;
	uint64_t t = mono_ns() - CLOCK_SLACK_NS;
	int n = 0, got, i, tries;
	bool all;

	r->in = in;
	r->lane0 = lane0;
	memset(r->settled, 0, (size_t)r->n * sizeof(*r->settled));
	for (tries = 0; tries < SETTLE_TRIES; tries++) {
		got = ring_buffer__consume(r->rb);
		if (got < 0)
			return got;
		n += got;
		/* Each ring once settled after t is enough: they need not be
		 * all at the same instant. */
		for (all = true, i = 0; i < r->n; i++) {
			if (!r->settled[i])
				r->settled[i] = ring_settled(r, i);
			all = all && r->settled[i];
		}
		if (all) {
			*horizon = t;
			break;
		}
	}
	return n;
}

struct intake_source bpfrings__source(struct bpfrings *r)
{
	return (struct intake_source){ .drain = drain, .fd = ring_buffer__epoll_fd(r->rb),
				       .lanes = (unsigned int)r->n, .ctx = r };
}

struct bpfrings *bpfrings__new(int outer_fd, int ncpu, uint64_t size)
{
	struct bpfrings *r = calloc(1, sizeof(*r));
	void *m;
	int i, err = -ENOMEM;

	if (!r)
		goto cleanup;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->fds = malloc((size_t)ncpu * sizeof(*r->fds));
	r->pos = calloc((size_t)ncpu, sizeof(*r->pos));
	r->settled = calloc((size_t)ncpu, sizeof(*r->settled));
	r->lanes = calloc((size_t)ncpu, sizeof(*r->lanes));
	if (!r->fds || !r->pos || !r->settled || !r->lanes)
		goto cleanup;
	for (i = 0; i < ncpu; i++) {
		r->fds[i] = -1;
		r->lanes[i] = (struct lane_ctx){ .r = r, .i = (unsigned int)i };
	}
	r->n = ncpu;
	for (i = 0; i < ncpu; i++) {
		__u32 key = (__u32)i;

		r->fds[i] = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "dt_ring", 0, 0, (__u32)size,
					   NULL);
		if (r->fds[i] < 0 || bpf_map_update_elem(outer_fd, &key, &r->fds[i], BPF_ANY)) {
			err = -errno;
			goto cleanup;
		}
		/* The consumer's page and the producer's, read-only. */
		m = mmap(NULL, 2 * r->page, PROT_READ, MAP_SHARED, r->fds[i], 0);
		if (m == MAP_FAILED) {
			err = -errno;
			goto cleanup;
		}
		r->pos[i].cons = m;
		r->pos[i].prod = (const unsigned long *)((char *)m + r->page);
		if (!i)
			r->rb = ring_buffer__new(r->fds[i], on_record, &r->lanes[i], NULL);
		if (!r->rb || (i && ring_buffer__add(r->rb, r->fds[i], on_record, &r->lanes[i]))) {
			err = -errno;
			goto cleanup;
		}
	}
	return r;
cleanup:
	bpfrings__free(r);
	errno = -err;
	return NULL;
}

void bpfrings__free(struct bpfrings *r)
{
	int i;

	if (!r)
		return;
	ring_buffer__free(r->rb);
	for (i = 0; i < r->n; i++) {
		if (r->pos[i].cons)
			munmap((void *)r->pos[i].cons, 2 * r->page);
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	}
	free(r->settled);
	free(r->lanes);
	free(r->pos);
	free(r->fds);
	free(r);
}
