/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_INJLAUNCH_H
#define DT_INJLAUNCH_H

#include <stdbool.h>
#include "target.h"

/*
 * --inject -- COMMAND: the held child (target__spawn) execs under ptrace
 * and runs to where the dynamic linker has mapped and relocated every
 * library and run libc's early initialisation (malloc and dlopen work) but
 * none of their constructors (injlaunch.c), or else to its program's entry
 * point (AT_ENTRY).  It is held there, traced (*watching), for a capture that
 * treats it as a process held at a stop: the agent goes in before the first
 * allocation the uprobes would see.  0, or -errno said.
 */
int injlaunch__hold(struct target *t, bool *watching);

#endif
