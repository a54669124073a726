// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The target's code mappings over time, read from /proc/PID/maps and kept
 * in step with the BPF side's unmap log, and each stack's frames placed in
 * the object that was mapped when it was taken.  The objects themselves
 * (opening, identity, pins): tvobjects.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "log.h"
#include "target.h"
#include "targetview.h"
#include "targetview_int.h"
#include "util.h"

/* Once the main thread has exited its /proc entries are empty: a running
 * thread's own /proc/TID shows the process (and, unlike task/TID, has
 * map_files). */
static void pick_proc_dir(struct tview *tv)
{
	pid_t tid = target__mm_tid(tv->pid);

	snprintf(tv->proc, sizeof(tv->proc), "/proc/%d", tid > 0 ? tid : tv->pid);
}

/* A chroot target in our mount namespace sees its files without the
 * prefix its maps paths (read from our side) carry. */
static void read_root_prefix(struct tview *tv)
{
	char path[128], buf[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/root", tv->proc);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 1)
		return;		/* "/" or unreadable: the paths are as it sees them */
	buf[n] = 0;
	tv->root_prefix = strdup(buf);
}

struct tview *tview__new(pid_t pid)
{
	struct tview *tv = calloc(1, sizeof(*tv));
	char path[128];
	struct stat a, b;

	if (!tv)
		return NULL;
	tv->pid = pid;
	tv->nmods = tv->capmods = TV_FIRST_MODULE;
	tv->mods = calloc(tv->capmods, sizeof(*tv->mods));
	if (!tv->mods) {
		free(tv);
		return NULL;
	}
	pick_proc_dir(tv);
	snprintf(path, sizeof(path), "%s/root", tv->proc);
	tv->rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/ns/mnt", tv->proc);
	tv->st.same_mntns = stat("/proc/self/ns/mnt", &a) == 0 && stat(path, &b) == 0 &&
			    a.st_ino == b.st_ino && a.st_dev == b.st_dev;
	if (tv->st.same_mntns)
		read_root_prefix(tv);
	tv->st.same_root = tv->rootfd >= 0 && fstat(tv->rootfd, &a) == 0 && stat("/", &b) == 0 &&
			   a.st_ino == b.st_ino && a.st_dev == b.st_dev;
	elf_version(EV_CURRENT);
	return tv;
}

void tview__free(struct tview *tv)
{
	uint32_t i;

	if (!tv)
		return;
	for (i = TV_FIRST_MODULE; i < tv->nmods; i++)
		tvobj__release(&tv->mods[i]);
	if (tv->rootfd >= 0)
		close(tv->rootfd);
	free(tv->root_prefix);
	free(tv->mods);
	free(tv->hist);
	free(tv->dead);
	free(tv->next);
	free(tv->anon);
	free(tv->unmaps);
	free(tv);
}

void tview__bind(struct tview *tv, const volatile uint32_t *epoch,
		 const volatile struct dt_unmap *log)
{
	tv->epoch = epoch;
	tv->log = log;
	tv->applied = tv->synced = *epoch;
	tv->nhist = tv->ndead = 0;
	tv->last_all = tv->last_loader = 0;
	tv->nunmaps = 0;
	tv->horizon = 0;
}

static uint32_t now_epoch(const struct tview *tv)
{
	return tv->epoch ? __atomic_load_n(tv->epoch, __ATOMIC_ACQUIRE) : 0;
}

uint32_t tview__epoch(const struct tview *tv)
{
	return tv->synced;
}

bool tview__stale(const struct tview *tv)
{
	return now_epoch(tv) != tv->synced;
}

static bool overlaps(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
	return s1 < e2 && s2 < e1;
}

static void bury(struct tview *tv, struct tv_map *m, uint32_t epoch)
{
	m->dead = epoch;
	if (array_reserve(&tv->dead, &tv->capdead, tv->ndead + 1, sizeof(*tv->dead)) == 0)
		tv->dead[tv->ndead++] = *m;
}

static bool pinned(const struct tview *tv, uint32_t mod)
{
	return tv->mods[mod].pinned;
}

/* Whether unmap u may have hit [start, end) of module mod. */
static bool hits(const struct tview *tv, const struct unmap *u, uint64_t start, uint64_t end,
		 uint32_t mod)
{
	return overlaps(u->start, u->end, start, end) && !(u->loader && pinned(tv, mod));
}

/* Mappings hit by u are gone from its epoch on; hist keeps its order. */
static void kill_range(struct tview *tv, const struct unmap *u)
{
	size_t i, j;

	for (i = j = 0; i < tv->nhist; i++) {
		struct tv_map *m = &tv->hist[i];

		if (hits(tv, u, m->start, m->end, m->mod))
			bury(tv, m, u->epoch);
		else
			tv->hist[j++] = *m;
	}
	tv->nhist = j;
	if (u->start == 0 && u->end == UINT64_MAX)
		*(u->loader ? &tv->last_loader : &tv->last_all) = u->epoch;
}

/* Drop the older half of the unmap history, and the mappings that died
 * before what remains. */
static void forget_old(struct tview *tv)
{
	size_t half = tv->nunmaps / 2, i, j;

	tv->horizon = tv->unmaps[half].epoch;
	memmove(tv->unmaps, tv->unmaps + half, (tv->nunmaps - half) * sizeof(*tv->unmaps));
	tv->nunmaps -= half;
	for (i = j = 0; i < tv->ndead; i++)
		if ((int32_t)(tv->dead[i].dead - tv->horizon) > 0)
			tv->dead[j++] = tv->dead[i];
	tv->ndead = j;
}

/* Read the unmap log up to the BPF side's epoch; false if an entry is not
 * written yet (its unmap is still at the syscall's entry). */
static bool apply_log(struct tview *tv, uint32_t upto)
{
	while (tv->applied != upto) {
		uint32_t k = tv->applied + 1;
		const volatile struct dt_unmap *l = &tv->log[k & (DT_UNMAP_LOG - 1)];
		uint32_t e = __atomic_load_n(&l->epoch, __ATOMIC_ACQUIRE);
		struct unmap u = { 0, UINT64_MAX, k, false };

		if ((int32_t)(e - k) < 0)
			return false;
		if (e == k) {
			u.start = l->start;
			u.end = l->end;
			u.loader = l->flags & DT_UNMAP_LOADER;
			/* The range after its epoch, and the epoch again: a newer
			 * unmap may have taken the slot meanwhile. */
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			e = __atomic_load_n(&l->epoch, __ATOMIC_RELAXED);
		}
		if (e != k) {
			/* Overwritten before we read it: which code went is
			 * unknown, so nothing mapped before stays trusted. */
			tv->st.log_overflows++;
			u = (struct unmap){ 0, UINT64_MAX, k, false };
		}
		if (tv->nunmaps == MAX_UNMAPS)
			forget_old(tv);
		if (array_reserve(&tv->unmaps, &tv->capunmaps, tv->nunmaps + 1,
				  sizeof(*tv->unmaps)) == 0)
			tv->unmaps[tv->nunmaps++] = u;
		kill_range(tv, &u);
		tv->st.unmaps++;
		tv->applied = k;
	}
	return true;
}

static bool after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* The epoch from which a mapping of mod seen now at [start, end) has been
 * there: just after the last unmap of its range. */
uint32_t tview__born_epoch(const struct tview *tv, uint64_t start, uint64_t end, uint32_t mod)
{
	uint32_t floor = tv->last_all;
	size_t i = tv->nunmaps;

	/* Nothing before the last unmap of all code matters. */
	if (!pinned(tv, mod) && after(tv->last_loader, floor))
		floor = tv->last_loader;
	while (i-- && after(tv->unmaps[i].epoch, floor))
		if (hits(tv, &tv->unmaps[i], start, end, mod))
			return tv->unmaps[i].epoch;
	return after(floor, tv->horizon) ? floor : tv->horizon;
}

/*
 * One read of maps: what it shows becomes hist (known mappings keep their
 * birth; new ones are marked fresh).  A mapping that is gone without an
 * unmap in the log (not one the probes see) is buried at epoch.
 */
static int read_maps(struct tview *tv, uint32_t epoch)
{
	char path[128], line[PATH_MAX + 128], perms[8];
	unsigned long start, end, pgoff, ino;
	unsigned int maj, min;
	struct tv_map *swap;
	size_t i, cap, lines = 0;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/maps", tv->proc);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	tv->nnext = tv->nanon = 0;
	for (i = 0; i < tv->nhist; i++)
		tv->hist[i].fresh = true;	/* here: "not seen by this read" */
	while (fgets(line, sizeof(line), f)) {
		struct tv_map m, *h = NULL;
		uint32_t mod;
		char *p;

		n = 0;
		lines++;
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &start, &end, perms, &pgoff, &maj,
			   &min, &ino, &n) < 7 || perms[2] != 'x')
			continue;
		if (!n || line[n] != '/') {
			/* Code without a file: its frames are real, if nameless. */
			if (array_reserve(&tv->anon, &tv->capanon, tv->nanon + 1,
					  sizeof(*tv->anon)) == 0)
				tv->anon[tv->nanon++] = (struct tv_map){ .start = start, .end = end };
			continue;
		}
		p = line + n;
		p[strcspn(p, "\n")] = '\0';
		for (i = 0; i < tv->nhist && !h; i++)
			if (tv->hist[i].start == start && tv->hist[i].end == end &&
			    tv->hist[i].pgoff == pgoff && tv->mods[tv->hist[i].mod].pub.ino == ino &&
			    tv->mods[tv->hist[i].mod].pub.dev == makedev(maj, min))
				h = &tv->hist[i];
		if (h) {
			h->fresh = false;
			m = *h;
		} else {
			mod = tvobj__find(tv, makedev(maj, min), ino);
			if (!mod)
				mod = tvobj__add(tv, makedev(maj, min), ino, p, start, end, pgoff);
			if (!mod)
				continue;
			m = (struct tv_map){ .start = start, .end = end, .pgoff = pgoff, .mod = mod,
					     .born = tview__born_epoch(tv, start, end, mod),
					     .dead = UINT32_MAX,
					     .delta = tvobj__segment_delta(&tv->mods[mod], pgoff),
					     .fresh = true };
		}
		if (array_reserve(&tv->next, &tv->capnext, tv->nnext + 1, sizeof(*tv->next)) == 0)
			tv->next[tv->nnext++] = m;
	}
	fclose(f);
	/* A process that has exited (a zombie) shows no mapping at all: its
	 * code was not unmapped, and stacks of its last epoch still need it. */
	if (!lines)
		return -ESRCH;
	for (i = 0; i < tv->nhist; i++)
		if (tv->hist[i].fresh)
			bury(tv, &tv->hist[i], epoch);
	swap = tv->hist;
	cap = tv->caphist;
	tv->hist = tv->next;
	tv->caphist = tv->capnext;
	tv->nhist = tv->nnext;
	tv->next = swap;
	tv->capnext = cap;
	tvobj__update_pins(tv, tvobj__mark_exe(tv));
	return 0;
}

