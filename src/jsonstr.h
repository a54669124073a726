/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_JSONSTR_H
#define DT_JSONSTR_H

#include <stdio.h>

/* s as a JSON string, quotes included: '"' and '\' escaped, control
 * characters as \u00XX (NULL as ""). */
void jsonstr__put(FILE *f, const char *s);

#endif
