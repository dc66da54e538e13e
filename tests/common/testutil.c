/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char *fixture_path(const char *name)
{
	const char *dir = getenv("FIXTURES");
	char *p;

	if (!dir || !*dir)
		dir = FIXTURES_DIR;
	p = malloc(strlen(dir) + strlen(name) + 2);
	assert_non_null(p);
	sprintf(p, "%s/%s", dir, name);
	return p;
}

int t_fixture_exists(const char *name)
{
	char *p = fixture_path(name);
	FILE *f = fopen(p, "rb");

	free(p);
	if (f)
		fclose(f);
	return f != NULL;
}

uint8_t *t_fixture(const char *name, size_t *ret_len)
{
	char *p = fixture_path(name);
	FILE *f = fopen(p, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f)
		fail_msg("fixture %s: %s", p, strerror(errno));
	for (;;) {
		size_t n;

		/* keep one byte free: the contents are always NUL-terminated (text fixtures) */
		if (len + 1 >= cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	fclose(f);
	free(p);
	*ret_len = len;
	return buf;
}

static int sparse_get(void *ctx, uint64_t off, size_t len, const uint8_t **ret)
{
	struct t_sparse *s = ctx;
	uint8_t *b;
	uint64_t tail_start = s->size - s->taillen;

	if (off > s->size || len > s->size - off)
		return -ERANGE;
	if (s->n_bufs >= IMG_ARRAY_SIZE(s->bufs))
		return -ENOMEM;
	b = malloc(len ? len : 1);
	if (!b)
		return -ENOMEM;
	memset(b, 0, len);
	for (size_t i = 0; i < len; i++) {
		uint64_t o = off + i;

		if (o >= tail_start && s->taillen)
			b[i] = s->tail[o - tail_start];
		else if (o < s->headlen)
			b[i] = s->head[o];
	}
	s->bufs[s->n_bufs++] = b;
	*ret = b;
	return 0;
}

void t_sparse_reader(struct t_sparse *s, const uint8_t *head, size_t headlen, const uint8_t *tail,
                     size_t taillen, uint64_t size, struct img_reader *ret)
{
	memset(s, 0, sizeof(*s));
	s->head = head;
	s->headlen = headlen;
	s->tail = tail;
	s->taillen = taillen;
	s->size = size;
	assert_true(taillen <= size);
	ret->ctx = s;
	ret->size = size;
	ret->block_size = 512;
	ret->flags = 0;
	ret->get = sparse_get;
	ret->trace = NULL;
}

void t_sparse_load(struct t_sparse *s, const char *name, struct img_reader *ret)
{
	char fn[512];
	uint8_t *head = NULL, *tail = NULL;
	size_t headlen = 0, taillen = 0;
	uint64_t size;

	snprintf(fn, sizeof(fn), "%s.head", name);
	if (t_fixture_exists(fn))
		head = t_fixture(fn, &headlen);
	snprintf(fn, sizeof(fn), "%s.tail", name);
	if (t_fixture_exists(fn))
		tail = t_fixture(fn, &taillen);
	assert_true(head || tail);
	size = headlen + taillen;
	snprintf(fn, sizeof(fn), "%s.size", name);
	if (t_fixture_exists(fn)) {
		size_t n;
		uint8_t *txt = t_fixture(fn, &n);
		char tmp[32] = { 0 };

		memcpy(tmp, txt, n < sizeof(tmp) - 1 ? n : sizeof(tmp) - 1);
		size = strtoull(tmp, NULL, 10);
		free(txt);
	}
	t_sparse_reader(s, head, headlen, tail, taillen, size, ret);
	s->own_head = head;
	s->own_tail = tail;
}

void t_sparse_free(struct t_sparse *s)
{
	for (unsigned i = 0; i < s->n_bufs; i++)
		free(s->bufs[i]);
	s->n_bufs = 0;
	free(s->own_head);
	free(s->own_tail);
	s->own_head = s->own_tail = NULL;
}

struct img_result *t_result_new(void)
{
	struct img_result *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	return r;
}

static int probe_copy(const void *buf, size_t len, int id, struct img_result *res)
{
	struct img_mem_source m;
	struct img_reader r;
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	if (len)
		memcpy(copy, buf, len);
	img_mem_reader(&m, copy, len, &r);
	rc = id < 0 ? img_probe(&r, res) : img_probe_format(&r, (enum img_format_id)id, res);
	free(copy);
	return rc;
}

int t_probe_copy(const void *buf, size_t len, struct img_result *res)
{
	return probe_copy(buf, len, -1, res);
}

int t_probe_copy_format(const void *buf, size_t len, enum img_format_id id,
                        struct img_result *res)
{
	return probe_copy(buf, len, (int)id, res);
}

void t_truncation_sweep(const void *buf, size_t len)
{
	struct img_result *res = t_result_new();

	for (size_t n = 0; n <= len; n++)
		(void)t_probe_copy(buf, n, res);
	free(res);
}

void t_truncation_edge(const void *buf, size_t sweep_len, size_t min, enum img_format_id fmt,
                       struct img_result *res)
{
	t_truncation_sweep(buf, sweep_len);
	assert_true(min > 0);
	assert_int_equal(t_probe_copy(buf, min - 1, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	assert_int_equal(t_probe_copy(buf, min, res), 0);
	assert_int_equal(res->format, fmt);
}

void t_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void t_put_be32(uint8_t *p, uint32_t v)
{
	t_put_be16(p, (uint16_t)(v >> 16));
	t_put_be16(p + 2, (uint16_t)v);
}

void t_put_be64(uint8_t *p, uint64_t v)
{
	t_put_be32(p, (uint32_t)(v >> 32));
	t_put_be32(p + 4, (uint32_t)v);
}

void t_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void t_put_le32(uint8_t *p, uint32_t v)
{
	t_put_le16(p, (uint16_t)v);
	t_put_le16(p + 2, (uint16_t)(v >> 16));
}

void t_put_le64(uint8_t *p, uint64_t v)
{
	t_put_le32(p, (uint32_t)v);
	t_put_le32(p + 4, (uint32_t)(v >> 32));
}

struct img_result *t_probe_buf(const void *buf, size_t len)
{
	struct img_result *res = t_result_new();

	assert_int_equal(t_probe_copy(buf, len, res), 0);
	return res;
}

struct img_result *t_probe_sized(const uint8_t *head, size_t len, uint64_t size)
{
	struct t_sparse s;
	struct img_reader r;
	struct img_result *res = t_result_new();

	t_sparse_reader(&s, head, len, NULL, 0, size, &r);
	assert_int_equal(img_probe(&r, res), 0);
	t_sparse_free(&s);
	return res;
}

struct img_result *t_probe_fixture(const char *name)
{
	struct t_sparse s;
	struct img_reader r;
	struct img_result *res = t_result_new();

	t_sparse_load(&s, name, &r);
	assert_int_equal(img_probe(&r, res), 0);
	t_sparse_free(&s);
	return res;
}

static void poke_put(uint8_t *p, unsigned width, bool big_endian, uint64_t v)
{
	switch (width) {
	case 1:
		p[0] = (uint8_t)v;
		break;
	case 2:
		(big_endian ? t_put_be16 : t_put_le16)(p, (uint16_t)v);
		break;
	case 4:
		(big_endian ? t_put_be32 : t_put_le32)(p, (uint32_t)v);
		break;
	case 8:
		(big_endian ? t_put_be64 : t_put_le64)(p, v);
		break;
	default:
		fail_msg("poke width %u", width);
	}
}

void t_poke_run(const char *fixture, enum img_format_id fmt, bool big_endian, uint64_t size,
                const struct t_poke *p, size_t n)
{
	size_t len;
	uint8_t *orig = t_fixture(fixture, &len);
	uint8_t *b = malloc(len);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		struct img_result *res;

		assert_true(p[i].off <= len && p[i].width <= len - p[i].off);
		memcpy(b, orig, len);
		poke_put(b + p[i].off, p[i].width, big_endian, p[i].val);
		if (size) {
			res = t_probe_sized(b, len, size);
		} else {
			res = t_result_new();
			assert_int_equal(t_probe_copy(b, len, res), 0);
		}
		assert_int_equal(res->format, fmt);
		if (p[i].damaged) {
			assert_non_null(res->damaged);
			assert_string_equal(res->damaged, p[i].damaged);
		} else {
			assert_null(res->damaged);
			if (p[i].vsize != T_POKE_ANY_SIZE)
				assert_int_equal(res->virtual_size, p[i].vsize);
		}
		free(res);
	}
	free(b);
	free(orig);
}

void t_spec_json(const struct img_spec *s, int at, char *out, size_t cap)
{
	bool whole = at < 0;
	char stack[16] = { '}' };
	bool first[16] = { true };
	unsigned d = 0;
	size_t o = 0;

#define PUT(...) (o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, __VA_ARGS__))
	if (whole)
		PUT("{");
	for (unsigned i = whole ? 0 : (unsigned)at; i < s->n; i++) {
		const struct img_spec_entry *e = &s->e[i];

		if (e->type == IMG_SPEC_END) {
			assert_true(d > 0);
			PUT("%c", stack[d--]);
			if (!whole && d == 0)
				break;
			continue;
		}
		if ((whole || d > 0) && !first[d])
			PUT(",");
		first[d] = false;
		if (e->key && (whole || d > 0))
			PUT("\"%s\":", e->key);
		switch (e->type) {
		case IMG_SPEC_STR:
			PUT("\"%.*s\"", (int)e->v.str.len, img_spec_strp(s, e));
			break;
		case IMG_SPEC_SELF:
			PUT("\"<self>\"");
			break;
		case IMG_SPEC_UINT:
			PUT("%llu", (unsigned long long)e->v.u);
			break;
		case IMG_SPEC_INT:
			PUT("%lld", (long long)e->v.i);
			break;
		case IMG_SPEC_BOOL:
			PUT("%s", e->v.b ? "true" : "false");
			break;
		case IMG_SPEC_OBJ:
		case IMG_SPEC_ARR:
			assert_true(d + 1 < IMG_ARRAY_SIZE(stack));
			PUT("%c", e->type == IMG_SPEC_OBJ ? '{' : '[');
			stack[++d] = e->type == IMG_SPEC_OBJ ? '}' : ']';
			first[d] = true;
			break;
		default:
			break;
		}
		if (!whole && d == 0)
			break;
	}
	assert_int_equal(d, 0);
	if (whole)
		PUT("}");
#undef PUT
	assert_true(o < cap);
}
