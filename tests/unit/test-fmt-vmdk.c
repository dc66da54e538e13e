/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the VMDK probe (scanner/probe/fmt-vmdk.c): fixtures cut
 * from qemu-img 7.2.22 images (fixtures/README) checked field by field and
 * against what `qemu-img info --output=json` printed for them, hosted sparse,
 * stream-optimized (header and footer), COWD and descriptor-file headers
 * built in memory, every header field at boundary and overflow values,
 * hostile descriptor text, and truncation sweeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define MiB (1024u * 1024)

/* ---- helpers ---------------------------------------------------------------- */

/* the format-specific tree as compact JSON (keys in stored order) */
static void spec_json(const struct img_result *res, char *out, size_t outlen)
{
	const struct img_spec *s = &res->spec;
	size_t n = 0;
	bool first = true;

#define EMIT(...) (n += (size_t)snprintf(out + n, n < outlen ? outlen - n : 0, __VA_ARGS__))
	out[0] = '\0';
	EMIT("{");
	for (unsigned i = 0; i < s->n; i++) {
		const struct img_spec_entry *e = &s->e[i];

		if (e->type == IMG_SPEC_END) {
			/* find whether this END closes an array or an object */
			{
				int depth = 0;
				enum img_spec_type open = IMG_SPEC_OBJ;

				for (int j = (int)i - 1; j >= 0; j--) {
					if (s->e[j].type == IMG_SPEC_END)
						depth++;
					else if (s->e[j].type == IMG_SPEC_OBJ ||
						 s->e[j].type == IMG_SPEC_ARR) {
						if (depth == 0) {
							open = s->e[j].type;
							break;
						}
						depth--;
					}
				}
				EMIT("%c", open == IMG_SPEC_ARR ? ']' : '}');
			}
			first = false;
			continue;
		}
		if (!first)
			EMIT(",");
		first = false;
		if (e->key)
			EMIT("\"%s\":", e->key);
		switch (e->type) {
		case IMG_SPEC_STR:
			EMIT("\"%.*s\"", (int)e->v.str.len, img_spec_strp(s, e));
			break;
		case IMG_SPEC_SELF:
			EMIT("\"<self>\"");
			break;
		case IMG_SPEC_UINT:
			EMIT("%llu", (unsigned long long)e->v.u);
			break;
		case IMG_SPEC_INT:
			EMIT("%lld", (long long)e->v.i);
			break;
		case IMG_SPEC_BOOL:
			EMIT("%s", e->v.b ? "true" : "false");
			break;
		case IMG_SPEC_OBJ:
			EMIT("{");
			first = true;
			break;
		case IMG_SPEC_ARR:
			EMIT("[");
			first = true;
			break;
		default:
			break;
		}
	}
	EMIT("}");
#undef EMIT
}

static void assert_spec(const struct img_result *res, const char *want)
{
	char got[8192];

	assert_string_equal(res->spec.type, "vmdk");
	spec_json(res, got, sizeof(got));
	assert_string_equal(got, want);
}

static struct img_result *probe_fixture(const char *name)
{
	struct img_result *res = t_result_new();
	struct t_sparse s;
	struct img_reader r;

	t_sparse_load(&s, name, &r);
	assert_int_equal(img_probe(&r, res), 0);
	t_sparse_free(&s);
	return res;
}

static void assert_bytes(const struct img_bytes *b, const char *want)
{
	assert_true(b->present);
	assert_int_equal(b->len, strlen(want));
	assert_memory_equal(b->data, want, b->len);
}

/* probe buf[0..len) as vmdk only; returns the result (free it) */
static struct img_result *probe_buf(const void *buf, size_t len)
{
	struct img_result *res = t_result_new();

	assert_int_equal(t_probe_copy_format(buf, len, IMG_FMT_VMDK, res), 0);
	return res;
}

static struct img_result *probe_str(const char *s)
{
	return probe_buf(s, strlen(s));
}

/* ---- KDMV builder ------------------------------------------------------------ */

#define IMG_LEN (64u * 1024)

struct kdmv {
	uint32_t version, flags, gtes;
	uint64_t capacity, granularity, desc_offset, rgd_offset, gd_offset, grain_offset;
	uint16_t compress;
	const char *desc;
};

static const char default_desc[] = "# Disk DescriptorFile\nversion=1\nCID=12345678\n"
				   "parentCID=ffffffff\ncreateType=\"monolithicSparse\"\n"
				   "RW 2048 SPARSE \"x.vmdk\"\n";

static void kdmv_defaults(struct kdmv *k)
{
	memset(k, 0, sizeof(*k));
	k->version = 1;
	k->flags = 3;
	k->gtes = 512;
	k->capacity = 2048; /* 1 MiB */
	k->granularity = 128;
	k->desc_offset = 1;
	k->rgd_offset = 21;
	k->gd_offset = 22;
	k->grain_offset = 64;
	k->desc = default_desc;
}

static void put_kdmv_header(uint8_t *b, const struct kdmv *k)
{
	memcpy(b, "KDMV", 4);
	t_put_le32(b + 4, k->version);
	t_put_le32(b + 8, k->flags);
	t_put_le64(b + 12, k->capacity);
	t_put_le64(b + 20, k->granularity);
	t_put_le64(b + 28, k->desc_offset);
	t_put_le64(b + 36, 20);
	t_put_le32(b + 44, k->gtes);
	t_put_le64(b + 48, k->rgd_offset);
	t_put_le64(b + 56, k->gd_offset);
	t_put_le64(b + 64, k->grain_offset);
	memcpy(b + 73, "\n \r\n", 4);
	t_put_le16(b + 77, k->compress);
}

static uint8_t *kdmv_build(const struct kdmv *k)
{
	uint8_t *b = calloc(1, IMG_LEN);

	assert_non_null(b);
	put_kdmv_header(b, k);
	if (k->desc)
		memcpy(b + 0x200, k->desc, strlen(k->desc));
	return b;
}

static struct img_result *kdmv_probe(const struct kdmv *k)
{
	uint8_t *b = kdmv_build(k);
	struct img_result *res = probe_buf(b, IMG_LEN);

	free(b);
	return res;
}

static void assert_damaged(struct img_result *res, const char *why)
{
	assert_int_equal(res->format, IMG_FMT_VMDK);
	assert_non_null(res->damaged);
	if (why)
		assert_string_equal(res->damaged, why);
	assert_null(res->spec.type);
}

static void assert_ok(struct img_result *res)
{
	assert_int_equal(res->format, IMG_FMT_VMDK);
	if (res->damaged)
		fail_msg("unexpectedly damaged: %s", res->damaged);
}

/* ---- fixtures ------------------------------------------------------------------ */

static void test_fixture_sparse(void **state)
{
	struct img_result *res = probe_fixture("vmdk-sparse-1G");

	(void)state;
	assert_ok(res);
	assert_int_equal(res->n_candidates, 0);
	assert_true(res->has_version);
	assert_int_equal(res->version, 1);
	assert_true(res->has_virtual_size);
	assert_int_equal(res->virtual_size, 1073741824);
	assert_int_equal(res->cluster_size, 65536);
	assert_string_equal(res->subformat, "monolithicSparse");
	assert_false(res->backing_file.present);
	assert_false(res->backing_format.present);
	assert_int_equal(res->encryption, IMG_ENC_NONE);
	assert_false(res->dirty);
	assert_true(img_has_feature(res, "nl_detect"));
	assert_true(img_has_feature(res, "redundant_gd"));
	assert_false(img_has_feature(res, "zeroed_grain"));
	assert_spec(res, "{\"cid\":2652676948,\"parent-cid\":4294967295,"
			 "\"create-type\":\"monolithicSparse\",\"extents\":[{\"virtual-size\":"
			 "1073741824,\"filename\":\"<self>\",\"cluster-size\":65536,"
			 "\"format\":\"\"}]}");
	free(res);
}

