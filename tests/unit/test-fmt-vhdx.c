/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the VHDX probe (scanner/probe/fmt-vhdx.c), following the
 * VHDX Format Specification v1.00 as qemu 7.2 block/vhdx.c reads it.
 *
 * VHDX structures lie far apart (headers at 64/128 KiB, region tables at
 * 192/256 KiB, metadata at >= 1 MiB), so the tests use a multi-region
 * reader: a volume of a given size made of pieces at offsets, zeros
 * between.  Every get() hands out an exact-size heap copy, so ASan sees any
 * over-read.  Real images from qemu-img 7.2 are stored as fixture pieces
 * (fixtures/vhdx-*.at-OFFSET, see fixtures/README); the others are built in
 * memory with a bitwise CRC-32C written independently of the probe's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

/* ---- multi-region reader ------------------------------------------------- */

struct mr_piece {
	uint64_t off;
	const uint8_t *p;
	size_t len;
};

struct mr {
	struct mr_piece piece[16];
	unsigned n;
	uint64_t size;
	unsigned gets;
	uint64_t bytes;
	uint64_t readable; /* non-zero: gets ending past it fail (a device's partial last block) */
	unsigned n_bufs;
	void *bufs[64];
	uint8_t *own[16];
	unsigned n_own;
};

static int mr_get(void *ctx, uint64_t off, size_t len, const uint8_t **ret)
{
	struct mr *m = ctx;
	uint8_t *b;

	if (off > m->size || len > m->size - off)
		return -ERANGE;
	if (m->readable && off + len > m->readable)
		return -ERANGE;
	if (m->n_bufs >= IMG_ARRAY_SIZE(m->bufs))
		return -ENOMEM;
	b = malloc(len ? len : 1);
	if (!b)
		return -ENOMEM;
	memset(b, 0, len);
	for (unsigned i = 0; i < m->n; i++) {
		const struct mr_piece *p = &m->piece[i];

		for (size_t k = 0; k < p->len; k++) {
			uint64_t o = p->off + k;

			if (o >= off && o - off < len)
				b[o - off] = p->p[k];
		}
	}
	m->bufs[m->n_bufs++] = b;
	m->gets++;
	m->bytes += len;
	*ret = b;
	return 0;
}

static void mr_init(struct mr *m, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->size = size;
}

static void mr_add(struct mr *m, uint64_t off, const void *p, size_t len)
{
	assert_true(m->n < IMG_ARRAY_SIZE(m->piece));
	m->piece[m->n].off = off;
	m->piece[m->n].p = p;
	m->piece[m->n].len = len;
	m->n++;
}

static void mr_reader(struct mr *m, struct img_reader *r)
{
	r->ctx = m;
	r->size = m->size;
	r->block_size = 512;
	r->flags = 0;
	r->get = mr_get;
	r->trace = NULL;
}

static void mr_free(struct mr *m)
{
	for (unsigned i = 0; i < m->n_bufs; i++)
		free(m->bufs[i]);
	for (unsigned i = 0; i < m->n_own; i++)
		free(m->own[i]);
	m->n_bufs = m->n_own = 0;
}

/* probe m with the vhdx probe alone; returns the probe's rc */
static int mr_probe(struct mr *m, struct img_result *res)
{
	struct img_reader r;
	int rc;

	mr_reader(m, &r);
	rc = img_probe_format(&r, IMG_FMT_VHDX, res);
	for (unsigned i = 0; i < m->n_bufs; i++)
		free(m->bufs[i]);
	m->n_bufs = 0;
	return rc;
}

/* load fixture pieces NAME.at-OFF for the given offsets, and NAME.size */
static void mr_fixture(struct mr *m, const char *name, const uint64_t *offs, unsigned n)
{
	char fn[256];
	uint8_t *txt;
	size_t len;
	char tmp[32] = { 0 };

	snprintf(fn, sizeof(fn), "%s.size", name);
	txt = t_fixture(fn, &len);
	memcpy(tmp, txt, len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1);
	free(txt);
	mr_init(m, strtoull(tmp, NULL, 10));
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p;

		snprintf(fn, sizeof(fn), "%s.at-%llu", name, (unsigned long long)offs[i]);
		p = t_fixture(fn, &len);
		m->own[m->n_own++] = p;
		mr_add(m, offs[i], p, len);
	}
}

/* ---- independent CRC-32C and an in-memory image builder ----------------- */

static uint32_t ref_crc32c(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (crc & 1 ? 0x82f63b78u : 0);
	}
	return ~crc;
}

static void put_crc(uint8_t *p, size_t n)
{
	memset(p + 4, 0, 4);
	t_put_le32(p + 4, ref_crc32c(p, n));
}

#define GUID(d1, d2, d3, a, b, c, d, e, f, g, h)                                           \
	{ (d1) & 0xff, ((d1) >> 8) & 0xff, ((d1) >> 16) & 0xff, ((d1) >> 24) & 0xff,       \
	  (d2) & 0xff, ((d2) >> 8) & 0xff, (d3) & 0xff, ((d3) >> 8) & 0xff,                 \
	  a, b, c, d, e, f, g, h }

static const uint8_t g_bat[16] =
	GUID(0x2dc27766u, 0xf623u, 0x4200u, 0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08);
static const uint8_t g_md[16] =
	GUID(0x8b7ca206u, 0x4790u, 0x4b9au, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e);
static const uint8_t g_params[16] =
	GUID(0xcaa16737u, 0xfa36u, 0x4d43u, 0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b);
static const uint8_t g_vsize[16] =
	GUID(0x2fa54224u, 0xcd1bu, 0x4876u, 0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8);
static const uint8_t g_page83[16] =
	GUID(0xbeca12abu, 0xb2e6u, 0x4523u, 0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46);
static const uint8_t g_lss[16] =
	GUID(0x8141bf1du, 0xa96fu, 0x4709u, 0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa, 0xab, 0x5f);
