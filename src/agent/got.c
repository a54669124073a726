// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * GOT rewriting, heaptrack's method (dl_iterate_phdr, then each object's
 * JUMP_SLOT and GLOB_DAT relocations by symbol name), with what its users
 * learnt: a slot is taken only while it holds the function the process
 * bound (or its own lazy PLT entry), so an interposed allocator
 * (libjemalloc) stays the one that allocates; its old value is kept, in the
 * control area where the tracer can read it too, and is what goes back;
 * RELRO pages are made writable for the one store and read-only again.
 * The vDSO and the agent itself are skipped; ld.so has no such slots, but
 * pointers of its own (patch_rtld).
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "agent.h"

#define PAGE 4096UL

int ag_inert;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long last_adds;
/* Functions whose slots stay as they are: the C++ runtime's operator
 * delete, which calls free through its PLT (allocfns.h). */
static bool passed_over[AF_NR];
bool ag_cxx_new[AF_NR];

void ag_lock(void)
{
	pthread_mutex_lock(&lock);
}

void ag_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

/* Whether a and b are in one loaded object. */
static bool same_object(void *a, void *b)
{
	Dl_info ia, ib;

	return dladdr(a, &ia) && dladdr(b, &ib) && ia.dli_fbase == ib.dli_fbase;
}

void ag_got_resolve(void)
{
	/* dlsym allocates (its error buffer): not the program's allocation. */
	uint64_t self = ag_self_begin((uint64_t)__builtin_frame_address(0));
	void *cxx = NULL;
	int i;

	/* The global scope's definition, as the process's own lookups find it:
	 * a preloaded allocator comes before libc there.  Once found, kept:
	 * a hook may be calling it. */
	for (i = 0; i < AF_NR; i++) {
		if (ag_real[i])
			continue;
		ag_real[i] = dlsym(RTLD_DEFAULT, ag_fns[i].sym);
		if (!ag_real[i] || (ag_fns[i].fn != DT_FN_DELETE && ag_fns[i].fn != DT_FN_NEW))
			continue;
		if (!cxx)
			cxx = dlsym(RTLD_DEFAULT, "__cxa_throw");
		if (!cxx || !same_object(ag_real[i], cxx))
			continue;
		if (ag_fns[i].fn == DT_FN_DELETE)
			passed_over[i] = true;
		else
			ag_cxx_new[i] = true;
	}
	if (!ag_real[AF_DLOPEN])
		ag_real[AF_DLOPEN] = dlsym(RTLD_DEFAULT, "dlopen");
	ag_self_end(self);
}

/* One object's address ranges: where its code and data lie, and the part
 * of its RELRO segment that ld.so made read-only (whole pages only). */
struct obj {
	uint64_t lo, hi, ro_lo, ro_hi;
	const ElfW(Dyn) *dyn;
	uint64_t base;
};

static bool obj_of(const struct dl_phdr_info *info, struct obj *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->base = info->dlpi_addr;
	o->lo = ~0ULL;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t a = o->base + ph->p_vaddr;

		if (ph->p_type == PT_LOAD) {
			if (a < o->lo)
				o->lo = a;
			if (a + ph->p_memsz > o->hi)
				o->hi = a + ph->p_memsz;
		} else if (ph->p_type == PT_DYNAMIC) {
			o->dyn = (const ElfW(Dyn) *)a;
		} else if (ph->p_type == PT_GNU_RELRO) {
			o->ro_lo = a & ~(PAGE - 1);
			o->ro_hi = (a + ph->p_memsz) & ~(PAGE - 1);
		}
	}
	return o->dyn && o->hi > o->lo;
}

uint64_t ag_self_lo, ag_self_hi;

static bool skipped(const struct dl_phdr_info *info, const struct obj *o)
{
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	uint64_t self = (uint64_t)(uintptr_t)&ag_got_patch;

	if (self >= o->lo && self < o->hi) {
		ag_self_lo = o->lo;
		ag_self_hi = o->hi;
		return true;
	}
	return strstr(name, "linux-vdso") || strstr(name, "linux-gate");
}

static bool is_rtld(const struct dl_phdr_info *info)
{
	return info->dlpi_name && strstr(info->dlpi_name, "/ld-linux");
}

static int lookup(const char *name)
{
	int i;

	if (!strcmp(name, "dlopen"))
		return AF_DLOPEN;
	for (i = 0; i < AF_NR; i++)
		if (name[0] == ag_fns[i].sym[0] && !strcmp(name, ag_fns[i].sym))
			return i;
	return -1;
}

