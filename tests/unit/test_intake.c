// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/* The merge of record sources by time (src/intake.c), with scripted sources. */
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "accounting.h"
#include "intake.h"
#include "tap.h"

#define MAX_RECS 4096

/* A source that hands over, at each drain, its next batch of records and
 * the horizon scripted for it; a record's lane is its addr's low bit. */
struct script {
	struct dt_rec_alloc recs[8][MAX_RECS];
	size_t nr[8];
	uint64_t horizon[8];
	size_t drains;
};

static int drain(void *ctx, struct intake *in, unsigned int lane0, uint64_t *horizon)
{
	struct script *s = ctx;
	size_t d = s->drains++, i;

	if (d >= 8)
		return 0;
	for (i = 0; i < s->nr[d]; i++)
		intake__push(in, lane0 + (s->recs[d][i].addr & 1), &s->recs[d][i],
			     sizeof(s->recs[d][i]));
	*horizon = s->horizon[d];
	return (int)s->nr[d];
}

static void add(struct script *s, size_t d, uint32_t kind, uint64_t ts, uint64_t addr)
{
	s->recs[d][s->nr[d]++] = (struct dt_rec_alloc){ .kind = kind, .ts = ts, .addr = addr,
							 .size = 8, .stack_id = 0 };
}

/* What the sink got: kind and time of each record, in order. */
static struct {
	uint32_t kind[MAX_RECS * 2];
	uint64_t ts[MAX_RECS * 2];
	size_t n;
} got;

static int sink(void *ctx, void *data, size_t size)
{
	struct dt_rec_alloc r = { 0 };

	(void)ctx;
	memcpy(&r, data, size < sizeof(r) ? size : sizeof(r));
	got.kind[got.n] = r.kind;
	got.ts[got.n++] = r.kind == DT_REC_STACK ? 0 : r.ts;
	return 0;
}

static struct intake *two(struct script *a, struct script *b, intake_sink_fn fn, void *ctx)
{
	struct intake *in = intake__new(fn, ctx);

	intake__add_source(in, &(struct intake_source){ .drain = drain, .fd = -1, .lanes = 2,
							 .ctx = a });
	intake__add_source(in, &(struct intake_source){ .drain = drain, .fd = -1, .lanes = 2,
							 .ctx = b });
	return in;
}

/* Nothing goes before every source's horizon has passed it. */
static void test_horizons(void)
{
	struct script *a = calloc(2, sizeof(*a)), *b = a + 1;
	struct dt_rec_stack st = { .kind = DT_REC_STACK, .nr_frames = 0, .stack_id = 7 };
	struct intake *in;

	got.n = 0;
	add(a, 0, DT_REC_ALLOC, 30, 0x1000);
	a->horizon[0] = 35;
	add(b, 0, DT_REC_FREE, 20, 0x1000);
	b->horizon[0] = 10;	/* b may still have something older than 20 */
	in = two(a, b, sink, NULL);
	is_u64(intake__poll(in), 2, "a round reads both records");
	is_u64(got.n, 0, "neither goes while b's horizon is 10");
	is_u64(intake__held(in), 2, "both held");
	add(b, 1, DT_REC_FREE, 25, 0x2000);
	b->horizon[1] = 0;	/* unknown this time: the last one stands */
	intake__poll(in);
	is_u64(got.n, 0, "a horizon left unknown keeps the last one");
	b->horizon[2] = 40;
	intake__push(in, 0, &st, DT_REC_STACK_HDR);
	is_u64(got.n, 1, "a stack goes at once");
	intake__poll(in);
	ok(got.n == 4 && got.ts[1] == 20 && got.ts[2] == 25 && got.ts[3] == 30,
	   "then all three, by time, across the sources");
	add(a, 3, DT_REC_ALLOC, 50, 0x3000);
	add(a, 3, DT_REC_ALLOC, 50, 0x4000);
	/* One lane out of order (a program preempted between its reservation
	 * and its clock read), the other lane of the source in between. */
	add(a, 3, DT_REC_FREE, 70, 0x5001);
	add(a, 3, DT_REC_FREE, 60, 0x6001);
	add(a, 3, DT_REC_FREE, 65, 0x7000);
	intake__poll(in);
	is_u64(got.n, 4, "past every horizon (a's is 35): held");
	intake__flush(in);
	ok(got.n == 9 && got.ts[6] == 60 && got.ts[7] == 65 && got.ts[8] == 70,
	   "a flush passes on the rest, in time order within and across lanes");
	is_u64(intake__held(in), 0, "nothing held after a flush");
	intake__free(in);
	free(a);
}

/* Many records, shuffled across the sources, lanes and batches, some out
 * of order in their lane: they come out sorted. */
static void test_many(void)
{
	struct script *s = calloc(3, sizeof(*s));
	struct intake *in = intake__new(sink, NULL);
	uint64_t t = 0, last = 0;
	size_t i, d, sorted = 1;
	int j;

	got.n = 0;
	srand(12);
	for (j = 0; j < 3; j++)
		intake__add_source(in, &(struct intake_source){ .drain = drain, .fd = -1,
								 .lanes = 2, .ctx = &s[j] });
	for (d = 0; d < 4; d++) {
		for (i = 0; i < 900; i++) {
			t += (uint64_t)(rand() % 3);
			/* Some a little late in their lane. */
			add(&s[rand() % 3], d, DT_REC_FREE, t + (uint64_t)(rand() % 5), i);
		}
		for (j = 0; j < 3; j++)
			s[j].horizon[d] = t;
	}
	for (d = 0; d < 4; d++)
		intake__poll(in);
	intake__flush(in);
	for (i = 0; i < got.n; i++) {
		sorted = sorted && got.ts[i] >= last;
		last = got.ts[i];
	}
	is_u64(got.n, 3600, "every record passed on");
	ok(sorted, "in time order");
	intake__free(in);
	free(s);
}

static int to_acct(void *ctx, void *data, size_t size)
{
	return acct__handle(ctx, data, size);
}

/* The case the merge is for: a free read after the reuse of its address. */
static void test_reuse(void)
{
	struct script *a = calloc(2, sizeof(*a)), *b = a + 1;
	struct acct *ac = acct__new(0);
	struct intake *in = two(a, b, to_acct, ac);

	add(a, 0, DT_REC_ALLOC, 10, 0x1000);	/* CPU 0 allocates */
	add(a, 0, DT_REC_ALLOC, 30, 0x1000);	/* and is handed the address again */
	a->horizon[0] = 100;
	add(b, 0, DT_REC_FREE, 20, 0x1000);	/* after CPU 1 freed it */
	b->horizon[0] = 100;
	intake__poll(in);
	intake__flush(in);
	is_u64(acct__loss(ac)->displaced, 0, "no block displaced");
	is_u64(acct__loss(ac)->unknown_frees, 0, "no unknown free");
	is_u64(blocks__count(acct__blocks(ac)), 1, "one block live");
	intake__free(in);
	acct__free(ac);
	free(a);
}

int main(void)
{
	test_horizons();
	test_many();
	test_reuse();
	return tap_done();
}
