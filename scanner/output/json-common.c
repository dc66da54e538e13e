/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * JSON text shared by the library's --json objects (out-json.c) and the
 * command's own (the "device" object, --cached): untrusted strings made
 * valid UTF-8 the way qemu's JSON writer does it, a block device's facts,
 * and the one printer of every JSON text imgscan writes (qemu-img's
 * indentation; DEL and C1 written as \u00XX).  No probe result is read here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "output/json-common.h"
#include "text/encode.h"

/*
 * One character as qemu's JSON writer reads it (util/unicode.c
 * mod_utf8_codepoint): *used bytes are consumed (a lead byte and the
 * continuation bytes that follow it, at most the announced length), and the
 * code point is returned, or -1 for an invalid sequence, a surrogate, a
 * noncharacter or anything above U+10FFFF, which qemu prints as one U+FFFD.
 * "\xC0\x80" is modified UTF-8 for U+0000.
 */
static int32_t qemu_codepoint(const uint8_t *p, size_t avail, size_t *used)
{
	static const uint32_t min_cp[] = { 0x80, 0x800, 0x10000, 0x200000, 0x4000000 };
	uint8_t c = p[0];
	unsigned len = 0, i;
	uint32_t cp, mask;

	*used = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xfe || (c & 0x40) == 0)
		return -1;
	for (mask = 0x80; c & mask; mask >>= 1)
		len++;
	cp = c & (mask - 1);
	for (i = 1; i < len; i++) {
		if (i >= avail || (p[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (p[i] & 0x3fu);
		*used = i + 1;
	}
	if (cp > 0x10ffff || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	if (cp < min_cp[len - 2] && !(cp == 0 && len == 2))
		return -1;
	return (int32_t)cp;
}

/*
 * A JSON string from untrusted bytes, as qemu-img would print it: every
 * invalid sequence (see above) becomes U+FFFD, so the document stays valid
 * UTF-8; json-c then escapes '"', '\' and the control bytes.
 */
json_object *img_jstr(const char *str, size_t len)
{
	const uint8_t *s = (const uint8_t *)str;
	json_object *o;
	uint8_t *buf;
	size_t i, j, n;
	bool clean = true;

	if (!s)
		return sym_json_object_new_string("");
	for (i = 0; i < len && clean; i += n)
		clean = s[i] < 0x80 ? (n = 1, true) : qemu_codepoint(s + i, len - i, &n) > 0;
	if (clean)
		return sym_json_object_new_string_len(str, (int)len);

	/* U+FFFD takes 3 bytes and replaces at least one */
	buf = malloc(3 * len + 1);
	if (!buf)
		return NULL;
	for (i = 0, j = 0; i < len; i += n) {
		int32_t cp = qemu_codepoint(s + i, len - i, &n);

		if (cp < 0) {
			memcpy(buf + j, "\xef\xbf\xbd", 3);
			j += 3;
		} else if (cp == 0) {
			buf[j++] = 0; /* a NUL byte or modified UTF-8 "\xC0\x80": json-c writes \u0000 */
		} else {
			memcpy(buf + j, s + i, n);
			j += n;
		}
	}
	o = sym_json_object_new_string_len((const char *)buf, (int)j);
	free(buf);
	return o;
}

json_object *img_jcstr(const char *s)
{
	return img_jstr(s, s ? strlen(s) : 0);
}

/* the block device behind the path: lsblk-like facts from sysfs and the udev db */
void img_json_add_device(json_object *o, const struct img_device *d)
{
	json_object *j;
	char devnum[32];

	if (!d)
		return;
	j = sym_json_object_new_object();
	img_jfield(j, "name", d->name);
	snprintf(devnum, sizeof(devnum), "%u:%u", major(d->devnum), minor(d->devnum));
	sym_json_object_object_add(j, "devnum", img_jcstr(devnum));
	img_jfield(j, "type", d->type);
	img_jfield(j, "vg", d->vg);
	img_jfield(j, "lv", d->lv);
	img_jfield(j, "dm-name", d->dm_name);
	img_jfield(j, "dm-uuid", d->dm_uuid);
	sym_json_object_object_add(j, "size", sym_json_object_new_uint64(d->size));
	if (d->low_priority)
		sym_json_object_object_add(j, "snapshot", sym_json_object_new_boolean(true));
	sym_json_object_object_add(o, "device", j);
}

/* n bytes to whichever of f and out is given (neither: only counted) */
static void emit(FILE *f, char *out, size_t *o, const void *p, size_t n)
{
	if (f)
		fwrite(p, 1, n, f);
	else if (out)
		memcpy(out + *o, p, n);
	*o += n;
}

/*
 * json-c indents by two spaces; qemu-img by four.  json-c never writes a raw
 * newline inside a string (it escapes it), so every line's leading spaces
 * are indentation: double them, after prefix.  No newline after the last line.
 * A plain (one-line) text is only escaped.  Written to f, or into out, or
 * (neither) only measured; the length is returned.
 */
static size_t reindent(const char *text, bool pretty, const char *prefix, FILE *f, char *out)
{
	static const char spaces[] = "                                ";
	size_t plen = strlen(prefix), o = 0;
	const char *p = text;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t lead = pretty ? strspn(p, " ") : 0;
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		emit(f, out, &o, prefix, plen);
		for (size_t n = 2 * lead; n;) {
			size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

			emit(f, out, &o, spaces, k);
			n -= k;
		}
		for (size_t i = lead; i < len;) {
			/* DEL and C1 controls, which json-c writes raw */
			size_t c = img_control_len(p + i, len - i), run = i + 1;
			char esc[8];

			if (c == 0) {
				/* the run of bytes up to the next control, in one piece */
				while (run < len && img_control_len(p + run, len - run) == 0)
					run++;
				emit(f, out, &o, p + i, run - i);
				i = run;
				continue;
			}
			snprintf(esc, sizeof(esc), "\\u%04x",
			         c == 1 ? (unsigned char)p[i]
			                : (unsigned)(((unsigned char)p[i] & 0x1f) << 6 |
			                             ((unsigned char)p[i + 1] & 0x3f)));
			emit(f, out, &o, esc, 6);
			i += c;
		}
		p += len;
		if (eol) {
			p++;
			if (*p)
				emit(f, out, &o, "\n", 1);
		}
	}
	return o;
}

static const char *json_c_text(json_object *o, bool pretty)
{
	return sym_json_object_to_json_string_ext(
		o, (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN) |
		           JSON_C_TO_STRING_NOSLASHESCAPE);
}

/*
 * The text of o into a buffer of the largest size it can take: every line
 * prefixed, every byte doubled (all indentation) or written as \u00XX (a
 * DEL).  NULL when memory ran out.
 */
static char *text_of(const char *text, bool pretty, const char *prefix, size_t *len)
{
	size_t tlen = strlen(text), plen = strlen(prefix), lines = 1, n;
	char *out;

	for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	if (tlen > (SIZE_MAX - 1) / 6 || (plen && lines > (SIZE_MAX - 1 - 6 * tlen) / plen))
		return NULL;
	out = malloc(lines * plen + 6 * tlen + 1);
	if (!out)
		return NULL;
	n = reindent(text, pretty, prefix, NULL, out);
	out[n] = 0;
	if (len)
		*len = n;
	return out;
}

char *img_json_object_text(json_object *o, bool pretty, const char *prefix, size_t *len)
{
	const char *text = o ? json_c_text(o, pretty) : NULL;

	return text ? text_of(text, pretty, prefix, len) : NULL;
}

/*
 * One object of a document, after prefix, to f: built in memory and written
 * at once; when memory runs out for that, written piece by piece.
 */
void img_json_put_item(FILE *f, json_object *o, const char *prefix)
{
	const char *text = o ? json_c_text(o, true) : NULL;
	size_t len;
	char *buf;

	if (!text)
		return;
	buf = text_of(text, true, prefix, &len);
	if (buf)
		fwrite(buf, 1, len, f);
	else
		reindent(text, true, prefix, f, NULL);
	free(buf);
}

void img_out_json_cached_item(FILE *f, const struct img_device *d, bool first)
{
	json_object *o, *p;

	if (dlopen_jsonc("JSON output") < 0)
		return;
	o = sym_json_object_new_object();
	p = sym_json_object_new_object();
	sym_json_object_object_add(o, "path", img_jcstr(d->node));
	img_json_add_device(o, d);
	for (unsigned i = 0; i < d->n_props; i++)
		sym_json_object_object_add(p, d->props[i].key, img_jcstr(d->props[i].value));
	sym_json_object_object_add(o, "udev", p);
	fputs(first ? "\n" : ",\n", f);
	img_json_put_item(f, o, "        ");
	sym_json_object_put(o);
}
