// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
/* The skeleton names the ABI's types. */
#include "dhat_abi.h"
#include "dhat.skel.h"
#include "allocfns.h"
#include "elfsym.h"
#include "log.h"
#include "placement.h"
#include "probes.h"
#include "targetview.h"
#include "umulti.h"
#include "util.h"

struct probe_def {
	const char *sym;
	enum dt_probe_kind kind;
	size_t prog_off;	/* offsetof the entry program in skel->progs */
	__u32 fn;		/* DT_FN_*: multi_enter's attach cookie */
	bool required;
	unsigned int nargs;	/* integer arguments: registers a moved probe must keep */
};

#define PROG(name) offsetof(struct dhat_bpf, progs.name)
#define DEF(id, sym, kind, fn, required, nargs, prog) \
	{ sym, kind, PROG(prog), fn, required, nargs },

/* The table is allocfns.h's, shared with the in-process agent. */
static const struct probe_def defs[] = { DT_ALLOC_FNS(DEF) DT_MAP_FNS(DEF) };

#define MAX_OBJECTS 512

static size_t find_def(__u32 fn)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(defs) - 1 && defs[i].fn != fn; i++)
		;
	return i;
}
#define NR_DEFS ARRAY_SIZE(defs)
#define MAX_LINKS (2 * NR_DEFS)

struct probes {
	bool watches_maps;			/* munmap and _dl_debug_state probed */
	struct bpf_link *links[MAX_LINKS];	/* classic: one per probe */
	int nr_links;
	int link_fds[MAX_LINKS];		/* uprobe-multi: two per object */
	int nr_fds;
	char summary[512];
};

struct object {
	char *path;	/* as the target sees it */
	char *open_path;/* as we open it (through /proc/PID/root) */
	struct elfsym *elf;
	bool tried, used;
};

struct resolver {
	struct object objs[MAX_OBJECTS];
	int n;
};

/* open_path: where we open it, if not root + path. */
static void add_object(struct resolver *r, const char *root, const char *path,
		       const char *open_path)
{
	char buf[PATH_MAX];
	int i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->objs[i].path, path) == 0)
			return;
	if (r->n == MAX_OBJECTS)
		return;
	if (open_path)
		snprintf(buf, sizeof(buf), "%s", open_path);
	else
		snprintf(buf, sizeof(buf), "%s%s", root, path);
	r->objs[r->n].path = strdup(path);
	r->objs[r->n].open_path = strdup(buf);
	if (r->objs[r->n].path && r->objs[r->n].open_path)
		r->n++;
}

static bool is_libc(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strncmp(base, "libc.so", 7) == 0 || strncmp(base, "libc-", 5) == 0;
}

/*
 * The target's LD_PRELOAD (its environment as it started, from
 * /proc/PID/environ): "path:path ..." into buf, "" if none.
 */
static void preload_of(pid_t pid, char *buf, size_t len)
{
	static const char key[] = "LD_PRELOAD=";
	char file[64], env[65536];
	ssize_t n;
	size_t at;
	int fd;

	buf[0] = '\0';
	snprintf(file, sizeof(file), "/proc/%d/environ", pid);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, env, sizeof(env) - 1);
	close(fd);
	if (n <= 0)
		return;
	env[n] = '\0';
	for (at = 0; at < (size_t)n; at += strlen(env + at) + 1)
		if (!strncmp(env + at, key, sizeof(key) - 1))
			snprintf(buf, len, "%s", env + at + sizeof(key) - 1);
}

static bool same_name(const char *a, const char *b)
{
	const char *x = strrchr(a, '/'), *y = strrchr(b, '/');

	return !strcmp(x ? x + 1 : a, y ? y + 1 : b);
}

/* Whether path's file name is one of the list's (paths or bare names,
 * separated by colons or spaces, as ld.so reads LD_PRELOAD). */
static bool in_preload(const char *list, const char *path)
{
	const char *base = strrchr(path, '/'), *p = list, *end, *name, *slash;
	size_t len;

	base = base ? base + 1 : path;
	for (; *p; p = end) {
		p += strspn(p, ": ");
		end = p + strcspn(p, ": ");
		for (name = p; (slash = memchr(name, '/', (size_t)(end - name))); name = slash + 1)
			;
		len = (size_t)(end - name);
		if (len && strlen(base) == len && !strncmp(base, name, len))
			return true;
	}
	return false;
}

