/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the DMG (UDIF "koly" trailer) probe (fmt-dmg.c).  The
 * fixture was built by hand (fixtures/README); expected results were
 * measured with qemu-img 7.2.22 `info -f dmg` on copies patched the same way.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define Z_LEN 1124 /* dmg-zero-1M.head: the whole image */
#define Z_KOLY 612

static uint8_t *load_z(size_t extra)
{
	size_t len;
	uint8_t *h = t_fixture("dmg-zero-1M.head", &len);
	uint8_t *b = calloc(1, Z_LEN + extra);

	assert_int_equal(len, Z_LEN);
	assert_non_null(b);
	memcpy(b, h, len);
	free(h);
	return b;
}

static void test_fixture(void **state)
{
	uint8_t *b = load_z(0);
	struct img_result *res = t_result_new();

	(void)state;
	assert_int_equal(t_probe_copy(b, Z_LEN, res), 0);
	assert_int_equal(res->format, IMG_FMT_DMG);
	assert_string_equal(img_format_name(res->format), "dmg");
	assert_null(res->damaged);
	assert_true(res->has_virtual_size);
	assert_int_equal(res->virtual_size, 1048576);
	assert_int_equal(res->cluster_size, 0);
	assert_true(res->has_version);
	assert_int_equal(res->version, 4);
	assert_int_equal(res->encryption, IMG_ENC_NONE);
	assert_false(res->backing_file.present);
	assert_null(res->spec.type);
	free(res);
	free(b);
}

/* the same trailer at the end of a large (sparse) volume */
static void test_sparse_large(void **state)
{
	uint8_t *b = load_z(0);
	struct t_sparse s;
	struct img_reader r;
	struct img_result *res = t_result_new();
	uint64_t size = 10ull << 30;
	uint8_t *k = b + Z_KOLY;

	(void)state;
	/* plist moved to the start of a 10 GiB volume: offsets stay valid */
	t_put_be64(k + 0x1ec, 20971520);
	t_sparse_reader(&s, b, Z_KOLY, k, 512, size, &r);
	assert_int_equal(img_probe(&r, res), 0);
	assert_int_equal(res->format, IMG_FMT_DMG);
	assert_null(res->damaged);
	assert_int_equal(res->virtual_size, 10737418240ull);
	t_sparse_free(&s);
	free(res);
	free(b);
}

static void test_fields(void **state)
{
	static const struct {
		unsigned off;
		uint64_t v;
		const char *damaged;
		uint64_t vsize;
	} t[] = {
		{ 0x18, Z_KOLY, NULL, 1048576 },
		{ 0x18, Z_KOLY + 1, "Invalid argument", 1048576 },
		{ 0x18, UINT64_MAX, "Invalid argument", 1048576 },
		{ 0x28, Z_KOLY, "Invalid argument", 1048576 },
		{ 0x28, UINT64_MAX, "Invalid argument", 1048576 },
		{ 0xd8, Z_KOLY, "Invalid argument", 1048576 },
		{ 0xd8, UINT64_MAX, "Invalid argument", 1048576 },
		{ 0xe0, Z_KOLY + 1, "Invalid argument", 1048576 },
		{ 0xe0, UINT64_MAX, "Invalid argument", 1048576 },
		{ 0xe0, 0, "Invalid argument", 1048576 },
		{ 0x1ec, 0, NULL, 0 },
		{ 0x1ec, 0x20000000000000ull, NULL, 4611686018427387904ull },
		{ 0x1ec, 0x3fffffffe00000ull, NULL, 9223372035781033984ull },
		{ 0x1ec, 0x3fffffffe00001ull, "File too large", 0 },
		{ 0x1ec, 0x3fffffffffffffull, "File too large", 0 },
		{ 0x1ec, 0x8000000000000000ull, "Invalid argument", 0 },
		{ 0x1ec, UINT64_MAX, "Invalid argument", 0 },
	};
	uint8_t *b = load_z(0);
	uint8_t orig[Z_LEN];

	(void)state;
	memcpy(orig, b, Z_LEN);
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(t); i++) {
		struct img_result *res = t_result_new();

		memcpy(b, orig, Z_LEN);
		t_put_be64(b + Z_KOLY + t[i].off, t[i].v);
		assert_int_equal(t_probe_copy(b, Z_LEN, res), 0);
		assert_int_equal(res->format, IMG_FMT_DMG);
		if (t[i].damaged)
			assert_string_equal(res->damaged, t[i].damaged);
		else
			assert_null(res->damaged);
		assert_int_equal(res->has_virtual_size, t[i].vsize != 0 || !t[i].damaged);
		if (res->has_virtual_size)
			assert_int_equal(res->virtual_size, t[i].vsize);
		free(res);
	}
	/* resource fork [K-1, K+1) crosses the trailer */
	memcpy(b, orig, Z_LEN);
	t_put_be64(b + Z_KOLY + 0x28, Z_KOLY - 1);
	t_put_be64(b + Z_KOLY + 0x30, 2);
	{
		struct img_result *res = t_result_new();

		assert_int_equal(t_probe_copy(b, Z_LEN, res), 0);
		assert_string_equal(res->damaged, "Invalid argument");
		free(res);
	}
	free(b);
}