static const uint8_t g_pss[16] =
	GUID(0xcda348c7u, 0x445du, 0x4471u, 0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5, 0x56);
static const uint8_t g_locator[16] =
	GUID(0xa8d35f2du, 0xb30bu, 0x454du, 0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c);
static const uint8_t g_parent_vhdx[16] =
	GUID(0xb04aefb7u, 0xd19eu, 0x4a81u, 0xb7, 0x89, 0x25, 0xb8, 0xe9, 0x44, 0x59, 0x13);

#define MD_OFF (3u * MiB)
#define ITEMS 65536u /* items start 64 KiB into the metadata region */

/* metadata region: table (64 KiB) + items (8 KiB) */
struct vimg {
	uint8_t id[512];
	uint8_t h1[4096], h2[4096];
	uint8_t rt1[65536], rt2[65536];
	uint8_t md[65536 + 8192];
	uint8_t log[4096];
	uint64_t size;
	bool with_log;
};

static void put_header(uint8_t *h, uint64_t seq)
{
	memset(h, 0, 4096);
	memcpy(h, "head", 4);
	t_put_le64(h + 8, seq);
	h[16] = 0x11; /* file_write_guid */
	h[32] = 0x22; /* data_write_guid */
	t_put_le16(h + 64, 0);
	t_put_le16(h + 66, 1);
	t_put_le32(h + 68, MiB);
	t_put_le64(h + 72, MiB);
}

static void put_entry(uint8_t *e, const uint8_t *guid, uint64_t off, uint32_t len, uint32_t bits)
{
	memcpy(e, guid, 16);
	t_put_le64(e + 16, off);
	t_put_le32(e + 24, len);
	t_put_le32(e + 28, bits);
}

static void put_md_entry(uint8_t *e, const uint8_t *guid, uint32_t off, uint32_t len,
                         uint32_t bits)
{
	memcpy(e, guid, 16);
	t_put_le32(e + 16, off);
	t_put_le32(e + 20, len);
	t_put_le32(e + 24, bits);
}

/* a 1 GiB dynamic image, 8 MiB blocks, as qemu-img lays it out */
static struct vimg *vimg_new(void)
{
	struct vimg *v = calloc(1, sizeof(*v));
	uint8_t *t;

	assert_non_null(v);
	memcpy(v->id, "vhdxfile", 8);
	put_header(v->h1, 10);
	put_header(v->h2, 11);
	memcpy(v->rt1, "regi", 4);
	t_put_le32(v->rt1 + 8, 2);
	put_entry(v->rt1 + 16, g_bat, 2 * MiB, MiB, 1);
	put_entry(v->rt1 + 48, g_md, MD_OFF, MiB, 1);
	memcpy(v->rt2, v->rt1, sizeof(v->rt1));
	t = v->md;
	memcpy(t, "metadata", 8);
	t_put_le16(t + 10, 5);
	put_md_entry(t + 32, g_params, ITEMS, 8, 4);
	put_md_entry(t + 64, g_vsize, ITEMS + 8, 8, 6);
	put_md_entry(t + 96, g_page83, ITEMS + 16, 16, 6);
	put_md_entry(t + 128, g_lss, ITEMS + 32, 4, 6);
	put_md_entry(t + 160, g_pss, ITEMS + 36, 4, 6);
	t_put_le32(t + ITEMS, 8 * MiB);
	t_put_le32(t + ITEMS + 4, 0);
	t_put_le64(t + ITEMS + 8, 1ull << 30);
	t[ITEMS + 16] = 0x83;
	t_put_le32(t + ITEMS + 32, 512);
	t_put_le32(t + ITEMS + 36, 4096);
	v->size = 8 * MiB;
	return v;
}

/* recompute every checksum (tests that want a bad one patch after this) */
static void vimg_fix(struct vimg *v)
{
	put_crc(v->h1, sizeof(v->h1));
	put_crc(v->h2, sizeof(v->h2));
	put_crc(v->rt1, sizeof(v->rt1));
	put_crc(v->rt2, sizeof(v->rt2));
}

static void vimg_reader(struct vimg *v, struct mr *m)
{
	mr_init(m, v->size);
	mr_add(m, 0, v->id, sizeof(v->id));
	mr_add(m, 64 * KiB, v->h1, sizeof(v->h1));
	mr_add(m, 128 * KiB, v->h2, sizeof(v->h2));
	mr_add(m, 192 * KiB, v->rt1, sizeof(v->rt1));
	mr_add(m, 256 * KiB, v->rt2, sizeof(v->rt2));
	mr_add(m, MD_OFF, v->md, sizeof(v->md));
	if (v->with_log)
		mr_add(m, MiB, v->log, sizeof(v->log));
}

/* fix checksums, probe, return the result (caller frees) */
static struct img_result *vimg_probe(struct vimg *v, bool fix)
{
	struct img_result *res = t_result_new();
	struct mr m;

	if (fix)
		vimg_fix(v);
	vimg_reader(v, &m);
	assert_int_equal(mr_probe(&m, res), 0);
	mr_free(&m);
	return res;
}

static void assert_ok(const struct img_result *res, uint64_t vsize, uint64_t cluster,
                      const char *subformat)
{
	if (res->damaged)
		fail_msg("unexpected damaged: %s", res->damaged);
	assert_int_equal(res->format, IMG_FMT_VHDX);
	assert_true(res->has_virtual_size);
	assert_int_equal(res->virtual_size, vsize);
	assert_int_equal(res->cluster_size, cluster);
	assert_string_equal(res->subformat, subformat);
	assert_true(res->has_version);
	assert_int_equal(res->version, 1);
}

static void assert_damaged(const struct img_result *res, const char *why)
{
	assert_int_equal(res->format, IMG_FMT_VHDX);
	assert_non_null(res->damaged);
	if (why)
		assert_string_equal(res->damaged, why);
}

