// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/* Counts for test_umulti.c; no filtering here, so any hit from another
 * process would show: the link's PID must keep them out. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 enter_hits[4];	/* by attach cookie */
__u64 enter_arg_sum;
__u64 ret_hits, ret_sum;

SEC("uprobe")
int BPF_KPROBE(on_enter, __u64 arg)
{
	__u64 c = bpf_get_attach_cookie(ctx);

	__sync_fetch_and_add(&enter_hits[c < 4 ? c : 0], 1);
	__sync_fetch_and_add(&enter_arg_sum, arg);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(on_return, __u64 ret)
{
	__sync_fetch_and_add(&ret_hits, 1);
	__sync_fetch_and_add(&ret_sum, ret);
	return 0;
}

/* Left with the classic attach type: a multi link must refuse it. */
SEC("uprobe")
int BPF_KPROBE(classic)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