/*
 * A running process: its executable first, then its LD_PRELOAD objects,
 * then the libraries the executable needs in the order ld.so --list gives
 * them (breadth first), then what else it has mapped (dlopen), with libc
 * last: the dynamic linker's search order as far as it matters here, so
 * that an interposing allocator library wins over libc and libstdc++ as it
 * does there.  Address order alone would not do: libjemalloc, preloaded or
 * needed before libstdc++, is mapped above it, and the probes went on
 * libstdc++'s operator new, which the program never calls.  Each is opened
 * as the target view opened it: the target's own file.
 */
static int resolve_running(struct resolver *r, const struct tview *tv, pid_t pid)
{
	char path[64], preload[4096], **order = NULL;
	uint32_t i, n = tview__nr_modules(tv);
	int pass, want, k, norder = 0;

	preload_of(pid, preload, sizeof(preload));
	for (i = TV_FIRST_MODULE; i < n && !norder; i++)
		if (tview__module(tv, i)->is_exe &&
		    tview__module_open_path(tv, i, path, sizeof(path)))
			norder = elfsym__load_order("", path, &order);
	for (pass = 0; pass < 5; pass++) {
		/* Pass 2: the libraries the executable needs, in ld.so's order. */
		for (k = 1; pass == 2 && k < norder; k++)
			for (i = TV_FIRST_MODULE; i < n; i++) {
				const struct tv_module *m = tview__module(tv, i);

				if (!m->is_exe && !is_libc(m->path) && same_name(order[k], m->path) &&
				    tview__module_open_path(tv, i, path, sizeof(path)))
					add_object(r, "", m->path, path);
			}
		for (i = TV_FIRST_MODULE; i < n && pass != 2; i++) {
			const struct tv_module *m = tview__module(tv, i);

			want = m->is_exe ? 0 : is_libc(m->path) ? 4 :
			       in_preload(preload, m->path) ? 1 : 3;
			if (want == pass && tview__module_open_path(tv, i, path, sizeof(path)))
				add_object(r, "", m->path, path);
		}
	}
	for (k = 0; k < norder; k++)
		free(order[k]);
	free(order);
	return r->n ? 0 : -ENOENT;
}

/* A command about to be launched: the dynamic linker's own order. */
static int resolve_launch(struct resolver *r, const char *exe)
{
	char **order, prog[PATH_MAX];
	int i, n, err;

	err = elfsym__program_of(exe, prog, sizeof(prog), NULL);
	if (err)
		return err;
	n = elfsym__load_order("", prog, &order);
	for (i = 0; i < n; i++) {
		add_object(r, "", order[i], NULL);
		free(order[i]);
	}
	free(order);
	return n > 0 ? 0 : -ENOENT;
}

static void resolver_free(struct resolver *r)
{
	int i;

	for (i = 0; i < r->n; i++) {
		elfsym__close(r->objs[i].elf);
		free(r->objs[i].path);
		free(r->objs[i].open_path);
	}
}

/* First object in search order that defines sym. */
static struct object *lookup(struct resolver *r, const char *sym, struct elfsym_fn *fn)
{
	int i;

	for (i = 0; i < r->n; i++) {
		struct object *o = &r->objs[i];

		if (!o->tried) {
			o->tried = true;
			o->elf = elfsym__open(o->open_path);
		}
		if (o->elf && elfsym__function(o->elf, sym, fn) == 0)
			return o;
	}
	return NULL;
}

/* libstdc++ (or a program linked with it statically): where __cxa_throw is. */
static bool cxx_runtime(struct object *o)
{
	struct elfsym_fn fn;

	return elfsym__function(o->elf, "__cxa_throw", &fn) == 0;
}

/*
 * The kernel says only EINVAL; its log says why.  Finds the last line about
 * what, and the probe offset it names (0 if none).
 */
static bool kernel_log_says(const char *what, uint64_t *offset)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf, *line = NULL, *at;
	bool found = false;

	*offset = 0;
	if (len <= 0)
		return false;
	buf = malloc(len + 1);
	if (!buf)
		return false;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	if (len > 0) {
		buf[len] = '\0';
		for (at = buf; (at = strstr(at, what)); at++)
			line = at;
		found = line != NULL;
	}
	/* "ref_ctr_offset mismatch. inode: 0x.. offset: 0x.. ref_ctr_offset(old): .." */
	if (line && (at = strstr(line, " offset: 0x")) && at < line + strcspn(line, "\n"))
		*offset = strtoull(at + 9, NULL, 16);
	free(buf);
	return found;
}

