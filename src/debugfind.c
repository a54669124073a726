// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Separate debug files, looked for where the target would look: every path
 * is resolved inside the target's root (shared/targetview.md §4), since a
 * same-named file of ours may belong to another build.  libdwfl does not
 * check what a find_debuginfo callback returns, so every file is checked
 * here: its build-id must be the object's (the debuglink CRC where the
 * object has no build-id), and a file that fails is refused and counted.
 * Last, our own build-id directory: a file there is keyed and checked by
 * the build-id, so it is the object's whoever installed it (a container
 * made from the host's packages, with the debug packages only on the host).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <elfutils/libdwelf.h>
#include "debugfind.h"
#include "log.h"
#include "targetview.h"

#define DEBUG_ROOT "/usr/lib/debug"

/* What a candidate must be: the build-id, or without one the CRC. */
struct want {
	const unsigned char *id;
	size_t n;
	bool has_crc;
	GElf_Word crc;
};

void debugfind__free(struct debugfind *f)
{
	if (!f)
		return;
	free(f->dir);
	free(f->alt_name);
	free(f);
}

static void build_id_path(char *buf, size_t len, const unsigned char *id, size_t n)
{
	size_t i;
	int o = snprintf(buf, len, DEBUG_ROOT "/.build-id/%02x/", id[0]);

	for (i = 1; i < n && (size_t)o + 3 < len; i++)
		o += snprintf(buf + o, len - (size_t)o, "%02x", id[i]);
	snprintf(buf + o, len - (size_t)o, ".debug");
}

/* The CRC-32 of .gnu_debuglink (zlib's, polynomial 0xEDB88320): four lines
 * rather than a library the design does not otherwise need. */
static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
	static uint32_t table[256];
	size_t i;

	if (!table[1])
		for (uint32_t k = 0; k < 256; k++) {
			uint32_t c = k;

			for (int b = 0; b < 8; b++)
				c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[k] = c;
		}
	crc = ~crc;
	for (i = 0; i < n; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static bool crc_is(int fd, GElf_Word want)
{
	unsigned char buf[65536];
	uint32_t crc = 0;
	off_t off = 0;
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		crc = crc32_update(crc, buf, (size_t)n);
		off += n;
	}
	return n == 0 && (GElf_Word)crc == want;
}

/* .gnu_debugaltlink: the dwz file's name, then its build-id. */
static void read_altlink(struct debugfind *f, Elf *e)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx, n;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(e, &shstrndx))
		return;
	while ((scn = elf_nextscn(e, scn))) {
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)) ||
		    strcmp(name, ".gnu_debugaltlink"))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			return;
		n = strnlen(d->d_buf, d->d_size);
		if (n + 1 >= d->d_size || d->d_size - n - 1 > sizeof(f->alt_id))
			return;
		free(f->alt_name);
		f->alt_name = strndup(d->d_buf, n);
		f->alt_len = d->d_size - n - 1;
		memcpy(f->alt_id, (const char *)d->d_buf + n + 1, f->alt_len);
		return;
	}
}

static const char *obj_name(const struct debugfind *f)
{
	const struct tv_module *m = tview__module(f->tv, f->mod);

	return m ? m->path : "?";
}

/* The file at path in the target's root (ours: at a build-id path only) if
 * it is the one wanted; else -1, counted when a file was there. */
static int try_file(struct debugfind *f, const char *path, const struct want *w, bool main,
		    bool ours)
{
	int fd = ours ? open(path, O_RDONLY | O_CLOEXEC) : tview__open_in_root(f->tv, path);
	const void *id = NULL;
	struct stat st;
	ssize_t n = -1;
	bool ok;
	Elf *e;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (e)
		n = dwelf_elf_gnu_build_id(e, &id);
	if (w->n)
		ok = n == (ssize_t)w->n && !memcmp(id, w->id, w->n);
	else
		ok = e && w->has_crc && crc_is(fd, w->crc);
	if (ok && main)
		read_altlink(f, e);
	elf_end(e);
	if (!ok) {
		f->st->refused++;
		vlog("refused %s (in %s root) as debug file of %s: %s\n", path,
		     ours ? "our" : "the target's", obj_name(f), w->n ? "another build-id" :
		     w->has_crc ? "another CRC" : "nothing to check it by");
		close(fd);
		return -1;
	}
	f->st->used++;
	vlog("debug file of %s: %s (in %s root)\n", obj_name(f), path,
	     ours ? "our" : "the target's");
	return fd;
}

