/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for qcow2 --deep (qcow2-deep.c): snapshots, bitmaps,
 * LUKS encryption details and image-end-offset.  Expected strings are
 * `qemu-img info --output=json | jq -c` and `qemu-img check --output=json`
 * of qemu-img 7.2.22 on the fixtures (fixtures/README); hostile cases use
 * images built in memory (docs/interop/qcow2.rst layouts).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ---- a reader over an exact-size heap copy, with a byte budget ----------- */

struct budget_src {
	uint8_t *buf;
	size_t len;
	uint64_t used, cap;
};

static int budget_get(void *ctx, uint64_t off, size_t len, const uint8_t **ret)
{
	struct budget_src *b = ctx;

	if (b->used + len > b->cap)
		return -E2BIG;
	b->used += len;
	assert_true(off + len <= b->len);
	*ret = b->buf + off;
	return 0;
}

/* probe buf[0..len) as qcow2 with IMG_PROBE_DEEP (unless !deep) */
static int deep_probe(const uint8_t *buf, size_t len, uint64_t cap, bool deep,
                      struct img_result *res)
{
	struct budget_src b = { .len = len, .cap = cap };
	struct img_reader r = { 0 };
	int rc;

	b.buf = malloc(len ? len : 1);
	assert_non_null(b.buf);
	if (len)
		memcpy(b.buf, buf, len);
	r.ctx = &b;
	r.size = len;
	r.block_size = 512;
	r.flags = deep ? IMG_PROBE_DEEP : 0;
	r.get = budget_get;
	r.trace = NULL;
	rc = img_probe_format(&r, IMG_FMT_QCOW2, res);
	free(b.buf);
	return rc;
}

/* ---- compact JSON of a tree (t_spec_json) -------------------------------- */

/* the value of the container entry named key at depth 0 of s, as JSON; "" when absent */
static void render_key(const struct img_spec *s, const char *key, char *out, size_t cap)
{
	unsigned depth = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < s->n; i++) {
		const struct img_spec_entry *e = &s->e[i];

		if (depth == 0 && e->key && strcmp(e->key, key) == 0 &&
		    (e->type == IMG_SPEC_OBJ || e->type == IMG_SPEC_ARR)) {
			t_spec_json(s, (int)i, out, cap);
			return;
		}
		if (e->type == IMG_SPEC_OBJ || e->type == IMG_SPEC_ARR)
			depth++;
		else if (e->type == IMG_SPEC_END)
			depth--;
	}
}

/* the depth-0 keys of s, comma separated */
static void keys_of(const struct img_spec *s, char *out, size_t cap)
{
	unsigned depth = 0;
	size_t o = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < s->n; i++) {
		const struct img_spec_entry *e = &s->e[i];

		if (depth == 0 && e->type != IMG_SPEC_END)
			o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s", o ? "," : "",
			                      e->key);
		if (e->type == IMG_SPEC_OBJ || e->type == IMG_SPEC_ARR)
			depth++;
		else if (e->type == IMG_SPEC_END)
			depth--;
	}
	assert_true(o < cap);
}

/* ---- fixtures ---------------------------------------------------------- */

static uint8_t *load_layout(const char *name, size_t *ret_len)
{
	char fn[128];
	size_t hl, tl = 0, sl;
	uint8_t *head, *tail = NULL, *sz, *img;
	unsigned long long size;

	snprintf(fn, sizeof(fn), "%s.head", name);
	head = t_fixture(fn, &hl);
	snprintf(fn, sizeof(fn), "%s.size", name);
	sz = t_fixture(fn, &sl);
	assert_int_equal(sscanf((const char *)sz, "%llu", &size), 1);
	free(sz);
	snprintf(fn, sizeof(fn), "%s.tail", name);
	if (t_fixture_exists(fn))
		tail = t_fixture(fn, &tl);
	assert_true(hl + tl <= size && size <= (64u << 20));
	img = calloc(1, (size_t)size);
	assert_non_null(img);
	memcpy(img, head, hl);
	if (tail)
		memcpy(img + size - tl, tail, tl);
	free(head);
	free(tail);
	*ret_len = (size_t)size;
	return img;
}

