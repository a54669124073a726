// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Return addresses to DHAT frame strings with libdwfl, following elfutils'
 * addr2line -i: the innermost scope's file:line from the line table, each
 * outer inlined level located at the inner scope's DW_AT_call_file/line.
 */
#include <dwarf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include "debugfind.h"
#include "log.h"
#include "rust_demangle.h"
#include "symbolizer.h"
#include "targetview.h"
#include <unistd.h>

char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct frame_desc {
	uint64_t ip;		/* the frame's location (targetview.h); 0: empty slot */
	int n;
	char **strs;
	char *site;
	int quality;		/* enum quality */
};

enum quality { Q_FULL, Q_NO_LINE, Q_NO_SYMBOL, Q_NO_MODULE, Q_GONE, Q_UNREADABLE };

/*
 * One Dwfl per object, holding only that object's file as the target view
 * opened it, at its link-time addresses: a location needs no knowledge of
 * where the object was mapped, and no path is ever opened for it here.
 */
struct symbolizer {
	const struct tview *tv;
	Dwfl **dwfls;		/* by module; NULL: not loaded yet */
	struct debugfind **finds;	/* each Dwfl's debug file search */
	bool *failed;
	uint32_t nmods;
	struct frame_desc *cache;
	size_t mask, count;
	struct symbolizer_stats stats;
	struct debugfind_stats debug;
};

/* The object's file comes with the report: nothing else may be looked for. */
static int no_find_elf(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr base,
		       char **file_name, Elf **elfp)
{
	(void)mod; (void)ud; (void)name; (void)base; (void)file_name; (void)elfp;
	return -1;
}

/* Separate debug files from the target's root only, each checked against
 * the object's build-id (libdwfl's standard search opens our paths). */
static const Dwfl_Callbacks module_callbacks = {
	.find_elf = no_find_elf,
	.find_debuginfo = debugfind__find,
};

struct symbolizer *symbolizer__new(const struct tview *tv)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->tv = tv;
	s->mask = 4095;
	s->cache = calloc(s->mask + 1, sizeof(*s->cache));
	if (!s->cache) {
		symbolizer__free(s);
		return NULL;
	}
	return s;
}

/* The module's Dwfl, loaded on first use; NULL if its file cannot be read. */
static Dwfl *module_dwfl(struct symbolizer *s, uint32_t mod)
{
	const struct tv_module *m = s->tv ? tview__module(s->tv, mod) : NULL;
	Dwfl *d;
	int fd;

	if (!m || m->fd < 0)
		return NULL;
	if (mod >= s->nmods) {
		uint32_t n = tview__nr_modules(s->tv) + 16;
		Dwfl **v = realloc(s->dwfls, n * sizeof(*v));
		struct debugfind **df = v ? realloc(s->finds, n * sizeof(*df)) : NULL;
		bool *f = df ? realloc(s->failed, n * sizeof(*f)) : NULL;

		if (v)
			s->dwfls = v;
		if (df)
			s->finds = df;
		if (!v || !df || !f)
			return NULL;
		s->failed = f;
		memset(s->dwfls + s->nmods, 0, (n - s->nmods) * sizeof(*v));
		memset(s->finds + s->nmods, 0, (n - s->nmods) * sizeof(*df));
		memset(s->failed + s->nmods, 0, (n - s->nmods) * sizeof(*f));
		s->nmods = n;
	}
	if (s->dwfls[mod] || s->failed[mod])
		return s->dwfls[mod];
	s->finds[mod] = calloc(1, sizeof(**s->finds));
	d = s->finds[mod] ? dwfl_begin(&module_callbacks) : NULL;
	fd = d ? dup(m->fd) : -1;
	if (fd >= 0) {
		Dwfl_Module *dm;
		void **ud;

		*s->finds[mod] = (struct debugfind){ .tv = s->tv, .mod = mod, .st = &s->debug };
		dwfl_report_begin(d);
		/* Consumes fd on success only. */
		dm = dwfl_report_elf(d, m->path, m->path, fd, 0, false);
		if (!dm) {
			vlog("cannot read %s: %s\n", m->path, dwfl_errmsg(-1));
			close(fd);
			fd = -1;
		} else {
			dwfl_module_info(dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
			*ud = s->finds[mod];
		}
		dwfl_report_end(d, NULL, NULL);
	}
	if (fd < 0) {
		if (d)
			dwfl_end(d);
		debugfind__free(s->finds[mod]);
		s->finds[mod] = NULL;
		s->failed[mod] = true;
		return NULL;
	}
	s->dwfls[mod] = d;
	return d;
}

static void desc_free(struct frame_desc *d)
{
	int i;

	for (i = 0; i < d->n; i++)
		free(d->strs[i]);
	free(d->strs);
	free(d->site);
}

void symbolizer__free(struct symbolizer *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; s->cache && i <= s->mask; i++)
		if (s->cache[i].ip)
			desc_free(&s->cache[i]);
	free(s->cache);
	for (i = 0; i < s->nmods; i++) {
		if (s->dwfls[i])
			dwfl_end(s->dwfls[i]);
		debugfind__free(s->finds[i]);
	}
	free(s->dwfls);
	free(s->finds);
	free(s->failed);
	free(s);
}

