// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include "uwexec.h"

/* One frame, as uw_frame() in bpf/unwind.bpf.h: -1 to go on, else the end. */
static int frame(const struct uwexec_ops *ops, struct uwexec_regs *r, uint64_t *ips,
		 uint32_t *nr, uint64_t *fp_frames)
{
	struct dt_uw_row row = { 0 };
	int (*read_bp)(void *, uint64_t, uint64_t *) = ops->read_bp ? ops->read_bp : ops->read;
	uint64_t cfa, ra, addr;
	uint8_t kind;

	if (*nr >= ops->max_frames || *nr >= DT_MAX_FRAMES)
		return DT_CNT_UW_DEPTH;
	addr = r->exact ? r->pc : r->pc - 1;
	kind = ops->rule(ops->ctx, addr, &row);
	r->exact = false;
	switch (kind) {
	case DT_UW_CFA_RSP:
		cfa = r->sp + (int64_t)row.cfa_off * 8;
		break;
	case DT_UW_CFA_RBP:
		if (ops->use_bp)
			ops->use_bp(ops->ctx);
		cfa = r->bp + (int64_t)row.cfa_off * 8;
		break;
	case DT_UW_PLT:
		cfa = r->sp + 8 + ((addr & 15) >= (uint64_t)row.cfa_off ? 8 : 0);
		break;
	case DT_UW_FP:
		if (!ops->fp_fallback)
			return DT_CNT_UW_NO_TABLE;
		(*fp_frames)++;
		if (ops->use_bp)
			ops->use_bp(ops->ctx);
		cfa = r->bp + 16;
		row.rbp_off8 = -2;
		break;
	case DT_UW_SIGNAL:
		if (read_bp(ops->ctx, r->sp + DT_SIGCTX_RBP, &r->bp) ||
		    ops->read(ops->ctx, r->sp + DT_SIGCTX_RIP, &r->pc) ||
		    ops->read(ops->ctx, r->sp + DT_SIGCTX_RSP, &r->sp))
			return DT_CNT_UW_READ_FAULT;
		r->exact = true;
		ips[(*nr)++] = r->pc;
		return -1;
	case DT_UW_STOP:
		return DT_CNT_NR;
	case DT_UW_NOT_YET:
		return DT_CNT_UW_WINDOW;
	case DT_UW_GAP:
		/* The ABI's outermost-frame marker where CFI says nothing. */
		if (ops->use_bp)
			ops->use_bp(ops->ctx);
		return r->bp ? DT_CNT_UW_NO_TABLE : DT_CNT_NR;
	default:
		return DT_CNT_UW_BAD_RULE;
	}
	if (cfa <= r->sp)
		return DT_CNT_UW_BAD_RULE;	/* a stack only grows up towards callers */
	if (ops->read(ops->ctx, cfa - 8, &ra) ||
	    (row.rbp_off8 && read_bp(ops->ctx, cfa + (int64_t)row.rbp_off8 * 8, &r->bp)))
		return DT_CNT_UW_READ_FAULT;
	r->sp = cfa;
	r->pc = ra;
	if (!ra)
		return DT_CNT_NR;
	ips[(*nr)++] = ra;
	return -1;
}

int uwexec__walk(const struct uwexec_ops *ops, struct uwexec_regs *r, uint64_t *ips,
		 uint32_t *nr, uint64_t *fp_frames)
{
	int end;

	while ((end = frame(ops, r, ips, nr, fp_frames)) < 0)
		;
	return end;
}

uint8_t uwexec__row(const struct dt_uw_row *rows, uint32_t first, uint32_t n, uint64_t rel,
		    struct dt_uw_row *row)
{
	uint32_t lo = first, hi = first + n, mid;

	if (rel > 0xffffffffULL)
		return DT_UW_GAP;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (rows[mid].pc <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == first)
		return DT_UW_GAP;
	*row = rows[lo - 1];
	return row->kind;
}

uint8_t uwexec__map_rule(const struct dt_uw_maps *t, const struct dt_uw_row *rows,
			 uint32_t capacity, uint64_t addr, struct dt_uw_row *row)
{
	uint32_t lo = 0, hi = t->n < DT_UW_MAX_MAPS ? t->n : DT_UW_MAX_MAPS, mid;
	const struct dt_uw_map *m;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->m[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= t->m[lo - 1].end)
		return DT_UW_NOT_YET;
	m = &t->m[lo - 1];
	/* As bpf/unwind.bpf.h's rule_in(): no rows, either "follow rbp" or
	 * "no table will come". */
	if (!m->nrows)
		return m->first_row == DT_UW_NO_ROWS ? DT_UW_GAP : DT_UW_FP;
	if (m->first_row > capacity || m->nrows > capacity - m->first_row)
		return DT_UW_INVALID;
	return uwexec__row(rows, m->first_row, m->nrows, addr - m->bias, row);
}
