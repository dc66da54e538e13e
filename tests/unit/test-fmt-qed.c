/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the QED probe (fmt-qed.c).  Expected values were measured
 * with qemu-img 7.2.22 `info --output=json` on the fixtures and on copies
 * patched the same way (fixtures/README).
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define QED_FILE_SIZE 327680 /* the .size of the qed-* fixtures */

static void test_plain(void **state)
{
	struct img_result *res = t_probe_fixture("qed-1G");

	(void)state;
	assert_int_equal(res->format, IMG_FMT_QED);
	assert_int_equal(res->n_candidates, 0);
	assert_false(res->has_version);
	assert_int_equal(res->virtual_size, 1073741824ull);
	assert_int_equal(res->cluster_size, 65536);
	assert_false(res->backing_file.present);
	assert_false(res->dirty);
	assert_int_equal(res->n_features, 0);
	assert_null(res->damaged);
	assert_null(res->spec.type);
	free(res);
}

static void test_backing_raw(void **state)
{
	struct img_result *res = t_probe_fixture("qed-backing-raw");

	(void)state;
	assert_int_equal(res->format, IMG_FMT_QED);
	assert_int_equal(res->virtual_size, 67108864ull);
	assert_int_equal(res->backing_file.len, 8);
	assert_memory_equal(res->backing_file.data, "base.raw", 8);
	assert_true(res->backing_format.present);
	assert_string_equal(res->backing_format.data, "raw");
	assert_true(img_has_feature(res, "backing_file"));
	assert_true(img_has_feature(res, "backing_format_no_probe"));
	assert_null(res->damaged);
	free(res);
}

/* an empty backing name: qemu-img shows neither a backing file nor "raw" */
static void test_backing_raw_empty_name(void **state)
{
	size_t len;
	uint8_t *b = t_fixture("qed-backing-raw.head", &len);
	struct img_result *res = t_probe_sized(b, len, 327680);

	(void)state;
	assert_int_equal(res->format, IMG_FMT_QED);
	assert_true(res->backing_format.present);
	free(res);
	assert_true(len >= 64);
	t_put_le32(b + 60, 0);
	res = t_probe_sized(b, len, 327680);
	assert_int_equal(res->format, IMG_FMT_QED);
	assert_false(res->backing_file.present);
	assert_false(res->backing_format.present);
	assert_null(res->damaged);
	free(res);
	free(b);
}

static void test_backing_probed(void **state)
{
	struct img_result *res = t_probe_fixture("qed-backing");

	(void)state;
	assert_int_equal(res->backing_file.len, 9);
	assert_memory_equal(res->backing_file.data, "base.qcow", 9);
	assert_false(res->backing_format.present);
	assert_null(res->damaged);
	free(res);
}

/* qemu-img 7.2 creates table_size=1 images that it refuses to open */
static void test_table1(void **state)
{
	struct img_result *res = t_probe_fixture("qed-table1");

	(void)state;
	assert_int_equal(res->format, IMG_FMT_QED);
	assert_int_equal(res->cluster_size, 4096);
	assert_int_equal(res->virtual_size, 16777216ull);
	assert_string_equal(res->damaged, "QED table offset is invalid");
	free(res);
}

static void test_need_check(void **state)
{
	size_t len;
	uint8_t *b = t_fixture("qed-1G.head", &len);
	struct img_result *res;

	(void)state;
	t_put_le64(b + 16, 0x2);
	res = t_probe_sized(b, len, QED_FILE_SIZE);
	assert_true(res->dirty);
	assert_true(img_has_feature(res, "need_check"));
	assert_null(res->damaged);
	free(res);
	/* NO_PROBE without BACKING_FILE: no backing, no format */
	t_put_le64(b + 16, 0x4);
	res = t_probe_sized(b, len, QED_FILE_SIZE);
	assert_false(res->backing_format.present);
	assert_null(res->damaged);
	free(res);
	free(b);
}

