// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/* The DHAT document: required fields (dhat-format.md §5), frame table,
 * escaping, exact integers, and the write-then-name contract. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/types.h>
#include <cjson/cJSON.h>
#include "dhat_abi.h"
#include "dhat_json.h"
#include "tap.h"

/* Two strings (an inlined frame and its caller) for ip 0x2000, one otherwise. */
static int fake_describe(void *ctx, uint64_t ip, const char *const **strs)
{
	static const char *const inl[] = { "0x1FFF: inner (a.c:1)", "0x1FFF: outer (a.c:9)" };
	static const char *const weird[] = { "0xAB: q\"uo\\te\x01 (in /x)" };
	static const char *const other[] = { "0x3FFF: main (m.c:3)" };

	(void)ctx;
	*strs = ip == 0x2000 ? inl : ip == 0xAC ? weird : other;
	return ip == 0x2000 ? 2 : 1;
}

static void feed(struct acct *a)
{
	struct dt_rec_stack s = { .kind = DT_REC_STACK, .nr_frames = 2, .stack_id = 7 };
	struct dt_rec_alloc r = { DT_REC_ALLOC, DT_FN_MALLOC, 2000, 0x10, 5000000000000ULL, 7 };
	struct dt_rec_alloc r2 = { DT_REC_ALLOC, DT_FN_MALLOC, 3000, 0x20, 3, 8 };

	s.ips[0] = 0x2000;
	s.ips[1] = 0x4000;
	acct__handle(a, &s, DT_REC_STACK_HDR + 16);
	s.stack_id = 8;
	s.nr_frames = 1;
	s.ips[0] = 0xAC;
	acct__handle(a, &s, DT_REC_STACK_HDR + 8);
	acct__handle(a, &r, sizeof(r));
	acct__handle(a, &r2, sizeof(r2));
}

/* Names in dir, but . and .. */
static uint64_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t n = 0;

	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

static const char *const stat_names[] = { "lost_events" };
static const uint64_t stat_values[] = { 42 };

/* Asked for at the end of the document. */
static int late_stats(void *ctx, const char **names, uint64_t *values)
{
	names[0] = "late";
	values[0] = *(uint64_t *)ctx;
	return 1;
}

