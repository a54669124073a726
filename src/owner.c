// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "owner.h"

static int id_of(const char *s, unsigned long *id)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*id = strtoul(s, &end, 10);
	/* (uid_t)-1 means "unchanged" to chown: never a user's id. */
	if (errno || *end || *id >= (uid_t)-1)
		return -EINVAL;
	return 0;
}

int owner__sudo_ids(uid_t *uid, gid_t *gid)
{
	unsigned long u, g;

	if (geteuid() != 0 || id_of(getenv("SUDO_UID"), &u) || id_of(getenv("SUDO_GID"), &g) ||
	    u == 0)
		return -ENOENT;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

int owner__give(int fd, const char *path)
{
	static bool told;
	uid_t uid;
	gid_t gid;
	int err;

	if (owner__sudo_ids(&uid, &gid))
		return 0;
	if (!fchown(fd, uid, gid))
		return 0;
	err = -errno;
	if (!told)
		wlog("cannot give %s to the sudo user (uid %u, gid %u): %s; it stays root's\n",
		     path, (unsigned int)uid, (unsigned int)gid, strerror(-err));
	told = true;
	return err;
}