/* Rust first: __cxa_demangle also takes Rust's legacy _ZN names, but
 * leaves their $LT$-style escapes and hash in. */
static char *demangle(const char *name)
{
	char *d;
	int status;

	if (!name)
		return strdup("???");
	d = rust_demangle(name);
	if (!d && name[0] == '_' && name[1] == 'Z')
		d = __cxa_demangle(name, NULL, NULL, &status);
	return d ? d : strdup(name);
}

static const char *base_name(const char *path)
{
	const char *b = path ? strrchr(path, '/') : NULL;

	return b ? b + 1 : path;
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));

	return n ? n : dwarf_diename(die);
}

struct desc_builder {
	char **strs;
	int n, cap;
	uint64_t pc;	/* in the object (link-time address) */
	uint64_t shown;	/* the address shown: where the target had it */
};

static void push(struct desc_builder *b, const char *fn, const char *file, int line,
		 const char *obj)
{
	char *s = NULL;
	int r;

	if (b->n == b->cap) {
		int cap = b->cap ? b->cap * 2 : 4;
		char **v = realloc(b->strs, cap * sizeof(*v));

		if (!v)
			return;
		b->strs = v;
		b->cap = cap;
	}
	if (file)
		r = asprintf(&s, "0x%" PRIX64 ": %s (%s:%d)", b->shown, fn, base_name(file), line);
	else if (obj)
		r = asprintf(&s, "0x%" PRIX64 ": %s (in %s)", b->shown, fn, obj);
	else
		r = asprintf(&s, "0x%" PRIX64 ": %s", b->shown, fn);
	if (r >= 0)
		b->strs[b->n++] = s;
}

/*
 * Innermost subprogram, inlined instance or block holding pc, below parent.
 * dwarf_getscopes() looks only at DIEs with addresses from the CU down, so
 * it misses functions that rustc (and some C++ compilers) nest inside
 * namespace and type DIEs; this walk goes through those too.
 */
static bool find_scope(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *out, int depth)
{
	Dwarf_Die c;
	int tag;

	if (depth > 64 || dwarf_child(parent, &c) != 0)
		return false;
	do {
		tag = dwarf_tag(&c);
		if (tag == DW_TAG_namespace || tag == DW_TAG_structure_type ||
		    tag == DW_TAG_class_type || tag == DW_TAG_union_type ||
		    tag == DW_TAG_enumeration_type) {
			if (find_scope(&c, pc, out, depth + 1))
				return true;
		} else if ((tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
			    tag == DW_TAG_lexical_block) && dwarf_haspc(&c, pc) == 1) {
			if (!find_scope(&c, pc, out, depth + 1))
				*out = c;
			return true;
		}
	} while (dwarf_siblingof(&c, &c) == 0);
	return false;
}

/* The inline chain at pc, innermost first; returns whether any frame came out. */
static int describe_inlines(struct desc_builder *b, Dwfl_Module *mod, const char *symname,
			    const char *file, int line)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die *cudie = dwfl_module_addrdie(mod, b->pc, &bias), *scopes = NULL;
	Dwarf_Files *files = NULL;
	int n, i, before = b->n;

	if (!cudie)
		return 0;
	n = dwarf_getscopes(cudie, b->pc - bias, &scopes);
	/* dwarf_getscopes follows an inlined instance into its abstract origin;
	 * the concrete chain (inlined instances, then the subprogram they sit
	 * in) comes from the innermost DIE itself, as eu-addr2line -i does. */
	{
		Dwarf_Die die;
		Dwarf_Addr mbias;
		bool found = n > 0 ? dwarf_offdie(dwfl_module_getdwarf(mod, &mbias),
						  dwarf_dieoffset(&scopes[0]), &die) != NULL :
				     find_scope(cudie, b->pc - bias, &die, 0);

		free(scopes);
		scopes = NULL;
		if (!found)
			return 0;
		n = dwarf_getscopes_die(&die, &scopes);
		if (n <= 0)
			return 0;
	}
	dwarf_getsrcfiles(cudie, &files, NULL);
	for (i = 0; i < n; i++) {
		int tag = dwarf_tag(&scopes[i]);
		Dwarf_Attribute a;
		Dwarf_Word v;
		char *name;

		if (tag == DW_TAG_subprogram) {
			/* The symbol table has the full C++ signature, as valgrind shows. */
			name = demangle(symname ? symname : die_name(&scopes[i]));
			push(b, name, file, line, NULL);
			free(name);
			break;
		}
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		name = demangle(die_name(&scopes[i]));
		push(b, name, file, line, NULL);
		free(name);
		/* The next frame out sits where this one was inlined. */
		file = NULL;
		if (files && dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &a), &v) == 0)
			file = dwarf_filesrc(files, v, NULL, NULL);
		line = dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &a), &v) == 0 ?
			       (int)v : 0;
	}
	free(scopes);
	return b->n > before;
}

