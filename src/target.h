/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_TARGET_H
#define DT_TARGET_H

#include <stdbool.h>
#include <sys/types.h>

/* The traced process: one that runs already, or a command we launch. */
struct target {
	pid_t pid;
	bool launched;
	char *exe;	/* launched: resolved path of the command */
	char *cmdline;	/* for the report and the JSON's cmd */
	int gate_fd;	/* launched: writing releases the held child */
	int exec_err_fd;/* launched: the child's exec errno, EOF once exec succeeded */
};

/* Each prints its own one-line error and returns -errno. */
int target__check_privileges(void);
int target__check_output(const char *path);
int target__open_pid(struct target *t, pid_t pid);
/* Fork the command, held before exec until target__release(). */
int target__spawn(struct target *t, char **argv);
/* Let the held child exec; -errno (reported) if exec failed. */
int target__release(struct target *t);
/* Kill and reap a child that was never released. */
void target__abort(struct target *t);
void target__cleanup(struct target *t);
/* Whether pid still exists (and is not a zombie). */
bool target__alive(pid_t pid);

#endif
