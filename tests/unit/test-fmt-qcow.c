/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the qcow (v1) probe (fmt-qcow.c).  Expected values were
 * measured with qemu-img 7.2.22 `info --output=json` on the fixtures and on
 * copies patched the same way (fixtures/README).
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void test_plain(void **state)
{
	size_t len;
	uint8_t *b = t_fixture("qcow-1G.head", &len);
	struct img_result *res = t_probe_buf(b, len);

	(void)state;
	assert_int_equal(res->format, IMG_FMT_QCOW);
	assert_int_equal(res->n_candidates, 0);
	assert_true(res->has_version);
	assert_int_equal(res->version, 1);
	assert_true(res->has_virtual_size);
	assert_int_equal(res->virtual_size, 1073741824ull);
	assert_int_equal(res->cluster_size, 4096);
	assert_false(res->backing_file.present);
	assert_false(res->backing_format.present);
	assert_int_equal(res->encryption, IMG_ENC_NONE);
	assert_false(res->dirty);
	assert_null(res->damaged);
	assert_null(res->spec.type);
	free(res);
	free(b);
}

static void test_backing(void **state)
{
	size_t len;
	uint8_t *b = t_fixture("qcow-backing.head", &len);
	struct img_result *res = t_probe_buf(b, len);

	(void)state;
	assert_int_equal(res->format, IMG_FMT_QCOW);
	assert_int_equal(res->cluster_size, 512);
	assert_int_equal(res->virtual_size, 1073741824ull);
	assert_true(res->backing_file.present);
	assert_int_equal(res->backing_file.len, 9);
	assert_memory_equal(res->backing_file.data, "base.qcow", 9);
	assert_false(res->backing_format.present);
	assert_null(res->damaged);
	free(res);
	free(b);
}

static void test_aes(void **state)
{
	size_t len;
	uint8_t *b = t_fixture("qcow-aes.head", &len);
	struct img_result *res = t_probe_buf(b, len);

	(void)state;
	assert_int_equal(res->format, IMG_FMT_QCOW);
	assert_int_equal(res->encryption, IMG_ENC_AES);
	assert_int_equal(res->virtual_size, 16777216ull);
	assert_null(res->damaged);
	free(res);
	free(b);
}

/* versions other than 1 are not qcow (2, 3: qcow2; others raw for qemu) */
static void test_versions(void **state)
{
	static const uint32_t versions[] = { 0, 2, 3, 4, 0xffffffffu };
	size_t len;
	uint8_t *b = t_fixture("qcow-1G.head", &len);
	struct img_result *res = t_result_new();

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(versions); i++) {
		t_put_be32(b + 4, versions[i]);
		assert_int_equal(t_probe_copy_format(b, len, IMG_FMT_QCOW, res), 0);
		assert_int_equal(res->format, IMG_FMT_RAW);
		assert_int_equal(t_probe_copy(b, len, res), 0);
		assert_int_not_equal(res->format, IMG_FMT_QCOW);
	}
	free(res);
	free(b);
}

/* every header field at its boundaries (qemu-img 7.2.22 verdicts) */
static void test_hostile_fields(void **state)
{
	static const struct t_poke pokes[] = {
		{ 24, 8, 0, "Image size is too small (must be at least 2 bytes)", 0 },
		{ 24, 8, 1, "Image size is too small (must be at least 2 bytes)", 0 },
		{ 24, 8, 2, NULL, 0 },
		{ 24, 8, 1000001, NULL, 999936 },
		{ 24, 8, 0xffffffffffffffffull, "Image too large", 0 },
		{ 24, 8, 0x7fffffffffffffffull, "Image too large", 0 },
		/*
		 * cluster 4K, l2 512 entries: L1 entries of 2 MiB.  qemu reads at
		 * most 0x7ffffe00 bytes of L1 (0xfffffc0 entries) and refuses more
		 * than INT_MAX / 8 entries.
		 */
		{ 24, 8, 0xfffffc0ull << 21, NULL, 0xfffffc0ull << 21 },
		{ 24, 8, 0xfffffc1ull << 21, "Input/output error", 0 },
		{ 24, 8, 0xfffffffull << 21, "Input/output error", 0 },
		{ 24, 8, (0xfffffffull << 21) + 1, "Image too large", 0 },
		{ 32, 1, 8, "Cluster size must be between 512 and 64k", 0 },
		{ 32, 1, 17, "Cluster size must be between 512 and 64k", 0 },
		{ 32, 1, 255, "Cluster size must be between 512 and 64k", 0 },
		{ 32, 1, 16, NULL, 1073741824ull },
		{ 32, 1, 9, NULL, 1073741824ull },
		{ 33, 1, 5, "L2 table size must be between 512 and 64k", 0 },
		{ 33, 1, 14, "L2 table size must be between 512 and 64k", 0 },
		{ 33, 1, 6, NULL, 1073741824ull },
		{ 33, 1, 13, NULL, 1073741824ull },
		{ 36, 4, 2, "invalid encryption method in qcow header", 0 },
		{ 36, 4, 0xffffffffu, "invalid encryption method in qcow header", 0 },
		{ 16, 4, 5, NULL, 1073741824ull }, /* size without offset: ignored */
		/* the L1 table (512 entries, 4 KiB) must end at or before BDRV_MAX_LENGTH */
		{ 40, 8, 0xfffffffffffffff0ull, "Input/output error", 0 },
		{ 40, 8, 0x7fffffffbffff000ull, NULL, 1073741824ull },
		{ 40, 8, 0x7fffffffbffff001ull, "Input/output error", 0 },
		{ 40, 8, 0x100000000ull, NULL, 1073741824ull }, /* past the end: zeros */
	};

	(void)state;
	/* 1, 4 or 8 bytes, big-endian */
	t_poke_run("qcow-1G.head", IMG_FMT_QCOW, true, 0, pokes, IMG_ARRAY_SIZE(pokes));
}

