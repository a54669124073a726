/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_PATTERNS_H
#define DT_PATTERNS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Shell globs (fnmatch: *, ?, [...]) over the frames of a call site, as
 * --ignore-site and report's --match use them.  A pattern matches a frame
 * when it matches the frame's function name ("init_config",
 * "std::sync::*") or its whole text without the address
 * ("init_config (config.c:12)", "*config.c:*"), the way a Valgrind
 * suppression names a function.
 */
struct patterns;

struct patterns *patterns__new(void);
void patterns__free(struct patterns *p);
/* The pattern is copied.  0 or -ENOMEM. */
int patterns__add(struct patterns *p, const char *pattern);
/* One pattern a line; blank lines and lines starting with '#' are skipped,
 * spaces around a pattern are not part of it.  0 or -errno; *line is the
 * number of a line too long to take (-E2BIG). */
int patterns__load(struct patterns *p, const char *path, unsigned int *line);
unsigned int patterns__count(const struct patterns *p);
/* Whether any pattern matches any of the frames (full strings, with or
 * without "0xADDR: "). */
bool patterns__match(const struct patterns *p, const char *const *frames, uint32_t nr);

#endif
