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
	struct bpf_link *links[3];
	int n;
};

struct mapwatch *mapwatch__attach(struct dhat_bpf *skel)
{
	struct bpf_program *progs[] = { skel->progs.sys_enter_seen, skel->progs.exec_seen,
					skel->progs.fork_seen };
	struct mapwatch *w = calloc(1, sizeof(*w));
	size_t i;

	if (!w)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(progs); i++) {
		/* Raw tracepoints: they need neither tracefs nor kprobes. */
		w->links[w->n] = bpf_program__attach(progs[i]);
		if (!w->links[w->n]) {
			int err = errno;

			elog("cannot watch the target's mappings (%s): %s\n",
			     bpf_program__name(progs[i]), strerror(err));
			mapwatch__detach(w);
			errno = err;
			return NULL;
		}
		w->n++;
	}
	return w;
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