static void test_fixture_stream(void **state)
{
	static const char want[] =
		"{\"cid\":399790296,\"parent-cid\":4294967295,\"create-type\":\"streamOptimized\","
		"\"extents\":[{\"compressed\":true,\"virtual-size\":1073741824,"
		"\"filename\":\"<self>\",\"cluster-size\":65536,\"format\":\"\"}]}";
	struct img_result *res = probe_fixture("vmdk-stream-1G");

	(void)state;
	assert_ok(res);
	assert_int_equal(res->version, 3);
	assert_int_equal(res->virtual_size, 1073741824);
	assert_int_equal(res->cluster_size, 65536);
	assert_string_equal(res->subformat, "streamOptimized");
	assert_true(img_has_feature(res, "compressed"));
	assert_true(img_has_feature(res, "markers"));
	assert_spec(res, want);
	free(res);

	/* VMware style: gd_offset = ~0, the header in the footer */
	res = probe_fixture("vmdk-vmware-stream-1G");
	assert_ok(res);
	assert_int_equal(res->version, 3);
	assert_int_equal(res->virtual_size, 1073741824);
	assert_string_equal(res->subformat, "streamOptimized");
	assert_spec(res, want);
	free(res);
}

static void test_fixture_variants(void **state)
{
	struct img_result *res;

	(void)state;
	res = probe_fixture("vmdk-zeroed-100M");
	assert_ok(res);
	assert_int_equal(res->version, 2);
	assert_int_equal(res->virtual_size, 104857600);
	assert_int_equal(res->cluster_size, 65536);
	assert_true(img_has_feature(res, "zeroed_grain"));
	assert_spec(res, "{\"cid\":489014809,\"parent-cid\":4294967295,"
			 "\"create-type\":\"monolithicSparse\",\"extents\":[{\"virtual-size\":"
			 "104857600,\"filename\":\"<self>\",\"cluster-size\":65536,\"format\":\"\"}]}");
	free(res);

	res = probe_fixture("vmdk-compat6-100M");
	assert_ok(res);
	assert_int_equal(res->version, 1);
	assert_int_equal(res->virtual_size, 104857600);
	assert_spec(res, "{\"cid\":3690042398,\"parent-cid\":4294967295,"
			 "\"create-type\":\"monolithicSparse\",\"extents\":[{\"virtual-size\":"
			 "104857600,\"filename\":\"<self>\",\"cluster-size\":65536,\"format\":\"\"}]}");
	free(res);

	res = probe_fixture("vmdk-lsilogic-100M");
	assert_ok(res);
	assert_int_equal(res->virtual_size, 104857600);
	assert_spec(res, "{\"cid\":1975949627,\"parent-cid\":4294967295,"
			 "\"create-type\":\"monolithicSparse\",\"extents\":[{\"virtual-size\":"
			 "104857600,\"filename\":\"<self>\",\"cluster-size\":65536,\"format\":\"\"}]}");
	free(res);
}

static void test_fixture_child(void **state)
{
	struct img_result *res = probe_fixture("vmdk-child-1G");

	(void)state;
	assert_ok(res);
	assert_bytes(&res->backing_file, "monolithicSparse.vmdk");
	assert_bytes(&res->backing_format, "vmdk");
	assert_int_equal(res->virtual_size, 1073741824);
	assert_spec(res, "{\"cid\":1101114638,\"parent-cid\":2652676948,"
			 "\"create-type\":\"monolithicSparse\",\"extents\":[{\"virtual-size\":"
			 "1073741824,\"filename\":\"<self>\",\"cluster-size\":65536,\"format\":\"\"}]}");
	free(res);
}

static void test_fixture_split_extent(void **state)
{
	/* an extent of a twoGbMaxExtentSparse image: no descriptor, qemu refuses it */
	struct img_result *res = probe_fixture("vmdk-2gbsparse-s001");

	(void)state;
	assert_damaged(res, "Could not read CID from the descriptor");
	assert_int_equal(res->version, 1);
	assert_true(res->has_virtual_size);
	assert_int_equal(res->virtual_size, 1073741824);
	assert_int_equal(res->cluster_size, 65536);
	free(res);
}

static void test_fixture_descriptors(void **state)
{
	struct img_result *res;

	(void)state;
	res = probe_fixture("vmdk-desc-flat-1G");
	assert_ok(res);
	assert_int_equal(res->n_candidates, 0);
	assert_int_equal(res->version, 1);
	assert_int_equal(res->virtual_size, 1073741824);
	assert_int_equal(res->cluster_size, 0);
	assert_string_equal(res->subformat, "monolithicFlat");
	assert_false(res->backing_file.present);
	assert_spec(res, "{\"cid\":3941899688,\"parent-cid\":4294967295,"
			 "\"create-type\":\"monolithicFlat\",\"extents\":[{\"virtual-size\":"
			 "1073741824,\"filename\":\"monolithicFlat-flat.vmdk\",\"format\":\"FLAT\"}]}");
	free(res);

	res = probe_fixture("vmdk-desc-2gbflat-5G");
	assert_ok(res);
	assert_int_equal(res->virtual_size, 5368709120ull);
	assert_string_equal(res->subformat, "twoGbMaxExtentFlat");
	assert_spec(res, "{\"cid\":3448982060,\"parent-cid\":4294967295,"
			 "\"create-type\":\"twoGbMaxExtentFlat\",\"extents\":["
			 "{\"virtual-size\":2147483648,\"filename\":\"flat5-f001.vmdk\",\"format\":\"FLAT\"},"
			 "{\"virtual-size\":2147483648,\"filename\":\"flat5-f002.vmdk\",\"format\":\"FLAT\"},"
			 "{\"virtual-size\":1073741824,\"filename\":\"flat5-f003.vmdk\",\"format\":\"FLAT\"}]}");
	free(res);

	/* qemu adds cluster-size 65536 from the extent headers, which we never open */
	res = probe_fixture("vmdk-desc-2gbsparse-1G");
	assert_ok(res);
	assert_int_equal(res->virtual_size, 1073741824);
	assert_int_equal(res->cluster_size, 0);
	assert_string_equal(res->subformat, "twoGbMaxExtentSparse");
	assert_spec(res, "{\"cid\":3805586400,\"parent-cid\":4294967295,"
			 "\"create-type\":\"twoGbMaxExtentSparse\",\"extents\":[{\"virtual-size\":"
			 "1073741824,\"filename\":\"twoGbMaxExtentSparse-s001.vmdk\","
			 "\"format\":\"SPARSE\"}]}");
	free(res);

	res = probe_fixture("vmdk-desc-2gbsparse-5G");
	assert_ok(res);
	assert_int_equal(res->virtual_size, 5368709120ull);
	assert_spec(res, "{\"cid\":1177786971,\"parent-cid\":4294967295,"
			 "\"create-type\":\"twoGbMaxExtentSparse\",\"extents\":["
			 "{\"virtual-size\":2147483648,\"filename\":\"sp5-s001.vmdk\",\"format\":\"SPARSE\"},"
			 "{\"virtual-size\":2147483648,\"filename\":\"sp5-s002.vmdk\",\"format\":\"SPARSE\"},"
			 "{\"virtual-size\":1073741824,\"filename\":\"sp5-s003.vmdk\",\"format\":\"SPARSE\"}]}");
	free(res);
}

