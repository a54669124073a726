// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
/* The skeleton names the ABI's types. */
#include "dhat_abi.h"
#include "dhat.skel.h"
#include "accounting.h"
#include "child.h"
#include "cli.h"
#include "dhat_json.h"
#include "elfsym.h"
#include "interrupt.h"
#include "log.h"
#include "loop.h"
#include "probes.h"
#include "report.h"
#include "subcmd.h"
#include "mapwatch.h"
#include "symbolizer.h"
#include "targetview.h"
#include "target.h"
#include "umulti.h"
#include "unwind.h"
#include "util.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (dt_verbosity < 2 && level != LIBBPF_WARN)
		return 0;
	if (dt_verbosity < 1)
		return 0;	/* our own error line says what failed */
	return vfprintf(stderr, fmt, args);
}

static int on_record(void *ctx, void *data, size_t size)
{
	acct__handle(ctx, data, size);
	return 0;
}

/*
 * Unwind tables for what the target runs, built before the BPF object is
 * loaded because their size decides the row array's.  NULL with errno 0:
 * frame pointers only.
 */
static struct unwinder *unwind_setup(struct dt_config *cfg, const struct target *t,
				     struct tview *tv)
{
	struct unwinder *uw;

	errno = 0;
	if (cfg->unwind == DT_UNWIND_FP)
		return NULL;
	if (!unwinder__kernel_ok()) {
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
	if (t->launched)
		unwinder__add_program(uw, t->exe);
	else
		unwinder__add_mapped(uw);
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

static struct dhat_bpf *load_bpf(const struct dt_config *cfg, pid_t pid, struct unwinder *uw,
				 const struct probe_opts *popts)
{
	uint32_t rows = uw ? unwinder__capacity(uw) : 1;
	struct dhat_bpf *skel = dhat_bpf__open();
	int err;

	if (!skel) {
		elog("cannot open the BPF object: %s\n", strerror(errno));
		return NULL;
	}
	skel->rodata->target_tgid = (__u32)pid;
	skel->rodata->max_frames = cfg->max_frames;
	skel->rodata->wake_bytes = cfg->ring_size / 4;
	skel->rodata->unwind_mode = (__u32)cfg->unwind;
	bpf_map__set_max_entries(skel->maps.events, (__u32)cfg->ring_size);
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
	return skel;
}

/*
 * -o -: the document goes to standard output and nothing else does, so it
 * can be piped: from here on fd 1 is stderr (for a launched command and any
 * stray print too).  The fd the document goes to, or -errno (reported).
 */
static int take_stdout(void)
{
	int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3), err;

	if (fd >= 0 && dup2(STDERR_FILENO, STDOUT_FILENO) >= 0)
		return fd;
	err = -errno;
	elog("cannot write to standard output: %s\n", strerror(-err));
	if (fd >= 0)
		close(fd);
	return err;
}

/* To out_fd if >= 0, else to cfg->output; 0 or -errno, *step saying what failed. */
static int write_output(const struct dt_config *cfg, int out_fd, const struct target *t,
			struct acct *a, struct symbolizer *sym, struct reporter *rep,
			uint64_t t_end, const char **step)
{
	struct dt_doc doc = {
		.cmd = t->cmdline,
		.pid = t->pid,
		.t_end = t_end,
		.note = t->launched ? NULL : reporter__loss_note(rep),
		.stats = reporter__stats,
		.stats_ctx = rep,
		.abandon = interrupt__abandoned(),
	};

	if (out_fd >= 0)
		return dhat_json__write_fd(out_fd, a, &doc, symbolizer__describe, sym, step);
	return dhat_json__write(cfg->output, a, &doc, symbolizer__describe, sym, step);
}

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return DT_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct dt_config cfg;
	struct target t = { .gate_fd = -1, .exec_err_fd = -1 };
	struct dhat_bpf *skel = NULL;
	struct probes *probes = NULL;
	struct probe_opts popts;
	struct ring_buffer *rb = NULL;
	struct acct *a = NULL;
	struct symbolizer *sym = NULL;
	struct reporter *rep = NULL;
	struct unwinder *uw = NULL;
	struct tview *tv = NULL;
	struct mapwatch *watch = NULL;
	enum loop_end end;
	int status = 0, ret = DT_EXIT_ERROR, err, out_fd = -1;
	bool watching = false, to_stdout;
	const char *step, *shown;
	uint64_t t0, t_end, rss_start = 0, rss_end = 0;
	char ns_note[64] = "";
	pid_t ns_pid;

