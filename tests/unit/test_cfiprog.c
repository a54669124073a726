// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * The rows of hand-written FDEs (the shapes GCC emits, and what it emits
 * for stack realignment), and uwexec walking a made-up stack through rows
 * the way the BPF unwinder does.
 */
#include <string.h>
#include <dwarf.h>
#include "cfiprog.h"
#include "tap.h"
#include "uwexec.h"

#define MAXROWS 32

struct rows {
	uint64_t pc[MAXROWS];
	struct dt_uw_row r[MAXROWS];
	int n;
};

static int collect(void *ctx, uint64_t pc, struct dt_uw_row r)
{
	struct rows *rs = ctx;

	if (rs->n == MAXROWS)
		return -1;
	rs->pc[rs->n] = pc;
	rs->r[rs->n++] = r;
	return 0;
}

/* GCC's CIE for x86-64: CFA = rsp + 8, return address at CFA - 8. */
static const uint8_t gcc_cie[] = { DW_CFA_def_cfa, 7, 8, DW_CFA_offset | 16, 1 };

static struct rows run(const uint8_t *fde, size_t len, bool signal, uint64_t *end)
{
	struct cfiprog_cie cie = { gcc_cie, gcc_cie + sizeof(gcc_cie), 1, -8, signal };
	struct rows rs = { .n = 0 };

	ok(cfiprog__rows(&cie, fde, fde + len, 0x1000, 0x1100, collect, &rs, end) == 0,
	   "rows given");
	return rs;
}

static bool row_is(const struct rows *rs, int i, uint64_t pc, uint8_t kind, int cfa, int rbp)
{
	return i < rs->n && rs->pc[i] == pc && rs->r[i].kind == kind && rs->r[i].cfa_off == cfa &&
	       rs->r[i].rbp_off8 == rbp;
}

static void prologue(void)
{
	/* push rbp; mov rbp, rsp; ...; remember; leave; ret; restore */
	static const uint8_t fde[] = {
		DW_CFA_advance_loc | 1, DW_CFA_def_cfa_offset, 16, DW_CFA_offset | 6, 2,
		DW_CFA_advance_loc | 3, DW_CFA_def_cfa_register, 6,
		DW_CFA_advance_loc1, 0x40, DW_CFA_remember_state, DW_CFA_def_cfa, 7, 8,
		DW_CFA_advance_loc | 1, DW_CFA_restore_state,
	};
	uint64_t end;
	struct rows rs = run(fde, sizeof(fde), false, &end);

	is_u64(rs.n, 5, "frame-pointer prologue: 5 rows");
	ok(row_is(&rs, 0, 0x1000, DT_UW_CFA_RSP, 1, 0), "at entry: CFA = rsp + 8");
	ok(row_is(&rs, 1, 0x1001, DT_UW_CFA_RSP, 2, -2), "after push rbp: rsp + 16, rbp at CFA-16");
	ok(row_is(&rs, 2, 0x1004, DT_UW_CFA_RBP, 2, -2), "after mov: CFA = rbp + 16");
	ok(row_is(&rs, 3, 0x1044, DT_UW_CFA_RSP, 1, -2), "after leave: rsp + 8");
	ok(row_is(&rs, 4, 0x1045, DT_UW_CFA_RBP, 2, -2), "restore_state: the body's rule again");
	is_u64(end, 0x1100, "rows up to the FDE's end");
}

static void realign(void)
{
	/* GCC with stack realignment (DRAP): an expression, then back to rsp
	 * with the offset set before it, as libgcc's unwinder reads it. */
	static const uint8_t fde[] = {
		DW_CFA_advance_loc | 2, DW_CFA_def_cfa_offset, 56,
		DW_CFA_advance_loc | 2, DW_CFA_def_cfa_expression, 5, DW_OP_breg7, 0x98, 0x04,
		DW_OP_deref, DW_OP_nop,
		DW_CFA_advance_loc | 4, DW_CFA_def_cfa_register, 7,
		DW_CFA_advance_loc | 2, DW_CFA_def_cfa_offset, 8,
	};
	uint64_t end;
	struct rows rs = run(fde, sizeof(fde), false, &end);

	ok(row_is(&rs, 2, 0x1004, DT_UW_INVALID, 0, 0), "a CFA expression: unsupported");
	ok(row_is(&rs, 3, 0x1008, DT_UW_CFA_RSP, 7, 0), "def_cfa_register after it keeps 56");
	ok(row_is(&rs, 4, 0x100a, DT_UW_CFA_RSP, 1, 0), "then rsp + 8");
}

