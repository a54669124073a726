// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include "log.h"
#include "owner.h"
#include "target.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#define PF_KTHREAD 0x00200000

int target__check_privileges(void)
{
	static const struct { int cap; const char *name; } need[] = {
		{ CAP_BPF, "CAP_BPF" }, { CAP_PERFMON, "CAP_PERFMON" },
		{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE" }, { CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH" },
	};
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};
	char missing[160] = "";
	size_t i;

	if (syscall(SYS_capget, &hdr, data))
		return 0;	/* cannot tell: let the BPF calls say it */
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		int c = need[i].cap;

		if (!(data[c / 32].effective & (1u << (c % 32)))) {
			if (*missing)
				strcat(missing, ", ");
			strcat(missing, need[i].name);
		}
	}
	if (!*missing)
		return 0;
	elog("tracing needs root or the capabilities CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and "
	     "CAP_DAC_READ_SEARCH (missing: %s)\n", missing);
	return -EPERM;
}

int target__check_output(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path) ? (int)(slash - path) : 1,
			 path);
	else
		snprintf(dir, sizeof(dir), ".");
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		elog("cannot write %s: directory %s does not exist\n", path, dir);
		return -ENOENT;
	}
	if (access(dir, W_OK)) {
		int err = errno;

		elog("cannot write %s: directory %s: %s\n", path, dir, strerror(err));
		return -err;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		elog("cannot write %s: it is a directory\n", path);
		return -EISDIR;
	}
	return 0;
}

/* "/proc/PID" into buf[32], for the readers below. */
static const char *proc_of(pid_t pid, char *buf)
{
	snprintf(buf, 32, "/proc/%d", pid);
	return buf;
}

/* Read DIR/<name> into buf (NUL-terminated); its length or -errno. */
static ssize_t read_in(const char *dir, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	return n;
}

