// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
/*
 * Rust symbol demangler, legacy and v0 (RFC 2603), printing what binutils 2.40's `c++filt -i`
 * (libiberty) prints, so our stacks read like the tools users compare them with; where
 * libiberty is plainly wrong (constants wider than 64 bits) or lenient on malformed input,
 * we print the right digits or refuse. Symbols come from arbitrary binaries: every read is
 * bounded by the symbol's length, numbers are overflow-checked, backrefs must point back,
 * and recursion depth, work and output size are capped.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rust_demangle.h"
#include "util.h"

/* 51,000 real symbols (rustc, rustup, std) nest at most 30 deep, visit at most 259 nodes
 * and demangle to at most 1.5 KiB: these bounds only ever stop hostile input. */
#define RD_MAX_DEPTH 256	/* < 300 bytes of stack a level: < 80 KiB */
#define RD_MAX_STEPS 100000	/* path/type/const nodes visited */
#define RD_MAX_OUT 65536

struct rd {
	const char *sym;	/* after "_R" / "_ZN" */
	size_t len;		/* parse limit: without ".suffix" (and legacy's 'E') */
	size_t pos;
	char *out;
	size_t out_len;
	bool err, v0;
	bool skip;		/* parse without printing: impl paths, instantiating crate */
	unsigned int depth, steps;
	uint64_t bound_lt;	/* lifetimes bound by the enclosing for<...> binders */
};

struct ident {
	const char *ascii;
	size_t ascii_len;
	const char *puny;	/* v0 "u" identifiers: Punycode deltas after the last '_' */
	size_t puny_len;
};

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_alnum(char c) { return is_digit(c) || is_lower(c) || is_upper(c); }