#define SNAP_WANT                                                                                 \
	"[{\"icount\":0,\"vm-clock-nsec\":0,\"name\":\"first\",\"date-sec\":1796035357,"         \
	"\"date-nsec\":216745000,\"vm-clock-sec\":0,\"id\":\"1\",\"vm-state-size\":0},"          \
	"{\"icount\":0,\"vm-clock-nsec\":0,\"name\":\"zweiter Stand\",\"date-sec\":1796035357,"  \
	"\"date-nsec\":323903000,\"vm-clock-sec\":0,\"id\":\"2\",\"vm-state-size\":0}]"
#define BITMAPS_WANT                                                                              \
	"[{\"flags\":[\"auto\"],\"name\":\"dirty0\",\"granularity\":4096},"                      \
	"{\"flags\":[],\"name\":\"off1\",\"granularity\":1048576}]"

static void test_fixture_snap(void **state)
{
	struct img_result *res = t_result_new();
	char buf[4096];
	size_t len;
	uint8_t *img = load_layout("qcow2-deep-snap", &len);

	(void)state;
	assert_int_equal(deep_probe(img, len, 64u << 20, true, res), 0);
	assert_int_equal(res->format, IMG_FMT_QCOW2);
	assert_null(res->damaged);
	assert_null(res->deep_incomplete);
	render_key(&res->top, "snapshots", buf, sizeof(buf));
	assert_string_equal(buf, SNAP_WANT);
	render_key(&res->spec, "bitmaps", buf, sizeof(buf));
	assert_string_equal(buf, BITMAPS_WANT);
	keys_of(&res->spec, buf, sizeof(buf));
	assert_string_equal(buf, "compat,compression-type,lazy-refcounts,bitmaps,refcount-bits,"
	                         "corrupt,extended-l2");
	assert_true(res->has_image_end_offset);
	assert_int_equal(res->image_end_offset, 69632); /* qemu-img check */

	/* without --deep: the header facts only */
	assert_int_equal(deep_probe(img, len, 64u << 20, false, res), 0);
	assert_int_equal(res->top.n, 0);
	assert_false(res->has_image_end_offset);
	render_key(&res->spec, "bitmaps", buf, sizeof(buf));
	assert_string_equal(buf, "");
	assert_int_equal(res->snapshots, 2);
	assert_int_equal(res->bitmaps, 2);

	/* a budget too small for the tables: incomplete, never damaged */
	for (uint64_t cap = 40960; cap < 90000; cap += 4096) {
		assert_int_equal(deep_probe(img, len, cap, true, res), 0);
		assert_int_equal(res->format, IMG_FMT_QCOW2);
		assert_null(res->damaged);
		if (!res->has_image_end_offset)
			assert_non_null(res->deep_incomplete);
	}
	free(img);
	free(res);
}

#define LUKS_WANT                                                                                 \
	"{\"ivgen-alg\":\"plain64\",\"hash-alg\":\"sha256\",\"cipher-alg\":\"aes-256\","          \
	"\"uuid\":\"f6b06fa2-3e49-420d-94da-1fe8b8241c3b\",\"format\":\"luks\","                  \
	"\"cipher-mode\":\"xts\",\"slots\":[{\"active\":true,\"iters\":1000,\"key-offset\":4096," \
	"\"stripes\":4000},{\"active\":false,\"key-offset\":262144},"                             \
	"{\"active\":false,\"key-offset\":520192},{\"active\":false,\"key-offset\":778240},"      \
	"{\"active\":false,\"key-offset\":1036288},{\"active\":false,\"key-offset\":1294336},"    \
	"{\"active\":false,\"key-offset\":1552384},{\"active\":false,\"key-offset\":1810432}],"   \
	"\"payload-offset\":2097152,\"master-key-iters\":1000}"

