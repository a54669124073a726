// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The agent's entry point, called once by the tracer (a remote call, after
 * its remote dlopen), and its one thread: it follows the tracer's commands
 * and notices the tracer's death.  That thread polls the read end of a pipe
 * whose only write end the tracer holds: when the tracer exits or is
 * killed, the kernel closes it and poll() says POLLHUP at once, whatever
 * namespace either lives in; the slots go back and the agent goes inert.
 *
 * The agent is never unloaded: a thread may be inside a hook, or hold a
 * hook's address read from a GLOB_DAT slot, long after the slots are back
 * (heaptrack and gotter keep theirs loaded for the same reason).  Inert,
 * each hook costs a load and a jump.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "agent.h"

static int pipe_fd = -1;

/* A forked child inherits the patched slots and the shared ring, but not
 * this thread: it must never write there. */
static void in_child(void)
{
	ag_on = 0;
	ag_inert = 1;
	ag_dlinit_restore();
}

/*
 * Give the shared memory back: the ring and the control area are replaced
 * by private zero pages at the same addresses, so the memfd is freed once
 * the tracer lets go of it, and a thread still inside a hook (preempted
 * between its check and its record) writes harmlessly into memory nobody
 * reads.  The table of stacks sent is emptied the same way.
 */
static void let_go_of_memory(void)
{
	int anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

	mmap(ag_ring, 2 * ag_ring_size, PROT_READ | PROT_WRITE, anon, -1, 0);
	mmap(ag_ctrl, DT_INJ_CTRL_SIZE, PROT_READ | PROT_WRITE, anon, -1, 0);
	madvise(ag_seen, (AG_SEEN_SLOTS + 8) * sizeof(uint64_t), MADV_DONTNEED);
	ag_uw_let_go();
}

static void go_inert(enum dt_inj_why why)
{
	ag_on = 0;
	__atomic_store_n(&ag_ctrl->recording, 0, __ATOMIC_RELEASE);
	ag_lock();
	ag_got_restore();
	ag_unlock();
	ag_dlinit_restore();
	ag_ctrl->why = why;
	__atomic_store_n(&ag_ctrl->state, DT_INJ_INERT, __ATOMIC_RELEASE);
	let_go_of_memory();
}

/* "dhat-agent" in ps and top, through /proc rather than prctl(), which a
 * seccomp filter is likelier to refuse (and may kill for). */
static void name_thread(void)
{
	int fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	n = write(fd, "dhat-agent", 10);	/* a name is a nicety: n unchecked */
	(void)n;
	close(fd);
}

/* Wakes every 50 ms at most, so a tracer's death is seen within that even
 * if the pipe said nothing (it always does: POLLHUP). */
static void *watch(void *arg)
{
	enum dt_inj_why why = DT_INJ_WHY_NONE;
	char buf[64];

	(void)arg;
	name_thread();
	while (why == DT_INJ_WHY_NONE) {
		struct pollfd p = { .fd = pipe_fd, .events = POLLIN };
		int n = poll(&p, 1, 50);
		ssize_t r;

		if (n < 0 && errno != EINTR) {
			why = DT_INJ_WHY_PIPE_LOST;
		} else if (n > 0 && (p.revents & POLLNVAL)) {
			why = DT_INJ_WHY_PIPE_LOST;
		} else if (n > 0) {
			do
				r = read(pipe_fd, buf, sizeof(buf));
			while (r > 0);
			if (r == 0 || (p.revents & (POLLHUP | POLLERR)))
				why = DT_INJ_WHY_TRACER_GONE;
		}
		if (__atomic_load_n(&ag_ctrl->cmd_detach, __ATOMIC_ACQUIRE))
			why = DT_INJ_WHY_DETACH;
		else if (why == DT_INJ_WHY_NONE && ag_on != (int)ag_ctrl->tracing) {
			ag_on = (int)__atomic_load_n(&ag_ctrl->tracing, __ATOMIC_ACQUIRE);
			/* No probe to send it (dlinit.c): the program's action back. */
			if (!__atomic_load_n(&ag_ctrl->dlinit_want, __ATOMIC_ACQUIRE))
				ag_dlinit_restore();
			__atomic_store_n(&ag_ctrl->recording, (uint32_t)ag_on, __ATOMIC_RELEASE);
		}
	}
	go_inert(why);
	close(pipe_fd);
	return NULL;
}