static void sweep_fixture(const char *name)
{
	char fn[128];
	size_t len;
	uint8_t *b;

	snprintf(fn, sizeof(fn), "%s.head", name);
	b = t_fixture(fn, &len);
	t_truncation_sweep(b, len);
	free(b);
}

static void test_fixture_truncation(void **state)
{
	(void)state;
	sweep_fixture("vmdk-sparse-1G");
	sweep_fixture("vmdk-child-1G");
	sweep_fixture("vmdk-desc-flat-1G");
	sweep_fixture("vmdk-desc-2gbsparse-5G");
}

/* ---- KDMV headers in memory --------------------------------------------------- */

static void test_kdmv_basic(void **state)
{
	struct kdmv k;
	struct img_result *res;

	(void)state;
	kdmv_defaults(&k);
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_int_equal(res->virtual_size, MiB);
	assert_int_equal(res->cluster_size, 65536);
	assert_spec(res, "{\"cid\":305419896,\"parent-cid\":4294967295,"
			 "\"create-type\":\"monolithicSparse\",\"extents\":[{\"virtual-size\":"
			 "1048576,\"filename\":\"<self>\",\"cluster-size\":65536,\"format\":\"\"}]}");
	free(res);

	/* the embedded createType is ignored: qemu names KDMV by compression only */
	k.desc = "CID=1\nparentCID=2\ncreateType=\"vmfs\"\n";
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_string_equal(res->subformat, "monolithicSparse");
	free(res);

	/* compressAlgorithm 1 alone makes it streamOptimized, whatever the version */
	k.compress = 1;
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_string_equal(res->subformat, "streamOptimized");
	assert_spec(res, "{\"cid\":1,\"parent-cid\":2,\"create-type\":\"streamOptimized\","
			 "\"extents\":[{\"compressed\":true,\"virtual-size\":1048576,"
			 "\"filename\":\"<self>\",\"cluster-size\":65536,\"format\":\"\"}]}");
	free(res);
	k.compress = 2;
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_string_equal(res->subformat, "monolithicSparse");
	free(res);
}

static void test_kdmv_version(void **state)
{
	struct kdmv k;
	struct img_result *res;
	static const uint32_t ok[] = { 0, 1, 2, 3 };
	static const uint32_t bad[] = { 4, 5, 0x80000000u, UINT32_MAX };

	(void)state;
	kdmv_defaults(&k);
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(ok); i++) {
		k.version = ok[i];
		res = kdmv_probe(&k);
		assert_ok(res); /* version 3 uncompressed: read-only, fine for info */
		assert_int_equal(res->version, ok[i]);
		free(res);
	}
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(bad); i++) {
		k.version = bad[i];
		res = kdmv_probe(&k);
		assert_damaged(res, "Unsupported VMDK version");
		assert_int_equal(res->version, bad[i]);
		free(res);
	}
}

static void test_kdmv_gtes_granularity(void **state)
{
	struct kdmv k;
	struct img_result *res;

	(void)state;
	kdmv_defaults(&k);
	k.gtes = 512;
	res = kdmv_probe(&k);
	assert_ok(res);
	free(res);
	k.gtes = 1;
	res = kdmv_probe(&k);
	assert_ok(res);
	free(res);
	k.gtes = 513;
	res = kdmv_probe(&k);
	assert_damaged(res, "L2 table size too big");
	free(res);
	k.gtes = UINT32_MAX;
	res = kdmv_probe(&k);
	assert_damaged(res, "L2 table size too big");
	free(res);
	k.gtes = 0;
	res = kdmv_probe(&k);
	assert_damaged(res, "L1 entry size is invalid");
	free(res);

	kdmv_defaults(&k);
	k.granularity = 0;
	res = kdmv_probe(&k);
	assert_damaged(res, "L1 entry size is invalid");
	free(res);
	/* 512 * 2^23 = 2^32: qemu's 32-bit l1_entry_sectors wraps to 0 */
	k.granularity = 1ull << 23;
	res = kdmv_probe(&k);
	assert_damaged(res, "L1 entry size is invalid");
	free(res);
	k.granularity = 0x200000;
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_int_equal(res->cluster_size, 0x200000ull * 512);
	free(res);
	k.granularity = 0x200001;
	res = kdmv_probe(&k);
	assert_damaged(res, "Invalid granularity, image may be corrupt");
	assert_int_equal(res->cluster_size, 0);
	free(res);
	k.granularity = UINT64_MAX;
	res = kdmv_probe(&k);
	assert_non_null(res->damaged);
	free(res);
	k.granularity = 1;
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_int_equal(res->cluster_size, 512);
	free(res);
}

static void test_kdmv_capacity(void **state)
{
	struct kdmv k;
	struct img_result *res;

	(void)state;
	kdmv_defaults(&k);
	/* largest size qemu can report; l1 = 2^54 / 2^30 = 16M entries */
	k.granularity = 0x200000;
	k.capacity = (uint64_t)INT64_MAX / 512;
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_int_equal(res->virtual_size, ((uint64_t)INT64_MAX / 512) * 512);
	free(res);
	k.capacity = (uint64_t)INT64_MAX / 512 + 1;
	res = kdmv_probe(&k);
	assert_damaged(res, NULL);
	assert_false(res->has_virtual_size);
	free(res);
	/* wraps to a tiny l1_size in qemu; still refused for its size */
	k.capacity = UINT64_MAX;
	res = kdmv_probe(&k);
	assert_damaged(res, "Virtual size too large");
	free(res);

	kdmv_defaults(&k);
	k.capacity = 1ull << 40; /* l1 = 2^24 entries: allowed */
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_int_equal(res->virtual_size, 1ull << 49);
	free(res);
	k.capacity = (1ull << 41) + 1; /* l1 = 2^25 + 1 */
	res = kdmv_probe(&k);
	assert_damaged(res, "L1 size too big");
	free(res);
	k.capacity = 1ull << 41; /* exactly 32M entries */
	res = kdmv_probe(&k);
	assert_ok(res);
	free(res);
	/* l1_size truncated to 32 bits by qemu: 2^32 entries read as 0 */
	k.capacity = 1ull << 48;
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_int_equal(res->virtual_size, 1ull << 57);
	free(res);
}