static void test_fixture_luks(void **state)
{
	struct img_result *res = t_result_new();
	char buf[4096];
	size_t len;
	uint8_t *img = load_layout("qcow2-deep-luks", &len);

	(void)state;
	assert_int_equal(deep_probe(img, len, 64u << 20, true, res), 0);
	assert_null(res->damaged);
	assert_int_equal(res->encryption, IMG_ENC_LUKS);
	render_key(&res->spec, "encrypt", buf, sizeof(buf));
	assert_string_equal(buf, LUKS_WANT);
	keys_of(&res->spec, buf, sizeof(buf));
	assert_string_equal(buf, "compat,compression-type,lazy-refcounts,refcount-bits,encrypt,"
	                         "corrupt,extended-l2");

	/* the udev path (no --deep) never reads the LUKS header */
	assert_int_equal(deep_probe(img, len, 64u << 20, false, res), 0);
	render_key(&res->spec, "encrypt", buf, sizeof(buf));
	assert_string_equal(buf, "{\"format\":\"luks\"}");

	/* hostile LUKS headers: damaged with qemu's words, never a crash */
	{
		uint8_t *bad = malloc(len);

		assert_non_null(bad);
		memcpy(bad, img, len);
		bad[262144] = 'X';
		assert_int_equal(deep_probe(bad, len, 64u << 20, true, res), 0);
		assert_string_equal(res->damaged, "Volume is not in LUKS format");
		memcpy(bad, img, len);
		bad[262144 + 7] = 2;
		assert_int_equal(deep_probe(bad, len, 64u << 20, true, res), 0);
		assert_string_equal(res->damaged, "Unsupported LUKS version");
		memcpy(bad, img, len);
		memset(bad + 262144 + 8, 'a', 32); /* cipher name without NUL */
		assert_int_equal(deep_probe(bad, len, 64u << 20, true, res), 0);
		assert_string_equal(res->damaged, "LUKS header cipher name is not NUL terminated");
		/* FDE length shorter than the header */
		memcpy(bad, img, len);
		t_put_be64(bad + 112 + 8 + 8, 591);
		assert_int_equal(deep_probe(bad, len, 64u << 20, true, res), 0);
		assert_string_equal(res->damaged, "Request for data outside of extension header");
		/* FDE offset past the end: zeros, as qemu reads them */
		memcpy(bad, img, len);
		t_put_be64(bad + 112 + 8, 1ull << 40);
		assert_int_equal(deep_probe(bad, len, 64u << 20, true, res), 0);
		assert_string_equal(res->damaged, "Volume is not in LUKS format");
		t_put_be64(bad + 112 + 8, UINT64_MAX & ~0xffffull);
		assert_int_equal(deep_probe(bad, len, 64u << 20, true, res), 0);
		assert_non_null(res->damaged);
		/* the header cut at every length from its end */
		for (size_t cut = 262144; cut <= len; cut += 37) {
			assert_int_equal(deep_probe(img, cut, 64u << 20, true, res), 0);
			assert_int_equal(res->format, IMG_FMT_QCOW2);
		}
		free(bad);
	}
	free(img);
	free(res);
}

/* ---- images built in memory -------------------------------------------- */

/*
 * 512-byte clusters, 1 MiB virtual: header at 0, refcount table at cluster
 * 1, refcount block at 2, L1 at 3, snapshot table at 4 (2 clusters), bitmap
 * directory at 6, then free clusters up to B_CLUSTERS.
 */
#define B_CB 9
#define B_CS 512u
#define B_CLUSTERS 64u
#define B_SIZE (B_CLUSTERS * B_CS)
#define B_SNAP (4 * B_CS)
#define B_BMDIR (6 * B_CS)

