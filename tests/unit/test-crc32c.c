/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for CRC-32C (scanner/probe/crc32c.c): the RFC 3720 appendix
 * B.4 vectors, the hardware path against the portable slice-by-8 path and
 * a bitwise reference on every length 0..300 at every alignment, chaining,
 * and the zero extension against CRCs of real zero buffers.
 */
#include <stdlib.h>
#include <string.h>

#include "probe/crc32c.h"
#include "testutil.h"

/* bitwise, written from the definition: reflected 0x82f63b78, ~0 in and out */
static uint32_t ref_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (crc & 1 ? 0x82f63b78u : 0);
	}
	return ~crc;
}

/* xorshift: reproducible pseudo-random bytes */
static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

static void test_rfc3720(void **state)
{
	uint8_t b[32];
	uint8_t inc[32], dec[32];

	(void)state;
	memset(b, 0, sizeof(b));
	assert_int_equal(img_crc32c_update(0, b, 32), 0x8a9136aau);
	assert_int_equal(img_crc32c_portable(0, b, 32), 0x8a9136aau);
	assert_int_equal(img_crc32c_zeros(0, 32), 0x8a9136aau);
	memset(b, 0xff, sizeof(b));
	assert_int_equal(img_crc32c_update(0, b, 32), 0x62a8ab43u);
	assert_int_equal(img_crc32c_portable(0, b, 32), 0x62a8ab43u);
	for (unsigned i = 0; i < 32; i++) {
		inc[i] = (uint8_t)i;
		dec[i] = (uint8_t)(31 - i);
	}
	assert_int_equal(img_crc32c_update(0, inc, 32), 0x46dd794eu);
	assert_int_equal(img_crc32c_update(0, dec, 32), 0x113fdb5cu);
	assert_int_equal(img_crc32c_update(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(img_crc32c_portable(0, "123456789", 9), 0xe3069283u);
	/* nothing: the CRC so far, unchanged */
	assert_int_equal(img_crc32c_update(0, "", 0), 0);
	assert_int_equal(img_crc32c_update(0x12345678u, "", 0), 0x12345678u);
	assert_int_equal(img_crc32c_zeros(0x12345678u, 0), 0x12345678u);
}

/* every length 0..300 at every start modulo 8: hardware == portable == bitwise */
static void test_paths_agree(void **state)
{
	enum { MAXLEN = 300 };
	uint8_t *buf = malloc(MAXLEN + 16);

	(void)state;
	assert_non_null(buf);
	print_message("hardware CRC-32C: %s\n", img_crc32c_hw() ? "yes" : "no");
	for (unsigned seed = 1; seed <= 4; seed++) {
		fill_random(buf, MAXLEN + 16, seed * 0x9e3779b97f4a7c15ull);
		for (size_t start = 0; start < 8; start++) {
			for (size_t n = 0; n <= MAXLEN; n++) {
				/* an exact-size copy: ASan sees any over-read */
				uint8_t *c = malloc(n ? n : 1);
				uint32_t init = seed == 1 ? 0 : (uint32_t)(seed * 0x01000193u);
				uint32_t ref, hw, sw;

				assert_non_null(c);
				memcpy(c, buf + start, n);
				ref = ref_crc32c(init, buf + start, n);
				hw = img_crc32c_update(init, buf + start, n);
				sw = img_crc32c_portable(init, buf + start, n);
				assert_int_equal(hw, ref);
				assert_int_equal(sw, ref);
				assert_int_equal(img_crc32c_update(init, c, n), ref);
				assert_int_equal(img_crc32c_portable(init, c, n), ref);
				free(c);
			}
		}
	}
	free(buf);
}

/* long buffers (the hardware path's three-lane loop), odd lengths and starts */
static void test_paths_agree_long(void **state)
{
	static const size_t lens[] = { 3071, 3072, 3073, 3079, 4096, 6143, 6144, 9216 + 5, 65536,
		                       65536 + 7, 196608 };
	uint8_t *buf = malloc(196608 + 16);

	(void)state;
	assert_non_null(buf);
	fill_random(buf, 196608 + 16, 99);
	for (size_t i = 0; i < IMG_ARRAY_SIZE(lens); i++) {
		for (size_t start = 0; start < 16; start += 3) {
			uint32_t sw = img_crc32c_portable(0, buf + start, lens[i]);

			assert_int_equal(img_crc32c_update(0, buf + start, lens[i]), sw);
			if (lens[i] <= 9216 + 5)
				assert_int_equal(ref_crc32c(0, buf + start, lens[i]), sw);
		}
	}
	free(buf);
}

/* update(update(0, a), b) == update(0, a || b), for both paths */
static void test_chaining(void **state)
{
	enum { LEN = 4096 + 77 };
	uint8_t *buf = malloc(LEN);
	uint32_t whole;

	(void)state;
	assert_non_null(buf);
	fill_random(buf, LEN, 42);
	whole = ref_crc32c(0, buf, LEN);
	assert_int_equal(img_crc32c_update(0, buf, LEN), whole);
	assert_int_equal(img_crc32c_portable(0, buf, LEN), whole);
	for (size_t cut = 0; cut <= LEN; cut += 61) {
		uint32_t c = img_crc32c_update(0, buf, cut);

		assert_int_equal(img_crc32c_update(c, buf + cut, LEN - cut), whole);
		c = img_crc32c_portable(0, buf, cut);
		assert_int_equal(img_crc32c_portable(c, buf + cut, LEN - cut), whole);
	}
	free(buf);
}

/* the zero extension equals the CRC over a real zero buffer */
static void test_zeros(void **state)
{
	static const size_t lens[] = { 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 255, 256, 511, 4092,
		                       4096, 4097, 60000, 65532, 65536, 65537, 200000 };
	uint8_t *zero = calloc(1, 200000);
	uint8_t pre[100];

	(void)state;
	assert_non_null(zero);
	fill_random(pre, sizeof(pre), 7);
	for (size_t i = 0; i < IMG_ARRAY_SIZE(lens); i++) {
		size_t n = lens[i];
		uint32_t base[3] = { 0, img_crc32c_update(0, pre, sizeof(pre)), 0xffffffffu };

		for (unsigned b = 0; b < 3; b++) {
			uint32_t want = img_crc32c_portable(base[b], zero, n);

			assert_int_equal(img_crc32c_zeros(base[b], n), want);
			assert_int_equal(img_crc32c_update(base[b], zero, n), want);
			if (n <= 4096)
				assert_int_equal(ref_crc32c(base[b], zero, n), want);
		}
	}
	/* every length 0..300, from a non-trivial start */
	for (size_t n = 0; n <= 300; n++) {
		uint32_t c = img_crc32c_update(0, pre, 13);

		assert_int_equal(img_crc32c_zeros(c, n), ref_crc32c(c, zero, n));
	}
	/* huge counts: no hang, and x^(8(a+b)) = x^(8a) x^(8b) */
	{
		uint32_t c = img_crc32c_update(0, pre, sizeof(pre));
		size_t big = (size_t)1 << 40;

		assert_int_equal(img_crc32c_zeros(img_crc32c_zeros(c, big), 1000),
		                 img_crc32c_zeros(c, big + 1000));
		assert_int_equal(img_crc32c_zeros(img_crc32c_zeros(c, SIZE_MAX - 5), 5),
		                 img_crc32c_zeros(c, SIZE_MAX));
	}
	free(zero);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3720),
		cmocka_unit_test(test_paths_agree),
		cmocka_unit_test(test_paths_agree_long),
		cmocka_unit_test(test_chaining),
		cmocka_unit_test(test_zeros),
	};

	return T_RUN(tests);
}