	/* The subcommands that read DHAT files; everything else is a capture. */
	if (argc > 1 && !strcmp(argv[1], "report"))
		return report_cmd__main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "diff"))
		return diff_cmd__main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "check"))
		return check_cmd__main(argc - 1, argv + 1);
	cli__parse(argc, argv, &cfg);
	dt_verbosity = cfg.verbosity;
	/* No network look-ups for debug info unless the user sets it up again. */
	unsetenv("DEBUGINFOD_URLS");
	libbpf_set_print(libbpf_print);

	to_stdout = !cfg.probe_only && strcmp(cfg.output, "-") == 0;
	shown = to_stdout ? "standard output" : cfg.output;
	if ((!cfg.probe_only && !to_stdout && target__check_output(cfg.output)) ||
	    target__check_privileges())
		return DT_EXIT_ERROR;
	if (to_stdout) {
		out_fd = take_stdout();
		if (out_fd < 0)
			return DT_EXIT_ERROR;
	}
	if (cfg.probe_only)
		cfg.unwind = DT_UNWIND_FP;	/* no programs will walk a stack */
	if (cfg.pid ? target__open_pid(&t, cfg.pid) : target__spawn(&t, cfg.argv))
		goto cleanup;
	tv = tview__new(t.pid);
	if (!tv) {
		elog("out of memory\n");
		goto cleanup;
	}
	/* Launched: the child is still us until it execs; its view comes later. */
	if (!t.launched)
		tview__sync(tv);
	uw = unwind_setup(&cfg, &t, tv);
	if (!uw && errno)
		goto cleanup;
	popts = (struct probe_opts){ .at_entry = cfg.probe_at_entry,
		.probe_only = cfg.probe_only, .multi = use_multi_links() };
	skel = load_bpf(&cfg, t.pid, uw, &popts);
	if (!skel)
		goto cleanup;
	watch = mapwatch__attach(skel);
	if (!watch)
		goto cleanup;
	/* The objects read before are kept: the probes are placed in them. */
	tview__bind(tv, &skel->bss->map_epoch, skel->bss->unmap_log);
	probes = probes__attach(skel, &t, tv, &popts);
	if (!probes)
		goto cleanup;
	if (!probes__watch_maps(probes) && !popts.probe_only) {
		vlog("no munmap or _dl_debug_state to probe: code unmaps watched on every system "
		     "call\n");
		if (mapwatch__watch_syscalls(watch))
			goto cleanup;
	}
	/* Unmaps are seen from here on: whatever happened before, while the
	 * watch was being placed, is treated as a change of all code, and the
	 * mappings read now hold until the log says otherwise. */
	mapwatch__all_changed(watch);
	if (!t.launched) {
		tview__sync(tv);
		if (uw)
			unwinder__refresh(uw);
	}
	t0 = mono_ns();
	a = acct__new(t0);
	sym = symbolizer__new(tv);
	rb = a ? ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, a, NULL) : NULL;
	rep = a && sym ? reporter__new(a, sym, (const volatile uint64_t *)skel->bss->counters, cfg.top) : NULL;
	if (!a || !sym || !rb || !rep) {
		elog("out of memory setting up the capture\n");
		goto cleanup;
	}
	if (uw)
		reporter__set_unwinder(rep, uw);
	reporter__set_view(rep, tv);
	acct__set_translate(a, tview__translate, tv);
	/* The held child's exec of the command (and env's of a "#!/usr/bin/env
	 * prog" script's program) is where its capture starts. */
	if (t.launched) {
		char prog[PATH_MAX];
		int execs = 1;

		elfsym__program_of(t.exe, prog, sizeof(prog), &execs);
		acct__skip_execs(a, (uint32_t)execs);
	}
	skel->bss->tracing_on = 1;
	/* A launched program starts from nothing. */
	rss_start = t.launched ? 1 : target__rss(&t);
	ns_pid = t.launched ? 0 : target__ns_pid(&t);
	if (ns_pid && ns_pid != t.pid)
		snprintf(ns_note, sizeof(ns_note), "PID %d in its own PID namespace; ", ns_pid);
	elog("tracing PID %d (%s%s)%s%s\n", t.pid, ns_note, probes__summary(probes),
	     cfg.probe_only ? "; --probe-only: nothing is recorded" : "",
	     cfg.duration_ns ? "" : "; Ctrl-C to stop");
	if (t.launched) {
		watching = child__seize(t.pid) == 0;
		if (target__release(&t))
			goto cleanup;
	}

	end = loop__run(&(struct loop_opts){
		.rb = rb, .target = &t, .tv = tv, .reporter = rep, .acct = a,
		.t0 = t0, .duration_ns = cfg.duration_ns,
		.interval_ns = cfg.verbosity < 0 ? 0 : cfg.interval_ns, .watch_child = watching,
		.uw = uw, .uw_refresh = &skel->bss->uw_refresh, .rss_last = &rss_end,
	}, &status);
	t_end = mono_ns();
	reporter__set_rss(rep, rss_start, end == LOOP_TARGET_EXIT ? rss_end : target__rss(&t));
	/* --probe-only has no output to lose: the signals stay blocked until exit. */
	if (!cfg.probe_only)
		interrupt__arm(shown);
	if (end == LOOP_ERROR)
		goto cleanup;
	/* The target runs untouched from here on. */
	skel->bss->tracing_on = 0;
	probes__detach(probes);
	probes = NULL;
	mapwatch__detach(watch);
	watch = NULL;
	if (watching && end != LOOP_TARGET_EXIT)
		child__release(t.pid);
	while (ring_buffer__consume(rb) > 0)
		;
	if (end == LOOP_TARGET_EXEC) {
		/* One file holds one program: the new one is not traced. */
		t_end = acct__exec_ts(a);
		elog("PID %d replaced its program (exec): the capture of %s ends there; the new "
		     "program runs on untraced\n", t.pid, t.cmdline);
	}
	t_end = acct__finish(a, t_end);
	if (end == LOOP_TARGET_EXIT)
		vlog("PID %d exited\n", t.pid);
	if (cfg.probe_only) {
		elog("--probe-only: no output written\n");
		ret = t.launched && end == LOOP_TARGET_EXIT ? exit_code_of(status) : DT_EXIT_OK;
		goto cleanup;
	}
	reporter__output_begin(rep);
	/* Writing symbolizes what the summary counts; a failure is the last line. */
	err = write_output(&cfg, out_fd, &t, a, sym, rep, t_end - t0, &step);
	if (err == -ECANCELED) {
		if (to_stdout)
			elog("interrupted: the document on standard output is incomplete\n");
		else
			elog("interrupted: %s abandoned, nothing written\n", cfg.output);
		ret = 128 + *interrupt__abandoned();
		goto cleanup;
	}
	reporter__summary(rep);
	if (err) {
		elog("cannot write %s: %s failed: %s\n", shown, step, strerror(-err));
		goto cleanup;
	}
	elog("wrote %s\n", shown);
	ret = t.launched && end == LOOP_TARGET_EXIT ? exit_code_of(status) : DT_EXIT_OK;
cleanup:
	if (t.launched && t.gate_fd >= 0)
		target__abort(&t);
	probes__detach(probes);
	mapwatch__detach(watch);
	ring_buffer__free(rb);
	reporter__free(rep);
	symbolizer__free(sym);
	acct__free(a);
	dhat_bpf__destroy(skel);
	unwinder__free(uw);
	tview__free(tv);
	target__cleanup(&t);
	if (out_fd >= 0)
		close(out_fd);
	return ret;
}
