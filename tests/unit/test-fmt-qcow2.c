/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the qcow2 probe (scanner/probe/fmt-qcow2.c).
 *
 * Follows qemu docs/interop/qcow2.txt and docs/formats.md, "qcow2".  Real
 * images:
 * fixtures/qcow2-*.head (+ .size), made with qemu-img 7.2 (see
 * fixtures/README), checked field by field against what `qemu-img info
 * --output=json` printed for them.  Built headers: every feature bit and
 * extension.  Hostile headers: every length, offset and count at its
 * boundaries and overflow values, extension chains that run off, loop or
 * end exactly, feature tables with odd lengths and odd names, and truncation
 * at every length.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define CL16 65536u /* the default cluster, and the size of built images */

/* ---- helpers ------------------------------------------------------------ */

static struct img_result *probe_fixture(const char *name)
{
	struct img_result *res = t_result_new();
	struct t_sparse s;
	struct img_reader r;

	t_sparse_load(&s, name, &r);
	assert_int_equal(img_probe_format(&r, IMG_FMT_QCOW2, res), 0);
	t_sparse_free(&s);
	return res;
}

static struct img_result *probe_buf(const uint8_t *buf, size_t len)
{
	struct img_result *res = t_result_new();

	assert_int_equal(t_probe_copy_format(buf, len, IMG_FMT_QCOW2, res), 0);
	return res;
}

/*
 * a v3 header: 1 MiB, 64 KiB clusters, header_length 112, end marker at
 * 112; its L1 and refcount tables fit every cluster size from 512 to 2 MiB
 */
static uint8_t *mk_v3(void)
{
	uint8_t *b = calloc(1, CL16);

	assert_non_null(b);
	memcpy(b, "QFI\xfb", 4);
	t_put_be32(b + 4, 3);
	t_put_be32(b + 20, 16);
	t_put_be64(b + 24, 1ull << 20);
	t_put_be32(b + 36, 64);
	t_put_be64(b + 40, 0x600000);
	t_put_be64(b + 48, 0x200000);
	t_put_be32(b + 56, 1);
	t_put_be32(b + 96, 4);
	t_put_be32(b + 100, 112);
	return b;
}

static uint8_t *mk_v2(void)
{
	uint8_t *b = mk_v3();

	t_put_be32(b + 4, 2);
	memset(b + 72, 0, 40);
	return b;
}

/* write an extension at off; returns the offset after its padding */
static size_t put_ext(uint8_t *b, size_t off, uint32_t type, const void *data, uint32_t len)
{
	t_put_be32(b + off, type);
	t_put_be32(b + off + 4, len);
	if (len)
		memcpy(b + off + 8, data, len);
	return off + 8 + ((len + 7u) & ~7u);
}

/* clear the extension area and write one extension at 112 */
static void put_ext1(uint8_t *b, uint32_t type, const void *data, uint32_t len)
{
	memset(b + 112, 0, CL16 - 112);
	put_ext(b, 112, type, data, len);
}

static void put_feat(uint8_t *e, uint8_t type, uint8_t bit, const void *name, size_t len)
{
	memset(e, 0, 48);
	e[0] = type;
	e[1] = bit;
	memcpy(e + 2, name, len);
}

static const struct img_spec_entry *spec_find(const struct img_result *res, const char *key)
{
	unsigned depth = 0;

	for (unsigned i = 0; i < res->spec.n; i++) {
		const struct img_spec_entry *e = &res->spec.e[i];

		if (depth == 0 && e->key && strcmp(e->key, key) == 0)
			return e;
		if (e->type == IMG_SPEC_OBJ || e->type == IMG_SPEC_ARR)
			depth++;
		else if (e->type == IMG_SPEC_END)
			depth--;
	}
	return NULL;
}

/* the top-level keys, comma separated, in order */
static void spec_keys(const struct img_result *res, char *out, size_t outlen)
{
	unsigned depth = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < res->spec.n; i++) {
		const struct img_spec_entry *e = &res->spec.e[i];

		if (depth == 0 && e->key) {
			if (out[0])
				strncat(out, ",", outlen - strlen(out) - 1);
			strncat(out, e->key, outlen - strlen(out) - 1);
		}
		if (e->type == IMG_SPEC_OBJ || e->type == IMG_SPEC_ARR)
			depth++;
		else if (e->type == IMG_SPEC_END)
			depth--;
	}
}