static void test_kdmv_offsets(void **state)
{
	struct kdmv k;
	struct img_result *res;

	(void)state;
	kdmv_defaults(&k);
	k.grain_offset = IMG_LEN / 512; /* exactly the file */
	res = kdmv_probe(&k);
	assert_ok(res);
	free(res);
	k.grain_offset = IMG_LEN / 512 + 1;
	res = kdmv_probe(&k);
	assert_damaged(res, "File truncated");
	free(res);
	k.grain_offset = UINT64_MAX;
	res = kdmv_probe(&k);
	assert_damaged(res, "File truncated");
	free(res);

	kdmv_defaults(&k);
	k.gd_offset = 1ull << 54; /* << 9 = 2^63: negative for qemu */
	res = kdmv_probe(&k);
	assert_damaged(res, "Could not read l1 table");
	free(res);
	k.gd_offset = 1ull << 55; /* << 9 wraps to 0 */
	res = kdmv_probe(&k);
	assert_ok(res);
	free(res);
	/* qemu's BDRV_MAX_LENGTH = INT64_MAX aligned down to 1 GiB */
	k.gd_offset = (((uint64_t)INT64_MAX & ~((1ull << 30) - 1)) >> 9) + 1;
	res = kdmv_probe(&k);
	assert_damaged(res, "Could not read l1 table");
	free(res);
	k.gd_offset--; /* the table (4 bytes) ends past the limit */
	res = kdmv_probe(&k);
	assert_damaged(res, "Could not read l1 table");
	free(res);
	k.gd_offset--;
	res = kdmv_probe(&k);
	assert_ok(res);
	free(res);

	kdmv_defaults(&k);
	k.rgd_offset = 1ull << 54;
	res = kdmv_probe(&k); /* flags bit 1 set: the backup table is read */
	assert_damaged(res, "Could not read l1 table");
	free(res);
	k.flags = 1;
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_false(img_has_feature(res, "redundant_gd"));
	free(res);

	/* desc_offset / desc_size are ignored: the descriptor is always at 0x200 */
	kdmv_defaults(&k);
	k.desc_offset = UINT64_MAX;
	res = kdmv_probe(&k);
	assert_ok(res);
	free(res);
}

static void test_kdmv_capacity0_descriptor(void **state)
{
	struct kdmv k;
	struct img_result *res;

	(void)state;
	/* capacity 0 and desc_offset set: a descriptor file inside (qemu 7.2 opens it so) */
	kdmv_defaults(&k);
	k.capacity = 0;
	k.desc = "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
		 "createType=\"monolithicFlat\"\nRW 100 FLAT \"a.raw\" 0\n";
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_int_equal(res->virtual_size, 51200);
	assert_string_equal(res->subformat, "monolithicFlat");
	assert_spec(res, "{\"cid\":305419896,\"parent-cid\":4294967295,"
			 "\"create-type\":\"monolithicFlat\",\"extents\":[{\"virtual-size\":51200,"
			 "\"filename\":\"a.raw\",\"format\":\"FLAT\"}]}");
	free(res);

	k.desc = default_desc; /* monolithicSparse is not a descriptor-file type */
	res = kdmv_probe(&k);
	assert_damaged(res, "Unsupported image type");
	free(res);

	k.desc_offset = 1ull << 54; /* << 9 is negative */
	res = kdmv_probe(&k);
	assert_damaged(res, NULL);
	free(res);
	k.desc_offset = 1000; /* past the end: zeros, no createType */
	res = kdmv_probe(&k);
	assert_damaged(res, "invalid VMDK image descriptor");
	free(res);
	k.desc_offset = 0; /* capacity 0 without descriptor: an empty sparse disk */
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_int_equal(res->virtual_size, 0);
	free(res);
}

/* ---- stream-optimized footer ------------------------------------------------- */

#define FOOT_LEN (8u * 1024)

static uint8_t *stream_build(uint64_t head_capacity, uint64_t foot_capacity)
{
	struct kdmv k;
	uint8_t *b;
	uint8_t *f;

	kdmv_defaults(&k);
	k.version = 3;
	k.flags = 0x30003;
	k.compress = 1;
	k.grain_offset = 8;
	k.capacity = head_capacity;
	k.gd_offset = UINT64_MAX;
	b = calloc(1, FOOT_LEN);
	assert_non_null(b);
	put_kdmv_header(b, &k);
	memcpy(b + 0x200, default_desc, strlen(default_desc));
	f = b + FOOT_LEN - 1536;
	t_put_le64(f, 1);       /* footer marker: val (unchecked), size 0, type 3 */
	t_put_le32(f + 12, 3);
	k.gd_offset = 4;
	k.capacity = foot_capacity;
	put_kdmv_header(f + 512, &k); /* end-of-stream marker: all zero */
	return b;
}

static void test_stream_footer(void **state)
{
	uint8_t *b;
	struct img_result *res;

	(void)state;
	b = stream_build(2048, 4096);
	res = probe_buf(b, FOOT_LEN);
	assert_ok(res);
	assert_int_equal(res->virtual_size, 4096 * 512); /* the footer wins */
	assert_string_equal(res->subformat, "streamOptimized");
	free(res);

	/* every checked footer field */
	static const struct {
		size_t off;
		uint8_t val;
	} pokes[] = {
		{ 512, 'X' },         /* footer header magic */
		{ 8, 1 },             /* footer marker size */
		{ 12, 2 },            /* footer marker type */
		{ 15, 1 },            /* footer marker type high byte */
		{ 1024, 1 },          /* eos val */
		{ 1031, 0x80 },       /* eos val high byte */
		{ 1032, 1 },          /* eos size */
		{ 1036, 1 },          /* eos type */
	};
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(pokes); i++) {
		uint8_t *c = malloc(FOOT_LEN);

		memcpy(c, b, FOOT_LEN);
		c[FOOT_LEN - 1536 + pokes[i].off] = pokes[i].val;
		res = probe_buf(c, FOOT_LEN);
		assert_damaged(res, "Invalid footer");
		free(res);
		free(c);
	}
	/* the footer marker's val is not checked */
	b[FOOT_LEN - 1536 + 3] = 0x7f;
	res = probe_buf(b, FOOT_LEN);
	assert_ok(res);
	free(res);

	/* a footer header with gd_offset ~0 again: the L1 offset is negative */
	t_put_le64(b + FOOT_LEN - 1024 + 56, UINT64_MAX);
	res = probe_buf(b, FOOT_LEN);
	assert_damaged(res, "Could not read l1 table");
	free(res);

	/* the footer header's version is the one checked */
	t_put_le64(b + FOOT_LEN - 1024 + 56, 4);
	t_put_le32(b + FOOT_LEN - 1024 + 4, 4);
	res = probe_buf(b, FOOT_LEN);
	assert_damaged(res, "Unsupported VMDK version");
	free(res);

	/* too small for a footer; a footer read past an unaligned end */
	res = probe_buf(b, 1024);
	assert_damaged(res, "Failed to read footer");
	free(res);
	res = probe_buf(b, 1535);
	assert_non_null(res->damaged);
	free(res);
	free(b);

	b = stream_build(2048, 4096);
	t_truncation_sweep(b, FOOT_LEN);
	free(b);
}

/* ---- the embedded descriptor ---------------------------------------------------- */

