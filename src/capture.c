// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
/* The skeleton names the ABI's types. */
#include "dhat_abi.h"
#include "dhat.skel.h"
#include "accounting.h"
#include "bpfrings.h"
#include "capout.h"
#include "capture.h"
#include "child.h"
#include "elfsym.h"
#include "forks.h"
#include "inject.h"
#include "intake.h"
#include "interrupt.h"
#include "log.h"
#include "mapwatch.h"
#include "probes.h"
#include "report.h"
#include "status.h"
#include "symbolizer.h"
#include "targetview.h"
#include "umulti.h"
#include "unwind.h"
#include "util.h"

/* How long a launched command may take to end after the signal that ended
 * the capture (its own clean-up included); see signalled_command(). */
#define SIGNAL_WAIT_MS 2000

static int on_record(void *ctx, void *data, size_t size)
{
	acct__handle(ctx, data, size);
	return 0;
}

static int complete_stack(void *ctx, const struct dt_rec_stack *r, size_t size, uint64_t *ips,
			  uint32_t *nr)
{
	return unwinder__complete(ctx, r, size, ips, nr);
}

struct fork_seen {
	struct forks *forks;
	pid_t parent;
	uint64_t t0;
};

static uint64_t children_traced(void *ctx)
{
	struct fork_seen *fs = ctx;

	return forks__traced(fs->forks, fs->parent, fs->t0);
}

/* --follow-forks, attached: the BPF side saw the target fork. */
static void on_fork(void *ctx, pid_t child)
{
	struct fork_seen *fs = ctx;

	forks__on_fork(fs->forks, fs->parent, child, false);
}

/*
 * Unwind tables for what the target runs, built before the BPF object is
 * loaded because their size decides the row array's.  NULL with errno 0:
 * frame pointers only.
 */
/* The tables for BPF's walker (in_bpf) or for the agent's. */
static struct unwinder *unwind_setup(struct dt_config *cfg, const struct capture_opts *o,
				     struct tview *tv, bool in_bpf)
{
	struct unwinder *uw;

	errno = 0;
	if (cfg->unwind == DT_UNWIND_FP)
		return NULL;
	/* --inject: the agent walks the tables, not BPF. */
	if (in_bpf && !unwinder__kernel_ok()) {
		if (cfg->unwind == DT_UNWIND_DWARF) {
			elog("--unwind=dwarf needs bpf_loop() and bpf_find_vma() (Linux 5.17 or "
			     "later)\n");
			errno = ENOTSUP;
			return NULL;
		}
		wlog("this kernel cannot unwind with DWARF (Linux 5.17 or later needed): "
		     "frame-pointer stacks only\n");
		cfg->unwind = DT_UNWIND_FP;
		return NULL;
	}
	uw = unwinder__new(tv);
	if (!uw) {
		elog("out of memory\n");
		return NULL;
	}
	if (o->from_maps)
		unwinder__add_mapped(uw);
	else
		unwinder__add_program(uw, o->t->exe);
	vlog("unwind tables built in %.1f ms\n", (double)unwinder__stats(uw)->build_ns / 1e6);
	return uw;
}

/*
 * Uprobe-multi links where the kernel has them (6.6+, with the PID filter
 * fixed): the exit then detaches a few links rather than one per probe.
 * Decided before load (the programs are loaded for one method or the
 * other).  DHAT_TRACE_UPROBE_MULTI=0 keeps the classic links (and tests them).
 */
static bool use_multi_links(void)
{
	const char *env = getenv("DHAT_TRACE_UPROBE_MULTI");

	if (env && strcmp(env, "0") == 0) {
		vlog("classic uprobe links, one per probe (DHAT_TRACE_UPROBE_MULTI=0)\n");
		return false;
	}
	if (!umulti__supported()) {
		vlog("classic uprobe links, one per probe (this kernel has no uprobe-multi links "
		     "with process filtering: Linux 6.9, or 6.6 with the fix)\n");
		return false;
	}
	return true;
}

static struct dhat_bpf *load_bpf(const struct dt_config *cfg, const struct target *t,
				 struct unwinder *uw, const struct probe_opts *popts,
				 struct bpfrings **rings)
{
	uint32_t rows = uw ? unwinder__capacity(uw) : 1;
	struct dhat_bpf *skel = dhat_bpf__open();
	int err, ncpu = libbpf_num_possible_cpus();
	uint64_t ring = bpfrings__size(cfg->ring_size, ncpu);

