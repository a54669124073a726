// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The DHAT v2 document (dhat-format.md), streamed: a million program points
 * as a cJSON tree took gigabytes and half a minute.  The bytes are what
 * cJSON_PrintUnformatted gave (same escapes, same key order), except that
 * the dhatTrace object comes last, so that its counters can say what
 * writing the rest cost.  Frame strings are de-duplicated into ftbl in
 * order of first use, as valgrind does; ftbl[0] is "[root]".  Each distinct
 * return address is described once: its ftbl indices are kept by address.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dhat_json.h"
#include "owner.h"
#include "util.h"

#define TUTH_US 500

struct out {
	FILE *f;
	int err;
	const volatile sig_atomic_t *abandon;
	size_t len;
	char buf[1 << 20];
};

/* Frame strings by content -> ftbl index. */
struct ftbl {
	const char **strs;	/* ftbl in order */
	uint32_t count, cap;
	uint32_t *slots;	/* open addressing: index + 1, 0 = empty */
	uint32_t mask;
};

/* Return address -> its ftbl indices (idx[off..off+n)). */
struct ipmap {
	uint64_t *ips;		/* 0 = empty */
	uint32_t *off, *n;
	uint32_t mask, count;
	uint32_t *idx;
	size_t nidx, idx_cap;
};

