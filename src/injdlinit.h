/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * --inject: the probe that has the agent patch a dlopen's new objects
 * before their constructors run (bpf/dlinit.bpf.c, src/agent/dlinit.c).
 */
#ifndef DT_INJDLINIT_H
#define DT_INJDLINIT_H

#include <sys/types.h>
#include "dhat_abi.h"
#include "dhat_inject_abi.h"
#include "targetview.h"

struct dlinit;

/* Once the agent runs in PID (its handler and signal in ctrl): the probe
 * on the loader's _dl_catch_exception.  NULL where it cannot be placed (said
 * with -v); the agent is then told to give the signal back. */
struct dlinit *dlinit__start(pid_t pid, const struct tview *tv, struct dt_inj_ctrl *ctrl);
/* Before the agent goes inert: the probe removed, and the dlopens whose
 * constructors ran unseen said (NULL d: those the agent counted). */
void dlinit__end(struct dlinit *d, pid_t pid, const struct dt_inj_ctrl *ctrl);
void dlinit__free(struct dlinit *d);

#endif
