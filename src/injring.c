// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "dhat_inject_abi.h"
#include "injring.h"
#include "log.h"
#include "tscmap.h"
#include "util.h"

_Static_assert(sizeof(struct dt_inj_ctrl) <= DT_INJ_CTRL_SIZE, "the control area outgrew its room");

struct injring {
	int fd;
	struct dt_inj_ctrl *ctrl;
	char *ring;		/* mapped twice back to back */
	uint64_t size;
	uint64_t bad;
};

struct injring *injring__new(int fd, uint64_t ring_size, unsigned int max_frames)
{
	struct injring *q = calloc(1, sizeof(*q));
	char *area = MAP_FAILED;
	int err;

	if (!q)
		return NULL;
	q->fd = fd;
	q->size = ring_size;
	q->ctrl = MAP_FAILED;
	if (ftruncate(fd, (off_t)(DT_INJ_CTRL_SIZE + ring_size)))
		goto fail;
	/* Allocated here, by the tracer: the pages are charged to its memory
	 * cgroup, not the target's, and no writer in the target allocates a
	 * page on its way.  Without them (a tight limit of the tracer's) the
	 * target's first writes allocate them, as before. */
	if (fallocate(fd, 0, 0, (off_t)(DT_INJ_CTRL_SIZE + ring_size)))
		vlog("cannot allocate the agent's ring of %llu KiB up front (%s): the target's "
		     "writes allocate it\n", (unsigned long long)(ring_size >> 10), strerror(errno));
	q->ctrl = mmap(NULL, DT_INJ_CTRL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	area = mmap(NULL, 2 * ring_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q->ctrl == MAP_FAILED || area == MAP_FAILED ||
	    mmap(area, ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		 DT_INJ_CTRL_SIZE) == MAP_FAILED ||
	    mmap(area + ring_size, ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		 DT_INJ_CTRL_SIZE) == MAP_FAILED)
		goto fail;
	q->ring = area;
	q->ctrl->magic = DT_INJ_MAGIC;
	q->ctrl->version = DT_INJ_VERSION;
	q->ctrl->ring_size = ring_size;
	q->ctrl->max_frames = max_frames;
	return q;
fail:
	err = errno;
	if (area != MAP_FAILED)
		munmap(area, 2 * ring_size);
	if (q->ctrl != MAP_FAILED)
		munmap(q->ctrl, DT_INJ_CTRL_SIZE);
	free(q);
	errno = err;
	return NULL;
}

void injring__free(struct injring *q)
{
	if (!q)
		return;
	munmap(q->ring, 2 * q->size);
	munmap(q->ctrl, DT_INJ_CTRL_SIZE);
	close(q->fd);
	free(q);
}

struct dt_inj_ctrl *injring__ctrl(struct injring *q)
{
	return q->ctrl;
}

uint64_t injring__bad(const struct injring *q)
{
	return q->bad;
}

void injring__counters(const struct injring *q, uint64_t *out)
{
	const volatile struct dt_inj_ctrl *c = q->ctrl;
	unsigned int i;

	for (i = 0; i < DT_CNT_NR; i++)
		out[i] = c->counters[i];
	for (i = 0; i < DT_INJ_CPU_SLOTS; i++) {
		out[DT_CNT_UW_STACKS] += c->percpu[i].uw_stacks;
		out[DT_CNT_UW_FP_FRAMES] += c->percpu[i].uw_fp_frames;
	}
}

/* Records taken in one call at most: the loop's other duties go on. */
#define DRAIN_BUDGET (1 << 18)
/* Space given back to writers in pieces of this much at most: one memset
 * and one store of tail (the writers' cache line) per piece, not per
 * record; a memset of a record alone cost half of the drain here. */
#define GIVE_BACK (64 * 1024)

/* Zeroed before the space is given back: a writer's length is then the
 * only non-zero word a reader can meet.  The ring is mapped twice in a
 * row, so [from, to) is one piece of memory even across its end. */
static uint64_t give_back(struct injring *q, uint64_t from, uint64_t to)
{
	if (to != from) {
		memset(q->ring + (from & (q->size - 1)), 0, to - from);
		__atomic_store_n(&q->ctrl->tail, to, __ATOMIC_RELEASE);
	}
	return to;
}

/* A record's counts to CLOCK_MONOTONIC, in place (the ring is ours to
 * read once).  Without a branch on the kind for the stamp every record of
 * the three kinds has: allocations and frees come in no order the
 * predictor could learn, and the reader is what keeps up with the agent's
 * threads.  Short records are the sink's to say. */
static inline void to_ns(const struct tscline *line, void *data, size_t size)
{
	struct dt_rec_realloc *r = data;
	bool timed;
	uint64_t ns;

	if (size < sizeof(struct dt_rec_free))
		return;
	timed = r->kind == DT_REC_ALLOC || r->kind == DT_REC_FREE || r->kind == DT_REC_REALLOC;
	ns = tscline__ns(line, r->ts);
	r->ts = timed ? ns : r->ts;
	if (r->kind == DT_REC_REALLOC && size >= sizeof(*r))
		r->t_entry = tscline__ns(line, r->t_entry);
}

int injring__drain(struct injring *q, const struct tscline *line,
		   int (*fn)(void *ctx, void *data, size_t size), void *ctx, uint64_t *horizon)
{
	struct dt_inj_ctrl *c = q->ctrl;
	uint64_t tail = __atomic_load_n(&c->tail, __ATOMIC_RELAXED), given = tail;
	uint64_t head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
	int n = 0;

	if (q->bad)
		return 0;
	while (n < DRAIN_BUDGET) {
		if (tail == head) {
			/* A writer reserves, then stamps: one that reserves
			 * after this look stamps after t. */
			uint64_t t = horizon ? mono_ns() : 0;

			/* What came in meanwhile, before going back to sleep. */
			given = give_back(q, given, tail);
			head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);
			if (tail == head) {
				if (horizon)
					*horizon = t;
				break;
			}
		}
		struct dt_inj_hdr *h = (struct dt_inj_hdr *)(q->ring + (tail & (q->size - 1)));
		uint32_t len = __atomic_load_n(&h->len, __ATOMIC_ACQUIRE);

		if (!len)
			break;	/* reserved, still being written */
		if (len < sizeof(*h) + 8 || len > DT_INJ_REC_MAX || (len & 7) ||
		    len > head - tail || head - tail > q->size) {
			q->bad++;
			elog("the in-process agent's ring holds a record of %u bytes at %llu: "
			     "no record is read from it any more\n", len,
			     (unsigned long long)tail);
			give_back(q, given, tail);
			return n;
		}
		/* The writers' lines, on other CPUs: asked for ahead. */
		__builtin_prefetch(q->ring + ((tail + 512) & (q->size - 1)));
		if (line)
			to_ns(line, (char *)h + sizeof(*h), len - sizeof(*h));
		fn(ctx, (char *)h + sizeof(*h), len - sizeof(*h));
		tail += len;
		if (tail - given >= GIVE_BACK)
			given = give_back(q, given, tail);
		n++;
	}
	give_back(q, given, tail);
	return n;
}