static void flush(struct out *o)
{
	if (o->len && !o->err && fwrite(o->buf, 1, o->len, o->f) != o->len)
		o->err = errno ? -errno : -EIO;
	o->len = 0;
}

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n > sizeof(o->buf)) {
		flush(o);
		if (n > sizeof(o->buf)) {
			if (!o->err && fwrite(s, 1, n, o->f) != n)
				o->err = errno ? -errno : -EIO;
			return;
		}
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

#define PUT(o, lit) put(o, lit, sizeof(lit) - 1)

/* Room for n more bytes in the buffer, flushed first if needed. */
static inline char *reserve(struct out *o, size_t n)
{
	if (o->len + n > sizeof(o->buf))
		flush(o);
	return o->buf + o->len;
}

/* Numbers are most of the document: digits go straight into the buffer. */
static inline void put_u64(struct out *o, uint64_t v)
{
	char t[20], *p = reserve(o, 20);
	int i = 20;

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(p, t + i, (size_t)(20 - i));
	o->len += (size_t)(20 - i);
}

/* lit: the literal ,"key": before the value */
#define PUT_FIELD(o, lit, v) do { PUT(o, lit); put_u64(o, v); } while (0)

/* ,"key":v for a key known only at run time */
static void put_field(struct out *o, const char *key, uint64_t v)
{
	PUT(o, ",\"");
	put(o, key, strlen(key));
	PUT(o, "\":");
	put_u64(o, v);
}

/* As cJSON escapes: ", \ and the two-letter escapes, other bytes below 32
 * as \u00xx; everything else (UTF-8 included) as it is. */
static void put_str(struct out *o, const char *s)
{
	const char *run = s;
	char esc[8];

	PUT(o, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 32 && c != '"' && c != '\\')
			continue;
		put(o, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"': snprintf(esc, sizeof(esc), "\\\""); break;
		case '\\': snprintf(esc, sizeof(esc), "\\\\"); break;
		case '\b': snprintf(esc, sizeof(esc), "\\b"); break;
		case '\f': snprintf(esc, sizeof(esc), "\\f"); break;
		case '\n': snprintf(esc, sizeof(esc), "\\n"); break;
		case '\r': snprintf(esc, sizeof(esc), "\\r"); break;
		case '\t': snprintf(esc, sizeof(esc), "\\t"); break;
		default: snprintf(esc, sizeof(esc), "\\u%04x", c);
		}
		put(o, esc, strlen(esc));
	}
	put(o, run, (size_t)(s - run));
	PUT(o, "\"");
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static int ftbl_grow(struct ftbl *t)
{
	uint32_t n = t->mask ? (t->mask + 1) * 2 : 1024, i, j;
	uint32_t *slots = calloc(n, sizeof(*slots));
	const char **strs = realloc(t->strs, n / 2 * sizeof(*strs));

	if (!slots || !strs) {
		free(slots);
		if (strs)
			t->strs = strs;
		return -ENOMEM;
	}
	t->strs = strs;
	t->cap = n / 2;
	for (i = 0; i < t->count; i++) {
		j = str_hash(t->strs[i]) & (n - 1);
		while (slots[j])
			j = (j + 1) & (n - 1);
		slots[j] = i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->mask = n - 1;
	return 0;
}

/* Index of s in ftbl, appended on first use; -1 on ENOMEM. */
static int64_t ftbl_index(struct ftbl *t, const char *s)
{
	uint32_t j;

	if (t->count + 1 > t->cap && ftbl_grow(t))
		return -1;
	j = str_hash(s) & t->mask;
	while (t->slots[j]) {
		if (strcmp(t->strs[t->slots[j] - 1], s) == 0)
			return t->slots[j] - 1;
		j = (j + 1) & t->mask;
	}
	t->strs[t->count] = s;
	t->slots[j] = ++t->count;
	return t->count - 1;
}

static uint32_t ip_slot(uint64_t ip, uint32_t mask)
{
	return (uint32_t)((ip * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
}

static int ipmap_grow(struct ipmap *m)
{
	uint32_t n = m->mask ? (m->mask + 1) * 2 : 4096, i, j;
	struct ipmap g = { .mask = n - 1, .count = m->count };

	g.ips = calloc(n, sizeof(*g.ips));
	g.off = calloc(n, sizeof(*g.off));
	g.n = calloc(n, sizeof(*g.n));
	if (!g.ips || !g.off || !g.n) {
		free(g.ips);
		free(g.off);
		free(g.n);
		return -ENOMEM;
	}
	for (i = 0; m->ips && i <= m->mask; i++) {
		if (!m->ips[i])
			continue;
		j = ip_slot(m->ips[i], g.mask);
		while (g.ips[j])
			j = (j + 1) & g.mask;
		g.ips[j] = m->ips[i];
		g.off[j] = m->off[i];
		g.n[j] = m->n[i];
	}
	free(m->ips);
	free(m->off);
	free(m->n);
	m->ips = g.ips;
	m->off = g.off;
	m->n = g.n;
	m->mask = g.mask;
	return 0;
}

/* The ftbl indices of ip's frame strings: described on first sight only. */
static int frame_indices(struct ipmap *m, struct ftbl *t, uint64_t ip, dt_describe_fn describe,
			 void *ctx, const uint32_t **idx, uint32_t *n)
{
	const char *const *strs;
	uint32_t j;
	int k, nstr;
	int64_t fi;

	if ((m->count + 1) * 2 > m->mask + 1 && ipmap_grow(m))
		return -ENOMEM;
	j = ip_slot(ip, m->mask);
	while (m->ips[j] && m->ips[j] != ip)
		j = (j + 1) & m->mask;
	if (!m->ips[j]) {
		nstr = describe(ctx, ip, &strs);
		if (array_reserve(&m->idx, &m->idx_cap, m->nidx + (size_t)nstr, sizeof(*m->idx)))
			return -ENOMEM;
		for (k = 0; k < nstr; k++) {
			fi = ftbl_index(t, strs[k]);
			if (fi < 0)
				return -ENOMEM;
			m->idx[m->nidx + (size_t)k] = (uint32_t)fi;
		}
		m->ips[j] = ip;
		m->off[j] = (uint32_t)m->nidx;
		m->n[j] = (uint32_t)nstr;
		m->nidx += (size_t)nstr;
		m->count++;
	}
	*idx = m->idx + m->off[j];
	*n = m->n[j];
	return 0;
}

static int put_fs(struct out *o, struct ipmap *m, struct ftbl *t, struct stacks *stacks,
		  uint32_t pp, dt_describe_fn describe, void *ctx)
{
	uint32_t nr, i, k, n;
	const uint64_t *ips = stacks__frames(stacks, pp, &nr);
	const uint32_t *idx;
	bool first = true;
	int64_t fi;

	PUT(o, ",\"fs\":[");
	if (!nr) {
		fi = ftbl_index(t, "0x0: [stack not captured]");
		if (fi < 0)
			return -ENOMEM;
		put_u64(o, (uint64_t)fi);
	}
	for (i = 0; i < nr; i++) {
		if (frame_indices(m, t, ips[i], describe, ctx, &idx, &n))
			return -ENOMEM;
		for (k = 0; k < n; k++) {
			if (!first)
				PUT(o, ",");
			first = false;
			put_u64(o, idx[k]);
		}
	}
	PUT(o, "]}");
	return 0;
}

static int put_pps(struct out *o, struct acct *a, struct ftbl *t, dt_describe_fn describe,
		   void *ctx)
{
	struct pps *pps = acct__pps(a);
	uint32_t i, n = pps__count(pps);
	struct ipmap m = { 0 };
	bool first = true;
	int err = 0;

	PUT(o, ",\"pps\":[");
	for (i = 0; i < n && !err && !o->err; i++) {
		const struct dt_pp *p = pps__get(pps, i);

		/* One load a site: symbolizing a new frame costs far more. */
		if (*o->abandon) {
			err = -ECANCELED;
			break;
		}
		if (!p->tbk)
			continue;
		if (!first)
			PUT(o, ",");
		PUT(o, "{");
		first = false;
		PUT_FIELD(o, "\"tb\":", p->tb);
		PUT_FIELD(o, ",\"tbk\":", p->tbk);
		PUT_FIELD(o, ",\"tl\":", p->tl / NSEC_PER_USEC);
		PUT_FIELD(o, ",\"mb\":", p->mb);
		PUT_FIELD(o, ",\"mbk\":", p->mbk);
		PUT_FIELD(o, ",\"gb\":", p->gb);
		PUT_FIELD(o, ",\"gbk\":", p->gbk);
		PUT_FIELD(o, ",\"eb\":", p->curr_b);
		PUT_FIELD(o, ",\"ebk\":", p->curr_bk);
		err = put_fs(o, &m, t, acct__stacks(a), i, describe, ctx);
	}
	PUT(o, "]");
	free(m.ips);
	free(m.off);
	free(m.n);
	free(m.idx);
	return err;
}

static void put_header(struct out *o, struct acct *a, const struct dt_doc *doc)
{
	const struct dt_totals *tot = pps__totals(acct__pps(a));
	char *cmd = NULL;

	PUT(o, "{\"dhatFileVersion\":2,\"mode\":\"heap\",\"verb\":\"Allocated\",\"bklt\":true,"
	       "\"bkacc\":false,\"tu\":\"µs\",\"Mtu\":\"s\",\"cmd\":");
	if (asprintf(&cmd, "%s%s%s%s", doc->cmd ? doc->cmd : "?", doc->note ? " [" : "",
		     doc->note ? doc->note : "", doc->note ? "]" : "") < 0) {
		o->err = -ENOMEM;
		return;
	}
	put_str(o, cmd);
	free(cmd);
	PUT_FIELD(o, ",\"tuth\":", TUTH_US);
	PUT_FIELD(o, ",\"pid\":", (uint64_t)doc->pid);
	PUT_FIELD(o, ",\"te\":", doc->t_end / NSEC_PER_USEC);
	PUT_FIELD(o, ",\"tg\":", tot->t_gmax / NSEC_PER_USEC);
}

/* Last, so that a stats callback sees the cost of everything before it. */
static void put_extra(struct out *o, const struct dt_doc *doc)
{
	const char *names[DT_MAX_STATS];
	uint64_t values[DT_MAX_STATS];
	int i, n = 0;

	PUT(o, ",\"dhatTrace\":{\"version\":");
	put_str(o, DT_VERSION);
	for (i = 0; i < doc->nr_stats; i++)
		put_field(o, doc->stat_names[i], doc->stat_values[i]);
	if (doc->stats) {
		flush(o);
		n = doc->stats(doc->stats_ctx, names, values);
	}
	for (i = 0; i < n; i++)
		put_field(o, names[i], values[i]);
	if (doc->json) {
		char *members = doc->json(doc->stats_ctx);

		if (members && *members) {
			PUT(o, ",");
			put(o, members, strlen(members));
		}
		free(members);
	}
	PUT(o, "}}");
}

static int render(FILE *f, struct acct *a, const struct dt_doc *doc, dt_describe_fn describe,
		  void *ctx)
{
	static const volatile sig_atomic_t never;
	struct out *o = malloc(sizeof(*o));
	struct ftbl t = { 0 };
	uint32_t i;
	int err;

	if (!o)
		return -ENOMEM;
	o->f = f;
	o->err = 0;
	o->abandon = doc->abandon ? doc->abandon : &never;
	o->len = 0;
	/* The viewer treats ftbl[0] as the tree's root. */
	err = ftbl_index(&t, "[root]") != 0 ? -ENOMEM : 0;
	if (!err) {
		put_header(o, a, doc);
		err = put_pps(o, a, &t, describe, ctx);
	}
	if (!err) {
		PUT(o, ",\"ftbl\":[");
		for (i = 0; i < t.count && !*o->abandon; i++) {
			if (i)
				PUT(o, ",");
			put_str(o, t.strs[i]);
		}
		PUT(o, "]");
		if (*o->abandon)
			err = -ECANCELED;
	}
	if (!err) {
		put_extra(o, doc);
		flush(o);
	}
	err = err ?: o->err;
	free(t.strs);
	free(t.slots);
	free(o);
	return err;
}

char *dhat_json__render(struct acct *a, const struct dt_doc *doc, dt_describe_fn describe,
			void *ctx)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	int err;

	if (!f)
		return NULL;
	err = render(f, a, doc, describe, ctx);
	if (fclose(f) || err) {
		free(text);
		return NULL;
	}
	return text;
}

int dhat_json__write_fd(int fd, struct acct *a, const struct dt_doc *doc,
			dt_describe_fn describe, void *ctx, const char **failed_step)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0), err;
	FILE *f = dup_fd >= 0 ? fdopen(dup_fd, "w") : NULL;

	*failed_step = "write";
	if (!f) {
		err = -errno;
		if (dup_fd >= 0)
			close(dup_fd);
		return err;
	}
	errno = 0;
	err = render(f, a, doc, describe, ctx);
	if (!err && (fputc('\n', f) == EOF || fflush(f)))
		err = errno ? -errno : -EIO;
	if (fclose(f) && !err)
		err = errno ? -errno : -EIO;
	if (err == -ENOMEM)
		*failed_step = "render the document";
	return err;
}

