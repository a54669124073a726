// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The target's objects: each opened from the target's side, identified,
 * and told apart from those the dynamic linker may unload.
 *
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
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>
#include "elfsym.h"
#include "log.h"
#include "targetview_int.h"

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
int64_t tvobj__segment_delta(const struct module *m, uint64_t pgoff)
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

uint32_t tvobj__find(struct tview *tv, uint64_t dev, uint64_t ino)
{
	uint32_t i;

	for (i = TV_FIRST_MODULE; i < tv->nmods; i++)
		if (tv->mods[i].pub.ino == ino && tv->mods[i].pub.dev == dev)
			return i;
	return 0;
}

uint32_t tvobj__add(struct tview *tv, uint64_t dev, uint64_t ino, const char *path,
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
	m->pub.first_bias = start - pgoff - (uint64_t)tvobj__segment_delta(m, pgoff);
	tv->st.modules++;
	return tv->nmods++;
}

bool tvobj__mark_exe(struct tview *tv)
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
void tvobj__update_pins(struct tview *tv, bool exe_changed)
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
		tv->hist[k].born = tview__born_epoch(tv, tv->hist[k].start, tv->hist[k].end,
					      tv->hist[k].mod);
}

void tvobj__release(struct module *m)
{
	if (m->pub.fd >= 0)
		close(m->pub.fd);
	free(m->pub.path);
	free(m->soname);
	for (int k = 0; k < m->nneeded; k++)
		free(m->needed[k]);
	free(m->needed);
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
