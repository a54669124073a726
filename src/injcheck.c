// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include "injcheck.h"
#include "log.h"

void injcheck__status(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	size_t k = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	out[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, k) || line[k] != ':')
			continue;
		snprintf(out, len, "%s", line + k + 1 + strspn(line + k + 1, " \t"));
		out[strcspn(out, "\n")] = '\0';
		break;
	}
	fclose(f);
}

/* Our remote calls are x86-64 code: a 32-bit (or x32) program would run
 * them to its death. */
static bool x86_64_program(pid_t pid)
{
	unsigned char h[20] = { 0 };
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;	/* unknown: the libc look-up decides */
	if (read(fd, h, sizeof(h)) != (ssize_t)sizeof(h))
		memset(h, 0, sizeof(h));
	close(fd);
	return h[EI_CLASS] == ELFCLASS64 && h[18] == EM_X86_64;
}

int injcheck__preflight(pid_t pid)
{
	char v[64];
	FILE *f;
	int scope = 0;

	if (!x86_64_program(pid)) {
		elog("PID %d is not an x86-64 program: --inject cannot load its agent there; trace "
		     "it without --inject\n", pid);
		return -ENOEXEC;
	}
	injcheck__status(pid, "TracerPid", v, sizeof(v));
	if (atoi(v) != 0) {
		elog("PID %d is already traced by PID %s (a debugger?): --inject needs ptrace\n",
		     pid, v);
		return -EBUSY;
	}
	injcheck__status(pid, "State", v, sizeof(v));
	if (v[0] == 'T') {
		elog("PID %d is stopped (%s): --inject needs it running (kill -CONT %d first)\n",
		     pid, v, pid);
		return -EBUSY;
	}
	injcheck__status(pid, "Seccomp", v, sizeof(v));
	if (atoi(v) == 1) {
		elog("PID %d runs in strict seccomp mode: the system calls --inject makes in it "
		     "would kill it\n", pid);
		return -EPERM;
	}
	f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	if (f) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = 0;
		fclose(f);
	}
	if (scope >= 3) {
		elog("ptrace is disabled on this system (kernel.yama.ptrace_scope = 3, until "
		     "reboot): --inject cannot work; trace without --inject\n");
		return -EPERM;
	}
	return 0;
}