static void assert_keys(const struct img_result *res, const char *want)
{
	char buf[512];

	spec_keys(res, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void assert_spec_str(const struct img_result *res, const char *key, const char *want)
{
	const struct img_spec_entry *e = spec_find(res, key);

	assert_non_null(e);
	assert_int_equal(e->type, IMG_SPEC_STR);
	assert_int_equal(e->v.str.len, strlen(want));
	assert_memory_equal(img_spec_strp(&res->spec, e), want, strlen(want));
}

static void assert_spec_bool(const struct img_result *res, const char *key, bool want)
{
	const struct img_spec_entry *e = spec_find(res, key);

	assert_non_null(e);
	assert_int_equal(e->type, IMG_SPEC_BOOL);
	assert_int_equal(e->v.b, want);
}

static void assert_spec_uint(const struct img_result *res, const char *key, uint64_t want)
{
	const struct img_spec_entry *e = spec_find(res, key);

	assert_non_null(e);
	assert_int_equal(e->type, IMG_SPEC_UINT);
	assert_int_equal(e->v.u, want);
}

static void assert_bytes(const struct img_bytes *b, const char *want)
{
	assert_true(b->present);
	assert_int_equal(b->len, strlen(want));
	assert_memory_equal(b->data, want, strlen(want));
	assert_int_equal(b->data[b->len], 0);
}

static void assert_damaged(const struct img_result *res, const char *why)
{
	assert_int_equal(res->format, IMG_FMT_QCOW2);
	assert_non_null(res->damaged);
	assert_string_equal(res->damaged, why);
}

static void assert_clean(const struct img_result *res)
{
	assert_int_equal(res->format, IMG_FMT_QCOW2);
	if (res->damaged)
		fail_msg("unexpectedly damaged: %s", res->damaged);
}

static const struct img_feature *feat(const struct img_result *res, enum img_feature_kind kind,
                                      unsigned bit)
{
	return img_find_feature((struct img_result *)res, kind, bit);
}

#define V3_KEYS "compat,compression-type,lazy-refcounts,refcount-bits,corrupt,extended-l2"

/* ---- real images ---------------------------------------------------------- */

static void test_fixture_v3(void **state)
{
	struct img_result *res = probe_fixture("qcow2-v3");

	(void)state;
	assert_clean(res);
	assert_true(res->has_version);
	assert_int_equal(res->version, 3);
	assert_true(res->has_virtual_size);
	assert_int_equal(res->virtual_size, 1073741824);
	assert_int_equal(res->cluster_size, 65536);
	assert_int_equal(res->header_length, 112);
	assert_string_equal(res->compat, "1.1");
	assert_int_equal(res->encryption, IMG_ENC_NONE);
	assert_false(res->backing_file.present);
	assert_false(res->backing_format.present);
	assert_false(res->data_file.present);
	assert_false(res->dirty);
	assert_false(res->corrupt);
	assert_true(res->has_snapshots);
	assert_int_equal(res->snapshots, 0);
	assert_false(res->has_bitmaps);
	assert_int_equal(res->n_features, 0);
	assert_string_equal(res->spec.type, "qcow2");
	assert_keys(res, V3_KEYS);
	assert_spec_str(res, "compat", "1.1");
	assert_spec_str(res, "compression-type", "zlib");
	assert_spec_bool(res, "lazy-refcounts", false);
	assert_spec_uint(res, "refcount-bits", 16);
	assert_spec_bool(res, "corrupt", false);
	assert_spec_bool(res, "extended-l2", false);
	assert_false(res->spec.overflow);
	free(res);
}

static void test_fixture_v2_backing(void **state)
{
	struct img_result *res = probe_fixture("qcow2-v2-backing");

	(void)state;
	assert_clean(res);
	assert_int_equal(res->version, 2);
	assert_int_equal(res->virtual_size, 67108864);
	assert_int_equal(res->cluster_size, 65536);
	assert_int_equal(res->header_length, 72);
	assert_string_equal(res->compat, "0.10");
	assert_bytes(&res->backing_file, "base.raw");
	assert_bytes(&res->backing_format, "raw");
	assert_int_equal(res->n_features, 0);
	assert_keys(res, "compat,compression-type,refcount-bits");
	assert_spec_str(res, "compat", "0.10");
	assert_spec_str(res, "compression-type", "zlib");
	assert_spec_uint(res, "refcount-bits", 16);
	free(res);
}

static void test_fixture_v3_backing(void **state)
{
	struct img_result *res = probe_fixture("qcow2-v3-backing");

	(void)state;
	assert_clean(res);
	assert_int_equal(res->version, 3);
	assert_int_equal(res->virtual_size, 67108864);
	assert_bytes(&res->backing_file, "base.raw");
	assert_bytes(&res->backing_format, "raw");
	assert_keys(res, V3_KEYS);
	free(res);

	res = probe_fixture("qcow2-v3-backing-nofmt");
	assert_clean(res);
	assert_bytes(&res->backing_file, "base.raw");
	assert_false(res->backing_format.present);
	free(res);
}

static void test_fixture_datafile(void **state)
{
	struct img_result *res = probe_fixture("qcow2-datafile-raw");

	(void)state;
	assert_clean(res);
	assert_bytes(&res->data_file, "/tmp/q2/data.raw");
	assert_false(res->backing_file.present);
	assert_int_equal(res->n_features, 2);
	assert_string_equal(feat(res, IMG_FEAT_INCOMPATIBLE, 2)->name, "external_data_file");
	assert_string_equal(feat(res, IMG_FEAT_AUTOCLEAR, 1)->name, "raw_external_data");
	assert_keys(res, "compat,compression-type,lazy-refcounts,refcount-bits,data-file,"
	                 "data-file-raw,corrupt,extended-l2");
	assert_spec_str(res, "data-file", "/tmp/q2/data.raw");
	assert_spec_bool(res, "data-file-raw", true);
	free(res);
}

static void test_fixture_encrypted(void **state)
{
	struct img_result *res = probe_fixture("qcow2-luks");
	const struct img_spec_entry *e;

	(void)state;
	assert_clean(res);
	assert_int_equal(res->encryption, IMG_ENC_LUKS);
	assert_int_equal(res->virtual_size, 16777216);
	assert_keys(res, "compat,compression-type,lazy-refcounts,refcount-bits,encrypt,corrupt,"
	                 "extended-l2");
	e = spec_find(res, "encrypt");
	assert_int_equal(e->type, IMG_SPEC_OBJ);
	assert_int_equal(e[1].type, IMG_SPEC_STR);
	assert_string_equal(e[1].key, "format");
	assert_memory_equal(img_spec_strp(&res->spec, &e[1]), "luks", 4);
	assert_int_equal(e[2].type, IMG_SPEC_END);
	free(res);

	res = probe_fixture("qcow2-aes");
	assert_clean(res);
	assert_int_equal(res->encryption, IMG_ENC_AES);
	e = spec_find(res, "encrypt");
	assert_non_null(e);
	assert_int_equal(e[1].v.str.len, 3);
	assert_memory_equal(img_spec_strp(&res->spec, &e[1]), "aes", 3);
	free(res);
}

static void test_fixture_bitmaps(void **state)
{
	struct img_result *res = probe_fixture("qcow2-bitmaps");

	(void)state;
	assert_clean(res);
	assert_true(res->has_bitmaps);
	assert_int_equal(res->bitmaps, 2);
	assert_int_equal(res->n_features, 1);
	assert_string_equal(feat(res, IMG_FEAT_AUTOCLEAR, 0)->name, "bitmaps");
	free(res);
}

static void test_fixture_features(void **state)
{
	struct img_result *res = probe_fixture("qcow2-v3-features");

	(void)state;
	assert_clean(res);
	assert_int_equal(res->virtual_size, 10737418240ull);
	assert_int_equal(res->cluster_size, 131072);
	assert_int_equal(res->n_features, 3);
	assert_string_equal(feat(res, IMG_FEAT_INCOMPATIBLE, 3)->name, "compression_type");
	assert_string_equal(feat(res, IMG_FEAT_INCOMPATIBLE, 4)->name, "extended_l2");
	assert_string_equal(feat(res, IMG_FEAT_COMPATIBLE, 0)->name, "lazy_refcounts");
	assert_keys(res, V3_KEYS);
	assert_spec_str(res, "compression-type", "zstd");
	assert_spec_bool(res, "lazy-refcounts", true);
	assert_spec_uint(res, "refcount-bits", 64);
	assert_spec_bool(res, "extended-l2", true);
	assert_spec_bool(res, "corrupt", false);
	free(res);
}

static void test_fixture_cluster_sizes(void **state)
{
	struct img_result *res = probe_fixture("qcow2-c512-rc1");

	(void)state;
	assert_clean(res);
	assert_int_equal(res->cluster_size, 512);
	assert_int_equal(res->virtual_size, 1024);
	assert_spec_uint(res, "refcount-bits", 1);
	free(res);

	res = probe_fixture("qcow2-c2m");
	assert_clean(res);
	assert_int_equal(res->cluster_size, 2097152);
	assert_int_equal(res->virtual_size, 1073741824);
	free(res);
}

static void test_fixture_dirty_corrupt(void **state)
{
	struct img_result *res = probe_fixture("qcow2-dirty-corrupt");

	(void)state;
	assert_clean(res); /* qemu-img info -U reads it */
	assert_true(res->dirty);
	assert_true(res->corrupt);
	assert_true(img_has_feature(res, "dirty"));
	assert_true(img_has_feature(res, "corrupt"));
	assert_true(img_has_feature(res, "lazy_refcounts"));
	assert_spec_bool(res, "corrupt", true);
	assert_spec_bool(res, "lazy-refcounts", true);
	free(res);
}

/* the generic loop takes the fixture as qcow2 */
static void test_fixture_generic_probe(void **state)
{
	struct img_result *res = t_result_new();
	struct t_sparse s;
	struct img_reader r;

	(void)state;
	t_sparse_load(&s, "qcow2-v2-backing", &r);
	assert_int_equal(img_probe(&r, res), 0);
	assert_int_equal(res->format, IMG_FMT_QCOW2);
	t_sparse_free(&s);
	free(res);
}

/* ---- versions ------------------------------------------------------------- */

static void test_versions(void **state)
{
	uint8_t *b = mk_v3();
	struct img_result *res;

	(void)state;
	for (uint32_t v = 0; v < 2; v++) {
		t_put_be32(b + 4, v);
		res = probe_buf(b, CL16);
		assert_int_equal(res->format, IMG_FMT_RAW);
		free(res);
		res = t_result_new();
		assert_int_equal(t_probe_copy(b, CL16, res), 0);
		assert_int_not_equal(res->format, IMG_FMT_QCOW2);
		free(res);
	}
	{
		static const uint32_t bad[] = { 4, 5, 0x7fffffff, 0xffffffff };

		for (size_t i = 0; i < IMG_ARRAY_SIZE(bad); i++) {
			t_put_be32(b + 4, bad[i]);
			res = probe_buf(b, CL16);
			assert_damaged(res, "Unsupported qcow2 version");
			assert_true(res->has_version);
			assert_int_equal(res->version, bad[i]);
			free(res);
		}
	}
	/* v2 ignores the v3 fields entirely, byte 104 included */
	free(b);
	b = mk_v2();
	t_put_be64(b + 72, 0xff);
	b[104] = 7;
	res = probe_buf(b, CL16);
	assert_clean(res);
	assert_int_equal(res->n_features, 0);
	assert_int_equal(res->header_length, 72);
	assert_spec_str(res, "compression-type", "zlib");
	free(res);
	free(b);
}

static void test_virtual_size(void **state)
{
	static const struct {
		uint64_t size, want;
	} t[] = {
		{ 0, 0 }, { 511, 0 }, { 1000, 512 }, { 1ull << 40, 1ull << 40 },
		{ UINT64_MAX, UINT64_MAX & ~511ull },
	};
	uint8_t *b = mk_v3();

	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(t); i++) {
		struct img_result *res;

		t_put_be64(b + 24, t[i].size);
		res = probe_buf(b, CL16);
		assert_true(res->has_virtual_size);
		assert_int_equal(res->virtual_size, t[i].want);
		free(res);
	}
	free(b);
}

/* ---- feature bits ----------------------------------------------------------- */

static void test_known_features(void **state)
{
	static const struct {
		unsigned off, bit;
		enum img_feature_kind kind;
		const char *name;
	} t[] = {
		{ 72, 0, IMG_FEAT_INCOMPATIBLE, "dirty" },
		{ 72, 1, IMG_FEAT_INCOMPATIBLE, "corrupt" },
		{ 72, 2, IMG_FEAT_INCOMPATIBLE, "external_data_file" },
		{ 72, 3, IMG_FEAT_INCOMPATIBLE, "compression_type" },
		{ 72, 4, IMG_FEAT_INCOMPATIBLE, "extended_l2" },
		{ 80, 0, IMG_FEAT_COMPATIBLE, "lazy_refcounts" },
		{ 88, 0, IMG_FEAT_AUTOCLEAR, "bitmaps" },
		{ 88, 1, IMG_FEAT_AUTOCLEAR, "raw_external_data" },
	};

	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(t); i++) {
		uint8_t *b = mk_v3();
		struct img_result *res;

		t_put_be64(b + t[i].off, 1ull << t[i].bit);
		if (t[i].off == 72 && t[i].bit == 3)
			b[104] = 1; /* consistent zstd */
		res = probe_buf(b, CL16);
		assert_int_equal(res->n_features, 1);
		assert_int_equal(res->features[0].kind, t[i].kind);
		assert_int_equal(res->features[0].bit, t[i].bit);
		assert_string_equal(res->features[0].name, t[i].name);
		assert_int_equal(res->features[0].table_name_len, 0);
		assert_int_equal(res->dirty, t[i].off == 72 && t[i].bit == 0);
		assert_int_equal(res->corrupt, t[i].off == 72 && t[i].bit == 1);
		if (t[i].off == 72 && t[i].bit == 2) {
			/* data-file-raw present (false) without a name ext, as qemu shows */
			assert_spec_bool(res, "data-file-raw", false);
			assert_null(spec_find(res, "data-file"));
		} else {
			assert_null(spec_find(res, "data-file-raw"));
		}
		assert_null(res->damaged);
		free(res);
		free(b);
	}
}