static void explain_attach_error(const char *sym, const char *path, int err)
{
	uint64_t off;

	if (err == -EINVAL && kernel_log_says("ref_ctr_offset mismatch", &off)) {
		elog("the kernel refused a uprobe on %s in %s: another tracer holds a uprobe on that "
		     "function with a different reference counter (kernel log: \"ref_ctr_offset "
		     "mismatch\"); stop it and retry\n", sym, path);
	} else if (err == -EINVAL) {
		elog("the kernel refused a uprobe on %s in %s: %s (another tracer may hold a "
		     "conflicting uprobe there)\n", sym, path, strerror(-err));
	} else {
		elog("cannot attach a uprobe on %s in %s: %s\n", sym, path, strerror(-err));
	}
}

static int attach_one(struct probes *p, struct bpf_program *prog, pid_t pid, const char *path,
		      uint64_t off, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, pid, path, off, &opts);

	if (!l)
		return errno ? -errno : -EINVAL;
	p->links[p->nr_links++] = l;
	return 0;
}

static void add_to_list(char *list, size_t size, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len = strlen(list);

	base = base ? base + 1 : path;
	if (strstr(list, base))
		return;
	snprintf(list + len, size - len, "%s%s", len ? ", " : "", base);
}

/* Per-function links (perf-event uprobes): what kernels before 6.6 have. */
static int attach_classic(struct probes *p, struct dhat_bpf *skel, pid_t pid,
			  struct object **objs, const uint64_t *offs, const bool *no_ret,
			  const struct probe_opts *opts)
{
	struct bpf_program *prog;
	size_t i;
	int err = 0;

	for (i = 0; i < NR_DEFS; i++) {
		if (!objs[i])
			continue;
		prog = opts->probe_only ? skel->progs.probe_only :
		       no_ret[i] ? skel->progs.new_noret_enter :
				   *(struct bpf_program **)((char *)skel + defs[i].prog_off);
		/* Return probe first: any entry we see then has its return seen too. */
		if (defs[i].kind == DT_PK_ALLOC && !no_ret[i])
			err = attach_one(p, opts->probe_only ? prog : skel->progs.alloc_exit, pid,
					 objs[i]->open_path, offs[i], true);
		if (!err)
			err = attach_one(p, prog, pid, objs[i]->open_path, offs[i], false);
		if (err) {
			explain_attach_error(defs[i].sym, objs[i]->path, err);
			return err;
		}
	}
	return 0;
}

/*
 * A multi link fails as a whole; name the function the kernel log blames, or
 * all of them.
 */
static void explain_multi_error(struct object **objs, const uint64_t *offs,
				const bool *no_ret, const struct object *o, bool ret, int err)
{
	char names[256] = "";
	uint64_t off = 0;
	size_t i, len;

	if (err == -EINVAL)
		kernel_log_says("ref_ctr_offset mismatch", &off);
	for (i = 0; i < NR_DEFS; i++)
		if (objs[i] == o && off && offs[i] == off)
			snprintf(names, sizeof(names), "%s", defs[i].sym);
	for (i = 0; i < NR_DEFS && !names[0]; i++) {
		if (objs[i] != o || (ret && (defs[i].kind != DT_PK_ALLOC || no_ret[i])))
			continue;
		len = strlen(names);
		snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "", defs[i].sym);
	}
	explain_attach_error(names, o->path, err);
}

/*
 * Uprobe-multi links: per object, one link for all the return probes and
 * one for all the entry probes (multi_enter tells them apart by cookie).
 * Closing each then waits for the kernel's uprobe grace period once, not
 * once per probe: ~20 ms per link instead of ~80 ms per probe on 6.18.
 */
static int attach_multi(struct probes *p, struct dhat_bpf *skel, pid_t pid,
			struct object **objs, const uint64_t *offs, const bool *no_ret,
			const struct probe_opts *opts)
{
	struct bpf_program *enter = opts->probe_only ? skel->progs.probe_only :
						       skel->progs.multi_enter;
	struct bpf_program *leave = opts->probe_only ? skel->progs.probe_only :
						       skel->progs.alloc_exit;
	unsigned long o_offs[NR_DEFS];
	__u64 cookies[NR_DEFS];
	size_t i, j, n;
	int ret, fd;

	/* All return links before any entry link: an entry seen has its return seen too. */
	for (ret = 1; ret >= 0; ret--) {
		for (i = 0; i < NR_DEFS; i++) {
			for (j = 0; objs[i] && j < i && objs[j] != objs[i]; j++)
				;
			if (!objs[i] || j < i)
				continue;	/* none here, or its object is done */
			for (n = 0, j = i; j < NR_DEFS; j++) {
				if (objs[j] != objs[i] ||
				    (ret && (defs[j].kind != DT_PK_ALLOC || no_ret[j])))
					continue;
				o_offs[n] = offs[j];
				cookies[n++] = defs[j].fn | (no_ret[j] ? DT_COOKIE_NO_RETURN : 0);
			}
			if (!n)
				continue;
			fd = umulti__attach(bpf_program__fd(ret ? leave : enter), pid,
					    objs[i]->open_path, o_offs, cookies, n, ret);
			if (fd < 0) {
				explain_multi_error(objs, offs, no_ret, objs[i], ret, fd);
				return fd;
			}
			p->link_fds[p->nr_fds++] = fd;
			dlog("uprobe-multi link for %zu %s probes in %s\n", n,
			     ret ? "return" : "entry", objs[i]->path);
		}
	}
	return 0;
}

