// SPDX-License-Identifier: GPL-2.0-or-later
/* Copyright (c) 2026 The dhat-trace developers */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pbuf.h"
#include "util.h"

void pbuf__free(struct pbuf *b)
{
	free(b->p);
	*b = (struct pbuf){ 0 };
}

static uint8_t *room(struct pbuf *b, size_t n)
{
	if (b->err)
		return NULL;
	if (array_reserve(&b->p, &b->cap, b->len + n, 1)) {
		b->err = -ENOMEM;
		return NULL;
	}
	return b->p + b->len;
}

void pbuf__varint(struct pbuf *b, uint64_t v)
{
	uint8_t *p = room(b, 10);

	if (!p)
		return;
	for (; v >= 0x80; v >>= 7)
		*p++ = (uint8_t)(v | 0x80);
	*p++ = (uint8_t)v;
	b->len = (size_t)(p - b->p);
}

void pbuf__uint(struct pbuf *b, uint32_t field, uint64_t v)
{
	pbuf__varint(b, (uint64_t)field << 3);
	pbuf__varint(b, v);
}

void pbuf__raw(struct pbuf *b, const void *data, size_t len)
{
	uint8_t *p = room(b, len);

	if (!p || !len)
		return;
	memcpy(p, data, len);
	b->len += len;
}

void pbuf__bytes(struct pbuf *b, uint32_t field, const void *data, size_t len)
{
	pbuf__varint(b, (uint64_t)field << 3 | 2);
	pbuf__varint(b, len);
	pbuf__raw(b, data, len);
}