	if (!skel) {
		elog("cannot open the BPF object: %s\n", strerror(errno));
		return NULL;
	}
	skel->rodata->target_tgid = (__u32)t->pid;
	/* Launched, its forks are ptrace stops (forks.c). */
	skel->rodata->emit_forks = cfg->follow_forks && !t->launched;
	skel->rodata->max_frames = cfg->max_frames;
	skel->rodata->wake_bytes = ring / 4;
	/* Half the ring stays for the records that must not be lost. */
	skel->rodata->tail_room = ring / 2;
	skel->rodata->unwind_mode = (__u32)cfg->unwind;
	if (ncpu <= 0) {
		elog("cannot count the CPUs: %s\n", strerror(-ncpu));
		dhat_bpf__destroy(skel);
		return NULL;
	}
	bpf_map__set_max_entries(skel->maps.rings, (__u32)ncpu);
	bpf_map__set_max_entries(skel->maps.uw_rows, rows);
	probes__prepare(skel, popts);
	err = dhat_bpf__load(skel);
	if (err) {
		elog("cannot load the BPF programs: %s (the kernel needs BPF ring buffers and "
		     "uprobes, task-local storage: Linux 5.13 or later)\n", strerror(-err));
		dhat_bpf__destroy(skel);
		return NULL;
	}
	if (uw) {
		err = unwinder__install(uw, &(struct unwinder_maps){
			.rows_fd = bpf_map__fd(skel->maps.uw_rows),
			.objs_fd = bpf_map__fd(skel->maps.uw_objs),
			.maps_fd = bpf_map__fd(skel->maps.uw_maps),
			.maps_cur = &skel->bss->uw_maps_cur }, rows);
		if (err) {
			elog("cannot load the unwind tables: %s\n", strerror(-err));
			dhat_bpf__destroy(skel);
			return NULL;
		}
	}
	*rings = bpfrings__new(bpf_map__fd(skel->maps.rings), ncpu, ring);
	if (!*rings) {
		elog("cannot create the ring buffers (%d of %llu bytes): %s\n", ncpu,
		     (unsigned long long)ring, strerror(errno));
		dhat_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return DT_EXIT_OK;
}

/*
 * A signal ended the capture of a launched command.  Ctrl-C (the
 * terminal's SIGINT, SIGTERM from systemd or kill -- -PGID) reaches the
 * whole process group, the command too: give it a bounded while to end,
 * now that the file is written, and exit as it did (130), as valgrind and
 * heaptrack do and a shell script expects.  A command that runs on (the
 * signal was dhat-trace's alone, or it ignores it) is left running: 0.
 */
static int signalled_command(struct target *t, struct capture_end *e)
{
	if (target__wait_exit(t, SIGNAL_WAIT_MS, &e->status))
		return DT_EXIT_OK;
	vlog("PID %d ended too: %s %d\n", t->pid, WIFSIGNALED(e->status) ? "signal" : "status",
	     WIFSIGNALED(e->status) ? WTERMSIG(e->status) : WEXITSTATUS(e->status));
	return exit_code_of(e->status);
}

/* The child that execs is kept, held at its exec stop, for the next capture. */
static void hold_for_next(const struct capture_opts *o, struct capture_end *e)
{
	if (e->end == LOOP_TARGET_EXEC_STOP) {
		e->held = true;
		e->end = LOOP_TARGET_EXEC;
		return;
	}
	if (e->end != LOOP_TARGET_EXEC || !o->cfg->follow_exec || !o->t->launched ||
	    !*o->watching)
		return;
	switch (child__wait_exec(o->t->pid, &e->status)) {
	case 0:
		e->held = true;
		break;
	case -ESRCH:
		e->end = LOOP_TARGET_EXIT;
		break;
	default:
		vlog("PID %d execed without an exec stop (from a thread not traced): the next "
		     "program is traced from when its probes are placed\n", o->t->pid);
	}
}

/*
 * The uprobe way: unwind tables, the BPF object, the watch of code unmaps
 * and the probes.  0, or -1 with the reason said.
 */
struct bpf_side {
	struct dhat_bpf *skel;
	struct probes *probes;
	struct mapwatch *watch;
	struct unwinder *uw;
	struct bpfrings *rings;
};

static int place_probes(struct dt_config *cfg, const struct capture_opts *o, struct tview *tv,
			struct bpf_side *b)
{
	struct target *t = o->t;
	struct probe_opts popts;

