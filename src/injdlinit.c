// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * --inject's one probe (injdlinit.h): on the entry of ld.so's exported
 * _dl_catch_exception, which glibc's dlopen calls with no exception just
 * before it runs the new objects' constructors (bpf/dlinit.bpf.c; libc.so
 * has its own copy, which the loader calls once libc is up).  It
 * fires a few times per dlopen and dlsym, never on an allocation: the
 * in-process mode keeps its cost.  Without it (no BPF for this user, no
 * such function in the loader) the agent still patches after the dlopen and
 * counts what it could not see.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "dlinit.skel.h"
#include "elfsym.h"
#include "injdlinit.h"
#include "log.h"
#include "util.h"

#define MAX_LINKS 2

struct dlinit {
	struct dlinit_bpf *skel;
	struct bpf_link *links[MAX_LINKS];
};

static bool is_loader_or_libc(const char *path)
{
	const char *b = path_base(path);

	return !strncmp(b, "ld-linux", 8) || !strncmp(b, "libc.so", 7);
}

/* Probes _dl_catch_exception in module m, if it defines it; 0: not there. */
static int probe_module(struct dlinit *d, const struct tview *tv, uint32_t m, pid_t pid,
			size_t *nr)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts);
	struct elfsym_fn fn;
	struct elfsym *e;
	char path[64];
	int err = 0;

	if (*nr >= MAX_LINKS || !tview__module_open_path(tv, m, path, sizeof(path)) ||
	    !(e = elfsym__open(path)))
		return 0;
	if (!elfsym__function(e, "_dl_catch_exception", &fn)) {
		d->links[*nr] = bpf_program__attach_uprobe_opts(d->skel->progs.dl_init_entry, pid,
								path, fn.file_off, &opts);
		if (d->links[*nr])
			(*nr)++;
		else
			err = errno ? -errno : -EINVAL;
	}
	elfsym__close(e);
	return err;
}

/* The probe in each of the loader and libc that defines the function. */
static struct dlinit *attach(pid_t pid, const struct tview *tv, int sig, uint64_t handler,
			     int *err)
{
	struct dlinit *d = calloc(1, sizeof(*d));
	size_t nr = 0;
	uint32_t m;

	*err = -ENOMEM;
	if (!d)
		goto cleanup;
	d->skel = dlinit_bpf__open();
	if (!d->skel) {
		*err = -errno;
		goto cleanup;
	}
	d->skel->rodata->target_tgid = (__u32)pid;
	d->skel->rodata->sig = (__u32)sig;
	d->skel->rodata->handler = handler;
	*err = dlinit_bpf__load(d->skel);
	if (*err)
		goto cleanup;
	/* glibc 2.34 and later have one in libc.so too, which the loader calls
	 * once libc is up (BZ #16628): both are probed. */
	for (m = TV_FIRST_MODULE; m < tview__nr_modules(tv); m++) {
		if (!is_loader_or_libc(tview__module(tv, m)->path))
			continue;
		*err = probe_module(d, tv, m, pid, &nr);
		if (*err)
			goto cleanup;
	}
	*err = -ENOENT;
	if (!nr)
		goto cleanup;
	*err = 0;
	return d;
cleanup:
	dlinit__free(d);
	return NULL;
}

struct dlinit *dlinit__start(pid_t pid, const struct tview *tv, struct dt_inj_ctrl *ctrl)
{
	struct dlinit *d = NULL;
	int err = -EBUSY;

	if (ctrl->dlinit_sig)
		d = attach(pid, tv, (int)ctrl->dlinit_sig, ctrl->dlinit_handler, &err);
	if (d)
		return d;
	/* The agent gives SIGURG back as it starts recording. */
	__atomic_store_n(&ctrl->dlinit_want, 0, __ATOMIC_RELEASE);
	vlog("no probe before a dlopen's constructors in PID %d (%s): the objects it loads are "
	     "patched once it returns\n", pid,
	     err == -EBUSY ? "the program has a use for SIGURG" : strerror(-err));
	return NULL;
}

void dlinit__end(struct dlinit *d, pid_t pid, const struct dt_inj_ctrl *ctrl)
{
	uint64_t unseen = __atomic_load_n(&ctrl->ctors_unseen, __ATOMIC_RELAXED);
	uint64_t sent = 0, blocked = 0, not_ours = 0;

	if (d) {
		sent = __atomic_load_n(&d->skel->bss->sent, __ATOMIC_RELAXED);
		blocked = __atomic_load_n(&d->skel->bss->blocked, __ATOMIC_RELAXED);
		not_ours = __atomic_load_n(&d->skel->bss->not_ours, __ATOMIC_RELAXED) +
			   __atomic_load_n(&d->skel->bss->send_failed, __ATOMIC_RELAXED);
		dlinit__free(d);
	}
	vlog("dlopen in PID %d: %llu patch passes before constructors (%llu signals; withheld: "
	     "%llu blocked, %llu handler not the agent's)\n", pid,
	     (unsigned long long)ctrl->dlinit_passes, (unsigned long long)sent,
	     (unsigned long long)blocked, (unsigned long long)not_ours);
	/* The hook counts its dlopens that got no pass; the probe, every
	 * signal withheld (a load no hook sees, libc's own, too). */
	if (unseen || blocked || not_ours)
		wlog("%llu dlopen(s) in PID %d ran the new objects' constructors before the agent "
		     "could patch them (%s): what those allocated is not recorded\n",
		     (unsigned long long)(unseen > blocked + not_ours ? unseen : blocked + not_ours),
		     pid, blocked ? "the thread blocked SIGURG" :
		     not_ours ? "the program took SIGURG over" : "no probe: see -v");
}

void dlinit__free(struct dlinit *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < MAX_LINKS; i++)
		bpf_link__destroy(d->links[i]);
	dlinit_bpf__destroy(d->skel);
	free(d);
}