static int map_ring(int fd)
{
	struct dt_inj_ctrl *c;
	uint64_t size;
	char *area;

	c = mmap(NULL, DT_INJ_CTRL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED)
		return -errno;
	size = c->ring_size;
	if (c->magic != DT_INJ_MAGIC || c->version != DT_INJ_VERSION || !size ||
	    (size & (size - 1)) || size % 4096)
		return -EPROTO;
	/* Twice, back to back: a record that wraps is contiguous. */
	area = mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return -errno;
	if (mmap(area, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		 DT_INJ_CTRL_SIZE) == MAP_FAILED ||
	    mmap(area + size, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		 DT_INJ_CTRL_SIZE) == MAP_FAILED)
		return -errno;
	ag_ctrl = c;
	ag_ring = area;
	ag_ring_size = size;
	ag_max_frames = c->max_frames && c->max_frames <= DT_MAX_FRAMES ? c->max_frames :
									  DT_MAX_FRAMES;
	return 0;
}

/* RDTSC faults in a thread told PR_SET_TSC(PR_TSC_SIGSEGV) (a record and
 * replay tool's): asked in the borrowed thread, whose setting the
 * target's threads share as a rule. */
static bool tsc_readable(void)
{
#if defined(__x86_64__)
	int v = 0;

	return !prctl(PR_GET_TSC, &v, 0, 0, 0) && v == PR_TSC_ENABLE;
#else
	return false;
#endif
}

/*
 * ring_fd: the shared memfd (control area, then the ring); ctl_fd: the
 * read end of the tracer's pipe; wake_fd: an eventfd the tracer polls, or
 * -1; uw_fd: the unwind tables (struct dt_inj_uw), or -1 for frame-pointer
 * stacks.  All are the target's fds, closed or kept here.  0 or -errno; on
 * failure nothing is patched.
 */
__attribute__((visibility("default"))) int dt_agent_start(int ring_fd, int ctl_fd, int wake_fd,
							   int uw_fd)
{
	static bool started;
	sigset_t all, old;
	pthread_t th;
	int err;

	if (started)
		return -EALREADY;
	err = map_ring(ring_fd);
	close(ring_fd);
	if (!err && uw_fd >= 0) {
		err = ag_uw_map(uw_fd);
		close(uw_fd);
	}
	if (err)
		return err;
	ag_seen = mmap(NULL, (AG_SEEN_SLOTS + 8) * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ag_seen == MAP_FAILED)
		return -ENOMEM;
	/* Each thread's state (no TLS of our own): a key, a pool of slots. */
	if (ag_thread_init())
		return -EAGAIN;
	pipe_fd = ctl_fd;
	ag_wake_fd = wake_fd;
	ag_tsc = ag_ctrl->clock == DT_INJ_CLOCK_TSC && tsc_readable();
	ag_ctrl->clock_used = ag_tsc ? DT_INJ_CLOCK_TSC : DT_INJ_CLOCK_MONO;
	ag_ctrl->agent_pid = (uint32_t)getpid();
	err = pthread_atfork(NULL, NULL, in_child);
	if (err)
		return -err;
	ag_got_resolve();
	if (!ag_real[AF_free] || !ag_real[AF_malloc])
		return -ENOENT;
	/* The thread takes no signal of the target's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&th, NULL, watch, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	pthread_detach(th);
	started = true;
	ag_dlinit_install();
	ag_lock();
	ag_got_patch();
	ag_unlock();
	__atomic_store_n(&ag_ctrl->state, DT_INJ_ACTIVE, __ATOMIC_RELEASE);
	return 0;
}