static void test_cid_parsing(void **state)
{
	static const struct {
		const char *desc;
		bool ok;
		uint32_t cid, pcid;
	} cases[] = {
		{ "CID=fffffffe\nparentCID=ffffffff\n", true, 0xfffffffe, 0xffffffff },
		{ "CID=123456789\nparentCID=-1\n", true, 0x23456789, 0xffffffff },
		{ "CID=0x1F\nparentCID=  +10\n", true, 31, 16 },
		{ "CID=ffffffffffffffffff\nparentCID=0\n", true, 0xffffffff, 0 },
		/* "CID" is found inside "parentCID" */
		{ "parentCID=1234\n", true, 0x1234, 0x1234 },
		{ "# CIDs: x\nCID=1\nparentCID=2\n", false, 0, 0 },
		/* ... and in "CIDs below": +4 lands on "below", read as hex 0xbe */
		{ "# CIDs below\nCID=1\nparentCID=2\n", true, 0xbe, 2 },
		{ "CID=zz\nparentCID=2\n", false, 0, 0 },
		{ "CID=1\n", false, 0, 0 },
		{ "", false, 0, 0 },
		{ "CID", false, 0, 0 },
		{ "CID=", false, 0, 0 },
		{ "CID=0xg\nparentCID=0x\n", true, 0, 0 },
	};
	struct kdmv k;

	(void)state;
	kdmv_defaults(&k);
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(cases); i++) {
		struct img_result *res;
		const struct img_spec_entry *e;

		k.desc = cases[i].desc;
		res = kdmv_probe(&k);
		if (!cases[i].ok) {
			assert_damaged(res, "Could not read CID from the descriptor");
			free(res);
			continue;
		}
		assert_ok(res);
		e = &res->spec.e[0];
		assert_string_equal(e->key, "cid");
		assert_int_equal(e->v.u, cases[i].cid);
		assert_string_equal(e[1].key, "parent-cid");
		assert_int_equal(e[1].v.u, cases[i].pcid);
		free(res);
	}
}

static void test_cid_window_edges(void **state)
{
	uint8_t *b;
	struct kdmv k;
	struct img_result *res;

	(void)state;
	kdmv_defaults(&k);
	k.desc = NULL;
	b = kdmv_build(&k);
	/* "CID" in the last bytes of the 20-sector window, no room for digits */
	memset(b + 0x200, 'a', 10240);
	memcpy(b + 0x200 + 10240 - 4, "CID=", 4);
	res = probe_buf(b, IMG_LEN);
	assert_damaged(res, NULL);
	free(res);
	/* the last window byte is forced to NUL: "CID" there is not seen */
	memcpy(b + 0x200 + 10240 - 3, "CID", 3);
	res = probe_buf(b, IMG_LEN);
	assert_damaged(res, NULL);
	free(res);
	/* the same with the volume ending inside the window */
	res = probe_buf(b, 0x200 + 10240 - 1);
	assert_non_null(res->damaged);
	free(res);
	/* a CID past the window is not seen */
	memset(b + 0x200, 'a', 10240);
	memcpy(b + 0x200 + 10240, "CID=1\nparentCID=2\n", 18);
	res = probe_buf(b, IMG_LEN);
	assert_damaged(res, NULL);
	free(res);
	/* the text stops at the first NUL */
	memset(b + 0x200, 0, 10240);
	memcpy(b + 0x200, "x\0CID=1\nparentCID=2\n", 20);
	res = probe_buf(b, IMG_LEN);
	assert_damaged(res, NULL);
	free(res);
	free(b);
}

static void test_parent_hint(void **state)
{
	struct kdmv k;
	struct img_result *res;
	char *desc;

	(void)state;
	kdmv_defaults(&k);
	k.desc = "CID=1\nparentCID=2\nparentFileNameHint=\"/etc/passwd\"\n";
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_bytes(&res->backing_file, "/etc/passwd");
	assert_bytes(&res->backing_format, "vmdk");
	free(res);

	/* control bytes are kept as they are: outputs escape them */
	k.desc = "CID=1\nparentCID=2\nparentFileNameHint=\"a\nb\x01\xff\"\n";
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_bytes(&res->backing_file, "a\nb\x01\xff");
	free(res);

	k.desc = "CID=1\nparentCID=2\nparentFileNameHint=\"\"\n";
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_false(res->backing_file.present);
	assert_false(res->backing_format.present);
	free(res);

	/* the two bytes after the key are skipped unchecked */
	k.desc = "CID=1\nparentCID=2\nparentFileNameHintXXbase\"\n";
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_bytes(&res->backing_file, "base");
	free(res);

	k.desc = "CID=1\nparentCID=2\nparentFileNameHint=\"unterminated\n";
	res = kdmv_probe(&k);
	assert_damaged(res, "Invalid parentFileNameHint");
	free(res);
	k.desc = "CID=1\nparentCID=2\nparentFileNameHint";
	res = kdmv_probe(&k);
	assert_damaged(res, "Invalid parentFileNameHint");
	free(res);

	/* 4095 bytes are accepted (stored up to IMG_STR_MAX - 1), 4096 are not */
	desc = malloc(8192);
	strcpy(desc, "CID=1\nparentCID=2\nparentFileNameHint=\"");
	memset(desc + strlen(desc), 'n', 4095);
	strcpy(desc + 38 + 4095, "\"\n");
	k.desc = desc;
	res = kdmv_probe(&k);
	assert_ok(res);
	assert_int_equal(res->backing_file.len, IMG_STR_MAX - 1);
	free(res);
	strcpy(desc + 38 + 4095, "n\"\n");
	res = kdmv_probe(&k);
	assert_damaged(res, "Invalid parentFileNameHint");
	free(res);
	free(desc);

	/* a hint at the very end of the window: the scan stays inside it */
	{
		uint8_t *b;

		k.desc = NULL;
		k.grain_offset = 0;
		b = kdmv_build(&k);
		memset(b + 0x200, 'a', 10240);
		memcpy(b + 0x200, "CID=1\nparentCID=2\n", 18);
		memcpy(b + 0x200 + 10240 - 18, "parentFileNameHint", 18);
		res = probe_buf(b, IMG_LEN);
		assert_damaged(res, "Invalid parentFileNameHint");
		free(res);
		res = probe_buf(b, 0x200 + 10240);
		assert_damaged(res, "Invalid parentFileNameHint");
		free(res);
		free(b);
	}
}

/* ---- COWD ----------------------------------------------------------------------- */

static uint8_t *cowd_build(uint32_t sectors, uint32_t gran, uint32_t l1size, const char *desc)
{
	uint8_t *b = calloc(1, IMG_LEN);

	assert_non_null(b);
	memcpy(b, "COWD", 4);
	t_put_le32(b + 4, 1);
	t_put_le32(b + 8, 3);
	t_put_le32(b + 12, sectors);
	t_put_le32(b + 16, gran);
	t_put_le32(b + 20, 4);
	t_put_le32(b + 24, l1size);
	t_put_le32(b + 28, 128);
	if (desc)
		memcpy(b + 0x200, desc, strlen(desc));
	return b;
}

