// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/* Folded stacks and metrics written from documents and ticks built here;
 * the frame parts and inline runs they rest on.  go tool pprof, promtool
 * and node_exporter read the real outputs in tests/integration/exports.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dhatfile.h"
#include "folded.h"
#include "frametext.h"
#include "metrics.h"
#include "pprof.h"
#include "tap.h"

#define HEAD "{\"dhatFileVersion\":2,\"mode\":\"heap\",\"verb\":\"Allocated\",\"bklt\":true," \
	"\"bkacc\":false,\"tu\":\"µs\",\"Mtu\":\"s\",\"tuth\":500,\"cmd\":\"./leak\"," \
	"\"pid\":4242,\"te\":2000,\"tg\":1500,"
/* pps[0] and pps[2] differ only in a line: one folded stack.  pps[1] has
 * an inlined frame (two at 0x401180) and a name with ';'. */
#define DOC HEAD "\"pps\":[" \
	"{\"tb\":300,\"tbk\":3,\"tl\":1,\"mb\":300,\"mbk\":3,\"gb\":300,\"gbk\":3,\"eb\":200," \
	"\"ebk\":2,\"fs\":[1,2]}," \
	"{\"tb\":5000,\"tbk\":5,\"tl\":1,\"mb\":1000,\"mbk\":1,\"gb\":1000,\"gbk\":1,\"eb\":0," \
	"\"ebk\":0,\"fs\":[3,4,2]}," \
	"{\"tb\":70,\"tbk\":1,\"tl\":1,\"mb\":70,\"mbk\":1,\"gb\":0,\"gbk\":0,\"eb\":70," \
	"\"ebk\":1,\"fs\":[5,2]}]," \
	"\"ftbl\":[\"[root]\",\"0x401136: leak_small (leak.c:43)\"," \
	"\"0x401190: main (leak.c:65)\",\"0x401180: arr<[u8; 4]>::grow (arr.rs:5:9)\"," \
	"\"0x401180: push (arr.rs:20:1)\",\"0x401140: leak_small (leak.c:44)\"]}"

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static void test_parts(void)
{
	struct frame_parts p;

	frametext__parts("leak_small (leak.c:43)", &p);
	ok(p.fn_len == 10 && p.file_len == 6 && !strncmp(p.file, "leak.c", 6) && p.line == 43,
	   "fn (file:line)");
	frametext__parts("heap::main (src/main.rs:38:18)", &p);
	ok(p.fn_len == 10 && p.file_len == 11 && p.line == 38, "dhat-rs's file:line:col: line 38");
	frametext__parts("malloc (in /usr/lib/x.so)", &p);
	ok(p.fn_len == 6 && p.object_len == 13 && !p.file_len && !p.line, "fn (in object)");
	frametext__parts("operator new(unsigned long)", &p);
	ok(p.fn_len == strlen("operator new(unsigned long)") && !p.file_len,
	   "a C++ parameter list is not a location");
	is_u64(frametext__address("0x401AB0: f (a.c:1)"), 0x401ab0, "the address");
}

static void test_inline_run(void)
{
	const char *a[] = { "0x10: inner (a.c:1)", "0x10: outer (a.c:9)", "0x20: main (a.c:30)" };
	const char *rec[] = { "0x10: f (a.c:1)", "0x10: f (a.c:1)" };
	const char *rec2[] = { "0x10: g (a.c:1)", "0x10: f (a.c:2)", "0x10: g (a.c:1)",
			       "0x10: f (a.c:2)" };

	is_u64(frametext__inline_run(a, 3, 0), 2, "inline chain: two frames at one address");
	is_u64(frametext__inline_run(a, 3, 2), 1, "then one");
	is_u64(frametext__inline_run(rec, 2, 0), 1, "recursion at one call site: two locations");
	is_u64(frametext__inline_run(rec2, 4, 0), 2, "recursion through an inlined call: cut where "
	       "the chain starts again");
}

static void test_folded(const char *dir)
{
	char why[256], path[512];
	struct dhatfile *f = dhatfile__parse(DOC, strlen(DOC), why, sizeof(why));

	ok(f != NULL, "document parsed (%s)", f ? "" : why);
	if (!f)
		return;
	snprintf(path, sizeof(path), "%s/out.folded", dir);
	ok(!folded__write(f, FOLDED_TEND, path), "folded, t-end written");
	/* The file's text stays out of the TAP line: it has newlines. */
	ok(!strcmp(slurp(path), "main;leak_small 270\n"),
	   "t-end: stacks of one name sequence merged, weightless ones left out");
	ok(!folded__write(f, FOLDED_TOTAL, path), "folded, total written");
	ok(!strcmp(slurp(path), "main;leak_small 370\nmain;push;arr<[u8: 4]>::grow 5000\n"),
	   "total: outermost first, inlined frames their own, ';' in a name as ':'");
	ok(!pprof__write(f, path), "pprof written");
	ok(!memcmp(slurp(path), "\x1f\x8b", 2), "gzip'd");
	dhatfile__free(f);
}

static void test_metrics(const char *dir)
{
	struct dt_totals tot = { .tb = 10, .tbk = 2, .curr_b = 8, .curr_bk = 1, .max_b = 9,
				 .max_bk = 2 };
	struct tick_site sites[1] = { { .bytes = 8, .blocks = 1 } };
	struct tick t = { .pid = 7, .cmd = "a \"b\"\\c\nd", .tot = &tot, .sites = sites,
			  .nr_sites = 1 };
	char path[512], *s;

	snprintf(sites[0].label, sizeof(sites[0].label), "f\"q\" (x\\y.c:1)\x01");
	snprintf(path, sizeof(path), "%s/m.prom", dir);
	ok(!metrics__write(path, &t), "metrics written");
	s = slurp(path);
	ok(strstr(s, "dhat_trace_target_info{pid=\"7\",command=\"a \\\"b\\\"\\\\c\\nd\"} 1\n") != NULL,
	   "label values: quote, backslash and newline escaped");
	ok(strstr(s, "site=\"f\\\"q\\\" (x\\\\y.c:1)?\"} 8\n") != NULL,
	   "a site label escaped, control characters as '?'");
	ok(strstr(s, "# TYPE dhat_trace_live_bytes gauge\ndhat_trace_live_bytes{pid=\"7\"} 8\n") &&
	   strstr(s, "# TYPE dhat_trace_allocations_total counter\n"), "HELP/TYPE, values");
	ok(!strstr(s, "truncated_stacks"), "no truncated stacks without DWARF unwinding");
}

int main(void)
{
	char dir[] = "/tmp/test_exports.XXXXXX";
	char cmd[64];

	if (!mkdtemp(dir))
		return 1;
	test_parts();
	test_inline_run();
	test_folded(dir);
	test_metrics(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		printf("# cannot remove %s\n", dir);
	return tap_done();
}