/* Whether the log says code in [start, end) may have been unmapped in
 * epochs (from, to]; an entry not readable (being written, or overwritten)
 * counts as yes. */
static bool unmapped_between(const struct tview *tv, uint32_t from, uint32_t to,
			     const struct tv_map *m)
{
	uint32_t k;

	if ((uint32_t)(to - from) > DT_UNMAP_LOG)
		return true;
	for (k = from + 1; (int32_t)(k - to) <= 0; k++) {
		const volatile struct dt_unmap *l = &tv->log[k & (DT_UNMAP_LOG - 1)];
		struct unmap u = { .epoch = k };

		if (__atomic_load_n(&l->epoch, __ATOMIC_ACQUIRE) != k)
			return true;
		u.start = l->start;
		u.end = l->end;
		u.loader = l->flags & DT_UNMAP_LOADER;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&l->epoch, __ATOMIC_RELAXED) != k ||
		    hits(tv, &u, m->start, m->end, m->mod))
			return true;
	}
	return false;
}

/*
 * A mapping first seen by a read that raced an unmap was trusted only from
 * after it; once every unmap up to a complete read is applied, its real
 * birth is known (just after the last unmap of its range: any later one
 * would have ended it), and stacks taken in between get its names.
 */
static void settle_births(struct tview *tv)
{
	size_t i;

	for (i = 0; i < tv->nhist; i++) {
		struct tv_map *h = &tv->hist[i];

		if (h->provisional)
			h->born = tview__born_epoch(tv, h->start, h->end, h->mod);
		h->provisional = false;
	}
}