static void test_unknown_features(void **state)
{
	uint8_t *b = mk_v3();
	struct img_result *res;

	(void)state;
	t_put_be64(b + 72, 1ull << 5 | 1ull << 63);
	t_put_be64(b + 80, 1ull << 1 | 1ull << 63);
	t_put_be64(b + 88, 1ull << 2 | 1ull << 63);
	res = probe_buf(b, CL16);
	/* qemu refuses unknown incompatible bits; the feature list shows them */
	assert_int_equal(res->format, IMG_FMT_QCOW2);
	assert_string_equal(res->damaged, "Unsupported qcow2 feature(s)");
	assert_int_equal(res->n_features, 6);
	assert_int_equal(res->features[0].kind, IMG_FEAT_INCOMPATIBLE);
	assert_int_equal(res->features[0].bit, 5);
	assert_int_equal(res->features[1].bit, 63);
	assert_int_equal(res->features[2].kind, IMG_FEAT_COMPATIBLE);
	assert_int_equal(res->features[2].bit, 1);
	assert_int_equal(res->features[5].kind, IMG_FEAT_AUTOCLEAR);
	assert_int_equal(res->features[5].bit, 63);
	for (unsigned i = 0; i < res->n_features; i++) {
		assert_null(res->features[i].name);
		assert_int_equal(res->features[i].table_name_len, 0);
	}
	free(res);

	/* unknown compatible and autoclear bits alone: qemu opens the image */
	t_put_be64(b + 72, 0);
	res = probe_buf(b, CL16);
	assert_null(res->damaged);
	free(res);
	/* the highest known incompatible bit (extended_l2) alone: opened */
	t_put_be64(b + 72, 1ull << 4);
	res = probe_buf(b, CL16);
	assert_true(res->damaged == NULL || strcmp(res->damaged, "Unsupported qcow2 feature(s)") != 0);
	free(res);

	/* every bit of every kind */
	t_put_be64(b + 72, UINT64_MAX);
	t_put_be64(b + 80, UINT64_MAX);
	t_put_be64(b + 88, UINT64_MAX);
	b[104] = 1;
	res = probe_buf(b, CL16);
	assert_int_equal(res->n_features, 192);
	assert_true(res->dirty);
	assert_true(res->corrupt);
	free(res);
	free(b);
}

