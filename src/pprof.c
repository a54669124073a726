// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * profile.proto (github.com/google/pprof, proto/profile.proto) written with
 * pbuf.c's few helpers rather than protobuf-c: the messages are flat, the
 * tool only writes them, and filling protobuf-c's structs (an array of
 * pointers per repeated field, a vendored .proto and a build step) takes
 * more code than encoding them.  `go tool pprof` reads the result in a test.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "frametext.h"
#include "outfile.h"
#include "pbuf.h"
#include "pprof.h"
#include "strmap.h"
#include "util.h"

/* Field numbers of profile.proto. */
enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6, PROFILE_DURATION_NANOS = 10, PROFILE_COMMENT = 13,
	PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2,
	LOCATION_ID = 1, LOCATION_ADDRESS = 3, LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1, LINE_LINE = 2,
	FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

static const char *const sample_types[][2] = {
	{ "alloc_objects", "count" }, { "alloc_space", "bytes" },
	{ "inuse_objects", "count" }, { "inuse_space", "bytes" },
	{ "tgmax_objects", "count" }, { "tgmax_space", "bytes" },
};

struct builder {
	struct strmap *strs, *funcs, *locs;
	struct pbuf prof, msg, line, lines, ids, vals;
	int err;
};

static uint64_t str(struct builder *b, const char *s, size_t len)
{
	int64_t id = strmap__intern(b->strs, s, len, NULL);

	if (id < 0) {
		b->err = (int)id;
		return 0;
	}
	return (uint64_t)id;
}

/* The id of the function of a frame; 0 for "???", which gets no line. */
static uint64_t function_of(struct builder *b, const struct frame_parts *fp)
{
	char key[4096];
	int len = snprintf(key, sizeof(key), "%.*s%c%.*s", (int)fp->fn_len, fp->fn, 0,
			   (int)fp->file_len, fp->file);
	bool added;
	int64_t id;

	if (!fp->fn_len || (fp->fn_len == 3 && !strncmp(fp->fn, "???", 3)))
		return 0;
	id = strmap__intern(b->funcs, key, len < (int)sizeof(key) ? (size_t)len : sizeof(key),
			    &added);
	if (id < 0) {
		b->err = (int)id;
		return 0;
	}
	if (added) {
		b->msg.len = 0;
		pbuf__uint(&b->msg, FUNCTION_ID, (uint64_t)id + 1);
		pbuf__uint(&b->msg, FUNCTION_NAME, str(b, fp->fn, fp->fn_len));
		pbuf__uint(&b->msg, FUNCTION_SYSTEM_NAME, str(b, fp->fn, fp->fn_len));
		pbuf__uint(&b->msg, FUNCTION_FILENAME, str(b, fp->file, fp->file_len));
		pbuf__bytes(&b->prof, PROFILE_FUNCTION, b->msg.p, b->msg.len);
	}
	return (uint64_t)id + 1;
}

/* The location of frames[0..n), one return address and what is inlined
 * there; the frames are the file's frame-table strings, so their pointers
 * name them. */
static uint64_t location_of(struct builder *b, const char *const *frames, uint32_t n)
{
	const void *key[2] = { frames[0], (const void *)(uintptr_t)n };
	struct frame_parts fp;
	uint64_t fid, id;
	bool added;
	int64_t k = strmap__intern(b->locs, key, sizeof(key), &added);
	uint32_t i;

	if (k < 0) {
		b->err = (int)k;
		return 0;
	}
	id = (uint64_t)k + 1;
	if (!added)
		return id;
	/* The lines first: a new function is written (through msg) on the way. */
	b->lines.len = 0;
	for (i = 0; i < n; i++) {
		frametext__parts(frametext__strip(frames[i]), &fp);
		fid = function_of(b, &fp);
		if (!fid)
			continue;	/* "???": pprof shows the address */
		b->line.len = 0;
		pbuf__uint(&b->line, LINE_FUNCTION_ID, fid);
		pbuf__uint(&b->line, LINE_LINE, fp.line);
		pbuf__bytes(&b->lines, LOCATION_LINE, b->line.p, b->line.len);
	}
	b->msg.len = 0;
	pbuf__uint(&b->msg, LOCATION_ID, id);
	pbuf__uint(&b->msg, LOCATION_ADDRESS, frametext__address(frames[0]));
	pbuf__raw(&b->msg, b->lines.p, b->lines.len);
	pbuf__bytes(&b->prof, PROFILE_LOCATION, b->msg.p, b->msg.len);
	return id;
}

