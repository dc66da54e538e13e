/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the VPC/VHD probe (fmt-vpc.c).  Expected values were
 * measured with qemu-img 7.2.22 `info -f vpc --output=json` on the fixtures
 * and on copies patched the same way (fixtures/README).
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define DYN_LEN 4608 /* vpc-dynamic-1G.head: the whole image */

static uint32_t cks(const uint8_t *f)
{
	uint32_t s = 0;

	for (int i = 0; i < 512; i++)
		if (i < 64 || i >= 68)
			s += f[i];
	return ~s;
}

static void fix_cks(uint8_t *f)
{
	t_put_be32(f + 64, cks(f));
}

static uint8_t *load_dyn(void)
{
	size_t len;
	uint8_t *b = t_fixture("vpc-dynamic-1G.head", &len);

	assert_int_equal(len, DYN_LEN);
	return b;
}

/* a small fixed disk: 4 KiB of data and the 64M fixture footer */
static uint8_t *make_fixed(size_t *ret_len)
{
	size_t len;
	uint8_t *tail = t_fixture("vpc-fixed-64M.tail", &len);
	uint8_t *b = calloc(1, 4096 + 512);

	assert_int_equal(len, 512);
	assert_non_null(b);
	memcpy(b + 4096, tail, 512);
	free(tail);
	*ret_len = 4096 + 512;
	return b;
}

static struct img_result *probe_vpc(const uint8_t *b, size_t len)
{
	struct img_result *res = t_result_new();

	assert_int_equal(t_probe_copy(b, len, res), 0);
	return res;
}

static void test_dynamic_fixture(void **state)
{
	uint8_t *b = load_dyn();
	struct img_result *res = probe_vpc(b, DYN_LEN);

	(void)state;
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_string_equal(img_format_name(res->format), "vpc");
	assert_null(res->damaged);
	assert_string_equal(res->subformat, "dynamic");
	assert_true(res->has_virtual_size);
	assert_int_equal(res->virtual_size, 1073995776);
	assert_int_equal(res->cluster_size, 2097152);
	assert_true(res->has_version);
	assert_int_equal(res->version, 0x00010000);
	assert_true(res->version_dotted);
	assert_false(res->backing_file.present);
	assert_int_equal(res->encryption, IMG_ENC_NONE);
	assert_int_equal(res->n_features, 0);
	assert_null(res->spec.type);
	assert_int_equal(res->n_candidates, 0);
	free(res);
	free(b);
}

static void test_qem2_fixture(void **state)
{
	size_t len;
	uint8_t *b = t_fixture("vpc-qem2-1G.head", &len);
	struct img_result *res = probe_vpc(b, len);

	(void)state;
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_null(res->damaged);
	assert_int_equal(res->virtual_size, 1073741824);
	assert_int_equal(res->cluster_size, 2097152);
	free(res);
	free(b);
}

static void test_fixed_fixture(void **state)
{
	struct t_sparse s;
	struct img_reader r;
	struct img_result *res = t_result_new();

	(void)state;
	t_sparse_load(&s, "vpc-fixed-64M", &r);
	assert_int_equal(r.size, 67125760);
	assert_int_equal(img_probe(&r, res), 0);
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_null(res->damaged);
	assert_string_equal(res->subformat, "fixed");
	assert_int_equal(res->virtual_size, 67125248);
	assert_int_equal(res->cluster_size, 0);
	t_sparse_free(&s);
	free(res);
}

static void test_data_fixture(void **state)
{
	struct t_sparse s;
	struct img_reader r;
	struct img_result *res = t_result_new();
	size_t len;
	uint8_t *head;

	(void)state;
	t_sparse_load(&s, "vpc-data-64M", &r);
	assert_int_equal(img_probe(&r, res), 0);
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_null(res->damaged);
	assert_int_equal(res->virtual_size, 67125248);
	assert_int_equal(res->cluster_size, 2097152);
	t_sparse_free(&s);

	/* BAT[1] = sector 4: its block ends at 2048 + 512 + 2 MiB = 2099712 */
	head = t_fixture("vpc-data-64M.head", &len);
	t_sparse_reader(&s, head, len, NULL, 0, 2099712, &r);
	assert_int_equal(img_probe(&r, res), 0);
	assert_null(res->damaged);
	t_sparse_free(&s);
	t_sparse_reader(&s, head, len, NULL, 0, 2099711, &r);
	assert_int_equal(img_probe(&r, res), 0);
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_string_equal(res->damaged, "free_data_block_offset points after the end of file");
	t_sparse_free(&s);
	free(head);
	free(res);
}