static void test_feature_table(void **state)
{
	uint8_t *b = mk_v3();
	uint8_t tbl[48 * 8];
	char name46[46], ctl[5] = { 'a', '\n', '\x1b', '\xff', 'z' };
	struct img_result *res;
	const struct img_feature *f;

	(void)state;
	memset(name46, 'N', sizeof(name46));
	put_feat(tbl + 0, 0, 0, "my dirty", 8);          /* known: never used */
	put_feat(tbl + 48, 0, 5, "zoned", 5);            /* unknown incompat */
	put_feat(tbl + 96, 1, 9, name46, 46);            /* no NUL at all */
	put_feat(tbl + 144, 2, 7, ctl, 5);               /* control bytes */
	put_feat(tbl + 192, 0, 5, "second", 6);          /* first one wins */
	put_feat(tbl + 240, 3, 5, "bad type", 8);        /* ignored */
	put_feat(tbl + 288, 0, 200, "bad bit", 7);       /* ignored */
	put_feat(tbl + 336, 2, 8, "a\0hidden", 8);       /* stops at NUL */
	put_ext(b, 112, 0x6803F857, tbl, sizeof(tbl));
	t_put_be64(b + 72, 1ull << 0 | 1ull << 5 | 1ull << 6);
	t_put_be64(b + 80, 1ull << 9);
	t_put_be64(b + 88, 1ull << 7 | 1ull << 8);
	res = probe_buf(b, CL16);
	/* refused (incompatible bits 5 and 6), and still named from the table */
	assert_string_equal(res->damaged, "Unsupported qcow2 feature(s)");
	f = feat(res, IMG_FEAT_INCOMPATIBLE, 0);
	assert_string_equal(f->name, "dirty");
	assert_int_equal(f->table_name_len, 0);
	f = feat(res, IMG_FEAT_INCOMPATIBLE, 5);
	assert_null(f->name);
	assert_int_equal(f->table_name_len, 5);
	assert_string_equal(f->table_name, "zoned");
	f = feat(res, IMG_FEAT_INCOMPATIBLE, 6); /* not in the table */
	assert_int_equal(f->table_name_len, 0);
	f = feat(res, IMG_FEAT_COMPATIBLE, 9);
	assert_int_equal(f->table_name_len, 46);
	assert_memory_equal(f->table_name, name46, 46);
	assert_int_equal(f->table_name[46], 0);
	f = feat(res, IMG_FEAT_AUTOCLEAR, 7);
	assert_int_equal(f->table_name_len, 5);
	assert_memory_equal(f->table_name, ctl, 5);
	f = feat(res, IMG_FEAT_AUTOCLEAR, 8);
	assert_int_equal(f->table_name_len, 1);
	assert_string_equal(f->table_name, "a");
	free(res);

	/* length not a multiple of 48: the partial entry is ignored */
	put_ext(b, 112, 0x6803F857, tbl, 48 * 2 + 47);
	memset(b + 112 + 8 + 48 * 2 + 47, 0, 64);
	res = probe_buf(b, CL16);
	assert_string_equal(res->damaged, "Unsupported qcow2 feature(s)");
	assert_int_equal(feat(res, IMG_FEAT_INCOMPATIBLE, 5)->table_name_len, 5);
	assert_int_equal(feat(res, IMG_FEAT_COMPATIBLE, 9)->table_name_len, 0);
	free(res);

	/* an entry with an empty name ends the table, as in qemu */
	put_feat(tbl + 48, 0, 0, "", 0);
	put_ext(b, 112, 0x6803F857, tbl, sizeof(tbl));
	res = probe_buf(b, CL16);
	assert_int_equal(feat(res, IMG_FEAT_INCOMPATIBLE, 5)->table_name_len, 0);
	assert_int_equal(feat(res, IMG_FEAT_COMPATIBLE, 9)->table_name_len, 0);
	free(res);

	/* lengths 0 and 47: no entry */
	put_ext1(b, 0x6803F857, tbl, 0);
	res = probe_buf(b, CL16);
	assert_string_equal(res->damaged, "Unsupported qcow2 feature(s)");
	assert_int_equal(feat(res, IMG_FEAT_INCOMPATIBLE, 5)->table_name_len, 0);
	free(res);
	free(b);
}

/* ---- snapshot entries in the head, without --deep ------------------------------ */

/* a snapshot table entry at off: id and name of 1 and 2 bytes; returns the next offset */
static size_t put_snap(uint8_t *b, size_t off, uint32_t extra)
{
	memset(b + off, 0, 40);
	t_put_be16(b + off + 12, 1);
	t_put_be16(b + off + 14, 2);
	t_put_be32(b + off + 36, extra);
	memcpy(b + off + 40 + (extra < 64 ? extra : 0), "1ab", extra < 64 ? 3 : 0);
	return (off + 40 + extra + 3 + 7) & ~(size_t)7;
}

static void test_snapshot_extra_shallow(void **state)
{
	uint8_t *b = mk_v3();
	struct img_result *res;
	size_t off;

	(void)state;
	t_put_be32(b + 20, 9); /* 512-byte clusters: the table sits in the head */
	t_put_be32(b + 60, 3);
	t_put_be64(b + 64, 0x1000);
	off = put_snap(b, 0x1000, 24);
	off = put_snap(b, off, 16);
	put_snap(b, off, 1024);
	res = probe_buf(b, CL16);
	assert_null(res->damaged);
	free(res);

	/* qemu: "Too much extra metadata in snapshot table entry 2" */
	put_snap(b, off, 1025);
	res = probe_buf(b, CL16);
	assert_string_equal(res->damaged, "Too much extra metadata in snapshot table entry");
	free(res);
	put_snap(b, off, 0xffffffffu);
	res = probe_buf(b, CL16);
	assert_string_equal(res->damaged, "Too much extra metadata in snapshot table entry");
	free(res);

	/* a count larger than the entries written: the rest read as zeros, clean */
	put_snap(b, off, 8);
	t_put_be32(b + 60, 100);
	res = probe_buf(b, CL16);
	assert_null(res->damaged);
	free(res);

	/* a table past the first 32 KiB is --deep's: not read here */
	t_put_be32(b + 60, 1);
	t_put_be64(b + 64, 0x8000);
	put_snap(b, 0x8000, 5000);
	res = probe_buf(b, CL16);
	assert_null(res->damaged);
	free(res);
	/* ... one in the last cluster before it is */
	t_put_be64(b + 64, 0x8000 - 512);
	put_snap(b, 0x8000 - 512, 5000);
	res = probe_buf(b, CL16);
	assert_string_equal(res->damaged, "Too much extra metadata in snapshot table entry");
	free(res);
	free(b);
}

/* ---- extensions ------------------------------------------------------------- */

