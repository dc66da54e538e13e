/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the safety checks (scanner/check/check.c): every check on
 * headers made by qemu-img (the fixtures) and on copies patched to carry
 * what the check rejects, probed by the real probe core.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "testutil.h"

#define BIT(id) (1u << (id))

/* a fixture's head and tail, patched by the test before probing */
struct img {
	uint8_t *head, *tail;
	size_t headlen, taillen;
	uint64_t size;
};

static void img_load(struct img *m, const char *name)
{
	char fn[256];

	memset(m, 0, sizeof(*m));
	snprintf(fn, sizeof(fn), "%s.head", name);
	if (t_fixture_exists(fn))
		m->head = t_fixture(fn, &m->headlen);
	snprintf(fn, sizeof(fn), "%s.tail", name);
	if (t_fixture_exists(fn))
		m->tail = t_fixture(fn, &m->taillen);
	m->size = m->headlen + m->taillen;
	snprintf(fn, sizeof(fn), "%s.size", name);
	if (t_fixture_exists(fn)) {
		size_t n;
		uint8_t *txt = t_fixture(fn, &n);

		m->size = strtoull((const char *)txt, NULL, 10);
		free(txt);
	}
}

/* a raw volume of size bytes whose first bytes are head */
static void img_raw(struct img *m, size_t headlen, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->head = calloc(1, headlen);
	assert_non_null(m->head);
	m->headlen = headlen;
	m->size = size;
}

static struct img_result *img_probe_it(const struct img *m)
{
	struct t_sparse s;
	struct img_reader r;
	struct img_result *res = t_result_new();

	t_sparse_reader(&s, m->head, m->headlen, m->tail, m->taillen, m->size, &r);
	assert_int_equal(img_probe(&r, res), 0);
	t_sparse_free(&s);
	return res;
}

static void img_free(struct img *m)
{
	free(m->head);
	free(m->tail);
}

/* the failed set of a volume under policy p (NULL: the defaults) with content c */
static uint32_t verdict_of(const struct img *m, const struct img_policy *p,
                           const struct img_content *c, struct img_verdict *v)
{
	struct img_policy def;
	struct img_result *res = img_probe_it(m);

	if (!p) {
		img_policy_init(&def);
		p = &def;
	}
	img_verdict_compute(res, c, p, v);
	free(res);
	assert_true(v->safe == (v->failed == 0));
	for (unsigned i = 0; i < _IMG_CHECK_MAX; i++)
		assert_true(!!(v->failed & BIT(i)) == (v->reason[i][0] != '\0'));
	return v->failed;
}

static uint32_t fixture_verdict(const char *name, const struct img_policy *p)
{
	struct img m;
	struct img_verdict v;
	uint32_t f;

	img_load(&m, name);
	f = verdict_of(&m, p, NULL, &v);
	img_free(&m);
	return f;
}

/* ---- clean images are safe ---------------------------------------------------- */

static void test_clean_images(void **state)
{
	static const char *const clean[] = {
		"qcow2-v3", "qcow2-c2m", "qcow2-dirty-corrupt", "qcow2-bitmaps", "qed-1G",
		"vmdk-sparse-1G", "vmdk-stream-1G", "vmdk-vmware-stream-1G", "vdi-1G",
		"vpc-dynamic-1G", "parallels-1G", "bochs-1G", "qcow-1G",
	};

	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(clean); i++) {
		uint32_t f = fixture_verdict(clean[i], NULL);

		if (f)
			fail_msg("%s: failed 0x%x", clean[i], f);
	}
}

/* ---- backing-file ------------------------------------------------------------- */

static void test_backing_file(void **state)
{
	static const char *const backed[] = {
		"qcow2-v3-backing", "qcow2-v2-backing", "qcow2-v3-backing-nofmt", "qed-backing",
		"qed-backing-raw", "qcow-backing", "vmdk-child-1G",
	};

	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(backed); i++)
		if (!(fixture_verdict(backed[i], NULL) & BIT(IMG_CHECK_BACKING_FILE)))
			fail_msg("%s: backing-file passed", backed[i]);
	assert_false(fixture_verdict("qcow2-v3", NULL) & BIT(IMG_CHECK_BACKING_FILE));
}

