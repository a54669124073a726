/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Changes of the target's code: unmaps (its own munmap, mmap and mremap, or
 * every system call where those cannot be probed), the dynamic linker's
 * loads and unloads (_dl_debug_state), exec and fork.  Included once, by
 * dhat.bpf.c.
 */
#ifndef DT_MAPCHANGE_BPF_H
#define DT_MAPCHANGE_BPF_H

/*
 * The target's address space changes.  Only an unmap can give an address
 * another meaning (a new mapping lands where nothing was), so unmaps of
 * anything but one anonymous mapping (a large malloc block: by far the most
 * frequent) are logged; when the mapping cannot be looked up (the mmap lock
 * is busy) the unmap is logged all the same.  These run at the syscall's
 * entry, before the unmap: a stack taken after it is in the new epoch.
 */
struct unmap_probe {
	__u64 end;
	__u32 logged;
};

static long unmap_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct unmap_probe *u = data;

	if (vma->vm_file || vma->vm_end < u->end)
		u->logged = 1;
	return 0;
}

/* struct r_debug of <link.h>, as far as r_state. */
struct dt_r_debug {
	__s32 r_version;
	__u64 r_map, r_brk;
	__s32 r_state;
};

enum { DT_RT_CONSISTENT, DT_RT_ADD, DT_RT_DELETE };

/*
 * What this call of _dl_debug_state says: LOADER_MAPPED when it ends the
 * mapping of new objects, LOADER_UNMAP when it may follow an unmap of code
 * not yet logged.  dlclose calls it with RT_DELETE before its unmaps and with
 * RT_CONSISTENT after them; dlopen with RT_ADD before mapping and with
 * RT_CONSISTENT after (a dlopen that fails unloads through dlclose's path,
 * RT_DELETE).  A stack taken before the unmaps ends has an epoch before
 * the RT_CONSISTENT call's, and code mapped where the closed library was
 * (by a later dlopen) comes after it: so that call is the one to log.  A
 * read of the mappings between RT_DELETE and the unmaps sees the library
 * still there, so the RT_DELETE call must not be the only one logged.
 * Anything unreadable counts, and so does RT_CONSISTENT that does not end
 * an RT_ADD seen (a namespace other than the first has its own r_debug).
 */
enum { LOADER_NOTHING, LOADER_UNMAP, LOADER_MAPPED };

static __always_inline int loader_change(struct pt_regs *ctx)
{
	__u32 prev = r_state_prev;
	struct dt_r_debug r;

	r_state_prev = ~0U;
	if (!r_debug_delta ||
	    bpf_probe_read_user(&r, sizeof(r), (void *)(PT_REGS_IP(ctx) + r_debug_delta)) ||
	    (r.r_version != 1 && r.r_version != 2) || (__u32)r.r_state > DT_RT_DELETE)
		return LOADER_UNMAP;
	r_state_prev = r.r_state;
	if (r.r_state != DT_RT_CONSISTENT)
		return LOADER_NOTHING;
	return prev == DT_RT_ADD ? LOADER_MAPPED : LOADER_UNMAP;
}

/* Set by user space while it holds launched threads at each load: its tgid. */
volatile __u32 hold_tracer;

struct task_struct___t {
	unsigned int ptrace;
	struct task_struct___t *parent;
	int tgid;
} __attribute__((preserve_access_index));

/*
 * The loader has mapped new objects and none of their code has run yet
 * (relocation, IFUNC resolvers and constructors come after this call).
 * Their unwind rows exist only once user space has built them: if user
 * space traces this thread (a launched command's), stop it here until it
 * has; the signal never reaches the program (the tracer drops it, and its
 * default action is to be ignored should the tracer be gone).  Otherwise
 * user space is only told to look at once: stacks through the new code end
 * in the meantime, counted as the mapping window's.
 */