/* ---- fixtures from qemu-img 7.2 ------------------------------------------ */

static void check_fixture(const char *name, uint64_t md, uint64_t vsize, uint64_t cluster,
                          const char *subformat, bool fixed)
{
	const uint64_t offs[] = { 0, 65536, 131072, 196608, 262144, md, md + 65536 };
	struct img_result *res = t_result_new();
	struct img_reader r;
	struct mr m;

	mr_fixture(&m, name, offs, IMG_ARRAY_SIZE(offs));
	mr_reader(&m, &r);
	assert_int_equal(img_probe(&r, res), 0);
	assert_ok(res, vsize, cluster, subformat);
	assert_int_equal(res->n_candidates, 0);
	assert_false(res->dirty);
	assert_false(res->backing_file.present);
	assert_int_equal(res->encryption, IMG_ENC_NONE);
	assert_null(res->spec.type); /* qemu-img prints no format-specific for vhdx */
	assert_int_equal(img_has_feature(res, "leave_blocks_allocated"), fixed);
	assert_false(img_has_feature(res, "has_parent"));
	mr_free(&m);

	/*
	 * the vhdx probe alone: the magic check, then two requests, header 1
	 * to the end of region table 1, and the metadata table with the items
	 * after it
	 */
	mr_fixture(&m, name, offs, IMG_ARRAY_SIZE(offs));
	mr_reader(&m, &r);
	assert_int_equal(img_probe_format(&r, IMG_FMT_VHDX, res), 0);
	assert_ok(res, vsize, cluster, subformat);
	assert_int_equal(m.gets, 1 + 2);
	assert_true(m.bytes <= 8 + 192 * KiB + 68 * KiB);
	mr_free(&m);
	free(res);
}

/*
 * The fixture flattened into one buffer and probed through the library's
 * own memory reader, which counts get() calls: after the magic check the
 * vhdx probe makes two.
 */
static void test_fixture_mem_reads(void **state)
{
	const uint64_t offs[] = { 0, 65536, 131072, 196608, 262144, 3 * MiB, 3 * MiB + 65536 };
	struct img_result *res = t_result_new(), *all = t_result_new();
	struct img_mem_source ms;
	struct img_reader r;
	uint8_t *flat;
	struct mr m;
	unsigned before;

	(void)state;
	mr_fixture(&m, "vhdx-dyn1g", offs, IMG_ARRAY_SIZE(offs));
	assert_int_equal(m.size, 8 * MiB);
	flat = calloc(1, (size_t)m.size);
	assert_non_null(flat);
	for (unsigned i = 0; i < m.n; i++)
		memcpy(flat + m.piece[i].off, m.piece[i].p, m.piece[i].len);
	img_mem_reader(&ms, flat, (size_t)m.size, &r);
	assert_int_equal(img_probe_format(&r, IMG_FMT_VHDX, res), 0);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	assert_int_equal(ms.reads, 1 + 2);
	/* through img_probe: the same facts, still only two reads by vhdx */
	before = ms.reads;
	assert_int_equal(img_probe(&r, all), 0);
	assert_ok(all, 1ull << 30, 8 * MiB, "dynamic");
	print_message("img_probe of the flattened fixture: %u get() calls\n", ms.reads - before);
	free(flat);
	mr_free(&m);
	free(all);
	free(res);
}

/*
 * requests (after the magic check) in the other layouts: log peek, region
 * table 2, items elsewhere
 */
