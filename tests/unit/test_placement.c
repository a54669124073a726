// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/* Probe placement on the real first bytes of the allocators we meet (Debian
 * 12's glibc and jemalloc) and on sequences that must keep the entry. */
#include <stdint.h>
#include <string.h>
#include "placement.h"
#include "tap.h"

static size_t skip(const uint8_t *code, size_t len, size_t fn_len, unsigned int nargs,
		   struct placement *pl)
{
	uint8_t buf[256];

	/* Pad with int3 so a decoder reading past the sequence sees no branch. */
	memset(buf, 0xcc, sizeof(buf));
	memcpy(buf, code, len);
	placement__decide(buf, fn_len, 0x1000, nargs, pl);
	return pl->skip;
}

int main(void)
{
	struct placement pl;

	/* glibc free: test %rdi,%rdi; je; push %rbp ... */
	static const uint8_t glibc_free[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00,
					      0x55, 0x48, 0x8d, 0x77, 0xf0, 0x53, 0xc3 };
	is_u64(skip(glibc_free, sizeof(glibc_free), 256, 1, &pl), 3, "glibc free: on its je (%s)",
	       pl.why);
	ok(strstr(pl.insn, "jz") != NULL, "the probed instruction is named: %s", pl.insn);

	/* glibc malloc: push %r12 first, emulated where it is. */
	static const uint8_t glibc_malloc[] = { 0x41, 0x54, 0x55, 0x53, 0x48, 0x89, 0xfb, 0xc3 };
	is_u64(skip(glibc_malloc, sizeof(glibc_malloc), 256, 1, &pl), 0, "glibc malloc: entry (%s)",
	       pl.why);
	ok(strstr(pl.why, "emulated") != NULL, "entry kept because it is emulated: %s", pl.why);

	/* jemalloc malloc: cmp $0x1000,%rdi; ja */
	static const uint8_t je_malloc[] = { 0x48, 0x81, 0xff, 0x00, 0x10, 0x00, 0x00,
					     0x0f, 0x87, 0x93, 0x00, 0x00, 0x00, 0xc3 };
	is_u64(skip(je_malloc, sizeof(je_malloc), 256, 1, &pl), 7, "jemalloc malloc: on its ja");

	/* jemalloc free: ten movs/shifts into rax, rdx, rcx (free has one
	 * argument, rdi), then jne at +0x30. */
	static const uint8_t je_free[] = {
		0x48, 0x89, 0xf8, 0x48, 0x8b, 0x15, 0x0e, 0x53, 0x0a, 0x00, 0x48, 0x89, 0xf9,
		0x48, 0xc1, 0xe8, 0x1a, 0x48, 0x81, 0xe1, 0x00, 0x00, 0x00, 0xc0, 0x25, 0xf0,
		0x00, 0x00, 0x00, 0x64, 0x48, 0x03, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00, 0x48,
		0x01, 0xd0, 0x48, 0x3b, 0x88, 0xb0, 0x01, 0x00, 0x00, 0x0f, 0x85, 0x8a, 0x00,
		0x00, 0x00, 0xc3 };
	is_u64(skip(je_free, sizeof(je_free), 256, 1, &pl), 0x30, "jemalloc free: on its jne");
	/* Its second instruction writes rdx, which a three-argument function reads. */
	is_u64(skip(je_free, sizeof(je_free), 256, 3, &pl), 0, "rdx written: entry for 3 args");
	ok(strstr(pl.why, "argument") != NULL, "why: %s", pl.why);

	/* glibc reallocarray: mov %rsi,%rax; mul %rdx (writes rdx, argument 3). */
	static const uint8_t reallocarray[] = { 0x48, 0x89, 0xf0, 0x48, 0xf7, 0xe2, 0x48, 0x89,
						0xc6, 0x70, 0x05, 0xc3 };
	is_u64(skip(reallocarray, sizeof(reallocarray), 256, 3, &pl), 0,
	       "implicit write (mul -> rdx): entry");

	/* glibc posix_memalign: cmpb $0,x(%rip); push %r12: probe the push. */
	static const uint8_t pm[] = { 0x80, 0x3d, 0x01, 0x02, 0x14, 0x00, 0x00, 0x41, 0x54, 0xc3 };
	is_u64(skip(pm, sizeof(pm), 256, 3, &pl), 7, "posix_memalign: on its push");

	/* sub $0x10,%rsp first: the return address moves away from [sp]. */
	static const uint8_t subrsp[] = { 0x48, 0x83, 0xec, 0x10, 0x74, 0x02, 0xc3 };
	is_u64(skip(subrsp, sizeof(subrsp), 256, 1, &pl), 0, "rsp changed: entry");

	/* mov %rsp,%rbp: the caller's frame pointer would be lost. */
	static const uint8_t movrbp[] = { 0x48, 0x89, 0xe5, 0x74, 0x02, 0xc3 };
	is_u64(skip(movrbp, sizeof(movrbp), 256, 1, &pl), 0, "rbp changed: entry");

	/* A store before the branch. */
	static const uint8_t store[] = { 0x48, 0x89, 0x07, 0x74, 0x02, 0xc3 };
	is_u64(skip(store, sizeof(store), 256, 1, &pl), 0, "memory write: entry");

	/* test; je +0; ...; jmp back onto the je (+3): the probe would fire twice. */
	static const uint8_t loop[] = { 0x48, 0x85, 0xff, 0x74, 0x02, 0x90, 0x90,
					0xeb, 0xfa, 0xc3 };
	is_u64(skip(loop, sizeof(loop), sizeof(loop), 1, &pl), 0,
	       "a branch onto the probed instruction: entry (%s)", pl.why);
	ok(strstr(pl.why, "lands at +3") != NULL, "why: %s", pl.why);

	/* Same without the back jump: moves. */
	static const uint8_t noloop[] = { 0x48, 0x85, 0xff, 0x74, 0x02, 0x90, 0x90, 0xc3 };
	is_u64(skip(noloop, sizeof(noloop), sizeof(noloop), 1, &pl), 3, "no back jump: moves");

	/* An indirect jump (switch table) anywhere in the function. */
	static const uint8_t indirect[] = { 0x48, 0x85, 0xff, 0x74, 0x02, 0xff, 0xe0, 0xc3 };
	is_u64(skip(indirect, sizeof(indirect), sizeof(indirect), 1, &pl), 0,
	       "indirect jump in the function: entry (%s)", pl.why);
	/* ...but a tail call through the GOT is not one. */
	static const uint8_t gotjmp[] = { 0x48, 0x85, 0xff, 0x74, 0x06, 0xff, 0x25, 0x00,
					  0x10, 0x00, 0x00, 0xc3 };
	is_u64(skip(gotjmp, sizeof(gotjmp), sizeof(gotjmp), 1, &pl), 3,
	       "jmp *x(%%rip) is a tail call: moves");

	/* Unknown size: the whole function cannot be checked. */
	is_u64(skip(noloop, sizeof(noloop), 0, 1, &pl), 0, "size unknown: entry (%s)", pl.why);

	/* Undecodable bytes. */
	static const uint8_t junk[] = { 0x0f, 0x0b, 0x74, 0x00 };	/* ud2 */
	is_u64(skip(junk, sizeof(junk), 256, 1, &pl), 0, "ud2 first: entry");
	return tap_done();
}
