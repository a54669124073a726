// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include "umulti.h"

/* BPF_F_UPROBE_MULTI_RETURN */
#define UMULTI_F_RETURN 1U

/*
 * union bpf_attr's link_create as Linux >= 6.9 lays it out for
 * uprobe_multi (include/uapi/linux/bpf.h); Debian 12's header stops before
 * these fields.  The kernel reads what it knows and demands zeroes beyond,
 * so an older kernel refuses this with EINVAL rather than misreading it.
 */
struct umulti_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 link_flags;
	__aligned_u64 path;
	__aligned_u64 offsets;
	__aligned_u64 ref_ctr_offsets;
	__aligned_u64 cookies;
	__u32 cnt;
	__u32 flags;
	__u32 pid;
	__u32 pad;
};

_Static_assert(offsetof(struct umulti_attr, path) == 16, "uprobe_multi.path");
_Static_assert(offsetof(struct umulti_attr, cookies) == 40, "uprobe_multi.cookies");
_Static_assert(offsetof(struct umulti_attr, cnt) == 48, "uprobe_multi.cnt");
_Static_assert(offsetof(struct umulti_attr, pid) == 56, "uprobe_multi.pid");
_Static_assert(sizeof(struct umulti_attr) == 64, "link_create is 64 bytes");

static int link_create(int prog_fd, int pid, const char *path, const unsigned long *offsets,
		       const __u64 *cookies, size_t n, __u32 flags)
{
	struct umulti_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = prog_fd;
	attr.attach_type = UMULTI_ATTACH_TYPE;
	attr.path = (uintptr_t)path;
	attr.offsets = (uintptr_t)offsets;
	attr.cookies = (uintptr_t)cookies;
	attr.cnt = (__u32)n;
	attr.flags = flags;
	attr.pid = (__u32)pid;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

int umulti__attach(int prog_fd, pid_t pid, const char *path, const unsigned long *offsets,
		   const __u64 *cookies, size_t n, bool retprobe)
{
	if (prog_fd < 0 || !path || !offsets || n == 0 || n > UINT32_MAX || pid < 0)
		return -EINVAL;
	return link_create(prog_fd, pid, path, offsets, cookies, n,
			   retprobe ? UMULTI_F_RETURN : 0);
}

/*
 * libbpf >= 1.3's probe_uprobe_multi_link, by errno: a kernel with the link
 * gets as far as resolving the path and says EBADF for "/" (not a regular
 * file); one without it refuses the unknown attach type, or the nonzero
 * fields it does not know, with EINVAL.  A kernel that fixed the
 * PID filter to mean the process rejects pid -1 with EINVAL before the path;
 * the first 6.6 code looked the pid up first (ESRCH), and filtered by
 * thread: it would miss every thread of the target but the main one.
 */
static bool probe(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = UMULTI_ATTACH_TYPE);
	unsigned long off = 0;
	int prog_fd, fd, err;
	bool ok = false;

	prog_fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "dt_umulti_probe", "GPL", insns,
				sizeof(insns) / sizeof(insns[0]), &opts);
	if (prog_fd < 0)
		return false;
	fd = link_create(prog_fd, 0, "/", &off, NULL, 1, 0);
	err = fd;
	if (fd >= 0)
		close(fd);
	if (err != -EBADF)
		goto cleanup;
	fd = link_create(prog_fd, -1, "/", &off, NULL, 1, 0);
	err = fd;
	if (fd >= 0)
		close(fd);
	ok = err == -EINVAL;
cleanup:
	close(prog_fd);
	return ok;
}

bool umulti__supported(void)
{
	static int cached = -1;

	if (cached < 0)
		cached = probe();
	return cached;
}