static void build(uint8_t *img, unsigned order, unsigned used_clusters)
{
	memset(img, 0, B_SIZE);
	memcpy(img, "QFI\xfb", 4);
	t_put_be32(img + 4, 3);
	t_put_be32(img + 20, B_CB);
	t_put_be64(img + 24, 1u << 20);
	t_put_be32(img + 36, 32); /* (1 MiB) / (512 * 64) */
	t_put_be64(img + 40, 3 * B_CS);
	t_put_be64(img + 48, 1 * B_CS);
	t_put_be32(img + 56, 1);
	t_put_be32(img + 96, order);
	t_put_be32(img + 100, 104);
	t_put_be64(img + B_CS, 2 * B_CS);
	/* refcount 1 for clusters [0, used) in the block at cluster 2 */
	for (unsigned c = 0; c < used_clusters; c++) {
		unsigned bits = 1u << order;
		uint64_t bit = (uint64_t)c * bits;
		uint8_t *p = img + 2 * B_CS;

		if (order < 3)
			p[bit / 8] |= (uint8_t)(1u << (bit % 8));
		else
			p[bit / 8 + bits / 8 - 1] = 1; /* big-endian 1 */
	}
}

/* snapshot entry at *off: 40-byte header, extra, id, name; returns the next offset */
static size_t put_snap(uint8_t *img, size_t off, const char *id, const char *name,
                       uint32_t extra_size, uint64_t icount)
{
	size_t idl = strlen(id), nl = strlen(name);

	off = (off + 7) & ~(size_t)7;
	t_put_be64(img + off, 3 * B_CS);
	t_put_be32(img + off + 8, 32);
	t_put_be16(img + off + 12, (uint16_t)idl);
	t_put_be16(img + off + 14, (uint16_t)nl);
	t_put_be32(img + off + 16, 1700000000);
	t_put_be32(img + off + 20, 5);
	t_put_be64(img + off + 24, 3000000007ull);
	t_put_be32(img + off + 32, 77);
	t_put_be32(img + off + 36, extra_size);
	if (extra_size >= 8)
		t_put_be64(img + off + 40, 1ull << 33);
	if (extra_size >= 16)
		t_put_be64(img + off + 48, 1u << 20);
	if (extra_size >= 24)
		t_put_be64(img + off + 56, icount);
	off += 40 + extra_size;
	memcpy(img + off, id, idl);
	memcpy(img + off + idl, name, nl);
	return off + idl + nl;
}

static void set_snaps(uint8_t *img, uint32_t n, uint64_t off)
{
	t_put_be32(img + 60, n);
	t_put_be64(img + 64, off);
}