/* creator application -> size rule, as qemu 7.2 (current_size patched to 1 GiB) */
static void test_creators(void **state)
{
	static const struct {
		const char app[4];
		uint64_t size;
	} t[] = {
		{ "qemu", 1073995776 }, { "qem2", 1073741824 }, { "vpc ", 1073995776 },
		{ "win ", 1073741824 }, { "d2v ", 1073741824 }, { "CTXS", 1073741824 },
		{ { 't', 'a', 'p', 0 }, 1073741824 }, { "tap ", 1073995776 },
		{ { 'w', 'a', 0, 0 }, 1073995776 },
	};
	uint8_t *b = load_dyn();

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(t); i++) {
		struct img_result *res;

		t_put_be64(b + 48, 1073741824);
		memcpy(b + 28, t[i].app, 4);
		fix_cks(b);
		res = probe_vpc(b, DYN_LEN);
		assert_int_equal(res->format, IMG_FMT_VPC);
		assert_null(res->damaged);
		assert_int_equal(res->virtual_size, t[i].size);
		free(res);
	}
	free(b);
}

static void test_geometry(void **state)
{
	uint8_t *b = load_dyn();
	struct img_result *res;

	(void)state;
	/* maximum CHS: current_size wins even for "qemu" */
	t_put_be64(b + 48, 1073741824);
	t_put_be16(b + 56, 0xffff);
	b[58] = 16;
	b[59] = 255;
	fix_cks(b);
	res = probe_vpc(b, DYN_LEN);
	assert_null(res->damaged);
	assert_int_equal(res->virtual_size, 1073741824);
	free(res);

	/* one less: CHS 65535*16*254 sectors, more than the BAT covers */
	b[59] = 254;
	fix_cks(b);
	res = probe_vpc(b, DYN_LEN);
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_int_equal(res->virtual_size, 65535ull * 16 * 254 * 512);
	assert_string_equal(res->damaged, "Page table too small");
	free(res);

	/* CHS at its largest: 65535*255*255 */
	t_put_be16(b + 56, 0xffff);
	b[58] = 255;
	b[59] = 255;
	fix_cks(b);
	res = probe_vpc(b, DYN_LEN);
	assert_int_equal(res->virtual_size, 65535ull * 255 * 255 * 512);
	assert_string_equal(res->damaged, "Page table too small");
	free(res);

	/* zero geometry: virtual size 0, valid for qemu */
	memset(b + 56, 0, 4);
	fix_cks(b);
	res = probe_vpc(b, DYN_LEN);
	assert_null(res->damaged);
	assert_int_equal(res->virtual_size, 0);
	free(res);
	free(b);
}

static void test_size_limits(void **state)
{
	uint8_t *b = load_dyn();
	struct img_result *res;

	(void)state;
	memcpy(b + 28, "win ", 4);
	/* 0xff000000 sectors is allowed (then the BAT is too small) */
	t_put_be64(b + 48, 0xff000000ull * 512);
	fix_cks(b);
	res = probe_vpc(b, DYN_LEN);
	assert_int_equal(res->virtual_size, 0xff000000ull * 512);
	assert_string_equal(res->damaged, "Page table too small");
	free(res);

	t_put_be64(b + 48, 0xff000001ull * 512);
	fix_cks(b);
	res = probe_vpc(b, DYN_LEN);
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_string_equal(res->damaged, "File too large");
	free(res);

	t_put_be64(b + 48, UINT64_MAX);
	fix_cks(b);
	res = probe_vpc(b, DYN_LEN);
	assert_int_equal(res->virtual_size, (UINT64_MAX / 512) * 512);
	assert_string_equal(res->damaged, "File too large");
	free(res);

	/* a size that is not a sector multiple is rounded down */
	t_put_be64(b + 48, 1000000001);
	fix_cks(b);
	res = probe_vpc(b, DYN_LEN);
	assert_null(res->damaged);
	assert_int_equal(res->virtual_size, 1000000001 / 512 * 512);
	free(res);
	free(b);
}

static void test_checksum(void **state)
{
	uint8_t *b = load_dyn();
	struct img_result *res;

	(void)state;
	b[64] ^= 1;
	res = probe_vpc(b, DYN_LEN);
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_string_equal(res->damaged, "Incorrect header checksum");
	assert_int_equal(res->virtual_size, 1073995776);
	free(res);
	b[64] ^= 1;
	/* the trailing copy is not read for a dynamic disk */
	b[DYN_LEN - 512 + 64] ^= 1;
	res = probe_vpc(b, DYN_LEN);
	assert_null(res->damaged);
	free(res);
	free(b);
}

