// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Unwind tables in the kernel.  Rows of all objects share one BPF array,
 * mapped into this process (BPF_F_MMAPABLE), so installing a million rows
 * is a memcpy rather than a million syscalls; objects only ever get rows
 * appended after the ones in use, so a concurrent unwind never sees a half
 * written object: its index entry is written last.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <limits.h>
#include <bpf/libbpf.h>
#include "cfi.h"
#include "elfsym.h"
#include "log.h"
#include "targetview.h"
#include "unwind.h"
#include "util.h"

/* Room for objects mapped after the start (dlopen): at least this many
 * rows (8 B each), or as many again as the start needed. */
#define SPARE_ROWS (512u * 1024)
#define MAX_ROWS (32u * 1024 * 1024)

struct object {
	struct dt_uw_obj_key key;
	struct cfi_table t;	/* rows freed once installed */
	uint32_t first_row, nrows;
	bool installed, failed;
};

struct mapping {
	uint64_t start, end, pgoff;
	size_t obj;	/* index in objs */
};

struct unwinder {
	struct tview *tv;
	struct object *objs;
	size_t nr, cap;
	struct mapping *maps;	/* executable file mappings, last read */
	size_t nr_maps, cap_maps;
	uint32_t maps_epoch;	/* the target view's epoch they were read at */
	int maps_fd;
	volatile uint32_t *maps_cur;
	struct dt_uw_maps *table;	/* staging copy of one uw_maps slot */
	struct dt_uw_row *rows;	/* the BPF array, mapped */
	size_t map_len;
	uint32_t capacity, used;
	int objs_fd;
	struct unwinder_stats st;
};

struct unwinder *unwinder__new(struct tview *tv)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->tv = tv;
	u->objs_fd = -1;
	return u;
}

void unwinder__free(struct unwinder *u)
{
	size_t i;

	if (!u)
		return;
	for (i = 0; i < u->nr; i++)
		cfi__table_free(&u->objs[i].t);
	free(u->objs);
	free(u->maps);
	free(u->table);
	if (u->rows)
		munmap(u->rows, u->map_len);
	free(u);
}

/* Index of the object for this file, or -1. */
static ssize_t known(const struct unwinder *u, uint64_t ino, uint64_t size)
{
	size_t i;

	for (i = 0; i < u->nr; i++)
		if (u->objs[i].key.ino == ino && u->objs[i].key.size == size)
			return (ssize_t)i;
	return -1;
}

/* The object's index (built now if new), or -errno. */
static ssize_t add_file(struct unwinder *u, const char *path)
{
	struct object *o;
	struct stat st;
	ssize_t idx;
	uint64_t t0;
	int err;

	if (stat(path, &st))
		return -errno;
	idx = known(u, st.st_ino, (uint64_t)st.st_size);
	if (idx >= 0)
		return idx;
	if (u->nr == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 64;

		o = realloc(u->objs, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		u->objs = o;
		u->cap = cap;
	}
	o = &u->objs[u->nr];
	memset(o, 0, sizeof(*o));
	t0 = mono_ns();
	err = cfi__build(path, &o->t);
	u->st.build_ns += mono_ns() - t0;
	if (err == -ENODATA || err == -ERANGE) {
		/* No CFI we can use: an object index entry with no rows says
		 * "frame pointers here" to --unwind=auto. */
		vlog("no unwind table for %s: %s\n", path, strerror(-err));
		o->t.ino = st.st_ino;
		o->t.size = (uint64_t)st.st_size;
		u->st.objects_without_cfi++;
	} else if (err) {
		/* Remembered all the same, so that a refresh does not retry it. */
		vlog("cannot read unwind information of %s: %s\n", path, strerror(-err));
		o->t.ino = st.st_ino;
		o->t.size = (uint64_t)st.st_size;
		o->failed = true;
		u->st.objects_without_cfi++;
	} else {
		vlog("unwind table for %s: %zu rows, %zu unsupported\n", path, o->t.nrows,
		     o->t.unsupported);
		u->st.objects++;
	}
	o->key.ino = o->t.ino;
	o->key.size = o->t.size;
	return (ssize_t)u->nr++;
}

int unwinder__add_file(struct unwinder *u, const char *path)
{
	ssize_t idx = add_file(u, path);

	return idx < 0 ? (int)idx : 0;
}

static int add_mapping(struct unwinder *u, uint64_t start, uint64_t end, uint64_t pgoff,
		       size_t obj)
{
	if (u->nr_maps == u->cap_maps) {
		size_t cap = u->cap_maps ? u->cap_maps * 2 : 64;
		struct mapping *m = realloc(u->maps, cap * sizeof(*m));

		if (!m)
			return -ENOMEM;
		u->maps = m;
		u->cap_maps = cap;
	}
	u->maps[u->nr_maps++] = (struct mapping){ start, end, pgoff, obj };
	return 0;
}

/* The objects as the target view opened them: exactly the mapped files,
 * wherever they live. */
int unwinder__add_mapped(struct unwinder *u)
{
	const struct tv_map *maps;
	size_t i, n = tview__live(u->tv, &maps);
	char path[64];
	ssize_t obj;

	u->nr_maps = 0;
	u->maps_epoch = tview__epoch(u->tv);
	for (i = 0; i < n; i++) {
		if (!tview__module_open_path(u->tv, maps[i].mod, path, sizeof(path)))
			continue;
		obj = add_file(u, path);
		if (obj >= 0 && add_mapping(u, maps[i].start, maps[i].end, maps[i].pgoff,
					    (size_t)obj))
			break;
	}
	return 0;
}

int unwinder__add_program(struct unwinder *u, const char *exe)
{
	char prog[PATH_MAX], **order;
	struct elfsym *e;
	int i, n, err;

	err = elfsym__program_of(exe, prog, sizeof(prog), NULL);
	if (err)
		return err;
	n = elfsym__load_order("", prog, &order);
	for (i = 0; i < n; i++) {
		unwinder__add_file(u, order[i]);
		free(order[i]);
	}
	free(order);
	e = elfsym__open(prog);
	if (e && elfsym__interp(e) && *elfsym__interp(e))
		unwinder__add_file(u, elfsym__interp(e));
	elfsym__close(e);
	return 0;
}

bool unwinder__kernel_ok(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_find_vma, NULL) > 0 &&
	       libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_loop, NULL) > 0;
}