static int set_word(uint64_t addr, uint64_t expect, uint64_t val, bool ro)
{
	uint64_t page = addr & ~(PAGE - 1);
	int ok;

	if (ro && mprotect((void *)page, PAGE, PROT_READ | PROT_WRITE))
		return 0;
	ok = __atomic_compare_exchange_n((uint64_t *)addr, &expect, val, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED);
	if (ro)
		mprotect((void *)page, PAGE, PROT_READ);
	return ok;
}

static struct dt_inj_slot *slot_entry(uint64_t addr)
{
	struct dt_inj_ctrl *c = ag_ctrl;
	uint32_t i, n = c->nslots;

	/* An object unloaded and another loaded at its address: the entry is
	 * this address's, whatever it held before. */
	for (i = 0; i < n; i++)
		if (c->slots[i].addr == addr)
			return &c->slots[i];
	if (n == DT_INJ_MAX_SLOTS)
		return NULL;
	return &c->slots[n];
}

static void patch_slot(const struct obj *o, uint64_t addr, int idx)
{
	struct dt_inj_ctrl *c = ag_ctrl;
	void *hook = idx == AF_DLOPEN ? (void *)ag_hook_dlopen : ag_fns[idx].hook;
	uint64_t cur = __atomic_load_n((uint64_t *)addr, __ATOMIC_ACQUIRE);
	uint64_t real = (uint64_t)(uintptr_t)ag_real[idx];
	bool ro = addr >= o->ro_lo && addr < o->ro_hi;
	struct dt_inj_slot *s;

	if (cur == (uint64_t)(uintptr_t)hook || !real || (idx != AF_DLOPEN && passed_over[idx]))
		return;
	/* Bound to something else (a library's own allocator, RTLD_DEEPBIND):
	 * not ours to change, and the hook would call the wrong function. */
	if (cur != real && !(cur >= o->lo && cur < o->hi)) {
		c->slots_other++;
		return;
	}
	s = slot_entry(addr);
	if (!s) {
		c->slots_full++;
		return;
	}
	/* Written before the store: the tracer can put it back even if we
	 * never get to. */
	*s = (struct dt_inj_slot){ .addr = addr, .orig = cur, .hook = (uint64_t)(uintptr_t)hook,
				   .flags = ro ? DT_INJ_SLOT_RELRO : 0,
				   .fn = idx == AF_DLOPEN ? DT_FN_NR : ag_fns[idx].fn };
	if (s == &c->slots[c->nslots])
		__atomic_store_n(&c->nslots, c->nslots + 1, __ATOMIC_RELEASE);
	if (!set_word(addr, cur, s->hook, ro))
		s->addr = 0;	/* changed under us (lazy binding): left as it is */
}

static void patch_relocs(const struct obj *o, const ElfW(Rela) *r, uint64_t size,
			 const ElfW(Sym) *symtab, const char *strtab)
{
	const ElfW(Rela) *end = (const ElfW(Rela) *)((const char *)r + size);
	int idx;

	for (; r < end; r++) {
		uint32_t type = ELF64_R_TYPE(r->r_info);

		if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
			continue;
		idx = lookup(strtab + symtab[ELF64_R_SYM(r->r_info)].st_name);
		if (idx >= 0)
			patch_slot(o, o->base + r->r_offset, idx);
	}
}

/* ld.so relocates the d_ptr entries of .dynamic in place, except in
 * objects whose .dynamic is read-only (the vDSO): both are seen. */
static uint64_t dyn_ptr(const struct obj *o, uint64_t p)
{
	return p < o->base ? p + o->base : p;
}

/*
 * ld.so allocates through pointers of its own, not through a GOT: once
 * libc is relocated, __rtld_malloc, __rtld_calloc, __rtld_realloc and
 * __rtld_free (glibc's elf/dl-minimal.c; hidden, so found by value) hold
 * the global scope's functions, which ag_real holds too.  A new thread's
 * DTV and a dlopen's link maps come from them; the uprobes see those
 * calls.  They sit together in ld.so's RELRO data (four words in a row in
 * Debian 12's): taken only if all four are found within one cache line
 * there, so that a word that merely holds one of these values is never
 * rewritten.
 */
static void patch_rtld(const struct obj *o)
{
	static const int fns[] = { AF_malloc, AF_calloc, AF_realloc, AF_free };
	uint64_t at[4] = { 0 }, lo = ~0ULL, hi = 0, p, v;
	unsigned int k;

	if (!o->ro_hi)
		return;
	for (p = o->ro_lo; p < o->ro_hi; p += 8) {
		v = *(const uint64_t *)p;
		for (k = 0; k < 4; k++)
			if (v && v == (uint64_t)(uintptr_t)ag_real[fns[k]] && !at[k])
				at[k] = p;
	}
	for (k = 0; k < 4; k++) {
		if (!at[k])
			return;
		lo = at[k] < lo ? at[k] : lo;
		hi = at[k] > hi ? at[k] : hi;
	}
	if (hi - lo >= 64)
		return;
	for (k = 0; k < 4; k++)
		patch_slot(o, at[k], fns[k]);
}