	if (cfg->unwind != DT_UNWIND_FP)
		status__phase("building unwind tables");
	b->uw = unwind_setup(cfg, o, tv, true);
	if (!b->uw && errno)
		return -1;
	popts = (struct probe_opts){ .at_entry = cfg->probe_at_entry,
		.probe_only = cfg->probe_only, .multi = use_multi_links(),
		.from_maps = o->from_maps };
	status__phase("loading the BPF programs");
	b->skel = load_bpf(cfg, t, b->uw, &popts, &b->rings);
	if (!b->skel)
		return -1;
	b->watch = mapwatch__attach(b->skel);
	if (!b->watch)
		return -1;
	/* The objects read before are kept: the probes are placed in them. */
	tview__bind(tv, &b->skel->bss->map_epoch, b->skel->bss->unmap_log);
	status__phase("placing the probes");
	b->probes = probes__attach(b->skel, t, tv, &popts);
	if (!b->probes)
		return -1;
	if (!probes__watch_maps(b->probes) && !popts.probe_only) {
		vlog("no munmap or _dl_debug_state to probe: code unmaps watched on every system "
		     "call\n");
		if (mapwatch__watch_syscalls(b->watch))
			return -1;
	}
	/* Unmaps are seen from here on: whatever happened before, while the
	 * watch was being placed, is treated as a change of all code, and the
	 * mappings read now hold until the log says otherwise. */
	mapwatch__all_changed(b->watch);
	if (o->from_maps) {
		tview__sync(tv);
		if (b->uw)
			unwinder__refresh(b->uw);
	}
	return 0;
}

/*
 * --inject: the agent in the target records instead of the probes.  No BPF
 * at all: the view follows the target's mappings by reading them again when
 * a stack meets code it does not know (no map epochs: a library unloaded
 * and another loaded at its address meanwhile could be misnamed).  DWARF
 * stacks: the tables BPF would get, in memory shared with the agent.
 */
static struct injection *inject(struct dt_config *cfg, const struct capture_opts *o,
				struct tview *tv, bool held, bool beside, struct unwinder **uw)
{
	const struct target *t = o->t;

	if (cfg->unwind != DT_UNWIND_FP)
		status__phase("building unwind tables");
	*uw = unwind_setup(cfg, o, tv, false);
	if (!*uw && errno)
		return NULL;
	vlog("--inject: %s stacks walked in the agent\n", *uw ? "DWARF" : "frame-pointer");
	status__phase("loading the agent into PID %d", t->pid);
	return inject__attach(t->pid, tv, &(struct inject_opts){
		.ring_size = cfg->ring_size_given ? cfg->ring_size : DT_AGENT_RING_SIZE,
		.max_frames = cfg->max_frames, .held = held && t->launched, .uw = *uw,
		.unwind = (unsigned int)cfg->unwind, .beside_probes = beside });
}

struct agent_source {
	struct injection *inj;
	struct acct *a;
	/* Beside the probes: the agent is one more source of the intake. */
	struct intake *in;
	unsigned int lane;
	const volatile uint32_t *map_epoch;
	uint64_t calls;		/* allocations, reallocations and frees it recorded */
};

static int drain_agent(void *ctx)
{
	struct agent_source *src = ctx;

	return inject__drain(src->inj, on_record, src->a, NULL);
}

/* The agent's stacks carry no map epoch (it sees no unmap): they are placed
 * in the mappings as the probes last told them, as --inject alone places
 * them in the latest read (a library unloaded between the stack and its
 * drain could be misnamed the same way). */
static int push_agent(void *ctx, void *data, size_t size)
{
	struct agent_source *src = ctx;
	struct dt_rec_stack *s = data;

	if (size >= DT_REC_STACK_HDR && s->kind == DT_REC_STACK)
		s->epoch = *src->map_epoch;
	else if (size >= sizeof(uint32_t) && (s->kind == DT_REC_ALLOC || s->kind == DT_REC_FREE ||
					       s->kind == DT_REC_REALLOC))
		src->calls++;
	return intake__push(src->in, src->lane, data, size);
}

static int drain_agent_into(void *ctx, struct intake *in, unsigned int lane0, uint64_t *horizon)
{
	struct agent_source *src = ctx;

	src->in = in;
	src->lane = lane0;
	return inject__drain(src->inj, push_agent, src, horizon);
}

/*
 * An executable with its own allocator calls it through no GOT slot: the
 * probes on it record those calls, the agent the calls through its hooks,
 * which the probes skip by their return address (bpf/dhat.bpf.c: agent_lo).
 */
static int beside_probes(struct dt_config *cfg, const struct capture_opts *o, struct tview *tv,
			 bool held, struct bpf_side *b, struct injection **inj,
			 struct unwinder **auw)
{
	uint64_t lo, hi;