static __always_inline void loader_mapped(void)
{
	struct task_struct___t *t = (void *)bpf_get_current_task_btf();
	__u32 tracer = hold_tracer;
	int tgid = 0;

	count(DT_CNT_LOADS);
	uw_refresh = DT_UW_REFRESH_NOW;
	if (tracer && BPF_CORE_READ(t, ptrace))
		BPF_CORE_READ_INTO(&tgid, t, parent, tgid);
	if (!tracer || (__u32)tgid != tracer) {
		struct dt_rec_load l = { .kind = DT_REC_LOAD, .ts = bpf_ktime_get_ns() };
		void *rb = cpu_ring();

		/* Lost or not, the tables come at the next tick: not counted.
		 * Its time orders nothing (user space only wakes up). */
		if (rb)
			bpf_ringbuf_output(rb, &l, sizeof(l), BPF_RB_FORCE_WAKEUP);
		return;
	}
	/* Counted first: user space tells ours from a SIGURG of the kernel's
	 * (out-of-band data) by the count of holds asked for. */
	count(DT_CNT_LOADS_HELD);
	if (bpf_send_signal_thread(DT_HOLD_SIGNAL))
		__sync_fetch_and_add(&counters[DT_CNT_LOADS_HELD], -1);
}

static __always_inline void log_unmap(__u64 start, __u64 end, __u32 flags)
{
	__u32 e = __sync_fetch_and_add(&map_epoch, 1) + 1;
	struct dt_unmap *l = &unmap_log[e & (DT_UNMAP_LOG - 1)];

	l->start = start;
	l->end = end;
	l->flags = flags;
	/* The range before its epoch: user space reads epoch first. */
	asm volatile("" ::: "memory");
	l->epoch = e;
}

static __always_inline int note_unmap(__u64 start, __u64 len)
{
	struct unmap_probe u = { .end = start + len };

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid || !len)
		return 0;
	if (bpf_find_vma(bpf_get_current_task_btf(), start, unmap_vma_cb, &u, 0))
		u.logged = 1;
	if (u.logged)
		log_unmap(start, start + len, 0);
	return 0;
}

#define DT_MAP_FIXED 0x10
#define DT_MREMAP_FIXED 2

/*
 * The same, seen by uprobes on the target's own libc wrappers and on ld.so's
 * _dl_debug_state (which dlopen and dlclose call around their own mmap and
 * munmap, made without libc): only the target pays, and only for these calls.
 * _dl_debug_state says nothing of the range, so all code the loader may
 * unload counts as changed.
 */
static __always_inline int map_change(struct pt_regs *ctx, __u32 fn)
{
	__u64 a0 = PT_REGS_PARM1(ctx), a1 = PT_REGS_PARM2(ctx), a2 = PT_REGS_PARM3(ctx);
	__u64 a3 = PT_REGS_PARM4(ctx), a4 = PT_REGS_PARM5(ctx);

	switch (fn) {
	case DT_FN_MUNMAP:
		return note_unmap(a0, a1);
	case DT_FN_MMAP:
		return a3 & DT_MAP_FIXED ? note_unmap(a0, a1) : 0;
	case DT_FN_MREMAP:
		note_unmap(a0, a1);
		return a3 & DT_MREMAP_FIXED ? note_unmap(a4, a2) : 0;
	default:
		if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
			return 0;
		switch (loader_change(ctx)) {
		case LOADER_UNMAP:
			log_unmap(0, ~0ULL, DT_UNMAP_LOADER);
			break;
		case LOADER_MAPPED:
			loader_mapped();
			break;
		}
		return 0;
	}
}

SEC("uprobe")
int munmap_enter(struct pt_regs *ctx)
{
	return map_change(ctx, DT_FN_MUNMAP);
}

SEC("uprobe")
int mmap_enter(struct pt_regs *ctx)
{
	return map_change(ctx, DT_FN_MMAP);
}

SEC("uprobe")
int mremap_enter(struct pt_regs *ctx)
{
	return map_change(ctx, DT_FN_MREMAP);
}

