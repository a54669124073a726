/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_INTERRUPT_H
#define DT_INTERRUPT_H

#include <signal.h>

/*
 * Once the capture has ended and the output is being written: the first
 * SIGINT, SIGTERM or SIGHUP prints that `what` is being written and that
 * another one abandons it; the second sets the flag below.  A closed pipe
 * becomes a write error (EPIPE) rather than death by SIGPIPE.
 */
void interrupt__arm(const char *what);
/* The first signal since armed, 0 while none came. */
int interrupt__seen(void);
/* The signal that abandoned the write, 0 while none did: for dt_doc.abandon. */
const volatile sig_atomic_t *interrupt__abandoned(void);

#endif