/* qemu-img 7.2.22 verdicts for every field at its boundaries */
static void test_hostile_fields(void **state)
{
	static const struct t_poke pokes[] = {
		{ 16, 8, 0x8, "Unsupported QED features", 0 },
		{ 16, 8, 0x8000000000000000ull, "Unsupported QED features", 0 },
		{ 24, 8, 0xffffffffffffffffull, NULL, T_POKE_ANY_SIZE }, /* compat: ignored */
		{ 32, 8, 0xffffffffffffffffull, NULL, T_POKE_ANY_SIZE }, /* autoclear: ignored */
		{ 4, 4, 0, "QED cluster size is invalid", 0 },
		{ 4, 4, 2048, "QED cluster size is invalid", 0 },
		{ 4, 4, 0x3000, "QED cluster size is invalid", 0 },
		{ 4, 4, 0x8000000, "QED cluster size is invalid", 0 },
		{ 4, 4, 0xffffffffu, "QED cluster size is invalid", 0 },
		{ 4, 4, 4096, NULL, T_POKE_ANY_SIZE },
		{ 4, 4, 0x4000000, "QED image size is invalid", 0 }, /* max size wraps to 0 */
		{ 8, 4, 0, "QED table size is invalid", 0 },
		{ 8, 4, 3, "QED table size is invalid", 0 },
		{ 8, 4, 32, "QED table size is invalid", 0 },
		{ 8, 4, 0xffffffffu, "QED table size is invalid", 0 },
		{ 8, 4, 1, "QED table offset is invalid", 0 },
		{ 8, 4, 16, "QED table offset is invalid", 0 }, /* past the end of file */
		{ 48, 8, 1000, "QED image size is invalid", 0 },
		{ 48, 8, 0, NULL, T_POKE_ANY_SIZE },
		{ 48, 8, 0x400000000000ull, NULL, T_POKE_ANY_SIZE },
		{ 48, 8, 0x400000000200ull, "QED image size is invalid", 0 },
		{ 48, 8, 0xffffffffffffff00ull, "QED image size is invalid", 0 },
		{ 40, 8, 0, "QED table offset is invalid", 0 },
		{ 40, 8, 0x10001, "QED table offset is invalid", 0 },
		{ 40, 8, 0x40000, "QED table offset is invalid", 0 },
		{ 40, 8, 0x50000, "QED table offset is invalid", 0 },
		{ 40, 8, 0xffffffffffff0000ull, "QED table offset is invalid", 0 },
		{ 12, 4, 0, NULL, T_POKE_ANY_SIZE },
		{ 12, 4, 4, "QED table offset is invalid", 0 },
		{ 12, 4, 0xffffffffu, "QED table offset is invalid", 0 },
	};

	(void)state;
	/* 4 or 8 bytes, little-endian, in a volume of the fixtures' size */
	t_poke_run("qed-1G.head", IMG_FMT_QED, false, QED_FILE_SIZE, pokes, IMG_ARRAY_SIZE(pokes));
}

/* a header_size * cluster_size above 32 bits: only reachable past 4 GiB */
static void test_header_size_overflow(void **state)
{
	size_t len;
	uint8_t *b = t_fixture("qed-1G.head", &len);
	struct img_result *res;

	(void)state;
	t_put_le32(b + 12, 0x10000);          /* 0x10000 * 64 KiB = 2^32 */
	t_put_le64(b + 40, 0x100000000ull); /* L1 at 4 GiB */
	res = t_probe_sized(b, len, 0x200000000ull);
	assert_string_equal(res->damaged, "QED header size is too large");
	free(res);
	/* 0xffff clusters fit: the L1 table behind them is fine */
	t_put_le32(b + 12, 0xffff);
	t_put_le64(b + 40, 0xffff0000ull);
	res = t_probe_sized(b, len, 0x200000000ull);
	assert_null(res->damaged);
	free(res);
	/* a virtual size past qemu's BDRV_MAX_LENGTH (2 MiB clusters, table 8) */
	t_put_le32(b + 12, 1);
	t_put_le32(b + 4, 0x200000);
	t_put_le32(b + 8, 8);
	t_put_le64(b + 40, 0x200000);
	t_put_le64(b + 48, 0x8000000000000000ull);
	res = t_probe_sized(b, len, 0x10000000ull);
	assert_string_equal(res->damaged, "Could not refresh total sector count: File too large");
	free(res);
	t_put_le64(b + 48, 0x7fffffffc0000000ull);
	res = t_probe_sized(b, len, 0x10000000ull);
	assert_null(res->damaged);
	free(res);
	free(b);
}

