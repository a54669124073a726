// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Loading the agent (src/agent/, embedded in this executable) into a running
 * process, CRIU's parasite_memfd_exchange way, which works across mount
 * namespaces: a remote memfd_create, the agent written into it through
 * /proc/PID/fd/N, then a remote dlopen("/proc/self/fd/N") through libc's
 * exported dlopen (glibc 2.34 and later).  The shared ring is another memfd
 * made the same way; the agent's line to us is a pipe made in the target,
 * whose write end only we keep: its closing tells the agent we are gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dlfcn.h>
#include <elf.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "dhat_inject_abi.h"
#include "allocfns.h"
#include "elfsym.h"
#include "injcheck.h"
#include "inject.h"
#include "injring.h"
#include "injuw.h"
#include "log.h"
#include "injdlinit.h"
#include "remote.h"
#include "targetview.h"
#include "tscmap.h"
#include "util.h"

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#define DETACH_WAIT_MS 2000

extern const char dt_agent_blob[], dt_agent_blob_end[];

struct injection {
	pid_t pid;
	struct injring *ring;
	struct dt_inj_ctrl *ctrl;
	struct injuw *uw;	/* DWARF stacks: the tables shared with the agent */
	struct tscmap *tsc;	/* the agent stamps with RDTSC: its counts to ns */
	struct dlinit *dl;	/* the probe before a dlopen's constructors; NULL: none */
	int pipe_w;		/* the agent's line: closing it tells it we are gone */
	int wake_fd;		/* the agent's eventfd: records are waiting; -1: none */
	bool started;		/* the agent runs: it must be told to stop */
	bool detached;
	bool gone;		/* said so once */
	bool beside_probes;	/* inject_opts' */
	uint64_t counters[DT_CNT_NR];	/* the agent's, summed at each drain */
	char summary[128];
};

/* Where a borrowed thread may hold the allocator's or the loader's lock. */
#define MAX_UNSAFE 64
struct unsafe {
	uint64_t lo[MAX_UNSAFE], hi[MAX_UNSAFE];
	int n;
};

static bool in_unsafe(void *ctx, uint64_t pc)
{
	const struct unsafe *u = ctx;
	int i;

	for (i = 0; i < u->n; i++)
		if (pc >= u->lo[i] && pc < u->hi[i])
			return true;
	return false;
}

/* The libc functions the load calls, at their addresses in the target. */
struct libc_fns {
	uint64_t dlopen, dlsym, dlerror;
};

static int find_libc(pid_t pid, const struct tview *tv, struct libc_fns *f, struct unsafe *u)
{
	const struct tv_map *maps;
	size_t i, n = tview__live(tv, &maps);
	uint32_t m, libc = 0;
	char path[64];
	struct elfsym *e;
	struct elfsym_fn fn;
	uint64_t bias;
	int err = 0;

	for (i = 0; i < n; i++) {
		const char *b = path_base(tview__module(tv, maps[i].mod)->path);

		if (!strncmp(b, "libc.so", 7))
			libc = maps[i].mod;
		if ((!strncmp(b, "libc.so", 7) || !strncmp(b, "ld-linux", 8)) && u->n < MAX_UNSAFE) {
			u->lo[u->n] = maps[i].start;
			u->hi[u->n++] = maps[i].end;
		}
	}
	if (!libc) {
		elog("PID %d has no dynamic libc (a static executable?): --inject cannot load its "
		     "agent there; trace it without --inject (uprobes)\n", pid);
		return -ENOEXEC;
	}
	m = libc;
	bias = tview__module(tv, m)->first_bias;
	if (!tview__module_open_path(tv, m, path, sizeof(path)) || !(e = elfsym__open(path))) {
		elog("cannot read the libc of PID %d (%s)\n", pid, tview__module(tv, m)->path);
		return -EIO;
	}
	if (elfsym__function(e, "dlopen", &fn) == 0)
		f->dlopen = bias + fn.vaddr;
	if (elfsym__function(e, "dlsym", &fn) == 0)
		f->dlsym = bias + fn.vaddr;
	if (elfsym__function(e, "dlerror", &fn) == 0)
		f->dlerror = bias + fn.vaddr;
	elfsym__close(e);
	if (!f->dlopen || !f->dlsym || !f->dlerror) {
		elog("the libc of PID %d (%s) exports no dlopen (glibc before 2.34?): --inject "
		     "cannot load its agent there (not yet supported); trace it without --inject\n",
		     pid, tview__module(tv, m)->path);
		err = -ENOTSUP;
	}
	return err;
}