static void describe(struct symbolizer *s, struct frame_desc *d)
{
	uint32_t m = TV_LOC_MOD(d->ip);
	const struct tv_module *tm = s->tv ? tview__module(s->tv, m) : NULL;
	struct desc_builder b = { .pc = TV_LOC_ADDR(d->ip) - 1 };
	Dwfl *dwfl = module_dwfl(s, m);
	Dwfl_Module *mod = dwfl ? dwfl_addrmodule(dwfl, b.pc) : NULL;
	const char *sym = NULL, *file = NULL, *modname = NULL;
	GElf_Off off;
	GElf_Sym esym;
	Dwfl_Line *line;
	int lineno = 0;

	b.shown = tm ? b.pc + tm->first_bias : b.pc;
	if (!mod) {
		/* Never a name from another file: ??? and why, counted. */
		d->quality = m == TV_LOC_GONE ? Q_GONE : tm ? Q_UNREADABLE : Q_NO_MODULE;
		push(&b, "???", NULL, 0, NULL);
		goto done;
	}
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &modname, NULL);
	sym = dwfl_module_addrinfo(mod, b.pc, &off, &esym, NULL, NULL, NULL);
	line = dwfl_module_getsrc(mod, b.pc);
	if (line)
		file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
	d->quality = !sym ? Q_NO_SYMBOL : !file ? Q_NO_LINE : Q_FULL;
	if (file && describe_inlines(&b, mod, sym, file, lineno))
		goto done;
	{
		char *name = demangle(sym);

		push(&b, sym ? name : "???", file, lineno, modname);
		free(name);
	}
done:
	d->strs = b.strs;
	d->n = b.n;
	if (d->n) {
		/* The short form drops the "0x...: " prefix. */
		const char *p = strstr(d->strs[0], ": ");

		d->site = strdup(p ? p + 2 : d->strs[0]);
	}
}

static struct frame_desc *lookup(struct symbolizer *s, uint64_t ip)
{
	size_t i = (size_t)((ip * 0x9E3779B97F4A7C15ULL) >> 32) & s->mask;

	while (s->cache[i].ip && s->cache[i].ip != ip)
		i = (i + 1) & s->mask;
	if (s->cache[i].ip)
		return &s->cache[i];
	if ((s->count + 1) * 2 > s->mask + 1) {
		struct frame_desc *old = s->cache;
		size_t n = s->mask + 1, j;

		s->cache = calloc(n * 2, sizeof(*s->cache));
		if (!s->cache) {
			s->cache = old;
			return NULL;
		}
		s->mask = n * 2 - 1;
		for (j = 0; j < n; j++) {
			size_t k;

			if (!old[j].ip)
				continue;
			k = (size_t)((old[j].ip * 0x9E3779B97F4A7C15ULL) >> 32) & s->mask;
			while (s->cache[k].ip)
				k = (k + 1) & s->mask;
			s->cache[k] = old[j];
		}
		free(old);
		return lookup(s, ip);
	}
	s->cache[i].ip = ip;
	s->count++;
	describe(s, &s->cache[i]);
	return &s->cache[i];
}

int symbolizer__describe(void *ctx, uint64_t ip, const char *const **strs)
{
	static const char *const unknown[] = { "0x0: ???" };
	struct frame_desc *d = lookup(ctx, ip);

	if (!d || !d->n) {
		*strs = unknown;
		return 1;
	}
	*strs = (const char *const *)d->strs;
	return d->n;
}

const char *symbolizer__site(struct symbolizer *s, uint64_t ip)
{
	struct frame_desc *d = lookup(s, ip);

	return d && d->site ? d->site : "???";
}

const struct symbolizer_stats *symbolizer__stats(struct symbolizer *s)
{
	size_t i;

	memset(&s->stats, 0, sizeof(s->stats));
	for (i = 0; i <= s->mask; i++) {
		if (!s->cache[i].ip)
			continue;
		s->stats.frames++;
		s->stats.no_module += s->cache[i].quality == Q_NO_MODULE;
		s->stats.gone += s->cache[i].quality == Q_GONE;
		s->stats.unreadable += s->cache[i].quality == Q_UNREADABLE;
		s->stats.no_symbol += s->cache[i].quality == Q_NO_SYMBOL;
		s->stats.no_line += s->cache[i].quality == Q_NO_LINE;
	}
	s->stats.debug_files = s->debug.used;
	s->stats.debug_files_refused = s->debug.refused;
	return &s->stats;
}