/* Both schemes use lower-case hex only. */
static int hex_val(char c)
{
	return is_digit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The symbol is NUL-terminated and len never exceeds strlen, so 0 means "end". */
static char peek(const struct rd *d)
{
	return d->pos < d->len ? d->sym[d->pos] : 0;
}

static bool eat(struct rd *d, char c)
{
	if (peek(d) != c)
		return false;
	d->pos++;
	return true;
}

static char next(struct rd *d)
{
	char c = peek(d);

	if (!c)
		d->err = true;
	else
		d->pos++;
	return c;
}

/* Base-62 number ending in '_': "_" is 0, "<n>_" is n + 1; kept below UINT64_MAX. */
static uint64_t parse_b62(struct rd *d)
{
	static const char digits[] =
		"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	const char *p;
	uint64_t x = 0;

	if (eat(d, '_'))
		return 0;
	while (!d->err && !eat(d, '_')) {
		p = strchr(digits, next(d));	/* next() gives 0 at the end: no digit */
		if (!p || !*p || x > (UINT64_MAX - 2 - (p - digits)) / 62) {
			d->err = true;
			return 0;
		}
		x = x * 62 + (p - digits);
	}
	return d->err ? 0 : x + 1;
}

/* Optional "<tag><base-62>": 0 when absent, else the number + 1 (disambiguators, binders). */
static uint64_t parse_opt_b62(struct rd *d, char tag)
{
	uint64_t x = eat(d, tag) ? parse_b62(d) + 1 : 0;

	return d->err ? 0 : x;
}

/* <decimal> <bytes>, v0 adding an optional 'u' (Punycode) before and '_' after the count. */
static struct ident parse_ident(struct rd *d)
{
	struct ident id = { 0 };
	bool puny = d->v0 && eat(d, 'u');
	size_t n, k;
	char c = next(d);

	if (!is_digit(c))
		goto bad;
	n = c - '0';
	while (c != '0' && is_digit(peek(d))) {	/* "0" is the only count with a leading 0 */
		n = n * 10 + (next(d) - '0');
		if (n > d->len)
			goto bad;
	}
	if (d->v0)
		eat(d, '_');
	if (n > d->len - d->pos)
		goto bad;
	id.ascii = d->sym + d->pos;
	id.ascii_len = n;
	d->pos += n;
	if (puny) {
		/* The basic (ASCII) part ends at the last '_'; there may be none. */
		for (k = n; k > 0 && id.ascii[k - 1] != '_'; k--)
			;
		id.puny = id.ascii + k;
		id.puny_len = n - k;
		id.ascii_len = k ? k - 1 : 0;
		if (!id.puny_len)
			goto bad;
	}
	return id;
bad:
	d->err = true;
	return id;
}

static void put(struct rd *d, const char *s, size_t n)
{
	if (d->err || d->skip || !n)
		return;
	/* Room for the most we print and a NUL: pages never written cost nothing, and the
	 * result is shrunk to fit. Not before the first byte, so C++ names never allocate. */
	if (!d->out)
		d->out = malloc(RD_MAX_OUT + 1);
	if (!d->out || n > RD_MAX_OUT - d->out_len) {
		d->err = true;
		return;
	}
	memcpy(d->out + d->out_len, s, n);
	d->out_len += n;
}

static void puts_(struct rd *d, const char *s)
{
	put(d, s, strlen(s));
}

static void put_u64(struct rd *d, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	puts_(d, b);
}

static void put_utf8(struct rd *d, uint32_t c)
{
	int n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4, i;
	char u[4];

	for (i = n - 1; i > 0; i--, c >>= 6)
		u[i] = 0x80 | (c & 0x3f);
	u[0] = n == 1 ? c : (0xf00 >> n & 0xff) | c;	/* 0xc0, 0xe0, 0xf0 lead bytes */
	put(d, u, n);
}

/*
 * RFC 3492 Punycode decoding (base 36, tmin 1, tmax 26, skew 38, damp 700, initial bias 72,
 * initial code point 0x80), digits a-z then 0-9 as rustc writes them. Unlike libiberty we
 * refuse code points that are not Unicode scalar values rather than print broken UTF-8.
 */
static void put_punycode(struct rd *d, const struct ident *id)
{
	uint64_t delta, w, i = 0, bias = 72, damp = 700;
	size_t n = id->ascii_len, pos = 0, k, t, digit;
	uint32_t c = 0x80, *cp;
	char ch;

	/* Each decoded code point takes at least one Punycode digit. */
	cp = malloc((id->ascii_len + id->puny_len) * sizeof(*cp));
	if (!cp)
		goto bad;
	for (k = 0; k < n; k++)
		cp[k] = (unsigned char)id->ascii[k];
	while (pos < id->puny_len) {
		delta = 0;
		w = 1;
		for (k = 36;; k += 36) {
			ch = pos < id->puny_len ? id->puny[pos++] : 0;
			digit = is_lower(ch) ? ch - 'a' : is_digit(ch) ? 26 + ch - '0' : 36;
			if (digit == 36)	/* not a digit, or none left mid-delta */
				goto bad;
			t = k <= bias ? 1 : k - bias >= 26 ? 26 : k - bias;
			if (digit > (UINT64_MAX - delta) / w)
				goto bad;
			delta += digit * w;
			if (digit < t)
				break;
			if (w > UINT64_MAX / (36 - t))
				goto bad;
			w *= 36 - t;
		}
		n++;
		if (delta > UINT64_MAX - i || (i += delta) / n > 0x10ffff - c)
			goto bad;
		c += i / n;
		i %= n;
		if (c >= 0xd800 && c <= 0xdfff)
			goto bad;
		memmove(cp + i + 1, cp + i, (n - 1 - i) * sizeof(*cp));
		cp[i++] = c;
		/* Bias adaptation. */
		delta /= damp;
		damp = 2;
		delta += delta / n;
		for (k = 0; delta > 455; k += 36)	/* ((36 - tmin) * tmax) / 2 */
			delta /= 35;
		bias = k + 36 * delta / (delta + 38);
	}
	for (k = 0; k < n; k++)
		put_utf8(d, cp[k]);
	free(cp);
	return;
bad:
	d->err = true;
	free(cp);
}

static void put_ident(struct rd *d, const struct ident *id)
{
	if (!id->puny_len)
		put(d, id->ascii, id->ascii_len);
	else if (!d->err && !d->skip)
		put_punycode(d, id);
}

/* Late-bound lifetimes: 1 is the innermost binder's newest, printed 'a, 'b, ... '_26. */
static void put_lifetime(struct rd *d, uint64_t lt)
{
	uint64_t depth = d->bound_lt - lt;
	char b[24] = "'_";

	if (lt > d->bound_lt)	/* libiberty prints an underflowed number here */
		d->err = true;
	else if (lt && depth < 26)
		b[1] = 'a' + depth;
	else if (lt)
		snprintf(b + 2, sizeof(b) - 2, "%" PRIu64, depth);
	puts_(d, b);
}

static bool v0_path(struct rd *d, bool in_value, bool keep_open);
static void v0_type(struct rd *d);
static void v0_const(struct rd *d);

/* Every recursive production passes here, which bounds both stack depth and total work. */
static bool enter(struct rd *d)
{
	if (d->err || d->depth >= RD_MAX_DEPTH || ++d->steps > RD_MAX_STEPS) {
		d->err = true;
		return false;
	}
	d->depth++;
	return true;
}

/*
 * After a 'B': move to the target (caller re-parses there, then restores *ret) unless only
 * skipping, which keeps the work linear in the output. rustc only refers backwards; a
 * cycle through earlier text still ends at RD_MAX_DEPTH.
 */
static bool backref(struct rd *d, size_t *ret)
{
	size_t at = d->pos - 1;
	uint64_t target = parse_b62(d);

	if (!d->err && target >= at)
		d->err = true;
	if (d->err || d->skip)
		return false;
	*ret = d->pos;
	d->pos = target;
	return true;
}

/* "G<n>" introduces n late-bound lifetimes: "for<'a, 'b> ". Caller restores bound_lt. */
static void v0_binder(struct rd *d)
{
	uint64_t n = parse_opt_b62(d, 'G'), i;

	if (n > UINT64_MAX - d->bound_lt || (!d->skip && n > RD_MAX_OUT))
		d->err = true;
	if (!n || d->err)
		return;
	puts_(d, "for<");
	for (i = 0; i < n && !d->err && !d->skip; i++) {	/* skipping: no loop */
		puts_(d, i ? ", " : "");
		d->bound_lt++;
		put_lifetime(d, 1);
	}
	d->bound_lt += n - i;
	puts_(d, "> ");
}

static void v0_generic_args(struct rd *d)
{
	size_t i;

	for (i = 0; !d->err && !eat(d, 'E'); i++) {
		puts_(d, i ? ", " : "");
		if (eat(d, 'L'))
			put_lifetime(d, parse_b62(d));
		else if (eat(d, 'K'))
			v0_const(d);
		else
			v0_type(d);
	}
}

/*
 * in_value: generics print as "f::<T>" (a value's path) rather than "Vec<T>" (in a type).
 * keep_open: for a dyn trait, leave a final generic list open ("Iterator<A") so that
 * associated type bindings can join it ("Iterator<A, Item = u8>"); returns whether it did.
 */
static bool v0_path(struct rd *d, bool in_value, bool keep_open)
{
	bool was_skip, open = false;
	struct ident id;
	uint64_t dis;
	size_t ret;
	char tag, ns;

	if (!enter(d))
		return false;
	switch ((tag = next(d))) {
	case 'C':	/* crate root; its disambiguator is only shown by `c++filt` without -i */
		parse_opt_b62(d, 's');
		id = parse_ident(d);
		put_ident(d, &id);
		break;
	case 'N':
		ns = next(d);
		if (!is_lower(ns) && !is_upper(ns)) {
			d->err = true;
			break;
		}
		v0_path(d, in_value, false);
		dis = parse_opt_b62(d, 's');
		id = parse_ident(d);
		if (is_upper(ns)) {	/* "{closure#0}", "{shim:vtable#0}", ... */
			puts_(d, ns == 'C' ? "::{closure" : ns == 'S' ? "::{shim" : "::{");
			if (ns != 'C' && ns != 'S')
				put(d, &ns, 1);
			if (id.ascii_len || id.puny_len)
				puts_(d, ":");
			put_ident(d, &id);
			puts_(d, "#");
			put_u64(d, dis);
			puts_(d, "}");
		} else {
			if (id.ascii_len || id.puny_len)
				puts_(d, "::");
			put_ident(d, &id);
		}
		break;
	case 'M':	/* inherent impl "<T>", trait impl "<T as Trait>": the impl's own path */
	case 'X':	/* (crate + disambiguator) is not printed */
		parse_opt_b62(d, 's');
		was_skip = d->skip;
		d->skip = true;
		v0_path(d, in_value, false);
		d->skip = was_skip;
		/* fallthrough */
	case 'Y':
		puts_(d, "<");
		v0_type(d);
		if (tag != 'M') {
			puts_(d, " as ");
			v0_path(d, false, false);
		}
		puts_(d, ">");
		break;
	case 'I':
		v0_path(d, in_value, false);
		puts_(d, in_value ? "::<" : "<");
		v0_generic_args(d);
		open = keep_open;
		puts_(d, open ? "" : ">");
		break;
	case 'B':
		if (backref(d, &ret)) {
			open = v0_path(d, in_value, keep_open);
			d->pos = ret;
		}
		break;
	default:
		d->err = true;
	}
	d->depth--;
	return open;
}

static const char *const basic_types[26] = {
	['a' - 'a'] = "i8", ['b' - 'a'] = "bool", ['c' - 'a'] = "char", ['d' - 'a'] = "f64",
	['e' - 'a'] = "str", ['f' - 'a'] = "f32", ['h' - 'a'] = "u8", ['i' - 'a'] = "isize",
	['j' - 'a'] = "usize", ['l' - 'a'] = "i32", ['m' - 'a'] = "u32", ['n' - 'a'] = "i128",
	['o' - 'a'] = "u128", ['p' - 'a'] = "_", ['s' - 'a'] = "i16", ['t' - 'a'] = "u16",
	['u' - 'a'] = "()", ['v' - 'a'] = "...", ['x' - 'a'] = "i64", ['y' - 'a'] = "u64",
	['z' - 'a'] = "!",
};

/* ABIs are identifiers with '-' mangled as '_'. libiberty leaves the character right
 * after a converted '_' alone ("a__b" -> "a-_b"); no real ABI has "__", but match it. */
static void put_abi(struct rd *d, const struct ident *abi)
{
	size_t i, seg = 0;

	for (i = 0; i < abi->ascii_len; i++) {
		if (abi->ascii[i] == '_' && (i == 0 || i != seg)) {
			put(d, abi->ascii + seg, i - seg);
			puts_(d, "-");
			seg = i + 1;
		}
	}
	put(d, abi->ascii + seg, abi->ascii_len - seg);
}

/* F [binder] [U] [K abi] arg* E ret: "unsafe extern \"C\" fn(A, B) -> R". */
static void v0_fn_sig(struct rd *d)
{
	uint64_t saved = d->bound_lt;
	struct ident abi = { .ascii = "C", .ascii_len = 1 };
	size_t i;

	v0_binder(d);
	if (eat(d, 'U'))
		puts_(d, "unsafe ");
	if (eat(d, 'K')) {
		if (!eat(d, 'C'))
			abi = parse_ident(d);
		if (!abi.ascii_len || abi.puny_len) {
			d->err = true;
		} else {
			puts_(d, "extern \"");
			put_abi(d, &abi);
			puts_(d, "\" ");
		}
	}
	puts_(d, "fn(");
	for (i = 0; !d->err && !eat(d, 'E'); i++) {
		puts_(d, i ? ", " : "");
		v0_type(d);
	}
	puts_(d, ")");
	if (!eat(d, 'u')) {	/* a "()" return type is not printed */
		puts_(d, " -> ");
		v0_type(d);
	}
	d->bound_lt = saved;
}

/* D [binder] (path {p name type})* E L lifetime: "dyn for<'a> A<X = T> + B + 'a". */
static void v0_dyn(struct rd *d)
{
	uint64_t saved = d->bound_lt, lt;
	struct ident id;
	size_t i;
	bool open;

	puts_(d, "dyn ");
	v0_binder(d);
	for (i = 0; !d->err && !eat(d, 'E'); i++) {
		puts_(d, i ? " + " : "");
		open = v0_path(d, false, true);
		while (!d->err && eat(d, 'p')) {
			puts_(d, open ? ", " : "<");
			open = true;
			id = parse_ident(d);
			put_ident(d, &id);
			puts_(d, " = ");
			v0_type(d);
		}
		if (open)
			puts_(d, ">");
	}
	d->bound_lt = saved;
	if (!eat(d, 'L'))
		d->err = true;
	lt = parse_b62(d);
	puts_(d, lt ? " + " : "");
	if (lt)
		put_lifetime(d, lt);
}

static void v0_type(struct rd *d)
{
	uint64_t lt;
	size_t i, ret;
	char tag;

	if (d->err)
		return;
	tag = next(d);
	if (is_lower(tag) && basic_types[tag - 'a']) {
		puts_(d, basic_types[tag - 'a']);
		return;
	}
	if (!enter(d))
		return;
	switch (tag) {
	case 'R':	/* &T, &'a mut T */
	case 'Q':
		puts_(d, "&");
		if (eat(d, 'L') && (lt = parse_b62(d))) {
			put_lifetime(d, lt);
			puts_(d, " ");
		}
		puts_(d, tag == 'Q' ? "mut " : "");
		v0_type(d);
		break;
	case 'P':
	case 'O':
		puts_(d, tag == 'P' ? "*const " : "*mut ");
		v0_type(d);
		break;
	case 'A':	/* [T; N] */
	case 'S':	/* [T] */
		puts_(d, "[");
		v0_type(d);
		if (tag == 'A') {
			puts_(d, "; ");
			v0_const(d);
		}
		puts_(d, "]");
		break;
	case 'T':	/* (A, B), and (A,) for a 1-tuple */
		puts_(d, "(");
		for (i = 0; !d->err && !eat(d, 'E'); i++) {
			puts_(d, i ? ", " : "");
			v0_type(d);
		}
		puts_(d, i == 1 ? ",)" : ")");
		break;
	case 'F':
		v0_fn_sig(d);
		break;
	case 'D':
		v0_dyn(d);
		break;
	case 'B':
		if (backref(d, &ret)) {
			v0_type(d);
			d->pos = ret;
		}
		break;
	default:	/* a named type: hand the tag back to the path parser */
		d->pos--;
		v0_path(d, false, false);
	}
	d->depth--;
}

/*
 * Const generic arguments: <type tag> ['n'] <lower-case hex> '_', or 'p' for a placeholder.
 * Only integers, bool and char: libiberty has no str/ref/array/ADT consts either.
 */
static void v0_const(struct rd *d)
{
	const char *digits;
	uint64_t v = 0;
	size_t ret, n = 0;
	char tag, b[24];
	bool num;

	if (!enter(d))
		return;
	if (eat(d, 'B')) {
		if (backref(d, &ret)) {
			v0_const(d);
			d->pos = ret;
		}
		d->depth--;
		return;
	}
	tag = next(d);
	num = tag && strchr("htmyojaslxni", tag);
	if (num && strchr("aslxni", tag) && eat(d, 'n'))
		puts_(d, "-");
	for (digits = d->sym + d->pos; tag != 'p' && !d->err && !eat(d, '_'); n++) {
		if (hex_val(peek(d)) < 0)
			d->err = true;
		v = v << 4 | hex_val(next(d));
	}
	if (tag == 'p') {
		puts_(d, "_");
	} else if (num && n > 16) {	/* libiberty shifts these by one char: "0xfff..f_" */
		puts_(d, "0x");
		put(d, digits, n);
	} else if (num && n) {
		put_u64(d, v);
	} else if (tag == 'b' && n == 1 && v <= 1) {
		puts_(d, v ? "true" : "false");
	} else if (tag == 'c' && n && n <= 8) {
		/* As libiberty: printable ASCII but ' ' and '~' as is, \t \r \n, else \u{hex}. */
		if (v == '\t' || v == '\r' || v == '\n')
			snprintf(b, sizeof(b), "'\\%c'", v == '\t' ? 't' : v == '\r' ? 'r' : 'n');
		else if (v > ' ' && v < '~')
			snprintf(b, sizeof(b), "'%c'", (char)v);
		else
			snprintf(b, sizeof(b), "'\\u{%" PRIx64 "}'", v);
		puts_(d, b);
	} else {
		d->err = true;
	}
	d->depth--;
}

/* _R <path> [<instantiating crate>], then an optional ".suffix" that is dropped. */
static void demangle_v0(struct rd *d)
{
	size_t i;

	if (!is_upper(d->sym[0]))	/* "_R<decimal version>" is not version 0 */
		goto bad;
	for (i = 0; d->sym[i] && d->sym[i] != '.'; i++)
		if (!is_alnum(d->sym[i]) && d->sym[i] != '_')
			goto bad;
	d->len = i;
	d->v0 = true;
	v0_path(d, true, false);
	if (!d->err && d->pos < d->len) {
		d->skip = true;
		v0_path(d, false, false);
	}
	if (d->pos == d->len)
		return;
bad:
	d->err = true;
}

/* "h" + 16 lower-case hex digits, at least 5 of them distinct (libiberty's C++ filter). */
static bool legacy_is_hash(const struct ident *id)
{
	unsigned int seen = 0, i;
	int x;

	if (id->ascii_len != 17 || id->ascii[0] != 'h')
		return false;
	for (i = 1; i < 17; i++) {
		x = hex_val(id->ascii[i]);
		if (x < 0)
			return false;
		seen |= 1u << x;
	}
	return __builtin_popcount(seen) >= 5;
}

/* "$LT$" and friends; returns the character and sets *len, or 0 if not a known escape. */
static char legacy_escape(const char *s, size_t n, size_t *len)
{
	static const char *const esc[] = {
		"$C$,", "$SP$@", "$BP$*", "$RF$&", "$LT$<", "$GT$>", "$LP$(", "$RP$)",
	};
	size_t i, k;
	int hi, lo;

	for (i = 0; i < ARRAY_SIZE(esc); i++) {
		k = strlen(esc[i]) - 1;
		if (n >= k && !memcmp(s, esc[i], k)) {
			*len = k;
			return esc[i][k];
		}
	}
	if (n < 5 || s[1] != 'u' || s[4] != '$')
		return 0;
	hi = hex_val(s[2]);
	lo = hex_val(s[3]);
	if (hi < 0 || lo < 0 || hi > 7 || (hi << 4 | lo) < 0x20)
		return 0;	/* "$u7e$": printable ASCII only */
	*len = 5;
	return hi << 4 | lo;
}

static void legacy_put_ident(struct rd *d, const struct ident *id)
{
	const char *s = id->ascii;
	size_t n = id->ascii_len, k;
	char c;

	/* rustc prefixes '_' to identifiers that would start with an escape. */
	if (n >= 2 && s[0] == '_' && s[1] == '$') {
		s++;
		n--;
	}
	while (n > 0) {
		if (s[0] == '$') {
			c = legacy_escape(s, n, &k);
			if (!c) {	/* unknown escape (e.g. non-ASCII $u..$): rest verbatim */
				put(d, s, n);
				return;
			}
			put(d, &c, 1);
		} else if (s[0] == '.') {
			k = n >= 2 && s[1] == '.' ? 2 : 1;
			puts_(d, k == 2 ? "::" : ".");
		} else {
			for (k = 0; k < n && s[k] != '$' && s[k] != '.'; k++)
				;
			put(d, s, k);
		}
		s += k;
		n -= k;
	}
}

/* _ZN (<len><ident>)* 17h<hash> E [.suffix]: all but the hash, joined with "::". */
static void demangle_legacy(struct rd *d)
{
	struct ident id;
	bool dot = true;
	size_t n;

	for (n = 0; d->sym[n]; n++)
		if (!is_alnum(d->sym[n]) && !strchr("_$.:@", d->sym[n]))
			goto bad;
	/* Drop a ".llvm.123"-style suffix: cut back to the last 'E' that is followed by '.'. */
	while (n > 0 && !(dot && d->sym[n - 1] == 'E')) {
		dot = d->sym[n - 1] == '.';
		n--;
	}
	if (n <= 20 || memcmp(d->sym + n - 20, "17h", 3))
		goto bad;
	d->len = n - 1;
	do {
		id = parse_ident(d);
		if (d->err || !id.ascii_len)
			goto bad;
	} while (d->pos < d->len);
	if (!legacy_is_hash(&id))
		goto bad;
	/* The hash's "17h" ends the printed part; a hash alone is not a Rust symbol. */
	d->pos = 0;
	d->len -= 19;
	do {
		puts_(d, d->pos ? "::" : "");
		id = parse_ident(d);
		legacy_put_ident(d, &id);
	} while (!d->err && d->pos < d->len);
	return;
bad:
	d->err = true;
}

char *rust_demangle(const char *sym)
{
	struct rd d = { 0 };
	char *p;

	if (!sym || (strncmp(sym, "_R", 2) && strncmp(sym, "_ZN", 3)))
		return NULL;
	d.sym = sym + (sym[1] == 'R' ? 2 : 3);
	if (sym[1] == 'R')
		demangle_v0(&d);
	else
		demangle_legacy(&d);
	/* An empty result ("_RC0_") is a valid parse but no use as a name. */
	if (d.err || !d.out_len) {
		free(d.out);
		return NULL;
	}
	d.out[d.out_len] = '\0';
	p = realloc(d.out, d.out_len + 1);
	return p ? p : d.out;
}
