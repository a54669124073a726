// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include "dhat_abi.h"
#include "cli.h"
#include "folded.h"
#include "patterns.h"
#include "util.h"

enum {
	OPT_MAX_FRAMES = 1000,
	OPT_RING_SIZE,
	OPT_UNWIND,
	OPT_PROBE_AT_ENTRY,
	OPT_PROBE_ONLY,
	OPT_FOLLOW_EXEC,
	OPT_SUMMARY_JSON,
	OPT_SNAPSHOT_EVERY,
	OPT_FOLLOW_FORKS,
	OPT_PPROF,
	OPT_FOLDED,
	OPT_FOLDED_WEIGHT,
	OPT_METRICS_FILE,
	OPT_REPORT_FORMAT,
	OPT_REPORT_FILE,
	OPT_FORK_OF,
	OPT_READY_FD,
	OPT_MAX_MEMORY,
	OPT_INJECT,
};

const char *argp_program_version = "dhat-trace " DT_VERSION;
const char *argp_program_bug_address = NULL;

static const char doc[] =
	"Trace the heap of a running process (or of a command it launches) with eBPF "
	"uprobes on the malloc family, and write Valgrind DHAT's JSON "
	"(dhat-trace.NAME.PID.json) for dh_view.html.\v"
	"The first argument that is not an option starts COMMAND: options after it are "
	"COMMAND's. TIME is a number with unit ms, s, m or h (500ms, 30s, 5m); a bare "
	"number is seconds. Stop with -d, Ctrl-C/SIGTERM, or when the target exits. A "
	"failed gate (--fail-on-leak, --max-peak) exits 23, unless a launched COMMAND's "
	"own status is not 0: that comes first.";

static const char args_doc[] = "-p PID\nCOMMAND [ARG...]";

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "Trace the running process PID", 0 },
	{ "duration", 'd', "TIME", 0, "Stop after TIME", 0 },
	{ "output", 'o', "FILE", 0, "DHAT JSON output file (default: dhat-trace.NAME.PID.json)", 0 },
	{ "interval", 'i', "TIME", 0, "Print a peak report every TIME (default 10s, 0: never)", 0 },
	{ "top", 't', "N", 0, "Call sites shown in each periodic report (default 5)", 0 },
	{ "max-frames", OPT_MAX_FRAMES, "N", 0, "Stack depth to record (default and most: 127)", 0 },
	{ "ring-size", OPT_RING_SIZE, "SIZE", 0,
	  "BPF ring buffers' total size, split among the CPUs (at least 1M each), or with "
	  "--inject the agent's ring; a power of two with K/M/G suffix (default 8M, "
	  "--inject 32M: see docs/performance.md for what it absorbs)", 0 },
	{ "max-memory", OPT_MAX_MEMORY, "SIZE", 0,
	  "Most memory for the tracer's tables of live blocks, stacks and sites, with K/M/G "
	  "suffix (default: 10 % of RAM, at most 1G; 0: no cap).  Past it new blocks are "
	  "counted, not tracked, and the output says so", 0 },
	{ "unwind", OPT_UNWIND, "MODE", 0,
	  "Stack unwinding: auto (DWARF CFI, frame pointers where an object has none; "
	  "the default), dwarf, or fp (frame pointers only)", 0 },
	{ "probe-at-entry", OPT_PROBE_AT_ENTRY, NULL, 0,
	  "Probe each function at its first instruction (by default a probe may sit a few "
	  "instructions in, on one the kernel emulates: see -v)", 0 },
	{ "probe-only", OPT_PROBE_ONLY, NULL, 0,
	  "Attach the probes with programs that do nothing and record nothing: the cost of "
	  "the probes alone, for benchmarks", 0 },
	{ "inject", OPT_INJECT, NULL, 0,
	  "Record inside the target rather than with uprobes: load a small agent into PID "
	  "(ptrace, no gdb) that hooks the malloc family's GOT slots and puts them back at the "
	  "end; far cheaper per call.  Frame-pointer stacks for now", 0 },
	{ "follow-exec", OPT_FOLLOW_EXEC, NULL, 0,
	  "When the target execs another program, write the file of the one that ended and "
	  "go on tracing the new one into FILE.1.json, FILE.2.json, ... (-o FILE.json)", 0 },
	{ "summary-json", OPT_SUMMARY_JSON, "FILE", 0,
	  "Also write a small JSON summary (totals, suspects, losses, gates) for scripts", 0 },
	{ "snapshot-every", OPT_SNAPSHOT_EVERY, "TIME", 0,
	  "Write the capture so far every TIME to FILE.snapshot.N.json beside -o's FILE.json, "
	  "without stopping it (SIGUSR1 does the same at once)", 0 },
	{ "follow-forks", OPT_FOLLOW_FORKS, NULL, 0,
	  "Trace the child processes the target forks too, each into a file of its own beside "
	  "FILE: FILE.PID.json (-o FILE.json)", 0 },
	{ "pprof", OPT_PPROF, "FILE", 0,
	  "Also write the capture as a gzip'd pprof profile (go tool pprof): sample types "
	  "alloc_space/objects, inuse_space/objects (t-end), tgmax_space/objects", 0 },
	{ "folded", OPT_FOLDED, "FILE", 0,
	  "Also write collapsed stacks for flame graphs (flamegraph.pl, inferno, speedscope)",
	  0 },
	{ "folded-weight", OPT_FOLDED_WEIGHT, "WEIGHT", 0,
	  "Bytes that weigh a --folded stack: tend (live at the end; the default), tgmax "
	  "(live at the peak) or total (all allocated)", 0 },
	{ "metrics-file", OPT_METRICS_FILE, "PATH", 0,
	  "Rewrite PATH (Prometheus text format, e.g. for node_exporter's textfile collector) "
	  "at each report and at the end", 0 },
	{ "report-format", OPT_REPORT_FORMAT, "FORMAT", 0,
	  "text (the default) or json: each periodic report and the final summary as one JSON "
	  "object per line", 0 },
	{ "report-file", OPT_REPORT_FILE, "PATH", 0,
	  "Append the reports to PATH rather than print them on stderr", 0 },
	/* Set by forks.c on the captures of children it starts. */
	{ "fork-of", OPT_FORK_OF, "FILE", OPTION_HIDDEN, NULL, 0 },
	{ "ready-fd", OPT_READY_FD, "FD", OPTION_HIDDEN, NULL, 0 },
	{ "quiet", 'q', NULL, 0, "Errors and the final summary only", 0 },
	{ "verbose", 'v', NULL, 0, "More detail on stderr (repeat for debug output)", 0 },
	/* valgrind's, heaptrack's, bpftrace's and memleak's help option; argp's
	 * own is -?, which an unquoted shell word may glob. */
	{ NULL, 'h', NULL, 0, "The same as --help", -1 },
	{},
};