int tview__sync(struct tview *tv)
{
	int tries, err = -EAGAIN;

	tv->st.syncs++;
	tv->last_sync_ns = mono_ns();
	pick_proc_dir(tv);	/* the thread it read through may have exited */
	for (tries = 0; tries < SYNC_TRIES; tries++) {
		uint32_t e = now_epoch(tv), e2;
		size_t i;

		if (tv->epoch && !apply_log(tv, e)) {
			tv->st.sync_retries++;
			sched_yield();	/* an entry is being written right now */
			continue;
		}
		err = read_maps(tv, e);
		if (err == -ENOENT || err == -ESRCH)
			return err;
		e2 = now_epoch(tv);
		if (!err && e2 == e) {
			tv->synced = e;
			settle_births(tv);
			return 0;
		}
		/* Code was unmapped while we read: a new line that the unmap
		 * touched may show what came after it, so it is trusted only from
		 * then on (until a complete read settles it). */
		for (i = 0; i < tv->nhist; i++) {
			struct tv_map *h = &tv->hist[i];

			if (!h->fresh || !unmapped_between(tv, e, e2, h))
				continue;
			if ((int32_t)(h->born - e2) < 0)
				h->born = e2;
			h->provisional = true;
		}
		tv->st.sync_retries++;
	}
	return err;
}

