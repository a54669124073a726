// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * How a target's file is opened, in order (shared/targetview.md §1):
 *   1. /proc/PID/map_files/START-END: the mapped inode itself, deleted,
 *      replaced or in another mount namespace alike (needs
 *      CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN);
 *   2. the maps path from the target's side: in our own root when we share
 *      its mount namespace (a chroot's maps paths are ours), else resolved
 *      inside /proc/PID/root with openat2(RESOLVE_IN_ROOT), and then only
 *      if the file is the mapped inode (device and inode as maps says);
 *   3. otherwise nothing: its frames are "???", counted with the reason.
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
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "elfsym.h"
#include "log.h"
#include "target.h"
#include "targetview.h"
#include "util.h"

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
	for (i = TV_FIRST_MODULE; i < tv->nmods; i++) {
		if (tv->mods[i].pub.fd >= 0)
			close(tv->mods[i].pub.fd);
		free(tv->mods[i].pub.path);
		free(tv->mods[i].soname);
		for (int k = 0; k < tv->mods[i].nneeded; k++)
			free(tv->mods[i].needed[k]);
		free(tv->mods[i].needed);
	}
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
static uint32_t born_epoch(const struct tview *tv, uint64_t start, uint64_t end, uint32_t mod)
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

/* DT_SONAME and DT_NEEDED, for update_pins; an object without them (a
 * program, or a library not in the closure) is simply not pinned. */
static int take_dynamic(const GElf_Dyn *d, const char *name, void *ctx)
{
	struct module *m = ctx;
	char **v;

	if (!name || (d->d_tag != DT_NEEDED && d->d_tag != DT_SONAME))
		return 0;
	if (d->d_tag == DT_SONAME) {
		free(m->soname);
		m->soname = strdup(name);
		return 0;
	}
	v = realloc(m->needed, (m->nneeded + 1) * sizeof(*v));
	if (!v)
		return 0;
	m->needed = v;
	if ((v[m->nneeded] = strdup(name)))
		m->nneeded++;
	return 0;
}

static void read_dynamic(struct module *m, Elf *e)
{
	elfsym__each_dynamic(e, take_dynamic, m);
	if (!m->soname) {
		const char *slash = strrchr(m->pub.path, '/');

		m->soname = strdup(slash ? slash + 1 : m->pub.path);
	}
}

static int read_elf(struct module *m)
{
	Elf *e = elf_begin(m->pub.fd, ELF_C_READ_MMAP, NULL);
	size_t n, i;
	GElf_Phdr ph;

	if (!e)
		return -ENOEXEC;
	if (elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &n)) {
		elf_end(e);
		return -ENOEXEC;
	}
	for (i = 0; i < n && m->nloads < MAX_PHDRS; i++)
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD)
			m->loads[m->nloads++] = ph;
	read_dynamic(m, e);
	elf_end(e);
	return m->nloads ? 0 : -ENOEXEC;
}

/* ELF vaddr minus file offset for the segment mapped at pgoff. */
static int64_t segment_delta(const struct module *m, uint64_t pgoff)
{
	int i;

	for (i = 0; i < m->nloads; i++) {
		const GElf_Phdr *p = &m->loads[i];

		if ((p->p_offset & ~4095ULL) <= pgoff && pgoff < p->p_offset + p->p_filesz)
			return (int64_t)(p->p_vaddr - p->p_offset);
	}
	return m->nloads ? (int64_t)(m->loads[0].p_vaddr - m->loads[0].p_offset) : 0;
}

static int open_in_root(struct tview *tv, const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd;

	if (tv->st.same_mntns)
		return open(path, O_RDONLY | O_CLOEXEC);
	if (tv->rootfd < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, tv->rootfd, path, &how, sizeof(how));
	return fd;
}

