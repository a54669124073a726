/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_PROBES_H
#define DT_PROBES_H

#include <stdbool.h>
#include "target.h"

struct dhat_bpf;
struct probes;

struct probe_opts {
	bool at_entry;		/* --probe-at-entry: no placement past the entry */
	bool probe_only;	/* --probe-only: programs that return at once */
	bool multi;		/* uprobe-multi links (umulti.h) rather than one per probe */
	bool from_maps;		/* the objects the target maps (else a launched command's
				 * load order: it has not started yet) */
};

/* Between open and load: the programs opts will attach, loaded for its method. */
void probes__prepare(struct dhat_bpf *skel, const struct probe_opts *opts);

/*
 * Find the objects that really provide each allocator function for the
 * target (the executable, an interposing library such as libjemalloc, or
 * libc) and attach the programs there.  NULL (error reported, nothing left
 * attached) on failure, errno set.
 */
struct tview;
struct probes *probes__attach(struct dhat_bpf *skel, const struct target *t,
			      const struct tview *tv, const struct probe_opts *opts);
void probes__detach(struct probes *p);
/* Whether code changes are seen by the target's own munmap and ld.so's
 * _dl_debug_state (else mapwatch.c must watch every system call). */
bool probes__watch_maps(const struct probes *p);
/* "14 probes in libc.so.6, libstdc++.so.6" */
const char *probes__summary(const struct probes *p);

#endif