static void test_backing_format_ext(void **state)
{
	uint8_t *b = mk_v3();
	struct img_result *res;
	size_t off;

	(void)state;
	off = put_ext(b, 112, 0xE2792ACA, "qcow2", 5);
	off = put_ext(b, off, 0, NULL, 0);
	memcpy(b + off, "b.img", 5);
	t_put_be64(b + 8, off);
	t_put_be32(b + 16, 5);
	res = probe_buf(b, CL16);
	assert_clean(res);
	assert_bytes(&res->backing_file, "b.img");
	assert_bytes(&res->backing_format, "qcow2");
	free(res);

	/* 15 bytes: fine (stored up to a NUL); 16: too long */
	put_ext(b, 112, 0xE2792ACA, "raw\0xxxxxxxxxxx", 15); /* ends exactly at 136 */
	res = probe_buf(b, CL16);
	assert_clean(res);
	assert_bytes(&res->backing_format, "raw");
	free(res);
	put_ext(b, 112, 0xE2792ACA, "0123456789abcdef", 16);
	res = probe_buf(b, CL16);
	assert_damaged(res, "Backing format name too long");
	free(res);
	/* huge length: runs past the end */
	t_put_be32(b + 116, 0xffffffff);
	res = probe_buf(b, CL16);
	assert_damaged(res, "Header extension too large");
	free(res);

	/* backing format without a backing file: qemu does not show it */
	t_put_be64(b + 8, 0);
	put_ext1(b, 0xE2792ACA, "raw", 3);
	res = probe_buf(b, CL16);
	assert_clean(res);
	assert_false(res->backing_file.present);
	assert_false(res->backing_format.present);
	free(res);
	free(b);
}

static void test_data_file_ext(void **state)
{
	uint8_t *b = mk_v3();
	struct img_result *res;
	char longname[2000];

	(void)state;
	put_ext1(b, 0x44415441, "/dev/sda\0/etc/shadow", 20);
	res = probe_buf(b, CL16);
	assert_clean(res);
	assert_bytes(&res->data_file, "/dev/sda");
	assert_spec_str(res, "data-file", "/dev/sda");
	assert_null(spec_find(res, "data-file-raw")); /* incompat bit 2 clear */
	free(res);

	put_ext1(b, 0x44415441, "\x01\"\\\n", 4);
	res = probe_buf(b, CL16);
	assert_bytes(&res->data_file, "\x01\"\\\n");
	free(res);

	/* empty: present, as qemu shows "data-file": "" */
	put_ext1(b, 0x44415441, NULL, 0);
	t_put_be32(b + 120, 0);
	res = probe_buf(b, CL16);
	assert_clean(res);
	assert_bytes(&res->data_file, "");
	assert_spec_str(res, "data-file", "");
	free(res);

	/* longer than IMG_STR_MAX - 1: truncated, no over-read */
	memset(longname, 'x', sizeof(longname));
	put_ext1(b, 0x44415441, longname, sizeof(longname));
	res = probe_buf(b, CL16);
	assert_clean(res);
	assert_int_equal(res->data_file.len, IMG_STR_MAX - 1);
	free(res);
	free(b);
}

static void test_crypto_ext(void **state)
{
	uint8_t *b = mk_v3();
	uint8_t fde[16];
	struct img_result *res;

	(void)state;
	t_put_be64(fde, 0x40000);
	t_put_be64(fde + 8, 0x1f9000);
	put_ext(b, 112, 0x0537BE77, fde, 16);
	t_put_be32(b + 32, 2);
	res = probe_buf(b, CL16);
	assert_clean(res);
	assert_int_equal(res->encryption, IMG_ENC_LUKS);
	free(res);

	/* LUKS without the extension (qemu-img 7.2 crashes on it) */
	t_put_be32(b + 112, 0);
	t_put_be32(b + 116, 0);
	res = probe_buf(b, CL16);
	assert_damaged(res, "LUKS encryption without a crypto header extension");
	assert_int_equal(res->encryption, IMG_ENC_LUKS);
	free(res);

	/* with AES or none */
	put_ext(b, 112, 0x0537BE77, fde, 16);
	t_put_be32(b + 32, 1);
	res = probe_buf(b, CL16);
	assert_damaged(res, "CRYPTO header extension only expected with LUKS encryption method");
	free(res);
	t_put_be32(b + 32, 0);
	res = probe_buf(b, CL16);
	assert_damaged(res, "CRYPTO header extension only expected with LUKS encryption method");
	free(res);

	/* wrong size, unaligned offset */
	t_put_be32(b + 32, 2);
	put_ext(b, 112, 0x0537BE77, fde, 15);
	res = probe_buf(b, CL16);
	assert_damaged(res, "CRYPTO header extension size is not 16");
	free(res);
	t_put_be64(fde, 0x40001);
	put_ext(b, 112, 0x0537BE77, fde, 16);
	res = probe_buf(b, CL16);
	assert_damaged(res, "Encryption header offset is not a multiple of cluster size");
	free(res);

	/* unsupported methods */
	t_put_be32(b + 112, 0);
	t_put_be32(b + 116, 0);
	for (uint32_t m = 3; m != 0; m = m == 3 ? 0xffffffff : 0) {
		t_put_be32(b + 32, m);
		res = probe_buf(b, CL16);
		assert_damaged(res, "Unsupported encryption method");
		assert_int_equal(res->encryption, IMG_ENC_NONE);
		assert_null(spec_find(res, "encrypt"));
		free(res);
	}
	free(b);
}

static void test_bitmaps_ext(void **state)
{
	uint8_t *b = mk_v3();
	uint8_t bm[24];
	struct img_result *res;

	(void)state;
	memset(bm, 0, sizeof(bm));
	t_put_be32(bm, 3);
	t_put_be64(bm + 8, 0x40);
	t_put_be64(bm + 16, 0x80000);
	put_ext(b, 112, 0x23852875, bm, 24);
	t_put_be64(b + 88, 1);
	res = probe_buf(b, CL16);
	assert_clean(res);
	assert_true(res->has_bitmaps);
	assert_int_equal(res->bitmaps, 3);
	free(res);

	/* without the autoclear bit: inconsistent, qemu ignores them */
	t_put_be64(b + 88, 0);
	res = probe_buf(b, CL16);
	assert_clean(res);
	assert_false(res->has_bitmaps);
	free(res);
	t_put_be64(b + 88, 1);

	t_put_be32(bm, 65535);
	put_ext(b, 112, 0x23852875, bm, 24);
	res = probe_buf(b, CL16);
	assert_clean(res);
	assert_int_equal(res->bitmaps, 65535);
	free(res);

	t_put_be32(bm, 65536);
	put_ext(b, 112, 0x23852875, bm, 24);
	res = probe_buf(b, CL16);
	assert_damaged(res, "bitmaps_ext: too many bitmaps");
	free(res);

	t_put_be32(bm, 0);
	put_ext(b, 112, 0x23852875, bm, 24);
	res = probe_buf(b, CL16);
	assert_damaged(res, "found bitmaps extension with zero bitmaps");
	free(res);

	t_put_be32(bm, 1);
	t_put_be32(bm + 4, 1);
	put_ext(b, 112, 0x23852875, bm, 24);
	res = probe_buf(b, CL16);
	assert_damaged(res, "bitmaps_ext: reserved32 field is not zero");
	free(res);

	t_put_be32(bm + 4, 0);
	t_put_be64(bm + 16, 0x80001);
	put_ext(b, 112, 0x23852875, bm, 24);
	res = probe_buf(b, CL16);
	assert_damaged(res, "bitmaps_ext: invalid dir offset");
	free(res);

	t_put_be64(bm + 16, 0x80000);
	t_put_be64(bm + 8, UINT64_MAX);
	put_ext(b, 112, 0x23852875, bm, 24);
	res = probe_buf(b, CL16);
	assert_damaged(res, "bitmaps_ext: bitmap directory size too large");
	free(res);

	put_ext(b, 112, 0x23852875, bm, 23);
	res = probe_buf(b, CL16);
	assert_damaged(res, "bitmaps_ext: Invalid extension length");
	free(res);
	free(b);
}