static void test_hostile_backing(void **state)
{
	size_t len;
	uint8_t *orig = t_fixture("qcow-backing.head", &len);
	uint8_t *b = malloc(len + 2048);
	struct img_result *res = t_result_new();

	(void)state;
	assert_non_null(b);

	/* 1023 is the longest name; the name stops at the first NUL */
	memcpy(b, orig, len);
	t_put_be32(b + 16, 1023);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_null(res->damaged);
	assert_int_equal(res->backing_file.len, 9);

	t_put_be32(b + 16, 1024);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_string_equal(res->damaged, "Backing file name too long");
	assert_false(res->backing_file.present);

	t_put_be32(b + 16, 0xffffffffu);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_string_equal(res->damaged, "Backing file name too long");

	/* a full 1023-byte name is kept whole */
	memcpy(b, orig, len);
	memset(b + len, 'A', 1023);
	t_put_be64(b + 8, len);
	t_put_be32(b + 16, 1023);
	assert_int_equal(t_probe_copy(b, len + 1023, res), 0);
	assert_null(res->damaged);
	assert_int_equal(res->backing_file.len, 1023);
	assert_int_equal(res->backing_file.data[1022], 'A');

	/* past the end of the file: qemu reads zeros, so no backing file */
	memcpy(b, orig, len);
	t_put_be64(b + 8, 100000);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_null(res->damaged);
	assert_false(res->backing_file.present);
	/* qemu's block layer refuses reads that reach past BDRV_MAX_LENGTH */
	t_put_be64(b + 8, 0xffffffffffffffffull);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_false(res->backing_file.present);
	assert_string_equal(res->damaged, "Input/output error");
	t_put_be64(b + 8, 0xffffffff00000000ull);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_string_equal(res->damaged, "Input/output error");
	t_put_be64(b + 8, 0x7fffffffbffffff0ull);
	t_put_be32(b + 16, 16);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_null(res->damaged);
	t_put_be32(b + 16, 17);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_string_equal(res->damaged, "Input/output error");
	t_put_be64(b + 8, 0x7fffffffc0000000ull);
	t_put_be32(b + 16, 0);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_null(res->damaged);
	t_put_be64(b + 8, 0x7fffffffc0000001ull);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_string_equal(res->damaged, "Input/output error");
	t_put_be32(b + 16, 9);

	/* straddling the end: the bytes that exist */
	memcpy(b, orig, len);
	memcpy(b + len - 3, "xyz", 3);
	t_put_be64(b + 8, len - 3);
	t_put_be32(b + 16, 9);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->backing_file.len, 3);
	assert_memory_equal(res->backing_file.data, "xyz", 3);

	/* "a\0b" -> "a"; control bytes kept as they are; empty -> none */
	memcpy(b, orig, len);
	memcpy(b + 48, "a\0b", 3);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->backing_file.len, 1);
	memcpy(b + 48, "\x01\n\xff", 3);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->backing_file.len, 9);
	assert_memory_equal(res->backing_file.data, "\x01\n\xff", 3);
	t_put_be32(b + 16, 0);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_false(res->backing_file.present);

	free(res);
	free(b);
	free(orig);
}

static void test_truncation(void **state)
{
	static const char *const names[] = { "qcow-1G.head", "qcow-backing.head", "qcow-aes.head" };
	struct img_result *res = t_result_new();

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(names); i++) {
		size_t len;
		uint8_t *b = t_fixture(names[i], &len);

		/* shorter than the 48-byte header: not qcow */
		t_truncation_edge(b, len, 48, IMG_FMT_QCOW, res);
		free(b);
	}
	free(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_backing),
		cmocka_unit_test(test_aes),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_hostile_fields),
		cmocka_unit_test(test_hostile_backing),
		cmocka_unit_test(test_truncation),
	};

	return T_RUN(tests);
}
