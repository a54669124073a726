/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_TARGETVIEW_INT_H
#define DT_TARGETVIEW_INT_H

/*
 * Inside the target view: its state, shared by targetview.c (mappings over
 * time, placing frames) and tvobjects.c (the objects: opening them from the
 * target's side, their identity, which are never unloaded).  Nothing else
 * includes this.
 */
#include <stdbool.h>
#include <stdint.h>
#include <gelf.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "targetview.h"

#define MAX_PHDRS 16
#define SYNC_TRIES 4
/* A long capture of a program that creates and ends threads unmaps their
 * stacks all the time: the history kept is bounded, and what is older than
 * it is treated as unknown (frames ???, never a wrong name). */
#define MAX_UNMAPS 65536
#define LOG_WAIT_NS (50 * NSEC_PER_MSEC)

struct module {
	struct tv_module pub;
	GElf_Phdr loads[MAX_PHDRS];	/* PT_LOAD only */
	int nloads;
	char *soname;		/* DT_SONAME, else the file's base name */
	char **needed;		/* DT_NEEDED */
	int nneeded;
	bool pinned;		/* never unloaded by the dynamic linker, see update_pins */
};

struct unmap {
	uint64_t start, end;
	uint32_t epoch;
	bool loader;		/* DT_UNMAP_LOADER: all code but the pinned objects' */
};

struct tview {
	pid_t pid;
	char proc[64];		/* /proc/PID, or a live thread's dir if the leader exited */
	int rootfd;
	char *root_prefix;	/* our path of its root when it is a chroot in our mount
				 * namespace (its maps paths start with it), else NULL */
	struct module *mods;	/* index 0..TV_FIRST_MODULE-1 unused */
	uint32_t nmods, capmods;
	struct tv_map *hist;	/* mapped now: the last read, less what the log
				 * killed since; by address */
	size_t nhist, caphist;
	struct tv_map *next;	/* the read going on */
	size_t nnext, capnext;
	struct tv_map *dead;	/* mappings unmapped since bind, in order of death */
	size_t ndead, capdead;
	uint32_t last_all;	/* epoch of the newest unmap of all code */
	uint32_t last_loader;	/* ... of all code the loader may unload */
	uint32_t pins_for;	/* modules update_pins has looked at */
	struct tv_map *anon;	/* executable mappings without a file (JIT, vDSO), last read */
	size_t nanon, capanon;
	struct unmap *unmaps;	/* the unmaps applied, by epoch: the last MAX_UNMAPS */
	size_t nunmaps, capunmaps;
	uint32_t horizon;	/* unmaps before this epoch are forgotten (0: none) */
	const volatile uint32_t *epoch;
	const volatile struct dt_unmap *log;
	uint32_t applied;	/* log read up to this epoch */
	uint32_t synced;	/* epoch of the last complete sync */
	uint64_t last_sync_ns;
	uint64_t missed[256];	/* addresses in no mapping even after a sync */
	uint32_t missed_epoch[256];	/* ... a complete one of this epoch (else ~0) */
	struct tview_stats st;
};

/* tvobjects.c */
int64_t tvobj__segment_delta(const struct module *m, uint64_t pgoff);
uint32_t tvobj__find(struct tview *tv, uint64_t dev, uint64_t ino);
/* Opens it (see tvobjects.c); its index, 0 when out of room. */
uint32_t tvobj__add(struct tview *tv, uint64_t dev, uint64_t ino, const char *path,
		    uint64_t start, uint64_t end, uint64_t pgoff);
/* Marks the program's module; whether that changed. */
bool tvobj__mark_exe(struct tview *tv);
void tvobj__update_pins(struct tview *tv, bool exe_changed);
void tvobj__release(struct module *m);

/* targetview.c: the epoch from which a mapping of mod now at [start, end)
 * has been there. */
uint32_t tview__born_epoch(const struct tview *tv, uint64_t start, uint64_t end, uint32_t mod);

#endif