static void test_snapshots_built(void **state)
{
	struct img_result *res = t_result_new();
	uint8_t *img = malloc(B_SIZE);
	char buf[2048];
	size_t o;

	(void)state;
	assert_non_null(img);
	build(img, 4, 8);
	o = put_snap(img, B_SNAP, "1", "with icount", 24, 42);
	o = put_snap(img, o, "2", "v2 style", 0, 0);
	o = put_snap(img, o, "3", "extra 16", 16, 0);
	(void)put_snap(img, o, "4\0hidden", "big extra", 1024, 9);
	/* the NUL inside "4\0hidden" is written by memcpy of strlen: id stays "4" */
	set_snaps(img, 4, B_SNAP);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	if (res->damaged)
		fail_msg("damaged: %s", res->damaged);
	render_key(&res->top, "snapshots", buf, sizeof(buf));
	assert_string_equal(buf,
	        "[{\"icount\":42,\"vm-clock-nsec\":7,\"name\":\"with icount\",\"date-sec\":1700000000,"
	        "\"date-nsec\":5,\"vm-clock-sec\":3,\"id\":\"1\",\"vm-state-size\":8589934592},"
	        "{\"vm-clock-nsec\":7,\"name\":\"v2 style\",\"date-sec\":1700000000,"
	        "\"date-nsec\":5,\"vm-clock-sec\":3,\"id\":\"2\",\"vm-state-size\":77},"
	        "{\"vm-clock-nsec\":7,\"name\":\"extra 16\",\"date-sec\":1700000000,"
	        "\"date-nsec\":5,\"vm-clock-sec\":3,\"id\":\"3\",\"vm-state-size\":8589934592},"
	        "{\"icount\":9,\"vm-clock-nsec\":7,\"name\":\"big extra\",\"date-sec\":1700000000,"
	        "\"date-nsec\":5,\"vm-clock-sec\":3,\"id\":\"4\",\"vm-state-size\":8589934592}]");

	/* extra data over qemu's 1024 bytes */
	build(img, 4, 8);
	(void)put_snap(img, B_SNAP, "1", "x", 1025, 0);
	set_snaps(img, 1, B_SNAP);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_string_equal(res->damaged, "Too much extra metadata in snapshot table entry");
	assert_int_equal(res->top.n, 0);

	/* a name running past the end of the volume */
	build(img, 4, 8);
	o = put_snap(img, B_SIZE - 64, "1", "x", 0, 0);
	t_put_be16(img + B_SIZE - 64 + 14, 0xffff);
	set_snaps(img, 1, B_SIZE - 64);
	/* B_SIZE - 64 is not cluster aligned: the header check refuses it first */
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_string_equal(res->damaged, "Snapshot table offset invalid");
	build(img, 4, 8);
	(void)put_snap(img, B_SIZE - B_CS, "1", "x", 0, 0);
	t_put_be16(img + B_SIZE - B_CS + 14, 0xffff);
	set_snaps(img, 1, B_SIZE - B_CS);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_string_equal(res->damaged, "Snapshot table outside the image");
	assert_int_equal(res->top.n, 0);

	/* counts and offsets at boundary and overflow values */
	{
		static const struct {
			uint32_t n;
			uint64_t off;
		} cases[] = {
			{ 1, B_SIZE },          { 1, (uint64_t)B_SIZE * 2 }, { 65536, B_SNAP },
			{ 65537, B_SNAP },      { UINT32_MAX, B_SNAP },
			{ 1, UINT64_MAX & ~511ull }, { 1, (uint64_t)INT64_MAX & ~511ull },
		};

		for (size_t i = 0; i < IMG_ARRAY_SIZE(cases); i++) {
			build(img, 4, 8);
			set_snaps(img, cases[i].n, cases[i].off);
			assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
			assert_int_equal(res->format, IMG_FMT_QCOW2);
			assert_non_null(res->damaged);
			assert_int_equal(res->top.depth, 0);
		}
	}

	/* a table at offset 0 reads the header as entries, as qemu does: no crash */
	build(img, 4, 8);
	set_snaps(img, 2, 0);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_int_equal(res->top.depth, 0);

	/* more snapshots than the result holds: whole objects only, marked incomplete */
	build(img, 4, 8);
	o = B_SNAP;
	for (unsigned i = 0; i < 120; i++)
		o = put_snap(img, o, "9", "", 0, 0);
	assert_true(o < B_SIZE);
	set_snaps(img, 120, B_SNAP);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_null(res->damaged);
	assert_string_equal(res->deep_incomplete, "snapshots: more than the result can list");
	assert_false(res->top.overflow);
	assert_int_equal(res->top.depth, 0);
	assert_int_equal(res->top.e[res->top.n - 1].type, IMG_SPEC_END);
	assert_int_equal((res->top.n - 2) % 9, 0); /* arr + k * (obj + 7 + end) + end */

	free(img);
	free(res);
}

/* bitmaps extension at 104 and a directory at B_BMDIR */
static void set_bitmaps(uint8_t *img, uint32_t nb, uint64_t dir_size, uint64_t dir_off)
{
	t_put_be64(img + 88, 1); /* autoclear: bitmaps */
	t_put_be32(img + 104, 0x23852875u);
	t_put_be32(img + 108, 24);
	t_put_be32(img + 112, nb);
	t_put_be32(img + 116, 0);
	t_put_be64(img + 120, dir_size);
	t_put_be64(img + 128, dir_off);
	t_put_be32(img + 136, 0);
	t_put_be32(img + 140, 0);
}

