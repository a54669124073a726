// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include "child.h"
#include "elfsym.h"
#include "exechold.h"
#include "injlaunch.h"
#include "log.h"

/*
 * Where a launch is held: once the dynamic linker has mapped and relocated
 * every library and initialised libc early (malloc and dlopen work), and
 * before it runs their constructors, whose allocations (C++ static
 * initialisers: iostreams, locales, globals) the uprobes see from the
 * start.  glibc's dl_main says so to debuggers: _r_debug.r_state =
 * RT_CONSISTENT (elf/rtld.c; it said RT_ADD while it mapped them): see
 * child__run_to_loaded().  A program without that (static, another libc)
 * is held at its entry point.
 */
/* AT_ENTRY and AT_BASE (0: no interpreter). */
static int auxv_of(pid_t pid, uint64_t *entry, uint64_t *base)
{
	uint64_t av[2];
	char path[64];
	int fd, err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*base = 0;
	while (read(fd, av, sizeof(av)) == sizeof(av) && av[0] != AT_NULL) {
		if (av[0] == AT_ENTRY) {
			*entry = av[1];
			err = 0;
		} else if (av[0] == AT_BASE) {
			*base = av[1];
		}
	}
	close(fd);
	return err;
}

/* The program's interpreter (PT_INTERP) as pid's root sees it, into buf:
 * what the kernel mapped at AT_BASE. */
static int interp_of(pid_t pid, char *buf, size_t len)
{
	char exe[64];
	const char *interp;
	struct elfsym *e;
	int err = -ENOENT;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	e = elfsym__open(exe);
	if (!e)
		return -errno;
	interp = elfsym__interp(e);
	if (interp && snprintf(buf, len, "/proc/%d/root%s", pid, interp) < (int)len)
		err = 0;
	elfsym__close(e);
	return err;
}

/* pid's dynamic linker, mapped at base (its first segment is at virtual
 * address 0). */
static int rtld_of(pid_t pid, uint64_t base, struct child_loader *ld)
{
	char path[PATH_MAX + 64];
	int err;

	err = interp_of(pid, path, sizeof(path));
	return err ? err : exechold__loader_of(path, base, ld);
}

int injlaunch__hold(struct target *t, bool *watching)
{
	char prog[PATH_MAX];
	int execs = 1, status = 0, err;
	uint64_t entry = 0, base = 0;
	struct child_loader ld;

	/* A "#!/usr/bin/env prog" script takes an exec more: held at the last. */
	elfsym__program_of(t->exe, prog, sizeof(prog), &execs);
	err = child__seize(t->pid, true, (unsigned int)(execs > 0 ? execs - 1 : 0), false);
	if (err) {
		elog("cannot trace '%s' with ptrace: %s (--inject -- COMMAND needs it)\n", t->exe,
		     strerror(-err));
		target__abort(t);
		return err;
	}
	*watching = true;
	err = target__release(t);
	if (err)
		return err;
	err = child__wait_exec(t->pid, &status);
	if (!err)
		err = auxv_of(t->pid, &entry, &base);
	if (!err && base && !rtld_of(t->pid, base, &ld)) {
		err = child__run_to_loaded(t->pid, &ld, &status);
		if (!err) {
			dlog("PID %d held where ld.so has relocated its libraries, before their "
			     "constructors\n", t->pid);
			return 0;
		}
		if (err == -ESRCH)
			goto gone;
		/* Held somewhere else, or never got there: as before. */
		vlog("PID %d: no stop before its constructors (%s); held at its entry point\n",
		     t->pid, strerror(-err));
		err = 0;
	}
	if (!err)
		err = child__run_to(t->pid, entry, &status);
gone:
	if (err == -ESRCH)
		elog("'%s' ended before its first instruction\n", t->exe);
	else if (err)
		elog("cannot hold '%s' at its entry point: %s\n", t->exe, strerror(-err));
	else
		dlog("PID %d held at its entry point 0x%llx\n", t->pid, (unsigned long long)entry);
	return err;
}
