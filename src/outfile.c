// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "outfile.h"
#include "owner.h"

int outfile__open(struct outfile *o, const char *path)
{
	mode_t um;
	int fd, err;

	*o = (struct outfile){ .path = path };
	if (!strcmp(path, "-")) {
		o->f = stdout;
		return 0;
	}
	if (snprintf(o->tmp, sizeof(o->tmp), "%s.XXXXXX", path) >= (int)sizeof(o->tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(o->tmp);
	if (fd < 0)
		return -errno;
	/* mkstemp's 0600 is for secrets; these are reports, read by others
	 * (a metrics exporter running as its own user). */
	um = umask(0);
	umask(um);
	fchmod(fd, 0666 & ~um);
	/* Under sudo, the user's, before it has a name (owner.h). */
	owner__give(fd, path);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		err = -errno;
		close(fd);
		unlink(o->tmp);
		return err;
	}
	return 0;
}

int outfile__commit(struct outfile *o)
{
	int err = 0;

	if (o->f == stdout)
		return fflush(stdout) || ferror(stdout) ? -EIO : 0;
	if (fflush(o->f) || ferror(o->f) || fsync(fileno(o->f)))
		err = errno ? -errno : -EIO;
	if (fclose(o->f) && !err)
		err = -errno;
	o->f = NULL;
	if (!err && rename(o->tmp, o->path))
		err = -errno;
	if (err)
		unlink(o->tmp);
	return err;
}

void outfile__abort(struct outfile *o)
{
	if (!o->f || o->f == stdout)
		return;
	fclose(o->f);
	o->f = NULL;
	unlink(o->tmp);
}