/* a vmdk whose descriptor gives a parentCID but no parentFileNameHint */
static void test_backing_vmdk_parent_cid(void **state)
{
	struct img m;
	struct img_verdict v;
	char *p;

	(void)state;
	img_load(&m, "vmdk-sparse-1G");
	p = memmem(m.head, m.headlen, "parentCID=ffffffff", 18);
	assert_non_null(p);
	memcpy(p, "parentCID=12345678", 18);
	assert_int_equal(verdict_of(&m, NULL, NULL, &v), BIT(IMG_CHECK_BACKING_FILE));
	assert_non_null(strstr(v.reason[IMG_CHECK_BACKING_FILE], "parentCID"));
	img_free(&m);
}

/* a differencing VHD whose parent name is empty: still a delta of some parent */
static void test_backing_vpc_differencing(void **state)
{
	struct img m;
	struct img_verdict v;
	uint32_t sum = 0;

	(void)state;
	img_load(&m, "vpc-dynamic-1G");
	t_put_be32(m.head + 60, 4); /* disk type 4: differencing */
	for (int i = 0; i < 512; i++)
		if (i < 64 || i >= 68)
			sum += m.head[i];
	t_put_be32(m.head + 64, ~sum);
	assert_int_equal(verdict_of(&m, NULL, NULL, &v), BIT(IMG_CHECK_BACKING_FILE));
	assert_non_null(strstr(v.reason[IMG_CHECK_BACKING_FILE], "differencing"));
	img_free(&m);
}

/* the vhdx parent as the probe reports it (test-fmt-vhdx.c builds such images) */
static void test_backing_vhdx_parent(void **state)
{
	struct img_result *res = t_result_new();
	struct img_policy p;
	struct img_verdict v;

	(void)state;
	img_result_init(res, IMG_FMT_VHDX);
	img_add_feature(res, IMG_FEAT_OTHER, 1, "has_parent");
	img_policy_init(&p);
	img_verdict_compute(res, NULL, &p, &v);
	assert_int_equal(v.failed, BIT(IMG_CHECK_BACKING_FILE));
	assert_non_null(strstr(v.reason[IMG_CHECK_BACKING_FILE], "parent"));
	free(res);
}

/* ---- data-file ------------------------------------------------------------------ */

static void test_data_file(void **state)
{
	struct img m;
	struct img_verdict v;

	(void)state;
	/* qemu-img's external data file: the bit and the extension */
	assert_true(fixture_verdict("qcow2-datafile-raw", NULL) & BIT(IMG_CHECK_DATA_FILE));

	/* the bit alone, without the extension naming a file (qemu then refuses or asks) */
	img_load(&m, "qcow2-v3");
	m.head[72 + 7] |= 1u << 2;
	assert_true(verdict_of(&m, NULL, NULL, &v) & BIT(IMG_CHECK_DATA_FILE));
	assert_non_null(strstr(v.reason[IMG_CHECK_DATA_FILE], "bit"));
	img_free(&m);

	/* a v2 header has no feature bits: the same bytes there mean nothing */
	img_load(&m, "qcow2-v2-backing");
	m.head[72 + 7] |= 1u << 2;
	assert_false(verdict_of(&m, NULL, NULL, &v) & BIT(IMG_CHECK_DATA_FILE));
	img_free(&m);
}

/* ---- unknown-features ------------------------------------------------------------ */

static void test_unknown_features(void **state)
{
	struct img m;
	struct img_verdict v;

	(void)state;
	/* known incompatible bits (dirty, corrupt) are not unknown */
	assert_false(fixture_verdict("qcow2-dirty-corrupt", NULL) & BIT(IMG_CHECK_UNKNOWN_FEATURES));

	img_load(&m, "qcow2-v3");
	m.head[72 + 7] |= 1u << 6; /* incompatible bit 6: unassigned */
	assert_true(verdict_of(&m, NULL, NULL, &v) & BIT(IMG_CHECK_UNKNOWN_FEATURES));
	assert_non_null(strstr(v.reason[IMG_CHECK_UNKNOWN_FEATURES], "bit 6"));
	img_free(&m);

	/* an unknown compatible bit is harmless: qemu ignores it */
	img_load(&m, "qcow2-v3");
	m.head[80 + 7] |= 1u << 5;
	assert_false(verdict_of(&m, NULL, NULL, &v) & BIT(IMG_CHECK_UNKNOWN_FEATURES));
	img_free(&m);

	/* a qcow2 version imgscan does not know */
	img_load(&m, "qcow2-v3");
	m.head[7] = 4;
	assert_true(verdict_of(&m, NULL, NULL, &v) & BIT(IMG_CHECK_UNKNOWN_FEATURES));
	assert_true(v.failed & BIT(IMG_CHECK_DAMAGED));
	assert_non_null(strstr(v.reason[IMG_CHECK_UNKNOWN_FEATURES], "version 4"));
	img_free(&m);

	/* a VDI header version other than 1.1 */
	img_load(&m, "vdi-1G");
	t_put_le32(m.head + 68, 0x00010002);
	assert_true(verdict_of(&m, NULL, NULL, &v) & BIT(IMG_CHECK_UNKNOWN_FEATURES));
	img_free(&m);

	/* a vmdk version 4 */
	img_load(&m, "vmdk-sparse-1G");
	t_put_le32(m.head + 4, 4);
	assert_true(verdict_of(&m, NULL, NULL, &v) & BIT(IMG_CHECK_UNKNOWN_FEATURES));
	img_free(&m);
}

