/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_INJLAUNCH_H
#define DT_INJLAUNCH_H

#include <stdbool.h>
#include "target.h"

/*
 * --inject -- COMMAND: the held child (target__spawn) execs under ptrace
 * and runs to its program's entry point (AT_ENTRY): the dynamic linker has
 * mapped and initialised every library, libc's malloc and dlopen included,
 * and the program has run none of its own code.  It is held there, traced
 * (*watching), for a capture that treats it as a process held at a stop:
 * the agent goes in before its first allocation.  0, or -errno said.
 */
int injlaunch__to_entry(struct target *t, bool *watching);

#endif
