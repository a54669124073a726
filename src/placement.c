// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Probe placement.  A uprobe replaces an instruction with int3; after the
 * program runs the kernel must execute the original instruction.  A few it
 * emulates in the trap handler (relative jmp/jcc/call, push of a register,
 * nop); any other it copies out of line and single-steps, a second trap that
 * costs several times the first.  glibc's free starts with `test %rdi,%rdi`
 * (single-stepped) followed by a `je` (emulated); jemalloc's malloc with a
 * `cmp` then a `ja`.  So a probe may move forward to the first emulated
 * instruction, over straight-line instructions that leave everything the
 * entry program reads as it was at the entry: the argument registers, rsp
 * (the return address at [sp], the nesting check, the uretprobe's hijack)
 * and rbp (the caller's frame).  Nothing may branch into the skipped range,
 * or onto the probed instruction, or the probe would miss or repeat a call.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <Zydis/Zydis.h>
#include "placement.h"

/* A prologue worth skipping is short; past this the entry is as good. */
#define MAX_SKIP_INSNS 16
#define MAX_SKIP_BYTES 64

static const ZydisRegister arg_regs[] = {
	ZYDIS_REGISTER_RDI, ZYDIS_REGISTER_RSI, ZYDIS_REGISTER_RDX,
	ZYDIS_REGISTER_RCX, ZYDIS_REGISTER_R8, ZYDIS_REGISTER_R9,
};

/* Emulated by arch/x86/kernel/uprobes.c, judged by the exact encodings it
 * accepts: no prefixes but REX.B on push, and the one-byte nop (0x66* 0x90). */
static bool emulated(const uint8_t *p, size_t n)
{
	if (n >= 1 && ((p[0] >= 0x70 && p[0] <= 0x7f) || p[0] == 0xeb || p[0] == 0xe9 ||
		       p[0] == 0xe8 || (p[0] >= 0x50 && p[0] <= 0x57) || p[0] == 0x90))
		return true;
	if (n >= 2 && p[0] == 0x0f && p[1] >= 0x80 && p[1] <= 0x8f)
		return true;
	if (n >= 2 && p[0] == 0x41 && p[1] >= 0x50 && p[1] <= 0x57)
		return true;
	return n >= 2 && p[0] == 0x66 && p[1] == 0x90;
}

static bool control_flow(const ZydisDecodedInstruction *in)
{
	switch (in->meta.category) {
	case ZYDIS_CATEGORY_COND_BR:
	case ZYDIS_CATEGORY_UNCOND_BR:
	case ZYDIS_CATEGORY_CALL:
	case ZYDIS_CATEGORY_RET:
	case ZYDIS_CATEGORY_SYSCALL:
	case ZYDIS_CATEGORY_INTERRUPT:
	case ZYDIS_CATEGORY_SYSTEM:
		return true;
	default:
		return in->mnemonic == ZYDIS_MNEMONIC_UD0 || in->mnemonic == ZYDIS_MNEMONIC_UD1 ||
		       in->mnemonic == ZYDIS_MNEMONIC_UD2;
	}
}

/* NULL if the instruction may run before the probe, else what forbids it. */
static const char *unskippable(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
			       unsigned int nargs)
{
	unsigned int i, j;

	if (control_flow(in))
		return "changes control flow";
	if (in->attributes & ZYDIS_ATTRIB_IS_PRIVILEGED)
		return "is privileged";
	for (i = 0; i < in->operand_count; i++) {
		const ZydisDecodedOperand *op = &ops[i];
		ZydisRegister r;

		if (!(op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			continue;
		if (op->type == ZYDIS_OPERAND_TYPE_MEMORY)
			return "writes memory";
		if (op->type != ZYDIS_OPERAND_TYPE_REGISTER)
			continue;
		r = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, op->reg.value);
		if (r == ZYDIS_REGISTER_RSP || r == ZYDIS_REGISTER_RBP || r == ZYDIS_REGISTER_RIP)
			return "moves the stack or frame pointer";
		for (j = 0; j < nargs && j < sizeof(arg_regs) / sizeof(arg_regs[0]); j++)
			if (r == arg_regs[j])
				return "writes an argument register";
	}
	return NULL;
}

static void format(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops, size_t at,
		   char *buf, size_t len)
{
	ZydisFormatter f;

	if (!ZYAN_SUCCESS(ZydisFormatterInit(&f, ZYDIS_FORMATTER_STYLE_ATT)) ||
	    !ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&f, in, ops, in->operand_count_visible,
							  buf, len, at, ZYAN_NULL)))
		snprintf(buf, len, "?");
}

/*
 * Any branch inside the function landing in (0, skip]: relative targets are
 * checked; an indirect jump (a switch's table) could land anywhere, so it
 * forbids the move.  Returns the reason, or NULL.
 */
static const char *branched_into(const ZydisDecoder *dec, const uint8_t *code, size_t len,
				 size_t skip, char *buf, size_t buflen)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	size_t at = 0;

	while (at < len) {
		unsigned int i;

		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(dec, code + at, len - at, &in, ops))) {
			snprintf(buf, buflen, "the function cannot be decoded at +%zu", at);
			return buf;
		}
		if (in.meta.category == ZYDIS_CATEGORY_COND_BR ||
		    in.meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
		    in.meta.category == ZYDIS_CATEGORY_CALL) {
			for (i = 0; i < in.operand_count_visible; i++) {
				ZyanU64 target;

				if (ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
				    ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &ops[i], at, &target))) {
					if (target > 0 && target <= skip) {
						snprintf(buf, buflen, "a branch at +%zu lands at +%llu",
							 at, (unsigned long long)target);
						return buf;
					}
				} else if (in.meta.category == ZYDIS_CATEGORY_CALL) {
					continue;	/* lands on a function's entry */
				} else if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER ||
					   (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
					    ops[i].mem.base != ZYDIS_REGISTER_RIP)) {
					snprintf(buf, buflen, "an indirect jump at +%zu", at);
					return buf;
				}
			}
		}
		at += in.length;
	}
	return NULL;
}

