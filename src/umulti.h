/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_UMULTI_H
#define DT_UMULTI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/*
 * Uprobe-multi links (Linux 6.6): one BPF link puts one program on many
 * offsets of one file.  Detaching waits for the kernel's uprobe grace
 * period once per link instead of once per probe, which is what makes an
 * exit with per-function links slow.  libbpf 1.1 has no API for them and
 * Debian 12's uapi headers lack the attr fields, hence this file.
 */

/* enum bpf_attach_type BPF_TRACE_UPROBE_MULTI; the program must be loaded
 * with it as its expected attach type, and can then no longer be attached
 * as a classic (perf event) uprobe. */
#define UMULTI_ATTACH_TYPE 48

/*
 * Whether this kernel has uprobe-multi links with per-process PID filtering
 * (the first releases filtered one thread only).  Probed once, then cached.
 */
bool umulti__supported(void);

/*
 * Attach prog_fd (loaded with UMULTI_ATTACH_TYPE) at n file offsets of path,
 * as return probes if retprobe.  cookies (may be NULL) gives each probe's
 * bpf_get_attach_cookie() value; pid > 0 limits the probes to that process.
 * Returns the link fd (close it to detach) or -errno.
 */
int umulti__attach(int prog_fd, pid_t pid, const char *path, const unsigned long *offsets,
		   const __u64 *cookies, size_t n, bool retprobe);

#endif
