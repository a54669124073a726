// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Only what the rows keep is tracked: the CFA rule, and the rules of the
 * return address (column 16) and of rbp (6).  Everything else a compiler
 * emits for other registers is read and dropped.  A rule the rows cannot
 * express gives DT_UW_INVALID, and malformed instructions end the FDE's
 * rows there: a stack that reaches such code ends and is counted, never
 * followed wrongly.
 */
#include <errno.h>
#include <string.h>
#include <dwarf.h>
#include "cfiprog.h"

#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16
/* remember_state nesting: compilers use one or two levels. */
#define MAX_STACK 16

enum { R_UNDEF, R_SAME, R_OFFSET, R_OTHER };

struct rule {
	uint8_t kind;
	int64_t off;	/* R_OFFSET: saved at CFA + off */
};

struct state {
	uint64_t cfa_reg;
	int64_t cfa_off;
	const uint8_t *cfa_expr;	/* non-NULL: DW_CFA_def_cfa_expression */
	uint64_t cfa_expr_len;
	struct rule ra, rbp;
};

struct reader {
	const uint8_t *p, *end;
	bool bad;
};

static uint8_t u8(struct reader *r)
{
	if (r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

static uint64_t fixed(struct reader *r, size_t n)
{
	uint64_t v = 0;

	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->p, n);	/* little-endian: x86-64 only */
	r->p += n;
	return v;
}

/* LEB128, signed or not; past 64 bits the high bits are dropped. */
static uint64_t leb(struct reader *r, bool sign)
{
	uint64_t v = 0;
	unsigned int shift = 0;
	uint8_t b;

	do {
		b = u8(r);
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while ((b & 0x80) && !r->bad);
	if (sign && shift < 64 && (b & 0x40))
		v |= ~0ULL << shift;
	return v;
}

static uint64_t uleb(struct reader *r)
{
	return leb(r, false);
}

static int64_t sleb(struct reader *r)
{
	return (int64_t)leb(r, true);
}

/* n * factor as the CPU wraps it: crafted CFI may overflow, and such a
 * rule is nonsense that the rows' range checks then refuse. */
static int64_t scaled(uint64_t n, int64_t factor)
{
	return (int64_t)(n * (uint64_t)factor);
}

/* GCC's .plt CFA: rsp + 8 + ((rip & 15) >= N) << 3, N = 11 or 10. */
static int plt_threshold(const uint8_t *e, uint64_t n)
{
	static const uint8_t shape[] = { DW_OP_breg0 + REG_RSP, 8, DW_OP_breg0 + REG_RA, 0,
					 DW_OP_lit15, DW_OP_and, 0, DW_OP_ge, DW_OP_lit3,
					 DW_OP_shl, DW_OP_plus };
	size_t i;

	if (n != sizeof(shape))
		return -1;
	for (i = 0; i < n; i++)
		if (i != 6 && e[i] != shape[i])
			return -1;
	if (e[6] < DW_OP_lit0 || e[6] > DW_OP_lit15)
		return -1;
	return e[6] - DW_OP_lit0;
}

static struct dt_uw_row row_of(const struct state *s, bool signal)
{
	struct dt_uw_row r = { .kind = DT_UW_INVALID };
	int thr;

	if (signal) {
		r.kind = DT_UW_SIGNAL;
		return r;
	}
	if (s->ra.kind == R_UNDEF) {
		r.kind = DT_UW_STOP;	/* the outermost frame */
		return r;
	}
	if (s->ra.kind != R_OFFSET || s->ra.off != -8)
		return r;
	if (s->cfa_expr) {
		thr = plt_threshold(s->cfa_expr, s->cfa_expr_len);
		if (thr < 0)
			return r;
		r.cfa_off = (int16_t)thr;
		r.kind = DT_UW_PLT;
	} else if ((s->cfa_reg == REG_RSP || s->cfa_reg == REG_RBP) && s->cfa_off % 8 == 0 &&
		   s->cfa_off / 8 >= INT16_MIN && s->cfa_off / 8 <= INT16_MAX) {
		/* In words: frames of 32 KiB and more are common enough
		 * (buffers on the stack), bytes would not fit. */
		r.cfa_off = (int16_t)(s->cfa_off / 8);
		r.kind = s->cfa_reg == REG_RSP ? DT_UW_CFA_RSP : DT_UW_CFA_RBP;
	} else {
		return r;
	}
	switch (s->rbp.kind) {
	case R_UNDEF:
	case R_SAME:
		return r;	/* rbp left as it is */
	case R_OFFSET:
		if (s->rbp.off % 8 == 0 && s->rbp.off && s->rbp.off / 8 >= INT8_MIN &&
		    s->rbp.off / 8 <= INT8_MAX) {
			r.rbp_off8 = (int8_t)(s->rbp.off / 8);
			return r;
		}
		break;
	}
	return (struct dt_uw_row){ .kind = DT_UW_INVALID };
}

static struct rule *rule_of(struct state *s, uint64_t reg)
{
	return reg == REG_RA ? &s->ra : reg == REG_RBP ? &s->rbp : NULL;
}

static void set_rule(struct state *s, uint64_t reg, uint8_t kind, int64_t off)
{
	struct rule *r = rule_of(s, reg);

	if (r)
		*r = (struct rule){ kind, off };
}

/*
 * Run instructions on *s.  With rows (FDE instructions), each advance of the
 * location gives the row for the span it leaves; the CIE's initial
 * instructions have no location.  -EINVAL on malformed instructions.
 */
struct run {
	const struct cfiprog_cie *cie;
	const struct state *init;	/* after the CIE's instructions: DW_CFA_restore */
	uint64_t loc, stop;
	int (*push)(void *ctx, uint64_t pc, struct dt_uw_row r);
	void *ctx;
};

static int advance(struct run *x, const struct state *s, uint64_t delta)
{
	int err;

	if (!x->push)
		return -EINVAL;	/* a CIE's instructions have no location */
	if (!delta)
		return 0;
	if (x->loc < x->stop) {
		err = x->push(x->ctx, x->loc, row_of(s, x->cie->signal));
		if (err)
			return err;
	}
	x->loc += delta;
	return 0;
}

static int run(struct run *x, struct state *s, const uint8_t *p, const uint8_t *end)
{
	struct reader r = { p, end, false };
	struct state stack[MAX_STACK];
	const struct cfiprog_cie *c = x->cie;
	unsigned int depth = 0;
	uint64_t reg, n;
	int err = 0;

	while (!err && r.p < r.end && !r.bad) {
		uint8_t op = u8(&r), low = op & 0x3f;

		switch (op & 0xc0) {
		case DW_CFA_advance_loc:
			err = advance(x, s, low * c->code_align);
			continue;
		case DW_CFA_offset:
			set_rule(s, low, R_OFFSET, scaled(uleb(&r), c->data_align));
			continue;
		case DW_CFA_restore:
			if (rule_of(s, low))
				*rule_of(s, low) = *rule_of((struct state *)x->init, low);
			continue;
		}
		switch (op) {
		case DW_CFA_nop:
			break;
		case DW_CFA_advance_loc1:
			err = advance(x, s, fixed(&r, 1) * c->code_align);
			break;
		case DW_CFA_advance_loc2:
			err = advance(x, s, fixed(&r, 2) * c->code_align);
			break;
		case DW_CFA_advance_loc4:
			err = advance(x, s, fixed(&r, 4) * c->code_align);
			break;
		case DW_CFA_offset_extended:
			reg = uleb(&r);
			set_rule(s, reg, R_OFFSET, scaled(uleb(&r), c->data_align));
			break;
		case DW_CFA_offset_extended_sf:
			reg = uleb(&r);
			set_rule(s, reg, R_OFFSET, scaled((uint64_t)sleb(&r), c->data_align));
			break;
		case DW_CFA_GNU_negative_offset_extended:
			reg = uleb(&r);
			set_rule(s, reg, R_OFFSET, scaled(-uleb(&r), c->data_align));
			break;
		case DW_CFA_restore_extended:
			reg = uleb(&r);
			if (rule_of(s, reg))
				*rule_of(s, reg) = *rule_of((struct state *)x->init, reg);
			break;
		case DW_CFA_undefined:
			set_rule(s, uleb(&r), R_UNDEF, 0);
			break;
		case DW_CFA_same_value:
			set_rule(s, uleb(&r), R_SAME, 0);
			break;
		case DW_CFA_register:
		case DW_CFA_val_offset:
			reg = uleb(&r);
			uleb(&r);
			set_rule(s, reg, R_OTHER, 0);
			break;
		case DW_CFA_val_offset_sf:
			reg = uleb(&r);
			sleb(&r);
			set_rule(s, reg, R_OTHER, 0);
			break;
		case DW_CFA_expression:
		case DW_CFA_val_expression:
			reg = uleb(&r);
			n = uleb(&r);
			if (n > (uint64_t)(r.end - r.p))
				r.bad = true;
			else
				r.p += n;
			set_rule(s, reg, R_OTHER, 0);
			break;
		case DW_CFA_remember_state:
			if (depth == MAX_STACK)
				return -EINVAL;
			stack[depth++] = *s;
			break;
		case DW_CFA_restore_state:
			if (!depth)
				return -EINVAL;
			/* The CFA is restored with the rest (DWARF 5 6.4.2.4). */
			*s = stack[--depth];
			break;
		case DW_CFA_def_cfa:
			s->cfa_reg = uleb(&r);
			s->cfa_off = (int64_t)uleb(&r);
			s->cfa_expr = NULL;
			break;
		case DW_CFA_def_cfa_sf:
			s->cfa_reg = uleb(&r);
			s->cfa_off = scaled((uint64_t)sleb(&r), c->data_align);
			s->cfa_expr = NULL;
			break;
		case DW_CFA_def_cfa_register:
			s->cfa_reg = uleb(&r);
			s->cfa_expr = NULL;
			break;
		case DW_CFA_def_cfa_offset:
			s->cfa_off = (int64_t)uleb(&r);
			break;
		case DW_CFA_def_cfa_offset_sf:
			s->cfa_off = scaled((uint64_t)sleb(&r), c->data_align);
			break;
		case DW_CFA_def_cfa_expression:
			n = uleb(&r);
			if (n > (uint64_t)(r.end - r.p)) {
				r.bad = true;
				break;
			}
			s->cfa_expr = r.p;
			s->cfa_expr_len = n;
			r.p += n;
			break;
		case DW_CFA_GNU_args_size:
			uleb(&r);
			break;
		default:	/* DW_CFA_set_loc, vendor extensions: not for x86-64 .eh_frame */
			return -EINVAL;
		}
	}
	return err ? err : r.bad ? -EINVAL : 0;
}

int cfiprog__rows(const struct cfiprog_cie *cie, const uint8_t *insns, const uint8_t *insns_end,
		  uint64_t start, uint64_t stop,
		  int (*push)(void *ctx, uint64_t pc, struct dt_uw_row r), void *ctx,
		  uint64_t *end)
{
	/* x86-64's rules before any instruction (elfutils' backends/x86_64_cfi.c):
	 * CFA = rsp + 8, the return address at CFA - 8, rbp kept. */
	struct state init = { .cfa_reg = REG_RSP, .cfa_off = 8,
			       .ra = { R_OFFSET, -8 }, .rbp = { R_SAME, 0 } }, s;
	struct run x = { .cie = cie, .init = &init, .loc = start, .stop = stop };
	int err;

	*end = start;
	err = run(&x, &init, cie->insns, cie->insns_end);
	if (err)
		return err == -EINVAL ? 0 : err;
	s = init;
	x.push = push;
	x.ctx = ctx;
	err = run(&x, &s, insns, insns_end);
	if (err && err != -EINVAL)
		return err;
	if (!err && x.loc < stop) {
		err = push(ctx, x.loc, row_of(&s, cie->signal));
		if (err)
			return err;
		x.loc = stop;
	}
	*end = x.loc < stop ? x.loc : stop;
	return 0;
}
