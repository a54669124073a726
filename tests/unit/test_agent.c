// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The in-process agent loaded into this test's own process (no ptrace, no
 * root): it patches our GOT, two threads allocate through it while the
 * tracer's reader (injring.c) drains a ring small enough to wrap thousands
 * of times, and the stream must be exact: every allocation of ours once,
 * each free after its allocation and before the address comes back, every
 * stack sent before its first use; drops only counted.  Stacks are walked
 * over an unwind table shared as the tracer shares it (src/injuw.c), one
 * without CFI here, so --unwind=auto follows rbp through it.  Then detach:
 * the slots go back and nothing more is recorded.
 * argv[1]: the agent (libdtagent.so).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "dhat_inject_abi.h"
#include "injring.h"
#include "tap.h"

#define PAIRS 200000
#define SIZE0 1000	/* thread t allocates SIZE0 + t bytes: ours, among others */
#define SLOTS (1 << 16)
#define RING (1024 * 1024)

static volatile int go, done_threads;
static void *volatile keep;

struct check {
	uint64_t live[SLOTS];	/* addresses of our live blocks, open addressing */
	uint64_t stacks[SLOTS];
	uint64_t allocs, frees, reallocs, stack_recs, bad, ooo, unknown_stack;
};

static uint64_t *slot(uint64_t *t, uint64_t key)
{
	uint64_t i = (key * 0x9E3779B97F4A7C15ULL) >> 48;

	while (t[i] && t[i] != key)
		i = (i + 1) & (SLOTS - 1);
	return &t[i];
}

static void take(uint64_t *t, uint64_t key)
{
	uint64_t *s = slot(t, key), i = (uint64_t)(s - t), j, k;

	if (!*s)
		return;
	/* Backward-shift deletion keeps the probe chains whole. */
	*s = 0;
	for (j = (i + 1) & (SLOTS - 1); t[j]; j = (j + 1) & (SLOTS - 1)) {
		k = (t[j] * 0x9E3779B97F4A7C15ULL) >> 48;
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			t[i] = t[j];
			t[j] = 0;
			i = j;
		}
	}
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct check *c = ctx;
	const __u32 *kind = data;

	switch (*kind) {
	case DT_REC_STACK: {
		const struct dt_rec_stack *s = data;

		if (size != DT_REC_STACK_HDR + 8 * s->nr_frames || !s->nr_frames)
			c->bad++;
		*slot(c->stacks, s->stack_id) = s->stack_id;
		c->stack_recs++;
		break;
	}
	case DT_REC_ALLOC: {
		const struct dt_rec_alloc *a = data;

		if (a->size < SIZE0 || a->size > SIZE0 + 1)
			break;
		if (*slot(c->stacks, a->stack_id) != a->stack_id)
			c->unknown_stack++;
		if (*slot(c->live, a->addr))
			c->ooo++;	/* allocated again before its free was seen */
		*slot(c->live, a->addr) = a->addr;
		c->allocs++;
		break;
	}
	case DT_REC_FREE: {
		const struct dt_rec_free *f = data;

		if (*slot(c->live, f->addr)) {
			take(c->live, f->addr);
			c->frees++;
		}
		break;
	}
	case DT_REC_REALLOC:
		c->reallocs++;
		break;
	default:
		c->bad++;
	}
	return 0;
}

static void *worker(void *arg)
{
	size_t size = SIZE0 + (size_t)(uintptr_t)arg;
	int i;

	while (!go)
		;
	for (i = 0; i < PAIRS; i++) {
		void *p = malloc(size);

		keep = p;
		free(p);
		/* Paced, so that the reader (on a busy machine) keeps up and
		 * the stream can be checked whole; drops are tested elsewhere. */
		if (i % 64 == 0)
			nanosleep(&(struct timespec){ 0, 20 * 1000 }, NULL);
	}
	__atomic_add_fetch(&done_threads, 1, __ATOMIC_RELEASE);
	return NULL;
}


static void wait_for(volatile __u32 *word, __u32 want)
{
	struct timespec ms = { 0, 1000 * 1000 };
	int i;

	for (i = 0; i < 2000 && *word != want; i++)
		nanosleep(&ms, NULL);
}

/* A copy of the agent's file loads as an agent of its own. */
static void *load_copy(const char *path)
{
	char buf[65536], copy[] = "/tmp/dt-agent-XXXXXX";
	int in = open(path, O_RDONLY | O_CLOEXEC), out = mkstemp(copy);
	ssize_t n;
	void *h = NULL;

	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (in >= 0 && out >= 0)
		h = dlopen(copy, RTLD_NOW);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	unlink(copy);
	return h;
}

/* The tracer's end of the pipe closes (it died): the agent puts the slots
 * back by itself within 100 ms. */