static void plt_signal_stop(void)
{
	static const uint8_t plt[] = {
		DW_CFA_def_cfa_expression, 11, DW_OP_breg7, 8, DW_OP_breg16, 0, DW_OP_lit15,
		DW_OP_and, DW_OP_lit11, DW_OP_ge, DW_OP_lit3, DW_OP_shl, DW_OP_plus,
	};
	static const uint8_t outermost[] = { DW_CFA_undefined, 16 };
	static const uint8_t bad[] = { DW_CFA_advance_loc | 4, DW_CFA_def_cfa_offset, 0x80 };
	uint64_t end;
	struct rows rs = run(plt, sizeof(plt), false, &end);

	ok(row_is(&rs, 0, 0x1000, DT_UW_PLT, 11, 0), "GCC's .plt expression, threshold 11");
	rs = run(outermost, sizeof(outermost), false, &end);
	ok(row_is(&rs, 0, 0x1000, DT_UW_STOP, 0, 0), "return address undefined: the bottom");
	rs = run(plt, 0, true, &end);
	ok(row_is(&rs, 0, 0x1000, DT_UW_SIGNAL, 0, 0), "'S' CIE: a signal trampoline");
	rs = run(bad, sizeof(bad), false, &end);
	ok(rs.n == 1 && end == 0x1004, "truncated instructions end the rows there");
}

/* A stack in a buffer: main's frame (rbp-based), f's (rsp + 24). */
struct mem {
	uint64_t base;
	uint64_t words[16];
};

static int mem_read(void *ctx, uint64_t addr, uint64_t *out)
{
	struct mem *m = ctx;

	if (addr < m->base || addr + 8 > m->base + sizeof(m->words))
		return -1;
	memcpy(out, (uint8_t *)m->words + (addr - m->base), 8);
	return 0;
}

static uint8_t rule(void *ctx, uint64_t addr, struct dt_uw_row *row)
{
	(void)ctx;
	if (addr >= 0x2000 && addr < 0x2100) {	/* f: CFA = rsp + 24 */
		*row = (struct dt_uw_row){ .kind = DT_UW_CFA_RSP, .cfa_off = 3 };
		return row->kind;
	}
	if (addr >= 0x3000 && addr < 0x3100) {	/* main: CFA = rbp + 16, rbp at CFA-16 */
		*row = (struct dt_uw_row){ .kind = DT_UW_CFA_RBP, .cfa_off = 2, .rbp_off8 = -2 };
		return row->kind;
	}
	if (addr >= 0x4000 && addr < 0x4100)
		return DT_UW_STOP;	/* _start */
	return DT_UW_GAP;
}

static void walk(void)
{
	struct mem m = { .base = 0x7000 };
	struct uwexec_ops ops = { .rule = rule, .read = mem_read, .ctx = &m, .max_frames = 8 };
	struct uwexec_regs r = { .pc = 0x2010, .sp = 0x7000, .bp = 0x7040 };
	uint64_t ips[8] = { 0x2010 }, fp = 0;
	uint32_t nr = 1;

	/* f's frame: 16 bytes of locals, then its return address into main. */
	m.words[2] = 0x3020;		/* [0x7010] = CFA - 8 of f (CFA 0x7018) */
	m.words[8] = 0x7060;		/* [0x7040] main's caller's rbp */
	m.words[9] = 0x4005;		/* [0x7048] main's return address */
	ok(uwexec__walk(&ops, &r, ips, &nr, &fp) == DT_CNT_NR, "the walk reaches the bottom");
	ok(nr == 3 && ips[1] == 0x3020 && ips[2] == 0x4005, "f, main, _start");
	ok(r.bp == 0x7060, "rbp restored from main's frame");
	nr = 1;
	r = (struct uwexec_regs){ .pc = 0x2010, .sp = 0x7000, .bp = 0x7040 };
	ops.max_frames = 2;
	ok(uwexec__walk(&ops, &r, ips, &nr, &fp) == DT_CNT_UW_DEPTH && nr == 2, "--max-frames");
	nr = 1;
	r = (struct uwexec_regs){ .pc = 0x2010, .sp = 0x7000 + sizeof(m.words) - 8, .bp = 0 };
	ops.max_frames = 8;
	ok(uwexec__walk(&ops, &r, ips, &nr, &fp) == DT_CNT_UW_READ_FAULT, "past the copy: unreadable");
}

