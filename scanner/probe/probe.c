/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The generic probe loop: magic matching from the start or the end of the
 * volume, every format probed (libblkid safeprobe style), ambiguity kept,
 * and the bounded helpers probes fill results with.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "bytes.h"
#include "probe.h"

int img_get(const struct img_reader *r, uint64_t off, size_t len, const uint8_t **ret)
{
	if (len > IMG_READ_MAX || off > r->size || len > r->size - off)
		return -ERANGE;
	return r->get(r->ctx, off, len, ret);
}

int img_get_end(const struct img_reader *r, uint64_t from_end, size_t len, const uint8_t **ret)
{
	if (from_end > r->size)
		return -ERANGE;
	return img_get(r, r->size - from_end, len, ret);
}

int img_get_upto(const struct img_reader *r, uint64_t off, size_t want, const uint8_t **ret,
                 size_t *ret_len)
{
	static const uint8_t none[1];
	size_t len = want;
	int rc;

	/* nothing available is a valid, empty range: callers may memcpy 0 bytes from it */
	*ret = none;
	*ret_len = 0;
	if (off >= r->size || want == 0)
		return 0;
	if (len > r->size - off)
		len = (size_t)(r->size - off);
	rc = img_get(r, off, len, ret);
	if (rc < 0)
		return rc;
	*ret_len = len;
	return 0;
}

int img_window_fill(struct img_window *w, uint64_t off, size_t len, const uint8_t **ret)
{
	size_t want, got;
	int rc;
	if (off > w->end || len > w->end - off || !img_in_bounds(off, len, w->r->size))
		return -ERANGE;
	want = w->end - off < w->chunk ? (size_t)(w->end - off) : w->chunk;
	if (want < len)
		want = len;
	rc = img_get_upto(w->r, off, want, &w->p, &got);
	if (rc < 0) {
		w->p = NULL;
		return rc;
	}
	w->off = off;
	w->len = got;
	if (got < len)
		return -ERANGE;
	*ret = w->p;
	return 0;
}

size_t img_strnlen(const uint8_t *p, size_t len)
{
	const uint8_t *nul = memchr(p, 0, len);

	return nul ? (size_t)(nul - p) : len;
}

const char *img_format_name(enum img_format_id id)
{
	if ((unsigned)id >= _IMG_FMT_MAX || !img_formats[id])
		return "raw";
	return img_formats[id]->name;
}

enum img_format_id img_format_by_name(const char *name)
{
	for (unsigned i = 0; i < _IMG_FMT_MAX; i++)
		if (img_formats[i] && strcmp(img_formats[i]->name, name) == 0)
			return (enum img_format_id)i;
	return IMG_FMT_RAW;
}

static void spec_reset(struct img_spec *s)
{
	s->type = NULL;
	s->n = 0;
	s->depth = 0;
	s->overflow = false;
	s->pool_used = 0;
}

static void bytes_reset(struct img_bytes *b)
{
	b->present = false;
	b->len = 0;
	b->data[0] = '\0';
}

void img_result_init(struct img_result *res, enum img_format_id id)
{
	/* the large members need no clearing: their lengths and counts bound them */
	memset(res, 0, offsetof(struct img_result, backing_file));
	bytes_reset(&res->backing_file);
	bytes_reset(&res->backing_format);
	bytes_reset(&res->data_file);
	spec_reset(&res->spec);
	spec_reset(&res->top);
	res->format = id;
}

void img_bytes_set(struct img_bytes *b, const void *data, size_t len)
{
	if (len > IMG_STR_MAX - 1)
		len = IMG_STR_MAX - 1;
	memcpy(b->data, data, len);
	b->data[len] = '\0';
	b->len = (uint16_t)len;
	b->present = true;
}

struct img_feature *img_find_feature(struct img_result *res, enum img_feature_kind kind,
                                     unsigned bit)
{
	for (unsigned i = 0; i < res->n_features; i++)
		if (res->features[i].kind == kind && res->features[i].bit == bit)
			return &res->features[i];
	return NULL;
}