static void tracer_gone(const char *path)
{
	struct timespec t0, t1;
	int (*start)(int, int, int, int);
	struct dt_inj_ctrl *ctrl;
	struct injring *q;
	int mfd, p[2];
	void *h = load_copy(path);
	long ms;

	mfd = memfd_create("ring2", MFD_CLOEXEC);
	q = mfd >= 0 ? injring__new(mfd, RING, 16) : NULL;
	start = h ? (int (*)(int, int, int, int))dlsym(h, "dt_agent_start") : NULL;
	ok(q && start, "a second agent loads");
	if (!q || !start || pipe2(p, O_CLOEXEC | O_NONBLOCK))
		return;
	ctrl = injring__ctrl(q);
	is_u64(start(dup(mfd), p[0], -1, -1), 0, "it starts");
	ctrl->tracing = 1;
	close(p[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	wait_for(&ctrl->state, DT_INJ_INERT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ok(ctrl->state == DT_INJ_INERT && ctrl->why == DT_INJ_WHY_TRACER_GONE && ms <= 100,
	   "its pipe closed: inert after %ld ms (at most 100)", ms);
	is_u64(ctrl->restored, ctrl->nslots, "every slot it patched put back");
	injring__free(q);
}

/* The tables as src/injuw.c lays them out: one mapping over all of user
 * space, an object without CFI (nrows 0). */
static int uw_table(void)
{
	int fd = memfd_create("uw", MFD_CLOEXEC);
	struct dt_inj_uw *t;

	if (fd < 0 || ftruncate(fd, (off_t)DT_INJ_UW_ROWS_OFF + 4096))
		return -1;
	t = mmap(NULL, DT_INJ_UW_ROWS_OFF, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (t == MAP_FAILED)
		return -1;
	t->magic = DT_INJ_UW_MAGIC;
	t->capacity = 1;
	t->maps[1].n = 1;
	t->maps[1].m[0] = (struct dt_uw_map){ .start = 4096, .end = 1ULL << 47 };
	t->gen = 1;
	munmap(t, DT_INJ_UW_ROWS_OFF);
	return fd;
}

int main(int argc, char **argv)
{
	static struct check c;
	int (*start)(int, int, int, int);
	struct dt_inj_ctrl *ctrl;
	struct injring *q;
	pthread_t th[2];
	int mfd, uwfd, p[2], t;
	uint64_t drops, cnt[DT_CNT_NR];
	void *h;

	if (argc < 2)
		return 2;
	mfd = memfd_create("ring", MFD_CLOEXEC);
	q = mfd >= 0 ? injring__new(mfd, RING, 16) : NULL;
	ok(q != NULL, "the shared ring is set up");
	h = dlopen(argv[1], RTLD_NOW);
	start = h ? (int (*)(int, int, int, int))dlsym(h, "dt_agent_start") : NULL;
	ok(start != NULL, "the agent loads%s%s", h ? "" : ": ", h ? "" : dlerror());
	if (!q || !start || pipe2(p, O_CLOEXEC | O_NONBLOCK))
		return tap_done();
	ctrl = injring__ctrl(q);
	uwfd = uw_table();
	ok(uwfd >= 0, "an unwind table to share");
	ctrl->unwind = DT_UNWIND_AUTO;
	is_u64(start(dup(mfd), p[0], -1, uwfd), 0, "the agent starts");
	ok(ctrl->state == DT_INJ_ACTIVE && ctrl->nslots >= 2, "it patched %u GOT slots in %llu "
	   "objects", ctrl->nslots, (unsigned long long)ctrl->objects);
	ctrl->tracing = 1;
	if (write(p[1], "", 1) != 1)
		return 1;
	wait_for(&ctrl->recording, 1);
	ok(ctrl->recording == 1, "it says it records");

	for (t = 0; t < 2; t++)
		pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)t);
	go = 1;
	while (__atomic_load_n(&done_threads, __ATOMIC_ACQUIRE) < 2)
		injring__drain(q, NULL, on_record, &c, NULL);
	for (t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	while (injring__drain(q, NULL, on_record, &c, NULL))
		;
	injring__counters(q, cnt);
	drops = cnt[DT_CNT_RB_DROP_ALLOC] + cnt[DT_CNT_RB_DROP_FREE];
	printf("# %llu allocs, %llu frees, %llu stacks read; %llu dropped\n",
	       (unsigned long long)c.allocs, (unsigned long long)c.frees,
	       (unsigned long long)c.stack_recs, (unsigned long long)drops);
	is_u64(injring__bad(q) + c.bad, 0, "no malformed record across a ring that wrapped %llu "
	       "times", (unsigned long long)(ctrl->head / RING));
	ok(ctrl->head / RING > 10, "the ring wrapped");
	if (!drops) {
		is_u64(c.allocs, 2 * PAIRS, "every allocation of the two threads recorded once");
		is_u64(c.frees, 2 * PAIRS, "every free recorded, after its allocation");
		is_u64(c.ooo, 0, "no address allocated again before its free");
		is_u64(c.unknown_stack, 0, "every stack sent before its first use");
		ok(cnt[DT_CNT_UW_STACKS] >= 2 * PAIRS && cnt[DT_CNT_UW_FP_FRAMES] >= 2 * PAIRS,
		   "every stack walked over the shared table, by frame pointer where it has no "
		   "CFI (%llu stacks, %llu such frames)",
		   (unsigned long long)cnt[DT_CNT_UW_STACKS],
		   (unsigned long long)cnt[DT_CNT_UW_FP_FRAMES]);
	} else {
		ok(c.allocs + cnt[DT_CNT_RB_DROP_ALLOC] >= 2 * PAIRS,
		   "allocations recorded or counted as dropped");
	}

	ctrl->cmd_detach = 1;
	if (write(p[1], "", 1) != 1)
		return 1;
	wait_for(&ctrl->state, DT_INJ_INERT);
	ok(ctrl->state == DT_INJ_INERT && ctrl->why == DT_INJ_WHY_DETACH, "detached: inert");
	is_u64(ctrl->restored, ctrl->nslots, "every patched slot put back");
	c.allocs = 0;
	keep = malloc(SIZE0);
	free((void *)keep);
	while (injring__drain(q, NULL, on_record, &c, NULL))
		;
	is_u64(c.allocs, 0, "nothing recorded after the detach");
	injring__free(q);
	close(p[1]);
	tracer_gone(argv[1]);
	return tap_done();
}
