// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "frametext.h"

const char *frametext__strip(const char *frame)
{
	const char *p = frame;

	if (p[0] != '0' || (p[1] != 'x' && p[1] != 'X'))
		return frame;
	for (p += 2; isxdigit((unsigned char)*p); p++)
		;
	if (p == frame + 2 || p[0] != ':' || p[1] != ' ')
		return frame;
	return p + 2;
}

/* Start of the trailing " (location)" group, or NULL: the last balanced
 * parenthesis group that a space precedes, so that a C++ parameter list
 * ("new(unsigned long)") is not taken for a location. */
static const char *location(const char *s)
{
	size_t n = strlen(s);
	int depth = 0;
	size_t i;

	if (!n || s[n - 1] != ')')
		return NULL;
	for (i = n; i-- > 0;) {
		if (s[i] == ')')
			depth++;
		else if (s[i] == '(' && --depth == 0)
			return i > 0 && s[i - 1] == ' ' ? s + i : NULL;
	}
	return NULL;
}

size_t frametext__function_len(const char *stripped)
{
	const char *loc = location(stripped);

	return loc ? (size_t)(loc - 1 - stripped) : strlen(stripped);
}

bool frametext__is_valgrind_alloc(const char *stripped)
{
	const char *loc = location(stripped);

	return loc && !strncmp(loc, "(in ", 4) && strstr(loc, "/vgpreload_");
}

bool frametext__is_main(const char *stripped)
{
	return frametext__function_len(stripped) == 4 && !strncmp(stripped, "main", 4);
}

char *frametext__key(const char *stripped, char *buf, size_t len)
{
	const char *loc = location(stripped), *close, *col, *line;
	size_t n = strlen(stripped), cut = n;

	/* "(file:line:col)": drop ":col" (both numbers). */
	if (loc) {
		close = stripped + n - 1;
		for (col = close; col > loc && isdigit((unsigned char)col[-1]); col--)
			;
		if (col < close && col[-1] == ':') {
			for (line = col - 1; line > loc && isdigit((unsigned char)line[-1]); line--)
				;
			if (line < col - 1 && line[-1] == ':')
				cut = (size_t)(col - 1 - stripped);
		}
	}
	snprintf(buf, len, "%.*s%s", (int)cut, stripped, cut < n ? ")" : "");
	return buf;
}

uint32_t frametext__span(const char *const *frames, uint32_t nr, unsigned int depth,
			 uint32_t *first)
{
	uint32_t i = 0, n;

	while (i < nr && frametext__is_valgrind_alloc(frametext__strip(frames[i])))
		i++;
	*first = i;
	for (n = 0; i + n < nr && (!depth || n < depth); n++)
		if (frametext__is_main(frametext__strip(frames[i + n])))
			return n + 1;
	return n;
}

char *frametext__label(const char *const *frames, uint32_t nr, unsigned int depth, char *buf,
		       size_t len)
{
	const char *s;
	size_t o = 0;
	uint32_t i;
	char *p;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < nr && depth && o + 1 < len; i++) {
		s = frametext__strip(frames[i]);
		if (frametext__is_valgrind_alloc(s))
			continue;
		snprintf(buf + o, len - o, "%s%s", o ? " <- " : "", s);
		o += strlen(buf + o);
		depth--;
	}
	if (!o)
		snprintf(buf, len, "%s", nr ? frametext__strip(frames[0]) : "[no frames]");
	for (p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return buf;
}

void frametext__print(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

/* The number that ends [s, end) after a ':', and where that ':' is; NULL if
 * it does not end so. */
static const char *trailing_number(const char *s, const char *end, uint64_t *n)
{
	const char *p = end;

	while (p > s && isdigit((unsigned char)p[-1]))
		p--;
	if (p == end || p == s || p[-1] != ':')
		return NULL;
	*n = strtoull(p, NULL, 10);
	return p - 1;
}

void frametext__parts(const char *stripped, struct frame_parts *out)
{
	const char *loc = location(stripped), *end, *colon, *before;
	uint64_t line = 0, col;

	*out = (struct frame_parts){ .fn = stripped, .file = "", .object = "" };
	out->fn_len = frametext__function_len(stripped);
	if (!loc)
		return;
	end = stripped + strlen(stripped) - 1;	/* the closing ')' */
	if (!strncmp(loc, "(in ", 4)) {
		out->object = loc + 4;
		out->object_len = (size_t)(end - out->object);
		return;
	}
	colon = trailing_number(loc + 1, end, &line);
	/* dhat-rs's "file:line:col": the number before the column is the line. */
	if (colon && (before = trailing_number(loc + 1, colon, &col))) {
		colon = before;
		line = col;
	}
	out->file = loc + 1;
	out->file_len = (size_t)((colon ? colon : end) - out->file);
	out->line = colon ? line : 0;
}

uint64_t frametext__address(const char *frame)
{
	const char *rest = frametext__strip(frame);

	return rest == frame ? 0 : strtoull(frame + 2, NULL, 16);
}

/* Length of "0xADDR: " at the start of frame; 0 without one. */
static size_t address_len(const char *frame)
{
	return (size_t)(frametext__strip(frame) - frame);
}

uint32_t frametext__inline_run(const char *const *frames, uint32_t nr, uint32_t i)
{
	size_t len = address_len(frames[i]);
	uint32_t j;

	if (!len)
		return 1;
	for (j = i + 1; j < nr; j++)
		if (address_len(frames[j]) != len || strncmp(frames[i], frames[j], len) ||
		    !strcmp(frames[i], frames[j]))
			break;
	return j - i;
}
