// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The checks follow dh_view.js 3.19 (checkFields, checkPP, buildTree,
 * normalizeAccess) in its order, and its error texts where it has one.
 * The cJSON tree is kept for its strings (ftbl, cmd, suspects' reasons);
 * the pps subtree, by far its largest part, is freed once read.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "dhatfile.h"
#include "util.h"

struct dhatfile {
	cJSON *root;
	struct dhatfile_info info;
	struct dhat_totals totals;
	struct dhat_pp *pps;
	uint32_t nr_pps;
	const char **frames;	/* every PP's frames, one after the other */
	struct dhat_suspect *suspects;
	uint32_t nr_suspects, bad_suspects;
	bool bkacc;
};

static int fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* JavaScript's truthiness, which the viewer applies to bklt and bkacc. */
static bool truthy(const cJSON *v)
{
	if (cJSON_IsTrue(v) || cJSON_IsArray(v) || cJSON_IsObject(v))
		return true;
	if (cJSON_IsNumber(v))
		return v->valuedouble != 0 && !isnan(v->valuedouble);
	return cJSON_IsString(v) && v->valuestring[0];
}

/* A count: a non-negative integer below 2^64. */
static bool count_of(const cJSON *v, uint64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	if (!(d >= 0 && d < 18446744073709551616.0) || d != floor(d))
		return false;
	*out = (uint64_t)d;
	return true;
}

/* hasOwnProperty: case matters, unlike in cJSON_HasObjectItem. */
static bool has(const cJSON *obj, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(obj, name) != NULL;
}

static const char *string_or_empty(const cJSON *obj, const char *name)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, name));

	return s ? s : "";
}

/* Whether buf is the start of a JSON text cut short: inside a string, or
 * with brackets left open and none closed wrongly.  cJSON's error position
 * cannot tell (it points past the end for "{\"a\":1,}" too). */
static bool cut_short(const char *buf, size_t len)
{
	char open[CJSON_NESTING_LIMIT + 1];
	size_t depth = 0, i;
	bool in_str = false;

	for (i = 0; i < len; i++) {
		char ch = buf[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == '{' || ch == '[') {
			if (depth == sizeof(open))
				return false;
			open[depth++] = ch;
		} else if (ch == '}' || ch == ']') {
			if (!depth || open[--depth] != (ch == '}' ? '{' : '['))
				return false;
		}
	}
	return in_str || depth;
}

static int syntax_error(const char *buf, size_t len, const char *at, char *why, size_t why_len)
{
	size_t pos = at && at >= buf && at < buf + len ? (size_t)(at - buf) : len, i, line = 1,
	       col = 1;

	if (cut_short(buf, len))
		return fail(why, why_len, "truncated: the JSON ends after %zu bytes, inside a value",
			    len);
	for (i = 0; i < pos; i++) {
		col++;
		if (buf[i] == '\n') {
			line++;
			col = 1;
		}
	}
	return fail(why, why_len, "not JSON: syntax error near line %zu, column %zu", line, col);
}

/* The top-level fields, in the order the viewer checks them. */
static int check_top(struct dhatfile *f, char *why, size_t len)
{
	static const char *const always[] = { "dhatFileVersion", "mode", "verb", "bklt", "bkacc",
					      "tu", "Mtu", "cmd", "pid", "te", "pps", "ftbl" };
	const cJSON *r = f->root, *v;
	char *end;
	double version;
	size_t i;

	if (!cJSON_IsObject(r))
		return fail(why, len, "not a DHAT file: the JSON is not an object");
	for (i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		if (!has(r, always[i]))
			return fail(why, len, "not a DHAT file: missing a field: %s", always[i]);
	/* The viewer compares with JavaScript's !=, so "2" passes too. */
	v = cJSON_GetObjectItemCaseSensitive(r, "dhatFileVersion");
	version = cJSON_IsNumber(v) ? v->valuedouble : NAN;
	if (cJSON_IsString(v) && v->valuestring[0]) {
		version = strtod(v->valuestring, &end);
		if (end[strspn(end, " \t\r\n")])
			version = NAN;
	}
	if (version != 2) {
		if (cJSON_IsNumber(v))
			return fail(why, len, "data file has version number %g, expected version "
				    "number 2", v->valuedouble);
		return fail(why, len, "data file has a version number that is not 2");
	}
	f->info.bklt = truthy(cJSON_GetObjectItemCaseSensitive(r, "bklt"));
	f->bkacc = truthy(cJSON_GetObjectItemCaseSensitive(r, "bkacc"));
	if (f->info.bklt && !has(r, "tg"))
		return fail(why, len, "not a DHAT file: missing a field: tg");
	if (f->info.bklt && !has(r, "tuth"))
		return fail(why, len, "not a DHAT file: missing a field: tuth");
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(r, "pps")))
		return fail(why, len, "pps is not an array");
	v = cJSON_GetObjectItemCaseSensitive(r, "ftbl");
	if (!cJSON_IsArray(v))
		return fail(why, len, "ftbl is not an array");
	i = 0;
	for (v = v->child; v; v = v->next, i++)
		if (!cJSON_IsString(v))
			return fail(why, len, "ftbl[%zu] is not a string", i);
	f->info.mode = string_or_empty(r, "mode");
	f->info.cmd = string_or_empty(r, "cmd");
	f->info.tu = string_or_empty(r, "tu");
	/* Shown, never added up: a value that is not a count reads as 0. */
	count_of(cJSON_GetObjectItemCaseSensitive(r, "te"), &f->info.te);
	if (f->info.bklt)
		count_of(cJSON_GetObjectItemCaseSensitive(r, "tg"), &f->info.tg);
	f->info.dhat_trace = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "dhatTrace"));
	return 0;
}