/* ---- vmdk-extent ---------------------------------------------------------------- */

static void replace(struct img *m, const char *from, const char *to)
{
	size_t lf = strlen(from), lt = strlen(to);
	char *p = memmem(m->head, m->headlen, from, lf);

	assert_non_null(p);
	assert_true(lt <= lf);
	memcpy(p, to, lt);
	memset(p + lt, ' ', lf - lt);
}

static void test_vmdk_extent(void **state)
{
	struct img m;
	struct img_verdict v;

	(void)state;
	/* descriptor files: their extents are other files */
	assert_true(fixture_verdict("vmdk-desc-flat-1G", NULL) & BIT(IMG_CHECK_VMDK_EXTENT));
	assert_true(fixture_verdict("vmdk-desc-2gbsparse-1G", NULL) & BIT(IMG_CHECK_VMDK_EXTENT));

	/* a sparse image's embedded descriptor naming /etc/hosts */
	img_load(&m, "vmdk-sparse-1G");
	replace(&m, "\"monolithicSparse.vmdk\"", "\"/etc/hosts\"");
	assert_int_equal(verdict_of(&m, NULL, NULL, &v), BIT(IMG_CHECK_VMDK_EXTENT));
	assert_non_null(strstr(v.reason[IMG_CHECK_VMDK_EXTENT], "embedded"));
	img_free(&m);

	/* ... a device */
	img_load(&m, "vmdk-sparse-1G");
	replace(&m, "\"monolithicSparse.vmdk\"", "\"/dev/sda\"");
	assert_int_equal(verdict_of(&m, NULL, NULL, &v), BIT(IMG_CHECK_VMDK_EXTENT));
	assert_non_null(strstr(v.reason[IMG_CHECK_VMDK_EXTENT], "device"));
	img_free(&m);

	/* ... a FLAT extent of another file in the same directory */
	img_load(&m, "vmdk-sparse-1G");
	replace(&m, "SPARSE \"monolithicSparse.vmdk\"", "FLAT \"other.raw\" 0");
	assert_int_equal(verdict_of(&m, NULL, NULL, &v), BIT(IMG_CHECK_VMDK_EXTENT));
	img_free(&m);

	/* a renamed image (another bare name) is the image itself to qemu */
	img_load(&m, "vmdk-sparse-1G");
	replace(&m, "\"monolithicSparse.vmdk\"", "\"renamed.vmdk\"");
	assert_int_equal(verdict_of(&m, NULL, NULL, &v), 0);
	img_free(&m);

	/* a descriptor cut at imgscan's own limit: the rest of its extents is unchecked */
	{
		struct img_policy p;
		struct img_result *res;

		img_load(&m, "vmdk-sparse-1G");
		res = img_probe_it(&m);
		img_free(&m);
		img_policy_init(&p);
		img_verdict_compute(res, NULL, &p, &v);
		assert_true(v.safe);
		res->limit = "vmdk: the descriptor is longer than imgscan parses";
		img_verdict_compute(res, NULL, &p, &v);
		assert_int_equal(v.failed, BIT(IMG_CHECK_VMDK_EXTENT));
		assert_non_null(strstr(v.reason[IMG_CHECK_VMDK_EXTENT], "not all checked"));
		free(res);
	}
}

/* ---- vmdk-create-type ------------------------------------------------------------ */

