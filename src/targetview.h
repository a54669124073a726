/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_TARGETVIEW_H
#define DT_TARGETVIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The one view of the target's address space: its executable file
 * mappings over time, each object's identity, and its file opened from the
 * target's side (never a same-named file of ours).  Probes, unwind tables
 * and the symbolizer all ask it; nothing else reads /proc/PID/maps or opens
 * a target's path.
 *
 * Time is the BPF side's map epoch (include/dhat_abi.h: struct dt_unmap):
 * each mapping is valid from the epoch it was born in until the epoch of
 * the first unmap that hit it, so a stack names the object that was there
 * when it was taken, even after a dlclose put another one at its address.
 *
 * Frames become locations: (module << 48) | ELF virtual address, or one of
 * the TV_LOC_* reasons with the raw address when no object can be named.
 */
struct tview;
struct dt_unmap;

#define TV_LOC_SHIFT 48
#define TV_LOC_ADDR(loc) ((loc) & ((1ULL << TV_LOC_SHIFT) - 1))
#define TV_LOC_MOD(loc) ((uint32_t)((loc) >> TV_LOC_SHIFT))
enum tv_loc_reason {
	TV_LOC_RAW,		/* no view (replay): the address as captured */
	TV_LOC_NO_MAPPING,	/* in no executable file mapping */
	TV_LOC_GONE,		/* unmapped before it could be read */
	TV_FIRST_MODULE,
};

struct tv_module {
	char *path;		/* as the target names it (maps) */
	int fd;			/* -1: not opened, see err */
	int err;		/* why it could not be opened or matched */
	const char *source;	/* "map_files", "target root", "host path" */
	uint64_t dev, ino, size;
	bool is_exe;
	uint64_t first_bias;	/* address minus ELF vaddr where first seen */
};

struct tv_map {
	uint64_t start, end, pgoff;
	uint32_t mod;
	uint32_t born, dead;	/* epochs: valid in [born, dead) */
	int64_t delta;		/* ELF vaddr minus file offset in this segment */
	bool provisional;	/* born set late by a read that raced an unmap */
	bool fresh;		/* first seen by the read going on */
};

struct tview_stats {
	uint64_t syncs, sync_retries;
	uint64_t unmaps, log_overflows;
	uint64_t log_waits, log_timeouts;	/* log entries still being written */
	uint64_t modules, modules_unopened;
	uint64_t frames_no_mapping, frames_gone;
	uint64_t frames_not_code;	/* stacks cut at an address no code can have */
	bool map_files;		/* /proc/PID/map_files could be opened */
	bool same_mntns;
	bool same_root;		/* its root is ours (not in a container or chroot) */
};

struct tview *tview__new(pid_t pid);
void tview__free(struct tview *tv);
/* Follow the BPF side's epoch and unmap log from now on; mappings read
 * before are forgotten (no stack predates this), modules kept. */
void tview__bind(struct tview *tv, const volatile uint32_t *epoch,
		 const volatile struct dt_unmap *log);
/* Re-read the mappings; -EAGAIN if they kept changing while read. */
int tview__sync(struct tview *tv);
/* Whether code was unmapped (or mapped, as far as seen) since the last sync. */
bool tview__stale(const struct tview *tv);
uint32_t tview__epoch(const struct tview *tv);
/* Locations of a stack taken in epoch (see above); returns how many frames
 * to keep: one that cannot be a user code address (a frame-pointer walk
 * that read garbage) ends the stack, counted.  ctx: the struct tview; a
 * dt_translate_fn (accounting.h). */
uint32_t tview__translate(void *ctx, uint32_t epoch, const uint64_t *ips, uint32_t nr,
			  uint64_t *locs);
/* The live mappings of the last sync, by address. */
size_t tview__live(const struct tview *tv, const struct tv_map **maps);
const struct tv_module *tview__module(const struct tview *tv, uint32_t mod);
uint32_t tview__nr_modules(const struct tview *tv);
/* "/proc/self/fd/N": opens the module's own file, wherever it lives. */
const char *tview__module_open_path(const struct tview *tv, uint32_t mod, char *buf, size_t len);
/* The module's path as the target itself names it (a chroot's maps paths
 * are ours, with its root in front); NULL when it has none there (deleted,
 * memfd, mapped from outside its root). */
const char *tview__target_path(const struct tview *tv, uint32_t mod);
/* Open a path as the target would, inside its root (symlinks too); fd or
 * -errno.  For files the target has not mapped, such as its debug files. */
int tview__open_in_root(const struct tview *tv, const char *path);
const struct tview_stats *tview__stats(const struct tview *tv);

#endif