static void sample_of(struct builder *b, const struct dhat_pp *pp, bool bklt)
{
	uint32_t i, n, first;
	uint64_t id;

	/* Valgrind's own malloc frames: dhat-trace and dhat-rs show none. */
	for (first = 0; first < pp->nr_frames &&
			frametext__is_valgrind_alloc(frametext__strip(pp->frames[first]));
	     first++)
		;
	b->ids.len = 0;
	for (i = first; i < pp->nr_frames; i += n) {
		n = frametext__inline_run(pp->frames, pp->nr_frames, i);
		id = location_of(b, pp->frames + i, n);
		pbuf__varint(&b->ids, id);
	}
	b->vals.len = 0;
	pbuf__varint(&b->vals, pp->tbk);
	pbuf__varint(&b->vals, pp->tb);
	if (bklt) {
		pbuf__varint(&b->vals, pp->ebk);
		pbuf__varint(&b->vals, pp->eb);
		pbuf__varint(&b->vals, pp->gbk);
		pbuf__varint(&b->vals, pp->gb);
	}
	b->msg.len = 0;
	pbuf__bytes(&b->msg, SAMPLE_LOCATION_ID, b->ids.p, b->ids.len);
	pbuf__bytes(&b->msg, SAMPLE_VALUE, b->vals.p, b->vals.len);
	pbuf__bytes(&b->prof, PROFILE_SAMPLE, b->msg.p, b->msg.len);
}

static void header(struct builder *b, const struct dhatfile_info *in)
{
	size_t i, n = in->bklt ? 6 : 2;
	const char *dflt;

	str(b, "", 0);	/* string_table[0] must be "" */
	for (i = 0; i < n; i++) {
		b->msg.len = 0;
		pbuf__uint(&b->msg, VALUE_TYPE_TYPE, str(b, sample_types[i][0],
							   strlen(sample_types[i][0])));
		pbuf__uint(&b->msg, VALUE_TYPE_UNIT, str(b, sample_types[i][1],
							   strlen(sample_types[i][1])));
		pbuf__bytes(&b->prof, PROFILE_SAMPLE_TYPE, b->msg.p, b->msg.len);
	}
	/* What pprof shows without -sample_index: what is live at the end. */
	dflt = in->bklt ? "inuse_space" : "alloc_space";
	pbuf__uint(&b->prof, PROFILE_DEFAULT_SAMPLE_TYPE, str(b, dflt, strlen(dflt)));
	pbuf__uint(&b->prof, PROFILE_COMMENT, str(b, in->cmd, strlen(in->cmd)));
	if (!strcmp(in->tu, "µs"))
		pbuf__uint(&b->prof, PROFILE_DURATION_NANOS, in->te * 1000);
}

static int gzip_to(const struct pbuf *in, const char *path)
{
	z_stream z = { 0 };
	struct outfile o;
	unsigned char *out = NULL;
	uLong cap;
	int err;

	/* windowBits 15 + 16: a gzip header and trailer, as pprof expects. */
	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, in->len);
	out = malloc(cap);
	if (!out) {
		err = -ENOMEM;
		goto cleanup;
	}
	z.next_in = in->p;
	z.avail_in = (uInt)in->len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = outfile__open(&o, path);
	if (err)
		goto cleanup;
	if (fwrite(out, 1, z.total_out, o.f) != z.total_out) {
		err = -EIO;
		outfile__abort(&o);
		goto cleanup;
	}
	err = outfile__commit(&o);
cleanup:
	deflateEnd(&z);
	free(out);
	return err;
}

int pprof__write(const struct dhatfile *f, const char *path)
{
	const struct dhatfile_info *in = dhatfile__info(f);
	struct builder b = { .strs = strmap__new(), .funcs = strmap__new(),
			     .locs = strmap__new() };
	uint32_t i, n = dhatfile__pp_count(f);
	size_t len;
	const struct pbuf *bufs[] = { &b.prof, &b.msg, &b.line, &b.lines, &b.ids, &b.vals };
	const char *s;
	int err = -ENOMEM;

	if (!b.strs || !b.funcs || !b.locs)
		goto cleanup;
	header(&b, in);
	for (i = 0; i < n && !b.err; i++)
		sample_of(&b, dhatfile__pp(f, i), in->bklt);
	/* Last, once every string is known: fields may come in any order. */
	for (i = 0; i < strmap__count(b.strs); i++) {
		s = strmap__key(b.strs, i, &len);
		pbuf__bytes(&b.prof, PROFILE_STRING_TABLE, s, len);
	}
	err = b.err;
	for (i = 0; i < ARRAY_SIZE(bufs); i++)
		err = err ? err : bufs[i]->err;
	if (!err)
		err = gzip_to(&b.prof, path);
cleanup:
	strmap__free(b.strs);
	strmap__free(b.funcs);
	strmap__free(b.locs);
	pbuf__free(&b.prof);
	pbuf__free(&b.msg);
	pbuf__free(&b.line);
	pbuf__free(&b.lines);
	pbuf__free(&b.ids);
	pbuf__free(&b.vals);
	return err;
}
