/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_TARGET_H
#define DT_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The traced process: one that runs already, or a command we launch. */
struct target {
	pid_t pid;
	bool launched;
	char *exe;	/* launched: resolved path of the command */
	char *cmdline;	/* for the report and the JSON's cmd */
	/*
	 * Where the process's memory is read (maps, map_files, exe, root,
	 * cmdline): "/proc/PID", or once the main thread has exited
	 * (pthread_exit() in main) and its entries are empty, a running
	 * thread's own "/proc/TID", which shows the same process
	 * (/proc/PID/task/TID has no map_files).
	 */
	char proc_dir[32];
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
/* It replaced its program: its command line again. */
int target__exec_seen(struct target *t);
/* Kill and reap a child that was never released. */
void target__abort(struct target *t);
void target__cleanup(struct target *t);
/* A short name for files: the command's base name, or an attached
 * process's comm, made safe as one file name. */
void target__name(struct target *t, char *buf, size_t len);
/* Reap the launched command within ms: 0 with its wait status, -ETIMEDOUT
 * while it runs on, or -errno (not our child, or reaped already). */
int target__wait_exit(struct target *t, unsigned int ms, int *status);
/* Re-pick t->proc_dir (its thread may have exited): 0, or -ESRCH when no
 * thread of the process runs. */
int target__pick_proc_dir(struct target *t);
/* For code that knows only the PID: the thread whose /proc/TID shows the
 * process's memory, pid itself while the main thread runs; 0 when none runs. */
pid_t target__mm_tid(pid_t pid);
/* Whether some thread of process pid still runs (its main thread may not). */
bool target__alive(pid_t pid);
/* Its PID in its own (innermost) PID namespace; 0 if unknown. */
pid_t target__ns_pid(struct target *t);
/* Its resident memory (bytes), 0 if it cannot be read (gone). */
uint64_t target__rss(struct target *t);

#endif