static void test_types(void **state)
{
	uint8_t *b = load_dyn();
	struct img_result *res;

	(void)state;
	/* conectix at 0 is dynamic whatever the type; cluster size only if not "fixed" */
	t_put_be32(b + 60, 2);
	fix_cks(b);
	res = probe_vpc(b, DYN_LEN);
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_null(res->damaged);
	assert_string_equal(res->subformat, "dynamic");
	assert_int_equal(res->cluster_size, 0);
	assert_int_equal(res->virtual_size, 1073995776);
	free(res);

	t_put_be32(b + 60, 0);
	fix_cks(b);
	res = probe_vpc(b, DYN_LEN);
	assert_string_equal(res->subformat, "dynamic");
	assert_int_equal(res->cluster_size, 2097152);
	free(res);

	/* temporary flag */
	t_put_be32(b + 8, 3);
	fix_cks(b);
	res = probe_vpc(b, DYN_LEN);
	assert_true(img_has_feature(res, "temporary"));
	free(res);
	free(b);
}

static void test_differencing(void **state)
{
	uint8_t *b = load_dyn();
	struct img_result *res;
	uint8_t *name = b + 512 + 64;
	/* "b/é€" + U+1F600 (surrogate pair) + lone high surrogate + "x" */
	static const uint16_t u[] = { 'b', '/', 0xe9, 0x20ac, 0xd83d, 0xde00, 0xd800, 'x', 0, 'y' };
	static const char want[] = "b/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbdx";

	(void)state;
	t_put_be32(b + 60, 4);
	fix_cks(b);
	res = probe_vpc(b, DYN_LEN);
	assert_string_equal(res->subformat, "differencing");
	assert_null(res->damaged);
	assert_false(res->backing_file.present); /* empty parent name */
	assert_int_equal(res->cluster_size, 2097152);
	free(res);

	for (unsigned i = 0; i < IMG_ARRAY_SIZE(u); i++)
		t_put_be16(name + 2 * i, u[i]);
	res = probe_vpc(b, DYN_LEN);
	assert_true(res->backing_file.present);
	assert_int_equal(res->backing_file.len, strlen(want));
	assert_memory_equal(res->backing_file.data, want, strlen(want));
	free(res);

	/* 256 units, no NUL, a high surrogate in the last unit */
	for (unsigned i = 0; i < 256; i++)
		t_put_be16(name + 2 * i, 0xffff);
	t_put_be16(name + 510, 0xdbff);
	res = probe_vpc(b, DYN_LEN);
	assert_true(res->backing_file.present);
	assert_int_equal(res->backing_file.len, 256 * 3);
	assert_memory_equal(res->backing_file.data + 255 * 3, "\xef\xbf\xbd", 3);
	assert_null(res->damaged);
	free(res);
	free(b);
}

static void test_dyn_header(void **state)
{
	static const struct {
		unsigned off;
		int bits;
		uint64_t v;
		const char *damaged;
	} t[] = {
		/* footer data_offset */
		{ 16, 64, 0x10000000, "Invalid header magic" },
		{ 16, 64, DYN_LEN - 1023, "Invalid header magic" },
		{ 16, 64, UINT64_MAX, "Error reading dynamic VHD header" },
		{ 16, 64, 0x8000000000000000ull, "Error reading dynamic VHD header" },
		{ 16, 64, INT64_MAX, "Error reading dynamic VHD header" },
		/* dynamic header, relative to 512 */
		{ 512 + 32, 32, 0, "Invalid block size" },
		{ 512 + 32, 32, 256, "Invalid block size" },
		{ 512 + 32, 32, 0x300000, "Invalid block size" },
		{ 512 + 32, 32, 0xffffffff, "Invalid block size" },
		{ 512 + 32, 32, 512, "Page table too small" },
		{ 512 + 32, 32, 0x80000000, NULL },
		{ 512 + 28, 32, 0x1ff, "Page table too small" },
		{ 512 + 28, 32, 0x301, "free_data_block_offset points after the end of file" },
		{ 512 + 28, 32, 0x1fffffff, "Error reading pagetable" },
		{ 512 + 28, 32, 0x20000000, "Max Table Entries too large" },
		{ 512 + 28, 32, 0xffffffff, "Max Table Entries too large" },
		{ 512 + 16, 64, DYN_LEN - 2048 + 1, "free_data_block_offset points after the end of file" },
		{ 512 + 16, 64, 0x100000000ull, "free_data_block_offset points after the end of file" },
		{ 512 + 16, 64, UINT64_MAX, "Error reading pagetable" },
		{ 512 + 16, 64, INT64_MAX, "Error reading pagetable" },
		{ 512 + 16, 64, 0x7fffffff80000000ull, "free_data_block_offset points after the end of file" },
		/* the BAT over the footer copy: "cone" is a block far past the end */
		{ 512 + 16, 64, 0, "free_data_block_offset points after the end of file" },
		/* BAT entries */
		{ 1536, 32, 0x10000000, "free_data_block_offset points after the end of file" },
		{ 1536, 32, 0xfffffffe, "free_data_block_offset points after the end of file" },
		{ 1536 + 4 * 511, 32, 1, "free_data_block_offset points after the end of file" },
	};
	uint8_t *b = load_dyn();
	uint8_t *orig = malloc(DYN_LEN);

	(void)state;
	assert_non_null(orig);
	memcpy(orig, b, DYN_LEN);
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(t); i++) {
		struct img_result *res;

		memcpy(b, orig, DYN_LEN);
		if (t[i].bits == 64)
			t_put_be64(b + t[i].off, t[i].v);
		else
			t_put_be32(b + t[i].off, (uint32_t)t[i].v);
		fix_cks(b);
		res = probe_vpc(b, DYN_LEN);
		assert_int_equal(res->format, IMG_FMT_VPC);
		assert_int_equal(res->virtual_size, 1073995776);
		if (t[i].damaged)
			assert_string_equal(res->damaged, t[i].damaged);
		else
			assert_null(res->damaged);
		free(res);
	}
	/* a broken cxsparse cookie */
	memcpy(b, orig, DYN_LEN);
	b[512] = 'X';
	{
		struct img_result *res = probe_vpc(b, DYN_LEN);

		assert_string_equal(res->damaged, "Invalid header magic");
		assert_int_equal(res->cluster_size, 0);
		free(res);
	}
	free(orig);
	free(b);
}

