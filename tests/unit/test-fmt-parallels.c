/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the Parallels probe (fmt-parallels.c).  Expected values
 * were measured with qemu-img 7.2.22 `info --output=json` on the fixtures
 * and on copies patched the same way (fixtures/README; iotest 076 pokes the
 * same fields).
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define PRL_FILE_SIZE 1048576 /* parallels-1G.size */

static void check_1g(struct img_result *res)
{
	assert_int_equal(res->format, IMG_FMT_PARALLELS);
	assert_int_equal(res->n_candidates, 0);
	assert_true(res->has_version);
	assert_int_equal(res->version, 2);
	assert_int_equal(res->virtual_size, 1073741824ull);
	assert_int_equal(res->cluster_size, 0); /* qemu-img prints none */
	assert_false(res->backing_file.present);
	assert_false(res->dirty);
	assert_null(res->damaged);
	assert_null(res->spec.type);
}

static void test_fixtures(void **state)
{
	static const char *const names[] = { "parallels-1G", "parallels-64k", "parallels-old" };

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(names); i++) {
		struct img_result *res = t_probe_fixture(names[i]);

		check_1g(res);
		free(res);
	}
}

static void test_not_parallels(void **state)
{
	size_t len;
	uint8_t *b = t_fixture("parallels-1G.head", &len);
	struct img_result *res = t_result_new();

	(void)state;
	/* qemu: version != 2 is raw */
	t_put_le32(b + 16, 1);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	t_put_le32(b + 16, 3);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	free(res);
	free(b);
}

/* 4 or 8 bytes, little-endian, in a volume of the fixture's size */
static void run_pokes(const char *fixture, const struct t_poke *pokes, size_t n)
{
	t_poke_run(fixture, IMG_FMT_PARALLELS, false, PRL_FILE_SIZE, pokes, n);
}

static void test_hostile_new(void **state)
{
	static const struct t_poke pokes[] = {
		{ 28, 4, 0, "Invalid image: Zero sectors per track", 0 },
		{ 28, 4, 1, NULL, 1073741824ull },
		{ 28, 4, 4186127, NULL, 1073741824ull },
		{ 28, 4, 4186128, "Invalid image: Too big cluster", 0 },
		{ 28, 4, 0xffffffffu, "Invalid image: Too big cluster", 0 },
		{ 32, 4, 0, NULL, 1073741824ull },
		{ 32, 4, 0x1000000, NULL, 1073741824ull },
		{ 32, 4, 0x1fffff70, NULL, 1073741824ull },
		{ 32, 4, 0x1fffff71, "Input/output error", 0 },
		{ 32, 4, 0x1fffffff, "Input/output error", 0 },
		{ 32, 4, 0x20000000, "Catalog too large", 0 },
		{ 32, 4, 0xffffffffu, "Catalog too large", 0 },
		{ 36, 8, 0, NULL, 0 },
		{ 36, 8, 1, NULL, 512 },
		{ 36, 8, 0x100000001ull, NULL, 0x100000001ull * 512 },
		{ 36, 8, 0x3fffffffe00000ull, NULL, 0x3fffffffe00000ull * 512 },
		{ 36, 8, 0x3fffffffe00001ull,
		  "Could not refresh total sector count: File too large", 0 },
		{ 36, 8, 0xffffffffffffffffull,
		  "Could not refresh total sector count: File too large", 0 },
		{ 44, 4, 0x312E3276, NULL, 1073741824ull },
		{ 48, 4, 0xffffffffu, NULL, 1073741824ull }, /* data_off unchecked */
		{ 52, 4, 0xffffffffu, NULL, 1073741824ull }, /* flags unchecked */
		{ 56, 8, 1, "Wrong parallels Format Extension magic", 0 },
		{ 56, 8, 0x100000, "Wrong parallels Format Extension magic", 0 }, /* past EOF */
		{ 56, 8, 0xffffffffffffffffull, "Format Extension offset is invalid", 0 },
		{ 56, 8, 0x40000000000000ull, "Format Extension offset is invalid", 0 },
	};

	(void)state;
	run_pokes("parallels-1G.head", pokes, IMG_ARRAY_SIZE(pokes));
}

static void test_hostile_old(void **state)
{
	static const struct t_poke pokes[] = {
		/* the old magic keeps only the low 32 bits of nb_sectors */
		{ 36, 8, 0x100000001ull, NULL, 512 },
		{ 36, 8, 0xffffffffffffffffull, NULL, 0xffffffffull * 512 },
		{ 28, 4, 0, "Invalid image: Zero sectors per track", 0 },
		{ 28, 4, 0xffffffffu, "Invalid image: Too big cluster", 0 },
	};

	(void)state;
	run_pokes("parallels-old.head", pokes, IMG_ARRAY_SIZE(pokes));
}

static void test_in_use_and_ext(void **state)
{
	size_t len;
	uint8_t *b = t_fixture("parallels-1G.head", &len);
	struct img_result *res;

	(void)state;
	t_put_le32(b + 44, 0x746F6E59);
	res = t_probe_sized(b, len, PRL_FILE_SIZE);
	assert_null(res->damaged);
	assert_true(img_has_feature(res, "in_use"));
	assert_false(res->dirty);
	free(res);

	/* a format extension cluster with the right magic at sector 8 */
	t_put_le64(b + 56, 8);
	t_put_le64(b + 4096, 0xAB234CEF23DCEA87ull);
	res = t_probe_sized(b, len, PRL_FILE_SIZE);
	assert_null(res->damaged);
	free(res);
	/* the magic cut by the end of the volume: zeros for the rest */
	res = t_probe_sized(b, 4100, 4100);
	assert_string_equal(res->damaged, "Wrong parallels Format Extension magic");
	free(res);
	free(b);
}

static void test_truncation(void **state)
{
	static const char *const names[] = { "parallels-1G.head", "parallels-old.head" };
	struct img_result *res = t_result_new();

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(names); i++) {
		size_t len;
		uint8_t *b = t_fixture(names[i], &len);

		t_truncation_edge(b, 1024, 64, IMG_FMT_PARALLELS, res);
		free(b);
	}
	free(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_not_parallels),
		cmocka_unit_test(test_hostile_new),
		cmocka_unit_test(test_hostile_old),
		cmocka_unit_test(test_in_use_and_ext),
		cmocka_unit_test(test_truncation),
	};

	return T_RUN(tests);
}