/*
 * An executable that defines the allocator itself (a statically linked
 * jemalloc or mimalloc built to override malloc) calls it directly, through
 * no GOT slot: the agent would not see those calls.  The C functions of the
 * table only: an executable's own operator new and delete (libstdc++ linked
 * in statically) call malloc and free through a slot, as Valgrind sees it
 * too.
 */
int inject__own_allocator(const struct tview *tv, char *names, size_t len)
{
#define C_FN(id, sym, kind, fn, required, nargs, prog) { sym, fn },
	static const struct { const char *sym; unsigned int fn; } fns[] = { DT_ALLOC_FNS(C_FN) };
#undef C_FN
	char path[64];
	struct elfsym_fn fn;
	struct elfsym *e;
	uint32_t m, exe = 0;
	size_t i, at = 0;
	bool libc = false;
	int n = 0;

	if (len)
		names[0] = '\0';
	for (m = TV_FIRST_MODULE; m < tview__nr_modules(tv); m++) {
		if (tview__module(tv, m)->is_exe)
			exe = m;
		libc |= !strncmp(path_base(tview__module(tv, m)->path), "libc.so", 7);
	}
	/* A static executable is refused with its own reason (find_libc()). */
	if (!exe || !libc || !tview__module_open_path(tv, exe, path, sizeof(path)) ||
	    !(e = elfsym__open(path)))
		return 0;
	for (i = 0; i < ARRAY_SIZE(fns); i++) {
		if (fns[i].fn == DT_FN_NEW || fns[i].fn == DT_FN_DELETE ||
		    elfsym__function(e, fns[i].sym, &fn))
			continue;
		n++;
		if (at < len)
			at += (size_t)snprintf(names + at, len - at, "%s%s", at ? ", " : "",
					       fns[i].sym);
	}
	elfsym__close(e);
	return n;
}

/* The target's fd as ours, through /proc/PID/fd. */
static int open_their_fd(pid_t pid, int64_t fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%lld", pid, (long long)fd);
	return open(path, flags | O_CLOEXEC);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int64_t remote_memfd(struct remote *r, const char *name, unsigned int flags)
{
	size_t len;
	uint64_t s = remote__scratch(r, &len);
	int64_t fd;
	int err = remote__write(r, s, name, strlen(name) + 1);

	if (err)
		return err;
	fd = remote__syscall(r, SYS_memfd_create, s, flags, 0, 0, 0, 0);
	/* MFD_EXEC and MFD_NOEXEC_SEAL are 6.3's: older kernels refuse the
	 * flags they do not know. */
	if (fd == -EINVAL && (flags & (MFD_EXEC | MFD_NOEXEC_SEAL)))
		fd = remote__syscall(r, SYS_memfd_create, s, flags & ~(MFD_EXEC | MFD_NOEXEC_SEAL),
				     0, 0, 0, 0);
	return fd;
}

/* dlerror() in the target, for the message. */
static void remote_dlerror(struct remote *r, const struct libc_fns *f, char *buf, size_t len)
{
	uint64_t s = 0;

	snprintf(buf, len, "(no reason given)");
	if (remote__call(r, f->dlerror, 0, 0, 0, 0, 2000, &s) || !s ||
	    remote__read(r, s, buf, len - 1))
		return;
	buf[len - 1] = '\0';
}

struct fds {
	int64_t agent, ring, pipe_r, pipe_w, wake, uw;
	char staged[256];	/* the agent as a file in the target's root, as it names it */
	char staged_here[PATH_MAX];	/* the same, as we name it (unlinked once loaded) */
};

/*
 * vm.memfd_noexec = 2 (Linux 6.3, per PID namespace) refuses an executable
 * memfd, and a root without /proc (a bare chroot) has no /proc/self/fd/N
 * to dlopen: the agent goes into a file of the target's own root instead,
 * in the first of these directories that is there and not mounted noexec,
 * for the time of its dlopen.
 */
static int stage_agent(pid_t pid, struct fds *fds, const char *why)
{
	static const char *const dirs[] = { "/dev/shm", "/tmp", "/var/tmp", "" };
	size_t i, blob = (size_t)(dt_agent_blob_end - dt_agent_blob);
	struct statvfs sv;
	char dir[PATH_MAX];
	int fd, err = -ENOENT;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(dir, sizeof(dir), "/proc/%d/root%s", pid, dirs[i]);
		if (statvfs(dir, &sv) || (sv.f_flag & ST_NOEXEC))
			continue;
		snprintf(fds->staged, sizeof(fds->staged), "%s/.dhat-agent-%d-%llu.so", dirs[i],
			 (int)getpid(), (unsigned long long)mono_ns());
		snprintf(fds->staged_here, sizeof(fds->staged_here), "/proc/%d/root%s", pid,
			 fds->staged);
		fd = open(fds->staged_here, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0644);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		err = write_all(fd, dt_agent_blob, blob);
		close(fd);
		if (!err) {
			vlog("%s: the agent is loaded from %s\n", why, fds->staged);
			return 0;
		}
		unlink(fds->staged_here);
	}
	fds->staged[0] = fds->staged_here[0] = '\0';
	return err;
}

