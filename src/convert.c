// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <string.h>
#include "convert.h"
#include "folded.h"
#include "log.h"
#include "pprof.h"

static int said(int err, const char *path, bool quiet)
{
	if (err == -EINVAL)
		elog("cannot write %s: --folded-weight=tend and tgmax need block lifetimes, "
		     "which this DHAT file has not (bklt false): use --folded-weight=total\n",
		     path);
	else if (err)
		elog("cannot write %s: %s\n", path, strerror(-err));
	else if (!quiet)
		ilog("wrote %s\n", path);
	return err;
}

int convert__write(const struct dhatfile *f, const struct convert_opts *o)
{
	int err = 0, e;

	if (o->pprof) {
		e = said(pprof__write(f, o->pprof), o->pprof, o->quiet);
		err = err ? err : e;
	}
	if (o->folded) {
		e = said(folded__write(f, (enum folded_weight)o->folded_weight, o->folded),
			 o->folded, o->quiet);
		err = err ? err : e;
	}
	return err;
}