/* ---- hostile header fields ----------------------------------------------------- */

/* refcount table, snapshot table, L1 table: qemu's qcow2_validate_table */
static void test_tables(void **state)
{
	static const struct {
		unsigned off;
		uint64_t val;
		unsigned width; /* 4 or 8 */
		const char *why;
	} t[] = {
		{ 56, 0, 4, "Image does not contain a reference count table" },
		{ 56, 128, 4, NULL },  /* 8 MiB */
		{ 56, 129, 4, "Reference count table too large" },
		{ 56, 0xffffffff, 4, "Reference count table too large" },
		{ 48, 0x10001, 8, "Reference count table offset invalid" },
		{ 48, 0x7fffffffffff0000ull, 8, "Reference count table offset invalid" },
		{ 48, UINT64_MAX, 8, "Reference count table offset invalid" },
		{ 64, 0x10000, 8, NULL },
		{ 64, 0x10200, 8, "Snapshot table offset invalid" },
		{ 64, UINT64_MAX - 0xffff, 8, "Snapshot table offset invalid" },
		{ 36, 0, 4, "L1 table is too small" },
		{ 36, 1, 4, NULL },    /* 1 MiB needs one L1 entry */
		{ 36, 4194304, 4, NULL }, /* 32 MiB */
		{ 36, 4194305, 4, "Active L1 table too large" },
		{ 36, 0xffffffff, 4, "Active L1 table too large" },
		{ 40, 0x30008, 8, "Active L1 table offset invalid" },
		{ 40, 0x8000000000000000ull, 8, "Active L1 table offset invalid" },
		{ 24, 1ull << 50, 8, "L1 table is too small" },
		{ 24, UINT64_MAX, 8, "Image is too big" }, /* 2^35 L1 entries */
	};

	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(t); i++) {
		uint8_t *b = mk_v3();
		struct img_result *res;

		if (t[i].width == 4)
			t_put_be32(b + t[i].off, (uint32_t)t[i].val);
		else
			t_put_be64(b + t[i].off, t[i].val);
		res = probe_buf(b, CL16);
		if (t[i].why)
			assert_damaged(res, t[i].why);
		else
			assert_clean(res);
		free(res);
		free(b);
	}
	/* 512-byte clusters address at most INT_MAX L1 entries of 32 KiB: 64 TiB */
	{
		uint8_t *b = mk_v3();
		struct img_result *res;

		t_put_be32(b + 20, 9);
		t_put_be32(b + 36, 0x7fffffff); /* too large a table anyway */
		t_put_be64(b + 24, (uint64_t)0x80000000u << 15);
		res = probe_buf(b, CL16);
		assert_damaged(res, "Active L1 table too large");
		free(res);
		free(b);
	}
}

static void test_cluster_bits(void **state)
{
	static const struct {
		uint32_t bits;
		bool ok;
	} t[] = {
		{ 0, false }, { 8, false }, { 9, true }, { 16, true }, { 21, true },
		{ 22, false }, { 63, false }, { 64, false }, { 255, false }, { 0xffffffff, false },
	};

	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(t); i++) {
		uint8_t *b = mk_v3();
		struct img_result *res;

		t_put_be32(b + 20, t[i].bits);
		res = probe_buf(b, CL16);
		if (t[i].ok) {
			assert_clean(res);
			assert_int_equal(res->cluster_size, 1ull << t[i].bits);
		} else {
			assert_damaged(res, "Unsupported cluster size");
			assert_int_equal(res->cluster_size, 0);
		}
		free(res);
		free(b);
	}
}

static void test_header_length(void **state)
{
	static const struct {
		uint32_t len;
		const char *why;
	} t[] = {
		{ 0, "qcow2 header too short" },
		{ 72, "qcow2 header too short" },
		{ 103, "qcow2 header too short" },
		{ 104, NULL },
		{ 105, NULL }, /* qemu 7.2 does not enforce the multiple of 8 */
		{ 112, NULL },
		{ 65528, NULL },
		{ 65536, NULL }, /* the whole cluster: no extension room, no end marker */
		{ 65537, "qcow2 header exceeds cluster size" },
		{ 0x7fffffff, "qcow2 header exceeds cluster size" },
		{ 0xffffffff, "qcow2 header exceeds cluster size" },
	};

	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(t); i++) {
		uint8_t *b = mk_v3();
		struct img_result *res;

		/* the area after the header is zero: an end marker wherever the chain starts */
		t_put_be32(b + 100, t[i].len);
		res = probe_buf(b, CL16);
		if (t[i].why) {
			assert_damaged(res, t[i].why);
		} else {
			assert_clean(res);
		}
		assert_int_equal(res->header_length, t[i].len);
		free(res);
		free(b);
	}
}

static void test_compression_type(void **state)
{
	static const struct {
		uint32_t hlen;
		uint8_t byte;
		bool bit;
		const char *why, *name;
	} t[] = {
		{ 112, 0, false, NULL, "zlib" },
		{ 112, 1, true, NULL, "zstd" },
		{ 112, 1, false, "Compression type incompatible feature bit must be set", "zstd" },
		{ 112, 0, true, "Compression type incompatible feature bit must not be set", "zlib" },
		{ 112, 2, true, "unknown compression type", NULL },
		{ 112, 255, false, "unknown compression type", NULL },
		{ 104, 1, false, NULL, "zlib" }, /* field not present: byte 104 ignored */
		{ 104, 0, true, "Compression type incompatible feature bit must not be set", "zlib" },
		{ 105, 1, true, NULL, "zstd" },
	};

	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(t); i++) {
		uint8_t *b = mk_v3();
		struct img_result *res;

		t_put_be32(b + 100, t[i].hlen);
		b[104] = t[i].byte;
		t_put_be64(b + 72, t[i].bit ? 8 : 0);
		res = probe_buf(b, CL16);
		if (t[i].why)
			assert_damaged(res, t[i].why);
		else
			assert_clean(res);
		if (t[i].name)
			assert_spec_str(res, "compression-type", t[i].name);
		else
			assert_null(spec_find(res, "compression-type"));
		free(res);
		free(b);
	}
}

static void test_refcount_order(void **state)
{
	uint8_t *b = mk_v3();

	(void)state;
	for (uint32_t o = 0; o <= 8; o++) {
		struct img_result *res;

		t_put_be32(b + 96, o == 8 ? 0xffffffff : o);
		res = probe_buf(b, CL16);
		if (o <= 6) {
			assert_clean(res);
			assert_spec_uint(res, "refcount-bits", 1ull << o);
		} else {
			assert_damaged(res, "Reference count entry width too large");
			assert_null(spec_find(res, "refcount-bits"));
		}
		free(res);
	}
	free(b);
}

