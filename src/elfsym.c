// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * ELF symbol tables and the dynamic linker's search order, read with libelf.
 * Used to find which loaded object really defines malloc & co. before the
 * launched command runs: uprobes are registered on files, so they can be in
 * place before the object is even mapped.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "elfsym.h"

struct elfsym {
	int fd;
	Elf *elf;
	char *interp;
};

struct elfsym *elfsym__open(const char *path)
{
	struct elfsym *e;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e->fd < 0)
		goto fail;
	e->elf = elf_begin(e->fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF) {
		errno = ENOEXEC;
		goto fail;
	}
	return e;
fail:
	elfsym__close(e);
	return NULL;
}

void elfsym__close(struct elfsym *e)
{
	if (!e)
		return;
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	free(e->interp);
	free(e);
}

static int vaddr_to_off(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return -ENOEXEC;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

/* Calls fn for each defined, non-local function symbol, .dynsym first (what
 * the dynamic linker binds against), until fn returns non-zero. */
static int for_each_symbol(struct elfsym *e, int type,
			   int (*fn)(const GElf_Sym *, const char *, void *), void *ctx)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int ret;

	for (int pass = 0; pass < 2; pass++) {
		while ((scn = elf_nextscn(e->elf, scn))) {
			Elf_Data *data;
			size_t i, n;

			if (!gelf_getshdr(scn, &sh) ||
			    sh.sh_type != (pass ? SHT_SYMTAB : SHT_DYNSYM) || !sh.sh_entsize)
				continue;
			data = elf_getdata(scn, NULL);
			n = sh.sh_size / sh.sh_entsize;
			for (i = 0; data && i < n; i++) {
				GElf_Sym s;
				const char *name;

				if (!gelf_getsym(data, (int)i, &s) || s.st_shndx == SHN_UNDEF ||
				    !s.st_value)
					continue;
				/* An IFUNC symbol is its resolver, not the allocator. */
				if (GELF_ST_TYPE(s.st_info) != type)
					continue;
				name = elf_strptr(e->elf, sh.sh_link, s.st_name);
				ret = name ? fn(&s, name, ctx) : 0;
				if (ret)
					return ret;
			}
		}
	}
	return 0;
}

static int for_each_function(struct elfsym *e, int (*fn)(const GElf_Sym *, const char *, void *),
			     void *ctx)
{
	return for_each_symbol(e, STT_FUNC, fn, ctx);
}

int elfsym__each_dynamic(Elf *elf, int (*fn)(const GElf_Dyn *d, const char *str, void *ctx),
			 void *ctx)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int ret;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		size_t k;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (k = 0; data && k < sh.sh_size / sh.sh_entsize; k++) {
			GElf_Dyn d;
			bool named;

			if (!gelf_getdyn(data, (int)k, &d))
				continue;
			named = d.d_tag == DT_NEEDED || d.d_tag == DT_SONAME ||
				d.d_tag == DT_RUNPATH || d.d_tag == DT_RPATH;
			ret = fn(&d, named ? elf_strptr(elf, sh.sh_link, d.d_un.d_val) : NULL, ctx);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int is_pie(const GElf_Dyn *d, const char *str, void *ctx)
{
	(void)str;
	(void)ctx;
	return d->d_tag == DT_FLAGS_1 && (d->d_un.d_val & DF_1_PIE);
}

/* A statically linked executable (non-PIE or static-pie): no interpreter,
 * and either ET_EXEC or flagged PIE.  Shared libraries and ld.so are neither. */
static bool is_static_exe(Elf *elf)
{
	size_t i, n;
	GElf_Ehdr eh;
	GElf_Phdr ph;
	bool dyn = false;

	if (!gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &n))
		return false;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_INTERP)
			return false;
		dyn |= ph.p_type == PT_DYNAMIC;
	}
	if (eh.e_type == ET_EXEC)
		return true;
	if (eh.e_type != ET_DYN || !dyn)
		return false;
	return elfsym__each_dynamic(elf, is_pie, NULL) != 0;
}

struct find_ctx {
	const char *name;
	GElf_Sym sym;
	bool locals;
};

