/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the cloop probe (fmt-cloop.c).  Expected values were
 * measured with qemu-img 7.2.22 `info -f cloop --output=json` on a
 * cloop-utils 3.14 image and on copies patched or built the same way
 * (fixtures/README; iotest 075 pokes the same fields).
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define PREAMBLE "#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n"
#define CLOOP_FILE_SIZE 1050736 /* cloop-2M.size */

/* a header with n_blocks + 1 equal offsets (all blocks empty) */
static uint8_t *build(uint32_t block_size, uint32_t n_blocks, size_t *ret_len)
{
	size_t len = 136 + ((size_t)n_blocks + 1) * 8;
	uint8_t *b = calloc(1, len);

	assert_non_null(b);
	memcpy(b, PREAMBLE, strlen(PREAMBLE));
	t_put_be32(b + 128, block_size);
	t_put_be32(b + 132, n_blocks);
	for (size_t i = 0; i <= n_blocks; i++)
		t_put_be64(b + 136 + i * 8, len);
	*ret_len = len;
	return b;
}

static void test_fixture(void **state)
{
	struct t_sparse s;
	struct img_reader r;
	struct img_result *res = t_result_new();

	(void)state;
	t_sparse_load(&s, "cloop-2M", &r);
	assert_int_equal(img_probe(&r, res), 0);
	t_sparse_free(&s);
	assert_int_equal(res->format, IMG_FMT_CLOOP);
	assert_int_equal(res->n_candidates, 0);
	assert_false(res->has_version);
	assert_int_equal(res->virtual_size, 2097152);
	assert_int_equal(res->cluster_size, 0);
	assert_null(res->damaged);
	assert_null(res->spec.type);
	free(res);
}

static void test_hostile_fields(void **state)
{
	static const struct t_poke pokes[] = {
		{ 128, 4, 0x4000000, NULL, 2147483648ull },
		{ 128, 4, 0x4000200, "block_size must be 64 MB or less", 0 },
		{ 128, 4, 0xfffffe00u, "block_size must be 64 MB or less", 0 },
		{ 128, 4, 0, "block_size cannot be zero", 0 },
		{ 128, 4, 0x201, "block_size must be a multiple of 512", 0 },
		{ 132, 4, 0, NULL, 0 },
		{ 132, 4, 0x1fffffff, "Could not allocate offsets table", 0 },
		{ 132, 4, 0x20000000, "n_blocks must be 536870911 or less", 0 },
		{ 132, 4, 0xffffffffu, "n_blocks must be 536870911 or less", 0 },
		{ 132, 4, 0x3ffffff, "invalid compressed block size, image file is corrupt", 0 },
		{ 132, 4, 0x4000000, "image requires too many offsets, try increasing block size", 0 },
		/* entry 33 is compressed data: a huge jump */
		{ 132, 4, 33, "invalid compressed block size, image file is corrupt", 0 },
		{ 136, 8, 0x191, NULL, 2097152 },
		{ 136, 8, 0, NULL, 2097152 },
		{ 144, 8, 0x8000190, "offsets not monotonically increasing, image file is corrupt", 0 },
		{ 144, 8, 0x8000191, "invalid compressed block size, image file is corrupt", 0 },
		{ 144, 8, 0xffffffffffffffffull, "invalid compressed block size, image file is corrupt", 0 },
	};

	(void)state;
	/* 4 or 8 bytes, big-endian */
	t_poke_run("cloop-2M.head", IMG_FMT_CLOOP, true, CLOOP_FILE_SIZE, pokes,
	           IMG_ARRAY_SIZE(pokes));
}

/* qemu multiplies n_blocks by sectors per block in 32 bits */
static void test_size_wrap(void **state)
{
	static const struct {
		uint32_t bs, n;
		uint64_t vsize;
	} cases[] = {
		{ 0x4000000, 32768, 0 },
		{ 0x4000000, 32767, 2198956146688ull },
		{ 0x200, 0x800000, 4294967296ull },
	};
	struct img_result *res = t_result_new();

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(cases); i++) {
		size_t len;
		uint8_t *b = build(cases[i].bs, cases[i].n, &len);

		assert_int_equal(t_probe_copy(b, len, res), 0);
		assert_int_equal(res->format, IMG_FMT_CLOOP);
		assert_null(res->damaged);
		assert_int_equal(res->virtual_size, cases[i].vsize);
		free(b);
	}
	free(res);
}

static void test_short(void **state)
{
	struct img_result *res = t_result_new();
	size_t len;
	uint8_t *b = t_fixture("cloop-2M.head", &len);

	(void)state;
	/* the preamble alone: cloop (qemu pads its probe buffer), block size 0 */
	assert_int_equal(t_probe_copy(PREAMBLE, strlen(PREAMBLE), res), 0);
	assert_int_equal(res->format, IMG_FMT_CLOOP);
	assert_string_equal(res->damaged, "block_size cannot be zero");
	assert_int_equal(t_probe_copy(PREAMBLE, strlen(PREAMBLE) - 1, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	/* the table cut at 300 bytes: zeros after it go backwards */
	assert_int_equal(t_probe_copy(b, 300, res), 0);
	assert_int_equal(res->format, IMG_FMT_CLOOP);
	assert_string_equal(res->damaged,
	                    "offsets not monotonically increasing, image file is corrupt");
	/* cut inside an entry: its high bytes are kept */
	assert_int_equal(t_probe_copy(b, 397, res), 0);
	assert_string_equal(res->damaged,
	                    "offsets not monotonically increasing, image file is corrupt");
	assert_int_equal(t_probe_copy(b, 400, res), 0);
	assert_null(res->damaged);
	/* a different preamble version is not cloop for qemu */
	b[12] = '3';
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	free(b);
	free(res);
}

static void test_truncation(void **state)
{
	size_t len;
	uint8_t *b = t_fixture("cloop-2M.head", &len);

	(void)state;
	t_truncation_sweep(b, 1024);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_hostile_fields),
		cmocka_unit_test(test_size_wrap),
		cmocka_unit_test(test_short),
		cmocka_unit_test(test_truncation),
	};

	return T_RUN(tests);
}