static char *read_cmdline(const char *dir)
{
	char buf[4096];
	ssize_t n = read_in(dir, "cmdline", buf, sizeof(buf)), i;

	if (n <= 0)
		return NULL;
	if (buf[n - 1] == '\0')
		n--;
	for (i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return strdup(buf);
}

/* DIR/stat from the field after the parenthesised comm (the state). */
static int read_stat(const char *dir, char *buf, size_t len, char **fields)
{
	ssize_t n = read_in(dir, "stat", buf, len);
	char *p;

	if (n < 0)
		return (int)n;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	*fields = p + 2;
	return 0;
}

/* Field 9 of /proc/PID/stat: the kernel's task flags. */
static int read_flags(pid_t pid, unsigned long *flags)
{
	char buf[1024], dir[32], *p = NULL;
	int err = read_stat(proc_of(pid, dir), buf, sizeof(buf), &p), i;

	for (i = 0; !err && p && i < 6; i++)
		p = strchr(p + 1, ' ');
	if (err || !p)
		return err ? err : -EIO;
	*flags = strtoul(p + 1, NULL, 10);
	return 0;
}

/* The process (thread group) that thread tid belongs to, or -errno. */
static pid_t read_tgid(pid_t tid)
{
	char buf[4096], dir[32], *p;
	ssize_t n = read_in(proc_of(tid, dir), "status", buf, sizeof(buf));

	if (n < 0)
		return (pid_t)n;
	p = strstr(buf, "\nTgid:");
	return p ? (pid_t)strtol(p + 6, NULL, 10) : -EIO;
}

/* The task behind DIR has not exited: neither a zombie nor dead. */
static bool task_runs(const char *dir)
{
	char buf[1024], *state = NULL;

	return read_stat(dir, buf, sizeof(buf), &state) == 0 && *state != 'Z' && *state != 'X';
}

pid_t target__mm_tid(pid_t pid)
{
	char dir[64];
	struct dirent *de;
	pid_t tid = 0;
	DIR *d;

	if (task_runs(proc_of(pid, dir)))
		return pid;
	/* The main thread has exited, and its mm with it: any thread still
	 * running shows the same process. */
	snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
	d = opendir(dir);
	if (!d)
		return 0;
	while (!tid && (de = readdir(d))) {
		pid_t t = (pid_t)strtol(de->d_name, NULL, 10);

		snprintf(dir, sizeof(dir), "/proc/%d/task/%d", pid, t);
		if (t > 0 && t != pid && task_runs(dir))
			tid = t;
	}
	closedir(d);
	return tid;
}

int target__pick_proc_dir(struct target *t)
{
	pid_t tid = target__mm_tid(t->pid);

	if (!tid)
		return -ESRCH;
	proc_of(tid, t->proc_dir);
	return 0;
}

bool target__alive(pid_t pid)
{
	return target__mm_tid(pid) != 0;
}

/* No thread runs: a zombie says whose wait() it is waiting for. */
static int say_gone(pid_t pid)
{
	char buf[1024], dir[32], *state = NULL;

	if (read_stat(proc_of(pid, dir), buf, sizeof(buf), &state) == 0 && *state == 'Z')
		elog("PID %d is a zombie (exited, not yet reaped by its parent PID %ld): nothing "
		     "to trace\n", pid, strtol(state + 1, NULL, 10));
	else
		elog("no process with PID %d\n", pid);
	return -ESRCH;
}

int target__open_pid(struct target *t, pid_t pid)
{
	char leader[32];
	unsigned long flags;
	pid_t tgid;
	int err;

	memset(t, 0, sizeof(*t));
	t->gate_fd = t->exec_err_fd = -1;
	t->pid = pid;
	if (kill(pid, 0) && errno == ESRCH) {
		elog("no process with PID %d\n", pid);
		return -ESRCH;
	}
	err = read_flags(pid, &flags);
	if (err == -ENOENT) {
		elog("no process with PID %d\n", pid);
		return -ESRCH;
	}
	if (!err && (flags & PF_KTHREAD)) {
		elog("PID %d is a kernel thread; only user processes can be traced\n", pid);
		return -EINVAL;
	}
	if (err) {
		elog("cannot read /proc/%d/stat: %s\n", pid, strerror(-err));
		return err;
	}
	/* A thread's ID (top -H, a log line): the probes and the BPF filter
	 * work on whole processes, and its allocator is the process's. */
	tgid = read_tgid(pid);
	if (tgid < 0) {
		elog("cannot read /proc/%d/status: %s\n", pid, strerror(-tgid));
		return tgid;
	}
	if (tgid != pid) {
		elog("PID %d is a thread of process %d: tracing %d\n", pid, tgid, tgid);
		t->pid = tgid;
	}
	if (target__pick_proc_dir(t))
		return say_gone(t->pid);
	if (strcmp(t->proc_dir, proc_of(t->pid, leader)))
		vlog("the main thread of PID %d has exited: reading the process through %s\n",
		     t->pid, t->proc_dir);
	t->cmdline = read_cmdline(t->proc_dir);
	if (!t->cmdline) {
		elog("cannot read %s/cmdline: %s\n", t->proc_dir, strerror(errno ? errno : EIO));
		return -EIO;
	}
	return 0;
}

int target__exec_seen(struct target *t)
{
	char *cmdline;

	if (target__pick_proc_dir(t))
		return -ESRCH;
	cmdline = read_cmdline(t->proc_dir);
	if (!cmdline)
		return errno ? -errno : -EIO;
	free(t->cmdline);
	t->cmdline = cmdline;
	return 0;
}

/* execvp()'s search, done up front so a bad command fails before tracing. */
static int resolve_command(const char *cmd, char **out)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, full[PATH_MAX];
	int err = -ENOENT;

	if (!*cmd)
		return -ENOENT;
	if (strchr(cmd, '/')) {
		if (access(cmd, X_OK))
			return -errno;
		*out = realpath(cmd, NULL);
		return *out ? 0 : -errno;
	}
	copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		struct stat st;

		snprintf(full, sizeof(full), "%s/%s", *dir ? dir : ".", cmd);
		if (stat(full, &st) || !S_ISREG(st.st_mode))
			continue;
		if (access(full, X_OK)) {
			err = -EACCES;
			continue;
		}
		*out = realpath(full, NULL);
		err = *out ? 0 : -errno;
		break;
	}
	free(copy);
	return err;
}

/* Under sudo, run the command as the user who asked for it. */
static int drop_to_sudo_user(void)
{
	const char *user = getenv("SUDO_USER");
	uid_t uid;
	gid_t gid;

	if (getuid() != 0 || owner__sudo_ids(&uid, &gid))
		return 0;
	if ((user ? initgroups(user, gid) : setgroups(0, NULL)) || setgid(gid) || setuid(uid))
		return -errno;
	return 0;
}

static void join_args(struct target *t, char **argv)
{
	size_t len = 1;
	int i;

	for (i = 0; argv[i]; i++)
		len += strlen(argv[i]) + 1;
	t->cmdline = calloc(1, len);
	for (i = 0; t->cmdline && argv[i]; i++) {
		if (i)
			strcat(t->cmdline, " ");
		strcat(t->cmdline, argv[i]);
	}
}