static void test_read_counts(void **state)
{
	struct img_result *res;
	struct vimg *v;
	struct mr m;

	(void)state;
	/* a log to peek at: one more request */
	v = vimg_new();
	v->with_log = true;
	t_put_le64(v->h2 + 48, 0x1234); /* log_guid */
	vimg_fix(v);
	vimg_reader(v, &m);
	res = t_result_new();
	assert_int_equal(mr_probe(&m, res), 0);
	assert_true(res->dirty);
	assert_int_equal(m.gets, 1 + 3);
	mr_free(&m);
	free(res);
	free(v);

	/* region table 1 bad: table 2 is read on its own */
	v = vimg_new();
	vimg_fix(v);
	v->rt1[100] ^= 1;
	vimg_reader(v, &m);
	res = t_result_new();
	assert_int_equal(mr_probe(&m, res), 0);
	assert_damaged(res, "VHDX region table checksum mismatch");
	assert_int_equal(res->virtual_size, 1ull << 30);
	assert_int_equal(m.gets, 1 + 3);
	mr_free(&m);
	free(res);
	free(v);

	/*
	 * a metadata region of exactly 64 KiB + 40 (the items' end): the span
	 * stops there and still holds them
	 */
	v = vimg_new();
	put_entry(v->rt1 + 48, g_md, MD_OFF, 64 * KiB + 40, 1);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	vimg_reader(v, &m);
	res = t_result_new();
	assert_int_equal(mr_probe(&m, res), 0);
	assert_int_equal(m.gets, 1 + 2);
	assert_true(m.bytes <= 8 + 192 * KiB + 64 * KiB + 40);
	mr_free(&m);
	free(res);

	/*
	 * a region of 64 KiB only: the items lie past it (qemu reads them
	 * anyway), each read on its own, the same facts
	 */
	put_entry(v->rt1 + 48, g_md, MD_OFF, 64 * KiB, 1);
	vimg_fix(v);
	vimg_reader(v, &m);
	res = t_result_new();
	assert_int_equal(mr_probe(&m, res), 0);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	assert_int_equal(m.gets, 1 + 2 + 3);
	mr_free(&m);
	free(res);
	free(v);

	/* items past the first 4 KiB after the table: read on their own */
	v = vimg_new();
	put_md_entry(v->md + 64, g_vsize, ITEMS + 4096, 8, 6);
	t_put_le64(v->md + ITEMS + 4096, 5ull << 30);
	put_md_entry(v->md + 128, g_lss, ITEMS + 4092, 4, 6); /* straddles the span end */
	t_put_le32(v->md + ITEMS + 4092, 512);
	vimg_fix(v);
	vimg_reader(v, &m);
	res = t_result_new();
	assert_int_equal(mr_probe(&m, res), 0);
	assert_ok(res, 5ull << 30, 8 * MiB, "dynamic");
	assert_int_equal(m.gets, 1 + 2 + 1); /* 4092..4096 is inside; 4096.. is not */
	mr_free(&m);
	t_put_le32(v->md + ITEMS + 4092, 0);
	put_md_entry(v->md + 128, g_lss, ITEMS + 4094, 4, 6);
	t_put_le32(v->md + ITEMS + 4094, 512);
	vimg_reader(v, &m);
	assert_int_equal(mr_probe(&m, res), 0);
	assert_ok(res, 5ull << 30, 8 * MiB, "dynamic");
	assert_int_equal(m.gets, 1 + 2 + 2);
	mr_free(&m);
	free(res);
	free(v);

	/*
	 * a reader that refuses the span but serves each structure (the
	 * fd reader past the last whole block of a device): the same
	 * outcome as separate reads
	 */
	v = vimg_new();
	vimg_fix(v);
	vimg_reader(v, &m);
	m.size = 100 * KiB + 1;
	m.readable = 100 * KiB;
	res = t_result_new();
	assert_int_equal(mr_probe(&m, res), 0);
	assert_damaged(res, "VHDX region table checksum mismatch");
	assert_true(res->has_version); /* header 1 was read */
	mr_free(&m);
	/* the same with the metadata span refused, the table alone served */
	vimg_reader(v, &m);
	m.size = MD_OFF + 64 * KiB + 1;
	m.readable = MD_OFF + 64 * KiB;
	put_md_entry(v->md + 32, g_params, 4096, 8, 4);
	put_md_entry(v->md + 64, g_vsize, 4104, 8, 6);
	put_md_entry(v->md + 128, g_lss, 4112, 4, 6);
	t_put_le32(v->md + 4096, 8 * MiB);
	t_put_le64(v->md + 4104, 2ull << 30);
	t_put_le32(v->md + 4112, 512);
	assert_int_equal(mr_probe(&m, res), 0);
	assert_ok(res, 2ull << 30, 8 * MiB, "dynamic");
	mr_free(&m);
	free(res);
	free(v);
}

static void test_fixture_dynamic(void **state)
{
	(void)state;
	check_fixture("vhdx-dyn1g", 3 * MiB, 1ull << 30, 8 * MiB, "dynamic", false);
}

static void test_fixture_fixed(void **state)
{
	(void)state;
	check_fixture("vhdx-fixed64m", 3 * MiB, 64 * MiB, 8 * MiB, "fixed", true);
}

static void test_fixture_bs32m(void **state)
{
	(void)state;
	check_fixture("vhdx-dyn3g-bs32m", 6 * MiB, 3ull << 30, 32 * MiB, "dynamic", false);
}

/* a real header with one byte changed fails its CRC: header 2 is then used */
static void test_fixture_crc(void **state)
{
	const uint64_t offs[] = { 0, 65536, 131072, 196608, 262144, 3 * MiB, 3 * MiB + 65536 };
	struct img_result *res = t_result_new();
	struct mr m;

	(void)state;
	mr_fixture(&m, "vhdx-dyn1g", offs, IMG_ARRAY_SIZE(offs));
	m.own[2][100] ^= 1; /* header 2 (the current one) */
	assert_int_equal(mr_probe(&m, res), 0);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	m.own[1][100] ^= 1; /* and header 1 */
	assert_int_equal(mr_probe(&m, res), 0);
	assert_damaged(res, "No valid VHDX header found");
	assert_false(res->has_virtual_size);
	m.own[1][100] ^= 1;
	m.own[2][100] ^= 1;
	m.own[3][40] ^= 1; /* region table 1 */
	assert_int_equal(mr_probe(&m, res), 0);
	assert_damaged(res, "VHDX region table checksum mismatch");
	assert_int_equal(res->virtual_size, 1ull << 30); /* from table 2 */
	mr_free(&m);
	free(res);
}

/* ---- built images: headers ----------------------------------------------- */

static void test_built_default(void **state)
{
	struct vimg *v = vimg_new();
	struct img_result *res;

	(void)state;
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	assert_false(res->dirty);
	assert_int_equal(res->n_features, 0);
	free(res);
	free(v);
}

static void test_headers(void **state)
{
	struct vimg *v = vimg_new();
	struct img_result *res;

	(void)state;
	/* header 2 newer but unusable log offset: it wins and qemu refuses */
	t_put_le64(v->h2 + 72, 0);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX log offset invalid");
	free(res);
	/* header 1 newer: header 2's bad field is ignored */
	t_put_le64(v->h1 + 8, 12);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	/* equal sequence numbers, different headers: no valid header */
	t_put_le64(v->h1 + 8, 11);
	res = vimg_probe(v, true);
	assert_damaged(res, "No valid VHDX header found");
	free(res);
	/* equal and identical (Disk2VHD): accepted */
	memcpy(v->h2, v->h1, sizeof(v->h1));
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	/* the newer header has version 2: invalid, the other is used */
	put_header(v->h1, 10);
	put_header(v->h2, UINT64_MAX);
	t_put_le16(v->h2 + 66, 2);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	/* bad signature on one, bad CRC on the other */
	memcpy(v->h2, "HEAD", 4);
	vimg_fix(v);
	v->h1[5] ^= 0xff;
	res = vimg_probe(v, false);
	assert_damaged(res, "No valid VHDX header found");
	assert_false(res->has_version);
	free(res);
	free(v);
}