/* imgscan's identification rule: version 4 and header size 512 */
static void test_identification(void **state)
{
	uint8_t *b = load_z(0);
	struct img_result *res = t_result_new();

	(void)state;
	t_put_be32(b + Z_KOLY + 4, 0);
	assert_int_equal(t_probe_copy(b, Z_LEN, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	t_put_be32(b + Z_KOLY + 4, 4);
	t_put_be32(b + Z_KOLY + 8, 0);
	assert_int_equal(t_probe_copy(b, Z_LEN, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	t_put_be32(b + Z_KOLY + 8, 512);
	b[Z_KOLY] = 'K';
	assert_int_equal(t_probe_copy(b, Z_LEN, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	free(res);
	free(b);
}

/*
 * qemu's search: the first "koly" in the 515 bytes from ROUND_UP(size, 512)
 * - 1023 wins.  A decoy inside that window makes qemu read a zero trailer.
 */
static void test_search(void **state)
{
	uint8_t *b = load_z(0);
	struct img_result *res = t_result_new();

	(void)state;
	/* ROUND_UP(1124) = 1536: the window starts at 513 */
	memcpy(b + 513, "koly", 4);
	assert_int_equal(t_probe_copy(b, Z_LEN, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW); /* decoy trailer: version 0 */
	memcpy(b + 513, "kolx", 4);
	memcpy(b + 512, "koly", 4); /* just before the window: ignored */
	assert_int_equal(t_probe_copy(b, Z_LEN, res), 0);
	assert_int_equal(res->format, IMG_FMT_DMG);
	assert_null(res->damaged);
	free(res);
	free(b);
}

/*
 * Known limit: a trailer followed by padding (qemu -f dmg still finds it)
 * does not sit at end-512, where the registry magic looks.
 */
static void test_padded_is_raw(void **state)
{
	uint8_t *b = load_z(300);
	struct img_result *res = t_result_new();

	(void)state;
	assert_int_equal(t_probe_copy(b, Z_LEN + 300, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	free(res);
	free(b);
}

static void test_small(void **state)
{
	uint8_t b[512] = "koly";
	struct img_result *res = t_result_new();

	(void)state;
	t_put_be32(b + 4, 4);
	t_put_be32(b + 8, 512);
	/* exactly one trailer and nothing else: every fork offset must be < 0 */
	assert_int_equal(t_probe_copy(b, sizeof(b), res), 0);
	assert_int_equal(res->format, IMG_FMT_DMG);
	assert_string_equal(res->damaged, "Invalid argument");
	assert_int_equal(t_probe_copy(b, 511, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	free(res);
}

static void test_truncation(void **state)
{
	uint8_t *b = load_z(0);

	(void)state;
	t_truncation_sweep(b, Z_LEN);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),        cmocka_unit_test(test_sparse_large),
		cmocka_unit_test(test_fields),         cmocka_unit_test(test_identification),
		cmocka_unit_test(test_search),         cmocka_unit_test(test_padded_is_raw),
		cmocka_unit_test(test_small),          cmocka_unit_test(test_truncation),
	};
	return T_RUN(tests);
}
