// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "capture.h"
#include "child.h"
#include "cli.h"
#include "exechold.h"
#include "forks.h"
#include "injlaunch.h"
#include "interrupt.h"
#include "log.h"
#include "patterns.h"
#include "status.h"
#include "subcmd.h"
#include "target.h"
#include "util.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (dt_verbosity < 2 && level != LIBBPF_WARN)
		return 0;
	if (dt_verbosity < 1)
		return 0;	/* our own error line says what failed */
	return vfprintf(stderr, fmt, args);
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

/* The next program of a target that execed: held where it can be traced
 * from its start if it is our child; false if there is none to trace. */
static bool next_program(struct target *t, const struct capture_end *e, int *ret, bool *held)
{
	int status = 0, err = 0;

	*held = false;
	if (e->held) {
		err = exechold__to_loader(t->pid, &status);
		if (err == -ESRCH) {
			/* Gone before its libraries were even mapped. */
			*ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			return false;
		}
		*held = true;
	}
	if (target__exec_seen(t)) {
		if (*held)
			child__let_go(t->pid);
		elog("PID %d replaced its program (exec) and was gone before it could be traced\n",
		     t->pid);
		return false;
	}
	elog("PID %d replaced its program (exec): tracing %s%s\n", t->pid, t->cmdline,
	     *held && !err ? "" : " from now on (what it allocated before is not seen)");
	return true;
}

/*
 * Without -o: a file per run, as valgrind's dhat.out.PID and heaptrack's
 * heaptrack.NAME.PID, so a second capture does not replace the first.
 */
static const char *default_output(struct target *t, char *buf, size_t len)
{
	char name[64];

	target__name(t, name, sizeof(name));
	snprintf(buf, len, "dhat-trace.%s.%d.json", name, t->pid);
	return buf;
}

/* The capture of a forked child, started by forks.c: its lines say whose. */
static void fork_capture(struct dt_config *cfg)
{
	static char prefix[48];

	snprintf(prefix, sizeof(prefix), "dhat-trace [PID %d]: ", cfg->pid);
	dt_log_prefix = prefix;
	/* Not for the children it may start in turn. */
	if (cfg->ready_fd >= 0)
		fcntl(cfg->ready_fd, F_SETFD, FD_CLOEXEC);
}

int main(int argc, char **argv)
{
	struct dt_config cfg;
	char default_out[PATH_MAX];
	struct target t = { .gate_fd = -1, .exec_err_fd = -1 };
	struct capture_end e = { 0 };
	struct forks *forks = NULL;
	int ret = DT_EXIT_ERROR, out_fd = -1;
	FILE *report_out = NULL;
	bool watching = false, held = false, gate_failed = false, to_stdout;
	uint64_t deadline = 0;
	unsigned int n;

	/* The subcommands that read DHAT files; everything else is a capture. */
	if (argc > 1 && !strcmp(argv[1], "report"))
		return report_cmd__main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "diff"))
		return diff_cmd__main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "check"))
		return check_cmd__main(argc - 1, argv + 1);
	cli__parse(argc, argv, &cfg);
	/* SIGUSR1 asks for a snapshot; before the loop takes it, it must not
	 * kill us (target.c restores it for a launched command). */
	signal(SIGUSR1, SIG_IGN);
	dt_verbosity = cfg.verbosity;
	/* -q: errors and the summary only; a fork's capture shares the line
	 * with the one that started it. */
	status__init(cfg.verbosity >= 0 && !cfg.fork_of);
	if (cfg.fork_of)
		fork_capture(&cfg);
	/* No network look-ups for debug info unless the user sets it up again. */
	unsetenv("DEBUGINFOD_URLS");
	libbpf_set_print(libbpf_print);

	to_stdout = !cfg.probe_only && cfg.output && strcmp(cfg.output, "-") == 0;
	if ((!cfg.probe_only && cfg.output && !to_stdout && target__check_output(cfg.output)) ||
	    (cfg.summary_json && target__check_output(cfg.summary_json)) ||
	    (cfg.pprof && target__check_output(cfg.pprof)) ||
	    (cfg.folded && target__check_output(cfg.folded)) ||
	    (cfg.metrics_file && target__check_output(cfg.metrics_file)) ||
	    target__check_privileges())
		return DT_EXIT_ERROR;
	if (cfg.report_file) {
		/* Appended to, line by line, as a log is. */
		report_out = fopen(cfg.report_file, "ae");
		if (!report_out) {
			elog("cannot open %s: %s\n", cfg.report_file, strerror(errno));
			return DT_EXIT_ERROR;
		}
		setvbuf(report_out, NULL, _IOLBF, 0);
	}
	if (to_stdout) {
		out_fd = take_stdout();
		if (out_fd < 0)
			return DT_EXIT_ERROR;
	}
	if (cfg.probe_only)
		cfg.unwind = DT_UNWIND_FP;	/* no programs will walk a stack */
	if (cfg.follow_forks) {
		forks = forks__new(&cfg, !cfg.pid);
		if (!forks)
			goto cleanup;
	}
	if (cfg.pid ? target__open_pid(&t, cfg.pid) : target__spawn(&t, cfg.argv))
		goto cleanup;
	if (!cfg.output) {
		cfg.output = default_output(&t, default_out, sizeof(default_out));
		if (!cfg.probe_only && target__check_output(cfg.output)) {
			target__abort(&t);
			goto cleanup;
		}
	}
	/* --inject -- COMMAND: held at its entry point, then attached to. */
	if (cfg.inject && t.launched) {
		if (injlaunch__hold(&t, &watching))
			goto cleanup;
		held = true;
	}
	/* One capture per program: more only when it execs, with --follow-exec. */
	for (n = 0;; n++) {
		char output[PATH_MAX], summary[PATH_MAX], pprof[PATH_MAX], folded[PATH_MAX];

		numbered_output(cfg.output, n, output, sizeof(output));
		if (cfg.summary_json)
			numbered_output(cfg.summary_json, n, summary, sizeof(summary));
		if (cfg.pprof)
			numbered_output(cfg.pprof, n, pprof, sizeof(pprof));
		if (cfg.folded)
			numbered_output(cfg.folded, n, folded, sizeof(folded));
		ret = capture__run(&(struct capture_opts){
			.cfg = &cfg, .t = &t, .output = output, .out_fd = out_fd,
			.summary = cfg.summary_json ? summary : NULL,
			.pprof = cfg.pprof ? pprof : NULL, .folded = cfg.folded ? folded : NULL,
			.report_out = report_out,
			.deadline_ns = deadline, .watching = &watching,
			.from_maps = !t.launched || n > 0 || cfg.inject, .held = held,
			.forks = forks,
			.ready_fd = n ? -1 : cfg.ready_fd }, &e);
		gate_failed |= e.gate_failed;
		if (e.end != LOOP_TARGET_EXEC || !cfg.follow_exec || ret != DT_EXIT_OK ||
		    interrupt__seen()) {
			if (e.held)
				child__let_go(t.pid);
			break;
		}
		if (cfg.duration_ns && !deadline)
			deadline = e.t0 + cfg.duration_ns;
		if (!next_program(&t, &e, &ret, &held))
			break;
	}
	/* A launched command's own failure (a test binary's) comes first. */
	if (ret == DT_EXIT_OK && gate_failed)
		ret = DT_EXIT_GATE;
cleanup:
	/* After the command's file: its children's captures may still run. */
	forks__finish(forks);
	target__cleanup(&t);
	gate_args__free(&cfg.gate);
	if (out_fd >= 0)
		close(out_fd);
	if (report_out)
		fclose(report_out);
	return ret;
}
