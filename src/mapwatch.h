/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_MAPWATCH_H
#define DT_MAPWATCH_H

struct dhat_bpf;
struct mapwatch;

/*
 * Seeing the target's code go away (bpf/dhat.bpf.c, struct dt_unmap): its
 * exec and forks by raw tracepoints here; its unmaps by uprobes on its own
 * munmap, mmap, mremap and ld.so's _dl_debug_state, placed with the
 * allocator's (probes.c), or, where those cannot be placed, by the raw
 * sys_enter tracepoint, which every process on the machine then pays for.
 * DHAT_TRACE_MAPWATCH=syscalls forces the latter (and tests it).
 * NULL (reported) on failure.
 */
struct mapwatch *mapwatch__attach(struct dhat_bpf *skel);
/* Watch every system call's entry for the target's unmaps. */
int mapwatch__watch_syscalls(struct mapwatch *w);
/* Start a new map epoch in which all code counts as changed: for what
 * happened before the watch was complete. */
void mapwatch__all_changed(struct mapwatch *w);
void mapwatch__detach(struct mapwatch *w);

#endif