static void test_log(void **state)
{
	static const uint8_t lg[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct vimg *v = vimg_new();
	struct img_result *res;
	static const struct {
		uint64_t off;
		uint32_t len;
		uint16_t ver;
		const char *why;
	} bad[] = {
		{ 0, MiB, 0, "VHDX log offset invalid" },
		{ MiB - 1, MiB, 0, "VHDX log offset invalid" },
		{ MiB + 512, MiB, 0, "VHDX log offset invalid" },
		{ UINT64_MAX, MiB, 0, "VHDX log offset invalid" },
		{ MiB, MiB, 1, "VHDX log version unsupported" },
		{ MiB, MiB, UINT16_MAX, "VHDX log version unsupported" },
	};

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(bad); i++) {
		put_header(v->h2, 11);
		t_put_le64(v->h2 + 72, bad[i].off);
		t_put_le32(v->h2 + 68, bad[i].len);
		t_put_le16(v->h2 + 64, bad[i].ver);
		res = vimg_probe(v, true);
		assert_damaged(res, bad[i].why);
		free(res);
	}
	/* a log guid with a zero length: no log */
	put_header(v->h2, 11);
	memcpy(v->h2 + 48, lg, 16);
	t_put_le32(v->h2 + 68, 0);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	assert_false(res->dirty);
	free(res);
	/* log guid and length, empty log: dirty, qemu still opens it */
	t_put_le32(v->h2 + 68, MiB);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	assert_true(res->dirty);
	free(res);
	/* log length not a MiB multiple */
	t_put_le32(v->h2 + 68, MiB + 4096);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX log length invalid");
	assert_true(res->dirty);
	free(res);
	t_put_le32(v->h2 + 68, UINT32_MAX);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX log length invalid");
	free(res);
	/* an entry of this log at the log start: replay needed */
	t_put_le32(v->h2 + 68, MiB);
	v->with_log = true;
	memcpy(v->log, "loge", 4);
	memcpy(v->log + 32, lg, 16);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX log needs to be replayed");
	assert_true(res->dirty);
	assert_int_equal(res->virtual_size, 1ull << 30);
	free(res);
	/* an entry of another log: stale, not replayed */
	v->log[40] ^= 1;
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	assert_true(res->dirty);
	free(res);
	/* the log at the very end of the volume, past it */
	v->with_log = false;
	t_put_le64(v->h2 + 72, 7 * MiB);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	t_put_le64(v->h2 + 72, 1ull << 62);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	free(v);
}

/* ---- region table ---------------------------------------------------------- */

static void test_region_table(void **state)
{
	struct vimg *v = vimg_new();
	struct img_result *res;

	(void)state;
	/* counts at the boundary: zero entries past the two real ones are inert */
	t_put_le32(v->rt1 + 8, 2047);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	t_put_le32(v->rt1 + 8, 2048);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX region table has too many entries");
	assert_int_equal(res->virtual_size, 1ull << 30); /* table 2 */
	free(res);
	t_put_le32(v->rt1 + 8, UINT32_MAX);
	t_put_le32(v->rt2 + 8, UINT32_MAX);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX region table has too many entries");
	assert_false(res->has_virtual_size);
	free(res);
	t_put_le32(v->rt1 + 8, 1);
	t_put_le32(v->rt2 + 8, 0);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX region table lacks the BAT or metadata region");
	free(res);
	free(v);

	/*
	 * the BAT region is read whole: past the end of the file it reads as
	 * zeros, past BDRV_MAX_LENGTH the block layer refuses (measured edges)
	 */
	v = vimg_new();
	put_entry(v->rt1 + 16, g_bat, 0x7fffffffbff00000ull, MiB, 1);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	put_entry(v->rt1 + 16, g_bat, 0x7fffffffbff00001ull, MiB, 1);
	res = vimg_probe(v, true);
	assert_damaged(res, "Input/output error");
	free(res);
	put_entry(v->rt1 + 16, g_bat, 0xe64c17b77378d113ull, MiB, 1);
	res = vimg_probe(v, true);
	assert_damaged(res, "Input/output error");
	free(res);
	free(v);

	/* signature */
	v = vimg_new();
	memcpy(v->rt1, "REGI", 4);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX region table signature mismatch");
	assert_int_equal(res->virtual_size, 1ull << 30);
	free(res);
	free(v);

	/* duplicates, unknown required and optional regions */
	v = vimg_new();
	t_put_le32(v->rt1 + 8, 3);
	put_entry(v->rt1 + 80, g_bat, 5 * MiB, MiB, 1);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX region table lists the BAT twice");
	free(res);
	put_entry(v->rt1 + 80, g_md, 5 * MiB, MiB, 1);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX region table lists the metadata twice");
	free(res);
	put_entry(v->rt1 + 80, g_page83, 5 * MiB, MiB, 1);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX region table has an unknown required region");
	free(res);
	put_entry(v->rt1 + 80, g_page83, 5 * MiB, MiB, 0);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	/* overlaps: with an earlier entry, with the log */
	put_entry(v->rt1 + 80, g_page83, 3 * MiB + 4096, 1, 0);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX regions overlap");
	free(res);
	put_entry(v->rt1 + 80, g_page83, 2 * MiB - 1, 1, 0);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX regions overlap");
	free(res);
	/* a region whose end wraps past 2^64: qemu's arithmetic, no crash */
	put_entry(v->rt1 + 80, g_page83, UINT64_MAX - 10, UINT32_MAX, 0);
	res = vimg_probe(v, true);
	assert_int_equal(res->format, IMG_FMT_VHDX);
	free(res);
	free(v);

	/* metadata region outside the volume, at overflow values */
	static const uint64_t md_offs[] = { 8 * MiB, 8 * MiB - 1, UINT64_MAX, UINT64_MAX - MiB,
		                            1ull << 63 };
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(md_offs); i++) {
		v = vimg_new();
		put_entry(v->rt1 + 48, g_md, md_offs[i], MiB, 1);
		put_entry(v->rt2 + 48, g_md, md_offs[i], MiB, 1);
		res = vimg_probe(v, true);
		assert_int_equal(res->format, IMG_FMT_VHDX);
		assert_non_null(res->damaged);
		assert_false(res->has_virtual_size);
		free(res);
		free(v);
	}
	/* BAT region just large enough, one entry short (1 GiB / 8 MiB = 128) */
	v = vimg_new();
	put_entry(v->rt1 + 16, g_bat, 2 * MiB, 128 * 8, 1);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	put_entry(v->rt1 + 16, g_bat, 2 * MiB, 127 * 8 + 7, 1);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX BAT region too small for the disk size");
	free(res);
	free(v);
}