/*
 * The eventfd the agent wakes us with, made in the target and taken from
 * there with pidfd_getfd() (Linux 5.6): an eventfd cannot be opened through
 * /proc.  Without it the ring is drained on the loop's tick alone.
 */
static void make_wake_fd(struct injection *in, struct remote *r, struct fds *fds)
{
	int pidfd;

	fds->wake = remote__syscall(r, SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK, 0, 0, 0, 0);
	if (fds->wake < 0)
		goto none;
	pidfd = (int)syscall(SYS_pidfd_open, in->pid, 0);
	if (pidfd >= 0) {
		in->wake_fd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)fds->wake, 0);
		close(pidfd);
	}
	if (in->wake_fd >= 0) {
		fcntl(in->wake_fd, F_SETFD, FD_CLOEXEC);
		in->ctrl->wake_bytes = in->ctrl->ring_size / 4;
		return;
	}
	remote__syscall(r, SYS_close, (uint64_t)fds->wake, 0, 0, 0, 0, 0);
none:
	fds->wake = -1;
	vlog("no eventfd shared with PID %d: its ring is read on the loop's tick alone\n", in->pid);
}

/* The memfds and the pipe in the target, and our ends of them. */
static int make_fds(struct injection *in, struct remote *r, struct fds *fds,
		    const struct inject_opts *o)
{
	size_t len, blob = (size_t)(dt_agent_blob_end - dt_agent_blob);
	uint64_t s = remote__scratch(r, &len);
	char why[128];
	struct stat st;
	int32_t pfd[2];
	int fd, err;

	snprintf(why, sizeof(why), "/proc/%d/root/proc/self", in->pid);
	if (lstat(why, &st)) {
		snprintf(why, sizeof(why), "PID %d has no /proc in its root", in->pid);
		fds->agent = -ENOENT;
	} else {
		snprintf(why, sizeof(why), "PID %d refuses executable memfds (vm.memfd_noexec)",
			 in->pid);
		fds->agent = remote_memfd(r, "dhat-agent", MFD_CLOEXEC | MFD_EXEC);
	}
	if (fds->agent == -EACCES || fds->agent == -ENOENT) {
		fds->agent = -1;
		err = stage_agent(in->pid, fds, why);
		if (err)
			return err;
	} else if (fds->agent < 0) {
		return (int)fds->agent;
	} else {
		fd = open_their_fd(in->pid, fds->agent, O_WRONLY);
		if (fd < 0)
			return -errno;
		err = write_all(fd, dt_agent_blob, blob);
		close(fd);
		if (err)
			return err;
	}
	fds->ring = remote_memfd(r, "dhat-ring", MFD_CLOEXEC | MFD_NOEXEC_SEAL);
	if (fds->ring < 0)
		return (int)fds->ring;
	fd = open_their_fd(in->pid, fds->ring, O_RDWR);
	if (fd < 0)
		return -errno;
	in->ring = injring__new(fd, o->ring_size, o->max_frames);
	if (!in->ring) {
		err = -errno;
		close(fd);
		return err;
	}
	in->ctrl = injring__ctrl(in->ring);
	in->ctrl->dlinit_want = 1;
	if (in->tsc)
		in->ctrl->clock = DT_INJ_CLOCK_TSC;
	if (o->uw) {
		fds->uw = remote_memfd(r, "dhat-unwind", MFD_CLOEXEC | MFD_NOEXEC_SEAL);
		if (fds->uw < 0)
			return (int)fds->uw;
		fd = open_their_fd(in->pid, fds->uw, O_RDWR);
		in->uw = fd < 0 ? NULL : injuw__new(fd, o->uw);
		if (!in->uw)
			return -errno;
		in->ctrl->unwind = o->unwind;
	}
	err = (int)remote__syscall(r, SYS_pipe2, s, O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0);
	if (!err)
		err = remote__read(r, s, pfd, sizeof(pfd));
	if (err)
		return err;
	fds->pipe_r = pfd[0];
	fds->pipe_w = pfd[1];
	in->pipe_w = open_their_fd(in->pid, fds->pipe_w, O_WRONLY | O_NONBLOCK);
	if (in->pipe_w < 0)
		return -errno;
	remote__syscall(r, SYS_close, (uint64_t)fds->pipe_w, 0, 0, 0, 0, 0);
	fds->pipe_w = -1;
	make_wake_fd(in, r, fds);
	return 0;
}

