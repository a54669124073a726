// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "child.h"
#include "elfsym.h"
#include "exechold.h"
#include "log.h"
#include "targetview.h"

/* r_state's offset in struct r_debug (<link.h>). */
#define R_STATE_OFF 24

int exechold__to_loader(pid_t pid, int *status)
{
	struct tview *tv = tview__new(pid);
	const struct tv_module *ld = NULL;
	struct child_loader at;
	struct elfsym *e = NULL;
	struct elfsym_fn fn;
	uint64_t r_debug, lo, hi;
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
	e = elfsym__open(path);
	if (!e || elfsym__function(e, "_dl_debug_state", &fn) ||
	    elfsym__variable(e, "_r_debug", &r_debug) || elfsym__load_span(e, &lo, &hi)) {
		vlog("%s has no _dl_debug_state or _r_debug: the next program is traced from its "
		     "exec, without its libraries' unwind tables until they are mapped\n", ld->path);
		goto cleanup;
	}
	at.brk = ld->first_bias + fn.vaddr;
	at.r_state = ld->first_bias + r_debug + R_STATE_OFF;
	at.lo = ld->first_bias + lo;
	at.hi = ld->first_bias + hi;
	err = child__run_to_loaded(pid, &at, status);
	if (err && err != -ESRCH)
		vlog("cannot hold PID %d where its libraries are mapped: %s\n", pid,
		     strerror(-err));
cleanup:
	elfsym__close(e);
	tview__free(tv);
	return err;
}