void img_add_feature(struct img_result *res, enum img_feature_kind kind, unsigned bit,
                     const char *name)
{
	struct img_feature *f;

	if (res->n_features >= IMG_MAX_FEATURES)
		return;
	f = &res->features[res->n_features++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->bit = (uint8_t)bit;
	f->name = name;
}

bool img_has_feature(const struct img_result *res, const char *name)
{
	for (unsigned i = 0; i < res->n_features; i++)
		if (res->features[i].name && strcmp(res->features[i].name, name) == 0)
			return true;
	return false;
}

void img_set_damaged(struct img_result *res, const char *why)
{
	if (__builtin_expect(res->tracing != NULL, 0)) {
		img_trace_damaged(res, why, (const char *const[]){ NULL });
		return;
	}
	if (!res->damaged)
		res->damaged = why;
}

/* ---- format-specific tree ---------------------------------------------- */

static struct img_spec_entry *tree_add(struct img_spec *s, enum img_spec_type type, const char *key)
{
	struct img_spec_entry *e;
	/* keep room for the END entries that close every open container */
	unsigned reserve = s->depth + (type == IMG_SPEC_OBJ || type == IMG_SPEC_ARR ? 1 : 0);

	if (type != IMG_SPEC_END && s->n + reserve >= IMG_SPEC_MAX) {
		s->overflow = true;
		return NULL;
	}
	if (type == IMG_SPEC_END && s->depth == 0)
		return NULL;
	e = &s->e[s->n++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->key = key;
	return e;
}

void img_tree_str(struct img_spec *s, const char *key, const void *str, size_t len)
{
	struct img_spec_entry *e;

	if (len > IMG_SPEC_POOL - s->pool_used) {
		s->overflow = true;
		return;
	}
	e = tree_add(s, IMG_SPEC_STR, key);
	if (!e)
		return;
	memcpy(s->pool + s->pool_used, str, len);
	e->v.str.off = s->pool_used;
	e->v.str.len = (uint32_t)len;
	s->pool_used += (uint32_t)len;
}

void img_tree_cstr(struct img_spec *s, const char *key, const char *str)
{
	img_tree_str(s, key, str, strlen(str));
}

void img_spec_self(struct img_result *res, const char *key)
{
	tree_add(&res->spec, IMG_SPEC_SELF, key);
}

void img_tree_uint(struct img_spec *s, const char *key, uint64_t v)
{
	struct img_spec_entry *e = tree_add(s, IMG_SPEC_UINT, key);

	if (e)
		e->v.u = v;
}

void img_tree_int(struct img_spec *s, const char *key, int64_t v)
{
	struct img_spec_entry *e = tree_add(s, IMG_SPEC_INT, key);

	if (e)
		e->v.i = v;
}

void img_tree_bool(struct img_spec *s, const char *key, bool v)
{
	struct img_spec_entry *e = tree_add(s, IMG_SPEC_BOOL, key);

	if (e)
		e->v.b = v;
}

static void tree_open(struct img_spec *s, enum img_spec_type type, const char *key)
{
	if (!tree_add(s, type, key))
		s->overflow = true; /* the matching END is dropped too, see img_tree_end */
	s->depth++;
}

void img_tree_obj(struct img_spec *s, const char *key)
{
	tree_open(s, IMG_SPEC_OBJ, key);
}

void img_tree_arr(struct img_spec *s, const char *key)
{
	tree_open(s, IMG_SPEC_ARR, key);
}

void img_tree_end(struct img_spec *s)
{
	unsigned open = 0;

	if (s->depth == 0)
		return;
	/* only emit END when the matching open entry was stored */
	for (unsigned i = 0; i < s->n; i++) {
		if (s->e[i].type == IMG_SPEC_OBJ || s->e[i].type == IMG_SPEC_ARR)
			open++;
		else if (s->e[i].type == IMG_SPEC_END)
			open--;
	}
	if (open == s->depth)
		tree_add(s, IMG_SPEC_END, NULL);
	s->depth--;
}

/* the format-specific tree of a result */
void img_spec_begin(struct img_result *res, const char *type)
{
	res->spec.type = type;
}

void img_spec_str(struct img_result *res, const char *key, const void *str, size_t len)
{
	img_tree_str(&res->spec, key, str, len);
}

void img_spec_cstr(struct img_result *res, const char *key, const char *str)
{
	img_tree_cstr(&res->spec, key, str);
}

void img_spec_uint(struct img_result *res, const char *key, uint64_t v)
{
	img_tree_uint(&res->spec, key, v);
}

void img_spec_int(struct img_result *res, const char *key, int64_t v)
{
	img_tree_int(&res->spec, key, v);
}

void img_spec_bool(struct img_result *res, const char *key, bool v)
{
	img_tree_bool(&res->spec, key, v);
}

void img_spec_obj(struct img_result *res, const char *key)
{
	img_tree_obj(&res->spec, key);
}

void img_spec_arr(struct img_result *res, const char *key)
{
	img_tree_arr(&res->spec, key);
}

void img_spec_end(struct img_result *res)
{
	img_tree_end(&res->spec);
}

const char *img_spec_strp(const struct img_spec *s, const struct img_spec_entry *e)
{
	return s->pool + e->v.str.off;
}

/* ---- tracing ------------------------------------------------------------- */

void img_trace_bytes(const void *bytes, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = bytes;
	size_t o = 0;

	if (!outlen)
		return;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = b[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';

		if (o + (plain ? 1 : 4) >= outlen)
			break;
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
}

/* a trace line under construction: bounded, always NUL-terminated */
struct trace_line {
	char s[512];
	size_t n;
};

static void tl_str(struct trace_line *t, const char *str)
{
	for (; str && *str && t->n + 1 < sizeof(t->s); str++) {
		unsigned char c = (unsigned char)*str;

		/* the parts are static or escaped: keep the line printable anyway */
		t->s[t->n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	t->s[t->n] = '\0';
}

static void tl_u64(struct trace_line *t, uint64_t v)
{
	char d[IMG_TNUM_MAX];

	tl_str(t, img_trace_dec(v, d));
}

const char *img_trace_esc(const void *bytes, size_t len, char *out, size_t outlen)
{
	img_trace_bytes(bytes, len, out, outlen);
	return out;
}

const char *img_trace_dec(uint64_t v, char *buf)
{
	char d[IMG_TNUM_MAX];
	size_t i = sizeof(d) - 1;

	d[i] = '\0';
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(buf, d + i, sizeof(d) - i);
	return buf;
}

const char *img_trace_hex(uint64_t v, unsigned digits, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	unsigned n = 1;

	while (n < 16 && (v >> (4 * n)) != 0)
		n++;
	if (digits > 16)
		digits = 16;
	if (n < digits)
		n = digits;
	buf[0] = '0';
	buf[1] = 'x';
	for (unsigned i = 0; i < n; i++)
		buf[2 + i] = hex[(v >> (4 * (n - 1 - i))) & 0xf];
	buf[2 + n] = '\0';
	return buf;
}

void img_trace_damaged(struct img_result *res, const char *why, const char *const *detail)
{
	if (res->tracing) {
		struct trace_line t = { .n = 0 };

		t.s[0] = '\0';
		tl_str(&t, img_format_name(res->format));
		tl_str(&t, ": check failed: ");
		tl_str(&t, why);
		if (detail[0]) {
			tl_str(&t, " (");
			for (; *detail; detail++)
				tl_str(&t, *detail);
			tl_str(&t, ")");
		}
		if (res->damaged)
			tl_str(&t, " (an earlier one is reported)");
		res->tracing->trace(res->tracing->trace_ctx, t.s);
	}
	if (!res->damaged)
		res->damaged = why;
}

void img_trace_join(const struct img_reader *r, const char *const *parts)
{
	struct trace_line t = { .n = 0 };

	if (!r->trace)
		return;
	t.s[0] = '\0';
	for (; *parts; parts++)
		tl_str(&t, *parts);
	r->trace(r->trace_ctx, t.s);
}

static void trace_magic(const struct img_reader *r, const struct img_format *f,
                        const struct img_magic *m, const char *what)
{
	char b[4 * IMG_MAGIC_MAX + 1];
	struct trace_line t = { .n = 0 };

	img_trace_bytes(m->bytes, m->len, b, sizeof(b));
	tl_str(&t, f->name);
	tl_str(&t, ": magic \"");
	tl_str(&t, b);
	tl_str(&t, m->whence == IMG_FROM_END ? "\" at end - " : "\" at offset ");
	tl_u64(&t, m->offset);
	tl_str(&t, ": ");
	tl_str(&t, what);
	r->trace(r->trace_ctx, t.s);
}

/* ---- the probe loop ------------------------------------------------------ */

static const struct img_magic *match_magic(const struct img_reader *r, const struct img_format *f,
                                           int *ret_err)
{
	*ret_err = 0;
	for (unsigned i = 0; i < IMG_MAX_MAGICS && f->magics[i].len; i++) {
		const struct img_magic *m = &f->magics[i];
		const uint8_t *p;
		int rc;

		if (m->whence == IMG_FROM_END)
			rc = img_get_end(r, m->offset, m->len, &p);
		else
			rc = img_get(r, m->offset, m->len, &p);
		if (rc == -ERANGE) {
			if (__builtin_expect(r->trace != NULL, 0))
				trace_magic(r, f, m, "past the end of the volume");
			continue;
		}
		if (rc < 0) {
			if (__builtin_expect(r->trace != NULL, 0))
				trace_magic(r, f, m, "read failed");
			*ret_err = rc;
			return NULL;
		}
		if (memcmp(p, m->bytes, m->len) == 0) {
			if (__builtin_expect(r->trace != NULL, 0))
				trace_magic(r, f, m, "found");
			return m;
		}
		if (__builtin_expect(r->trace != NULL, 0))
			trace_magic(r, f, m, "not there");
	}
	return NULL;
}

/*
 * While a traced probe runs, its lines pass through here on their way to
 * the caller's trace: did the probe say why it refused the volume itself
 * (IMG_REFUSE)?  Then the probe loop does not add its generic line.
 */
struct refusal_watch {
	const struct img_reader *r; /* the caller's reader and trace */
	const char *name;
	bool said;
};

static void watch_line(void *ctx, const char *line)
{
	struct refusal_watch *w = ctx;
	size_t n = strlen(w->name);

	if (strncmp(line, w->name, n) == 0 && strncmp(line + n, ": no match: ", 12) == 0)
		w->said = true;
	w->r->trace(w->r->trace_ctx, line);
}

/*
 * A probe run with the trace on (kept out of probe_one, whose untraced path
 * stays as short as without tracing): the probe's lines pass through
 * watch_line, then the outcome.  -ERANGE is returned as is (probe_one makes
 * it a no match).
 */
static __attribute__((noinline, cold)) int probe_traced(const struct img_reader *r,
                                                        const struct img_format *f,
                                                        const struct img_magic *hit,
                                                        struct img_result *res)
{
	/* the same reader, its trace lines watched (a copy for this probe only) */
	struct refusal_watch w = { .r = r, .name = f->name, .said = false };
	struct img_reader tr = *r;
	int rc;

	tr.trace = watch_line;
	tr.trace_ctx = &w;
	res->tracing = &tr;
	if (!hit)
		IMG_TRACE(r, f->name, ": no magic to match: the probe reads the head");
	rc = f->probe(&tr, hit, res);
	res->tracing = NULL;
	if (rc == -ERANGE)
		IMG_TRACE(r, f->name, ": no match: a field points past the end of the volume");
	else if (rc == IMG_MATCH && res->damaged)
		IMG_TRACE(r, f->name, ": match, damaged: ", res->damaged);
	else if (rc == IMG_MATCH)
		IMG_TRACE(r, f->name, ": match");
	else if (rc == IMG_NOMATCH && w.said)
		; /* the probe named the field */
	else if (rc == IMG_NOMATCH && hit)
		IMG_TRACE(r, f->name, ": no match: the magic is there, the header is not this format's");
	else if (rc == IMG_NOMATCH)
		IMG_TRACE(r, f->name, ": no match");
	else
		IMG_TRACE(r, f->name, ": the read failed");
	return rc;
}

/*
 * *ret_footer: the match came from a magic counted from the end of the
 * volume only (the format has no header at its start here).
 */
static int probe_one(const struct img_reader *r, const struct img_format *f, struct img_result *res,
                     bool *ret_footer)
{
	const struct img_magic *hit = NULL;
	int rc;

	if (ret_footer)
		*ret_footer = false;

	if (!f->probe)
		return IMG_NOMATCH;
	if (!f->probe_always) {
		hit = match_magic(r, f, &rc);
		if (rc < 0)
			return rc;
		if (!hit)
			return IMG_NOMATCH;
	}
	img_result_init(res, f->id);
	if (__builtin_expect(r->trace != NULL, 0))
		rc = probe_traced(r, f, hit, res);
	else
		rc = f->probe(r, hit, res);
	if (rc == -ERANGE)
		rc = IMG_NOMATCH; /* a probe asked past the end: the volume is too small for it */
	if (ret_footer && hit && hit->whence == IMG_FROM_END)
		*ret_footer = true;
	return rc;
}

int img_probe_format(const struct img_reader *r, enum img_format_id id, struct img_result *res)
{
	int rc;

	if ((unsigned)id >= _IMG_FMT_MAX || !img_formats[id]) {
		img_result_init(res, IMG_FMT_RAW);
		return -EINVAL;
	}
	rc = probe_one(r, img_formats[id], res, NULL);
	if (rc != IMG_MATCH)
		img_result_init(res, IMG_FMT_RAW);
	return rc < 0 ? rc : 0;
}

/*
 * Where the formats after the first match write their facts (only the
 * match counts).  A result is ~72 KiB: on the stack it was most of a small
 * stack limit (ulimit -s 64 crashed), so it lives with the thread instead.
 */
static _Thread_local struct img_result scratch;

int img_probe(const struct img_reader *r, struct img_result *res)
{
	enum img_format_id cand[_IMG_FMT_MAX];
	bool footer[_IMG_FMT_MAX];
	unsigned n = 0, n_start = 0, start = 0;

	/* image formats first: the first match's facts land in res */
	for (unsigned pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < _IMG_FMT_MAX; i++) {
			const struct img_format *f = img_formats[i];
			int rc;

			if (!f || i == IMG_FMT_RAW || f->content_only != (pass == 1))
				continue;
			/* content signatures matter only beside an image format */
			if (pass == 1 && (n == 0 || (r->flags & IMG_PROBE_NO_CONTENT)))
				break;
			rc = probe_one(r, f, n == 0 ? res : &scratch, &footer[n]);
			if (rc < 0) {
				img_result_init(res, IMG_FMT_RAW);
				return rc;
			}
			if (rc == IMG_MATCH) {
				if (!footer[n]) {
					n_start++;
					start = n;
				}
				cand[n++] = f->id;
			}
		}
	}
	if (n == 0) {
		img_result_init(res, IMG_FMT_RAW);
		IMG_TRACE(r, "result: raw (no format matched)");
		return 0;
	}
	if (n == 1) {
		IMG_TRACE(r, "result: ", img_format_name(res->format),
		          res->damaged ? " (damaged)" : "");
		return 0;
	}
	IMG_TRACE(r, "result: more than one format matched (ambiguous)");
	if (n_start == 1 && !img_formats[cand[start]]->content_only) {
		/*
		 * One image header at the start, the others footers at the end:
		 * the start format stands (a guest writes the last blocks of its
		 * volume; the start of a host's image is the host's).  Its facts
		 * are in res unless a footer format was probed before it.
		 */
		if (start != 0) {
			enum img_format_id sid = cand[start];
			int rc = probe_one(r, img_formats[sid], res, NULL);

			if (rc != IMG_MATCH) { /* it matched a moment ago: the reader failed */
				img_result_init(res, IMG_FMT_RAW);
				return rc < 0 ? rc : -EIO;
			}
			memmove(cand + 1, cand, start * sizeof(cand[0]));
			cand[0] = sid;
		}
		res->footer_only_others = true;
	}
	/* a polyglot: keep the first candidate's facts, report every candidate */
	memcpy(res->candidates, cand, n * sizeof(cand[0]));
	res->n_candidates = n;
	return 0;
}