/* Open the module's file (see the top of this file); 0 or -errno. */
static int open_module(struct tview *tv, struct module *m, uint64_t start, uint64_t end)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/map_files/%lx-%lx", tv->proc, (unsigned long)start,
		 (unsigned long)end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		tv->st.map_files = true;
		m->pub.source = "map_files";
	} else if (!strstr(m->pub.path, " (deleted)")) {
		fd = open_in_root(tv, m->pub.path);
		m->pub.source = tv->st.same_mntns ? "host path" : "target root";
	}
	if (fd < 0)
		return errno ? -errno : -ENOENT;
	/* map_files can name a mapping made at the same range since maps was
	 * read; a path can name another file than the one mapped. */
	if (fstat(fd, &st) || st.st_ino != m->pub.ino || st.st_dev != m->pub.dev) {
		vlog("%s (from %s) is not the file the target mapped (inode %llu, mapped %llu)\n",
		     m->pub.path, m->pub.source, (unsigned long long)st.st_ino,
		     (unsigned long long)m->pub.ino);
		close(fd);
		return -ESTALE;
	}
	m->pub.fd = fd;
	m->pub.size = (uint64_t)st.st_size;
	if (read_elf(m)) {
		close(fd);
		m->pub.fd = -1;
		return -ENOEXEC;
	}
	return 0;
}

static uint32_t find_module(struct tview *tv, uint64_t dev, uint64_t ino)
{
	uint32_t i;

	for (i = TV_FIRST_MODULE; i < tv->nmods; i++)
		if (tv->mods[i].pub.ino == ino && tv->mods[i].pub.dev == dev)
			return i;
	return 0;
}

static uint32_t add_module(struct tview *tv, uint64_t dev, uint64_t ino, const char *path,
			   uint64_t start, uint64_t end, uint64_t pgoff)
{
	struct module *m;
	int err;

	if (tv->nmods == tv->capmods) {
		m = realloc(tv->mods, tv->capmods * 2 * sizeof(*m));
		if (!m)
			return 0;
		tv->mods = m;
		tv->capmods *= 2;
	}
	if (tv->nmods >= 1u << 15)
		return 0;
	m = &tv->mods[tv->nmods];
	memset(m, 0, sizeof(*m));
	m->pub.fd = -1;
	m->pub.dev = dev;
	m->pub.ino = ino;
	m->pub.path = strdup(path);
	if (!m->pub.path)
		return 0;
	err = open_module(tv, m, start, end);
	if (err) {
		m->pub.err = err;
		tv->st.modules_unopened++;
		wlog("cannot read %s as the target maps it (%s): its frames will be ???\n", path,
		     strerror(-err));
	} else {
		vlog("object %s opened through %s\n", path, m->pub.source);
	}
	m->pub.first_bias = start - pgoff - (uint64_t)segment_delta(m, pgoff);
	tv->st.modules++;
	return tv->nmods++;
}

static bool mark_exe(struct tview *tv)
{
	char path[128];
	struct stat st;
	bool changed = false;
	uint32_t i;

	snprintf(path, sizeof(path), "%s/exe", tv->proc);
	if (stat(path, &st))
		return false;
	for (i = TV_FIRST_MODULE; i < tv->nmods; i++) {
		bool exe = tv->mods[i].pub.ino == st.st_ino && tv->mods[i].pub.dev == st.st_dev;

		changed |= exe != tv->mods[i].pub.is_exe;
		tv->mods[i].pub.is_exe = exe;
	}
	return changed;
}

static bool needed_by_pinned(const struct tview *tv, const char *soname)
{
	uint32_t i;
	int k;

	for (i = TV_FIRST_MODULE; i < tv->nmods; i++)
		for (k = 0; tv->mods[i].pinned && k < tv->mods[i].nneeded; k++)
			if (strcmp(tv->mods[i].needed[k], soname) == 0)
				return true;
	return false;
}

static bool soname_twice(const struct tview *tv, uint32_t mod)
{
	uint32_t i;

	for (i = TV_FIRST_MODULE; i < tv->nmods; i++)
		if (i != mod && tv->mods[i].soname &&
		    strcmp(tv->mods[i].soname, tv->mods[mod].soname) == 0)
			return true;
	return false;
}

