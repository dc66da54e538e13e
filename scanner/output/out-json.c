/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --json: one document {"images": [...]}, one object per scan, keys named
 * as `qemu-img info --output=json` names them (qemu 7.2: "format",
 * "virtual-size", "cluster-size", "backing-filename",
 * "backing-filename-format", "encrypted", "dirty-flag", "format-specific":
 * {"type", "data"}), then imgscan's own facts.  Built with json-c, which
 * escapes '"', '\' and every control byte per RFC 8259.  json-c passes other
 * bytes through unchecked, so every untrusted string is made valid UTF-8
 * first, the way qemu's JSON writer does it (qobject/json-writer.c,
 * util/unicode.c): each invalid sequence (a bad lead byte, or a lead byte
 * with its too few continuation bytes; overlong forms, surrogates,
 * noncharacters, anything above U+10FFFF) becomes one U+FFFD.  The
 * control characters json-c leaves raw (DEL and C1, img_control_len) are
 * written as \u007f and \u0080..\u009f when the text is printed.
 * docs/security.md, rule 4.
 *
 * One builder, img_json_item_object (out-json.h), makes the object of a
 * scan; --json and -J print it item by item, the library prints it for
 * imgscan_probe_get_json, and --monitor embeds it in its event objects.
 * One printer, img_json_object_text, writes every JSON text imgscan prints.
 *
 * libjson-c is loaded with dlopen by img_out_json_begin (dl/dl.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <json-c/json.h>

#include "dl/dl-jsonc.h"
#include "output/out-json.h"

/*
 * containers nested deeper than this in the format-specific tree are dropped
 * (qemu nests 3 deep; the whole document stays inside json-c's default
 * parser depth of 32)
 */
#define SPEC_DEPTH_MAX 16

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
static json_object *jstr(const char *str, size_t len)
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

static json_object *jcstr(const char *s)
{
	return jstr(s, s ? strlen(s) : 0);
}

/* a fixed char array from libblkid: up to its first NUL, never past its end */
#define jfield(obj, key, arr)                                                   \
	do {                                                                    \
		size_t l_ = strnlen((arr), sizeof(arr));                        \
		if (l_)                                                         \
			sym_json_object_object_add((obj), (key), jstr((arr), l_)); \
	} while (0)

static void add_child(json_object *parent, bool is_array, const char *key, json_object *child)
{
	if (!child)
		return;
	if (is_array)
		sym_json_object_array_add(parent, child);
	else if (key)
		sym_json_object_object_add(parent, key, child);
	else
		sym_json_object_put(child);
}

/*
 * Render entries from *i into a new container until its END (or the end of
 * the list: an unclosed container is closed here).  Every offset and length
 * is checked against the pool; an unknown entry type is skipped.
 */
static json_object *spec_render(const struct img_spec *sp, unsigned n, unsigned *i,
                                bool is_array, unsigned depth, const char *self)
{
	json_object *c = is_array ? sym_json_object_new_array() : sym_json_object_new_object();
	uint32_t pool = sp->pool_used < IMG_SPEC_POOL ? sp->pool_used : IMG_SPEC_POOL;

	while (*i < n) {
		const struct img_spec_entry *e = &sp->e[(*i)++];
		json_object *v = NULL;

		switch (e->type) {
		case IMG_SPEC_END:
			return c;
		case IMG_SPEC_STR:
			if (e->v.str.off <= pool && e->v.str.len <= pool - e->v.str.off)
				v = jstr(sp->pool + e->v.str.off, e->v.str.len);
			break;
		case IMG_SPEC_SELF:
			/* the volume's own path, as qemu-img prints the file it opened */
			if (self)
				v = jcstr(self);
			break;
		case IMG_SPEC_UINT:
			v = sym_json_object_new_uint64(e->v.u);
			break;
		case IMG_SPEC_INT:
			v = sym_json_object_new_int64(e->v.i);
			break;
		case IMG_SPEC_BOOL:
			v = sym_json_object_new_boolean(e->v.b);
			break;
		case IMG_SPEC_OBJ:
		case IMG_SPEC_ARR:
			if (depth + 1 >= SPEC_DEPTH_MAX) {
				/* too deep: skip the whole subtree */
				unsigned open = 1;

				while (*i < n && open) {
					enum img_spec_type t = sp->e[(*i)++].type;

					if (t == IMG_SPEC_OBJ || t == IMG_SPEC_ARR)
						open++;
					else if (t == IMG_SPEC_END)
						open--;
				}
				break;
			}
			v = spec_render(sp, n, i, e->type == IMG_SPEC_ARR, depth + 1, self);
			break;
		default:
			break;
		}
		add_child(c, is_array, e->key, v);
	}
	return c;
}

/* every member of from added to to, then from released */
static void move_members(json_object *to, json_object *from)
{
	struct json_object_iterator it = sym_json_object_iter_begin(from);
	struct json_object_iterator end = sym_json_object_iter_end(from);

	for (; !sym_json_object_iter_equal(&it, &end); sym_json_object_iter_next(&it))
		sym_json_object_object_add(to, sym_json_object_iter_peek_name(&it),
		                       sym_json_object_get(sym_json_object_iter_peek_value(&it)));
	sym_json_object_put(from);
}

static json_object *spec_json(const struct img_spec *sp, const char *self)
{
	json_object *fs = sym_json_object_new_object();
	unsigned n = sp->n < IMG_SPEC_MAX ? sp->n : IMG_SPEC_MAX;
	unsigned i = 0;
	json_object *data = sym_json_object_new_object();

	sym_json_object_object_add(fs, "type", jcstr(sp->type));
	/* the top level is the "data" object; stray END entries there are ignored */
	while (i < n) {
		json_object *part = spec_render(sp, n, &i, false, 0, self);

		move_members(data, part);
	}
	sym_json_object_object_add(fs, "data", data);
	return fs;
}

static const char *kind_name(enum img_feature_kind k)
{
	switch (k) {
	case IMG_FEAT_INCOMPATIBLE:
		return "incompatible";
	case IMG_FEAT_COMPATIBLE:
		return "compatible";
	case IMG_FEAT_AUTOCLEAR:
		return "autoclear";
	default:
		return "other";
	}
}

static void add_bytes(json_object *o, const char *key, const struct img_bytes *b)
{
	if (b->present)
		sym_json_object_object_add(o, key,
		                       jstr(b->data, b->len < IMG_STR_MAX ? b->len : IMG_STR_MAX - 1));
}

static void add_features(json_object *o, const struct img_result *res)
{
	unsigned n = res->n_features < IMG_MAX_FEATURES ? res->n_features : IMG_MAX_FEATURES;
	json_object *feat, *unk;

	if (!n)
		return;
	feat = sym_json_object_new_array();
	unk = sym_json_object_new_array();
	for (unsigned i = 0; i < n; i++) {
		const struct img_feature *f = &res->features[i];
		char tok[IMG_FEATURE_NAME_MAX + 24];

		if (img_feature_token(f, tok, sizeof(tok)) > 0)
			sym_json_object_array_add(feat, sym_json_object_new_string(tok));
		if (!f->name) {
			json_object *u = sym_json_object_new_object();
			size_t tl = f->table_name_len < IMG_FEATURE_NAME_MAX ? f->table_name_len :
			                                                       IMG_FEATURE_NAME_MAX;

			sym_json_object_object_add(u, "type", sym_json_object_new_string(kind_name(f->kind)));
			sym_json_object_object_add(u, "bit", sym_json_object_new_int(f->bit));
			if (tl)
				sym_json_object_object_add(u, "name", jstr(f->table_name, tl));
			sym_json_object_array_add(unk, u);
		}
	}
	sym_json_object_object_add(o, "features", feat);
	if (sym_json_object_array_length(unk))
		sym_json_object_object_add(o, "unknown-features", unk);
	else
		sym_json_object_put(unk);
}

static void add_content(json_object *o, const struct img_content *c)
{
	json_object *j;

	if (!c->present)
		return;
	j = sym_json_object_new_object();
	jfield(j, "type", c->type);
	jfield(j, "usage", c->usage);
	jfield(j, "version", c->version);
	jfield(j, "label", c->label);
	jfield(j, "uuid", c->uuid);
	jfield(j, "pttype", c->pttype);
	jfield(j, "ptuuid", c->ptuuid);
	sym_json_object_object_add(o, "content", j);
}

static void add_stats(json_object *o, const struct img_scan *s)
{
	json_object *j;

	if (!s->have_stats)
		return;
	j = sym_json_object_new_object();
	sym_json_object_object_add(j, "reads", sym_json_object_new_uint64(s->stats.reads));
	sym_json_object_object_add(j, "bytes", sym_json_object_new_uint64(s->stats.bytes));
	sym_json_object_object_add(j, "direct", sym_json_object_new_boolean(s->stats.direct));
	sym_json_object_object_add(j, "direct-refused",
	                       sym_json_object_new_boolean(s->stats.direct_refused));
	sym_json_object_object_add(j, "align", sym_json_object_new_uint64(s->stats.align));
	sym_json_object_object_add(o, "scan", j);
}

/* the block device behind the path: lsblk-like facts from sysfs and the udev db */
static void add_device(json_object *o, const struct img_device *d)
{
	json_object *j;
	char devnum[32];

	if (!d)
		return;
	j = sym_json_object_new_object();
	jfield(j, "name", d->name);
	snprintf(devnum, sizeof(devnum), "%u:%u", major(d->devnum), minor(d->devnum));
	sym_json_object_object_add(j, "devnum", jcstr(devnum));
	jfield(j, "type", d->type);
	jfield(j, "vg", d->vg);
	jfield(j, "lv", d->lv);
	jfield(j, "dm-name", d->dm_name);
	jfield(j, "dm-uuid", d->dm_uuid);
	sym_json_object_object_add(j, "size", sym_json_object_new_uint64(d->size));
	if (d->low_priority)
		sym_json_object_object_add(j, "snapshot", sym_json_object_new_boolean(true));
	sym_json_object_object_add(o, "device", j);
}

/* --deep: the top-level entries (qemu-img's "snapshots") and image-end-offset */
static void add_top(json_object *o, const struct img_result *res)
{
	unsigned n = res->top.n < IMG_SPEC_MAX ? res->top.n : IMG_SPEC_MAX;
	unsigned i = 0;

	if (n) {
		json_object *t = spec_render(&res->top, n, &i, false, 0, NULL);

		/* move the rendered members into the image object */
		move_members(o, t);
	}
	if (res->has_image_end_offset)
		sym_json_object_object_add(o, "image-end-offset",
		                       sym_json_object_new_uint64(res->image_end_offset));
	if (res->deep_incomplete)
		sym_json_object_object_add(o, "deep-incomplete", jcstr(res->deep_incomplete));
}

/* --check: "safety": {"safe": bool, "failed": [{"check": token, "reason": line}, ...]} */
static void add_safety(json_object *o, const struct img_scan *s)
{
	json_object *j, *a;

	if (!s->checked)
		return;
	j = sym_json_object_new_object();
	a = sym_json_object_new_array();
	sym_json_object_object_add(j, "safe", sym_json_object_new_boolean(s->verdict.safe));
	for (unsigned i = 0; i < _IMG_CHECK_MAX; i++) {
		json_object *f;

		if (!(s->verdict.failed & (1u << i)))
			continue;
		f = sym_json_object_new_object();
		sym_json_object_object_add(f, "check", jcstr(img_check_name((enum img_check_id)i)));
		/* a reason may quote header bytes: jstr makes it valid UTF-8, json-c escapes it */
		sym_json_object_object_add(f, "reason",
		                           jstr(s->verdict.reason[i],
		                                strnlen(s->verdict.reason[i], IMG_CHECK_REASON_MAX)));
		sym_json_object_array_add(a, f);
	}
	sym_json_object_object_add(j, "failed", a);
	sym_json_object_object_add(o, "safety", j);
}

json_object *img_json_item_object(const struct img_scan *s)
{
	json_object *o = sym_json_object_new_object();
	const struct img_result *res = s->res;
	bool raw;

	if (!o)
		return NULL;
	sym_json_object_object_add(o, "path", jcstr(s->path));
	add_device(o, s->dev);
	if (s->error || !res) {
		int e = s->error ? s->error : -EINVAL;

		sym_json_object_object_add(o, "error",
		                       jcstr(s->error_text ? s->error_text : strerror(e < 0 ? -e : e)));
		if (s->error_op)
			sym_json_object_object_add(o, "error-op", jcstr(s->error_op));
		return o;
	}

	raw = res->format == IMG_FMT_RAW || (unsigned)res->format >= _IMG_FMT_MAX;
	if (raw) {
		sym_json_object_object_add(o, "format", sym_json_object_new_string("raw"));
		/* qemu counts whole sectors: a 29-byte raw file is 512 bytes to it */
		sym_json_object_object_add(o, "virtual-size",
		                       sym_json_object_new_uint64(s->size > UINT64_MAX - 511
		                                                      ? s->size
		                                                      : (s->size + 511) / 512 * 512));
		sym_json_object_object_add(o, "dirty-flag", sym_json_object_new_boolean(false));
		sym_json_object_object_add(o, "size", sym_json_object_new_uint64(s->size));
		sym_json_object_object_add(o, "offset", sym_json_object_new_uint64(s->offset));
		add_content(o, &s->content);
		add_safety(o, s);
		add_stats(o, s);
		return o;
	}

	sym_json_object_object_add(o, "format", jcstr(img_format_name(res->format)));
	if (res->has_virtual_size)
		sym_json_object_object_add(o, "virtual-size", sym_json_object_new_uint64(res->virtual_size));
	if (res->cluster_size)
		sym_json_object_object_add(o, "cluster-size", sym_json_object_new_uint64(res->cluster_size));
	add_bytes(o, "backing-filename", &res->backing_file);
	add_bytes(o, "backing-filename-format", &res->backing_format);
	if (res->encryption != IMG_ENC_NONE)
		sym_json_object_object_add(o, "encrypted", sym_json_object_new_boolean(true));
	if (!res->no_dirty_flag)
		sym_json_object_object_add(o, "dirty-flag", sym_json_object_new_boolean(res->dirty));
	if (res->spec.type)
		sym_json_object_object_add(o, "format-specific", spec_json(&res->spec, s->path));

	sym_json_object_object_add(o, "size", sym_json_object_new_uint64(s->size));
	sym_json_object_object_add(o, "offset", sym_json_object_new_uint64(s->offset));
	if (res->has_version && res->version_dotted) {
		char ver[24];

		/* "1.0", "1.1": a string, as the specification writes it */
		if (img_version_text(res, ver, sizeof(ver)) > 0)
			sym_json_object_object_add(o, "format-version", jcstr(ver));
	} else if (res->has_version) {
		sym_json_object_object_add(o, "format-version", sym_json_object_new_uint64(res->version));
	}
	if (res->subformat)
		sym_json_object_object_add(o, "subformat", jcstr(res->subformat));
	if (res->header_length)
		sym_json_object_object_add(o, "header-length",
		                       sym_json_object_new_uint64(res->header_length));
	add_features(o, res);
	if (res->has_snapshots)
		sym_json_object_object_add(o, "snapshot-count", sym_json_object_new_uint64(res->snapshots));
	if (res->has_bitmaps)
		sym_json_object_object_add(o, "bitmap-count", sym_json_object_new_uint64(res->bitmaps));
	if (res->damaged)
		sym_json_object_object_add(o, "damaged", jcstr(res->damaged));
	if (res->limit)
		sym_json_object_object_add(o, "limit", jcstr(res->limit));
	if (res->n_candidates > 1) {
		json_object *a = sym_json_object_new_array();
		unsigned n = res->n_candidates < _IMG_FMT_MAX ? res->n_candidates : _IMG_FMT_MAX;

		for (unsigned i = 0; i < n; i++)
			if ((unsigned)res->candidates[i] < _IMG_FMT_MAX)
				sym_json_object_array_add(a, jcstr(img_format_name(res->candidates[i])));
		sym_json_object_object_add(o, "ambiguous", a);
	}
	add_top(o, res);
	add_content(o, &s->content);
	add_safety(o, s);
	add_stats(o, s);
	return o;
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
static void put_item(FILE *f, json_object *o, const char *prefix)
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

/*
 * Nothing is written yet: a missing libjson-c ends the program here, with
 * the message of img_dl_load and exit status 1 (some PATH not reported).
 */
void img_out_json_begin(FILE *f)
{
	if (dlopen_jsonc("JSON output") < 0)
		exit(1);
	fputs("{\n    \"images\": [", f);
}

void img_out_json_item(FILE *f, const struct img_scan *s, bool first)
{
	json_object *o;

	if (dlopen_jsonc("JSON output") < 0)
		return;
	o = img_json_item_object(s);
	fputs(first ? "\n" : ",\n", f);
	put_item(f, o, "        ");
	if (o)
		sym_json_object_put(o);
}

int img_json_item_text(const struct img_scan *s, char **ret)
{
	json_object *o;
	int r;

	*ret = NULL;
	r = dlopen_jsonc("JSON output");
	if (r < 0)
		return r;
	o = img_json_item_object(s);
	*ret = img_json_object_text(o, true, "", NULL);
	if (o)
		sym_json_object_put(o);
	return *ret ? 0 : -ENOMEM;
}

int img_json_string(const char *str, size_t len, char *out, size_t outlen)
{
	json_object *o;
	const char *text;
	size_t n;
	int r;

	if (len > (size_t)INT32_MAX / 4)
		return -E2BIG;
	r = dlopen_jsonc("JSON output");
	if (r < 0)
		return r;
	o = jstr(str, len);
	if (!o)
		return -ENOMEM;
	text = sym_json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text) {
		sym_json_object_put(o);
		return -ENOMEM;
	}
	n = strlen(text);
	if (outlen) {
		size_t k = n < outlen - 1 ? n : outlen - 1;

		memcpy(out, text, k);
		out[k] = 0;
	}
	sym_json_object_put(o);
	return n < outlen ? (int)n : -ENOSPC;
}

void img_out_json_end(FILE *f, size_t n)
{
	fputs(n ? "\n    ]\n}\n" : "\n    ]\n}\n", f);
}

void img_out_json_cached_item(FILE *f, const struct img_device *d, bool first)
{
	json_object *o, *p;

	if (dlopen_jsonc("JSON output") < 0)
		return;
	o = sym_json_object_new_object();
	p = sym_json_object_new_object();
	sym_json_object_object_add(o, "path", jcstr(d->node));
	add_device(o, d);
	for (unsigned i = 0; i < d->n_props; i++)
		sym_json_object_object_add(p, d->props[i].key, jcstr(d->props[i].value));
	sym_json_object_object_add(o, "udev", p);
	fputs(first ? "\n" : ",\n", f);
	put_item(f, o, "        ");
	sym_json_object_put(o);
}

void img_out_json(FILE *f, const struct img_scan *const *scans, size_t n)
{
	size_t k = 0;

	img_out_json_begin(f);
	for (size_t i = 0; i < n; i++)
		if (scans[i])
			img_out_json_item(f, scans[i], k++ == 0);
	img_out_json_end(f, k);
}