/* ---- metadata -------------------------------------------------------------- */

static void test_metadata_table(void **state)
{
	struct vimg *v = vimg_new();
	struct img_result *res;

	(void)state;
	t_put_le16(v->md + 10, 2047);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	t_put_le16(v->md + 10, 2048);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX metadata table has too many entries");
	free(res);
	t_put_le16(v->md + 10, UINT16_MAX);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX metadata table has too many entries");
	free(res);
	t_put_le16(v->md + 10, 4);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX metadata lacks a required item");
	free(res);
	/* unknown optional item: ignored; unknown required: refused */
	t_put_le16(v->md + 10, 6);
	put_md_entry(v->md + 192, g_bat, ITEMS + 64, 8, 3);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	put_md_entry(v->md + 192, g_bat, ITEMS + 64, 8, 4);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX metadata has an unknown required item");
	free(res);
	put_md_entry(v->md + 192, g_lss, ITEMS + 64, 8, 4);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX metadata lists an item twice");
	free(res);
	t_put_le16(v->md + 10, 5);
	memcpy(v->md, "METADATA", 8);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX metadata table signature mismatch");
	assert_false(res->has_virtual_size);
	free(res);
	free(v);

	/* items outside the volume read as zeros: block size 0 */
	static const uint32_t item_offs[] = { 5 * MiB - 7, 5 * MiB - 8, UINT32_MAX, UINT32_MAX - 3 };
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(item_offs); i++) {
		v = vimg_new();
		put_md_entry(v->md + 32, g_params, item_offs[i], 8, 4);
		res = vimg_probe(v, true);
		assert_damaged(res, "VHDX block size invalid");
		assert_int_equal(res->cluster_size, 0);
		free(res);
		free(v);
	}
}

static void test_metadata_items(void **state)
{
	static const struct {
		uint32_t bs;
		bool ok;
	} sizes[] = {
		{ 0, false },         { MiB - 1, false },   { MiB, true },
		{ MiB + 1, false },   { 3 * MiB, false },   { 128 * MiB, true },
		{ 256 * MiB, true },  { 256 * MiB + 1, false }, { 512 * MiB, false },
		{ UINT32_MAX, false }, { 1u << 31, false },
	};
	struct img_result *res;
	struct vimg *v;

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(sizes); i++) {
		v = vimg_new();
		t_put_le32(v->md + ITEMS, sizes[i].bs);
		res = vimg_probe(v, true);
		if (sizes[i].ok)
			assert_ok(res, 1ull << 30, sizes[i].bs, "dynamic");
		else
			assert_damaged(res, "VHDX block size invalid");
		free(res);
		free(v);
	}

	v = vimg_new();
	/* virtual size: qemu keeps whole 512-byte sectors */
	t_put_le64(v->md + ITEMS + 8, (1ull << 30) + 100);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	/* 0 makes qemu's uint32 BAT count wrap: refused */
	t_put_le64(v->md + ITEMS + 8, 0);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX BAT region too small for the disk size");
	assert_int_equal(res->virtual_size, 0);
	free(res);
	t_put_le64(v->md + ITEMS + 8, UINT64_MAX);
	res = vimg_probe(v, true);
	assert_damaged(res, NULL);
	assert_int_equal(res->virtual_size, UINT64_MAX >> 9 << 9);
	free(res);
	t_put_le64(v->md + ITEMS + 8, 64ull << 40);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX BAT region too small for the disk size");
	free(res);
	/*
	 * 2^63 + 8 MiB: qemu's uint32 BAT count wraps to 1 block and passes, then
	 * the block layer refuses more than BDRV_MAX_LENGTH (measured)
	 */
	t_put_le64(v->md + ITEMS + 8, (1ull << 63) + 8 * MiB);
	res = vimg_probe(v, true);
	assert_damaged(res, "Could not refresh total sector count: File too large");
	free(res);
	/* largest size the 1 MiB BAT holds: 131072 entries, 128 per chunk + 1 */
	t_put_le64(v->md + ITEMS + 8, (uint64_t)(131072 - 256) * 8 * MiB);
	res = vimg_probe(v, true);
	assert_ok(res, (uint64_t)(131072 - 256) * 8 * MiB, 8 * MiB, "dynamic");
	free(res);
	t_put_le64(v->md + ITEMS + 8, 1ull << 30);
	/* logical sector size: qemu 7.2 supports 512 only */
	t_put_le32(v->md + ITEMS + 32, 4096);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX logical sector size other than 512 unsupported");
	assert_int_equal(res->virtual_size, 1ull << 30);
	free(res);
	t_put_le32(v->md + ITEMS + 32, 0);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX logical sector size other than 512 unsupported");
	free(res);
	t_put_le32(v->md + ITEMS + 32, 512);
	/* physical sector size is not checked by qemu */
	t_put_le32(v->md + ITEMS + 36, 1234);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	free(res);
	/* fixed */
	t_put_le32(v->md + ITEMS + 4, 1);
	res = vimg_probe(v, true);
	assert_ok(res, 1ull << 30, 8 * MiB, "fixed");
	assert_true(img_has_feature(res, "leave_blocks_allocated"));
	free(res);
	free(v);
}