static void test_vmdk_create_type(void **state)
{
	struct img_policy p;
	const char *bad;
	size_t bad_len;

	(void)state;
	assert_true(fixture_verdict("vmdk-desc-flat-1G", NULL) & BIT(IMG_CHECK_VMDK_CREATE_TYPE));
	assert_false(fixture_verdict("vmdk-stream-1G", NULL) & BIT(IMG_CHECK_VMDK_CREATE_TYPE));

	img_policy_init(&p);
	assert_int_equal(img_vmdk_types_parse_list("monolithicFlat", &p.vmdk_types, &bad, &bad_len), 0);
	assert_false(fixture_verdict("vmdk-desc-flat-1G", &p) & BIT(IMG_CHECK_VMDK_CREATE_TYPE));
	assert_true(fixture_verdict("vmdk-sparse-1G", &p) & BIT(IMG_CHECK_VMDK_CREATE_TYPE));

	assert_int_equal(img_vmdk_types_parse_list("monolithicSparse,bogus", &p.vmdk_types, &bad,
	                                           &bad_len),
	                 -EINVAL);
	assert_int_equal(bad_len, 5);
	assert_memory_equal(bad, "bogus", 5);
}

/* ---- vmdk-footer ---------------------------------------------------------------- */

static void test_vmdk_footer(void **state)
{
	struct img m;
	struct img_verdict v;

	(void)state;
	/* VMware's stream-optimized image: header and footer agree */
	assert_int_equal(fixture_verdict("vmdk-vmware-stream-1G", NULL), 0);

	/* the footer (qemu's view) says 2 TiB, the first header 1 GiB */
	img_load(&m, "vmdk-vmware-stream-1G");
	assert_int_equal(m.taillen, 1536);
	assert_memory_equal(m.tail + 512, "KDMV", 4);
	t_put_le64(m.tail + 512 + 12, 4ull << 32);
	assert_int_equal(verdict_of(&m, NULL, NULL, &v), BIT(IMG_CHECK_VMDK_FOOTER));
	img_free(&m);
}

/* ---- ambiguous -------------------------------------------------------------------- */

static void test_ambiguous(void **state)
{
	struct img m;
	struct img_verdict v;
	struct img_content c;

	(void)state;
	assert_true(fixture_verdict("iso-qcow2-polyglot", NULL) & BIT(IMG_CHECK_AMBIGUOUS));

	/* a qcow2 header on a device udev's blkid calls udf */
	img_load(&m, "qcow2-v3");
	memset(&c, 0, sizeof(c));
	c.present = true;
	strcpy(c.type, "udf");
	assert_int_equal(verdict_of(&m, NULL, &c, &v), BIT(IMG_CHECK_AMBIGUOUS));
	assert_non_null(strstr(v.reason[IMG_CHECK_AMBIGUOUS], "udf"));
	/* bytes from the volume reach a reason as printable ASCII only */
	strcpy(c.type, "u\033[2Jd\xff");
	assert_int_equal(verdict_of(&m, NULL, &c, &v), BIT(IMG_CHECK_AMBIGUOUS));
	assert_non_null(strstr(v.reason[IMG_CHECK_AMBIGUOUS], "u?[2Jd?"));
	/* a raw volume with a filesystem is not ambiguous */
	img_free(&m);
	img_raw(&m, 4096, 1 << 20);
	assert_int_equal(verdict_of(&m, NULL, &c, &v), 0);
	img_free(&m);
}

/* ---- damaged -------------------------------------------------------------------- */

static void test_damaged(void **state)
{
	struct img m;
	struct img_verdict v;

	(void)state;
	img_load(&m, "qcow2-v3");
	m.head[23] = 8; /* cluster_bits 8: qemu refuses */
	assert_int_equal(verdict_of(&m, NULL, NULL, &v), BIT(IMG_CHECK_DAMAGED));
	assert_string_equal(v.reason[IMG_CHECK_DAMAGED], "Unsupported cluster size");
	img_free(&m);
}

/* ---- format-mismatch, format-denied, virtual-size --------------------------------- */

static void test_format_mismatch(void **state)
{
	struct img_policy p;
	struct img m;
	struct img_verdict v;

	(void)state;
	img_policy_init(&p);
	p.expect_set = true;
	p.expect = IMG_FMT_RAW;
	/* a guest wrote a qcow2 header into its raw volume */
	assert_int_equal(fixture_verdict("qcow2-v3", &p), BIT(IMG_CHECK_FORMAT_MISMATCH));
	/* a damaged header is still a header */
	img_load(&m, "qcow2-v3");
	m.head[23] = 8;
	assert_true(verdict_of(&m, &p, NULL, &v) & BIT(IMG_CHECK_FORMAT_MISMATCH));
	img_free(&m);
	img_raw(&m, 4096, 1 << 20);
	assert_int_equal(verdict_of(&m, &p, NULL, &v), 0);

	/* an image expected where the volume is raw */
	p.expect = IMG_FMT_QCOW2;
	assert_int_equal(verdict_of(&m, &p, NULL, &v), BIT(IMG_CHECK_FORMAT_MISMATCH));
	assert_non_null(strstr(v.reason[IMG_CHECK_FORMAT_MISMATCH], "raw"));
	img_free(&m);
	assert_int_equal(fixture_verdict("qcow2-v3", &p), 0);
	/* qcow (v1) is not qcow2 */
	assert_int_equal(fixture_verdict("qcow-1G", &p), BIT(IMG_CHECK_FORMAT_MISMATCH));
}

