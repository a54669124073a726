/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_DEBUGFIND_H
#define DT_DEBUGFIND_H

#include <stdbool.h>
#include <stdint.h>
#include <elfutils/libdwfl.h>

struct tview;

struct debugfind_stats {
	uint64_t used;		/* separate debug files taken (dwz files included) */
	uint64_t refused;	/* found where the target keeps them, but not the object's */
};

/* One object's search; its Dwfl_Module's userdata (see debugfind__find). */
struct debugfind {
	const struct tview *tv;
	uint32_t mod;
	struct debugfind_stats *st;
	bool looked;		/* the main debug file was looked for (once: a file
				 * found is libdwfl's from then on, a miss stays one) */
	bool main_read;		/* the object's own altlink was read */
	char *dir;		/* the debug file's directory (target's view) */
	char *alt_name;		/* .gnu_debugaltlink of the object or its debug file */
	unsigned char alt_id[64];
	size_t alt_len;
};

/*
 * A Dwfl_Callbacks.find_debuginfo for one-object Dwfls whose module
 * userdata is a struct debugfind: looks for the object's debug file (and its
 * dwz file) inside the target's root, by build-id then by .gnu_debuglink as
 * gdb does, and takes a file only if its build-id is the object's (the
 * debuglink CRC for an object without one).  Never the network.
 */
int debugfind__find(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		    char **debuginfo_file_name);
void debugfind__free(struct debugfind *f);

#endif