static const struct tv_map *find_at(const struct tview *tv, uint32_t epoch, uint64_t ip)
{
	size_t lo = 0, hi = tv->nhist, i;

	/* What is mapped now, by address; those born later are not for this epoch. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tv->hist[mid].start <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && ip < tv->hist[lo - 1].end && tv->hist[lo - 1].born <= epoch)
		return &tv->hist[lo - 1];
	/* Newest deaths first; those dead by this epoch are not for it. */
	for (i = tv->ndead; i-- && (int32_t)(tv->dead[i].dead - epoch) > 0;) {
		const struct tv_map *m = &tv->dead[i];

		if (ip >= m->start && ip < m->end && m->born <= epoch)
			return m;
	}
	return NULL;
}

static bool in_anon_code(const struct tview *tv, uint64_t ip)
{
	size_t i;

	for (i = 0; i < tv->nanon; i++)
		if (ip >= tv->anon[i].start && ip < tv->anon[i].end)
			return true;
	return false;
}

static bool gone_since(const struct tview *tv, uint32_t epoch, uint64_t ip)
{
	size_t i = tv->nunmaps;

	while (i--) {
		if (tv->unmaps[i].epoch <= epoch)
			break;
		if (ip >= tv->unmaps[i].start && ip < tv->unmaps[i].end)
			return true;
	}
	return false;
}

/* Lowest and one past the highest address user code can have (x86-64,
 * 4-level and 5-level page tables alike below 2^47 for ordinary mappings). */