static void test_format_denied(void **state)
{
	struct img_policy p;
	const char *bad;
	size_t bad_len;

	(void)state;
	img_policy_init(&p);
	assert_int_equal(img_format_parse_list("qed,vpc", &p.deny, &bad, &bad_len), 0);
	assert_int_equal(fixture_verdict("qed-1G", &p), BIT(IMG_CHECK_FORMAT_DENIED));
	assert_int_equal(fixture_verdict("qcow2-v3", &p), 0);
	/* iso is content, not a format qemu opens; unknown names are refused */
	assert_int_equal(img_format_parse_list("iso", &p.deny, &bad, &bad_len), -EINVAL);
	assert_int_equal(img_format_parse_list("qcow3", &p.deny, &bad, &bad_len), -EINVAL);
	assert_int_equal(img_format_parse_list("raw,,qcow2", &p.deny, &bad, &bad_len), 0);
	assert_int_equal(p.deny, BIT(IMG_FMT_RAW) | BIT(IMG_FMT_QCOW2));
}

static void test_virtual_size(void **state)
{
	struct img_policy p;
	struct img_verdict v;
	struct img m;
	struct img_result *res;

	(void)state;
	img_load(&m, "qcow2-v3");
	res = img_probe_it(&m);
	assert_true(res->has_virtual_size);
	img_policy_init(&p);
	p.max_virtual_size_set = true;
	p.max_virtual_size = res->virtual_size;
	assert_int_equal(verdict_of(&m, &p, NULL, &v), 0);
	p.max_virtual_size = res->virtual_size - 1;
	assert_int_equal(verdict_of(&m, &p, NULL, &v), BIT(IMG_CHECK_VIRTUAL_SIZE));
	assert_non_null(strstr(v.reason[IMG_CHECK_VIRTUAL_SIZE], "--max-virtual-size"));
	p.max_virtual_size_set = false;
	assert_int_equal(verdict_of(&m, &p, NULL, &v), 0);
	/* a raw volume has no virtual size to limit */
	img_free(&m);
	img_raw(&m, 4096, 1 << 20);
	p.max_virtual_size_set = true;
	p.max_virtual_size = 0;
	assert_int_equal(verdict_of(&m, &p, NULL, &v), 0);
	img_free(&m);
	free(res);
}

/* ---- partition-table ---------------------------------------------------------------- */

static void mbr_entry(uint8_t *sec, unsigned i, uint8_t boot, uint8_t type, uint32_t start,
                      uint32_t n)
{
	uint8_t *e = sec + 446 + 16 * i;

	e[0] = boot;
	e[4] = type;
	t_put_le32(e + 8, start);
	t_put_le32(e + 12, n);
	sec[510] = 0x55;
	sec[511] = 0xaa;
}

static uint32_t mbr_verdict(const uint8_t *sec, const char *pttype, const char *usage,
                            struct img_verdict *v)
{
	struct img m;
	struct img_content c;
	uint32_t f;

	img_raw(&m, 4096, 64 << 20);
	memcpy(m.head, sec, 512);
	memset(&c, 0, sizeof(c));
	c.probed = pttype != NULL;
	if (pttype && *pttype) {
		c.present = true;
		strcpy(c.pttype, pttype);
	}
	if (usage) {
		c.present = true;
		strcpy(c.usage, usage);
		strcpy(c.type, "vfat");
	}
	img_mbr_parse(m.head, m.headlen, &c.mbr);
	f = verdict_of(&m, NULL, &c, v);
	img_free(&m);
	return f;
}

