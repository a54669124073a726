/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copyright (c) 2026 The dhat-trace developers */
#ifndef DT_PBUF_H
#define DT_PBUF_H

#include <stddef.h>
#include <stdint.h>

/*
 * Protocol Buffers wire format, the part profile.proto needs: varints and
 * length-delimited fields.  A nested message is built in a buffer of its
 * own and appended whole with pbuf__bytes.  An allocation failure sticks in
 * err (-ENOMEM) and makes every later call a no-op, so a caller checks once.
 */
struct pbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

void pbuf__free(struct pbuf *b);
/* A bare varint: an element of a packed repeated field. */
void pbuf__varint(struct pbuf *b, uint64_t v);
/* Field number field, wire type 0 (int64, uint64: negative values do not occur here). */
void pbuf__uint(struct pbuf *b, uint32_t field, uint64_t v);
/* Field number field, wire type 2: a string, a nested message, a packed array. */
void pbuf__bytes(struct pbuf *b, uint32_t field, const void *data, size_t len);

/* Bytes already encoded (fields of the same message), as they are. */
void pbuf__raw(struct pbuf *b, const void *data, size_t len);

#endif