static void test_snapshots(void **state)
{
	static const uint32_t t[] = { 0, 1, 65536, 65537, 0xffffffff };
	uint8_t *b = mk_v3();

	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(t); i++) {
		struct img_result *res;

		t_put_be32(b + 60, t[i]);
		res = probe_buf(b, CL16);
		assert_true(res->has_snapshots);
		assert_int_equal(res->snapshots, t[i]);
		if (t[i] <= 65536)
			assert_clean(res);
		else
			assert_damaged(res, "Snapshot table too large");
		free(res);
	}
	free(b);
}

static void test_backing_name(void **state)
{
	static const struct {
		uint64_t off;
		uint32_t len;
		const char *why;
		const char *name; /* NULL: none shown */
	} t[] = {
		{ 0, 0xffffffff, NULL, NULL }, /* no backing file: len undefined */
		{ 1024, 4, NULL, "AAAA" },
		{ 1024, 0, NULL, NULL },          /* empty: qemu shows none */
		{ 1024, 1023, NULL, NULL },       /* checked below */
		{ 1024, 1024, "Backing file name too long", NULL },
		{ 65536 - 1023, 1023, NULL, NULL },
		{ 65536 - 1022, 1023, "Backing file name too long", NULL },
		{ 65536, 0, NULL, NULL },
		{ 65536, 1, "Backing file name too long", NULL },
		{ 65537, 0, "Invalid backing file offset", NULL },
		{ 65535, 0xffffffff, "Backing file name too long", NULL }, /* off+len overflows 32 bits */
		{ UINT64_MAX, 1, "Invalid backing file offset", NULL },
		{ UINT64_MAX - 3, 8, "Invalid backing file offset", NULL },
		{ 116, 4, "Header extension too large", NULL }, /* < 8 bytes of ext area */
		{ 120, 4, NULL, "AAAA" }, /* ext area exactly one end marker */
	};

	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(t); i++) {
		uint8_t *b = mk_v3();
		struct img_result *res;

		memset(b + 120, 'A', CL16 - 120);
		t_put_be64(b + 8, t[i].off);
		t_put_be32(b + 16, t[i].len);
		res = probe_buf(b, CL16);
		if (t[i].why)
			assert_damaged(res, t[i].why);
		else
			assert_clean(res);
		if (t[i].name) {
			assert_bytes(&res->backing_file, t[i].name);
		} else if (t[i].off == 1024 && t[i].len == 1023) {
			assert_true(res->backing_file.present);
			assert_int_equal(res->backing_file.len, 1023);
		} else if (t[i].off == 65536 - 1023 && t[i].len == 1023) {
			assert_int_equal(res->backing_file.len, 1023);
		} else {
			assert_false(res->backing_file.present);
		}
		free(res);
		free(b);
	}
}

static void test_backing_name_nul_and_eof(void **state)
{
	uint8_t *b = mk_v3();
	struct img_result *res;

	(void)state;
	memcpy(b + 1024, "base\0/etc/passwd", 16);
	t_put_be64(b + 8, 1024);
	t_put_be32(b + 16, 16);
	res = probe_buf(b, CL16);
	assert_clean(res);
	assert_bytes(&res->backing_file, "base");
	free(res);

	memcpy(b + 1024, "\033[2J\x7f\xff", 6);
	t_put_be32(b + 16, 6);
	res = probe_buf(b, CL16);
	assert_bytes(&res->backing_file, "\033[2J\x7f\xff");
	free(res);

	/* the volume ends inside the name: the rest reads as zeros (qemu) */
	memcpy(b + 1024, "abcdefgh", 8);
	t_put_be32(b + 16, 8);
	res = probe_buf(b, 1028);
	assert_clean(res);
	assert_bytes(&res->backing_file, "abcd");
	free(res);
	res = probe_buf(b, 1024);
	assert_false(res->backing_file.present);
	free(res);
	free(b);
}

/*
 * A 2 MiB cluster holding extension chains as long as the cluster allows:
 * qemu opens them all, so nothing is damaged, and the unknown feature bit
 * is named by the last entry of a table of 40,000.
 */
static void test_ext_chain_2m(void **state)
{
	const size_t cl = 2u << 20;
	uint8_t *b = calloc(1, cl + CL16), *hdr = mk_v3(), *tbl;
	struct img_result *res;
	const struct img_feature *f;
	size_t off;

	(void)state;
	assert_non_null(b);
	memcpy(b, hdr, 112);
	free(hdr);
	t_put_be32(b + 20, 21);
	/* 2000 empty extensions, then 300 of 2 KiB, then the end marker */
	for (off = 112; off < 112 + 2000 * 8; off += 8)
		t_put_be32(b + off, 0x22222222);
	for (unsigned i = 0; i < 300; i++) {
		t_put_be32(b + off, 0x33333333);
		t_put_be32(b + off + 4, 2048);
		off += 8 + 2048;
	}
	res = probe_buf(b, cl + CL16);
	assert_clean(res);
	free(res);

	/* 262,130 empty extensions: the whole cluster, no end marker */
	memset(b + 112, 0, cl - 112);
	for (off = 112; off + 8 <= cl; off += 8)
		t_put_be32(b + off, 0x22222222);
	res = probe_buf(b, cl + CL16);
	assert_clean(res);
	free(res);

	/* a feature-name table of 40,000 entries naming unknown bit 40 last */
	memset(b + 112, 0, cl - 112);
	t_put_be64(b + 80, 1ull << 40);
	t_put_be32(b + 112, 0x6803f857);
	t_put_be32(b + 116, 40000 * 48);
	tbl = b + 120;
	for (unsigned i = 0; i < 40000; i++)
		put_feat(tbl + (size_t)i * 48, 1, (uint8_t)(i == 39999 ? 40 : 41), "x", 1);
	memcpy(tbl + 39999 * 48 + 2, "last", 4);
	res = probe_buf(b, cl + CL16);
	assert_clean(res);
	f = feat(res, IMG_FEAT_COMPATIBLE, 40);
	assert_non_null(f);
	assert_int_equal(f->table_name_len, 4);
	assert_memory_equal(f->table_name, "last", 4);
	free(res);
	free(b);
}

