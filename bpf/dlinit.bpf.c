// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * --inject: the one probe of the in-process mode.  A dlopen runs the new
 * objects' constructors inside the loader, before it returns to the
 * agent's dlopen hook, so their allocations would go through GOT slots not
 * yet patched.  glibc's dl_open_worker calls _dl_catch_exception(NULL,
 * call_dl_init, args) once the new objects are relocated and just before
 * their constructors: the only call of that exported function with no
 * exception to fill (libc.so has one too, which the loader calls once libc
 * is up: both are probed, src/injdlinit.c).  This program, on its entry, sends the calling thread
 * the agent's signal; the kernel delivers it on the way back to user space,
 * before the function's first instruction runs, and the agent's handler
 * patches the new objects (src/agent/dlinit.c).
 *
 * The signal is one whose default action is to be ignored (the tracer picks
 * SIGURG or SIGWINCH, whichever the program neither catches nor ignores),
 * and it is sent only while the agent's handler is the one installed and the
 * thread does not block it: a program that took the signal over, or a
 * thread that blocks it, is never sent one (counted instead).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "dhat_abi.h"

const volatile __u32 target_tgid = 0;
const volatile __u32 sig = 0;
const volatile __u64 handler = 0;

/* Read by user space at the end. */
__u64 sent, blocked, not_ours, send_failed;

struct sigaction___dl {
	void *sa_handler;
} __attribute__((preserve_access_index));

struct k_sigaction___dl {
	struct sigaction___dl sa;
} __attribute__((preserve_access_index));

struct sighand_struct___dl {
	struct k_sigaction___dl action[64];
} __attribute__((preserve_access_index));

typedef struct {
	unsigned long sig[1];
} sigset___dl;

struct task_struct___dl {
	struct sighand_struct___dl *sighand;
	sigset___dl blocked;
} __attribute__((preserve_access_index));

SEC("uprobe")
int dl_init_entry(struct pt_regs *ctx)
{
	void *exception = (void *)PT_REGS_PARM1(ctx);
	struct task_struct___dl *t = (void *)bpf_get_current_task_btf();
	struct sighand_struct___dl *sh;
	unsigned long mask = 0;
	__u64 h = 0, off;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid || exception || sig < 1 || sig > 64)
		return 0;
	sh = BPF_CORE_READ(t, sighand);
	/* action[sig - 1], with the kernel's size of an element. */
	off = bpf_core_field_offset(struct sighand_struct___dl, action) +
	      (sig - 1) * bpf_core_type_size(struct k_sigaction___dl) +
	      bpf_core_field_offset(struct k_sigaction___dl, sa.sa_handler);
	if (!sh || bpf_probe_read_kernel(&h, sizeof(h), (char *)sh + off) || h != handler) {
		__sync_fetch_and_add(&not_ours, 1);
		return 0;
	}
	BPF_CORE_READ_INTO(&mask, t, blocked.sig[0]);
	if (mask & (1UL << (sig - 1))) {
		__sync_fetch_and_add(&blocked, 1);
		return 0;
	}
	if (bpf_send_signal_thread(sig))
		__sync_fetch_and_add(&send_failed, 1);
	else
		__sync_fetch_and_add(&sent, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