/* ---- differencing images and the parent locator -------------------------- */

struct kv {
	const char *key;
	const uint16_t *val; /* UTF-16 code units */
	size_t nval;
};

/* write a locator of n key/value pairs at md item offset ITEMS + 64 */
static uint32_t put_locator(struct vimg *v, const uint8_t *type, const struct kv *kv, size_t n)
{
	uint8_t *l = v->md + ITEMS + 64;
	uint32_t pos = 20 + (uint32_t)n * 12;

	memset(l, 0, 8192 - 64);
	memcpy(l, type, 16);
	t_put_le16(l + 18, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(kv[i].key);
		uint8_t *e = l + 20 + i * 12;

		t_put_le32(e, pos);
		t_put_le16(e + 8, (uint16_t)(2 * kl));
		for (size_t k = 0; k < kl; k++)
			t_put_le16(l + pos + 2 * k, (uint16_t)kv[i].key[k]);
		pos += (uint32_t)(2 * kl);
		t_put_le32(e + 4, pos);
		t_put_le16(e + 10, (uint16_t)(2 * kv[i].nval));
		for (size_t k = 0; k < kv[i].nval; k++)
			t_put_le16(l + pos + 2 * k, kv[i].val[k]);
		pos += (uint32_t)(2 * kv[i].nval);
	}
	return pos;
}

static struct vimg *vimg_diff(void)
{
	struct vimg *v = vimg_new();

	t_put_le32(v->md + ITEMS + 4, 2);
	t_put_le16(v->md + 10, 6);
	put_md_entry(v->md + 192, g_locator, ITEMS + 64, 8192 - 64, 6);
	return v;
}

static void assert_backing(const struct img_result *res, const char *s)
{
	assert_true(res->backing_file.present);
	assert_int_equal(res->backing_file.len, strlen(s));
	assert_memory_equal(res->backing_file.data, s, strlen(s));
}