/* The probe's file offset for the function fn of object o (see placement.c). */
static uint64_t place(struct object *o, const struct probe_def *d, const struct elfsym_fn *fn,
		      const struct probe_opts *opts)
{
	struct placement pl;

	if (opts->at_entry) {
		vlog("probe on %s at %s+0x%llx (its entry: --probe-at-entry)\n", d->sym, o->path,
		     (unsigned long long)fn->file_off);
		return fn->file_off;
	}
	if (!fn->code) {
		vlog("probe on %s at %s+0x%llx (its entry: its code is not in the file)\n", d->sym,
		     o->path, (unsigned long long)fn->file_off);
		return fn->file_off;
	}
	placement__decide(fn->code, fn->size, fn->vaddr, d->nargs, &pl);
	if (pl.skip && elfsym__function_starts_in(o->elf, fn->vaddr, fn->vaddr + pl.skip)) {
		snprintf(pl.why, sizeof(pl.why), "another function starts within +%zu", pl.skip);
		pl.skip = 0;
	}
	vlog("probe on %s at %s+0x%llx (+%zu, on %s: %s)\n", d->sym, o->path,
	     (unsigned long long)(fn->file_off + pl.skip), pl.skip, pl.insn, pl.why);
	return fn->file_off + pl.skip;
}

/*
 * Where _r_debug is, from the _dl_debug_state probe: both are in ld.so, so
 * the BPF side finds it from the probe's address, with no load address to
 * follow, and tells the ends of dlopen from dlclose's unmaps by its r_state
 * (bpf/dhat.bpf.c: loader_may_unmap).
 */
static void set_r_debug(struct dhat_bpf *skel, struct object **objs,
			const struct elfsym_fn *fns, const uint64_t *offs)
{
	size_t i = find_def(DT_FN_DL_DEBUG_STATE);
	uint64_t vaddr;

	skel->bss->r_debug_delta = 0;
	if (!objs[i] || elfsym__variable(objs[i]->elf, "_r_debug", &vaddr))
		return;
	skel->bss->r_debug_delta = (int64_t)(vaddr - (fns[i].vaddr + offs[i] - fns[i].file_off));
}