/*
 * Agents loaded by earlier attaches (inert now): dlopen matches a name it
 * has loaded before without opening the file, so each load needs a path of
 * its own, "/proc/self/fd/" with one "./" more than the last.
 */
static int earlier_agents(pid_t pid)
{
	char path[64], line[512];
	unsigned long inodes[64], ino;
	int n = 0, i;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "/memfd:dhat-agent") ||
		    sscanf(line, "%*s %*s %*s %*s %lu", &ino) != 1)
			continue;
		for (i = 0; i < n && inodes[i] != ino; i++)
			;
		if (i == n && n < (int)ARRAY_SIZE(inodes))
			inodes[n++] = ino;
	}
	fclose(f);
	return n;
}

static int load_agent(struct injection *in, struct remote *r, const struct libc_fns *f,
		      struct fds *fds)
{
	static const char sym[] = "dt_agent_start";
	char path[256], why[256];
	size_t len;
	uint64_t s = remote__scratch(r, &len), handle = 0, start = 0, ret = 0;
	int err, k, n = earlier_agents(in->pid), at;

	at = snprintf(path, sizeof(path), "/proc/self/fd/");
	for (k = 0; k < n && at < (int)sizeof(path) - 32; k++)
		at += snprintf(path + at, sizeof(path) - (size_t)at, "./");
	snprintf(path + at, sizeof(path) - (size_t)at, "%lld", (long long)fds->agent);
	if (fds->staged[0])
		snprintf(path, sizeof(path), "%s", fds->staged);
	else if (n)
		vlog("PID %d holds %d inert agent%s from earlier attaches: this one loads as %s\n",
		     in->pid, n, n == 1 ? "" : "s", path);
	err = remote__write(r, s, path, strlen(path) + 1);
	if (!err)
		err = remote__call(r, f->dlopen, s, RTLD_NOW, 0, 0, 5000, &handle);
	/* Mapped (or not): the file has done its part. */
	if (fds->staged_here[0])
		unlink(fds->staged_here);
	if (err) {
		elog("the remote dlopen in PID %d failed: %s%s\n", in->pid, strerror(-err),
		     err == -ETIMEDOUT ? " (it did not return in 5 s: the target may now be "
					 "damaged; a lock it needs is held)" : "");
		return err;
	}
	if (!handle) {
		remote_dlerror(r, f, why, sizeof(why));
		elog("PID %d could not load the agent: %s\n", in->pid, why);
		return -ENOEXEC;
	}
	err = remote__write(r, s, sym, sizeof(sym));
	if (!err)
		err = remote__call(r, f->dlsym, handle, s, 0, 0, 2000, &start);
	if (!err && !start)
		err = -ENOENT;
	if (!err)
		err = remote__call(r, start, (uint64_t)fds->ring, (uint64_t)fds->pipe_r,
				   (uint64_t)fds->wake, (uint64_t)fds->uw, 5000, &ret);
	if (!err && (int)ret)
		err = (int)ret;
	if (err) {
		elog("the agent could not start in PID %d: %s\n", in->pid, strerror(-err));
		return err;
	}
	/* Its copies of the pipe, the ring and the eventfd are the agent's now. */
	fds->ring = fds->pipe_r = fds->wake = fds->uw = -1;
	in->started = true;
	return 0;
}

