/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The two udev value encoders, byte for byte the algorithms of util-linux
 * libblkid/src/encode.c (docs/udev.md, "Property names and how values are encoded"):
 *
 *  img_enc  = blkid_encode_string: keep 0-9 A-Z a-z, "#+-.:=@_" and every
 *             valid multi-byte UTF-8 sequence (libblkid's validity rules:
 *             no overlong forms, no surrogates, nothing above U+10FFFF, no
 *             U+FDD0..U+FDEF and no U+xxFFFF); every other byte becomes
 *             \xHH (lowercase), including '\' itself, so the value is
 *             reversible.
 *  img_safe = blkid_safe_string: whitespace (C locale isspace) is dropped at
 *             both ends and runs are squeezed to one, which becomes '_';
 *             bytes 0x21-0x7e and valid multi-byte UTF-8 stay; invalid UTF-8
 *             bytes become '_'.
 *
 * What a control character is, is decided here once, for every output
 * (img_control_len): C0 (0x00-0x1f), DEL (0x7f) and C1 (U+0080-U+009F, the
 * UTF-8 sequences c2 80 .. c2 9f: U+009B is the 8-bit CSI terminals act on,
 * U+0085 a line break to many parsers).  JSON writes them as \u00XX, udev
 * and the table as '_' (img_safe), _ENC as \xNN per byte (img_enc), -P and
 * --export as \xNN per byte, error messages as \xNN per byte (img_esc,
 * which also writes '\' as \x5c, as libsmartcols does in the table, so the
 * text decodes back to the exact bytes).
 *
 * Differences from libblkid, on purpose:
 *  - both work on (pointer, length), so an embedded NUL is data: img_enc
 *    writes \x00, img_safe writes '_' (libblkid stops at the first NUL);
 *  - img_safe also turns every other control byte (0x00-0x1f, 0x7f) into
 *    '_': libblkid 2.38.1 keeps them (measured: "a\x01b\x1bc\x7fd" stays as
 *    is), and a udev value must never carry a control character
 *    (docs/security.md, rule 4);
 *  - C1 controls, valid UTF-8 that libblkid keeps, are controls here too:
 *    img_enc writes each of their two bytes as \xNN, img_safe writes one '_';
 *  - overflow: libblkid fails unless 4 bytes stay free after every
 *    character (so a 4*len+1 buffer is not always enough for it); these fail
 *    only when the result and its NUL really do not fit, and leave a valid,
 *    NUL-terminated prefix that never ends inside an escape or a UTF-8
 *    sequence.
 */
#include <stdlib.h>
#include <string.h>

#include <stdbool.h>
#include <stdint.h>

#include "text/encode.h"

/* bytes a UTF-8 sequence announces by its first byte; 0 for a continuation or 0xfe/0xff */
static int utf8_expected_len(uint8_t c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	if ((c & 0xfc) == 0xf8)
		return 5;
	if ((c & 0xfe) == 0xfc)
		return 6;
	return 0;
}

static int utf8_len_for(uint32_t u)
{
	if (u < 0x80)
		return 1;
	if (u < 0x800)
		return 2;
	if (u < 0x10000)
		return 3;
	if (u < 0x200000)
		return 4;
	if (u < 0x4000000)
		return 5;
	return 6;
}

static bool utf8_valid_range(uint32_t u)
{
	if (u > 0x10ffff)
		return false;
	if ((u & 0xfffff800) == 0xd800)
		return false;
	if (u > 0xfdcf && u < 0xfdf0)
		return false;
	if ((u & 0xffff) == 0xffff)
		return false;
	return true;
}

/*
 * libblkid's utf8_encoded_valid_unichar over at most avail bytes: the length
 * of the character at p (1 for any ASCII byte), or -1 when it is not a valid
 * sequence.  Running out of bytes counts as invalid, as libblkid's NUL does.
 */
static int utf8_valid_char(const uint8_t *p, size_t avail)
{
	int len = utf8_expected_len(p[0]);
	uint32_t u;

	if (len == 0)
		return -1;
	if (len == 1)
		return 1;
	if ((size_t)len > avail)
		return -1;
	for (int i = 0; i < len; i++)
		if ((p[i] & 0x80) != 0x80)
			return -1;

	u = p[0] & (0x7fu >> len);
	for (int i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		u = u << 6 | (p[i] & 0x3fu);
	}
	if (utf8_len_for(u) != len)
		return -1;
	if (!utf8_valid_range(u))
		return -1;
	return len;
}

