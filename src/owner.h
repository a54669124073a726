/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_OWNER_H
#define DT_OWNER_H

#include <sys/types.h>

/*
 * Who the files we create belong to.  Run by root under sudo (SUDO_UID and
 * SUDO_GID set, for a user other than root), they are the invoking user's,
 * as the command dhat-trace launches runs as that user: they can open,
 * edit and delete their results.  Otherwise the creator's, as usual.
 */

/* The invoking user's ids: 0, or -ENOENT when not run by root under sudo
 * for another user (or the variables are not plain numbers). */
int owner__sudo_ids(uid_t *uid, gid_t *gid);
/* Give the file open at fd to the invoking user, if any: 0 or -errno.  A
 * failure (a file system without owners, say) is said once on stderr; the
 * file stays root's. */
int owner__give(int fd, const char *path);

#endif