static void test_ext_chain(void **state)
{
	uint8_t *b = mk_v3();
	struct img_result *res;
	uint8_t data[392];
	size_t off;

	(void)state;
	memset(data, 0xab, sizeof(data));

	/* 512-byte cluster: one unknown ext filling [112, 512) exactly, no end marker */
	t_put_be32(b + 20, 9);
	put_ext(b, 112, 0x12345678, data, 392);
	res = probe_buf(b, CL16);
	assert_clean(res);
	free(res);
	/* one byte more crosses the end */
	t_put_be32(b + 116, 393);
	res = probe_buf(b, CL16);
	assert_damaged(res, "Header extension too large");
	free(res);
	/* padding may run past the end: 389 bytes + 3 padding -> exactly 512 */
	t_put_be32(b + 116, 389);
	res = probe_buf(b, CL16);
	assert_clean(res);
	free(res);
	/* an extension header at 504 fits (len 0) */
	t_put_be32(b + 116, 384);
	t_put_be32(b + 504, 0x12345678);
	t_put_be32(b + 508, 0);
	res = probe_buf(b, CL16);
	assert_clean(res);
	free(res);
	/* header_length 108: the next header lands at 508 and crosses 512 */
	memset(b + 104, 0, 512 - 104);
	t_put_be32(b + 100, 108);
	put_ext(b, 108, 0x12345678, data, 385);
	res = probe_buf(b, CL16);
	assert_damaged(res, "Header extension too large");
	free(res);
	t_put_be32(b + 100, 112);
	memset(b + 104, 0, 512 - 104);

	/* ext lengths at overflow values */
	static const uint32_t lens[] = { 0xffffffff, 0xfffffff9, 0x80000000, 65536 - 120 + 1 };
	for (size_t i = 0; i < IMG_ARRAY_SIZE(lens); i++) {
		t_put_be32(b + 20, 16);
		t_put_be32(b + 112, 0x12345678);
		t_put_be32(b + 116, lens[i]);
		res = probe_buf(b, CL16);
		assert_damaged(res, "Header extension too large");
		free(res);
	}
	/* exactly to the end of a 64 KiB cluster */
	t_put_be32(b + 116, 65536 - 120);
	res = probe_buf(b, CL16);
	assert_clean(res);
	free(res);
	free(b);

	/*
	 * a chain of empty unknown extensions without an end marker: qemu has
	 * no count limit and stops at the end of the cluster
	 */
	b = mk_v3();
	for (off = 112; off + 8 <= CL16; off += 8)
		t_put_be32(b + off, 0x11111111);
	res = probe_buf(b, CL16);
	assert_clean(res);
	free(res);
	/* 1023 of them then the end marker: fine */
	t_put_be32(b + 112 + 1023 * 8, 0);
	res = probe_buf(b, CL16);
	assert_clean(res);
	free(res);
	free(b);

	/* the chain stops at the end marker: what follows is not read */
	b = mk_v3();
	off = put_ext(b, 112, 0, NULL, 0);
	put_ext(b, off, 0x44415441, "nope", 4);
	res = probe_buf(b, CL16);
	assert_clean(res);
	assert_false(res->data_file.present);
	free(res);
	free(b);
}

/* the volume ends inside the header or the extension area */
static void test_truncated(void **state)
{
	uint8_t *b = mk_v3();
	struct img_result *res;
	size_t off;

	(void)state;
	off = put_ext(b, 112, 0x44415441, "/data", 5);
	off = put_ext(b, off, 0x0537BE77, "0123456789abcdef", 16);
	t_put_be32(b + 32, 2);
	(void)off;

	for (size_t n = 0; n <= 200; n++) {
		res = t_result_new();
		assert_int_equal(t_probe_copy_format(b, n, IMG_FMT_QCOW2, res), 0);
		if (n < 8) {
			assert_int_equal(res->format, IMG_FMT_RAW);
		} else {
			assert_int_equal(res->format, IMG_FMT_QCOW2);
			assert_true(res->has_version);
			if (n < 104)
				assert_damaged(res, "Truncated qcow2 header");
		}
		free(res);
	}
	/* ext header cut in the middle: truncated; starting at the end: end marker */
	res = probe_buf(b, 116);
	assert_damaged(res, "Truncated qcow2 header");
	free(res);
	res = probe_buf(b, 112);
	assert_damaged(res, "LUKS encryption without a crypto header extension");
	free(res);
	/* crypto ext data cut */
	res = probe_buf(b, 136);
	assert_damaged(res, "Truncated qcow2 header");
	free(res);
	/* data file name cut: stops at the end of the volume */
	res = probe_buf(b, 123);
	assert_bytes(&res->data_file, "/da");
	free(res);
	free(b);

	/* v2 needs 72 bytes */
	b = mk_v2();
	res = probe_buf(b, 71);
	assert_damaged(res, "Truncated qcow2 header");
	free(res);
	res = probe_buf(b, 72);
	assert_clean(res);
	free(res);
	free(b);
}

static void test_truncation_sweep(void **state)
{
	static const char *const names[] = {
		"qcow2-v3-backing.head", "qcow2-datafile-raw.head", "qcow2-luks.head",
		"qcow2-bitmaps.head", "qcow2-v2-backing.head",
	};

	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(names); i++) {
		size_t len;
		uint8_t *buf = t_fixture(names[i], &len);

		/* the name and the extensions lie within the first KiB */
		t_truncation_sweep(buf, len < 1024 ? len : 1024);
		free(buf);
	}
}

/* hostile images built from a real header: random single-field pokes */
static void test_poke_fixture(void **state)
{
	static const unsigned offs[] = { 4, 8, 16, 20, 24, 32, 60, 72, 80, 88, 96, 100, 104,
	                                 0x74, 0x7c, 0x80 };
	static const uint32_t vals[] = { 0, 1, 7, 8, 104, 0x7fffffff, 0x80000000, 0xffffffff };
	size_t len;
	uint8_t *orig = t_fixture("qcow2-v3-backing.head", &len);
	uint8_t *b = malloc(len);

	(void)state;
	assert_non_null(b);
	for (size_t i = 0; i < IMG_ARRAY_SIZE(offs); i++) {
		for (size_t j = 0; j < IMG_ARRAY_SIZE(vals); j++) {
			struct img_result *res = t_result_new();

			memcpy(b, orig, len);
			t_put_be32(b + offs[i], vals[j]);
			assert_int_equal(t_probe_copy_format(b, len, IMG_FMT_QCOW2, res), 0);
			assert_true(res->format == IMG_FMT_QCOW2 || res->format == IMG_FMT_RAW);
			assert_false(res->spec.overflow);
			free(res);
		}
	}
	free(b);
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_v3),
		cmocka_unit_test(test_fixture_v2_backing),
		cmocka_unit_test(test_fixture_v3_backing),
		cmocka_unit_test(test_fixture_datafile),
		cmocka_unit_test(test_fixture_encrypted),
		cmocka_unit_test(test_fixture_bitmaps),
		cmocka_unit_test(test_fixture_features),
		cmocka_unit_test(test_fixture_cluster_sizes),
		cmocka_unit_test(test_fixture_dirty_corrupt),
		cmocka_unit_test(test_fixture_generic_probe),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_virtual_size),
		cmocka_unit_test(test_known_features),
		cmocka_unit_test(test_unknown_features),
		cmocka_unit_test(test_feature_table),
		cmocka_unit_test(test_snapshot_extra_shallow),
		cmocka_unit_test(test_backing_format_ext),
		cmocka_unit_test(test_data_file_ext),
		cmocka_unit_test(test_crypto_ext),
		cmocka_unit_test(test_bitmaps_ext),
		cmocka_unit_test(test_cluster_bits),
		cmocka_unit_test(test_header_length),
		cmocka_unit_test(test_compression_type),
		cmocka_unit_test(test_refcount_order),
		cmocka_unit_test(test_snapshots),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_backing_name),
		cmocka_unit_test(test_backing_name_nul_and_eof),
		cmocka_unit_test(test_ext_chain),
		cmocka_unit_test(test_ext_chain_2m),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_truncation_sweep),
		cmocka_unit_test(test_poke_fixture),
	};

	return T_RUN(tests);
}