/*
 * The file being written: unnamed (O_TMPFILE) where the file system has
 * them, so that being killed while writing leaves nothing behind; else a
 * hidden ".name.XXXXXX" beside path, unlinked on failure.
 */
struct tmp_file {
	const char *path, *base, *dir;
	char *dup;	/* dir points into it */
	char *tmp;	/* the temporary's name; NULL while it has none */
	int fd;
};

static int tmp_open(struct tmp_file *tf, const char *path)
{
	const char *slash = strrchr(path, '/');

	tf->path = path;
	tf->base = slash ? slash + 1 : path;
	tf->dup = strdup(path);
	if (!tf->dup)
		return -ENOMEM;
	tf->dir = dirname(tf->dup);
	tf->fd = open(tf->dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (tf->fd >= 0)
		goto opened;
	/* No O_TMPFILE: in the kernel (EISDIR) or the file system. */
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	if (asprintf(&tf->tmp, "%s/.%s.XXXXXX", tf->dir, tf->base) < 0) {
		tf->tmp = NULL;
		return -ENOMEM;
	}
	tf->fd = mkostemp(tf->tmp, O_CLOEXEC);
	if (tf->fd < 0)
		return -errno;
opened:
	/* Readable like any file we create, whatever the umask. */
	fchmod(tf->fd, 0644);
	owner__give(tf->fd, path);
	return 0;
}

/* Link the unnamed file under a fresh hidden name (as mkstemp would pick). */
static int tmp_link_hidden(struct tmp_file *tf, const char *proc)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[6];
	char *x;
	int i, tries, err = -EEXIST;

	if (asprintf(&tf->tmp, "%s/.%s.XXXXXX", tf->dir, tf->base) < 0) {
		tf->tmp = NULL;
		return -ENOMEM;
	}
	x = tf->tmp + strlen(tf->tmp) - 6;
	for (tries = 0; tries < 100 && err == -EEXIST; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
			err = -errno;
			break;
		}
		for (i = 0; i < 6; i++)
			x[i] = chars[rnd[i] % (sizeof(chars) - 1)];
		err = linkat(AT_FDCWD, proc, AT_FDCWD, tf->tmp, AT_SYMLINK_FOLLOW) ? -errno : 0;
	}
	if (err) {
		free(tf->tmp);
		tf->tmp = NULL;
	}
	return err;
}

