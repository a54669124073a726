// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
/* The skeleton names the ABI's types. */
#include "dhat_abi.h"
#include "dhat.skel.h"
#include "log.h"
#include "mapwatch.h"
#include "util.h"

struct mapwatch {
	struct dhat_bpf *skel;
	struct bpf_link *links[3];
	int n;
	bool syscalls;
};

/* Raw tracepoints: they need neither tracefs nor kprobes. */
static int attach(struct mapwatch *w, struct bpf_program *prog)
{
	w->links[w->n] = bpf_program__attach(prog);
	if (!w->links[w->n]) {
		int err = -errno;

		elog("cannot watch the target's mappings (%s): %s\n", bpf_program__name(prog),
		     strerror(-err));
		return err;
	}
	w->n++;
	return 0;
}

struct mapwatch *mapwatch__attach(struct dhat_bpf *skel)
{
	struct mapwatch *w = calloc(1, sizeof(*w));
	const char *env = getenv("DHAT_TRACE_MAPWATCH");

	if (!w)
		return NULL;
	w->skel = skel;
	if (attach(w, skel->progs.exec_seen) || attach(w, skel->progs.fork_seen))
		goto fail;
	if (env && strcmp(env, "syscalls") == 0) {
		vlog("code unmaps watched on every system call (DHAT_TRACE_MAPWATCH=syscalls)\n");
		if (mapwatch__watch_syscalls(w))
			goto fail;
	}
	return w;
fail:
	mapwatch__detach(w);
	errno = EINVAL;
	return NULL;
}

int mapwatch__watch_syscalls(struct mapwatch *w)
{
	if (w->syscalls)
		return 0;
	w->syscalls = true;
	return attach(w, w->skel->progs.sys_enter_seen);
}

/* As the BPF side logs an unmap (bpf/dhat.bpf.c log_unmap), for all code. */
void mapwatch__all_changed(struct mapwatch *w)
{
	struct dhat_bpf__bss *bss = w->skel->bss;
	__u32 e = __atomic_add_fetch(&bss->map_epoch, 1, __ATOMIC_SEQ_CST);
	struct dt_unmap *l = &bss->unmap_log[e & (DT_UNMAP_LOG - 1)];

	l->start = 0;
	l->end = ~0ULL;
	l->flags = 0;
	__atomic_store_n(&l->epoch, e, __ATOMIC_RELEASE);
}

void mapwatch__detach(struct mapwatch *w)
{
	int i;

	if (!w)
		return;
	for (i = 0; i < w->n; i++)
		bpf_link__destroy(w->links[i]);
	free(w);
}
