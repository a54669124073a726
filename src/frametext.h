/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_FRAMETEXT_H
#define DT_FRAMETEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The frame strings of DHAT files, as Valgrind, dhat-rs and dhat-trace write
 * them: "0x401136: leak_small (leak.c:43)", "0x48417B4: malloc (in
 * /usr/libexec/valgrind/vgpreload_dhat-amd64-linux.so)", "0x55d3c4e1a2b3:
 * heap::main (src/main.rs:38:18)", "0x1234: ???".
 */

/* The frame without its leading "0xADDR: ", which moves between runs. */
const char *frametext__strip(const char *frame);
/* Length of the function part of a stripped frame: "make_widget(int)" in
 * "make_widget(int) (cxx.cpp:55)", all of "???". */
size_t frametext__function_len(const char *stripped);
/* Valgrind's own allocator replacement ("... (in .../vgpreload_...)"): the
 * innermost frames of its stacks, which dhat-trace and dhat-rs do not show. */
bool frametext__is_valgrind_alloc(const char *stripped);
/* The C "main" function: Valgrind shows no frame beyond it by default. */
bool frametext__is_main(const char *stripped);
/* The stripped frame as a matching key into buf (cut to len - 1): a
 * "file:line:column" location (dhat-rs) becomes "file:line", as the other
 * tools write it.  Returns buf. */
char *frametext__key(const char *stripped, char *buf, size_t len);
/* The frames that identify a site across runs and tools: from the first
 * that is not Valgrind's allocator to the first "main" (Valgrind shows
 * none beyond it), at most depth of them (0: no limit).  Returns how many;
 * *first is the index of the first. */
uint32_t frametext__span(const char *const *frames, uint32_t nr, unsigned int depth,
			 uint32_t *first);
/* "fn (file:12) <- caller (file:30)": the depth innermost frames without
 * their addresses and without Valgrind's allocator frames, control
 * characters as '?', cut to len - 1.  Returns buf. */
char *frametext__label(const char *const *frames, uint32_t nr, unsigned int depth, char *buf,
		       size_t len);
/* The parts of a stripped frame; a part it lacks is empty (len 0, line 0). */
struct frame_parts {
	const char *fn, *file, *object;
	size_t fn_len, file_len, object_len;
	uint64_t line;
};
/* "fn (file:line)", "fn (file:line:col)" (the column dropped), "fn (in obj)". */
void frametext__parts(const char *stripped, struct frame_parts *out);
/* The address of "0xADDR: ..." (0 without one). */
uint64_t frametext__address(const char *frame);
/* How many frames from frames[i] on describe one return address: the inline
 * chain that the symbolizer writes as frames of the same "0xADDR: ", a
 * function inlined into the next.  Frames repeat the address in recursion
 * too; the chain is cut where its first frame comes again.  >= 1. */
uint32_t frametext__inline_run(const char *const *frames, uint32_t nr, uint32_t i);
/* s on out with control characters shown as '?': file contents must not
 * drive the terminal. */
void frametext__print(FILE *out, const char *s);

#endif
