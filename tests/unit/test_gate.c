// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/* Frame texts, ignore patterns and the CI gates over them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "frametext.h"
#include "gate.h"
#include "patterns.h"
#include "tap.h"

static void test_frametext(void)
{
	const char *vg[] = { "0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_dhat-amd64-linux.so)",
			     "0x109424: site_leak (basic.c:48)", "0x1096D0: main (basic.c:141)",
			     "0x7F0: __libc_start_call_main (libc_start_call_main.h:58)" };
	char buf[256];
	uint32_t first, n;

	ok(!strcmp(frametext__strip("0x401136: leak_small (leak.c:43)"), "leak_small (leak.c:43)"),
	   "address stripped");
	ok(!strcmp(frametext__strip("0x55f4c1d0a2b7: heap::main (h.rs:3:9)"), "heap::main (h.rs:3:9)"),
	   "lower-case address (dhat-rs) stripped");
	ok(!strcmp(frametext__strip("[root]"), "[root]"), "no address: as it is");
	ok(!strcmp(frametext__strip("0x12 main"), "0x12 main"), "no ': ': as it is");
	is_u64(frametext__function_len("make_widget(int) (cxx.cpp:55)"), 16,
	       "C++ parameters are part of the function");
	is_u64(frametext__function_len("operator new(unsigned long)"), 27,
	       "a parameter list is not a location");
	is_u64(frametext__function_len("???"), 3, "??? is all function");
	ok(frametext__is_valgrind_alloc(frametext__strip(vg[0])), "Valgrind's malloc recognised");
	ok(!frametext__is_valgrind_alloc(frametext__strip(vg[1])), "a program frame is not");
	ok(frametext__is_main("main (basic.c:141)") && !frametext__is_main("mainly (x.c:1)") &&
	   !frametext__is_main("heap::main (h.rs:1)"), "main, exactly");
	ok(!strcmp(frametext__key("heap::main (dhat-rs/tests/heap.rs:38:18)", buf, sizeof(buf)),
		   "heap::main (dhat-rs/tests/heap.rs:38)"), "dhat-rs column dropped (%s)", buf);
	ok(!strcmp(frametext__key("f (a.c:12)", buf, sizeof(buf)), "f (a.c:12)"),
	   "file:line kept (%s)", buf);
	ok(!strcmp(frametext__key("f (in /lib/x:1:2:3)", buf, sizeof(buf)), "f (in /lib/x:1:2)"),
	   "only a last :number after :number goes (%s)", buf);
	n = frametext__span(vg, 4, 0, &first);
	ok(first == 1 && n == 2, "span: after Valgrind's malloc, up to main (%u+%u)", first, n);
	n = frametext__span(vg, 4, 1, &first);
	ok(first == 1 && n == 1, "span limited to 1 frame");
	ok(!strcmp(frametext__label(vg, 4, 2, buf, sizeof(buf)),
		   "site_leak (basic.c:48) <- main (basic.c:141)"), "label (%s)", buf);
}

static void test_patterns(void)
{
	const char *frames[] = { "0x1: init_config (config.c:12)", "0x2: main (main.c:3)" };
	const char *other[] = { "0x1: load (x.c:1)" };
	struct patterns *p = patterns__new();
	char path[] = "/tmp/dt-test-patterns-XXXXXX";
	unsigned int line;
	FILE *f;
	int fd;

	ok(!patterns__match(p, frames, 2), "no patterns: no match");
	patterns__add(p, "init_*");
	ok(patterns__match(p, frames, 2) && !patterns__match(p, other, 1), "glob on the function");
	patterns__free(p);
	p = patterns__new();
	patterns__add(p, "*config.c:12)");
	ok(patterns__match(p, frames, 2), "glob on the text without address");
	patterns__add(p, "0x1*");
	ok(!patterns__match(p, other, 1), "the address is not matched");
	patterns__free(p);

	p = patterns__new();
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs("# comment\n\n   load  \n", f);
	fclose(f);
	ok(!patterns__load(p, path, &line) && patterns__count(p) == 1 &&
	   patterns__match(p, other, 1), "file: comment and blank skipped, spaces trimmed");
	unlink(path);
	ok(patterns__load(p, path, &line) == -ENOENT, "missing file: -ENOENT");
	patterns__free(p);
}

static void test_gate(void)
{
	const char *a[] = { "0x1: leak (a.c:1)" }, *b[] = { "0x2: cache (b.c:2)" };
	struct patterns *ign = patterns__new();
	struct gate_opts o = { .leak = true, .leak_limit = 100, .peak = true, .peak_limit = 1000,
			       .show = 1 };
	struct gate *g;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	g = gate__new(&o);
	gate__add(g, &(struct gate_site){ 60, 6, 600, 6, a, 1, NULL });
	gate__add(g, &(struct gate_site){ 40, 4, 400, 4, b, 1, NULL });
	ok(!gate__failed(g), "100 bytes at t-end, limit 100; 1000 at the peak, limit 1000: pass");
	gate__add(g, &(struct gate_site){ 1, 1, 0, 0, b, 1, NULL });
	ok(gate__failed(g), "101 bytes: the leak check fails");
	f = open_memstream(&out, &len);
	gate__report(g, f, "> ");
	fclose(f);
	ok(strstr(out, "> leak check: FAIL: 101 bytes in 11 blocks in 3 sites at t-end") &&
	   strstr(out, "> peak check: ok: 1,000 bytes") &&
	   strstr(out, "60 bytes in         6 blocks: leak (a.c:1)") &&
	   strstr(out, "... and 2 more sites"), "report: verdicts, largest site, the rest counted");
	free(out);
	gate__free(g);

	patterns__add(ign, "cache");
	o.ignore = ign;
	o.leak_limit = 59;
	g = gate__new(&o);
	gate__add(g, &(struct gate_site){ 60, 6, 600, 6, a, 1, NULL });
	gate__add(g, &(struct gate_site){ 4000, 4, 4000, 4, b, 1, NULL });
	ok(gate__failed(g), "ignored cache does not count, 60 > 59 still fails");
	f = open_memstream(&out, &len);
	gate__report(g, f, "");
	fclose(f);
	ok(strstr(out, "leak check: FAIL: 60 bytes in 6 blocks in 1 sites at t-end (limit 59 "
		   "bytes); ignored: 4,000 bytes in 1 sites") &&
	   strstr(out, "peak check: ok: 600 bytes"), "ignored bytes said, not counted");
	free(out);
	gate__free(g);
	patterns__free(ign);
}

/* More offenders than shown: exactly `show` of them, then how many more. */
static void test_show(void)
{
	const char *f[] = { "0x1: site (x.c:1)" };
	struct gate *g = gate__new(&(struct gate_opts){ .leak = true, .show = 3 });
	char *out = NULL, *p;
	size_t len = 0;
	int lines = 0;
	FILE *m;

	for (int i = 1; i <= 7; i++)
		gate__add(g, &(struct gate_site){ (uint64_t)i, 1, 0, 0, f, 1, i == 7 ? "top" : NULL });
	m = open_memstream(&out, &len);
	gate__report(g, m, "");
	fclose(m);
	for (p = out; (p = strstr(p, " blocks: ")); p++)
		lines++;
	ok(lines == 3 && strstr(out, "... and 4 more sites"), "7 offenders, show 3: 3 lines, 4 more");
	ok(strstr(out, "1 blocks: top\n") != NULL, "a site's own label, when given, is its line");
	free(out);
	gate__free(g);
}

int main(void)
{
	test_frametext();
	test_patterns();
	test_gate();
	test_show();
	return tap_done();
}
