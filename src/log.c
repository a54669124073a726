// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include "log.h"

int dt_verbosity;
const char *dt_log_prefix = "dhat-trace: ";
int dt_status_shown;

void log__clear_status(void)
{
	fputs("\r\033[K", stderr);
	dt_status_shown = 0;
}