#define USER_MIN 4096ULL
#define USER_END (1ULL << 47)

uint32_t tview__translate(void *ctx, uint32_t epoch, const uint64_t *ips, uint32_t nr,
			  uint64_t *locs)
{
	struct tview *tv = ctx;
	bool synced = false, exact = false;
	uint32_t i;

	/* Every unmap before the stack was taken must be known first, or a
	 * library unmapped since the last sync would still look mapped.  An
	 * entry not written yet belongs to a probe still running (it may be
	 * preempted on a busy machine): wait for it, a bounded while. */
	if (tv->epoch && (int32_t)(epoch - tv->applied) > 0 && !apply_log(tv, epoch)) {
		uint64_t t0 = mono_ns();

		tv->st.log_waits++;
		while (!apply_log(tv, epoch) && mono_ns() - t0 < LOG_WAIT_NS)
			sched_yield();
	}
	if (tv->epoch && (int32_t)(epoch - tv->applied) > 0) {
		tv->st.log_timeouts++;
		for (i = 0; i < nr; i++)
			locs[i] = ((uint64_t)TV_LOC_GONE << TV_LOC_SHIFT) | TV_LOC_ADDR(ips[i]);
		tv->st.frames_gone += nr;
		return nr;
	}
	for (i = 0; i < nr; i++) {
		uint64_t ip = ips[i];
		const struct tv_map *m;

		if (ip < USER_MIN || ip >= USER_END) {
			/* Not a code address: what follows it is no stack either. */
			tv->st.frames_not_code++;
			if (i)
				return i;
			locs[0] = ((uint64_t)TV_LOC_NO_MAPPING << TV_LOC_SHIFT) | TV_LOC_ADDR(ip);
			return 1;
		}
		m = find_at(tv, epoch, ip);

		/* Mapped since the last look, or not mapped at all: look again,
		 * unless this very address was looked for in vain just now (a
		 * garbage frame repeats in every stack through it). */
		if (!m && !synced) {
			size_t k = (ip * 0x9E3779B97F4A7C15ULL) >> 56;

			if (tv->missed[k] != ip || mono_ns() - tv->last_sync_ns > 2 * NSEC_PER_MSEC) {
				synced = true;
				/* Only a complete read of this very epoch can say an
				 * address is in no code at all. */
				exact = tview__sync(tv) == 0 && tv->synced == epoch;
				m = find_at(tv, epoch, ip);
				/* Remembered only after a read that could be trusted. */
				if (!m && exact) {
					tv->missed[k] = ip;
					tv->missed_epoch[k] = epoch;
				}
			} else {
				exact = tv->missed_epoch[k] == epoch;
			}
		}
		if (m) {
			/* A module whose file could not be read still keeps its
			 * frames apart: the symbolizer says ??? with the reason. */
			locs[i] = ((uint64_t)m->mod << TV_LOC_SHIFT) |
				  ((ip - m->start + m->pgoff + (uint64_t)m->delta) &
				   ((1ULL << TV_LOC_SHIFT) - 1));
			continue;
		}
		if (gone_since(tv, epoch, ip)) {
			tv->st.frames_gone++;
			locs[i] = ((uint64_t)TV_LOC_GONE << TV_LOC_SHIFT) | ip;
		} else if (i && exact && !in_anon_code(tv, ip)) {
			/* In no code at all, even after a look: a frame-pointer walk
			 * read something that is no return address; so is the rest. */
			tv->st.frames_not_code++;
			return i;
		} else {
			tv->st.frames_no_mapping++;
			locs[i] = ((uint64_t)TV_LOC_NO_MAPPING << TV_LOC_SHIFT) | ip;
		}
	}
	return nr;
}

size_t tview__live(const struct tview *tv, const struct tv_map **maps)
{
	*maps = tv->hist;
	return tv->nhist;
}

const struct tview_stats *tview__stats(const struct tview *tv)
{
	return &tv->st;
}