void placement__decide(const uint8_t *code, size_t len, uint64_t addr, unsigned int nargs,
		       struct placement *out)
{
	ZydisDecoder dec;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	size_t at = 0;
	const char *why = NULL;
	char text[64], reason[160];
	int n;

	memset(out, 0, sizeof(*out));
	if (!len) {
		/* Nothing says where the function ends: neither how far its
		 * bytes may be read nor which branches land in it. */
		snprintf(out->why, sizeof(out->why), "its size is unknown");
		return;
	}
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	for (n = 0; n < MAX_SKIP_INSNS && at < len && at < MAX_SKIP_BYTES; n++) {
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code + at, len - at, &in, ops))) {
			snprintf(reason, sizeof(reason), "cannot decode +%zu", at);
			why = reason;
			break;
		}
		format(&in, ops, addr + at, text, sizeof(text));
		if (n == 0)
			snprintf(out->insn, sizeof(out->insn), "%s", text);
		if (emulated(code + at, in.length)) {
			if (at == 0) {
				snprintf(out->why, sizeof(out->why), "its first instruction is "
					 "emulated");
				return;
			}
			why = branched_into(&dec, code, len, at, reason, sizeof(reason));
			if (why)
				break;
			out->skip = at;
			snprintf(out->insn, sizeof(out->insn), "%s", text);
			snprintf(out->why, sizeof(out->why), "the first emulated instruction");
			return;
		}
		why = unskippable(&in, ops, nargs);
		if (why) {
			snprintf(reason, sizeof(reason), "%s %s", text, why);
			why = reason;
			break;
		}
		at += in.length;
	}
	snprintf(out->why, sizeof(out->why), "%s", why ? why : "no emulated instruction early on");
}
