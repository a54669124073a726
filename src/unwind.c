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
#include <stddef.h>
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
#include "uwexec.h"
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
	bool indexed;		/* failed, and BPF told the stack ends there */
};

struct mapping {
	uint64_t start, end, pgoff;
	size_t obj;	/* index in objs */
	uint32_t born;	/* the map epoch it appeared in */
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
	struct dt_uw_maps *slots;	/* shared with the agent, or NULL */
	volatile uint32_t *gen;
	struct dt_uw_maps *table;	/* staging copy of one uw_maps slot */
	struct dt_uw_row *rows;	/* the BPF array, mapped */
	size_t map_len;
	uint32_t capacity, used;
	int objs_fd;
	uint32_t max_frames;
	bool fp_fallback;
	uint64_t refreshed_ns;	/* when the last refresh began */
	struct unwinder_stats st;
};

struct unwinder *unwinder__new(struct tview *tv)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->tv = tv;
	u->objs_fd = -1;
	u->max_frames = DT_MAX_FRAMES;
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
	if (u->map_len)
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

/* Room for one more object, zeroed (not counted in nr yet); NULL: no memory. */
static struct object *new_object(struct unwinder *u)
{
	struct object *o;

	if (u->nr == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 64;

		o = realloc(u->objs, cap * sizeof(*o));
		if (!o)
			return NULL;
		u->objs = o;
		u->cap = cap;
	}
	o = &u->objs[u->nr];
	memset(o, 0, sizeof(*o));
	return o;
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
	o = new_object(u);
	if (!o)
		return -ENOMEM;
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

static int add_mapping(struct unwinder *u, const struct tv_map *tm, size_t obj)
{
	if (u->nr_maps == u->cap_maps) {
		size_t cap = u->cap_maps ? u->cap_maps * 2 : 64;
		struct mapping *m = realloc(u->maps, cap * sizeof(*m));

		if (!m)
			return -ENOMEM;
		u->maps = m;
		u->cap_maps = cap;
	}
	u->maps[u->nr_maps++] = (struct mapping){ tm->start, tm->end, tm->pgoff, obj, tm->born };
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
		if (obj >= 0 && add_mapping(u, &maps[i], (size_t)obj))
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

static int index_no_rows(struct unwinder *u, const struct dt_uw_obj_key *key)
{
	struct dt_uw_obj v = { .first_row = DT_UW_NO_ROWS };

	if (u->objs_fd < 0)
		return 0;	/* the agent looks up mappings alone */
	return bpf_map_update_elem(u->objs_fd, key, &v, BPF_ANY) ? -errno : 0;
}

static int install_pending(struct unwinder *u)
{
	struct dt_uw_obj v;
	size_t i;
	int err = 0;

	for (i = 0; i < u->nr; i++) {
		struct object *o = &u->objs[i];

		if (o->failed && !o->indexed) {
			/* No table will come: stacks end there, rather than
			 * wait for it (a tail each, bpf/dhat.bpf.c send_tail). */
			o->indexed = !index_no_rows(u, &o->key);
			continue;
		}
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
		if (u->objs_fd >= 0 && bpf_map_update_elem(u->objs_fd, &o->key, &v, BPF_ANY)) {
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
	uint32_t next;
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
			.first_row = o->installed ? o->first_row : DT_UW_NO_ROWS,
			.nrows = o->installed ? o->nrows : 0,
		};
	}
	if (u->slots) {
		uint32_t g = *u->gen + 1;

		memcpy(&u->slots[g & 1], t, offsetof(struct dt_uw_maps, m) + t->n * sizeof(t->m[0]));
		__atomic_store_n(u->gen, g, __ATOMIC_RELEASE);
		return 0;
	}
	next = (*u->maps_cur + 1) & 1;
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
	if (m->rows) {
		u->rows = m->rows;	/* the caller's to unmap */
	} else {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, m->rows_fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		u->rows = p;
		u->map_len = len;
	}
	u->slots = m->slots;
	u->gen = m->gen;
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
	int err;

	u->refreshed_ns = mono_ns();
	err = tview__sync(u->tv);

	if (err && err != -EAGAIN)
		return err;
	err = unwinder__add_mapped(u);

	if (err || !u->rows)
		return err;
	err = install_pending(u);
	return err ? err : publish_maps(u);
}

void unwinder__set_walk(struct unwinder *u, uint32_t max_frames, bool fp_fallback)
{
	u->max_frames = max_frames;
	u->fp_fallback = fp_fallback;
}

/*
 * Stacks cut by the load window (DT_STACK_TAIL): the walk goes on here,
 * through the same rows with the same rules (src/uwexec.c), over the copy
 * of the stack the record carries.
 */
struct tail_walk {
	const struct unwinder *u;
	const uint8_t *bytes;
	uint64_t base, len;
	uint32_t epoch;	/* the stack's */
};

static uint8_t tail_rule(void *ctx, uint64_t addr, struct dt_uw_row *row)
{
	const struct tail_walk *w = ctx;
	const struct unwinder *u = w->u;
	const struct mapping *m = NULL;
	const struct object *o;
	uint64_t rel;
	size_t i;

	for (i = 0; i < u->nr_maps && !m; i++)
		if (addr >= u->maps[i].start && addr < u->maps[i].end)
			m = &u->maps[i];
	/* Not mapped, or mapped since the stack was taken (not the code it ran). */
	if (!m || m->born > w->epoch)
		return DT_UW_GAP;
	o = &u->objs[m->obj];
	if (!o->installed)
		return o->failed ? DT_UW_GAP : DT_UW_NOT_YET;
	if (!o->nrows)
		return DT_UW_FP;
	rel = addr - (m->start - m->pgoff - (uint64_t)o->t.vaddr_delta);
	return uwexec__row(u->rows, o->first_row, o->nrows, rel, row);
}

static int tail_read(void *ctx, uint64_t addr, uint64_t *out)
{
	const struct tail_walk *w = ctx;

	if (addr < w->base || w->len < 8 || addr - w->base > w->len - 8)
		return -1;
	memcpy(out, w->bytes + (addr - w->base), sizeof(*out));
	return 0;
}

/* Whether an object with this key is known: built, or given up on. */
static bool key_known(struct unwinder *u, uint64_t ino, uint64_t size)
{
	return known(u, ino, size) >= 0;
}

/* A mapped file we cannot read the table of: stacks end there from now on
 * in BPF too, rather than send a tail each. */
static void give_up(struct unwinder *u, const struct dt_uw_obj_key *key)
{
	struct object *o = new_object(u);

	if (!o)
		return;
	u->nr++;
	o->key = *key;
	o->t.ino = key->ino;
	o->t.size = key->size;
	o->failed = true;
	o->indexed = !index_no_rows(u, key);
	u->st.objects_without_cfi++;
}

int unwinder__complete(struct unwinder *u, const struct dt_rec_stack *r, size_t size,
		       uint64_t *ips, uint32_t *nr)
{
	const struct dt_stack_tail *t = (const void *)(r + 1);
	struct dt_uw_obj_key key;
	struct tail_walk w = { .u = u, .epoch = r->epoch };
	struct uwexec_ops ops = { .rule = tail_rule, .read = tail_read, .ctx = &w,
				  .max_frames = u->max_frames, .fp_fallback = u->fp_fallback };
	struct uwexec_regs regs;
	int end;

	if (size < sizeof(*r) + sizeof(*t) || size - sizeof(*r) - sizeof(*t) < t->len ||
	    !r->nr_frames || r->nr_frames > DT_MAX_FRAMES)
		return -EINVAL;
	key = (struct dt_uw_obj_key){ .ino = t->missing_ino, .size = t->missing_size };
	/* Once per object: what the loader mapped is read now. */
	if (!key_known(u, key.ino, key.size)) {
		unwinder__refresh(u);
		if (!key_known(u, key.ino, key.size))
			give_up(u, &key);
	}
	memcpy(ips, r->ips, r->nr_frames * sizeof(*ips));
	*nr = r->nr_frames;
	w.bytes = (const uint8_t *)(t + 1);
	w.base = t->sp;
	w.len = t->len;
	regs = (struct uwexec_regs){ .pc = t->pc, .sp = t->sp, .bp = t->bp, .exact = t->exact };
	end = uwexec__walk(&ops, &regs, ips, nr, &u->st.fp_frames);
	u->st.tails++;
	if (end != DT_CNT_NR)
		u->st.tails_cut[end]++;
	return 0;
}

const struct unwinder_stats *unwinder__stats(const struct unwinder *u)
{
	return &u->st;
}