uint32_t unwinder__capacity(const struct unwinder *u)
{
	uint64_t need = 0, spare;
	size_t i;

	for (i = 0; i < u->nr; i++)
		need += u->objs[i].t.nrows;
	spare = need > SPARE_ROWS ? need : SPARE_ROWS;
	return need + spare > MAX_ROWS ? MAX_ROWS : (uint32_t)(need + spare);
}

static int install_pending(struct unwinder *u)
{
	struct dt_uw_obj v;
	size_t i;
	int err = 0;

	for (i = 0; i < u->nr; i++) {
		struct object *o = &u->objs[i];

		if (o->installed || o->failed)
			continue;
		if (o->t.nrows > u->capacity - u->used) {
			wlog("unwind tables full (%u rows): stacks through an object with %zu rows "
			     "will end there\n", u->capacity, o->t.nrows);
			o->failed = true;
			u->st.objects_not_loaded++;
			cfi__table_free(&o->t);
			continue;
		}
		memcpy(u->rows + u->used, o->t.rows, o->t.nrows * sizeof(*o->t.rows));
		v = (struct dt_uw_obj){ .vaddr_delta = o->t.vaddr_delta, .first_row = u->used,
					.nrows = (uint32_t)o->t.nrows };
		/* Rows are in place before the index entry that leads to them. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (bpf_map_update_elem(u->objs_fd, &o->key, &v, BPF_ANY)) {
			err = -errno;
			o->failed = true;
			continue;
		}
		o->first_row = u->used;
		o->nrows = (uint32_t)o->t.nrows;
		u->used += (uint32_t)o->t.nrows;
		u->st.rows += o->t.nrows;
		o->installed = true;
		cfi__table_free(&o->t);
	}
	u->st.table_bytes = (uint64_t)u->capacity * sizeof(struct dt_uw_row) +
			    u->nr * (sizeof(struct dt_uw_obj_key) + sizeof(struct dt_uw_obj));
	return err;
}

/* The mapping table for BPF, into the slot not in use, then switch. */
static int publish_maps(struct unwinder *u)
{
	struct dt_uw_maps *t = u->table;
	uint32_t next = (*u->maps_cur + 1) & 1;
	size_t i;

	t->n = 0;
	t->epoch = u->maps_epoch;
	for (i = 0; i < u->nr_maps && t->n < DT_UW_MAX_MAPS; i++) {
		const struct mapping *m = &u->maps[i];
		const struct object *o = &u->objs[m->obj];

		if (!o->installed && !o->failed)
			continue;
		t->m[t->n++] = (struct dt_uw_map){
			.start = m->start, .end = m->end,
			.bias = m->start - m->pgoff - (uint64_t)o->t.vaddr_delta,
			.first_row = o->first_row, .nrows = o->installed ? o->nrows : 0,
		};
	}
	if (bpf_map_update_elem(u->maps_fd, &next, t, BPF_ANY))
		return -errno;
	*u->maps_cur = next;
	return 0;
}

int unwinder__install(struct unwinder *u, const struct unwinder_maps *m, uint32_t capacity)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = ((size_t)capacity * sizeof(struct dt_uw_row) + page - 1) & ~(size_t)(page - 1);
	void *p;
	int err;

	u->table = calloc(1, sizeof(*u->table));
	if (!u->table)
		return -ENOMEM;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, m->rows_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	u->rows = p;
	u->map_len = len;
	u->capacity = capacity;
	u->st.row_capacity = capacity;
	u->objs_fd = m->objs_fd;
	u->maps_fd = m->maps_fd;
	u->maps_cur = m->maps_cur;
	err = install_pending(u);
	return err ? err : publish_maps(u);
}

int unwinder__refresh(struct unwinder *u)
{
	int err = tview__sync(u->tv);

	if (err && err != -EAGAIN)
		return err;
	err = unwinder__add_mapped(u);

	if (err || !u->rows)
		return err;
	err = install_pending(u);
	return err ? err : publish_maps(u);
}

const struct unwinder_stats *unwinder__stats(const struct unwinder *u)
{
	return &u->st;
}
