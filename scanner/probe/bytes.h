/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Endian helpers for on-disk fields.
 *
 * Every multi-byte field of a header is read through these: they copy the
 * bytes with memcpy-free shifts, so nothing ever overlays an unaligned struct.
 * The *_at variants take a buffer length and return false instead of reading
 * past it; probes use them whenever an offset comes from the header.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint16_t img_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t img_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t img_le64(const uint8_t *p)
{
	return (uint64_t)img_le32(p) | (uint64_t)img_le32(p + 4) << 32;
}

static inline uint16_t img_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t img_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t img_be64(const uint8_t *p)
{
	return (uint64_t)img_be32(p) << 32 | (uint64_t)img_be32(p + 4);
}

/* true when [off, off+len) lies inside a buffer of buflen bytes, overflow-safe */
static inline bool img_in_bounds(uint64_t off, uint64_t len, uint64_t buflen)
{
	return off <= buflen && len <= buflen - off;
}

#define IMG_DEFINE_AT(name, bits)                                                         \
	static inline bool name##_at(const uint8_t *buf, size_t buflen, uint64_t off,      \
	                             uint##bits##_t *ret)                                   \
	{                                                                                   \
		if (!img_in_bounds(off, bits / 8, buflen))                                  \
			return false;                                                       \
		*ret = name(buf + off);                                                     \
		return true;                                                                \
	}

IMG_DEFINE_AT(img_le16, 16)
IMG_DEFINE_AT(img_le32, 32)
IMG_DEFINE_AT(img_le64, 64)
IMG_DEFINE_AT(img_be16, 16)
IMG_DEFINE_AT(img_be32, 32)
IMG_DEFINE_AT(img_be64, 64)

#undef IMG_DEFINE_AT

/* a + b into *ret; false on overflow */
static inline bool img_add_overflow(uint64_t a, uint64_t b, uint64_t *ret)
{
	return __builtin_add_overflow(a, b, ret);
}

static inline bool img_mul_overflow(uint64_t a, uint64_t b, uint64_t *ret)
{
	return __builtin_mul_overflow(a, b, ret);
}