/* The viewer expands acc's run-length code and throws on a value above
 * 0xffff (normalizeAccess), also on a repeat count with no value after it. */
static int check_acc(const cJSON *acc, uint32_t i, char *why, size_t len)
{
	const cJSON *v;

	if (!truthy(acc) || !cJSON_IsArray(acc))
		return 0;
	for (v = acc->child; v; v = v->next) {
		/* A repeat count with nothing after it repeats undefined. */
		if (cJSON_IsNumber(v) && v->valuedouble < 0 && !(v = v->next))
			return fail(why, len, "pps[%u]: assertion failed: too-large access value", i);
		if (cJSON_IsObject(v) || (cJSON_IsNumber(v) && v->valuedouble > 0xffff))
			return fail(why, len, "pps[%u]: assertion failed: too-large access value", i);
	}
	return 0;
}

static int read_pp(struct dhatfile *f, const cJSON *o, uint32_t i, const char *const *ftbl,
		   uint32_t nr_ftbl, const char **frames, char *why, size_t len)
{
	static const char *const basic[] = { "tb", "tbk", "fs" };
	static const char *const lifetimes[] = { "mb", "mbk", "gb", "gbk", "eb", "ebk" };
	struct dhat_pp *pp = &f->pps[i];
	uint64_t *const lt_vals[] = { &pp->mb, &pp->mbk, &pp->gb, &pp->gbk, &pp->eb, &pp->ebk };
	const cJSON *fs, *v;
	uint64_t idx;
	uint32_t k;

	if (!cJSON_IsObject(o))
		return fail(why, len, "pps[%u] is not an object", i);
	for (k = 0; k < 3; k++)
		if (!has(o, basic[k]))
			return fail(why, len, "pps[%u] is missing a field: %s", i, basic[k]);
	for (k = 0; f->info.bklt && k < 6; k++)
		if (!has(o, lifetimes[k]))
			return fail(why, len, "pps[%u] is missing a field: %s", i, lifetimes[k]);
	if (f->bkacc && (!has(o, "rb") || !has(o, "wb")))
		return fail(why, len, "pps[%u] is missing a field: %s", i,
			    has(o, "rb") ? "wb" : "rb");
	if (check_acc(cJSON_GetObjectItemCaseSensitive(o, "acc"), i, why, len))
		return -EINVAL;
	if (!count_of(cJSON_GetObjectItemCaseSensitive(o, "tb"), &pp->tb))
		return fail(why, len, "pps[%u].tb is not a non-negative integer", i);
	if (!count_of(cJSON_GetObjectItemCaseSensitive(o, "tbk"), &pp->tbk))
		return fail(why, len, "pps[%u].tbk is not a non-negative integer", i);
	/* Optional where the viewer does not need them; counted when given. */
	for (k = 0; k < 6; k++) {
		v = cJSON_GetObjectItemCaseSensitive(o, lifetimes[k]);
		if (v && !count_of(v, lt_vals[k]))
			return fail(why, len, "pps[%u].%s is not a non-negative integer", i,
				    lifetimes[k]);
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "tl");
	if (v && !count_of(v, &pp->tl))
		return fail(why, len, "pps[%u].tl is not a non-negative integer", i);
	fs = cJSON_GetObjectItemCaseSensitive(o, "fs");
	if (!cJSON_IsArray(fs))
		return fail(why, len, "pps[%u].fs is not an array", i);
	pp->frames = frames;
	for (k = 0, v = fs->child; v; v = v->next, k++) {
		if (!count_of(v, &idx) || idx >= nr_ftbl)
			return fail(why, len, "pps[%u].fs[%u] is not an index into ftbl (%u "
				    "entries)", i, k, nr_ftbl);
		frames[k] = ftbl[idx];
	}
	pp->nr_frames = k;
	return 0;
}

