// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The DHAT v2 document (dhat-format.md).  Frame strings are de-duplicated
 * into ftbl in order of first use, as valgrind does; ftbl[0] is "[root]".
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "dhat_json.h"
#include "util.h"

#define TUTH_US 500

struct ftbl {
	cJSON *arr;
	const char **keys;	/* open addressing: string -> index */
	uint32_t *vals;
	uint32_t mask, count;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static int ftbl_grow(struct ftbl *t)
{
	uint32_t n = (t->mask + 1) * 2, i, j;
	const char **keys = calloc(n, sizeof(*keys));
	uint32_t *vals = calloc(n, sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (i = 0; i <= t->mask; i++) {
		if (!t->keys[i])
			continue;
		j = str_hash(t->keys[i]) & (n - 1);
		while (keys[j])
			j = (j + 1) & (n - 1);
		keys[j] = t->keys[i];
		vals[j] = t->vals[i];
	}
	free(t->keys);
	free(t->vals);
	t->keys = keys;
	t->vals = vals;
	t->mask = n - 1;
	return 0;
}

/* Index of s in ftbl, appended on first use; -1 on ENOMEM. */
static int64_t ftbl_index(struct ftbl *t, const char *s)
{
	uint32_t j;

	if ((t->count + 1) * 2 > t->mask + 1 && ftbl_grow(t))
		return -1;
	j = str_hash(s) & t->mask;
	while (t->keys[j]) {
		if (strcmp(t->keys[j], s) == 0)
			return t->vals[j];
		j = (j + 1) & t->mask;
	}
	if (!cJSON_AddItemToArray(t->arr, cJSON_CreateString(s)))
		return -1;
	t->keys[j] = s;
	t->vals[j] = t->count;
	return t->count++;
}

/* Exact integers: cJSON keeps numbers as doubles. */
static int add_u64(cJSON *obj, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_AddRawToObject(obj, key, buf) ? 0 : -ENOMEM;
}

static int add_fs(cJSON *pp, struct ftbl *t, struct stacks *stacks, uint32_t idx,
		  dt_describe_fn describe, void *ctx)
{
	cJSON *fs = cJSON_AddArrayToObject(pp, "fs");
	const uint64_t *ips;
	uint32_t nr, i;
	int64_t fi;
	int n, k;

	if (!fs)
		return -ENOMEM;
	ips = stacks__frames(stacks, idx, &nr);
	if (!nr) {
		fi = ftbl_index(t, "0x0: [stack not captured]");
		if (fi < 0 || !cJSON_AddItemToArray(fs, cJSON_CreateNumber((double)fi)))
			return -ENOMEM;
		return 0;
	}
	for (i = 0; i < nr; i++) {
		const char *const *strs;

		n = describe(ctx, ips[i], &strs);
		for (k = 0; k < n; k++) {
			fi = ftbl_index(t, strs[k]);
			if (fi < 0 || !cJSON_AddItemToArray(fs, cJSON_CreateNumber((double)fi)))
				return -ENOMEM;
		}
	}
	return 0;
}

static int add_pps(cJSON *root, struct acct *a, struct ftbl *t, dt_describe_fn describe,
		   void *ctx)
{
	struct pps *pps = acct__pps(a);
	cJSON *arr = cJSON_AddArrayToObject(root, "pps");
	uint32_t i, n = pps__count(pps);
	int err = 0;

	if (!arr)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++) {
		struct dt_pp *p = pps__get(pps, i);
		cJSON *o;

		if (!p->tbk)
			continue;
		o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(arr, o))
			return -ENOMEM;
		err = add_u64(o, "tb", p->tb) ?: add_u64(o, "tbk", p->tbk) ?:
		      add_u64(o, "tl", p->tl / NSEC_PER_USEC) ?:
		      add_u64(o, "mb", p->mb) ?: add_u64(o, "mbk", p->mbk) ?:
		      add_u64(o, "gb", p->gb) ?: add_u64(o, "gbk", p->gbk) ?:
		      add_u64(o, "eb", p->curr_b) ?: add_u64(o, "ebk", p->curr_bk) ?:
		      add_fs(o, t, acct__stacks(a), i, describe, ctx);
	}
	return err;
}