static size_t put_bm(uint8_t *img, size_t off, const char *name, size_t nl, uint32_t flags,
                     uint8_t gran, uint32_t table_size)
{
	t_put_be64(img + off, 7 * B_CS);
	t_put_be32(img + off + 8, table_size);
	t_put_be32(img + off + 12, flags);
	img[off + 16] = 1;
	img[off + 17] = gran;
	t_put_be16(img + off + 18, (uint16_t)nl);
	t_put_be32(img + off + 20, 0);
	memcpy(img + off + 24, name, nl);
	return off + ((24 + nl + 7) & ~(size_t)7);
}

static void test_bitmaps_built(void **state)
{
	struct img_result *res = t_result_new();
	uint8_t *img = malloc(B_SIZE);
	char buf[2048];
	size_t o;

	(void)state;
	assert_non_null(img);
	build(img, 4, 8);
	o = put_bm(img, B_BMDIR, "a", 1, 2, 16, 1);
	o = put_bm(img, o, "in\0use", 6, 1, 9, 999); /* in use: table size not checked */
	set_bitmaps(img, 2, o - B_BMDIR, B_BMDIR);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_null(res->damaged);
	render_key(&res->spec, "bitmaps", buf, sizeof(buf));
	assert_string_equal(buf, "[{\"flags\":[\"auto\"],\"name\":\"a\",\"granularity\":65536},"
	                         "{\"flags\":[\"in-use\"],\"name\":\"in\",\"granularity\":512}]");

	/* autoclear bit clear: qemu ignores the extension, nothing listed */
	t_put_be64(img + 88, 0);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_null(res->damaged);
	render_key(&res->spec, "bitmaps", buf, sizeof(buf));
	assert_string_equal(buf, "");

	/* count and size mismatches */
	set_bitmaps(img, 3, o - B_BMDIR, B_BMDIR);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_string_equal(res->damaged, "Less bitmaps found than specified in header extension");
	set_bitmaps(img, 1, o - B_BMDIR, B_BMDIR);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_string_equal(res->damaged, "More bitmaps found than specified in header extension");
	set_bitmaps(img, 2, o - B_BMDIR - 8, B_BMDIR);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_string_equal(res->damaged, "Broken bitmap directory");
	set_bitmaps(img, 2, o - B_BMDIR + 8, B_BMDIR);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_string_equal(res->damaged, "Broken bitmap directory");
	set_bitmaps(img, 2, 0, B_BMDIR);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_string_equal(res->damaged, "Requested bitmap directory size is zero");
	set_bitmaps(img, 2, o - B_BMDIR, B_SIZE);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_string_equal(res->damaged, "Bitmap directory outside the image");
	set_bitmaps(img, 2, 65535ull * 1024, B_SIZE - B_CS);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_string_equal(res->damaged, "Bitmap directory outside the image");
	set_bitmaps(img, 2, UINT64_MAX, B_BMDIR);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_non_null(res->damaged);

	/* entry fields at their limits */
	{
		static const struct {
			size_t field; /* offset in the entry */
			unsigned width;
			uint64_t v;
			const char *want;
		} cases[] = {
			{ 0, 8, 0, "Bitmap doesn't satisfy the constraints" },
			{ 0, 8, 7 * B_CS + 1, "Bitmap doesn't satisfy the constraints" },
			{ 8, 4, 0, "Bitmap doesn't satisfy the constraints" },
			{ 8, 4, 0x8000001, "Bitmap doesn't satisfy the constraints" },
			{ 8, 4, UINT32_MAX, "Bitmap doesn't satisfy the constraints" },
			{ 8, 4, 2, "Could not read bitmap from image" },
			{ 12, 4, 4, "Bitmap doesn't satisfy the constraints" },
			{ 16, 1, 2, "Bitmap doesn't satisfy the constraints" },
			{ 17, 1, 8, "Bitmap doesn't satisfy the constraints" },
			{ 17, 1, 32, "Bitmap doesn't satisfy the constraints" },
			{ 17, 1, 255, "Bitmap doesn't satisfy the constraints" },
			{ 20, 4, 8, "Broken bitmap directory" }, /* the entry grows past the end */
			{ 20, 4, UINT32_MAX, "Broken bitmap directory" },
			{ 18, 2, 0xffff, "Broken bitmap directory" },
		};

		for (size_t i = 0; i < IMG_ARRAY_SIZE(cases); i++) {
			uint8_t *f = img + B_BMDIR + cases[i].field;

			build(img, 4, 8);
			o = put_bm(img, B_BMDIR, "a", 1, 2, 16, 1);
			set_bitmaps(img, 1, o - B_BMDIR, B_BMDIR);
			if (cases[i].width == 8)
				t_put_be64(f, cases[i].v);
			else if (cases[i].width == 4)
				t_put_be32(f, (uint32_t)cases[i].v);
			else if (cases[i].width == 2)
				t_put_be16(f, (uint16_t)cases[i].v);
			else
				*f = (uint8_t)cases[i].v;
			assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
			assert_non_null(res->damaged);
			assert_string_equal(res->damaged, cases[i].want);
			render_key(&res->spec, "bitmaps", buf, sizeof(buf));
			assert_string_equal(buf, "");
		}
	}

	/* extra data inside the directory */
	build(img, 4, 8);
	o = put_bm(img, B_BMDIR, "a", 1, 2, 16, 1);
	t_put_be32(img + B_BMDIR + 20, 8);
	set_bitmaps(img, 1, o - B_BMDIR + 8, B_BMDIR);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_string_equal(res->damaged, "Bitmap extra data is not supported");

	/* many bitmaps: listed up to what the result holds, the rest of the tree intact */
	build(img, 4, 8);
	o = B_BMDIR;
	for (unsigned i = 0; i < 200; i++)
		o = put_bm(img, o, "m", 1, 0, 16, 1);
	assert_true(o < B_SIZE);
	set_bitmaps(img, 200, o - B_BMDIR, B_BMDIR);
	assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
	assert_null(res->damaged);
	assert_string_equal(res->deep_incomplete, "bitmaps: more than the result can list");
	assert_false(res->spec.overflow);
	keys_of(&res->spec, buf, sizeof(buf));
	assert_string_equal(buf, "compat,compression-type,lazy-refcounts,bitmaps,refcount-bits,"
	                         "corrupt,extended-l2");
	free(img);
	free(res);
}