static int match_name(const GElf_Sym *s, const char *name, void *ctx)
{
	struct find_ctx *f = ctx;

	if ((!f->locals && GELF_ST_BIND(s->st_info) == STB_LOCAL) || strcmp(name, f->name))
		return 0;
	f->sym = *s;
	return 1;
}

int elfsym__lookup(struct elfsym *e, const char *sym, uint64_t *file_off)
{
	struct elfsym_fn fn;
	int err = elfsym__function(e, sym, &fn);

	if (!err)
		*file_off = fn.file_off;
	return err;
}

int elfsym__function(struct elfsym *e, const char *sym, struct elfsym_fn *out)
{
	struct find_ctx f = { .name = sym };
	size_t file_size;
	char *image;
	int err;

	if (!for_each_function(e, match_name, &f)) {
		if (!is_static_exe(e->elf))
			return -ENOENT;
		/* glibc's static-pie binds malloc and free locally: there they
		 * are still the allocator every call goes to. */
		f.locals = true;
		if (!for_each_function(e, match_name, &f))
			return -ENOENT;
	}
	err = vaddr_to_off(e->elf, f.sym.st_value, &out->file_off);
	if (err)
		return err;
	out->vaddr = f.sym.st_value;
	out->size = f.sym.st_size;
	out->code = NULL;
	image = elf_rawfile(e->elf, &file_size);
	if (image && out->file_off < file_size) {
		out->code = (const uint8_t *)image + out->file_off;
		if (out->size > file_size - out->file_off)
			out->size = file_size - out->file_off;
	}
	return 0;
}

int elfsym__variable(struct elfsym *e, const char *sym, uint64_t *vaddr)
{
	struct find_ctx f = { .name = sym };

	if (!for_each_symbol(e, STT_OBJECT, match_name, &f))
		return -ENOENT;
	*vaddr = f.sym.st_value;
	return 0;
}

struct within_ctx {
	uint64_t lo, hi;
};

static int starts_within(const GElf_Sym *s, const char *name, void *ctx)
{
	struct within_ctx *w = ctx;

	(void)name;
	return s->st_value > w->lo && s->st_value <= w->hi;
}

bool elfsym__function_starts_in(struct elfsym *e, uint64_t lo, uint64_t hi)
{
	return for_each_function(e, starts_within, &(struct within_ctx){ lo, hi }) != 0;
}

int elfsym__load_span(struct elfsym *e, uint64_t *lo, uint64_t *hi)
{
	size_t i, n;
	GElf_Phdr ph;

	*lo = UINT64_MAX;
	*hi = 0;
	if (elf_getphdrnum(e->elf, &n))
		return -ENOENT;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_vaddr < *lo)
			*lo = ph.p_vaddr;
		if (ph.p_vaddr + ph.p_memsz > *hi)
			*hi = ph.p_vaddr + ph.p_memsz;
	}
	return *hi > *lo ? 0 : -ENOENT;
}

const char *elfsym__interp(struct elfsym *e)
{
	size_t i, n;
	GElf_Phdr ph;

	if (e->interp || elf_getphdrnum(e->elf, &n))
		return e->interp;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_INTERP)
			continue;
		/* The first one, as the kernel takes it.  Its size is the
		 * file's word, not a size to allocate: the kernel refuses one
		 * past PATH_MAX, and p_filesz + 1 can wrap to 0. */
		if (ph.p_filesz > PATH_MAX)
			break;
		e->interp = calloc(1, ph.p_filesz + 1);
		if (e->interp && pread(e->fd, e->interp, ph.p_filesz, (off_t)ph.p_offset) < 0)
			e->interp[0] = '\0';
		break;
	}
	return e->interp;
}

struct list {
	char **v;
	int n, cap;
};

static int list_add(struct list *l, const char *s)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 0;
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = strdup(s);
	return l->v[l->n] ? (l->n++, 0) : -ENOMEM;
}

static void add_path_list(struct list *dirs, const char *s, const char *origin)
{
	char *copy = strdup(s ? s : ""), *tok, *save = NULL, buf[4096];

	for (tok = strtok_r(copy, ":;", &save); tok; tok = strtok_r(NULL, ":;", &save)) {
		if (strncmp(tok, "$ORIGIN", 7) == 0)
			snprintf(buf, sizeof(buf), "%s%s", origin, tok + 7);
		else
			snprintf(buf, sizeof(buf), "%s", tok);
		list_add(dirs, buf);
	}
	free(copy);
}