/* Frames compared by identity: one ftbl entry, one string. */
static int cmp_frames(const void *a, const void *b)
{
	const struct dhat_pp *x = *(const struct dhat_pp *const *)a;
	const struct dhat_pp *y = *(const struct dhat_pp *const *)b;
	uint32_t i;

	for (i = 0; i < x->nr_frames && i < y->nr_frames; i++)
		if (x->frames[i] != y->frames[i])
			return (uintptr_t)x->frames[i] < (uintptr_t)y->frames[i] ? -1 : 1;
	if (x->nr_frames != y->nr_frames)
		return x->nr_frames < y->nr_frames ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* buildTree throws on two PPs with the same fs ("repeated location"). */
static int check_repeats(struct dhatfile *f, char *why, size_t len)
{
	const struct dhat_pp **by;
	uint32_t i;
	int err = 0;

	if (f->nr_pps < 2)
		return 0;
	by = malloc(f->nr_pps * sizeof(*by));
	if (!by)
		return fail(why, len, "out of memory");
	for (i = 0; i < f->nr_pps; i++)
		by[i] = &f->pps[i];
	qsort(by, f->nr_pps, sizeof(*by), cmp_frames);
	for (i = 1; i < f->nr_pps && !err; i++) {
		const struct dhat_pp *a = by[i - 1], *b = by[i];

		if (a->nr_frames == b->nr_frames &&
		    !memcmp(a->frames, b->frames, a->nr_frames * sizeof(*a->frames)))
			err = fail(why, len, "data file contains a repeated location: pps[%td] and "
				   "pps[%td] have the same frames", a - f->pps, b - f->pps);
	}
	free(by);
	return err;
}

static int read_pps(struct dhatfile *f, char *why, size_t len)
{
	const cJSON *pps = cJSON_GetObjectItemCaseSensitive(f->root, "pps");
	const cJSON *ftbl = cJSON_GetObjectItemCaseSensitive(f->root, "ftbl"), *v, *fs;
	const char **strs = NULL;
	size_t nr_frames = 0;
	uint32_t nr_ftbl = 0, i;
	int err = 0;

	for (v = ftbl->child; v; v = v->next)
		if (++nr_ftbl == UINT32_MAX)
			return fail(why, len, "ftbl has too many entries");
	for (v = pps->child; v; v = v->next) {
		if (++f->nr_pps == UINT32_MAX)
			return fail(why, len, "pps has too many entries");
		fs = cJSON_GetObjectItemCaseSensitive(v, "fs");
		nr_frames += (size_t)cJSON_GetArraySize(cJSON_IsArray(fs) ? fs : NULL);
	}
	strs = malloc((nr_ftbl ? nr_ftbl : 1) * sizeof(*strs));
	f->pps = calloc(f->nr_pps ? f->nr_pps : 1, sizeof(*f->pps));
	f->frames = malloc((nr_frames ? nr_frames : 1) * sizeof(*f->frames));
	if (!strs || !f->pps || !f->frames) {
		err = fail(why, len, "out of memory");
		goto cleanup;
	}
	for (i = 0, v = ftbl->child; v; v = v->next)
		strs[i++] = v->valuestring;
	nr_frames = 0;
	for (i = 0, v = pps->child; v; v = v->next, i++) {
		err = read_pp(f, v, i, strs, nr_ftbl, f->frames + nr_frames, why, len);
		if (err)
			goto cleanup;
		nr_frames += f->pps[i].nr_frames;
		f->totals.tb = sat_add(f->totals.tb, f->pps[i].tb);
		f->totals.tbk = sat_add(f->totals.tbk, f->pps[i].tbk);
		f->totals.gb = sat_add(f->totals.gb, f->pps[i].gb);
		f->totals.gbk = sat_add(f->totals.gbk, f->pps[i].gbk);
		f->totals.eb = sat_add(f->totals.eb, f->pps[i].eb);
		f->totals.ebk = sat_add(f->totals.ebk, f->pps[i].ebk);
		f->totals.tl = sat_add(f->totals.tl, f->pps[i].tl);
	}
	err = check_repeats(f, why, len);
cleanup:
	free(strs);
	return err;
}

static void read_suspects(struct dhatfile *f)
{
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(f->root, "dhatTrace");
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(dt, "suspects"), *v;
	const char *reason;
	uint64_t pp;

	if (!cJSON_IsArray(arr))
		return;
	f->suspects = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*f->suspects));
	for (v = arr->child; v && f->suspects; v = v->next) {
		reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "reason"));
		if (!count_of(cJSON_GetObjectItemCaseSensitive(v, "pp"), &pp) ||
		    pp >= f->nr_pps || !reason) {
			f->bad_suspects++;
			continue;
		}
		f->suspects[f->nr_suspects++] = (struct dhat_suspect){ (uint32_t)pp, reason };
	}
}

