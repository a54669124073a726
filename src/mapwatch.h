/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_MAPWATCH_H
#define DT_MAPWATCH_H

struct dhat_bpf;
struct mapwatch;

/*
 * The programs that see the target's code go away (munmap, mremap,
 * mmap MAP_FIXED, exec: bpf/dhat.bpf.c) and its forks, attached before the
 * first read of its mappings that a stack will be placed with.  NULL (reported) on failure.
 */
struct mapwatch *mapwatch__attach(struct dhat_bpf *skel);
void mapwatch__detach(struct mapwatch *w);

#endif