/*
 * The dynamic linker never unloads the program, nor any object of its
 * DT_NEEDED closure (ld.so and libc among them): a dlopen or dlclose, whose
 * range the probes cannot see, leaves their mappings alone.  An object
 * whose soname two objects share (dlmopen's second libc) is not pinned, as
 * another namespace may unload it.  Mappings of a module whose pin changed
 * get their birth again (born_epoch reads the pin).
 */
static void update_pins(struct tview *tv, bool exe_changed)
{
	bool changed = true, any = false;
	uint32_t i;
	size_t k;

	if (!exe_changed && tv->pins_for == tv->nmods)
		return;
	tv->pins_for = tv->nmods;
	while (changed) {
		changed = false;
		for (i = TV_FIRST_MODULE; i < tv->nmods; i++) {
			struct module *m = &tv->mods[i];
			bool pin = m->pub.fd >= 0 && m->soname &&
				   (m->pub.is_exe || needed_by_pinned(tv, m->soname)) &&
				   !soname_twice(tv, i);

			if (pin == m->pinned)
				continue;
			m->pinned = pin;
			changed = any = true;
			vlog("%s: %s\n", m->pub.path,
			     pin ? "loaded with the program, never unloaded by the loader"
				 : "no longer taken as never unloaded");
		}
	}
	for (k = 0; any && k < tv->nhist; k++)
		tv->hist[k].born = born_epoch(tv, tv->hist[k].start, tv->hist[k].end,
					      tv->hist[k].mod);
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
	size_t i, cap;
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
			mod = find_module(tv, makedev(maj, min), ino);
			if (!mod)
				mod = add_module(tv, makedev(maj, min), ino, p, start, end, pgoff);
			if (!mod)
				continue;
			m = (struct tv_map){ .start = start, .end = end, .pgoff = pgoff, .mod = mod,
					     .born = born_epoch(tv, start, end, mod),
					     .dead = UINT32_MAX,
					     .delta = segment_delta(&tv->mods[mod], pgoff),
					     .fresh = true };
		}
		if (array_reserve(&tv->next, &tv->capnext, tv->nnext + 1, sizeof(*tv->next)) == 0)
			tv->next[tv->nnext++] = m;
	}
	fclose(f);
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
	update_pins(tv, mark_exe(tv));
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
			h->born = born_epoch(tv, h->start, h->end, h->mod);
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

const struct tv_module *tview__module(const struct tview *tv, uint32_t mod)
{
	return mod >= TV_FIRST_MODULE && mod < tv->nmods ? &tv->mods[mod].pub : NULL;
}

uint32_t tview__nr_modules(const struct tview *tv)
{
	return tv->nmods;
}

const char *tview__module_open_path(const struct tview *tv, uint32_t mod, char *buf, size_t len)
{
	const struct tv_module *m = tview__module(tv, mod);

	if (!m || m->fd < 0)
		return NULL;
	snprintf(buf, len, "/proc/self/fd/%d", m->fd);
	return buf;
}

const char *tview__target_path(const struct tview *tv, uint32_t mod)
{
	const struct tv_module *m = tview__module(tv, mod);
	size_t n;

	if (!m || m->path[0] != '/' || strstr(m->path, " (deleted)"))
		return NULL;
	if (!tv->root_prefix)
		return m->path;
	n = strlen(tv->root_prefix);
	if (strncmp(m->path, tv->root_prefix, n) || m->path[n] != '/')
		return NULL;	/* mapped from outside its root (before a chroot) */
	return m->path + n;
}

int tview__open_in_root(const struct tview *tv, const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd;

	if (tv->rootfd < 0)
		return -EBADF;
	fd = (int)syscall(SYS_openat2, tv->rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

const struct tview_stats *tview__stats(const struct tview *tv)
{
	return &tv->st;
}
