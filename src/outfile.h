/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_OUTFILE_H
#define DT_OUTFILE_H

#include <limits.h>
#include <stdio.h>

/*
 * A file written whole or not at all: a temporary beside path ("PATH.XXXXXX",
 * which no "*.prom" or "*.json" glob takes), synced and renamed over path on
 * commit.  Readers that poll path (node_exporter's textfile collector, a
 * dashboard) never see half of it.  path "-" is standard output, as is.
 */
struct outfile {
	FILE *f;
	const char *path;
	char tmp[PATH_MAX];
};

/* 0 or -errno; o->f is then the stream to write. */
int outfile__open(struct outfile *o, const char *path);
/* Flush, sync and rename; on failure nothing is left.  0 or -errno. */
int outfile__commit(struct outfile *o);
/* Give up: the temporary goes, path stays as it was. */
void outfile__abort(struct outfile *o);

#endif