static int add_header(cJSON *root, struct acct *a, const struct dt_doc *doc)
{
	const struct dt_totals *tot = pps__totals(acct__pps(a));
	cJSON *extra;
	char *cmd;
	int i, err;

	if (asprintf(&cmd, "%s%s%s%s", doc->cmd ? doc->cmd : "?", doc->note ? " [" : "",
		     doc->note ? doc->note : "", doc->note ? "]" : "") < 0)
		return -ENOMEM;
	err = add_u64(root, "dhatFileVersion", 2);
	if (!cJSON_AddStringToObject(root, "mode", "heap") ||
	    !cJSON_AddStringToObject(root, "verb", "Allocated") ||
	    !cJSON_AddBoolToObject(root, "bklt", 1) || !cJSON_AddBoolToObject(root, "bkacc", 0) ||
	    !cJSON_AddStringToObject(root, "tu", "µs") || !cJSON_AddStringToObject(root, "Mtu", "s") ||
	    !cJSON_AddStringToObject(root, "cmd", cmd))
		err = -ENOMEM;
	free(cmd);
	err = err ?: add_u64(root, "tuth", TUTH_US) ?: add_u64(root, "pid", (uint64_t)doc->pid) ?:
	      add_u64(root, "te", doc->t_end / NSEC_PER_USEC) ?:
	      add_u64(root, "tg", tot->t_gmax / NSEC_PER_USEC);
	if (err)
		return err;
	extra = cJSON_AddObjectToObject(root, "dhatTrace");
	if (!extra || !cJSON_AddStringToObject(extra, "version", DT_VERSION))
		return -ENOMEM;
	for (i = 0; i < doc->nr_stats && !err; i++)
		err = add_u64(extra, doc->stat_names[i], doc->stat_values[i]);
	return err;
}

char *dhat_json__render(struct acct *a, const struct dt_doc *doc, dt_describe_fn describe,
			void *ctx)
{
	struct ftbl t = { .mask = 1023 };
	cJSON *root = cJSON_CreateObject();
	char *out = NULL;

	t.keys = calloc(t.mask + 1, sizeof(*t.keys));
	t.vals = calloc(t.mask + 1, sizeof(*t.vals));
	t.arr = cJSON_CreateArray();
	if (!root || !t.keys || !t.vals || !t.arr)
		goto cleanup;
	/* The viewer treats ftbl[0] as the tree's root. */
	if (ftbl_index(&t, "[root]") != 0)
		goto cleanup;
	if (add_header(root, a, doc) || add_pps(root, a, &t, describe, ctx))
		goto cleanup;
	cJSON_AddItemToObject(root, "ftbl", t.arr);
	t.arr = NULL;
	out = cJSON_PrintUnformatted(root);
cleanup:
	cJSON_Delete(t.arr);
	cJSON_Delete(root);
	free(t.keys);
	free(t.vals);
	return out;
}

int dhat_json__write(const char *path, struct acct *a, const struct dt_doc *doc,
		     dt_describe_fn describe, void *ctx, const char **failed_step)
{
	char *text = NULL, *tmp = NULL, *dup = NULL;
	const char *base;
	FILE *f = NULL;
	int fd = -1, err = 0;
	size_t len;

	*failed_step = "render the document";
	text = dhat_json__render(a, doc, describe, ctx);
	dup = strdup(path);
	if (!text || !dup) {
		err = -ENOMEM;
		goto cleanup;
	}
	*failed_step = "create a temporary file";
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (asprintf(&tmp, "%s/.%s.XXXXXX", dirname(dup), base) < 0) {
		tmp = NULL;
		err = -ENOMEM;
		goto cleanup;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	fchmod(fd, 0644);
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		goto cleanup;
	}
	fd = -1;
	*failed_step = "write";
	len = strlen(text);
	if (fwrite(text, 1, len, f) != len || fputc('\n', f) == EOF || fflush(f) ||
	    fsync(fileno(f))) {
		err = errno ? -errno : -EIO;
		goto cleanup;
	}
	err = fclose(f) ? -errno : 0;
	f = NULL;
	if (err)
		goto cleanup;
	*failed_step = "rename the temporary file";
	if (rename(tmp, path)) {
		err = -errno;
		goto cleanup;
	}
	free(tmp);
	tmp = NULL;
cleanup:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dup);
	free(text);
	return err;
}