int target__spawn(struct target *t, char **argv)
{
	int gate[2] = { -1, -1 }, errp[2] = { -1, -1 }, err;
	char c;

	memset(t, 0, sizeof(*t));
	t->gate_fd = t->exec_err_fd = -1;
	t->launched = true;
	err = resolve_command(argv[0], &t->exe);
	if (err) {
		elog("cannot execute '%s': %s\n", argv[0], strerror(-err));
		return err;
	}
	join_args(t, argv);
	if (pipe2(gate, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		err = -errno;
		elog("cannot create pipes: %s\n", strerror(-err));
		goto cleanup;
	}
	fflush(NULL);
	t->pid = fork();
	if (t->pid < 0) {
		err = -errno;
		elog("cannot fork: %s\n", strerror(-err));
		goto cleanup;
	}
	if (t->pid == 0) {
		close(gate[1]);
		close(errp[0]);
		/* The tracer ignores SIGUSR1 outside its loop (snapshots); the
		 * command must not inherit that. */
		signal(SIGUSR1, SIG_DFL);
		err = drop_to_sudo_user();
		/* Held here until the probes are in place; EOF: the tracer gave up. */
		if (!err && read(gate[0], &c, 1) != 1)
			_exit(127);
		if (!err) {
			execv(t->exe, argv);
			err = -errno;
		}
		if (write(errp[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(gate[0]);
	close(errp[1]);
	t->gate_fd = gate[1];
	t->exec_err_fd = errp[0];
	proc_of(t->pid, t->proc_dir);
	return 0;
cleanup:
	for (int i = 0; i < 2; i++) {
		if (gate[i] >= 0)
			close(gate[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return err;
}

int target__release(struct target *t)
{
	char c = 1;
	int child_err = 0;
	ssize_t n;

	if (write(t->gate_fd, &c, 1) != 1) {
		int err = -errno;

		elog("cannot start '%s': %s\n", t->exe, strerror(-err));
		return err;
	}
	close(t->gate_fd);
	t->gate_fd = -1;
	n = read(t->exec_err_fd, &child_err, sizeof(child_err));
	close(t->exec_err_fd);
	t->exec_err_fd = -1;
	if (n == sizeof(child_err)) {
		elog("cannot execute '%s': %s\n", t->exe, strerror(-child_err));
		waitpid(t->pid, NULL, 0);
		return child_err;
	}
	return 0;
}

void target__abort(struct target *t)
{
	if (!t->launched || t->gate_fd < 0)
		return;
	close(t->gate_fd);	/* the held child sees EOF and exits */
	t->gate_fd = -1;
	waitpid(t->pid, NULL, 0);
}

void target__name(struct target *t, char *buf, size_t len)
{
	const char *base = t->exe ? strrchr(t->exe, '/') : NULL;
	ssize_t n = -1;
	size_t i;

	if (base)
		n = snprintf(buf, len, "%s", base + 1);
	else if (!t->launched)
		n = read_in(t->proc_dir, "comm", buf, len);
	if (n <= 0) {
		snprintf(buf, len, "process");
		return;
	}
	buf[strcspn(buf, "\n")] = '\0';
	/* comm is whatever the process set (prctl): keep it one plain file
	 * name a shell need not quote. */
	for (i = 0; buf[i]; i++)
		if (buf[i] == '/' || buf[i] <= ' ' || buf[i] == 0x7f || strchr("'\"\\$`*?[]", buf[i]))
			buf[i] = '_';
}

int target__wait_exit(struct target *t, unsigned int ms, int *status)
{
	unsigned int waited;
	pid_t r;

	for (waited = 0;; waited += 10) {
		r = waitpid(t->pid, status, WNOHANG);
		if (r == t->pid)
			return 0;
		if (r < 0)
			return -errno;
		if (waited >= ms)
			return -ETIMEDOUT;
		usleep(10 * 1000);
	}
}

void target__cleanup(struct target *t)
{
	if (t->gate_fd >= 0)
		close(t->gate_fd);
	if (t->exec_err_fd >= 0)
		close(t->exec_err_fd);
	free(t->exe);
	free(t->cmdline);
}

uint64_t target__rss(struct target *t)
{
	char path[64];
	unsigned long size, resident;
	FILE *f;
	int n;

	if (target__pick_proc_dir(t))
		return 0;
	snprintf(path, sizeof(path), "%s/statm", t->proc_dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	return n == 2 ? (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

pid_t target__ns_pid(struct target *t)
{
	char path[64], line[256];
	pid_t ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", t->pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *p, *last = NULL;

		if (strncmp(line, "NSpid:", 6))
			continue;
		/* "NSpid:\t<host>\t...\t<innermost>": the last is the process's own view. */
		for (p = strtok(line + 6, " \t\n"); p; p = strtok(NULL, " \t\n"))
			last = p;
		ns = last ? (pid_t)strtol(last, NULL, 10) : 0;
		break;
	}
	if (f)
		fclose(f);
	return ns;
}