struct injection *inject__attach(pid_t pid, const struct tview *tv, const struct inject_opts *o)
{
	struct injection *in = calloc(1, sizeof(*in));
	struct fds fds = { .agent = -1, .ring = -1, .pipe_r = -1, .pipe_w = -1, .wake = -1,
			   .uw = -1 };
	int64_t *fd[] = { &fds.agent, &fds.ring, &fds.pipe_r, &fds.pipe_w, &fds.wake, &fds.uw };
	struct libc_fns f = { 0 };
	struct unsafe u = { .n = 0 };
	struct remote *r = NULL;
	uint64_t t0 = mono_ns();
	size_t i;
	int err;

	if (!in)
		return NULL;
	/* Our end of the agent's pipe when the target has closed its own (it
	 * exited): EPIPE, not a signal that ends us. */
	signal(SIGPIPE, SIG_IGN);
	in->pid = pid;
	in->pipe_w = in->wake_fd = -1;
	err = o->held ? 0 : injcheck__preflight(pid);
	if (!err)
		err = find_libc(pid, tv, &f, &u);
	in->beside_probes = o->beside_probes;
	/* Its first slope takes 2 ms: before the target's threads stop. */
	if (!err && !o->beside_probes)
		in->tsc = tscmap__new();
	if (err)
		goto cleanup;
	/* Held by us, it stopped where we chose (injlaunch.c): in ld.so, but
	 * where it holds no lock and libc is ready. */
	r = remote__attach(pid, o->held ? pid : 0, o->held ? NULL : in_unsafe, &u);
	if (!r) {
		err = -errno;
		goto cleanup;
	}
	err = make_fds(in, r, &fds, o);
	if (err) {
		elog("cannot set up the shared memory with PID %d: %s%s\n", pid, strerror(-err),
		     err == -EPERM || err == -ENOSYS ? " (a seccomp filter refusing memfd_create "
						       "or pipe2?)" : "");
		goto cleanup;
	}
	err = load_agent(in, r, &f, &fds);
	if (err && fds.staged_here[0])
		unlink(fds.staged_here);
cleanup:
	/* What the agent did not take (its file: dlopen mapped it). */
	for (i = 0; r && i < ARRAY_SIZE(fd); i++)
		if (*fd[i] >= 0)
			remote__syscall(r, SYS_close, (uint64_t)*fd[i], 0, 0, 0, 0, 0);
	remote__detach(r);
	if (err) {
		inject__free(in);
		errno = -err;
		return NULL;
	}
	if (in->tsc && in->ctrl->clock_used != DT_INJ_CLOCK_TSC) {
		vlog("PID %d may not read the TSC: the agent stamps with clock_gettime()\n", pid);
		tscmap__free(in->tsc);
		in->tsc = NULL;
	} else if (in->tsc) {
		vlog("the agent in PID %d stamps its records with the TSC\n", pid);
	}
	in->dl = dlinit__start(pid, tv, in->ctrl);
	snprintf(in->summary, sizeof(in->summary), "in-process agent, %u GOT slots in %llu objects",
		 in->ctrl->nslots, (unsigned long long)in->ctrl->objects);
	vlog("agent loaded into PID %d in %.1f ms: %u GOT slots patched in %llu objects\n", pid,
	     (double)(mono_ns() - t0) / 1e6, in->ctrl->nslots,
	     (unsigned long long)in->ctrl->objects);
	if (in->ctrl->slots_other)
		wlog("%llu GOT slots of the malloc family in PID %d are bound to another function "
		     "than the process's (a library's own allocator?): calls through them are not "
		     "recorded\n", (unsigned long long)in->ctrl->slots_other, pid);
	if (in->ctrl->slots_full)
		wlog("%llu GOT slots of the malloc family in PID %d were left alone (more than %d): "
		     "calls through them are not recorded\n",
		     (unsigned long long)in->ctrl->slots_full, pid, DT_INJ_MAX_SLOTS);
	return in;
}