static void test_end_offset_orders(void **state)
{
	struct img_result *res = t_result_new();
	uint8_t *img = malloc(B_SIZE);

	(void)state;
	assert_non_null(img);
	for (unsigned order = 0; order <= 6; order++) {
		for (unsigned used = 1; used <= B_CLUSTERS; used += 7) {
			build(img, order, used);
			assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
			assert_null(res->damaged);
			assert_true(res->has_image_end_offset);
			assert_int_equal(res->image_end_offset, (uint64_t)used * B_CS);
		}
		/* a refcount past the end of the file does not count */
		build(img, order, B_CLUSTERS);
		assert_int_equal(deep_probe(img, B_SIZE - 2 * B_CS, 64u << 20, true, res), 0);
		assert_int_equal(res->image_end_offset, B_SIZE - 2 * B_CS);
		/* a partial last cluster counts as a whole one */
		assert_int_equal(deep_probe(img, B_SIZE - 2 * B_CS + 1, 64u << 20, true, res), 0);
		assert_int_equal(res->image_end_offset, B_SIZE - B_CS);
	}
	free(img);
	free(res);
}

static void test_end_offset_hostile(void **state)
{
	struct img_result *res = t_result_new();
	uint8_t *img = malloc(B_SIZE);

	(void)state;
	assert_non_null(img);
	/* refcount table entries: unaligned, past the end, zero, pointing at the table */
	{
		static const uint64_t entries[] = {
			2 * B_CS + 1, B_SIZE, UINT64_MAX, 0, 1 * B_CS, 0x8000000000000000ull | (2 * B_CS),
		};
		/* qemu masks the low 9 bits: 2 * B_CS + 1 is the block at cluster 2 */
		static const uint64_t want[] = { 10 * B_CS, B_CS, B_CS, B_CS, 0, B_CS };

		for (size_t i = 0; i < IMG_ARRAY_SIZE(entries); i++) {
			build(img, 4, 10);
			t_put_be64(img + B_CS, entries[i]);
			assert_int_equal(deep_probe(img, B_SIZE, 64u << 20, true, res), 0);
			assert_true(res->has_image_end_offset);
			if (want[i])
				assert_int_equal(res->image_end_offset, want[i]);
		}
	}
	/* every table entry points at the same all-zero block: bounded work */
	{
		size_t big = 64u << 20;
		uint8_t *huge = calloc(1, big);

		assert_non_null(huge);
		build(huge, 6, 0);
		t_put_be32(huge + 56, 16384); /* 8 MiB of refcount table at cluster 1 */
		t_put_be64(huge + 48, 1 * B_CS);
		t_put_be64(huge + 40, 20000 * B_CS);
		for (size_t i = 0; i < 16384u * B_CS / 8; i++)
			t_put_be64(huge + B_CS + i * 8, 17000 * B_CS);
		assert_int_equal(deep_probe(huge, big, 1ull << 40, true, res), 0);
		assert_int_equal(res->format, IMG_FMT_QCOW2);
		assert_true(res->has_image_end_offset);
		assert_int_equal(res->image_end_offset, B_CS);
		/* distinct zero blocks everywhere: stops at the scan limit */
		for (size_t i = 0; i < 16384u * B_CS / 8; i++)
			t_put_be64(huge + B_CS + i * 8, (uint64_t)(17000 + i % 100000) * B_CS);
		assert_int_equal(deep_probe(huge, big, 1ull << 40, true, res), 0);
		assert_true(res->has_image_end_offset || res->deep_incomplete);
		/* and with the reader's budget too small */
		assert_int_equal(deep_probe(huge, big, 1u << 20, true, res), 0);
		assert_false(res->has_image_end_offset);
		assert_non_null(res->deep_incomplete);
		free(huge);
	}
	free(img);
	free(res);
}

