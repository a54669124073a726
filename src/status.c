// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "accounting.h"
#include "log.h"
#include "pps.h"
#include "report.h"
#include "status.h"
#include "util.h"

/* Often enough to look alive, rarely enough to cost nothing. */
#define STATUS_NS (250 * NSEC_PER_MSEC)

static bool on, numbers;
static uint64_t last_draw, last_events;

void status__init(bool want)
{
	on = want && isatty(STDERR_FILENO);
}

static void draw(const char *text)
{
	struct winsize ws;
	int width = 79;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		width = ws.ws_col - 1;
	/* Cut to the terminal's width: a line that wraps cannot be redrawn. */
	fprintf(stderr, "\r%.*s\033[K", width, text);
	dt_status_shown = 1;
}

void status__phase(const char *fmt, ...)
{
	char what[160], text[200];
	va_list ap;

	if (!on)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(text, sizeof(text), "%s%s ...", dt_log_prefix, what);
	draw(text);
}

void status__tracing(bool show)
{
	numbers = on && show;
	last_draw = last_events = 0;
	status__clear();
}

void status__tick(uint64_t now, struct acct *a, struct reporter *r)
{
	char text[200], b1[32], b2[32], b3[32];
	uint64_t events, since, t0 = acct__t0(a);

	if (!numbers || now - (last_draw ? last_draw : t0) < STATUS_NS)
		return;
	events = acct__events(a);
	since = now - (last_draw ? last_draw : t0);
	snprintf(text, sizeof(text), "%s%.0f s: %s events/s, %s bytes live, %s lost",
		 dt_log_prefix, (double)(now - t0) / NSEC_PER_SEC,
		 fmt_thousands((events - last_events) * NSEC_PER_SEC / since, b1, sizeof(b1)),
		 fmt_thousands(pps__totals(acct__pps(a))->curr_b, b2, sizeof(b2)),
		 fmt_thousands(reporter__lost(r), b3, sizeof(b3)));
	draw(text);
	last_draw = now;
	last_events = events;
}

void status__clear(void)
{
	if (dt_status_shown)
		log__clear_status();
}