/* The directories of /etc/ld.so.conf (and its includes), then the defaults. */
static void add_system_dirs(struct list *dirs, const char *root, const char *conf, int depth)
{
	char path[4096], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, conf);
	f = depth < 4 ? fopen(path, "re") : NULL;
	while (f && fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");

		s[strcspn(s, "\r\n#")] = '\0';
		if (!*s)
			continue;
		if (strncmp(s, "include", 7) == 0) {
			glob_t g;
			size_t i;

			s += 7 + strspn(s + 7, " \t");
			snprintf(path, sizeof(path), "%s%s", root, s);
			if (glob(path, 0, NULL, &g) == 0) {
				for (i = 0; i < g.gl_pathc; i++)
					add_system_dirs(dirs, "", g.gl_pathv[i], depth + 1);
				globfree(&g);
			}
		} else {
			list_add(dirs, s);
		}
	}
	if (f)
		fclose(f);
}

static int find_lib(const char *root, struct list *dirs, const char *name, char *out, size_t len)
{
	int i;

	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return 0;
	}
	for (i = 0; i < dirs->n; i++) {
		char full[4096];

		snprintf(out, len, "%s/%s", dirs->v[i], name);
		snprintf(full, sizeof(full), "%s%s", root, out);
		if (access(full, R_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

struct needed_ctx {
	struct list *dirs, *names;
	const char *origin;
};

static int take_needed(const GElf_Dyn *d, const char *s, void *ctx)
{
	struct needed_ctx *n = ctx;

	if (!s)
		return 0;
	if (d->d_tag == DT_NEEDED)
		list_add(n->names, s);
	else if (d->d_tag == DT_RUNPATH || d->d_tag == DT_RPATH)
		add_path_list(n->dirs, s, n->origin);
	return 0;
}

/* Append the DT_NEEDED names of object, resolved, to order. */
static void add_needed(const char *root, const char *object, struct list *order,
		       const struct list *sys)
{
	char full[4096], origin[4096], found[4096], *slash;
	struct list dirs = {}, names = {};
	struct elfsym *e;
	int i;

	snprintf(full, sizeof(full), "%s%s", root, object);
	e = elfsym__open(full);
	if (!e)
		return;
	/* A name without a directory (a script's "#!prog") is in the
	 * working directory. */
	snprintf(origin, sizeof(origin), "%s", object);
	slash = strrchr(origin, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(origin, sizeof(origin), ".");
	add_path_list(&dirs, getenv("LD_LIBRARY_PATH"), origin);
	elfsym__each_dynamic(e->elf, take_needed,
			     &(struct needed_ctx){ .dirs = &dirs, .names = &names, .origin = origin });
	for (i = 0; i < sys->n; i++)
		list_add(&dirs, sys->v[i]);
	for (i = 0; i < names.n; i++)
		if (!find_lib(root, &dirs, names.v[i], found, sizeof(found)))
			list_add(order, found);
	for (i = 0; i < dirs.n; i++)
		free(dirs.v[i]);
	for (i = 0; i < names.n; i++)
		free(names.v[i]);
	free(dirs.v);
	free(names.v);
	elfsym__close(e);
}

/*
 * The dynamic linker's own answer: "ld.so --list EXE" (what ldd runs) maps
 * the objects the way it will for the real start, in load order, with every
 * rule of its search (DT_RPATH before LD_LIBRARY_PATH, DT_RUNPATH after,
 * $ORIGIN, ld.so.cache, glibc-hwcaps subdirectories, LD_PRELOAD) and runs
 * none of the program's code.  Objects already named are not added again.
 */
static int ask_loader(const char *interp, const char *exe, struct list *order)
{
	char line[4096];
	int fds[2], status, n = 0;
	pid_t pid;
	FILE *f;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (dup2(fds[1], 1) < 0 || null < 0 || dup2(null, 2) < 0)
			_exit(127);
		execl(interp, interp, "--list", exe, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "=> "), *end;
		int i;

		p = p ? p + 3 : line + strspn(line, " \t");
		if (*p != '/')
			continue;	/* "not found", the vDSO */
		end = strstr(p, " (");
		if (end)
			*end = '\0';
		p[strcspn(p, "\n")] = '\0';
		for (i = 0; i < order->n && strcmp(order->v[i], p); i++)
			;
		if (i == order->n && list_add(order, p) == 0)
			n++;
	}
	if (f)
		fclose(f);
	else
		close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return -ENOEXEC;
	return n;
}

int elfsym__load_order(const char *root, const char *exe, char ***out)
{
	static const char *const defaults[] = {
		"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
		"/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
	};
	struct list order = {}, sys = {}, pre = {};
	size_t i;
	int k;

	list_add(&order, exe);
	if (!*root) {
		struct elfsym *e = elfsym__open(exe);
		const char *interp = e ? elfsym__interp(e) : NULL;
		int n = interp && *interp ? ask_loader(interp, exe, &order) : -ENOEXEC;

		elfsym__close(e);
		if (n > 0) {
			*out = order.v;
			return order.n;
		}
	}
	add_system_dirs(&sys, root, "/etc/ld.so.conf", 0);
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		list_add(&sys, defaults[i]);
	add_path_list(&pre, getenv("LD_PRELOAD"), "");
	for (k = 0; k < pre.n; k++) {
		char found[4096];

		if (!find_lib(root, &sys, pre.v[k], found, sizeof(found)))
			list_add(&order, found);
		free(pre.v[k]);
	}
	free(pre.v);
	/* Breadth first, as ld.so searches for a symbol's definition. */
	for (k = 0; k < order.n; k++)
		add_needed(root, order.v[k], &order, &sys);
	for (k = 0; k < sys.n; k++)
		free(sys.v[k]);
	free(sys.v);
	*out = order.v;
	return order.n;
}

static const char *basename_of(const char *p)
{
	const char *b = strrchr(p, '/');

	return b ? b + 1 : p;
}

/* The program an env line runs: its first word that is not an option or
 * an assignment, searched on PATH as env does.  NULL if none. */
static const char *env_program(char *args, char *buf, size_t len)
{
	const char *dirs = getenv("PATH");
	char *w, *save = NULL, *copy, *d, *dsave = NULL;

	for (w = strtok_r(args, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
		if (*w != '-' && !strchr(w, '='))
			break;
	if (!w)
		return NULL;
	if (strchr(w, '/'))
		return snprintf(buf, len, "%s", w) < (int)len ? buf : NULL;
	copy = strdup(dirs ? dirs : "/usr/local/bin:/usr/bin:/bin");
	for (d = strtok_r(copy, ":", &dsave); d; d = strtok_r(NULL, ":", &dsave)) {
		snprintf(buf, len, "%s/%s", *d ? d : ".", w);
		if (access(buf, X_OK) == 0) {
			free(copy);
			return buf;
		}
	}
	free(copy);
	return NULL;
}

int elfsym__program_of(const char *exe, char *buf, size_t len, int *execs)
{
	char line[PATH_MAX], path[2][PATH_MAX], found[PATH_MAX], *interp;
	int depth, err = -ELOOP;

	if (execs)
		*execs = 1;
	/* The kernel follows up to four interpreters; so do we. */
	for (depth = 0; depth < 5; depth++) {
		FILE *f = fopen(exe, "re");

		if (!f)
			return -errno;
		line[0] = '\0';
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
		if (memcmp(line, "\177ELF", 4) == 0) {
			err = (size_t)snprintf(buf, len, "%s", exe) >= len ? -ENAMETOOLONG : 0;
			break;
		}
		if (line[0] != '#' || line[1] != '!') {
			err = -ENOEXEC;
			break;
		}
		/* A script: the allocator is its interpreter's. */
		interp = line + 2 + strspn(line + 2, " \t");
		interp[strcspn(interp, " \t\n")] = '\0';
		snprintf(path[depth & 1], sizeof(path[0]), "%s", interp);
		exe = path[depth & 1];
		/* "#!/usr/bin/env [-S] prog": the program is prog, found on PATH. */
		if (strcmp(basename_of(interp), "env") == 0 &&
		    env_program(interp + strlen(interp) + 1, found, sizeof(found))) {
			snprintf(path[depth & 1], sizeof(path[0]), "%s", found);
			exe = path[depth & 1];
			if (execs)
				(*execs)++;	/* env execs the program itself */
		}
	}
	return err;
}
