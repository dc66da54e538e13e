/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the VDI probe (fmt-vdi.c).  Expected values were measured
 * with qemu-img 7.2.22 `info --output=json` on the fixtures and on copies
 * patched the same way (fixtures/README; iotest 084 covers the same fields).
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void test_dynamic(void **state)
{
	struct img_result *res = t_probe_fixture("vdi-1G");

	(void)state;
	assert_int_equal(res->format, IMG_FMT_VDI);
	assert_int_equal(res->n_candidates, 0);
	assert_true(res->has_version);
	assert_int_equal(res->version, 0x00010001);
	assert_true(res->version_dotted);
	assert_int_equal(res->virtual_size, 1073741824ull);
	assert_int_equal(res->cluster_size, 1048576);
	assert_string_equal(res->subformat, "dynamic");
	assert_false(res->backing_file.present);
	assert_null(res->damaged);
	assert_null(res->spec.type);
	free(res);
}

static void test_static(void **state)
{
	struct img_result *res = t_probe_fixture("vdi-static-64M");

	(void)state;
	assert_int_equal(res->format, IMG_FMT_VDI);
	assert_int_equal(res->virtual_size, 67108864ull);
	assert_int_equal(res->cluster_size, 1048576);
	assert_string_equal(res->subformat, "static");
	assert_null(res->damaged);
	free(res);
}

static void test_hostile_fields(void **state)
{
	static const struct t_poke pokes[] = {
		{ 68, 4, 0x00010000, "unsupported VDI image (version)", 0 },
		{ 68, 4, 0x00010002, "unsupported VDI image (version)", 0 },
		{ 72, 4, 0xffffffffu, NULL, 1073741824ull },
		{ 76, 4, 99, NULL, 1073741824ull },
		{ 80, 4, 0xffffffffu, NULL, 1073741824ull },
		{ 0, 1, 'X', NULL, 1073741824ull }, /* the text is not checked */
		{ 340, 4, 0x201, "unsupported VDI image (unaligned block map offset)", 0 },
		{ 340, 4, 0xffffff00u, "unsupported VDI image (unaligned block map offset)", 0 },
		{ 344, 4, 0x1001, "unsupported VDI image (unaligned data offset)", 0 },
		{ 344, 4, 0xfffffe00u, NULL, 1073741824ull },
		{ 360, 4, 4096, "unsupported VDI image (sector size is not 512)", 0 },
		{ 360, 4, 0, "unsupported VDI image (sector size is not 512)", 0 },
		{ 368, 8, 1000001, NULL, 1000448 },
		{ 368, 8, 0, NULL, 0 },
		{ 368, 8, 1073741825ull, "unsupported VDI image (disk size larger than the image bitmap)", 0 },
		{ 368, 8, 0x1fffff8000000ull, "unsupported VDI image (disk size larger than the image bitmap)", 0 },
		{ 368, 8, 0x1fffff8000001ull, "Unsupported VDI image size", 0 },
		{ 368, 8, 0xffffffffffffffffull, "Unsupported VDI image size", 0 },
		{ 376, 4, 0x200000, "unsupported VDI image (block size is not 1048576)", 0 },
		{ 376, 4, 0, "unsupported VDI image (block size is not 1048576)", 0 },
		{ 384, 4, 0, "unsupported VDI image (disk size larger than the image bitmap)", 0 },
		{ 384, 4, 1023, "unsupported VDI image (disk size larger than the image bitmap)", 0 },
		{ 384, 4, 0x1fffff80, NULL, 1073741824ull },
		{ 384, 4, 0x1fffff81, "unsupported VDI image (too many blocks)", 0 },
		{ 384, 4, 0xffffffffu, "unsupported VDI image (too many blocks)", 0 },
		{ 388, 4, 0xffffffffu, NULL, 1073741824ull },
		{ 424, 1, 1, "unsupported VDI image (non-NULL link UUID)", 0 },
		{ 439, 1, 1, "unsupported VDI image (non-NULL link UUID)", 0 },
		{ 440, 1, 1, "unsupported VDI image (non-NULL parent UUID)", 0 },
		{ 455, 1, 0x80, "unsupported VDI image (non-NULL parent UUID)", 0 },
	};

	(void)state;
	/* 1, 4 or 8 bytes, little-endian */
	t_poke_run("vdi-1G.head", IMG_FMT_VDI, false, 0, pokes, IMG_ARRAY_SIZE(pokes));
}

static void test_types(void **state)
{
	static const struct {
		uint32_t type;
		const char *sub;
	} types[] = { { 1, "dynamic" }, { 2, "static" }, { 3, "undo" }, { 4, "diff" }, { 0, NULL },
		      { 5, NULL } };
	size_t len;
	uint8_t *b = t_fixture("vdi-1G.head", &len);
	struct img_result *res = t_result_new();

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(types); i++) {
		t_put_le32(b + 76, types[i].type);
		assert_int_equal(t_probe_copy(b, len, res), 0);
		if (types[i].sub)
			assert_string_equal(res->subformat, types[i].sub);
		else
			assert_null(res->subformat);
	}
	free(res);
	free(b);
}

static void test_truncation(void **state)
{
	size_t len;
	uint8_t *b = t_fixture("vdi-1G.head", &len);
	struct img_result *res = t_result_new();

	(void)state;
	t_truncation_edge(b, len, 512, IMG_FMT_VDI, res);
	/* the signature alone, at 64 in a zeroed sector */
	memset(b, 0, 512);
	memcpy(b + 64, "\x7f\x10\xda\xbe", 4);
	assert_int_equal(t_probe_copy(b, 512, res), 0);
	assert_int_equal(res->format, IMG_FMT_VDI);
	assert_string_equal(res->damaged, "unsupported VDI image (version)");
	free(res);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dynamic),
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_hostile_fields),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_truncation),
	};

	return T_RUN(tests);
}