static bool blank(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!strchr(" \t\r\n", buf[i]) || !buf[i])
			return false;
	return true;
}

struct dhatfile *dhatfile__parse(const char *buf, size_t len, char *why, size_t why_len)
{
	struct dhatfile *f = NULL;
	const char *end = NULL;
	char *copy = NULL;
	int err = -ENOMEM;

	if (blank(buf, len)) {
		err = fail(why, why_len, "empty: no JSON in it");
		goto cleanup;
	}
	/* cJSON wants the terminating NUL inside the length to see the end. */
	copy = malloc(len + 1);
	f = calloc(1, sizeof(*f));
	if (!copy || !f) {
		fail(why, why_len, "out of memory");
		goto cleanup;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	f->root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
	/* A NUL byte inside is trailing garbage to JSON.parse, not an end. */
	if (f->root && end != copy + len) {
		cJSON_Delete(f->root);
		f->root = NULL;
	}
	if (!f->root) {
		err = syntax_error(copy, len, end, why, why_len);
		goto cleanup;
	}
	err = check_top(f, why, why_len);
	if (!err)
		err = read_pps(f, why, why_len);
	if (err)
		goto cleanup;
	cJSON_DeleteItemFromObjectCaseSensitive(f->root, "pps");
	read_suspects(f);
cleanup:
	free(copy);
	if (err) {
		dhatfile__free(f);
		errno = -err;
		return NULL;
	}
	return f;
}

struct dhatfile *dhatfile__read(const char *path, char *why, size_t why_len)
{
	struct dhatfile *f = NULL;
	size_t len = 0, cap = 1 << 16;
	char *buf = NULL, *nb;
	ssize_t n;
	int fd, err = 0;

	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	/* Read to the end: a pipe has no size to ask for. */
	for (;;) {
		if (len == cap || !buf) {
			nb = realloc(buf, buf ? cap *= 2 : cap);
			if (!nb) {
				err = -ENOMEM;
				goto cleanup;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto cleanup;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	f = dhatfile__parse(buf, len, why, why_len);
	if (!f)
		err = -errno;
cleanup:
	if (err && err != -EINVAL)
		snprintf(why, why_len, "%s", strerror(-err));
	if (fd >= 0)
		close(fd);
	free(buf);
	errno = -err;
	return f;
}

void dhatfile__free(struct dhatfile *f)
{
	if (!f)
		return;
	cJSON_Delete(f->root);
	free(f->pps);
	free(f->frames);
	free(f->suspects);
	free(f);
}

const struct dhatfile_info *dhatfile__info(const struct dhatfile *f)
{
	return &f->info;
}

const struct dhat_totals *dhatfile__totals(const struct dhatfile *f)
{
	return &f->totals;
}

uint32_t dhatfile__pp_count(const struct dhatfile *f)
{
	return f->nr_pps;
}

const struct dhat_pp *dhatfile__pp(const struct dhatfile *f, uint32_t i)
{
	return &f->pps[i];
}

uint32_t dhatfile__suspects(const struct dhatfile *f, const struct dhat_suspect **out,
			    uint32_t *skipped)
{
	*out = f->suspects;
	if (skipped)
		*skipped = f->bad_suspects;
	return f->nr_suspects;
}
