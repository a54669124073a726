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
#include "injlaunch.h"
#include "log.h"

static int entry_of(pid_t pid, uint64_t *entry)
{
	uint64_t av[2];
	char path[64];
	int fd, err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (read(fd, av, sizeof(av)) == sizeof(av) && av[0] != AT_NULL) {
		if (av[0] == AT_ENTRY) {
			*entry = av[1];
			err = 0;
			break;
		}
	}
	close(fd);
	return err;
}

static bool first_hit(void *ctx)
{
	(void)ctx;
	return true;
}

int injlaunch__to_entry(struct target *t, bool *watching)
{
	char prog[PATH_MAX];
	int execs = 1, status = 0, err;
	uint64_t entry = 0;

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
		err = entry_of(t->pid, &entry);
	if (!err)
		err = child__run_to(t->pid, entry, first_hit, NULL, &status);
	if (err == -ESRCH)
		elog("'%s' ended before its first instruction\n", t->exe);
	else if (err)
		elog("cannot hold '%s' at its entry point: %s\n", t->exe, strerror(-err));
	else
		dlog("PID %d held at its entry point 0x%llx\n", t->pid, (unsigned long long)entry);
	return err;
}
