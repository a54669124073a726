// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "dhat_inject_abi.h"
#include "injuw.h"
#include "log.h"
#include "unwind.h"
#include "util.h"

#define REFRESH_EVERY_NS (100ULL * 1000 * 1000)

struct injuw {
	int fd;
	struct dt_inj_uw *t;
	size_t len;
	struct unwinder *uw;
	uint64_t refreshed_ns;
};

struct injuw *injuw__new(int fd, struct unwinder *uw)
{
	uint32_t cap = unwinder__capacity(uw);
	struct injuw *q = calloc(1, sizeof(*q));
	void *p = MAP_FAILED;
	int err;

	if (!q)
		return NULL;
	q->fd = fd;
	q->uw = uw;
	q->len = DT_INJ_UW_ROWS_OFF + (size_t)cap * sizeof(struct dt_uw_row);
	if (ftruncate(fd, (off_t)q->len)) {
		err = -errno;
		goto cleanup;
	}
	p = mmap(NULL, q->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		goto cleanup;
	}
	q->t = p;
	q->t->magic = DT_INJ_UW_MAGIC;
	q->t->capacity = cap;
	err = unwinder__install(uw, &(struct unwinder_maps){
		.rows_fd = -1, .objs_fd = -1, .maps_fd = -1,
		.rows = (struct dt_uw_row *)((char *)p + DT_INJ_UW_ROWS_OFF),
		.slots = q->t->maps, .gen = &q->t->gen }, cap);
	if (err)
		goto cleanup;
	return q;
cleanup:
	if (p != MAP_FAILED)
		munmap(p, q->len);
	free(q);
	errno = -err;
	return NULL;
}

void injuw__free(struct injuw *q)
{
	if (!q)
		return;
	munmap(q->t, q->len);
	close(q->fd);
	free(q);
}

void injuw__poll(struct injuw *q, struct dt_inj_ctrl *ctrl)
{
	uint32_t want;
	uint64_t now;
	int err;

	if (!q)
		return;
	want = __atomic_load_n(&ctrl->uw_want, __ATOMIC_ACQUIRE);
	now = mono_ns();
	/* A stack in code without a table (maybe JIT code, which no refresh
	 * brings) waits its turn; a dlopen, which the agent waits for, not. */
	if (!want || (want != DT_UW_REFRESH_NOW && now - q->refreshed_ns < REFRESH_EVERY_NS))
		return;
	q->refreshed_ns = now;
	/* Cleared first: code met while we read is asked for again. */
	__atomic_store_n(&ctrl->uw_want, 0, __ATOMIC_RELEASE);
	err = unwinder__refresh(q->uw);
	if (err)
		vlog("cannot read the mappings of the target again: %s\n", strerror(-err));
}