static int patch_object(struct dl_phdr_info *info, size_t size, void *data)
{
	uint64_t symtab = 0, strtab = 0, jmprel = 0, pltsz = 0, rela = 0, relasz = 0;
	const ElfW(Dyn) *d;
	struct obj o;

	(void)data;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs))
		last_adds = info->dlpi_adds;
	if (!obj_of(info, &o) || skipped(info, &o))
		return 0;
	if (is_rtld(info)) {
		patch_rtld(&o);
		return 0;
	}
	for (d = o.dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: symtab = dyn_ptr(&o, d->d_un.d_ptr); break;
		case DT_STRTAB: strtab = dyn_ptr(&o, d->d_un.d_ptr); break;
		case DT_JMPREL: jmprel = dyn_ptr(&o, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: pltsz = d->d_un.d_val; break;
		case DT_RELA: rela = dyn_ptr(&o, d->d_un.d_ptr); break;
		case DT_RELASZ: relasz = d->d_un.d_val; break;
		}
	}
	if (!symtab || !strtab)
		return 0;
	if (jmprel)
		patch_relocs(&o, (const ElfW(Rela) *)jmprel, pltsz, (const ElfW(Sym) *)symtab,
			     (const char *)strtab);
	if (rela)
		patch_relocs(&o, (const ElfW(Rela) *)rela, relasz, (const ElfW(Sym) *)symtab,
			     (const char *)strtab);
	ag_ctrl->objects++;
	return 0;
}

int ag_got_patch(void)
{
	if (ag_inert)
		return 0;
	ag_ctrl->objects = 0;
	dl_iterate_phdr(patch_object, NULL);
	return 0;
}

static int restore_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct dt_inj_ctrl *c = ag_ctrl;
	uint32_t i, n = __atomic_load_n(&c->nslots, __ATOMIC_ACQUIRE);
	struct obj o;

	(void)size;
	(void)data;
	if (!obj_of(info, &o))
		return 0;
	/* Only the objects still loaded (dl_iterate_phdr holds them there):
	 * a slot of one dlclose'd since is unmapped memory. */
	for (i = 0; i < n; i++) {
		struct dt_inj_slot *s = &c->slots[i];

		if (!s->addr || s->addr < o.lo || s->addr >= o.hi)
			continue;
		if (set_word(s->addr, s->hook, s->orig, s->flags & DT_INJ_SLOT_RELRO))
			c->restored++;
		s->addr = 0;
	}
	return 0;
}

void ag_got_restore(void)
{
	ag_inert = 1;
	dl_iterate_phdr(restore_object, NULL);
}

/* A rescan only when the loader added objects since the last pass. */
static int adds_of(struct dl_phdr_info *info, size_t size, void *data)
{
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs))
		*(unsigned long long *)data = info->dlpi_adds;
	return 1;
}

/* Patches what the loader added since the last pass; false: nothing new. */
bool ag_dl_rescan(void)
{
	unsigned long long adds = 0;

	dl_iterate_phdr(adds_of, &adds);
	if (adds == last_adds)
		return false;
	ag_got_resolve();
	ag_lock();
	if (!ag_inert) {
		ag_ctrl->rescans++;
		ag_got_patch();
	}
	ag_unlock();
	ag_uw_loaded();
	return true;
}

/*
 * Objects loaded later get their slots patched before their constructors
 * run, by the signal's handler (dlinit.c); without it, only once the dlopen
 * returns, and the dlopen is counted.  Known gap (memray's fix): the real
 * dlopen's caller is now the agent, so a bare name is searched with the
 * agent's RUNPATH ($ORIGIN) rather than the caller's.
 */
void *ag_hook_dlopen(const char *file, int mode)
{
	uint32_t depth = ag_dl_enter(__builtin_frame_address(0));
	uint64_t passes = ag_dlinit_passes();
	void *h = ((void *(*)(const char *, int))ag_real[AF_DLOPEN])(file, mode);

	ag_dl_leave(depth);
	if (!h || ag_inert)
		return h;
	if (ag_dl_rescan() && ag_dlinit_passes() == passes)
		__atomic_fetch_add(&ag_ctrl->ctors_unseen, 1, __ATOMIC_RELAXED);
	return h;
}