static void test_fixed_variants(void **state)
{
	size_t len;
	uint8_t *b = make_fixed(&len);
	uint8_t *f = b + len - 512;
	struct img_result *res;

	(void)state;
	res = probe_vpc(b, len);
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_string_equal(res->subformat, "fixed");
	assert_null(res->damaged);
	assert_int_equal(res->virtual_size, 67125248);
	free(res);

	/* a fixed footer may not say dynamic: its head copy is missing */
	t_put_be32(f + 60, 3);
	fix_cks(f);
	res = probe_vpc(b, len);
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_string_equal(res->damaged, "invalid VPC image");
	free(res);

	/* an unknown type at the end: not a VHD */
	t_put_be32(f + 60, 0);
	fix_cks(f);
	res = probe_vpc(b, len);
	assert_int_equal(res->format, IMG_FMT_RAW);
	free(res);

	t_put_be32(f + 60, 2);
	memcpy(f + 28, "win ", 4);
	t_put_be64(f + 48, 4096);
	fix_cks(f);
	res = probe_vpc(b, len);
	assert_null(res->damaged);
	assert_int_equal(res->virtual_size, 4096);
	free(res);

	f[100] ^= 0x80;
	res = probe_vpc(b, len);
	assert_string_equal(res->damaged, "Incorrect header checksum");
	free(res);

	/* one footer and nothing else: conectix at 0 makes it dynamic (qemu) */
	f[100] ^= 0x80;
	res = probe_vpc(f, 512);
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_string_equal(res->subformat, "dynamic");
	assert_string_equal(res->damaged, "Error reading dynamic VHD header");
	free(res);
	free(b);
}

static void test_short(void **state)
{
	uint8_t b[100] = "conectix";
	struct img_result *res;

	(void)state;
	/* qemu reads a zero-padded footer; the checksum then fails */
	res = probe_vpc(b, sizeof(b));
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_string_equal(res->damaged, "Incorrect header checksum");
	free(res);
	res = probe_vpc(b, 7);
	assert_int_equal(res->format, IMG_FMT_RAW);
	free(res);
}

static void test_truncation(void **state)
{
	size_t len;
	uint8_t *b = load_dyn();
	uint8_t *f;

	(void)state;
	t_truncation_sweep(b, DYN_LEN);
	free(b);
	f = make_fixed(&len);
	t_truncation_sweep(f, len);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dynamic_fixture), cmocka_unit_test(test_qem2_fixture),
		cmocka_unit_test(test_fixed_fixture),   cmocka_unit_test(test_data_fixture),
		cmocka_unit_test(test_creators),        cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_size_limits),     cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_types),           cmocka_unit_test(test_differencing),
		cmocka_unit_test(test_dyn_header),      cmocka_unit_test(test_fixed_variants),
		cmocka_unit_test(test_short),           cmocka_unit_test(test_truncation),
	};
	return T_RUN(tests);
}
