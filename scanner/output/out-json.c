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
#include "output/json-common.h"
#include "output/out-json.h"

/*
 * containers nested deeper than this in the format-specific tree are dropped
 * (qemu nests 3 deep; the whole document stays inside json-c's default
 * parser depth of 32)
 */
#define SPEC_DEPTH_MAX 16

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
				v = img_jstr(sp->pool + e->v.str.off, e->v.str.len);
			break;
		case IMG_SPEC_SELF:
			/* the volume's own path, as qemu-img prints the file it opened */
			if (self)
				v = img_jcstr(self);
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

	sym_json_object_object_add(fs, "type", img_jcstr(sp->type));
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
		                       img_jstr(b->data, b->len < IMG_STR_MAX ? b->len : IMG_STR_MAX - 1));
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
				sym_json_object_object_add(u, "name", img_jstr(f->table_name, tl));
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
	img_jfield(j, "type", c->type);
	img_jfield(j, "usage", c->usage);
	img_jfield(j, "version", c->version);
	img_jfield(j, "label", c->label);
	img_jfield(j, "uuid", c->uuid);
	img_jfield(j, "pttype", c->pttype);
	img_jfield(j, "ptuuid", c->ptuuid);
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
		sym_json_object_object_add(o, "deep-incomplete", img_jcstr(res->deep_incomplete));
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
		sym_json_object_object_add(f, "check", img_jcstr(img_check_name((enum img_check_id)i)));
		/* a reason may quote header bytes: jstr makes it valid UTF-8, json-c escapes it */
		sym_json_object_object_add(f, "reason",
		                           img_jstr(s->verdict.reason[i],
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
	sym_json_object_object_add(o, "path", img_jcstr(s->path));
	img_json_add_device(o, s->dev);
	if (s->error || !res) {
		int e = s->error ? s->error : -EINVAL;

		sym_json_object_object_add(o, "error",
		                       img_jcstr(s->error_text ? s->error_text : strerror(e < 0 ? -e : e)));
		if (s->error_op)
			sym_json_object_object_add(o, "error-op", img_jcstr(s->error_op));
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

	sym_json_object_object_add(o, "format", img_jcstr(img_format_name(res->format)));
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
			sym_json_object_object_add(o, "format-version", img_jcstr(ver));
	} else if (res->has_version) {
		sym_json_object_object_add(o, "format-version", sym_json_object_new_uint64(res->version));
	}
	if (res->subformat)
		sym_json_object_object_add(o, "subformat", img_jcstr(res->subformat));
	if (res->header_length)
		sym_json_object_object_add(o, "header-length",
		                       sym_json_object_new_uint64(res->header_length));
	add_features(o, res);
	if (res->has_snapshots)
		sym_json_object_object_add(o, "snapshot-count", sym_json_object_new_uint64(res->snapshots));
	if (res->has_bitmaps)
		sym_json_object_object_add(o, "bitmap-count", sym_json_object_new_uint64(res->bitmaps));
	if (res->damaged)
		sym_json_object_object_add(o, "damaged", img_jcstr(res->damaged));
	if (res->limit)
		sym_json_object_object_add(o, "limit", img_jcstr(res->limit));
	if (res->n_candidates > 1) {
		json_object *a = sym_json_object_new_array();
		unsigned n = res->n_candidates < _IMG_FMT_MAX ? res->n_candidates : _IMG_FMT_MAX;

		for (unsigned i = 0; i < n; i++)
			if ((unsigned)res->candidates[i] < _IMG_FMT_MAX)
				sym_json_object_array_add(a, img_jcstr(img_format_name(res->candidates[i])));
		sym_json_object_object_add(o, "ambiguous", a);
	}
	add_top(o, res);
	add_content(o, &s->content);
	add_safety(o, s);
	add_stats(o, s);
	return o;
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
	img_json_put_item(f, o, "        ");
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
	o = img_jstr(str, len);
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

void img_out_json(FILE *f, const struct img_scan *const *scans, size_t n)
{
	size_t k = 0;

	img_out_json_begin(f);
	for (size_t i = 0; i < n; i++)
		if (scans[i])
			img_out_json_item(f, scans[i], k++ == 0);
	img_out_json_end(f, k);
}
