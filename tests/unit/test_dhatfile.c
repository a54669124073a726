// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/* The DHAT reader on documents built here: the viewer's rules, one by one. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "dhatfile.h"
#include "tap.h"

/* dhat-format.md §8, the minimal example the viewer was seen to load. */
#define HEAD "{\"dhatFileVersion\":2,\"mode\":\"heap\",\"verb\":\"Allocated\",\"bklt\":true," \
	"\"bkacc\":false,\"tu\":\"µs\",\"Mtu\":\"s\",\"tuth\":500,\"cmd\":\"./leak\"," \
	"\"pid\":4242,\"te\":2000,\"tg\":1500,"
#define PP1 "{\"tb\":300,\"tbk\":3,\"tl\":2400,\"mb\":300,\"mbk\":3,\"gb\":300,\"gbk\":3," \
	"\"eb\":300,\"ebk\":3,\"fs\":[1,2]}"
#define PP2 "{\"tb\":5000,\"tbk\":5,\"tl\":50,\"mb\":1000,\"mbk\":1,\"gb\":1000,\"gbk\":1," \
	"\"eb\":0,\"ebk\":0,\"fs\":[3,4]}"
#define FTBL "\"ftbl\":[\"[root]\",\"0x401136: leak_small (leak.c:43)\"," \
	"\"0x401190: main (leak.c:65)\",\"0x401170: temp_buffer (leak.c:57)\"," \
	"\"0x4011a4: main (leak.c:67)\"]"
#define GOOD HEAD "\"pps\":[" PP1 "," PP2 "]," FTBL "}"

static char why[256];

static struct dhatfile *parse(const char *s)
{
	why[0] = '\0';
	return dhatfile__parse(s, strlen(s), why, sizeof(why));
}

/* Rejected with a reason that contains want, on one line. */
static void rejects(const char *doc, const char *want, const char *what)
{
	struct dhatfile *f = parse(doc);

	ok(!f && errno == EINVAL && strstr(why, want) && !strchr(why, '\n'), "%s: rejected (%s)",
	   what, why);
	dhatfile__free(f);
}

static void test_good(void)
{
	struct dhatfile *f = parse(GOOD);
	const struct dhat_totals *t;
	const struct dhat_pp *pp;

	ok(f != NULL, "the minimal example loads (%s)", why);
	if (!f)
		return;
	t = dhatfile__totals(f);
	is_u64(t->tb, 5300, "total bytes: sum of tb");
	is_u64(t->tbk, 8, "total blocks");
	is_u64(t->gb, 1300, "t-gmax bytes");
	is_u64(t->gbk, 4, "t-gmax blocks");
	is_u64(t->eb, 300, "t-end bytes");
	is_u64(t->ebk, 3, "t-end blocks");
	is_u64(dhatfile__pp_count(f), 2, "two program points");
	pp = dhatfile__pp(f, 1);
	is_u64(pp->nr_frames, 2, "pps[1] has two frames");
	ok(!strcmp(pp->frames[0], "0x401170: temp_buffer (leak.c:57)"), "pps[1] innermost frame");
	is_u64(pp->tl, 50, "pps[1].tl");
	is_u64(dhatfile__info(f)->tg, 1500, "tg");
	ok(dhatfile__info(f)->bklt && !strcmp(dhatfile__info(f)->cmd, "./leak"), "bklt, cmd");
	dhatfile__free(f);
}