static void set_dir(struct debugfind *f, const char *path)
{
	const char *slash = strrchr(path, '/');

	free(f->dir);
	f->dir = slash ? strndup(path, (size_t)(slash - path)) : NULL;
}

/* gdb's order: the build-id file, then the debuglink beside the object, in
 * its .debug/, and under /usr/lib/debug. */
static int find_main(struct debugfind *f, Dwfl_Module *mod, const char *link, GElf_Word crc,
		     char **name)
{
	const char *obj = tview__target_path(f->tv, f->mod);
	const unsigned char *id = NULL;
	char path[PATH_MAX], dir[PATH_MAX] = "";
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &id, &vaddr), fd = -1;
	struct want w = { .id = id, .n = n > 0 ? (size_t)n : 0, .has_crc = link != NULL,
			  .crc = crc };

	if (w.n > 1) {
		build_id_path(path, sizeof(path), id, w.n);
		fd = try_file(f, path, &w, true, false);
	}
	if (fd < 0 && link && link[0] == '/') {
		snprintf(path, sizeof(path), "%s", link);
		fd = try_file(f, path, &w, true, false);
	} else if (fd < 0 && link && obj) {
		const char *slash = strrchr(obj, '/');
		const char *const fmts[] = { "%s/%s", "%s/.debug/%s", DEBUG_ROOT "%s/%s" };

		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - obj), obj);
		for (size_t i = 0; fd < 0 && i < sizeof(fmts) / sizeof(fmts[0]); i++) {
			if (snprintf(path, sizeof(path), fmts[i], dir, link) < (int)sizeof(path))
				fd = try_file(f, path, &w, true, false);
		}
	}
	if (fd < 0 && w.n > 1 && !tview__stats(f->tv)->same_root) {
		build_id_path(path, sizeof(path), id, w.n);
		fd = try_file(f, path, &w, true, true);
	}
	if (fd < 0)
		return -1;
	set_dir(f, path);
	*name = strdup(path);
	return fd;
}

/* The dwz file that the object's DWARF refers to, by its own build-id. */
static int find_alt(struct debugfind *f, const char *link, char **name)
{
	struct want w = { .id = f->alt_id, .n = f->alt_len };
	char path[PATH_MAX];
	int fd = -1;

	if (link[0] == '/' || f->dir) {
		snprintf(path, sizeof(path), "%s%s%s", link[0] == '/' ? "" : f->dir,
			 link[0] == '/' ? "" : "/", link);
		fd = try_file(f, path, &w, false, false);
	}
	if (fd < 0 && w.n > 1) {
		build_id_path(path, sizeof(path), w.id, w.n);
		fd = try_file(f, path, &w, false, false);
	}
	if (fd < 0 && w.n > 1 && !tview__stats(f->tv)->same_root)
		fd = try_file(f, path, &w, false, true);
	if (fd >= 0)
		*name = strdup(path);
	return fd;
}

int debugfind__find(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		    char **debuginfo_file_name)
{
	struct debugfind *f = userdata ? *userdata : NULL;
	const struct tv_module *m;

	(void)modname; (void)base; (void)file_name;
	if (!f)
		return -1;
	m = tview__module(f->tv, f->mod);
	if (!f->main_read && m && m->fd >= 0) {
		/* An object that keeps its DWARF asks for its dwz file first. */
		Elf *e = elf_begin(m->fd, ELF_C_READ_MMAP, NULL);
		const char *obj = tview__target_path(f->tv, f->mod);

		f->main_read = true;
		if (e)
			read_altlink(f, e);
		elf_end(e);
		if (obj)
			set_dir(f, obj);
	}
	/* libdwfl asks for the dwz file by its altlink name, with no CRC. */
	if (debuglink_file && !debuglink_crc && f->alt_name &&
	    !strcmp(debuglink_file, f->alt_name))
		return find_alt(f, debuglink_file, debuginfo_file_name);
	if (f->looked)
		return -1;
	f->looked = true;
	return find_main(f, mod, debuglink_file, debuglink_crc, debuginfo_file_name);
}