SEC("uprobe")
int dl_debug_state_enter(struct pt_regs *ctx)
{
	return map_change(ctx, DT_FN_DL_DEBUG_STATE);
}

/*
 * The raw sys_enter tracepoint: it needs neither tracefs nor kprobes (which
 * some kernels are built without; fentry on syscalls was refused on 6.18
 * here), at the price of a PID check on every system call of the machine
 * (~85 ns each on this VM: docs/performance.md).  Used only where the
 * uprobes above cannot be placed (no libc munmap or no _dl_debug_state).
 */
struct pt_regs___sys {
	unsigned long di, si, dx, r10, r8;
} __attribute__((preserve_access_index));

#define DT_NR_MMAP 9
#define DT_NR_MUNMAP 11
#define DT_NR_MREMAP 25

SEC("raw_tp/sys_enter")
int sys_enter_seen(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs___sys *regs = (void *)ctx->args[0];
	unsigned long a[5];
	long id = (long)ctx->args[1];

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid ||
	    (id != DT_NR_MUNMAP && id != DT_NR_MMAP && id != DT_NR_MREMAP))
		return 0;
	if (BPF_CORE_READ_INTO(&a[0], regs, di) || BPF_CORE_READ_INTO(&a[1], regs, si) ||
	    BPF_CORE_READ_INTO(&a[2], regs, dx) || BPF_CORE_READ_INTO(&a[3], regs, r10) ||
	    BPF_CORE_READ_INTO(&a[4], regs, r8))
		return 0;
	if (id == DT_NR_MUNMAP)
		return note_unmap(a[0], a[1]);
	if (id == DT_NR_MMAP)
		return a[3] & DT_MAP_FIXED ? note_unmap(a[0], a[1]) : 0;
	note_unmap(a[0], a[1]);
	return a[3] & DT_MREMAP_FIXED ? note_unmap(a[4], a[2]) : 0;
}

/* exec replaces every mapping without an unmap call, and the program: user
 * space ends the capture of the old one there. */
SEC("raw_tp/sched_process_exec")
int exec_seen(void *ctx)
{
	struct dt_rec_exec *e;
	void *rb;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	log_unmap(0, ~0ULL, 0);
	r_state_prev = ~0U;
	if (!tracing_on)
		return 0;
	rb = cpu_ring();
	e = rb ? bpf_ringbuf_reserve(rb, sizeof(*e), 0) : NULL;
	if (!e) {
		count(DT_CNT_RB_DROP_ALLOC);
		return 0;
	}
	e->kind = DT_REC_EXEC;
	e->pad = 0;
	e->ts = bpf_ktime_get_ns();	/* once reserved: see record_free() */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

struct task_struct___f {
	int pid, tgid;
} __attribute__((preserve_access_index));

/* Say how many children there were; with emit_forks, name each, for user
 * space to start a capture of it. */
SEC("raw_tp/sched_process_fork")
int fork_seen(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct___f *child = (void *)ctx->args[1];
	struct dt_rec_fork *f;
	int pid = 0, tgid = 1;
	void *rb;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid || !tracing_on)
		return 0;
	BPF_CORE_READ_INTO(&pid, child, pid);
	BPF_CORE_READ_INTO(&tgid, child, tgid);
	if (pid != tgid)
		return 0;
	count(DT_CNT_FORKS);
	if (!emit_forks)
		return 0;
	rb = cpu_ring();
	f = rb ? bpf_ringbuf_reserve(rb, sizeof(*f), 0) : NULL;
	if (!f) {
		count(DT_CNT_RB_DROP_ALLOC);
		return 0;
	}
	f->kind = DT_REC_FORK;
	f->pid = (__u32)pid;
	f->ts = bpf_ktime_get_ns();	/* once reserved: see record_free() */
	bpf_ringbuf_submit(f, BPF_RB_FORCE_WAKEUP);
	return 0;
}

#endif
