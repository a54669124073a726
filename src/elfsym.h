/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_ELFSYM_H
#define DT_ELFSYM_H

#include <stddef.h>
#include <stdint.h>

struct elfsym;

/* Open an ELF file for symbol look-ups; NULL (errno set) if it is not one. */
struct elfsym *elfsym__open(const char *path);
void elfsym__close(struct elfsym *e);
/* File offset of the defined function sym (what a uprobe takes); -ENOENT. */
int elfsym__lookup(struct elfsym *e, const char *sym, uint64_t *file_off);
/* PT_INTERP of an executable, or NULL. */
const char *elfsym__interp(struct elfsym *e);

/* The ELF program that runs for exe: exe itself, or a script's #!
 * interpreter.  -ENOEXEC if exe is neither. */
int elfsym__program_of(const char *exe, char *buf, size_t len);

/*
 * The objects the dynamic linker will load for the executable at path, in
 * its symbol search order: the executable, LD_PRELOAD, then DT_NEEDED
 * breadth first.  root prefixes every path (for another mount namespace;
 * "" for ours).  Returns the number of paths stored in out (malloc'd).
 */
int elfsym__load_order(const char *root, const char *exe, char ***out);

#endif