static void test_differencing(void **state)
{
	static const uint16_t rel[] = { '.', '\\', 'b', '.', 'v', 'h', 'd', 'x' };
	static const uint16_t abs_[] = { 'C', ':', '\\', 'b', '.', 'v', 'h', 'd', 'x' };
	static const uint16_t vol[] = { '\\', '\\', '?', '\\', 'V', '\\', 'b' };
	static const uint16_t link[] = { '{', '1', '}' };
	/* e-acute, euro, U+1F600 as a pair, a lone high and a lone low surrogate */
	static const uint16_t uni[] = { 0xe9, 0x20ac, 0xd83d, 0xde00, 0xd800, 'x', 0xdc00 };
	static const uint16_t nul[] = { 'a', 0, 'b' };
	struct img_result *res;
	struct vimg *v = vimg_diff();
	const struct kv all[] = { { "parent_linkage", link, 3 },
		                  { "absolute_win32_path", abs_, 9 },
		                  { "volume_path", vol, 7 },
		                  { "relative_path", rel, 8 } };

	(void)state;
	put_locator(v, g_parent_vhdx, all, 4);
	res = vimg_probe(v, true);
	assert_damaged(res, "Differencing VHDX images are not supported");
	assert_string_equal(res->subformat, "differencing");
	assert_true(img_has_feature(res, "has_parent"));
	assert_backing(res, ".\\b.vhdx");
	assert_true(res->backing_format.present);
	assert_string_equal(res->backing_format.data, "vhdx");
	assert_int_equal(res->virtual_size, 1ull << 30);
	assert_int_equal(res->cluster_size, 8 * MiB);
	free(res);

	put_locator(v, g_parent_vhdx, all, 3);
	res = vimg_probe(v, true);
	assert_backing(res, "\\\\?\\V\\b");
	free(res);
	put_locator(v, g_bat, all, 2); /* unknown locator type: no backing format */
	res = vimg_probe(v, true);
	assert_backing(res, "C:\\b.vhdx");
	assert_false(res->backing_format.present);
	free(res);
	put_locator(v, g_parent_vhdx, all, 1); /* linkage only */
	res = vimg_probe(v, true);
	assert_false(res->backing_file.present);
	free(res);

	const struct kv u[] = { { "relative_path", uni, IMG_ARRAY_SIZE(uni) } };
	put_locator(v, g_parent_vhdx, u, 1);
	res = vimg_probe(v, true);
	assert_backing(res, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbdx\xef\xbf\xbd");
	free(res);
	const struct kv z[] = { { "relative_path", nul, 3 } };
	put_locator(v, g_parent_vhdx, z, 1);
	res = vimg_probe(v, true);
	assert_backing(res, "a");
	free(res);

	/* duplicate key: the first one counts */
	const struct kv dup[] = { { "relative_path", rel, 8 }, { "relative_path", abs_, 9 } };
	put_locator(v, g_parent_vhdx, dup, 2);
	res = vimg_probe(v, true);
	assert_backing(res, ".\\b.vhdx");
	free(res);

	/* hostile offsets, lengths and counts */
	uint8_t *l = v->md + ITEMS + 64;
	put_locator(v, g_parent_vhdx, all, 4);
	t_put_le32(l + 20 + 3 * 12 + 4, UINT32_MAX); /* relative value offset */
	res = vimg_probe(v, true);
	assert_backing(res, "\\\\?\\V\\b");
	free(res);
	t_put_le32(l + 20 + 3 * 12 + 4, 8192 - 64 - 2);
	t_put_le16(l + 20 + 3 * 12 + 10, UINT16_MAX); /* value runs past the item */
	res = vimg_probe(v, true);
	assert_backing(res, "\\\\?\\V\\b");
	free(res);
	t_put_le32(l + 20 + 3 * 12, UINT32_MAX - 1); /* key offset */
	t_put_le16(l + 20 + 3 * 12 + 10, 3); /* odd value length */
	res = vimg_probe(v, true);
	assert_backing(res, "\\\\?\\V\\b");
	free(res);
	t_put_le16(l + 18, UINT16_MAX); /* count: entries run off the item */
	res = vimg_probe(v, true);
	assert_damaged(res, "Differencing VHDX images are not supported");
	free(res);
	/* locator item beyond the volume, of length 0 and UINT32_MAX */
	put_md_entry(v->md + 192, g_locator, UINT32_MAX, UINT32_MAX, 6);
	res = vimg_probe(v, true);
	assert_damaged(res, "Differencing VHDX images are not supported");
	assert_false(res->backing_file.present);
	free(res);
	put_md_entry(v->md + 192, g_locator, ITEMS + 64, 0, 6);
	res = vimg_probe(v, true);
	assert_false(res->backing_file.present);
	free(res);

	/* a path longer than IMG_STR_MAX: bounded, whole characters only */
	{
		static uint16_t big[3000];
		const struct kv b[] = { { "relative_path", big, 3000 } };

		for (unsigned i = 0; i < 3000; i++)
			big[i] = 0x20ac; /* 3 UTF-8 bytes each */
		put_md_entry(v->md + 192, g_locator, ITEMS + 64, 8192 - 64, 6);
		put_locator(v, g_parent_vhdx, b, 1);
		res = vimg_probe(v, true);
		assert_true(res->backing_file.present);
		assert_true(res->backing_file.len <= IMG_STR_MAX - 1);
		assert_int_equal(res->backing_file.len % 3, 0);
		free(res);
	}

	/* has_parent without a locator */
	t_put_le16(v->md + 10, 5);
	res = vimg_probe(v, true);
	assert_damaged(res, "VHDX has_parent set without a parent locator");
	assert_string_equal(res->subformat, "differencing");
	free(res);
	free(v);
}

/* ---- truncation ------------------------------------------------------------ */

static void test_truncation(void **state)
{
	struct vimg *v = vimg_new();
	struct img_result *res = t_result_new();
	uint8_t *flat;
	struct mr m;
	size_t flat_len = 8192;

	(void)state;
	vimg_fix(v);
	/* every prefix of the first 8 KiB, through img_probe */
	flat = calloc(1, flat_len);
	assert_non_null(flat);
	memcpy(flat, v->id, sizeof(v->id));
	t_truncation_sweep(flat, flat_len);
	assert_int_equal(t_probe_copy(flat, 8, res), 0);
	assert_damaged(res, "No valid VHDX header found");
	assert_int_equal(t_probe_copy(flat, 7, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	free(flat);

	/* volume sizes around every structure edge: zeros past the end */
	static const uint64_t edges[] = { 64 * KiB, 128 * KiB, 192 * KiB, 256 * KiB, 320 * KiB,
		                          MiB, MD_OFF, MD_OFF + 64 * KiB, MD_OFF + ITEMS + 8,
		                          MD_OFF + ITEMS + 16, MD_OFF + ITEMS + 40 };
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(edges); i++) {
		for (int d = -70; d <= 70; d++) {
			uint64_t size = edges[i] + (uint64_t)(int64_t)d;

			vimg_reader(v, &m);
			m.size = size;
			assert_int_equal(mr_probe(&m, res), 0);
			assert_int_equal(res->format, IMG_FMT_VHDX);
			mr_free(&m);
		}
	}
	/*
	 * header 1 cut short: the missing bytes read as zeros, as in qemu, so
	 * losing only its zero tail keeps it valid; losing byte 74 (log_offset
	 * 0x100000) breaks its CRC.  Header 2 is wholly past the end.
	 */
	vimg_reader(v, &m);
	m.size = 64 * KiB + 4095;
	assert_int_equal(mr_probe(&m, res), 0);
	assert_false(res->damaged && strcmp(res->damaged, "No valid VHDX header found") == 0);
	m.size = 64 * KiB + 74;
	assert_int_equal(mr_probe(&m, res), 0);
	assert_damaged(res, "No valid VHDX header found");
	/* metadata table present, items cut off: block size reads as 0 */
	m.size = MD_OFF + ITEMS;
	assert_int_equal(mr_probe(&m, res), 0);
	assert_damaged(res, "VHDX block size invalid");
	/* everything up to the last item byte: fine */
	m.size = MD_OFF + ITEMS + 36;
	assert_int_equal(mr_probe(&m, res), 0);
	assert_ok(res, 1ull << 30, 8 * MiB, "dynamic");
	mr_free(&m);
	free(res);
	free(v);
}

/* every byte of the headers, region table and table entries flipped: no crash */
static void test_byte_poke(void **state)
{
	struct vimg *v = vimg_new();
	struct img_result *res = t_result_new();
	struct mr m;

	(void)state;
	for (size_t i = 0; i < 32 + 6 * 32; i++) {
		uint8_t *p = i < 32 ? v->rt1 + 16 + i * 2 : v->md + (i - 32);

		for (unsigned bit = 0; bit < 8; bit += 3) {
			*p ^= (uint8_t)(1u << bit);
			vimg_fix(v);
			vimg_reader(v, &m);
			assert_int_equal(mr_probe(&m, res), 0);
			assert_int_equal(res->format, IMG_FMT_VHDX);
			mr_free(&m);
			*p ^= (uint8_t)(1u << bit);
		}
	}
	free(res);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_dynamic),
		cmocka_unit_test(test_fixture_fixed),
		cmocka_unit_test(test_fixture_bs32m),
		cmocka_unit_test(test_fixture_crc),
		cmocka_unit_test(test_fixture_mem_reads),
		cmocka_unit_test(test_read_counts),
		cmocka_unit_test(test_built_default),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_region_table),
		cmocka_unit_test(test_metadata_table),
		cmocka_unit_test(test_metadata_items),
		cmocka_unit_test(test_differencing),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_byte_poke),
	};
	return T_RUN(tests);
}