/* The agent's rule lookup (--inject): a mapping table as src/unwind.c
 * publishes it into shared memory, over one row array. */
static void shared_table(void)
{
	static struct dt_uw_maps t;
	struct dt_uw_row rows[] = {
		{ .pc = 0x1000, .kind = DT_UW_CFA_RSP, .cfa_off = 1 },	/* object A */
		{ .pc = 0x1010, .kind = DT_UW_CFA_RSP, .cfa_off = 2 },
		{ .pc = 0x1040, .kind = DT_UW_GAP },
		{ .pc = 0x500, .kind = DT_UW_CFA_RBP, .cfa_off = 2 },	/* object B */
	}, row = { 0 };

	t.n = 4;
	/* A at 0x400000 (ELF 0x1000 -> bias 0x3ff000), B at its ELF address,
	 * C without CFI, D: a file whose table will not come. */
	t.m[0] = (struct dt_uw_map){ 0x400000, 0x401000, 0x3ff000, 0, 3 };
	t.m[1] = (struct dt_uw_map){ 0x500000, 0x501000, 0x500000, 3, 1 };
	t.m[2] = (struct dt_uw_map){ 0x600000, 0x601000, 0x600000, 0, 0 };
	t.m[3] = (struct dt_uw_map){ 0x700000, 0x701000, 0x700000, DT_UW_NO_ROWS, 0 };
	ok(uwexec__map_rule(&t, rows, 4, 0x400000, &row) == DT_UW_CFA_RSP && row.cfa_off == 1,
	   "first row of the first mapping");
	ok(uwexec__map_rule(&t, rows, 4, 0x40003f, &row) == DT_UW_CFA_RSP && row.cfa_off == 2,
	   "the row covering the address, not the next");
	ok(uwexec__map_rule(&t, rows, 4, 0x400040, &row) == DT_UW_GAP, "past the last FDE: gap");
	ok(uwexec__map_rule(&t, rows, 4, 0x500400, &row) == DT_UW_GAP,
	   "before an object's first row: gap (rows of another object never used)");
	ok(uwexec__map_rule(&t, rows, 4, 0x500600, &row) == DT_UW_CFA_RBP, "the second object");
	ok(uwexec__map_rule(&t, rows, 4, 0x600010, &row) == DT_UW_FP,
	   "an object without CFI: frame pointers");
	ok(uwexec__map_rule(&t, rows, 4, 0x700010, &row) == DT_UW_GAP,
	   "an object whose table will not come: the stack ends");
	ok(uwexec__map_rule(&t, rows, 4, 0x401000, &row) == DT_UW_NOT_YET &&
	   uwexec__map_rule(&t, rows, 4, 0x3fffff, &row) == DT_UW_NOT_YET &&
	   uwexec__map_rule(&t, rows, 4, 0x800000, &row) == DT_UW_NOT_YET,
	   "outside every mapping: not in the table yet (the agent asks for it)");
	ok(uwexec__map_rule(&t, rows, 3, 0x500600, &row) == DT_UW_INVALID,
	   "rows past the shared array's capacity are never read");
	t.n = 0xffffffff;
	ok(uwexec__map_rule(&t, rows, 4, 0x400000, &row) < DT_UW_NR,
	   "a torn count: a rule all the same, read within the table");
}

int main(void)
{
	prologue();
	realign();
	plt_signal_stop();
	walk();
	shared_table();
	return tap_done();
}
