/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_GATEOPTS_H
#define DT_GATEOPTS_H

#include <argp.h>
#include "gate.h"
#include "patterns.h"

/*
 * --fail-on-leak, --max-peak, --ignore-site and --ignore-file: one option
 * table and one parser for the capture and for `dhat-trace check`, an argp
 * child whose input is a struct gate_args (its parent sets
 * state->child_inputs at ARGP_KEY_INIT).  Bad values are argp usage errors.
 */
struct gate_args {
	struct gate_opts opts;		/* .ignore: patterns, once one is given */
	struct patterns *patterns;
};

extern const struct argp gateopts__argp;

/* Whether any gate was asked for. */
bool gate_args__any(const struct gate_args *g);
void gate_args__free(struct gate_args *g);

#endif