	if (place_probes(cfg, o, tv, b))
		return -1;
	*inj = inject(cfg, o, tv, held, true, auw);
	if (!*inj)
		return -1;
	if (inject__code_range(*inj, tv, &lo, &hi)) {
		/* No slot patched: every call is the probes'. */
		vlog("--inject: the agent patched no GOT slot; the probes record every call\n");
		return 0;
	}
	b->skel->bss->agent_lo = lo;
	b->skel->bss->agent_hi = hi;
	vlog("--inject: the probes skip calls from the agent's code at %#llx-%#llx\n",
	     (unsigned long long)lo, (unsigned long long)hi);
	return 0;
}

/* The loop's tick: the per-CPU counters summed into counters[] (see
 * dhat.bpf.c: cpu_counters), then the forks' own tick. */
struct ticker {
	struct dhat_bpf *skel;
	struct forks *forks;
	uint64_t *vals;		/* one per possible CPU */
	int ncpu;
	/* Beside the probes: both sides' counters, summed here. */
	struct injection *inj;
	uint64_t *both;
};

static void sum_cpu_counters(struct ticker *k)
{
	/* --inject: no BPF, the agent counts in the shared area itself. */
	static const __u32 per_cpu[] = { DT_CNT_UW_STACKS, DT_CNT_UW_FP_FRAMES };
	int fd = k->skel ? bpf_map__fd(k->skel->maps.cpu_counters) : -1;
	uint64_t sum;
	size_t i;
	int c;

	for (i = 0; fd >= 0 && k->vals && i < sizeof(per_cpu) / sizeof(per_cpu[0]); i++) {
		if (bpf_map_lookup_elem(fd, &per_cpu[i], k->vals))
			continue;	/* keeps the last sum */
		for (sum = 0, c = 0; c < k->ncpu; c++)
			sum += k->vals[c];
		k->skel->bss->counters[per_cpu[i]] = sum;
	}
	for (i = 0; k->both && k->inj && i < DT_CNT_NR; i++)
		k->both[i] = k->skel->bss->counters[i] + inject__counters(k->inj)[i];
}

static void on_tick(void *ctx)
{
	struct ticker *k = ctx;

	sum_cpu_counters(k);
	if (k->forks)
		forks__poll(k->forks);
}

int capture__run(const struct capture_opts *o, struct capture_end *e)
{
	struct dt_config cfg = *o->cfg;
	struct target *t = o->t;
	struct dhat_bpf *skel = NULL;
	struct probes *probes = NULL;
	struct bpf_side b = { 0 };
	struct injection *inj = NULL;
	struct unwinder *auw = NULL;	/* beside the probes: the agent's tables */
	uint64_t both[DT_CNT_NR] = { 0 };
	struct agent_source src;
	struct intake_source agent_src;
	bool beside = false;
	struct intake *intake = NULL;
	struct intake_source rings;
	struct acct *a = NULL;
	struct symbolizer *sym = NULL;
	struct reporter *rep = NULL;
	struct unwinder *uw = NULL;
	struct tview *tv = NULL;
	struct mapwatch *watch = NULL;
	struct capout_snapper snap;
	struct ticker ticker = { .forks = o->forks };
	int ret = DT_EXIT_ERROR, err, execs = 1;
	bool started = !o->t->launched || o->from_maps, held = o->held;
	const char *step, *shown = o->out_fd >= 0 ? "standard output" : o->output;
	uint64_t t0, rss_start = 0, rss_end = 0, duration_ns = 0;
	char ns_note[64] = "", names[128], summary[256];
	struct fork_seen fork_seen = { .forks = o->forks, .parent = t->pid };
	pid_t ns_pid;

	*e = (struct capture_end){ .end = LOOP_ERROR };
	tv = tview__new(t->pid);
	if (!tv) {
		elog("out of memory\n");
		goto cleanup;
	}
	/* Launched: the child is still us until it execs; its view comes later. */
	status__phase("reading the objects of PID %d", t->pid);
	if (o->from_maps)
		tview__sync(tv);
	if (cfg.inject && inject__own_allocator(tv, names, sizeof(names))) {
		ilog("the executable of PID %d defines %s itself: uprobes record its own calls "
		     "to them (they pass through no GOT slot), the agent the others\n", t->pid,
		     names);
		beside = true;
	}
	if (beside) {
		err = beside_probes(&cfg, o, tv, held, &b, &inj, &auw);
	} else if (cfg.inject) {
		inj = inject(&cfg, o, tv, held, false, &b.uw);
		err = inj ? 0 : -1;
	} else {
		err = place_probes(&cfg, o, tv, &b);
	}
	skel = b.skel;
	probes = b.probes;
	watch = b.watch;
	uw = b.uw;
	if (err)
		goto cleanup;
	t0 = mono_ns();
	a = acct__new(t0);
	sym = symbolizer__new(tv);
	rings = b.rings ? bpfrings__source(b.rings) : (struct intake_source){ 0 };
	intake = a && b.rings ? intake__new(on_record, a) : NULL;
	if (intake && intake__add_source(intake, &rings) < 0) {
		intake__free(intake);
		intake = NULL;
	}
	src = (struct agent_source){ .inj = inj, .a = a,
				     .map_epoch = skel ? &skel->bss->map_epoch : NULL };
	agent_src = (struct intake_source){ .drain = drain_agent_into,
					    .fd = inj ? inject__wake_fd(inj) : -1, .ctx = &src };
	if (intake && beside && intake__add_source(intake, &agent_src) < 0) {
		intake__free(intake);
		intake = NULL;
	}
	rep = a && sym ? reporter__new(a, sym, beside ? both : inj ? inject__counters(inj) :
				       (const volatile uint64_t *)skel->bss->counters, cfg.top) :
			 NULL;
	if (!a || !sym || (!intake && (!inj || beside)) || !rep) {
		elog("out of memory setting up the capture\n");
		goto cleanup;
	}
	/* -q: the reports tick for the suspects, silently. */
	reporter__set_quiet(rep, cfg.verbosity < 0);
	reporter__set_outputs(rep, &(struct report_outputs){
		.json = !cfg.report_json ? NULL : o->report_out ? o->report_out : stderr,
		.text = o->report_out, .metrics = cfg.metrics_file, .pid = t->pid, .cmd = t->cmdline });
	if (uw)
		reporter__set_unwinder(rep, uw);
	reporter__set_view(rep, tv);
	fork_seen.t0 = t0;
	reporter__set_forks(rep, o->forks ? children_traced : NULL, &fork_seen,
			    cfg.fork_of && !cfg.follow_forks);
	if (o->forks)
		acct__set_on_fork(a, on_fork, &fork_seen);
	acct__set_max_memory(a, cfg.max_memory, reporter__on_cap, rep);
	acct__set_translate(a, tview__translate, tv);
	if (uw) {
		unwinder__set_walk(uw, cfg.max_frames, cfg.unwind == DT_UNWIND_AUTO);
		acct__set_complete(a, complete_stack, uw);
	}
	/* The held child's exec of the command (and env's of a "#!/usr/bin/env
	 * prog" script's program) is where its capture starts. */
	if (!started) {
		char prog[PATH_MAX];

		elfsym__program_of(t->exe, prog, sizeof(prog), &execs);
		acct__skip_execs(a, (uint32_t)execs);
	}
	if (inj)
		inject__start(inj);
	if (skel)
		skel->bss->tracing_on = 1;
	/* A launched program starts from nothing. */
	rss_start = t->launched ? 1 : target__rss(t);
	ns_pid = started ? target__ns_pid(t) : 0;
	if (ns_pid && ns_pid != t->pid)
		snprintf(ns_note, sizeof(ns_note), "PID %d in its own PID namespace; ", ns_pid);
	/* The file is named here, not only at the end: without -o the name
	 * carries the PID, which the user may not know yet. */
	snprintf(summary, sizeof(summary), "%s%s%s", inj ? inject__summary(inj) : "",
		 inj && probes ? "; " : "", probes ? probes__summary(probes) : "");
	ilog("tracing PID %d (%s%s)%s%s%s%s\n", t->pid, ns_note, summary,
	     cfg.probe_only ? "; --probe-only: nothing is recorded" : "",
	     cfg.probe_only ? "" : "; writing ", cfg.probe_only ? "" : shown,
	     cfg.duration_ns ? "" : "; Ctrl-C to stop");
	/* A launched command writing to the same terminal would break the line. */
	status__tracing(!t->launched || !isatty(STDOUT_FILENO));
	if (!started)
		*o->watching = child__seize(t->pid, cfg.follow_exec, (unsigned int)execs,
					    o->forks) == 0;
	/* Its loads are held until their tables are built (loop.c); the
	 * program it execs into too (--follow-exec: still seized). */
	if (skel && t->launched && *o->watching && !cfg.probe_only)
		skel->bss->hold_tracer = (__u32)getpid();
	if (!started) {
		if (target__release(t))
			goto cleanup;
	} else if (held) {
		child__resume(t->pid);
		held = false;
	}
	/* Whoever holds the target lets it go on now. */
	if (o->ready_fd >= 0 && write(o->ready_fd, "", 1) != 1)
		vlog("cannot say the capture is ready: %s\n", strerror(errno));
	e->t0 = t0;
	duration_ns = cfg.duration_ns;
	if (o->deadline_ns)
		duration_ns = o->deadline_ns > t0 ? o->deadline_ns - t0 : 1;

	ticker.skel = skel;
	ticker.inj = beside ? inj : NULL;
	ticker.both = beside ? both : NULL;
	ticker.ncpu = libbpf_num_possible_cpus();
	if (ticker.ncpu > 0)
		ticker.vals = calloc((size_t)ticker.ncpu, sizeof(*ticker.vals));
	if (!ticker.vals) {
		elog("out of memory setting up the capture\n");
		goto cleanup;
	}
	snap = (struct capout_snapper){ .o = o, .a = a, .sym = sym, .rep = rep, .t0 = t0 };
	e->end = loop__run(&(struct loop_opts){
		.intake = intake, .drain = inj && !beside ? drain_agent : NULL, .drain_ctx = &src,
		.drain_fd = inj && !beside ? inject__wake_fd(inj) : -1, .target = t, .tv = tv,
		.reporter = rep, .acct = a,
		.t0 = t0, .duration_ns = duration_ns,
		.interval_ns = cfg.interval_ns,
		.watch_child = t->launched && *o->watching,
		/* --inject: the agent asks for tables itself (src/injuw.c). */
		.uw = skel ? uw : NULL, .uw_refresh = skel ? &skel->bss->uw_refresh : NULL,
		.rss_last = &rss_end,
		.holds_asked = skel && skel->bss->hold_tracer ?
				       (const volatile uint64_t *)&skel->bss->counters[DT_CNT_LOADS_HELD] :
				       NULL,
		.snapshot = cfg.probe_only ? NULL : capout__snapshot, .snapshot_ctx = &snap,
		.snapshot_ns = cfg.snapshot_ns,
		.tick = on_tick, .tick_ctx = &ticker,
	}, &e->status);
	sum_cpu_counters(&ticker);
	status__tracing(false);
	if (skel)
		skel->bss->hold_tracer = 0;
	e->t_end = mono_ns();
	reporter__set_rss(rep, rss_start, e->end == LOOP_TARGET_EXIT ? rss_end : target__rss(t));
	/* --probe-only has no output to lose: the signals stay blocked until exit. */
	if (!cfg.probe_only)
		interrupt__arm(shown);
	if (e->end == LOOP_ERROR)
		goto cleanup;
	/* The target runs untouched from here on. */
	if (inj)
		inject__detach(inj);
	if (skel)
		skel->bss->tracing_on = 0;
	probes__detach(probes);
	probes = NULL;
	mapwatch__detach(watch);
	watch = NULL;
	/* The next program's capture may start (forks.c): no probe of ours
	 * is left to take its breakpoints. */
	if (o->ready_fd >= 0) {
		if (write(o->ready_fd, "", 1) != 1)
			vlog("cannot say the probes are gone: %s\n", strerror(errno));
		close(o->ready_fd);
	}
	hold_for_next(o, e);
	if (t->launched && *o->watching && e->end != LOOP_TARGET_EXIT && !e->held) {
		child__release(t->pid);
		*o->watching = false;
	}
	/* Nothing is recorded any more: all that is held goes. */
	if (intake)
		intake__flush(intake);
	while (inj && !beside && drain_agent(&src) > 0)
		;
	if (beside)
		vlog("--inject: %llu calls recorded by the agent, the others by the probes\n",
		     (unsigned long long)src.calls);
	sum_cpu_counters(&ticker);
	if (e->end == LOOP_TARGET_EXEC) {
		/* One file holds one program. */
		if (acct__exec_ts(a))
			e->t_end = acct__exec_ts(a);
		/* A child's capture under a launched command's: that dhat-trace
		 * saw the exec stop and says what comes next. */
		if (!cfg.follow_exec && !(cfg.fork_of && !cfg.follow_forks))
			elog("PID %d replaced its program (exec): the capture of %s ends there; the "
			     "new program runs on untraced%s\n", t->pid, t->cmdline,
			     cfg.inject ? "" : " (--follow-exec traces it)");
	}
	e->t_end = acct__finish(a, e->t_end);
	if (e->end == LOOP_TARGET_EXIT)
		vlog("PID %d exited\n", t->pid);
	if (cfg.probe_only) {
		elog("--probe-only: no output written\n");
		ret = t->launched && e->end == LOOP_TARGET_EXIT ? exit_code_of(e->status) :
								    DT_EXIT_OK;
		goto cleanup;
	}
	reporter__final(rep, e->t_end);
	reporter__output_begin(rep);
	/* Writing symbolizes what the summary counts; a failure is the last line. */
	err = capout__write(o, o->out_fd >= 0 ? NULL : o->output, a, sym, rep, e->t_end - t0,
			   &step);
	if (err == -ECANCELED) {
		if (o->out_fd >= 0)
			elog("interrupted: the document on standard output is incomplete\n");
		else
			elog("interrupted: %s abandoned, nothing written\n", o->output);
		ret = 128 + *interrupt__abandoned();
		goto cleanup;
	}
	/* JSON reports on stderr: the summary is their last line, not text. */
	if (!cfg.report_json || o->report_out)
		reporter__summary(rep);
	if (err) {
		elog("cannot write %s: %s failed: %s\n", shown, step, strerror(-err));
		goto cleanup;
	}
	ilog("wrote %s\n", shown);
	ret = t->launched && e->end == LOOP_TARGET_EXIT ? exit_code_of(e->status) : DT_EXIT_OK;
	if (capout__convert(o, a, sym, rep, e->t_end - t0) && ret == DT_EXIT_OK)
		ret = DT_EXIT_ERROR;
	if (t->launched && e->end == LOOP_SIGNAL)
		ret = signalled_command(t, e);
	capout__after(o, e, a, sym, rep, ret);
cleanup:
	if (!started && t->gate_fd >= 0)
		target__abort(t);
	/* --inject -- COMMAND that could not be injected: it has run none of
	 * its code, and is not to run untraced. */
	if (held && cfg.inject && t->launched)
		kill(t->pid, SIGKILL);
	/* Not traced after all: it runs on without us. */
	if (held) {
		child__let_go(t->pid);
		*o->watching = false;
	}
	probes__detach(probes);
	mapwatch__detach(watch);
	/* The counters are gone with the BPF object. */
	child__on_hold(NULL, NULL, NULL);
	intake__free(intake);
	bpfrings__free(b.rings);
	free(ticker.vals);
	reporter__free(rep);
	/* After the reporter: its counters are the agent's. */
	inject__free(inj);
	symbolizer__free(sym);
	acct__free(a);
	dhat_bpf__destroy(skel);
	unwinder__free(uw);
	unwinder__free(auw);
	tview__free(tv);
	return ret;
}