/* The finished file under path.  linkat() never replaces a file: an unnamed
 * one goes straight to path when that is free, else through a hidden name
 * and rename(). */
static int tmp_publish(struct tmp_file *tf)
{
	char proc[32];
	int err;

	if (!tf->tmp) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tf->fd);
		if (!linkat(AT_FDCWD, proc, AT_FDCWD, tf->path, AT_SYMLINK_FOLLOW))
			return 0;
		if (errno != EEXIST)
			return -errno;
		err = tmp_link_hidden(tf, proc);
		if (err)
			return err;
	}
	if (rename(tf->tmp, tf->path))
		return -errno;
	free(tf->tmp);
	tf->tmp = NULL;
	return 0;
}

static void tmp_discard(struct tmp_file *tf)
{
	if (tf->fd >= 0)
		close(tf->fd);
	if (tf->tmp)
		unlink(tf->tmp);
	free(tf->tmp);
	free(tf->dup);
}

int dhat_json__write(const char *path, struct acct *a, const struct dt_doc *doc,
		     dt_describe_fn describe, void *ctx, const char **failed_step)
{
	struct tmp_file tf = { .fd = -1 };
	int err;

	*failed_step = "create a temporary file";
	err = tmp_open(&tf, path);
	if (err)
		goto cleanup;
	err = dhat_json__write_fd(tf.fd, a, doc, describe, ctx, failed_step);
	if (!err && fsync(tf.fd))
		err = -errno;
	if (err)
		goto cleanup;
	/* Abandoned once complete but not yet named: still nothing to show. */
	if (doc->abandon && *doc->abandon) {
		err = -ECANCELED;
		goto cleanup;
	}
	*failed_step = tf.tmp ? "rename the temporary file" : "link the written file";
	err = tmp_publish(&tf);
cleanup:
	tmp_discard(&tf);
	return err;
}