size_t img_control_len(const char *str, size_t avail)
{
	const uint8_t *s = (const uint8_t *)str;

	if (!s || avail == 0)
		return 0;
	if (s[0] < 0x20 || s[0] == 0x7f)
		return 1;
	if (s[0] == 0xc2 && avail >= 2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	return 0;
}

static bool enc_allowed(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c != 0 && strchr("#+-.:=@_", c) != NULL);
}

/* isspace() in the C locale */
static bool c_space(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

int img_enc(const char *str, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0, j = 0;

	if (!out || outlen == 0)
		return -1;
	out[0] = '\0';
	if (!s)
		len = 0;

	while (i < len) {
		int n = utf8_valid_char(s + i, len - i);

		if (n > 1 && img_control_len(str + i, len - i) == 0) {
			if ((size_t)n > outlen - 1 - j)
				goto full;
			memcpy(out + j, s + i, (size_t)n);
			j += (size_t)n;
			i += (size_t)n;
		} else if (enc_allowed(s[i])) {
			if (outlen - 1 - j < 1)
				goto full;
			out[j++] = (char)s[i++];
		} else {
			if (outlen - 1 - j < 4)
				goto full;
			out[j++] = '\\';
			out[j++] = 'x';
			out[j++] = hex[s[i] >> 4];
			out[j++] = hex[s[i] & 0xf];
			i++;
		}
	}
	out[j] = '\0';
	return j > (size_t)0x7fffffff ? -1 : (int)j;
full:
	out[j] = '\0';
	return -1;
}

int img_safe(const char *str, size_t len, char *out, size_t outlen)
{
	const uint8_t *s = (const uint8_t *)str;
	bool intext = false, pending = false, truncated = false;
	size_t x = 0, i, w;

	if (!out || outlen == 0)
		return -1;
	out[0] = '\0';
	if (!s)
		len = 0;

	/*
	 * Pass 1, libblkid's __normalize_whitespace: leading and trailing
	 * whitespace dropped, a run inside the text kept as its first byte.
	 */
	for (i = 0; i < len; i++) {
		uint8_t c = s[i];

		if (c_space(c)) {
			if (intext && !pending) {
				pending = true;
				out[x] = (char)c; /* remembered below, written only if text follows */
			}
			continue;
		}
		if (pending) {
			if (x >= outlen - 1) {
				truncated = true;
				break;
			}
			x++; /* the first whitespace byte of the run, already stored */
			pending = false;
		}
		if (x >= outlen - 1) {
			truncated = true;
			break;
		}
		out[x++] = (char)c;
		intext = true;
	}

	/*
	 * Pass 2: printable ASCII and valid UTF-8 stay, whitespace and
	 * everything else (control bytes, invalid UTF-8) become '_', one per
	 * byte; a C1 control (two bytes) becomes one '_'.
	 */
	for (i = 0, w = 0; i < x;) {
		uint8_t c = (uint8_t)out[i];
		int n;

		if (c > 0x20 && c <= 0x7e) {
			out[w++] = out[i++];
		} else if (img_control_len(out + i, x - i) == 2) {
			out[w++] = '_';
			i += 2;
		} else if (c >= 0x80 && (n = utf8_valid_char((const uint8_t *)out + i, x - i)) > 1) {
			memmove(out + w, out + i, (size_t)n);
			w += (size_t)n;
			i += (size_t)n;
		} else {
			out[w++] = '_';
			i++;
		}
	}
	x = w;
	out[x] = '\0';
	if (truncated || x > (size_t)0x7fffffff)
		return -1;
	return (int)x;
}

int img_esc(const char *str, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0, j = 0;

	if (!out || outlen == 0)
		return -1;
	out[0] = '\0';
	if (!s)
		len = 0;
	while (i < len) {
		size_t c = img_control_len(str + i, len - i);
		int n = c ? -1 : utf8_valid_char(s + i, len - i);

		if (c == 0 && n >= 1 && s[i] != '\\') {
			if ((size_t)n > outlen - 1 - j)
				goto full;
			memcpy(out + j, s + i, (size_t)n);
			j += (size_t)n;
			i += (size_t)n;
			continue;
		}
		/* a control character, a byte of invalid UTF-8 or '\': each byte as \xNN */
		if (c == 0)
			c = 1;
		if (outlen - 1 - j < 4 * c)
			goto full;
		for (size_t k = 0; k < c; k++, i++) {
			out[j++] = '\\';
			out[j++] = 'x';
			out[j++] = hex[s[i] >> 4];
			out[j++] = hex[s[i] & 0xf];
		}
	}
	out[j] = '\0';
	return j > (size_t)0x7fffffff ? -1 : (int)j;
full:
	out[j] = '\0';
	return -1;
}

/*
 * img_prom_label: a Prometheus label value for the text exposition format
 * (docs/metrics.md).  The format itself escapes three bytes inside the
 * double quotes: '\' as \\, '"' as \" and a newline as \n; a parser gives
 * back the exact byte for each.  Everything else must be UTF-8, and imgscan
 * never writes a raw control character, so on top of that:
 *  - a control character (img_control_len: C0 other than the newline, DEL,
 *    and the C1 controls U+0080-U+009F written as valid UTF-8),
 *  - and every byte that is not part of a valid UTF-8 sequence (the
 *    validity rules of img_enc)
 * becomes the four characters \xHH of its byte (lowercase hex), written \\xHH
 * in the file since the backslash itself is escaped.  Valid multi-byte UTF-8
 * stays as is.  Returns the length, or -1 when out is too small (out then
 * holds a valid prefix that never ends inside an escape or a UTF-8
 * sequence); 5*len+1 bytes always suffice.
 */
int img_prom_label(const char *str, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0, j = 0;

	if (!out || outlen == 0)
		return -1;
	out[0] = '\0';
	if (!s)
		len = 0;

	while (i < len) {
		uint8_t c = s[i];
		/* the newline is escaped by the format itself, not as a control */
		size_t ctl = c == '\n' ? 0 : img_control_len(str + i, len - i);
		int n = ctl || c < 0x80 ? 1 : utf8_valid_char(s + i, len - i);
		const char *esc = NULL;

		if (!ctl && n > 1) {
			if ((size_t)n > outlen - 1 - j)
				goto full;
			memcpy(out + j, s + i, (size_t)n);
			j += (size_t)n;
			i += (size_t)n;
			continue;
		}
		if (c == '\\')
			esc = "\\\\";
		else if (c == '"')
			esc = "\\\"";
		else if (c == '\n')
			esc = "\\n";
		if (esc) {
			if (outlen - 1 - j < 2)
				goto full;
			out[j++] = esc[0];
			out[j++] = esc[1];
			i++;
		} else if (!ctl && n == 1 && c < 0x80) {
			if (outlen - 1 - j < 1)
				goto full;
			out[j++] = (char)c;
			i++;
		} else {
			/* a control or invalid byte; a C1 control's two bytes one by one */
			if (outlen - 1 - j < 5)
				goto full;
			out[j++] = '\\';
			out[j++] = '\\';
			out[j++] = 'x';
			out[j++] = hex[c >> 4];
			out[j++] = hex[c & 0xf];
			i++;
		}
	}
	out[j] = '\0';
	return j > (size_t)0x7fffffff ? -1 : (int)j;
full:
	out[j] = '\0';
	return -1;
}

char *img_esc_dupn(const char *s, size_t len)
{
	char *buf = len < SIZE_MAX / 4 ? malloc(4 * len + 1) : NULL;

	if (!buf) {
		static const char oom[] = "(a name that cannot be shown: out of memory)";

		/* plain C11 (no strdup): callers free what they get */
		buf = malloc(sizeof(oom));
		if (buf)
			memcpy(buf, oom, sizeof(oom));
		return buf;
	}
	img_esc(s, len, buf, 4 * len + 1);
	return buf;
}

char *img_esc_dup(const char *s)
{
	return img_esc_dupn(s, s ? strlen(s) : 0);
}