/* EPIPE: the agent's end is closed, it is gone (the target exited). */
static void wake(struct injection *in)
{
	if (in->pipe_w >= 0 && write(in->pipe_w, "", 1) < 0 && errno != EAGAIN && errno != EPIPE)
		vlog("cannot wake the agent: %s\n", strerror(errno));
}

/*
 * The reader twenty nice levels up from where it was started (-20 from 0),
 * where it may (CAP_SYS_NICE).  The agent writes a record in ~60 ns of
 * the target's time and the reader accounts it in ~45: with as many
 * threads allocating flat out as there are CPUs, a reader that shares them
 * evenly falls behind and the ring drops records (20% of them with two
 * such threads on two CPUs here; at ten levels up, now and then a few
 * hundred thousand still).  Ahead of them it keeps up, taking the CPU time
 * its work needs (at most one CPU), as heaptrack's blocking pipe does; it
 * sleeps otherwise.
 */
static void reader_ahead(pid_t pid)
{
	int cur;

	errno = 0;
	cur = getpriority(PRIO_PROCESS, 0);
	if (cur == -1 && errno)
		return;
	if (setpriority(PRIO_PROCESS, 0, cur - 20 < -20 ? -20 : cur - 20))
		vlog("cannot raise the reader's priority (%s): records of PID %d may be dropped "
		     "when its threads keep every CPU busy\n", strerror(errno), pid);
}

/* Returns once the hooks record: the capture starts at one instant, as
 * the BPF side's tracing_on makes it.  The agent's thread answers at its
 * next wake-up, which a loaded machine may delay. */
void inject__start(struct injection *in)
{
	struct timespec nap = { 0, 100 * 1000 };
	uint64_t t0 = mono_ns();

	reader_ahead(in->pid);
	__atomic_store_n(&in->ctrl->tracing, 1, __ATOMIC_RELEASE);
	wake(in);
	while (!__atomic_load_n(&in->ctrl->recording, __ATOMIC_ACQUIRE) &&
	       in->ctrl->state == DT_INJ_ACTIVE && mono_ns() - t0 < 5 * NSEC_PER_SEC)
		nanosleep(&nap, NULL);
	if (!in->ctrl->recording)
		wlog("the agent in PID %d did not say it records within 5 s: the capture may miss "
		     "its first calls\n", in->pid);
	else
		dlog("the agent in PID %d records after %.1f ms\n", in->pid,
		     (double)(mono_ns() - t0) / 1e6);
}

/* Whether pid is still running (not exiting, a zombie, or gone). */
static bool running(pid_t pid)
{
	char v[64];

	injcheck__status(pid, "State", v, sizeof(v));
	return v[0] && v[0] != 'Z' && v[0] != 'X';
}

/*
 * The target dropped the agent's pipe without exiting.  An exec took the
 * agent with the old image: the intake is told as the BPF side tells it
 * (a dt_rec_exec), so the capture ends there as it would with the probes.
 * Otherwise the target closed the fd (a daemon closing every fd): the
 * agent, still mapped, has gone inert.
 */
static void check_agent(struct injection *in, int (*fn)(void *ctx, void *data, size_t size),
			void *ctx)
{
	struct pollfd p = { .fd = in->pipe_w, .events = 0 };
	struct dt_rec_exec ex = { .kind = DT_REC_EXEC };

	/* Beside the probes, the exec is theirs to record. */
	if (in->gone || in->beside_probes || in->pipe_w < 0 || poll(&p, 1, 0) != 1 ||
	    !(p.revents & POLLERR) || !running(in->pid))
		return;
	in->gone = true;
	if (earlier_agents(in->pid)) {
		wlog("PID %d closed the agent's pipe: the agent has gone inert, nothing more is "
		     "recorded\n", in->pid);
		return;
	}
	ex.ts = mono_ns();
	fn(ctx, &ex, sizeof(ex));
}

