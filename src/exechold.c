// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "child.h"
#include "elfsym.h"
#include "exechold.h"
#include "log.h"
#include "targetview.h"

int exechold__loader_of(const char *path, uint64_t bias, struct child_loader *ld)
{
	uint64_t r_debug = 0, lo, hi;
	struct elfsym_fn fn;
	struct elfsym *e;
	int err;

	e = elfsym__open(path);
	if (!e)
		return -errno;
	err = elfsym__function(e, "_dl_debug_state", &fn);
	if (!err)
		err = elfsym__variable(e, "_r_debug", &r_debug);
	if (!err)
		err = elfsym__load_span(e, &lo, &hi);
	elfsym__close(e);
	if (err)
		return err;
	ld->brk = bias + fn.vaddr;
	ld->r_state = bias + r_debug + offsetof(struct r_debug, r_state);
	ld->lo = bias + lo;
	ld->hi = bias + hi;
	return 0;
}

int exechold__to_loader(pid_t pid, int *status)
{
	struct tview *tv = tview__new(pid);
	const struct tv_module *ld = NULL;
	struct child_loader at;
	char path[64];
	uint32_t i, ldmod = 0;
	int err;

	if (!tv)
		return -ENOMEM;
	err = tview__sync(tv);
	for (i = TV_FIRST_MODULE; !err && i < tview__nr_modules(tv); i++)
		if (!tview__module(tv, i)->is_exe)
			ld = tview__module(tv, ldmod = i);
	if (err || !ld) {
		/* Only the program is mapped: static, nothing to wait for. */
		err = err ? err : 0;
		goto cleanup;
	}
	err = -ENOENT;
	if (!tview__module_open_path(tv, ldmod, path, sizeof(path)))
		goto cleanup;
	if (exechold__loader_of(path, ld->first_bias, &at)) {
		vlog("%s has no _dl_debug_state or _r_debug: the next program is traced from its "
		     "exec, without its libraries' unwind tables until they are mapped\n", ld->path);
		goto cleanup;
	}
	err = child__run_to_loaded(pid, &at, status);
	if (err && err != -ESRCH)
		vlog("cannot hold PID %d where its libraries are mapped: %s\n", pid,
		     strerror(-err));
cleanup:
	tview__free(tv);
	return err;
}