/* every prefix of a built image with snapshots and bitmaps: never a crash */
static void test_truncation(void **state)
{
	struct img_result *res = t_result_new();
	uint8_t *img = malloc(B_SIZE);
	size_t o;

	(void)state;
	assert_non_null(img);
	build(img, 4, 8);
	o = put_snap(img, B_SNAP, "1", "s", 24, 1);
	(void)put_snap(img, o, "2", "t", 24, 1);
	set_snaps(img, 2, B_SNAP);
	o = put_bm(img, B_BMDIR, "a", 1, 2, 16, 1);
	set_bitmaps(img, 1, o - B_BMDIR, B_BMDIR);
	for (size_t n = 0; n <= B_SIZE; n++) {
		assert_int_equal(deep_probe(img, n, 64u << 20, true, res), 0);
		if (res->format == IMG_FMT_QCOW2)
			assert_int_equal(res->top.depth, 0);
	}
	free(img);
	free(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_snap),
		cmocka_unit_test(test_fixture_luks),
		cmocka_unit_test(test_snapshots_built),
		cmocka_unit_test(test_bitmaps_built),
		cmocka_unit_test(test_end_offset_orders),
		cmocka_unit_test(test_end_offset_hostile),
		cmocka_unit_test(test_truncation),
	};

	return T_RUN(tests);
}