static void test_partition_table(void **state)
{
	uint8_t sec[512];
	struct img_verdict v;

	(void)state;
	/* a sane DOS table */
	memset(sec, 0, sizeof(sec));
	mbr_entry(sec, 0, 0x80, 0x83, 2048, 4096);
	mbr_entry(sec, 1, 0x00, 0x82, 6144, 4096);
	assert_int_equal(mbr_verdict(sec, "dos", NULL, &v), 0);
	/* a boot flag other than 0x00/0x80 */
	sec[446 + 16] = 0x01;
	assert_int_equal(mbr_verdict(sec, "dos", NULL, &v), BIT(IMG_CHECK_PARTITION_TABLE));
	assert_non_null(strstr(v.reason[IMG_CHECK_PARTITION_TABLE], "0x01"));
	/* ... but a filesystem boot sector's code is not a table */
	assert_int_equal(mbr_verdict(sec, "", "filesystem", &v), 0);

	/* a protective entry beside another */
	memset(sec, 0, sizeof(sec));
	mbr_entry(sec, 0, 0x00, 0xee, 1, 0xffffffff);
	assert_int_equal(mbr_verdict(sec, "gpt", NULL, &v), 0);
	mbr_entry(sec, 1, 0x00, 0x83, 2048, 4096);
	assert_int_equal(mbr_verdict(sec, "gpt", NULL, &v), BIT(IMG_CHECK_PARTITION_TABLE));
	/* a protective MBR without a GPT libblkid accepts */
	memset(sec, 0, sizeof(sec));
	mbr_entry(sec, 0, 0x00, 0xee, 1, 0xffffffff);
	assert_int_equal(mbr_verdict(sec, "", NULL, &v), BIT(IMG_CHECK_PARTITION_TABLE));
	/* without libblkid's view (udev), only the entries are checked */
	assert_int_equal(mbr_verdict(sec, NULL, NULL, &v), 0);
	/* a GPT libblkid found whose MBR is not protective */
	memset(sec, 0, sizeof(sec));
	mbr_entry(sec, 0, 0x00, 0x83, 1, 100);
	assert_int_equal(mbr_verdict(sec, "gpt", NULL, &v), BIT(IMG_CHECK_PARTITION_TABLE));
	/* no 55 AA: no table */
	sec[511] = 0;
	assert_int_equal(mbr_verdict(sec, "", NULL, &v), 0);
}

/* ---- policy and names -------------------------------------------------------------- */

static void test_allow(void **state)
{
	struct img_policy p;
	const char *bad;
	size_t bad_len;

	(void)state;
	img_policy_init(&p);
	assert_int_equal(img_check_parse_list("backing-file", &p.allow, &bad, &bad_len), 0);
	assert_int_equal(fixture_verdict("qcow2-v3-backing", &p), 0);
	assert_int_equal(img_check_parse_list("backing-file,nope", &p.allow, &bad, &bad_len), -EINVAL);
	assert_memory_equal(bad, "nope", 4);
}

static void test_names(void **state)
{
	struct img_verdict v;
	char buf[256];

	(void)state;
	for (unsigned i = 0; i < _IMG_CHECK_MAX; i++) {
		const char *n = img_check_name((enum img_check_id)i);

		assert_non_null(n);
		assert_non_null(img_check_summary((enum img_check_id)i));
		assert_int_equal(img_check_by_name(n, strlen(n)), (int)i);
		for (const char *c = n; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') || *c == '-');
	}
	assert_null(img_check_name(_IMG_CHECK_MAX));
	assert_int_equal(img_check_by_name("backing", 7), -1);

	memset(&v, 0, sizeof(v));
	v.failed = BIT(IMG_CHECK_BACKING_FILE) | BIT(IMG_CHECK_PARTITION_TABLE);
	assert_int_equal(img_verdict_list(&v, buf, sizeof(buf)), strlen("backing-file,partition-table"));
	assert_string_equal(buf, "backing-file,partition-table");
	/* too small: whole tokens only */
	img_verdict_list(&v, buf, 16);
	assert_string_equal(buf, "backing-file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_images),
		cmocka_unit_test(test_backing_file),
		cmocka_unit_test(test_backing_vmdk_parent_cid),
		cmocka_unit_test(test_backing_vpc_differencing),
		cmocka_unit_test(test_backing_vhdx_parent),
		cmocka_unit_test(test_data_file),
		cmocka_unit_test(test_unknown_features),
		cmocka_unit_test(test_vmdk_extent),
		cmocka_unit_test(test_vmdk_create_type),
		cmocka_unit_test(test_vmdk_footer),
		cmocka_unit_test(test_ambiguous),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_format_mismatch),
		cmocka_unit_test(test_format_denied),
		cmocka_unit_test(test_virtual_size),
		cmocka_unit_test(test_partition_table),
		cmocka_unit_test(test_allow),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
