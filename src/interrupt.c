// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * During the capture loop.c takes SIGINT, SIGTERM and SIGHUP from a
 * signalfd as the end of the capture.  Writing the file can take seconds
 * (symbolizing every new frame), and a user who presses Ctrl-C once more in
 * that time rarely means to throw the whole capture away: so the first
 * signal only says what is going on, the second abandons the write.  A
 * handler rather than the signalfd, since the writer is busy and cannot poll:
 * it only has to load one flag per site.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include "interrupt.h"
#include "log.h"
#include "util.h"

static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
static volatile sig_atomic_t seen, abandoned;
static char note[512];
static size_t note_len;

static void on_signal(int sig)
{
	int saved = errno;

	if (seen) {
		abandoned = sig;
	} else {
		seen = sig;
		/* If stderr is gone, there is no one to tell. */
		if (write(STDERR_FILENO, note, note_len) < 0)
			note_len = 0;
	}
	errno = saved;
}

void interrupt__arm(const char *what)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	sigset_t set;
	size_t i;
	int n;

	n = snprintf(note, sizeof(note), "%sthe capture is being written to %s; "
		     "another Ctrl-C abandons it\n", dt_log_prefix, what);
	note_len = n < 0 ? 0 : (size_t)n < sizeof(note) ? (size_t)n : sizeof(note) - 1;
	sigemptyset(&set);
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&set, sigs[i]);
	/* One handler at a time: two signals at once are still first and second. */
	sa.sa_mask = set;
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Those that came since the loop's last look are delivered now. */
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int interrupt__seen(void)
{
	return seen;
}

const volatile sig_atomic_t *interrupt__abandoned(void)
{
	return &abandoned;
}