int inject__drain(struct injection *in, int (*fn)(void *ctx, void *data, size_t size), void *ctx,
		  uint64_t *horizon)
{
	struct tscline line;
	uint64_t v;
	int n;

	/* Cleared before the drain: a ring filling again meanwhile wakes us. */
	if (in->wake_fd >= 0 && read(in->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		vlog("cannot read the agent's eventfd: %s\n", strerror(errno));
	__atomic_store_n(&in->ctrl->wake_pending, 0, __ATOMIC_RELEASE);
	if (in->tsc)
		line = tscmap__update(in->tsc);
	/* TSC stamps are converted along a line that may be off by a little:
	 * no horizon from them. */
	n = injring__drain(in->ring, in->tsc ? &line : NULL, fn, ctx, in->tsc ? NULL : horizon);
	injring__counters(in->ring, in->counters);
	injuw__poll(in->uw, in->ctrl);

	if (!n)
		check_agent(in, fn, ctx);
	return n;
}

int inject__code_range(const struct injection *in, struct tview *tv, uint64_t *lo,
		       uint64_t *hi)
{
	/* A hook's address: the mapping holding it is the agent's code. */
	uint64_t hook = in->ctrl->nslots ? in->ctrl->slots[0].hook : 0;
	const struct tv_map *maps;
	size_t i, n;

	tview__sync(tv);
	n = tview__live(tv, &maps);
	for (i = 0; hook && i < n; i++) {
		if (hook >= maps[i].start && hook < maps[i].end) {
			*lo = maps[i].start;
			*hi = maps[i].end;
			return 0;
		}
	}
	return -ENOENT;
}

int inject__wake_fd(const struct injection *in)
{
	return in->wake_fd;
}

const volatile uint64_t *inject__counters(const struct injection *in)
{
	return in->counters;
}

const char *inject__summary(const struct injection *in)
{
	return in->summary;
}

/* The agent did not answer (the target is stopped): the slots go back
 * through /proc/PID/mem, which takes no lock in the target; the agent sees
 * cmd_detach once it runs again and goes inert. */
static void restore_from_here(struct injection *in)
{
	struct dt_inj_ctrl *c = in->ctrl;
	uint32_t i, n = __atomic_load_n(&c->nslots, __ATOMIC_ACQUIRE), done = 0;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", in->pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	for (i = 0; i < n && i < DT_INJ_MAX_SLOTS; i++) {
		struct dt_inj_slot s = c->slots[i];
		uint64_t v;

		if (!s.addr || pread(fd, &v, 8, (off_t)s.addr) != 8 || v != s.hook)
			continue;
		if (pwrite(fd, &s.orig, 8, (off_t)s.addr) == 8)
			done++;
	}
	close(fd);
	wlog("the agent in PID %d did not answer in %d ms (is it stopped?): %u GOT slots put "
	     "back through /proc/%d/mem\n", in->pid, DETACH_WAIT_MS, done, in->pid);
}

void inject__detach(struct injection *in)
{
	struct timespec nap = { 0, 2 * 1000 * 1000 };
	uint64_t t0 = mono_ns();

	if (!in || in->detached || !in->started)
		return;
	in->detached = true;
	/* No signal once the agent has put the program's action back. */
	dlinit__end(in->dl, in->pid, in->ctrl);
	in->dl = NULL;
	__atomic_store_n(&in->ctrl->cmd_detach, 1, __ATOMIC_RELEASE);
	wake(in);
	while (__atomic_load_n(&in->ctrl->state, __ATOMIC_ACQUIRE) != DT_INJ_INERT &&
	       mono_ns() - t0 < DETACH_WAIT_MS * NSEC_PER_MSEC && kill(in->pid, 0) == 0)
		nanosleep(&nap, NULL);
	if (in->ctrl->state == DT_INJ_INERT)
		vlog("agent inert in PID %d after %.1f ms: %llu GOT slots put back (%u patched, "
		     "%llu passes after a dlopen)\n", in->pid, (double)(mono_ns() - t0) / 1e6,
		     (unsigned long long)in->ctrl->restored, in->ctrl->nslots,
		     (unsigned long long)in->ctrl->rescans);
	else if (kill(in->pid, 0) == 0)
		restore_from_here(in);
	close(in->pipe_w);
	in->pipe_w = -1;
}

void inject__free(struct injection *in)
{
	if (!in)
		return;
	inject__detach(in);
	if (in->pipe_w >= 0)
		close(in->pipe_w);
	if (in->wake_fd >= 0)
		close(in->wake_fd);
	dlinit__free(in->dl);
	injring__free(in->ring);
	injuw__free(in->uw);
	tscmap__free(in->tsc);
	free(in);
}
