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
#include "log.h"
#include "rust_demangle.h"
#include "symbolizer.h"
#include "target.h"

char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct frame_desc {
	uint64_t ip;		/* 0: empty slot */
	int n;
	char **strs;
	char *site;
	int quality;		/* enum quality */
	unsigned int gen;	/* module generation it was described in */
};

enum quality { Q_FULL, Q_NO_LINE, Q_NO_SYMBOL, Q_NO_MODULE };

struct symbolizer {
	Dwfl *dwfl;
	pid_t pid;
	int reported;
	struct frame_desc *cache;
	size_t mask, count;
	unsigned int gen;	/* bumped by every refresh */
	struct symbolizer_stats stats;
};

static char *debuginfo_path;
static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

struct symbolizer *symbolizer__new(pid_t pid)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->pid = pid;
	s->mask = 4095;
	s->cache = calloc(s->mask + 1, sizeof(*s->cache));
	s->dwfl = dwfl_begin(&proc_callbacks);
	if (!s->cache || !s->dwfl) {
		symbolizer__free(s);
		return NULL;
	}
	return s;
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
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free(s);
}

static int preload_module(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr start,
			  void *arg)
{
	Dwarf_Addr bias;

	(void)ud; (void)name; (void)start; (void)arg;
	/* Opening the files now pins them: later they may be gone with the process. */
	dwfl_module_getelf(mod, &bias);
	dwfl_module_getdwarf(mod, &bias);
	return DWARF_CB_OK;
}

int symbolizer__refresh(struct symbolizer *s)
{
	/* A running thread's /proc/TID: the main thread's is empty once it exited. */
	pid_t tid = target__mm_tid(s->pid);
	int r;

	/* Add-only: objects unmapped since stay, their blocks may still be live. */
	dwfl_report_begin_add(s->dwfl);
	r = dwfl_linux_proc_report(s->dwfl, tid ? tid : s->pid);
	if (dwfl_report_end(s->dwfl, NULL, NULL) != 0 && !r)
		r = -1;
	if (r) {
		/* A positive errno (the process is gone), or -1: a libdwfl error. */
		int err = r > 0 ? -r : -EIO;

		if (r < 0)
			vlog("cannot read the modules of PID %d: %s\n", s->pid, dwfl_errmsg(-1));
		return err;
	}
	s->reported = 1;
	s->gen++;
	dwfl_getmodules(s->dwfl, preload_module, NULL, 0);
	return 0;
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
	uint64_t pc;
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
		r = asprintf(&s, "0x%" PRIX64 ": %s (%s:%d)", b->pc, fn, base_name(file), line);
	else if (obj)
		r = asprintf(&s, "0x%" PRIX64 ": %s (in %s)", b->pc, fn, obj);
	else
		r = asprintf(&s, "0x%" PRIX64 ": %s", b->pc, fn);
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
	struct desc_builder b = { .pc = d->ip - 1 };
	Dwfl_Module *mod = s->reported ? dwfl_addrmodule(s->dwfl, b.pc) : NULL;
	const char *sym = NULL, *file = NULL, *modname = NULL;
	GElf_Off off;
	GElf_Sym esym;
	Dwfl_Line *line;
	int lineno = 0;

	d->gen = s->gen;
	if (!mod) {
		d->quality = Q_NO_MODULE;
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
	if (s->cache[i].ip) {
		struct frame_desc *d = &s->cache[i];

		/* An address in no module may be in one the last refresh found. */
		if (d->quality == Q_NO_MODULE && d->gen != s->gen) {
			desc_free(d);
			d->strs = NULL;
			d->site = NULL;
			d->n = 0;
			describe(s, d);
		}
		return d;
	}
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
		s->stats.no_symbol += s->cache[i].quality == Q_NO_SYMBOL;
		s->stats.no_line += s->cache[i].quality == Q_NO_LINE;
	}
	return &s->stats;
}