static void test_cowd(void **state)
{
	static const char ids[] = "CID=abcdef01\nparentCID=ffffffff\n";
	uint8_t *b;
	struct img_result *res;

	(void)state;
	/* checked against qemu-img 7.2.22 on the same bytes */
	b = cowd_build(4096, 64, 1, ids);
	res = probe_buf(b, IMG_LEN);
	assert_ok(res);
	assert_int_equal(res->version, 1);
	assert_int_equal(res->virtual_size, 2097152);
	assert_int_equal(res->cluster_size, 32768);
	assert_string_equal(res->subformat, "vmfsSparse");
	assert_spec(res, "{\"cid\":2882400001,\"parent-cid\":4294967295,\"create-type\":\"\","
			 "\"extents\":[{\"virtual-size\":2097152,\"filename\":\"<self>\",\"cluster-size\":32768,"
			 "\"format\":\"\"}]}");
	free(res);
	free(b);

	/* a bare ESX COWD file has no descriptor: qemu refuses it */
	b = cowd_build(4096, 64, 1, NULL);
	res = probe_buf(b, IMG_LEN);
	assert_damaged(res, "Could not read CID from the descriptor");
	assert_int_equal(res->virtual_size, 2097152);
	free(res);
	free(b);

	b = cowd_build(UINT32_MAX, 0x200000, 32u * MiB, ids);
	res = probe_buf(b, IMG_LEN);
	assert_ok(res);
	assert_int_equal(res->virtual_size, (uint64_t)UINT32_MAX * 512);
	free(res);
	free(b);
	b = cowd_build(1, 0x200001, 1, ids);
	res = probe_buf(b, IMG_LEN);
	assert_damaged(res, "Invalid granularity, image may be corrupt");
	free(res);
	free(b);
	b = cowd_build(1, UINT32_MAX, 1, ids);
	res = probe_buf(b, IMG_LEN);
	assert_damaged(res, "Invalid granularity, image may be corrupt");
	free(res);
	free(b);
	b = cowd_build(1, 1, 32u * MiB + 1, ids);
	res = probe_buf(b, IMG_LEN);
	assert_damaged(res, "L1 size too big");
	free(res);
	t_truncation_sweep(b, 1024);
	free(b);
	b = cowd_build(0, 0, 0, ids);
	res = probe_buf(b, IMG_LEN);
	assert_ok(res);
	assert_int_equal(res->virtual_size, 0);
	assert_int_equal(res->cluster_size, 0);
	free(res);
	free(b);
}

/* ---- truncated binary headers ----------------------------------------------------- */

static void test_kdmv_truncated(void **state)
{
	struct kdmv k;
	uint8_t *b;

	(void)state;
	kdmv_defaults(&k);
	k.grain_offset = 0;
	b = kdmv_build(&k);
	for (size_t n = 0; n <= 0x200 + 32; n++) { /* CID starts at 0x200 + 32 */
		struct img_result *res = probe_buf(b, n);

		if (n < 4) {
			assert_int_equal(res->format, IMG_FMT_RAW);
		} else {
			/* qemu probes it as vmdk, then cannot open it */
			assert_int_equal(res->format, IMG_FMT_VMDK);
			assert_non_null(res->damaged);
		}
		free(res);
	}
	t_truncation_sweep(b, 0x200 + 512);
	free(b);
}

/* ---- text descriptor probing --------------------------------------------------------- */

static const char flat_tail[] = "CID=1\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
				"RW 100 FLAT \"a.raw\" 0\n";

static void check_text_probe(const char *prefix, bool match, unsigned version)
{
	char buf[2048];
	struct img_result *res = t_result_new();

	snprintf(buf, sizeof(buf), "%s%s", prefix, flat_tail);
	assert_int_equal(t_probe_copy(buf, strlen(buf), res), 0);
	if (!match) {
		assert_int_equal(res->format, IMG_FMT_RAW);
	} else {
		assert_ok(res);
		assert_int_equal(res->version, version);
		assert_int_equal(res->virtual_size, 51200);
	}
	free(res);
}

static void test_text_probe_rule(void **state)
{
	char big[1024];

	(void)state;
	check_text_probe("version=1\n", true, 1);
	check_text_probe("version=2\r\n", true, 2);
	check_text_probe("version=3\n", true, 3);
	check_text_probe("# Disk DescriptorFile\nversion=1\n", true, 1);
	check_text_probe("#\n#\n   \n  \r\nversion=1\n", true, 1);
	check_text_probe("\nversion=1\n", false, 0);      /* qemu: an empty line is raw */
	check_text_probe("\r\nversion=1\n", false, 0);
	check_text_probe("version=4\n", false, 0);
	check_text_probe("version=1 \n", false, 0);
	check_text_probe("version=1\r\r\n", false, 0);
	check_text_probe(" version=1\n", false, 0);
	check_text_probe("\tversion=1\n", false, 0);
	check_text_probe("Version=1\n", false, 0);
	check_text_probe("   x\nversion=1\n", false, 0);

	/* the version line must start within qemu's 512-byte probe buffer */
	memset(big, 0, sizeof(big));
	big[0] = '#';
	memset(big + 1, 'c', 500);
	strcpy(big + 501, "\nversion=1\n");
	check_text_probe(big, true, 1);  /* "version=1\n" at 502..511 */
	strcpy(big + 501, "c\nversion=1\n");
	check_text_probe(big, false, 0); /* at 503: does not fit */

	/* NULs inside a comment are skipped as qemu does */
	{
		char b2[256];
		struct img_result *res;
		size_t n = 0;

		memcpy(b2, "#a\0b\n", 5);
		n = 5;
		memcpy(b2 + n, "version=1\n", 10);
		n += 10;
		memcpy(b2 + n, flat_tail, strlen(flat_tail));
		n += strlen(flat_tail);
		res = t_result_new();
		assert_int_equal(t_probe_copy(b2, n, res), 0);
		/* the descriptor text then stops at the NUL: no createType */
		assert_damaged(res, "invalid VMDK image descriptor");
		free(res);
	}

	check_text_probe("", false, 0);
}

static void test_text_probe_tiny(void **state)
{
	static const char *const tiny[] = { "", "v", "version=1", "version=1\r", "#", " ", "KDM", "COW" };

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(tiny); i++) {
		struct img_result *res = t_result_new();

		assert_int_equal(t_probe_copy(tiny[i], strlen(tiny[i]), res), 0);
		assert_int_equal(res->format, IMG_FMT_RAW);
		free(res);
	}
}

/* ---- descriptor contents ------------------------------------------------------------- */

#define HDR "version=1\nCID=1\nparentCID=ffffffff\n"

static void test_desc_create_type(void **state)
{
	static const char *const ok[] = { "monolithicFlat", "vmfs", "vmfsSparse", "seSparse",
					  "twoGbMaxExtentSparse", "twoGbMaxExtentFlat" };
	char buf[1024];
	struct img_result *res;

	(void)state;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(ok); i++) {
		snprintf(buf, sizeof(buf), HDR "createType=\"%s\"\nRW 8 VMFS \"v\"\n", ok[i]);
		res = probe_str(buf);
		assert_ok(res);
		assert_string_equal(res->subformat, ok[i]);
		assert_int_equal(res->virtual_size, 4096);
		free(res);
	}
	res = probe_str(HDR "createType=\"monolithicSparse\"\nRW 8 VMFS \"v\"\n");
	assert_damaged(res, "Unsupported image type");
	free(res);
	res = probe_str(HDR "createType=\"streamOptimized\"\nRW 8 VMFS \"v\"\n");
	assert_damaged(res, "Unsupported image type");
	free(res);
	res = probe_str(HDR "RW 8 VMFS \"v\"\n");
	assert_damaged(res, "invalid VMDK image descriptor");
	free(res);
	res = probe_str(HDR "createType=\"vmfs");
	assert_damaged(res, "invalid VMDK image descriptor");
	free(res);
	res = probe_str(HDR "createType=");
	assert_damaged(res, "invalid VMDK image descriptor");
	free(res);
	res = probe_str(HDR "createType");
	assert_damaged(res, "invalid VMDK image descriptor");
	free(res);
	/* the first occurrence wins, even in a comment (qemu uses strstr) */
	res = probe_str(HDR "# createType=\"vmfs\"\ncreateType=\"monolithicFlat\"\nRW 8 VMFS \"v\"\n");
	assert_ok(res);
	assert_string_equal(res->subformat, "vmfs");
	free(res);
	/* 127 bytes fit qemu's buffer, 128 do not */
	{
		char v[200];

		memset(v, 'x', 128);
		v[128] = 0;
		snprintf(buf, sizeof(buf), HDR "createType=\"%s\"\n", v);
		res = probe_str(buf);
		assert_damaged(res, "invalid VMDK image descriptor");
		free(res);
		v[127] = 0;
		snprintf(buf, sizeof(buf), HDR "createType=\"%s\"\n", v);
		res = probe_str(buf);
		assert_damaged(res, "Unsupported image type");
		free(res);
	}
}

