/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_SUBCMD_H
#define DT_SUBCMD_H

#include <stdint.h>
#include "dhatfile.h"

/* The subcommands that read DHAT files, each in its own file; argv[0] is
 * the subcommand's name.  They return the exit status. */
int report_cmd__main(int argc, char **argv);
int diff_cmd__main(int argc, char **argv);
int check_cmd__main(int argc, char **argv);

/* Shared by them.  Bad usage prints what is wrong and where help is (as
 * argp does), and exits with DT_EXIT_USAGE. */
void subcmd__usage_error(const char *cmd, const char *fmt, const char *arg);
unsigned long subcmd__number(const char *cmd, const char *opt, const char *arg,
			     unsigned long lo, unsigned long hi);
uint64_t subcmd__bytes(const char *cmd, const char *opt, const char *arg);
/* The file read and checked, or NULL after one line "dhat-trace: PATH: why". */
struct dhatfile *subcmd__load(const char *path);

#endif
