/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_RUST_DEMANGLE_H
#define DT_RUST_DEMANGLE_H

/*
 * Demangle a Rust symbol, legacy ("_ZN...17h<16 hex>E") or v0 ("_R...", RFC 2603), into
 * what binutils 2.40's `c++filt -i` prints: no legacy hash, no v0 crate disambiguator,
 * ".llvm.N"-style suffixes dropped. Returns a malloc'd string, or NULL when `sym` is not a
 * Rust symbol (a "_ZN" name without the hash segment is C++: leave it to __cxa_demangle),
 * is malformed, nests too deeply or would demangle to more than 64 KiB.
 */
char *rust_demangle(const char *sym);

#endif