static void test_desc_extent_lines(void **state)
{
	struct img_result *res;

	(void)state;
	/* checked against qemu-img 7.2.22: RDONLY, sectors 0 and unknown 4-field types skipped */
	res = probe_str(HDR "createType=\"monolithicFlat\"\nRW 100 FLAT \"a.raw\" 0\n"
			    "RDONLY 50 FLAT \"a.raw\" 0\nRW 200 VMFS \"a.raw\"\nRW 0 FLAT \"a.raw\" 0\n"
			    "RW 7 ZERO\nRW -5 SPARSE \"s\"\nRW 9 ZERO \"z\"\nNOACCESS 3 FLAT \"n\" 0\n");
	assert_ok(res);
	assert_int_equal(res->virtual_size, 153600);
	assert_spec(res, "{\"cid\":1,\"parent-cid\":4294967295,\"create-type\":\"monolithicFlat\","
			 "\"extents\":[{\"virtual-size\":51200,\"filename\":\"a.raw\",\"format\":\"FLAT\"},"
			 "{\"virtual-size\":102400,\"filename\":\"a.raw\",\"format\":\"VMFS\"}]}");
	free(res);

	/* sscanf reads on across newlines */
	res = probe_str(HDR "createType=\"monolithicFlat\"\nRW\n100 FLAT\n\"a.raw\" 0\n");
	assert_ok(res);
	assert_int_equal(res->virtual_size, 51200);
	free(res);
	/* ... so a number on the next line becomes the offset of a SPARSE extent */
	res = probe_str(HDR "createType=\"vmfsSparse\"\nRW 100 VMFSSPARSE \"a\"\n5\n");
	assert_damaged(res, "Invalid extent line");
	free(res);

	static const char *const invalid[] = {
		"RW 100 FLAT \"a.raw\"\n",       /* FLAT without offset */
		"RW 100 FLAT \"a.raw\" -1\n",    /* negative offset */
		"RW 100 VMFS \"a.raw\" 0\n",     /* VMFS with offset */
		"RW 100 SPARSE \"a\" 0\n",       /* SPARSE with offset */
		"RW 100 ZERO \"a.raw\" 5\n",     /* unknown type with 5 fields */
		"RW 100 FLAT \"a.raw\" -9223372036854775809\n",
	};
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(invalid); i++) {
		char buf[512];

		snprintf(buf, sizeof(buf), HDR "createType=\"monolithicFlat\"\n%s", invalid[i]);
		res = probe_str(buf);
		assert_damaged(res, "Invalid extent line");
		free(res);
	}

	/* fewer than 4 fields: skipped */
	res = probe_str(HDR "createType=\"monolithicFlat\"\nRW 100 FLAT\nRW 100 FLAT \"\"\n"
			    "RW x FLAT \"a\" 0\nRW 100 FLAT a 0\nRW 100\nRW\nRW 8 VMFS \"v\"\n");
	assert_ok(res);
	assert_int_equal(res->virtual_size, 4096);
	free(res);

	/* a token longer than %10s is split */
	res = probe_str(HDR "createType=\"monolithicFlat\"\nRWRWRWRWRW1 8 VMFS \"v\"\n"
			    "RW 8 VMFSSPARSE1 \"v\"\nRW 8 VMFS \"v\"\n");
	assert_ok(res);
	assert_int_equal(res->virtual_size, 4096);
	free(res);

	/* no extent at all: qemu 7.2 aborts on it */
	res = probe_str(HDR "createType=\"monolithicFlat\"\n");
	assert_damaged(res, "No extents in the descriptor");
	assert_int_equal(res->virtual_size, 0);
	free(res);

	/* missing CID in a descriptor file */
	res = probe_str("version=1\ncreateType=\"monolithicFlat\"\nRW 8 VMFS \"v\"\n");
	assert_damaged(res, "Could not read CID from the descriptor");
	free(res);

	/* hint in a descriptor file */
	res = probe_str(HDR "createType=\"monolithicFlat\"\nparentFileNameHint=\"../base.vmdk\"\n"
			    "RW 8 VMFS \"v\"\n");
	assert_ok(res);
	assert_bytes(&res->backing_file, "../base.vmdk");
	assert_bytes(&res->backing_format, "vmdk");
	free(res);
}

static void test_desc_sizes(void **state)
{
	struct img_result *res;

	(void)state;
	res = probe_str(HDR "createType=\"monolithicFlat\"\nRW 18014398509481983 VMFS \"v\"\n");
	assert_ok(res); /* INT64_MAX / 512 sectors */
	assert_int_equal(res->virtual_size, 18014398509481983ull * 512);
	free(res);
	res = probe_str(HDR "createType=\"monolithicFlat\"\nRW 18014398509481984 VMFS \"v\"\n");
	assert_damaged(res, "Virtual size too large");
	free(res);
	res = probe_str(HDR "createType=\"monolithicFlat\"\nRW 9223372036854775807 VMFS \"v\"\n"
			    "RW 9223372036854775807 VMFS \"v\"\nRW 9223372036854775807 VMFS \"v\"\n");
	assert_damaged(res, "Virtual size too large");
	free(res);
	/* saturating strtoll */
	res = probe_str(HDR "createType=\"monolithicFlat\"\nRW 99999999999999999999999 VMFS \"v\"\n");
	assert_damaged(res, "Virtual size too large");
	free(res);
	res = probe_str(HDR "createType=\"monolithicFlat\"\nRW -99999999999999999999999 VMFS \"v\"\n"
			    "RW 1 VMFS \"v\"\n");
	assert_ok(res);
	assert_int_equal(res->virtual_size, 512);
	free(res);
}

static void test_desc_names(void **state)
{
	char *buf = malloc(4096);
	struct img_result *res;
	size_t n;

	(void)state;
	/* a name longer than %511[ is cut at 511 bytes; the line stays valid for VMFS */
	n = (size_t)sprintf(buf, HDR "createType=\"vmfs\"\nRW 8 VMFS \"");
	memset(buf + n, 'f', 600);
	strcpy(buf + n + 600, "\"\n");
	res = probe_str(buf);
	assert_ok(res);
	assert_int_equal(res->spec.e[3].type, IMG_SPEC_ARR);
	assert_int_equal(res->spec.e[6].type, IMG_SPEC_STR);
	assert_string_equal(res->spec.e[6].key, "filename");
	assert_int_equal(res->spec.e[6].v.str.len, 511);
	free(res);

	/* names are never opened, whatever they say */
	res = probe_str(HDR "createType=\"monolithicFlat\"\nRW 8 FLAT \"/etc/shadow\" 0\n"
			    "RW 8 FLAT \"json:{}\" 0\n");
	assert_ok(res);
	assert_int_equal(res->virtual_size, 8192);
	free(res);
	free(buf);
}

