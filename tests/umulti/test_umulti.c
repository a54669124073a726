// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * umulti against the running kernel: hits counted exactly with the right
 * cookie and return value, every thread of the process seen, other
 * processes not, nothing after the link is closed, and bad requests
 * refused.  Needs root; skips (77) only on a kernel without the links.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include "elfsym.h"
#include "tap.h"
#include "umulti.h"
#include "umulti_test.skel.h"

__attribute__((noipa, used)) long umt_first(long x)
{
	return x + 1;
}

__attribute__((noipa, used)) long umt_second(long x)
{
	return x * 2;
}

static long (*volatile first)(long) = umt_first;
static long (*volatile second)(long) = umt_second;

static void *thread_main(void *arg)
{
	(void)arg;
	first(100);
	first(200);
	return NULL;
}

/* Kernel release as major * 100 + minor. */
static int kernel_version(char *buf, size_t len)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u))
		return 0;
	snprintf(buf, len, "%s", u.release);
	sscanf(u.release, "%d.%d", &major, &minor);
	return major * 100 + minor;
}

int main(void)
{
	struct umulti_test_bpf *skel = NULL;
	struct elfsym *self = NULL;
	unsigned long offs[2];
	__u64 cookies[2] = { 1, 2 }, hits1, hits2;
	uint64_t off;
	int enter_fd = -1, ret_fd = -1, fd, status, i, ver;
	char release[128];
	pthread_t th;
	pid_t child;

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (it loads BPF programs and places uprobes)\n");
		return 77;
	}
	ver = kernel_version(release, sizeof(release));
	if (!umulti__supported()) {
		/* 6.6-6.8 may lack the PID-filter fix, which supported() demands. */
		if (ver < 609) {
			printf("1..0 # SKIP Linux %s: no uprobe-multi links with process "
			       "filtering (6.6+, fixed in 6.9)\n", release);
			return 77;
		}
		ok(0, "uprobe-multi links supported on Linux %s", release);
		return tap_done();
	}
	ok(1, "uprobe-multi links supported on Linux %s", release);
	ok(umulti__supported(), "second call answers the same");

	self = elfsym__open("/proc/self/exe");
	ok(self && elfsym__lookup(self, "umt_first", &off) == 0, "umt_first found");
	offs[0] = off;
	ok(self && elfsym__lookup(self, "umt_second", &off) == 0, "umt_second found");
	offs[1] = off;

	skel = umulti_test_bpf__open();
	ok(skel, "open the test BPF object");
	if (!skel)
		goto cleanup;
	bpf_program__set_expected_attach_type(skel->progs.on_enter, UMULTI_ATTACH_TYPE);
	bpf_program__set_expected_attach_type(skel->progs.on_return, UMULTI_ATTACH_TYPE);
	ok(umulti_test_bpf__load(skel) == 0, "load with the multi attach type");

	enter_fd = umulti__attach(bpf_program__fd(skel->progs.on_enter), getpid(),
				  "/proc/self/exe", offs, cookies, 2, false);
	ok(enter_fd >= 0, "entry link on two functions (%s)",
	   enter_fd < 0 ? strerror(-enter_fd) : "ok");
	ret_fd = umulti__attach(bpf_program__fd(skel->progs.on_return), getpid(),
				"/proc/self/exe", offs, NULL, 2, true);
	ok(ret_fd >= 0, "return link on two functions (%s)",
	   ret_fd < 0 ? strerror(-ret_fd) : "ok");
	if (enter_fd < 0 || ret_fd < 0)
		goto cleanup;

	for (i = 0; i < 3; i++)
		first(i);		/* args 0+1+2, returns 1+2+3 */
	for (i = 0; i < 5; i++)
		second(10);		/* args 50, returns 100 */
	ok(pthread_create(&th, NULL, thread_main, NULL) == 0 && pthread_join(th, NULL) == 0,
	   "a second thread calls umt_first twice");
	is_u64(skel->bss->enter_hits[1], 5, "umt_first entries, cookie 1, both threads");
	is_u64(skel->bss->enter_hits[2], 5, "umt_second entries, cookie 2");
	is_u64(skel->bss->enter_hits[0] + skel->bss->enter_hits[3], 0, "no other cookie");
	is_u64(skel->bss->enter_arg_sum, 0 + 1 + 2 + 50 + 300, "first argument at entry");
	is_u64(skel->bss->ret_hits, 10, "returns");
	is_u64(skel->bss->ret_sum, 1 + 2 + 3 + 100 + 101 + 201, "return values");

	hits1 = skel->bss->enter_hits[1];
	hits2 = skel->bss->ret_hits;
	child = fork();
	if (child == 0) {
		for (i = 0; i < 100; i++)
			first(i);
		_exit(0);
	}
	ok(child > 0 && waitpid(child, &status, 0) == child, "a child process calls 100 times");
	is_u64(skel->bss->enter_hits[1] - hits1, 0, "no entry seen in another process");
	is_u64(skel->bss->ret_hits - hits2, 0, "no return seen in another process");

	is_u64(umulti__attach(bpf_program__fd(skel->progs.on_enter), 0, "/proc/self/exe", offs,
			      NULL, 0, false), -EINVAL, "no offsets: EINVAL");
	is_u64(umulti__attach(bpf_program__fd(skel->progs.on_enter), 0, "/nonexistent/lib.so",
			      offs, NULL, 1, false), -ENOENT, "missing file: ENOENT");
	fd = umulti__attach(bpf_program__fd(skel->progs.classic), 0, "/proc/self/exe", offs,
			    NULL, 1, false);
	is_u64(fd, -EINVAL, "program loaded for classic uprobes: EINVAL");
	if (fd >= 0)
		close(fd);

	close(enter_fd);
	close(ret_fd);
	enter_fd = ret_fd = -1;
	hits1 = skel->bss->enter_hits[1];
	hits2 = skel->bss->ret_hits;
	first(1);
	is_u64(skel->bss->enter_hits[1] - hits1, 0, "closed entry link: no more hits");
	is_u64(skel->bss->ret_hits - hits2, 0, "closed return link: no more hits");
cleanup:
	if (enter_fd >= 0)
		close(enter_fd);
	if (ret_fd >= 0)
		close(ret_fd);
	umulti_test_bpf__destroy(skel);
	elfsym__close(self);
	return tap_done();
}