static void test_rejects(void)
{
	rejects("", "empty", "empty");
	rejects(" \n\t ", "empty", "whitespace only");
	rejects("{\"dhatFileVersion\":2,\"mode\"", "truncated", "truncated");
	rejects("{\"a\":1,}", "not JSON", "trailing comma (JSON.parse rejects it)");
	rejects(GOOD "x", "not JSON", "garbage after the document");
	rejects("[]", "not an object", "an array");
	rejects("{\"hello\":1}", "missing a field: dhatFileVersion", "other JSON");
	rejects("{\"dhatFileVersion\":2,\"mode\":\"heap\",\"verb\":\"A\",\"bklt\":false,"
		"\"bkacc\":false,\"tu\":\"x\",\"Mtu\":\"y\",\"cmd\":\"c\",\"pid\":1,\"te\":0,"
		"\"ftbl\":[]}", "missing a field: pps", "no pps");
	rejects("{\"dhatfileversion\":2}", "missing a field: dhatFileVersion", "case matters");
	rejects("{\"dhatFileVersion\":3,\"mode\":\"heap\",\"verb\":\"A\",\"bklt\":false,"
		"\"bkacc\":false,\"tu\":\"x\",\"Mtu\":\"y\",\"cmd\":\"c\",\"pid\":1,\"te\":0,"
		"\"pps\":[],\"ftbl\":[]}", "version number 3", "version 3");
	rejects("{\"dhatFileVersion\":2,\"mode\":\"heap\",\"verb\":\"A\",\"bklt\":true,"
		"\"bkacc\":false,\"tu\":\"x\",\"Mtu\":\"y\",\"cmd\":\"c\",\"pid\":1,\"te\":0,"
		"\"tuth\":1,\"pps\":[],\"ftbl\":[]}", "missing a field: tg", "bklt without tg");
	rejects(HEAD "\"pps\":[{\"tb\":1,\"tbk\":1,\"fs\":[1]}]," FTBL "}",
		"pps[0] is missing a field: mb", "bklt: a PP without mb");
	rejects(HEAD "\"pps\":[" PP1 "," PP1 "]," FTBL "}", "repeated location", "repeated location");
	rejects(HEAD "\"pps\":[" PP1 ",{\"tb\":1,\"tbk\":1,\"mb\":1,\"mbk\":1,\"gb\":1,\"gbk\":1,"
		"\"eb\":1,\"ebk\":1,\"fs\":[5]}]," FTBL "}", "pps[1].fs[0] is not an index",
		"fs index past ftbl");
	rejects(HEAD "\"pps\":[{\"tb\":1.5,\"tbk\":1,\"mb\":1,\"mbk\":1,\"gb\":1,\"gbk\":1,"
		"\"eb\":1,\"ebk\":1,\"fs\":[1]}]," FTBL "}", "pps[0].tb is not", "fractional tb");
	rejects(HEAD "\"pps\":[{\"tb\":1,\"tbk\":1,\"mb\":1,\"mbk\":1,\"gb\":1,\"gbk\":1,"
		"\"eb\":1,\"ebk\":1,\"acc\":[-2],\"fs\":[1]}]," FTBL "}", "too-large access",
		"acc: a repeat count with nothing to repeat");
	rejects(HEAD "\"pps\":[{\"tb\":1,\"tbk\":1,\"mb\":1,\"mbk\":1,\"gb\":1,\"gbk\":1,"
		"\"eb\":1,\"ebk\":1,\"acc\":[65536],\"fs\":[1]}]," FTBL "}", "too-large access",
		"acc: 65536");
	rejects(HEAD "\"pps\":[]," "\"ftbl\":[\"[root]\",7]}", "ftbl[1] is not a string",
		"a number in ftbl");
}

static void test_accepts(void)
{
	struct dhatfile *f;
	const struct dhat_suspect *s;
	uint32_t skipped = 0;

	/* The viewer compares the version with != and checks presence only. */
	f = parse("{\"dhatFileVersion\":\"2\",\"mode\":null,\"verb\":1,\"bklt\":0,\"bkacc\":\"\","
		  "\"tu\":\"x\",\"Mtu\":\"y\",\"cmd\":\"c\",\"pid\":1,\"te\":\"soon\","
		  "\"pps\":[{\"tb\":7,\"tbk\":1,\"fs\":[]},{\"tb\":1,\"tbk\":1,\"fs\":[1]}],"
		  "\"ftbl\":[\"[root]\",\"0x1: ???\"]}");
	ok(f && !dhatfile__info(f)->bklt && dhatfile__totals(f)->tb == 8,
	   "loose but valid to the viewer: \"2\", falsy bklt, a PP with no frames (%s)", why);
	dhatfile__free(f);
	f = parse(HEAD "\"pps\":[" PP1 "," PP2 "]," FTBL ",\"dhatTrace\":{\"suspects\":["
		  "{\"pp\":1,\"reason\":\"LEAK? grows\"},{\"pp\":2,\"reason\":\"x\"},{\"pp\":0}]}}");
	ok(f && dhatfile__suspects(f, &s, &skipped) == 1 && s[0].pp == 1 &&
	   !strcmp(s[0].reason, "LEAK? grows") && skipped == 2,
	   "dhatTrace.suspects: one read, two malformed skipped");
	dhatfile__free(f);
	f = parse(GOOD);
	ok(f && dhatfile__suspects(f, &s, &skipped) == 0 && skipped == 0, "no suspects: none");
	dhatfile__free(f);
	/* Not NUL-terminated: a buffer of exactly the document's size. */
	f = dhatfile__parse(GOOD "garbage", strlen(GOOD), why, sizeof(why));
	ok(f != NULL, "length, not NUL, ends the document");
	dhatfile__free(f);
}

int main(void)
{
	test_good();
	test_rejects();
	test_accepts();
	return tap_done();
}