struct probes *probes__attach(struct dhat_bpf *skel, const struct target *t,
			      const struct tview *tv, const struct probe_opts *opts)
{
	struct probes *p = calloc(1, sizeof(*p));
	struct resolver r = {};
	struct elfsym_fn fns[NR_DEFS];
	uint64_t offs[NR_DEFS];
	struct object *objs[NR_DEFS];
	bool no_ret[NR_DEFS] = {};
	pid_t filter = t->pid;
	size_t i, j;
	int err = 0, nr = 0;
	char objects[sizeof(p->summary) - 32] = "";

	if (!p)
		return NULL;
	err = opts->from_maps ? resolve_running(&r, tv, t->pid) : resolve_launch(&r, t->exe);
	if (err == -ENOEXEC) {
		elog("cannot execute '%s': %s\n", t->exe, strerror(ENOEXEC));
		goto cleanup;
	}
	if (err) {
		elog("cannot find the objects of %s: %s\n", opts->from_maps ? "the process" : t->exe,
		     strerror(-err));
		goto cleanup;
	}
	for (i = 0; i < NR_DEFS; i++) {
		/* --probe-only measures the allocator's probes alone. */
		if (defs[i].kind == DT_PK_MAP && opts->probe_only) {
			objs[i] = NULL;
			continue;
		}
		objs[i] = lookup(&r, defs[i].sym, &fns[i]);
		if (!objs[i] && defs[i].required) {
			elog("no %s found in %s or the libraries it loads (a static, stripped "
			     "executable?)\n", defs[i].sym, opts->from_maps ? "the process" : t->exe);
			err = -ENOENT;
			goto cleanup;
		}
		/* The C++ runtime's operator delete calls free (allocfns.h).
		 * Its operator new calls malloc, whose return gives the block:
		 * no return probe of its own, as a bad_alloc thrown through one
		 * meets the kernel's trampoline for a return address, which
		 * the C++ unwinder cannot step past (the program aborts). */
		if (objs[i] && defs[i].fn == DT_FN_DELETE && cxx_runtime(objs[i]))
			objs[i] = NULL;
		no_ret[i] = objs[i] && defs[i].fn == DT_FN_NEW && cxx_runtime(objs[i]);
		/* Aliases (glibc's aligned_alloc is memalign) get one probe. */
		for (j = 0; objs[i] && j < i; j++)
			if (objs[j] == objs[i] && fns[j].file_off == fns[i].file_off)
				objs[i] = NULL;
		if (objs[i])
			offs[i] = place(objs[i], &defs[i], &fns[i], opts);
	}
	/* The kernel limits uprobes to the main thread's mm, gone once main
	 * has exited (pthread_exit()): no filter then; traced() in BPF still
	 * records the target's threads only. */
	if (opts->from_maps && target__mm_tid(t->pid) != t->pid) {
		filter = opts->multi ? 0 : -1;
		wlog("the main thread of PID %d has exited, so the kernel cannot limit the probes "
		     "to it: they fire in every process using the same objects (only PID %d is "
		     "recorded)\n", t->pid, t->pid);
	}
	err = opts->multi ? attach_multi(p, skel, filter, objs, offs, no_ret, opts) :
			    attach_classic(p, skel, filter, objs, offs, no_ret, opts);
	if (err)
		goto cleanup;
	for (i = 0; i < NR_DEFS; i++) {
		if (!objs[i])
			continue;
		add_to_list(objects, sizeof(objects), objs[i]->path);
		nr++;
	}
	p->watches_maps = objs[find_def(DT_FN_MUNMAP)] && objs[find_def(DT_FN_DL_DEBUG_STATE)];
	set_r_debug(skel, objs, fns, offs);
	vlog("attached %d functions with %d %s\n", nr, p->nr_links + p->nr_fds,
	     opts->multi ? "uprobe-multi links (one per object for the entries, one for the "
			   "returns)" : "classic uprobe links (one per probe)");
	snprintf(p->summary, sizeof(p->summary), "%d functions in %s", nr, objects);
cleanup:
	resolver_free(&r);
	if (err) {
		probes__detach(p);
		errno = -err;
		return NULL;
	}
	return p;
}

void probes__detach(struct probes *p)
{
	uint64_t t0 = mono_ns();
	int i;

	if (!p)
		return;
	for (i = 0; i < p->nr_links; i++)
		bpf_link__destroy(p->links[i]);
	for (i = 0; i < p->nr_fds; i++)
		close(p->link_fds[i]);
	if (p->nr_links + p->nr_fds)
		vlog("%d probe links detached in %.0f ms\n", p->nr_links + p->nr_fds,
		     (double)(mono_ns() - t0) / 1e6);
	free(p);
}

/*
 * Before the skeleton is loaded: a program loaded for uprobe-multi links
 * cannot be attached as a classic uprobe (EINVAL on 6.18) nor the other way
 * round, so the method is chosen now, and programs the method will not use
 * are not loaded at all (each costs its own verification).
 */
void probes__prepare(struct dhat_bpf *skel, const struct probe_opts *opts)
{
	struct bpf_program *prog;
	size_t i;

	bpf_object__for_each_program(prog, skel->obj) {
		if (bpf_program__type(prog) != BPF_PROG_TYPE_KPROBE)
			continue;
		bpf_program__set_autoload(prog, false);
		if (opts->multi)
			bpf_program__set_expected_attach_type(prog, UMULTI_ATTACH_TYPE);
	}
	if (opts->probe_only) {
		bpf_program__set_autoload(skel->progs.probe_only, true);
		return;
	}
	bpf_program__set_autoload(skel->progs.alloc_exit, true);
	if (opts->multi) {
		bpf_program__set_autoload(skel->progs.multi_enter, true);
		return;
	}
	for (i = 0; i < NR_DEFS; i++)
		bpf_program__set_autoload(*(struct bpf_program **)((char *)skel + defs[i].prog_off),
					  true);
	bpf_program__set_autoload(skel->progs.new_noret_enter, true);
}

const char *probes__summary(const struct probes *p)
{
	return p->summary;
}

bool probes__watch_maps(const struct probes *p)
{
	return p->watches_maps;
}