int main(void)
{
	static const char *const required[] = { "dhatFileVersion", "mode", "verb", "bklt", "bkacc",
						"tu", "Mtu", "cmd", "pid", "te", "pps", "ftbl",
						"tg", "tuth" };
	static const char *const pp_fields[] = { "tb", "tbk", "fs", "mb", "mbk", "gb", "gbk",
						 "eb", "ebk", "tl" };
	uint64_t late = 123456789012345ULL;	/* below 2^53: cJSON keeps it exact */
	struct dt_doc doc = { .cmd = "./prog \"x\"\n\t", .pid = 4242, .t_end = 9000000,
			      .note = "lost 1", .stat_names = stat_names,
			      .stat_values = stat_values, .nr_stats = 1,
			      .stats = late_stats, .stats_ctx = &late };
	char *again;
	struct acct *a = acct__new(1000);
	char *text, dir[] = "/tmp/dt-json-XXXXXX", path[256];
	cJSON *root, *pps, *ftbl, *pp, *fs;
	const char *step;
	struct stat st;
	volatile sig_atomic_t abandon;
	int fd;
	size_t i;

	feed(a);
	acct__finish(a, 9001000);
	text = dhat_json__render(a, &doc, fake_describe, NULL);
	ok(text != NULL, "document rendered");
	root = cJSON_Parse(text);
	ok(root != NULL, "document is valid JSON");
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		ok(cJSON_HasObjectItem(root, required[i]), "top-level field %s", required[i]);
	is_u64(cJSON_GetObjectItem(root, "dhatFileVersion")->valueint, 2, "version 2");
	ok(cJSON_IsFalse(cJSON_GetObjectItem(root, "bkacc")), "bkacc false");
	ok(strcmp(cJSON_GetObjectItem(root, "cmd")->valuestring, "./prog \"x\"\n\t [lost 1]") == 0,
	   "cmd carries the loss note");
	/* Written as cJSON_PrintUnformatted writes it, byte for byte. */
	again = cJSON_PrintUnformatted(root);
	ok(again && strcmp(again, text) == 0, "streamed text is what cJSON prints");
	free(again);
	ok(strstr(text, ",\"late\":123456789012345}}") != NULL,
	   "counters from the stats callback close the document");
	is_u64(cJSON_GetObjectItem(root, "te")->valuedouble, 9000, "te in microseconds");
	is_u64(cJSON_GetObjectItem(root, "tg")->valuedouble, 2, "tg in microseconds, latest peak");
	is_u64(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "dhatTrace"), "lost_events")->valueint,
	       42, "extra counters in dhatTrace");
	ftbl = cJSON_GetObjectItem(root, "ftbl");
	ok(strcmp(cJSON_GetArrayItem(ftbl, 0)->valuestring, "[root]") == 0, "ftbl[0] is [root]");
	is_u64(cJSON_GetArraySize(ftbl), 5, "frame strings de-duplicated (root + 4)");
	pps = cJSON_GetObjectItem(root, "pps");
	is_u64(cJSON_GetArraySize(pps), 2, "two program points");
	pp = cJSON_GetArrayItem(pps, 0);
	for (i = 0; i < sizeof(pp_fields) / sizeof(pp_fields[0]); i++)
		ok(cJSON_HasObjectItem(pp, pp_fields[i]), "pp field %s", pp_fields[i]);
	ok(strstr(text, "\"tb\":5000000000000,") != NULL, "large counts written as exact integers");
	fs = cJSON_GetObjectItem(pp, "fs");
	is_u64(cJSON_GetArraySize(fs), 3, "inlined frames expanded in fs");
	ok(strcmp(cJSON_GetArrayItem(ftbl, cJSON_GetArrayItem(fs, 1)->valueint)->valuestring,
		  "0x1FFF: outer (a.c:9)") == 0, "fs innermost first");
	ok(strstr(text, "q\\\"uo\\\\te\\u0001 (in /x)") != NULL,
	   "quote, backslash and control bytes escaped");
	cJSON_Delete(root);
	free(text);

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(path, sizeof(path), "%s/out.json", dir);
	ok(dhat_json__write(path, a, &doc, fake_describe, NULL, &step) == 0, "write succeeds");
	ok(stat(path, &st) == 0 && st.st_size > 100, "file written");
	ok((st.st_mode & 0777) == 0644, "mode 0644 (%o)", st.st_mode & 0777);
	ok(dhat_json__write(path, a, &doc, fake_describe, NULL, &step) == 0,
	   "write over an existing file succeeds");
	is_u64(entries(dir), 1, "and leaves no temporary beside it");
	unlink(path);
	abandon = 1;
	doc.abandon = &abandon;
	ok(dhat_json__write(path, a, &doc, fake_describe, NULL, &step) == -ECANCELED,
	   "an abandoned write fails with ECANCELED");
	is_u64(entries(dir), 0, "and leaves nothing in the directory");
	doc.abandon = NULL;
	snprintf(path, sizeof(path), "%s/fd.json", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && dhat_json__write_fd(fd, a, &doc, fake_describe, NULL, &step) == 0,
	   "write to an fd succeeds");
	again = dhat_json__render(a, &doc, fake_describe, NULL);
	ok(again && stat(path, &st) == 0 && (size_t)st.st_size == strlen(again) + 1,
	   "the fd gets the document and a newline");
	ok(fcntl(fd, F_GETFD) >= 0, "and stays open");
	free(again);
	close(fd);
	unlink(path);
	snprintf(path, sizeof(path), "%s/missing/out.json", dir);
	ok(dhat_json__write(path, a, &doc, fake_describe, NULL, &step) < 0,
	   "write into a missing directory fails (%s)", step);
	ok(stat(path, &st) != 0, "and leaves no file");
	rmdir(dir);
	acct__free(a);
	return tap_done();
}
