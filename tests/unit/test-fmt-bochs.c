/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the Bochs probe (fmt-bochs.c).  Expected values were
 * measured with qemu-img 7.2.22 `info --output=json` on bximage 2.7 images
 * and on copies patched the same way (fixtures/README; iotest 078 pokes the
 * same fields).
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void test_fixtures(void **state)
{
	static const struct {
		const char *name;
		uint64_t vsize;
	} fx[] = { { "bochs-10M.head", 10321920 }, { "bochs-1G.head", 1073479680 } };

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(fx); i++) {
		size_t len;
		uint8_t *b = t_fixture(fx[i].name, &len);
		struct img_result *res = t_probe_buf(b, len);

		assert_int_equal(res->format, IMG_FMT_BOCHS);
		assert_int_equal(res->n_candidates, 0);
		assert_true(res->has_version);
		assert_int_equal(res->version, 0x00020000);
		assert_true(res->version_dotted);
		assert_int_equal(res->virtual_size, fx[i].vsize);
		assert_int_equal(res->cluster_size, 0);
		assert_false(res->backing_file.present);
		assert_null(res->damaged);
		assert_null(res->spec.type);
		free(res);
		free(b);
	}
}

/* version 1 keeps the disk size at 84 */
static void test_v1(void **state)
{
	size_t len;
	uint8_t *b = t_fixture("bochs-10M.head", &len);
	struct img_result *res;

	(void)state;
	t_put_le32(b + 64, 0x00010000);
	t_put_le64(b + 84, 1048576);
	res = t_probe_buf(b, len);
	assert_int_equal(res->format, IMG_FMT_BOCHS);
	assert_int_equal(res->version, 0x00010000);
	assert_true(res->version_dotted);
	assert_int_equal(res->virtual_size, 1048576);
	assert_null(res->damaged);
	free(res);
	/* the v2 size field read as v1 (low word 0 at 84): too small catalog? no: 0 */
	t_put_le64(b + 84, 10321920);
	t_put_le64(b + 88, 0);
	res = t_probe_buf(b, len);
	assert_int_equal(res->virtual_size, 10321920);
	assert_null(res->damaged);
	free(res);
	free(b);
}

/* qemu's probe strcmp()s three fields and checks the version: else raw */
static void test_not_bochs(void **state)
{
	static const struct {
		unsigned off;
		const char *s;
	} pokes[] = { { 22, "X" }, { 39, "X" }, { 55, "X" }, { 0, "b" }, { 48, "Undoable" },
		      { 32, "Redolog2" } };
	size_t len;
	uint8_t *orig = t_fixture("bochs-10M.head", &len);
	uint8_t *b = malloc(len);
	struct img_result *res = t_result_new();

	(void)state;
	assert_non_null(b);
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(pokes); i++) {
		memcpy(b, orig, len);
		memcpy(b + pokes[i].off, pokes[i].s, strlen(pokes[i].s));
		assert_int_equal(t_probe_copy(b, len, res), 0);
		assert_int_equal(res->format, IMG_FMT_RAW);
	}
	memcpy(b, orig, len);
	t_put_le32(b + 64, 0x00030000);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	/* bytes after the NUL of a field do not matter */
	memcpy(b, orig, len);
	b[23] = 'X';
	b[40] = 'X';
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->format, IMG_FMT_BOCHS);
	free(res);
	free(b);
	free(orig);
}

static void test_hostile_fields(void **state)
{
	static const struct t_poke pokes[] = {
		{ 72, 4, 0x100000, NULL, 10321920 },
		{ 72, 4, 0x100001, "Catalog size is too large", 0 },
		{ 72, 4, 0xffffffffu, "Catalog size is too large", 0 },
		{ 72, 4, 0, "Catalog size is too small for this disk size", 0 },
		{ 72, 4, 39, "Catalog size is too small for this disk size", 0 },
		{ 80, 4, 0, "Extent size must be at least 512", 0 },
		{ 80, 4, 256, "Extent size must be at least 512", 0 },
		{ 80, 4, 512, "Catalog size is too small for this disk size", 0 },
		{ 80, 4, 0x6000, "Extent size is not a power of two", 0 },
		{ 80, 4, 0xffffffffu, "Extent size is not a power of two", 0 },
		{ 80, 4, 0x800000, NULL, 10321920 },
		{ 80, 4, 0x1000000, "Extent size is too large", 0 },
		{ 80, 4, 0x80000000u, "Extent size is too large", 0 },
		{ 88, 8, 1000, NULL, 512 },
		{ 88, 8, 0, NULL, 0 },
		{ 88, 8, 10486271, NULL, 10485760 },
		{ 88, 8, 0xffffffffffffffffull, "Catalog size is too small for this disk size", 0 },
		{ 68, 4, 0xffffffffu, NULL, 10321920 }, /* header offset: catalog read past EOF */
		{ 76, 4, 0, NULL, 10321920 },
		{ 76, 4, 0xffffffffu, NULL, 10321920 },
	};

	(void)state;
	/* 4 or 8 bytes, little-endian */
	t_poke_run("bochs-10M.head", IMG_FMT_BOCHS, false, 0, pokes, IMG_ARRAY_SIZE(pokes));
}

static void test_truncation(void **state)
{
	size_t len;
	uint8_t *b = t_fixture("bochs-10M.head", &len);
	struct img_result *res = t_result_new();

	(void)state;
	t_truncation_edge(b, len, 512, IMG_FMT_BOCHS, res);
	free(res);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_not_bochs),
		cmocka_unit_test(test_hostile_fields),
		cmocka_unit_test(test_truncation),
	};

	return T_RUN(tests);
}