static void test_hostile_backing(void **state)
{
	size_t len;
	uint8_t *orig = t_fixture("qed-backing.head", &len);
	uint8_t *b = malloc(len);
	struct img_result *res;

	(void)state;
	assert_non_null(b);
	memcpy(b, orig, len);
	/* offset 0 reads the magic: "QED" */
	t_put_le32(b + 56, 0);
	res = t_probe_sized(b, len, QED_FILE_SIZE);
	assert_int_equal(res->backing_file.len, 3);
	assert_memory_equal(res->backing_file.data, "QED", 3);
	free(res);
	/* the name must end inside the header cluster(s) */
	t_put_le32(b + 56, 65530);
	t_put_le32(b + 60, 6);
	res = t_probe_sized(b, len, QED_FILE_SIZE);
	assert_null(res->damaged);
	assert_false(res->backing_file.present); /* zeros */
	free(res);
	t_put_le32(b + 56, 65535);
	res = t_probe_sized(b, len, QED_FILE_SIZE);
	assert_string_equal(res->damaged, "QED backing filename offset is invalid");
	free(res);
	t_put_le32(b + 56, 0xffffffffu);
	t_put_le32(b + 60, 0xffffffffu);
	res = t_probe_sized(b, len, QED_FILE_SIZE);
	assert_string_equal(res->damaged, "QED backing filename offset is invalid");
	free(res);
	/* size 4095 is fine, 4096 overflows qemu's buffer */
	memcpy(b, orig, len);
	t_put_le32(b + 60, 4095);
	res = t_probe_sized(b, len, QED_FILE_SIZE);
	assert_null(res->damaged);
	assert_int_equal(res->backing_file.len, 9);
	free(res);
	t_put_le32(b + 60, 4096);
	res = t_probe_sized(b, len, QED_FILE_SIZE);
	assert_string_equal(res->damaged, "Failed to read backing filename");
	free(res);
	/* header_size 0: no room for any name */
	memcpy(b, orig, len);
	t_put_le32(b + 12, 0);
	res = t_probe_sized(b, len, QED_FILE_SIZE);
	assert_string_equal(res->damaged, "QED backing filename offset is invalid");
	free(res);
	/* size 0: no backing file */
	memcpy(b, orig, len);
	t_put_le32(b + 60, 0);
	res = t_probe_sized(b, len, QED_FILE_SIZE);
	assert_null(res->damaged);
	assert_false(res->backing_file.present);
	free(res);
	/* the name runs past the end of a short volume: zeros */
	memcpy(b, orig, len);
	res = t_probe_sized(b, 66, 66);
	assert_string_equal(res->damaged, "QED table offset is invalid");
	free(res);
	free(b);
	free(orig);
}

static void test_truncation(void **state)
{
	static const char *const names[] = { "qed-1G.head", "qed-backing.head",
		                             "qed-backing-raw.head", "qed-table1.head" };
	struct img_result *res = t_result_new();

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(names); i++) {
		size_t len;
		uint8_t *b = t_fixture(names[i], &len);

		/* 64 bytes: QED, but the L1 table is past the end */
		t_truncation_edge(b, len, 64, IMG_FMT_QED, res);
		assert_non_null(res->damaged);
		free(b);
	}
	free(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_backing_raw),
		cmocka_unit_test(test_backing_raw_empty_name),
		cmocka_unit_test(test_backing_probed),
		cmocka_unit_test(test_table1),
		cmocka_unit_test(test_need_check),
		cmocka_unit_test(test_hostile_fields),
		cmocka_unit_test(test_header_size_overflow),
		cmocka_unit_test(test_hostile_backing),
		cmocka_unit_test(test_truncation),
	};

	return T_RUN(tests);
}