/* The parse in progress: every usage error comes out as argp's own do
 * (what is wrong, then where help is), with argp's exit status. */
static const struct argp_state *parsing;

#define usage_error(fmt, ...) argp_error(parsing, fmt, ##__VA_ARGS__)

static uint64_t duration_arg(const char *arg)
{
	uint64_t ns;

	if (parse_duration(arg, &ns))
		usage_error("invalid duration '%s': use a number with ms, s, m or h", arg);
	return ns;
}

static unsigned long number_arg(const char *arg, const char *what, unsigned long lo,
				unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || v < lo || v > hi || *arg == '-')
		usage_error(what, arg);
	return v;
}

static uint64_t bytes_arg(const char *opt, const char *arg)
{
	uint64_t v;

	if (parse_size(arg, &v))
		usage_error("invalid %s '%s': use a number of bytes, with K, M or G for powers "
			    "of 1024", opt, arg);
	return v;
}

static bool to_stdout(const struct dt_config *cfg)
{
	return cfg->output && !strcmp(cfg->output, "-");
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct dt_config *cfg = state->input;
	enum folded_weight weight;
	uint64_t sz;

	parsing = state;
	switch (key) {
	case 'p':
		cfg->pid = (pid_t)number_arg(arg, "invalid PID '%s'", 1, 4194304);
		break;
	case 'd':
		cfg->duration_ns = duration_arg(arg);
		if (!cfg->duration_ns)
			usage_error("invalid duration '%s': must be more than zero", arg);
		break;
	case 'o':
		if (!*arg)
			usage_error("empty output file name");
		cfg->output = arg;
		break;
	case 'i':
		cfg->interval_ns = duration_arg(arg);
		break;
	case 't':
		cfg->top = number_arg(arg, "invalid --top '%s': use a number from 1 to 1000", 1, 1000);
		break;
	case OPT_MAX_FRAMES:
		cfg->max_frames = number_arg(arg, "invalid --max-frames '%s': use 1 to 127", 1,
					     DT_MAX_FRAMES);
		break;
	case OPT_RING_SIZE:
		if (parse_size(arg, &sz) || sz < 4096 || sz > (1ULL << 31) || (sz & (sz - 1)))
			usage_error("invalid --ring-size '%s': use a power of two from 4K to 2G",
				    arg);
		cfg->ring_size = sz;
		cfg->ring_size_given = true;
		break;
	case OPT_MAX_MEMORY:
		cfg->max_memory = bytes_arg("--max-memory", arg);
		/* Below that even the tables' first allocations would not fit. */
		if (cfg->max_memory && cfg->max_memory < (1 << 20))
			usage_error("invalid --max-memory '%s': use 1M or more (0: no cap)", arg);
		break;
	case OPT_UNWIND:
		if (!strcmp(arg, "auto"))
			cfg->unwind = DT_UNWIND_AUTO;
		else if (!strcmp(arg, "dwarf"))
			cfg->unwind = DT_UNWIND_DWARF;
		else if (!strcmp(arg, "fp"))
			cfg->unwind = DT_UNWIND_FP;
		else
			usage_error("invalid --unwind '%s': use auto, dwarf or fp", arg);
		break;
	case OPT_PROBE_AT_ENTRY:
		cfg->probe_at_entry = true;
		break;
	case OPT_PROBE_ONLY:
		cfg->probe_only = true;
		break;
	case OPT_FOLLOW_EXEC:
		cfg->follow_exec = true;
		break;
	case OPT_INJECT:
		cfg->inject = true;
		break;
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &cfg->gate;
		break;
	case OPT_SNAPSHOT_EVERY:
		cfg->snapshot_ns = duration_arg(arg);
		if (!cfg->snapshot_ns)
			usage_error("invalid --snapshot-every '%s': must be more than zero", arg);
		break;
	case OPT_SUMMARY_JSON:
		if (!*arg)
			usage_error("empty --summary-json file name");
		cfg->summary_json = arg;
		break;
	case OPT_FOLLOW_FORKS:
		cfg->follow_forks = true;
		break;
	case OPT_PPROF:
	case OPT_FOLDED:
	case OPT_METRICS_FILE:
	case OPT_REPORT_FILE:
		if (!*arg || !strcmp(arg, "-"))
			usage_error("give a file name to --pprof, --folded, --metrics-file and "
				    "--report-file ('%s')", arg);
		*(key == OPT_PPROF ? &cfg->pprof : key == OPT_FOLDED ? &cfg->folded :
		  key == OPT_METRICS_FILE ? &cfg->metrics_file : &cfg->report_file) = arg;
		break;
	case OPT_FOLDED_WEIGHT:
		if (folded__weight_of(arg, &weight))
			usage_error("invalid --folded-weight '%s': use tend, tgmax or total", arg);
		cfg->folded_weight = (int)weight;
		break;
	case OPT_REPORT_FORMAT:
		if (strcmp(arg, "text") && strcmp(arg, "json"))
			usage_error("invalid --report-format '%s': use text or json", arg);
		cfg->report_json = !strcmp(arg, "json");
		break;
	case OPT_FORK_OF:
		cfg->fork_of = arg;
		break;
	case OPT_READY_FD:
		cfg->ready_fd = (int)number_arg(arg, "invalid --ready-fd '%s'", 3, 1023);
		break;
	case 'q':
		cfg->verbosity = -1;
		break;
	case 'v':
		cfg->verbosity = cfg->verbosity < 0 ? 1 : cfg->verbosity + 1;
		break;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARGS:
		/* The first non-option (ARGP_IN_ORDER) or what follows "--": the
		 * command and its own arguments, none of them ours. */
		cfg->argv = state->argv + state->next;
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (cfg->pid && cfg->argv)
			usage_error("give either -p PID or a command, not both");
		if (!cfg->pid && !cfg->argv)
			usage_error("nothing to trace: give -p PID or a COMMAND");
		if (cfg->snapshot_ns && to_stdout(cfg))
			usage_error("--snapshot-every writes files beside -o's: give -o FILE, not "
				    "-o -");
		if (cfg->follow_exec && to_stdout(cfg))
			usage_error("--follow-exec writes one file per program: give -o FILE, "
				    "not -o -");
		if (cfg->follow_forks && to_stdout(cfg))
			usage_error("--follow-forks writes one file per process: give -o FILE, "
				    "not -o -");
		if (cfg->follow_forks && cfg->probe_only)
			usage_error("--follow-forks records nothing with --probe-only");
		if (cfg->inject && (cfg->probe_only || cfg->probe_at_entry))
			usage_error("--inject places no probes: --probe-only and --probe-at-entry "
				    "do not apply");
		if (cfg->inject && (cfg->follow_forks || cfg->follow_exec))
			usage_error("--inject does not yet follow forks or execs");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* 10 % of RAM, at most 1 GiB: a capture next to a service must not be what
 * the machine runs out of memory for. */
static uint64_t default_max_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	uint64_t tenth = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page / 10 : 0;

	return tenth && tenth < (1ULL << 30) ? tenth : 1ULL << 30;
}

void cli__parse(int argc, char **argv, struct dt_config *cfg)
{
	/* The gates, as `check` takes them (gateopts.h). */
	static const struct argp_child children[] = { { &gateopts__argp, 0, NULL, 0 }, {} };
	static const struct argp argp = { options, parse_opt, args_doc, doc, children, NULL,
					  NULL };

	/* .output NULL: named after the target once it is known (main.c). */
	*cfg = (struct dt_config){
		.interval_ns = 10 * NSEC_PER_SEC,
		.top = 5,
		.max_frames = DT_MAX_FRAMES,
		/* Mapped twice, so it counts twice in the resident size: 8M keeps
		 * an idle capture near 26 MB and still holds ~0.5 s of the fastest
		 * event stream measured here (docs/performance.md). */
		.ring_size = 8ULL << 20,
		.max_memory = default_max_memory(),
		.unwind = DT_UNWIND_AUTO,
		.ready_fd = -1,
	};
	argp_err_exit_status = DT_EXIT_USAGE;
	/* getopt names argv[0] as typed ("./build/dhat-trace: invalid option"),
	 * argp its base name: one name for both. */
	argv[0] = "dhat-trace";
	/* In order, as valgrind and heaptrack take a command: the first
	 * non-option starts it (ARGP_KEY_ARGS), so "dhat-trace ls -l" is not
	 * read as dhat-trace's -l; "--" still works as before. */
	argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, cfg);
}