static void test_desc_extent_cap(void **state)
{
	size_t cap = 200 * 64 + 256, n;
	char *buf = malloc(cap);
	struct img_result *res;
	unsigned objs = 0;

	(void)state;
	n = (size_t)sprintf(buf, HDR "createType=\"twoGbMaxExtentFlat\"\n");
	for (unsigned i = 0; i < 200; i++)
		n += (size_t)sprintf(buf + n, "RW 2 FLAT \"e%03u\" 0\n", i);
	res = probe_str(buf);
	assert_ok(res);
	assert_int_equal(res->virtual_size, 200 * 1024);
	assert_true(res->spec.overflow);
	for (unsigned i = 0; i < res->spec.n; i++)
		if (res->spec.e[i].type == IMG_SPEC_OBJ)
			objs++;
	assert_int_equal(objs, 64);
	free(res);
	free(buf);
}

/* a descriptor longer than the 64 KiB parsed: the list is said to be cut, no wrong sum */
static void test_desc_over_limit(void **state)
{
	size_t cap = 5000 * 32 + 256, n;
	char *buf = malloc(cap);
	struct img_result *res;

	(void)state;
	n = (size_t)sprintf(buf, HDR "createType=\"twoGbMaxExtentFlat\"\n");
	for (unsigned i = 0; i < 5000; i++)
		n += (size_t)sprintf(buf + n, "RW 2 FLAT \"e%05u.vmdk\" 0\n", i);
	assert_true(n > 64 * 1024);
	res = probe_buf(buf, n);
	assert_int_equal(res->format, IMG_FMT_VMDK);
	assert_null(res->damaged);
	assert_non_null(res->limit);
	assert_false(res->has_virtual_size);
	assert_true(res->spec.overflow);
	free(res);

	/* the same list cut to fit: every extent counted, no limit */
	n = (size_t)sprintf(buf, HDR "createType=\"twoGbMaxExtentFlat\"\n");
	for (unsigned i = 0; i < 2000; i++)
		n += (size_t)sprintf(buf + n, "RW 2 FLAT \"e%05u.vmdk\" 0\n", i);
	res = probe_buf(buf, n);
	assert_ok(res);
	assert_null(res->limit);
	assert_int_equal(res->virtual_size, 2000 * 1024);
	free(res);
	free(buf);
}

/* empty lines after an extent: each one scans on to that extent, as qemu's sscanf does */
static void test_desc_blank_runs(void **state)
{
	size_t len = 64 * 1024, n;
	char *buf = malloc(len);
	struct img_result *res;

	(void)state;
	n = (size_t)sprintf(buf, HDR "createType=\"monolithicFlat\"\n\n\n\nRW 8 FLAT \"a\" 0\n");
	res = probe_buf(buf, n);
	assert_ok(res);
	assert_int_equal(res->virtual_size, 4 * 8 * 512); /* three blank lines and its own */
	free(res);

	/* one extent, then blank lines to 64 KiB (2 to 4 s of CPU per probe when quadratic) */
	n = (size_t)sprintf(buf, HDR "createType=\"monolithicFlat\"\nRW 32768 FLAT \"x\" 0\n");
	memset(buf + n, '\n', len - n);
	res = probe_buf(buf, len);
	assert_ok(res);
	assert_null(res->limit);
	assert_int_equal(res->virtual_size, 32768 * 512);
	free(res);
	/* blank lines then tokens: every blank line before them counts them again */
	n = (size_t)sprintf(buf, HDR "createType=\"vmfs\"\n");
	memset(buf + n, ' ', 1000);
	for (size_t i = n; i < n + 1000; i += 10)
		buf[i] = '\n';
	strcpy(buf + n + 1000, "RW\n\n8\n\nVMFS\n\"v\"\n");
	res = probe_str(buf);
	assert_ok(res);
	/* 101 lines start in the blank run (the last one runs on into RW): 101 extents */
	assert_int_equal(res->virtual_size, 101 * 8 * 512);
	free(res);
	free(buf);
}

static void test_desc_hostile_text(void **state)
{
	size_t len = 70 * 1024;
	char *buf = malloc(len);
	struct img_result *res;

	(void)state;
	/* a descriptor larger than the parsed window, without a NUL */
	memset(buf, 'R', len);
	memcpy(buf, HDR "createType=\"vmfs\"\n", strlen(HDR "createType=\"vmfs\"\n"));
	res = probe_buf(buf, len);
	assert_int_equal(res->format, IMG_FMT_VMDK);
	assert_null(res->damaged);
	assert_non_null(res->limit);
	assert_false(res->has_virtual_size);
	free(res);
	/* lines of quotes and spaces */
	for (size_t i = 60; i < len; i++)
		buf[i] = "RW 1 FLAT \" \"\n"[i % 14];
	res = probe_buf(buf, len);
	assert_int_equal(res->format, IMG_FMT_VMDK);
	free(res);
	t_truncation_sweep(buf, 600);
	free(buf);

	static const char *const texts[] = {
		HDR "createType=\"monolithicFlat\"\nRW 100 FLAT \"a.raw\" 0\n",
		HDR "createType=\"vmfs\"\nparentFileNameHint=\"p\"\nRW 8 VMFS \"v\"\n",
	};
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(texts); i++)
		t_truncation_sweep(texts[i], strlen(texts[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_sparse),
		cmocka_unit_test(test_fixture_stream),
		cmocka_unit_test(test_fixture_variants),
		cmocka_unit_test(test_fixture_child),
		cmocka_unit_test(test_fixture_split_extent),
		cmocka_unit_test(test_fixture_descriptors),
		cmocka_unit_test(test_fixture_truncation),
		cmocka_unit_test(test_kdmv_basic),
		cmocka_unit_test(test_kdmv_version),
		cmocka_unit_test(test_kdmv_gtes_granularity),
		cmocka_unit_test(test_kdmv_capacity),
		cmocka_unit_test(test_kdmv_offsets),
		cmocka_unit_test(test_kdmv_capacity0_descriptor),
		cmocka_unit_test(test_stream_footer),
		cmocka_unit_test(test_cid_parsing),
		cmocka_unit_test(test_cid_window_edges),
		cmocka_unit_test(test_parent_hint),
		cmocka_unit_test(test_cowd),
		cmocka_unit_test(test_kdmv_truncated),
		cmocka_unit_test(test_text_probe_rule),
		cmocka_unit_test(test_text_probe_tiny),
		cmocka_unit_test(test_desc_create_type),
		cmocka_unit_test(test_desc_extent_lines),
		cmocka_unit_test(test_desc_sizes),
		cmocka_unit_test(test_desc_names),
		cmocka_unit_test(test_desc_extent_cap),
		cmocka_unit_test(test_desc_hostile_text),
		cmocka_unit_test(test_desc_over_limit),
		cmocka_unit_test(test_desc_blank_runs),
	};
	return T_RUN(tests);
}
