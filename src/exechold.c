// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "child.h"
#include "elfsym.h"
#include "exechold.h"
#include "log.h"
#include "targetview.h"

/* r_state's offset in struct r_debug (<link.h>), and its RT_CONSISTENT. */
#define R_STATE_OFF 24
#define RT_CONSISTENT 0

struct at_loader {
	int mem;
	uint64_t r_state;
	int seen;
};

/* The first call says RT_ADD (mapping begins), the next RT_CONSISTENT. */
static bool loaded(void *ctx)
{
	struct at_loader *l = ctx;
	int32_t state = -1;

	l->seen++;
	return pread(l->mem, &state, sizeof(state), (off_t)l->r_state) == sizeof(state) &&
	       state == RT_CONSISTENT && l->seen > 1;
}

int exechold__to_loader(pid_t pid, int *status)
{
	struct at_loader l = { .mem = -1 };
	struct tview *tv = tview__new(pid);
	const struct tv_module *ld = NULL;
	struct elfsym *e = NULL;
	struct elfsym_fn fn;
	uint64_t r_debug;
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
	    elfsym__variable(e, "_r_debug", &r_debug)) {
		vlog("%s has no _dl_debug_state or _r_debug: the next program is traced from its "
		     "exec, without its libraries' unwind tables until they are mapped\n", ld->path);
		goto cleanup;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	l.mem = open(path, O_RDONLY | O_CLOEXEC);
	if (l.mem < 0) {
		err = -errno;
		goto cleanup;
	}
	l.r_state = ld->first_bias + r_debug + R_STATE_OFF;
	err = child__run_to(pid, ld->first_bias + fn.vaddr, loaded, &l, status);
	if (err && err != -ESRCH)
		vlog("cannot hold PID %d where its libraries are mapped: %s\n", pid,
		     strerror(-err));
cleanup:
	if (l.mem >= 0)
		close(l.mem);
	elfsym__close(e);
	tview__free(tv);
	return err;
}
