/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_ELFSYM_H
#define DT_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>

struct elfsym;

/* Open an ELF file for symbol look-ups; NULL (errno set) if it is not one. */
struct elfsym *elfsym__open(const char *path);
void elfsym__close(struct elfsym *e);
/* File offset of the defined function sym (what a uprobe takes); -ENOENT. */
int elfsym__lookup(struct elfsym *e, const char *sym, uint64_t *file_off);
struct elfsym_fn {
	uint64_t file_off;	/* of the entry: what a uprobe takes */
	uint64_t vaddr;
	uint64_t size;		/* st_size; 0 if the symbol does not say */
	const uint8_t *code;	/* its bytes in the file image; NULL if not there */
};

/* The defined function sym, as elfsym__lookup finds it; -ENOENT. */
int elfsym__function(struct elfsym *e, const char *sym, struct elfsym_fn *out);
/* Each entry of the object's dynamic section, with its string (DT_NEEDED,
 * DT_SONAME, DT_RUNPATH...: NULL for the others); a non-zero return of fn
 * stops the walk and is returned. */
int elfsym__each_dynamic(Elf *elf, int (*fn)(const GElf_Dyn *d, const char *str, void *ctx),
			 void *ctx);
/* The ELF virtual address of the global variable sym; -ENOENT. */
int elfsym__variable(struct elfsym *e, const char *sym, uint64_t *vaddr);
/* Whether any function symbol starts in (lo, hi] (virtual addresses): code
 * there may be entered from outside the function. */
bool elfsym__function_starts_in(struct elfsym *e, uint64_t lo, uint64_t hi);
/* The virtual addresses its PT_LOAD segments span, [lo, hi); -ENOENT. */
int elfsym__load_span(struct elfsym *e, uint64_t *lo, uint64_t *hi);
/* PT_INTERP of an executable, or NULL. */
const char *elfsym__interp(struct elfsym *e);

/* The ELF program that runs for exe: exe itself, or a script's #!
 * interpreter (through "#!/usr/bin/env prog" to prog, found on PATH).
 * -ENOEXEC if exe is neither.  *execs (if not NULL): how many execve calls
 * it takes to get there (1, plus one per env). */
int elfsym__program_of(const char *exe, char *buf, size_t len, int *execs);

/*
 * The objects the dynamic linker will load for the executable at path, in
 * its symbol search order: the executable, LD_PRELOAD, then DT_NEEDED
 * breadth first.  root prefixes every path (for another mount namespace;
 * "" for ours).  Returns the number of paths stored in out (malloc'd).
 */
int elfsym__load_order(const char *root, const char *exe, char ***out);

#endif
