/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Table-driven header pokes for every format (docs/security.md, rules 3
 * and 10: qemu iotests 059/080/084 poke_file style).
 *
 * For each format a real header captured from qemu-img 7.2 / cryptsetup /
 * bximage (fixtures/, see fixtures/README) and a table of its on-disk
 * fields {offset, width, endian} taken from the format's specification as
 * described in docs/formats.md.  Each field is set to 0,
 * 1, max, max-1, the top bit, top bit - 1, 2^31, 2^32-1, 2^63, the
 * original value +-1 and values around the volume size (size, size-1,
 * size+1, size-512, size/512, size/512+1, size/65536); each poked image is
 * probed with and without IMG_PROBE_DEEP, before and after the format's
 * checksums are recomputed (so a poke also reaches the code behind the
 * checksum check).  Every probe must give a clear result: the format (maybe
 * with res->damaged) or raw, never a crash; the sparse reader copies every
 * read into an exact-size heap buffer, so ASan catches any read outside
 * what was asked for, and the reader refuses any range outside the volume.
 *
 * Then truncation at every length of each header, and polyglots
 * (docs/security.md, rule 2:
 * ambiguous results are reported as such): qcow2 head + vpc fixed footer,
 * LUKS1 + vpc fixed footer, an ISO 9660 image (xorriso) whose system area
 * holds a qcow2 header, and a qcow2 head whose vmdk descriptor-like text
 * follows it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum { LE = 0, BE = 1 };

struct field {
	uint32_t off;    /* from the start, or from the end with from_end */
	uint8_t width;   /* 1, 2, 4 or 8 */
	uint8_t endian;  /* LE / BE */
	bool from_end;   /* offset counted back from the end of the volume */
	const char *name;
};

#define F(o, w, e, n) { (o), (w), (e), false, (n) }
#define FE(o, w, e, n) { (o), (w), (e), true, (n) }
#define FIELDS_END { 0, 0, 0, false, NULL }

/* ---- checksum fix-ups ----------------------------------------------------- */

static uint32_t crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}

/* VHD: one's complement of the byte sum, the checksum field taken as 0 */
static void vhd_fix(uint8_t *p, size_t len, size_t csum_off)
{
	uint32_t sum = 0;

	memset(p + csum_off, 0, 4);
	for (size_t i = 0; i < len; i++)
		sum += p[i];
	t_put_be32(p + csum_off, ~sum);
}

static void vhdx_fix_crc(uint8_t *p, size_t len)
{
	memset(p + 4, 0, 4);
	t_put_le32(p + 4, crc32c(p, len));
}

/* fix-ups get the head (at offset 0) and the tail (ending at the volume end) */
typedef void (*fixup_fn)(uint8_t *head, size_t headlen, uint8_t *tail, size_t taillen);

static void fix_vpc_dynamic(uint8_t *head, size_t headlen, uint8_t *tail, size_t taillen)
{
	(void)tail;
	(void)taillen;
	if (headlen >= 512)
		vhd_fix(head, 512, 64);
	if (headlen >= 1536)
		vhd_fix(head + 512, 1024, 36);
}

static void fix_vpc_fixed(uint8_t *head, size_t headlen, uint8_t *tail, size_t taillen)
{
	(void)head;
	(void)headlen;
	if (taillen >= 512)
		vhd_fix(tail + taillen - 512, 512, 64);
}

static void fix_vhdx(uint8_t *head, size_t headlen, uint8_t *tail, size_t taillen)
{
	static const uint32_t hdr[] = { 65536, 131072 };
	static const uint32_t rt[] = { 196608, 262144 };

	(void)tail;
	(void)taillen;
	for (unsigned i = 0; i < 2; i++) {
		if (headlen >= hdr[i] + 4096)
			vhdx_fix_crc(head + hdr[i], 4096);
		if (headlen >= rt[i] + 65536)
			vhdx_fix_crc(head + rt[i], 65536);
	}
}

/* ---- the tables ------------------------------------------------------------ */

static const struct field qcow2_fields[] = {
	F(4, 4, BE, "version"),
	F(8, 8, BE, "backing_file_offset"),
	F(16, 4, BE, "backing_file_size"),
	F(20, 4, BE, "cluster_bits"),
	F(24, 8, BE, "size"),
	F(32, 4, BE, "crypt_method"),
	F(36, 4, BE, "l1_size"),
	F(40, 8, BE, "l1_table_offset"),
	F(48, 8, BE, "refcount_table_offset"),
	F(56, 4, BE, "refcount_table_clusters"),
	F(60, 4, BE, "nb_snapshots"),
	F(64, 8, BE, "snapshots_offset"),
	F(72, 8, BE, "incompatible_features"),
	F(80, 8, BE, "compatible_features"),
	F(88, 8, BE, "autoclear_features"),
	F(96, 4, BE, "refcount_order"),
	F(100, 4, BE, "header_length"),
	F(104, 1, BE, "compression_type"),
	/* the first header extension after a 112-byte v3 header */
	F(112, 4, BE, "ext1.type"),
	F(116, 4, BE, "ext1.length"),
	F(120, 4, BE, "ext1.data"),
	F(124, 4, BE, "ext1.data+4"),
	F(128, 8, BE, "ext1.data+8"),
	F(136, 4, BE, "ext2.type?"),
	F(140, 4, BE, "ext2.length?"),
	FIELDS_END,
};

static const struct field qcow_fields[] = {
	F(4, 4, BE, "version"),
	F(8, 8, BE, "backing_file_offset"),
	F(16, 4, BE, "backing_file_size"),
	F(20, 4, BE, "mtime"),
	F(24, 8, BE, "size"),
	F(32, 1, BE, "cluster_bits"),
	F(33, 1, BE, "l2_bits"),
	F(34, 2, BE, "padding"),
	F(36, 4, BE, "crypt_method"),
	F(40, 8, BE, "l1_table_offset"),
	FIELDS_END,
};

static const struct field qed_fields[] = {
	F(4, 4, LE, "cluster_size"),
	F(8, 4, LE, "table_size"),
	F(12, 4, LE, "header_size"),
	F(16, 8, LE, "features"),
	F(24, 8, LE, "compat_features"),
	F(32, 8, LE, "autoclear_features"),
	F(40, 8, LE, "l1_table_offset"),
	F(48, 8, LE, "image_size"),
	F(56, 4, LE, "backing_filename_offset"),
	F(60, 4, LE, "backing_filename_size"),
	FIELDS_END,
};

static const struct field vmdk_fields[] = {
	F(4, 4, LE, "version"),
	F(8, 4, LE, "flags"),
	F(12, 8, LE, "capacity"),
	F(20, 8, LE, "granularity"),
	F(28, 8, LE, "desc_offset"),
	F(36, 8, LE, "desc_size"),
	F(44, 4, LE, "num_gtes_per_gt"),
	F(48, 8, LE, "rgd_offset"),
	F(56, 8, LE, "gd_offset"),
	F(64, 8, LE, "grain_offset"),
	F(72, 1, LE, "filler"),
	F(73, 4, LE, "check_bytes"),
	F(77, 2, LE, "compress_algorithm"),
	/* inside the embedded descriptor (sector 1): text bytes */
	F(512, 4, LE, "descriptor[0]"),
	F(540, 8, LE, "descriptor[28]"),
	FIELDS_END,
};

/* the footer at 0 (copy of the one at the end) and the dynamic header at 512 */
static const struct field vpc_dynamic_fields[] = {
	F(8, 4, BE, "features"),
	F(12, 4, BE, "version"),
	F(16, 8, BE, "data_offset"),
	F(24, 4, BE, "timestamp"),
	F(28, 4, BE, "creator_app"),
	F(40, 8, BE, "orig_size"),
	F(48, 8, BE, "current_size"),
	F(56, 2, BE, "cylinders"),
	F(58, 1, BE, "heads"),
	F(59, 1, BE, "sectors_per_track"),
	F(60, 4, BE, "type"),
	F(64, 4, BE, "checksum"),
	F(520, 8, BE, "dyn.data_offset"),
	F(528, 8, BE, "dyn.table_offset"),
	F(536, 4, BE, "dyn.version"),
	F(540, 4, BE, "dyn.max_table_entries"),
	F(544, 4, BE, "dyn.block_size"),
	F(548, 4, BE, "dyn.checksum"),
	F(576, 4, BE, "dyn.parent_timestamp"),
	F(1088, 8, BE, "dyn.parent_name"),
	F(1536, 4, BE, "dyn.locator0.code"),
	F(1540, 4, BE, "dyn.locator0.data_space"),
	F(1544, 4, BE, "dyn.locator0.data_length"),
	F(1552, 8, BE, "dyn.locator0.data_offset"),
	FIELDS_END,
};

/* the footer in the last 512 bytes */
static const struct field vpc_fixed_fields[] = {
	FE(512 - 8, 4, BE, "features"),
	FE(512 - 12, 4, BE, "version"),
	FE(512 - 16, 8, BE, "data_offset"),
	FE(512 - 40, 8, BE, "orig_size"),
	FE(512 - 48, 8, BE, "current_size"),
	FE(512 - 56, 2, BE, "cylinders"),
	FE(512 - 58, 1, BE, "heads"),
	FE(512 - 59, 1, BE, "sectors_per_track"),
	FE(512 - 60, 4, BE, "type"),
	FE(512 - 64, 4, BE, "checksum"),
	FIELDS_END,
};

static const struct field vhdx_fields[] = {
	F(8, 8, LE, "creator"),
	/* header 1 and header 2 */
	F(65536 + 8, 8, LE, "h1.sequence_number"),
	F(65536 + 64, 2, LE, "h1.log_version"),
	F(65536 + 66, 2, LE, "h1.version"),
	F(65536 + 68, 4, LE, "h1.log_length"),
	F(65536 + 72, 8, LE, "h1.log_offset"),
	F(65536 + 48, 8, LE, "h1.log_guid"),
	F(131072 + 8, 8, LE, "h2.sequence_number"),
	F(131072 + 66, 2, LE, "h2.version"),
	F(131072 + 68, 4, LE, "h2.log_length"),
	F(131072 + 72, 8, LE, "h2.log_offset"),
	/* region table 1: count and two entries */
	F(196608 + 8, 4, LE, "rt.entry_count"),
	F(196608 + 16, 8, LE, "rt[0].guid"),
	F(196608 + 32, 8, LE, "rt[0].file_offset"),
	F(196608 + 40, 4, LE, "rt[0].length"),
	F(196608 + 44, 4, LE, "rt[0].required"),
	F(196608 + 64, 8, LE, "rt[1].file_offset"),
	F(196608 + 72, 4, LE, "rt[1].length"),
	F(196608 + 76, 4, LE, "rt[1].required"),
	/* metadata table at 3 MiB and its items at 3 MiB + 64 KiB */
	F(3145728 + 0, 8, LE, "md.signature"),
	F(3145728 + 10, 2, LE, "md.entry_count"),
	F(3145728 + 32, 8, LE, "md[0].item_id"),
	F(3145728 + 48, 4, LE, "md[0].offset"),
	F(3145728 + 52, 4, LE, "md[0].length"),
	F(3145728 + 56, 4, LE, "md[0].flags"),
	F(3145728 + 80, 4, LE, "md[1].offset"),
	F(3145728 + 84, 4, LE, "md[1].length"),
	F(3145728 + 112, 4, LE, "md[2].offset"),
	F(3145728 + 144, 4, LE, "md[3].offset"),
	F(3145728 + 176, 4, LE, "md[4].offset"),
	F(3211264 + 0, 4, LE, "item0"),
	F(3211264 + 4, 4, LE, "item0+4"),
	F(3211264 + 8, 8, LE, "item1"),
	F(3211264 + 16, 4, LE, "item2"),
	F(3211264 + 20, 4, LE, "item3"),
	FIELDS_END,
};

static const struct field vdi_fields[] = {
	F(64, 4, LE, "signature"),
	F(68, 4, LE, "version"),
	F(72, 4, LE, "header_size"),
	F(76, 4, LE, "image_type"),
	F(80, 4, LE, "image_flags"),
	F(340, 4, LE, "offset_bmap"),
	F(344, 4, LE, "offset_data"),
	F(348, 4, LE, "cylinders"),
	F(352, 4, LE, "heads"),
	F(356, 4, LE, "sectors"),
	F(360, 4, LE, "sector_size"),
	F(368, 8, LE, "disk_size"),
	F(376, 4, LE, "block_size"),
	F(380, 4, LE, "block_extra"),
	F(384, 4, LE, "blocks_in_image"),
	F(388, 4, LE, "blocks_allocated"),
	FIELDS_END,
};

static const struct field parallels_fields[] = {
	F(16, 4, LE, "version"),
	F(20, 4, LE, "heads"),
	F(24, 4, LE, "cylinders"),
	F(28, 4, LE, "tracks"),
	F(32, 4, LE, "bat_entries"),
	F(36, 8, LE, "nb_sectors"),
	F(44, 4, LE, "inuse"),
	F(48, 4, LE, "data_off"),
	F(52, 4, LE, "flags"),
	F(56, 8, LE, "ext_off"),
	F(64, 4, LE, "bat[0]"),
	FIELDS_END,
};

static const struct field bochs_fields[] = {
	F(64, 4, LE, "version"),
	F(68, 4, LE, "header_size"),
	F(72, 4, LE, "catalog"),
	F(76, 4, LE, "bitmap"),
	F(80, 4, LE, "extent"),
	F(84, 8, LE, "v1.disk"),
	F(88, 8, LE, "disk"),
	F(96, 4, LE, "reserved"),
	FIELDS_END,
};

static const struct field cloop_fields[] = {
	F(128, 4, BE, "block_size"),
	F(132, 4, BE, "n_blocks"),
	F(136, 8, BE, "offsets[0]"),
	F(144, 8, BE, "offsets[1]"),
	FIELDS_END,
};

/* the koly trailer in the last 512 bytes */
static const struct field dmg_fields[] = {
	FE(512 - 4, 4, BE, "version"),
	FE(512 - 8, 4, BE, "header_size"),
	FE(512 - 12, 4, BE, "flags"),
	FE(512 - 0x18, 8, BE, "data_fork_offset"),
	FE(512 - 0x20, 8, BE, "data_fork_length"),
	FE(512 - 0x28, 8, BE, "rsrc_fork_offset"),
	FE(512 - 0x30, 8, BE, "rsrc_fork_length"),
	FE(512 - 0xd8, 8, BE, "plist_offset"),
	FE(512 - 0xe0, 8, BE, "plist_length"),
	FE(512 - 0x1ec, 8, BE, "sector_count"),
	FIELDS_END,
};

static const struct field luks1_fields[] = {
	F(6, 2, BE, "version"),
	F(8, 8, BE, "cipher_name"),
	F(40, 8, BE, "cipher_mode"),
	F(72, 8, BE, "hash_spec"),
	F(104, 4, BE, "payload_offset"),
	F(108, 4, BE, "key_bytes"),
	F(164, 4, BE, "mk_iterations"),
	F(168, 8, BE, "uuid"),
	F(208 + 0, 4, BE, "slot0.active"),
	F(208 + 4, 4, BE, "slot0.iterations"),
	F(208 + 40, 4, BE, "slot0.key_offset"),
	F(208 + 44, 4, BE, "slot0.stripes"),
	F(208 + 48 + 0, 4, BE, "slot1.active"),
	F(208 + 48 + 40, 4, BE, "slot1.key_offset"),
	F(208 + 48 + 44, 4, BE, "slot1.stripes"),
	FIELDS_END,
};

static const struct field luks2_fields[] = {
	F(6, 2, BE, "version"),
	F(8, 8, BE, "hdr_size"),
	F(16, 8, BE, "seqid"),
	F(72, 8, BE, "checksum_alg"),
	F(256, 8, BE, "hdr_offset"),
	F(4096, 8, BE, "json[0]"),
	FIELDS_END,
};

struct poke_case {
	const char *fixture;
	enum img_format_id format;
	const struct field *fields;
	fixup_fn fixup;
	bool pieces; /* NAME.at-OFFSET pieces (vhdx) instead of head/tail */
	/* a format sharing the magic (qcow2 and qcow: "QFI\xfb", version 1 or 2+) */
	enum img_format_id alt;
};

static const struct poke_case cases[] = {
	{ "qcow2-v3", IMG_FMT_QCOW2, qcow2_fields, NULL, false, IMG_FMT_QCOW },
	{ "qcow2-v3-backing", IMG_FMT_QCOW2, qcow2_fields, NULL, false, IMG_FMT_QCOW },
	{ "qcow2-v2-backing", IMG_FMT_QCOW2, qcow2_fields, NULL, false, IMG_FMT_QCOW },
	{ "qcow2-bitmaps", IMG_FMT_QCOW2, qcow2_fields, NULL, false, IMG_FMT_QCOW },
	{ "qcow2-luks", IMG_FMT_QCOW2, qcow2_fields, NULL, false, IMG_FMT_QCOW },
	{ "qcow2-datafile-raw", IMG_FMT_QCOW2, qcow2_fields, NULL, false, IMG_FMT_QCOW },
	{ "qcow-1G", IMG_FMT_QCOW, qcow_fields, NULL, false, IMG_FMT_QCOW2 },
	{ "qcow-backing", IMG_FMT_QCOW, qcow_fields, NULL, false, IMG_FMT_QCOW2 },
	{ "qed-1G", IMG_FMT_QED, qed_fields, NULL, false, IMG_FMT_RAW },
	{ "qed-backing", IMG_FMT_QED, qed_fields, NULL, false, IMG_FMT_RAW },
	{ "vmdk-sparse-1G", IMG_FMT_VMDK, vmdk_fields, NULL, false, IMG_FMT_RAW },
	{ "vmdk-stream-1G", IMG_FMT_VMDK, vmdk_fields, NULL, false, IMG_FMT_RAW },
	{ "vmdk-child-1G", IMG_FMT_VMDK, vmdk_fields, NULL, false, IMG_FMT_RAW },
	{ "vmdk-vmware-stream-1G", IMG_FMT_VMDK, vmdk_fields, NULL, false, IMG_FMT_RAW },
	{ "vpc-dynamic-1G", IMG_FMT_VPC, vpc_dynamic_fields, fix_vpc_dynamic, false, IMG_FMT_RAW },
	{ "vpc-fixed-64M", IMG_FMT_VPC, vpc_fixed_fields, fix_vpc_fixed, false, IMG_FMT_RAW },
	{ "vhdx-dyn1g", IMG_FMT_VHDX, vhdx_fields, fix_vhdx, true, IMG_FMT_RAW },
	{ "vdi-1G", IMG_FMT_VDI, vdi_fields, NULL, false, IMG_FMT_RAW },
	{ "vdi-static-64M", IMG_FMT_VDI, vdi_fields, NULL, false, IMG_FMT_RAW },
	{ "parallels-1G", IMG_FMT_PARALLELS, parallels_fields, NULL, false, IMG_FMT_RAW },
	{ "parallels-old", IMG_FMT_PARALLELS, parallels_fields, NULL, false, IMG_FMT_RAW },
	{ "bochs-1G", IMG_FMT_BOCHS, bochs_fields, NULL, false, IMG_FMT_RAW },
	{ "cloop-2M", IMG_FMT_CLOOP, cloop_fields, NULL, false, IMG_FMT_RAW },
	{ "dmg-zero-1M", IMG_FMT_DMG, dmg_fields, NULL, false, IMG_FMT_RAW },
	{ "luks-cryptsetup-luks1-32M", IMG_FMT_LUKS, luks1_fields, NULL, false, IMG_FMT_RAW },
	{ "luks-qemu-16M", IMG_FMT_LUKS, luks1_fields, NULL, false, IMG_FMT_RAW },
	/* qemu 7.2 reads LUKS1 only: a LUKS2 header is raw, and must stay raw or luks */
	{ "luks-luks2-32M", IMG_FMT_RAW, luks2_fields, NULL, false, IMG_FMT_LUKS },
};

static bool c_exists(const struct poke_case *c);

/* ---- an image held as head + tail + size ---------------------------------- */

struct image {
	uint8_t *head;
	size_t headlen;
	uint8_t *tail;
	size_t taillen;
	uint64_t size;
};

static const uint32_t vhdx_piece_offs[] = { 0, 65536, 131072, 196608, 262144, 3145728, 3211264 };

static void image_load(struct image *im, const struct poke_case *c)
{
	struct t_sparse s;
	struct img_reader r;

	memset(im, 0, sizeof(*im));
	if (c->pieces) {
		char fn[256];
		uint8_t *txt;
		size_t n;
		char tmp[32] = { 0 };

		/* the pieces laid out in one head buffer, zeros between */
		im->headlen = 3211264 + 65536;
		im->head = calloc(1, im->headlen);
		assert_non_null(im->head);
		for (size_t i = 0; i < IMG_ARRAY_SIZE(vhdx_piece_offs); i++) {
			uint8_t *p;

			snprintf(fn, sizeof(fn), "%s.at-%u", c->fixture, vhdx_piece_offs[i]);
			p = t_fixture(fn, &n);
			assert_true(vhdx_piece_offs[i] + n <= im->headlen);
			memcpy(im->head + vhdx_piece_offs[i], p, n);
			free(p);
		}
		snprintf(fn, sizeof(fn), "%s.size", c->fixture);
		txt = t_fixture(fn, &n);
		memcpy(tmp, txt, n < sizeof(tmp) - 1 ? n : sizeof(tmp) - 1);
		free(txt);
		im->size = strtoull(tmp, NULL, 10);
		assert_true(im->size >= im->headlen);
		return;
	}
	t_sparse_load(&s, c->fixture, &r);
	im->head = s.own_head;
	im->headlen = s.headlen;
	im->tail = s.own_tail;
	im->taillen = s.taillen;
	im->size = s.size;
	s.own_head = s.own_tail = NULL;
	t_sparse_free(&s);
}

static void image_free(struct image *im)
{
	free(im->head);
	free(im->tail);
	memset(im, 0, sizeof(*im));
}

static uint8_t *dup_or_null(const uint8_t *p, size_t len)
{
	uint8_t *d;

	if (!p)
		return NULL;
	d = malloc(len ? len : 1);
	assert_non_null(d);
	memcpy(d, p, len);
	return d;
}

static unsigned n_probes, n_same, n_damaged, n_raw;

/* probe head/tail/size both ways; the result must be fmt (maybe damaged) or raw */
static void probe_check(const uint8_t *head, size_t headlen, const uint8_t *tail, size_t taillen,
                        uint64_t size, enum img_format_id fmt, enum img_format_id alt,
                        const char *what)
{
	struct img_result *res = t_result_new();

	for (unsigned deep = 0; deep < 2; deep++) {
		struct t_sparse s;
		struct img_reader r;
		int rc;

		t_sparse_reader(&s, head, headlen, tail, taillen, size, &r);
		r.flags = deep ? IMG_PROBE_DEEP : 0;
		rc = img_probe(&r, res);
		n_probes++;
		if (rc < 0) {
			/* only the test reader's own limits may fail a probe */
			if (res->format != IMG_FMT_RAW)
				fail_msg("%s: rc %d but format %s", what, rc, img_format_name(res->format));
		} else if (res->format != fmt && res->format != IMG_FMT_RAW && res->format != alt) {
			fail_msg("%s: became %s (expected %s or raw)", what,
			         img_format_name(res->format), img_format_name(fmt));
		}
		if (res->format == fmt) {
			n_same++;
			if (res->damaged)
				n_damaged++;
			/* the facts must stay inside their own bounds */
			assert_true(res->backing_file.len < IMG_STR_MAX);
			assert_true(res->data_file.len < IMG_STR_MAX);
			assert_true(res->backing_format.len < IMG_STR_MAX);
			assert_true(res->n_features <= IMG_MAX_FEATURES);
			assert_true(res->spec.n <= IMG_SPEC_MAX);
			assert_true(res->spec.pool_used <= IMG_SPEC_POOL);
		} else {
			n_raw++;
		}
		t_sparse_free(&s);

		/* the same format through img_probe_format */
		t_sparse_reader(&s, head, headlen, tail, taillen, size, &r);
		r.flags = deep ? IMG_PROBE_DEEP : 0;
		rc = img_probe_format(&r, fmt, res);
		if (rc >= 0 && res->format != fmt && res->format != IMG_FMT_RAW && res->format != alt)
			fail_msg("%s: img_probe_format gave %s", what, img_format_name(res->format));
		t_sparse_free(&s);
	}
	free(res);
}

static uint64_t get_field(const uint8_t *p, const struct field *f)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < f->width; i++) {
		unsigned k = f->endian == BE ? i : f->width - 1 - i;

		v = (v << 8) | p[k];
	}
	return v;
}

static void put_field(uint8_t *p, const struct field *f, uint64_t v)
{
	for (unsigned i = 0; i < f->width; i++) {
		unsigned k = f->endian == BE ? f->width - 1 - i : i;

		p[k] = (uint8_t)(v >> (8 * i));
	}
}

/* the poke values for a field of width w, original value orig, volume size */
static unsigned poke_values(unsigned w, uint64_t orig, uint64_t size, uint64_t *v)
{
	uint64_t max = w == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * w)) - 1;
	uint64_t top = UINT64_C(1) << (8 * w - 1);
	unsigned n = 0;

	v[n++] = 0;
	v[n++] = 1;
	v[n++] = max;
	v[n++] = max - 1;
	v[n++] = top;
	v[n++] = top - 1;
	v[n++] = orig + 1;
	v[n++] = orig - 1;
	v[n++] = orig << 1;
	v[n++] = orig >> 1;
	v[n++] = 512;
	v[n++] = 4096;
	v[n++] = 65536;
	if (w >= 4) {
		v[n++] = UINT64_C(0x80000000);
		v[n++] = UINT64_C(0xffffffff);
		v[n++] = UINT64_C(0x7fffffff);
	}
	if (w == 8) {
		v[n++] = UINT64_C(1) << 63;
		v[n++] = UINT64_C(1) << 32;
		v[n++] = UINT64_C(0x7fffffffc0000000); /* qemu's BDRV_MAX_LENGTH */
	}
	v[n++] = size;
	v[n++] = size - 1;
	v[n++] = size + 1;
	v[n++] = size - 512;
	v[n++] = size / 512;
	v[n++] = size / 512 + 1;
	v[n++] = size / 65536;
	v[n++] = size / 65536 + 1;
	for (unsigned i = 0; i < n; i++)
		v[i] &= max;
	return n;
}

static void poke_case(const struct poke_case *c)
{
	struct image im;
	struct img_result *res = t_result_new();
	unsigned fields = 0;

	uint8_t *ph, *pt;

	image_load(&im, c);
	ph = dup_or_null(im.head, im.headlen);
	pt = dup_or_null(im.tail, im.taillen);

	/* the untouched image is the format */
	{
		struct t_sparse s;
		struct img_reader r;

		t_sparse_reader(&s, im.head, im.headlen, im.tail, im.taillen, im.size, &r);
		assert_int_equal(img_probe(&r, res), 0);
		if (res->format != c->format)
			fail_msg("%s: untouched fixture is %s", c->fixture, img_format_name(res->format));
		t_sparse_free(&s);
	}

	n_probes = n_same = n_damaged = n_raw = 0;
	for (const struct field *f = c->fields; f->name; f++) {
		uint64_t vals[40];
		unsigned nv;
		uint8_t *buf;
		size_t at;
		uint64_t orig;

		/* map the field into the head or the tail buffer */
		if (f->from_end && !im.tail && im.head && im.headlen == im.size) {
			/* a whole-file fixture: the end is the end of the head */
			if (f->off > im.headlen || f->off < f->width)
				continue;
			at = im.headlen - f->off;
			buf = im.head;
		} else if (f->from_end) {
			if (!im.tail || f->off > im.taillen || f->off < f->width)
				continue;
			at = im.taillen - f->off;
			buf = im.tail;
		} else {
			if (!im.head || (size_t)f->off + f->width > im.headlen)
				continue;
			at = f->off;
			buf = im.head;
		}
		fields++;
		orig = get_field(buf + at, f);
		nv = poke_values(f->width, orig, im.size, vals);
		for (unsigned i = 0; i < nv; i++) {
			char what[160];

			for (unsigned fix = 0; fix < (c->fixup ? 2u : 1u); fix++) {
				/* poke in place, probe, then put the original back */
				put_field(buf + at, f, vals[i]);
				if (fix)
					c->fixup(im.head, im.headlen, im.tail, im.taillen);
				snprintf(what, sizeof(what), "%s: %s = 0x%llx%s", c->fixture, f->name,
				         (unsigned long long)vals[i], fix ? " (checksums fixed)" : "");
				probe_check(im.head, im.headlen, im.tail, im.taillen, im.size, c->format,
				            c->alt, what);
				put_field(buf + at, f, orig);
				if (fix)
					c->fixup(im.head, im.headlen, im.tail, im.taillen);
			}
		}
		/* the pokes were undone (and the fix-ups restored the checksums) */
		if (im.head)
			assert_memory_equal(im.head, ph, im.headlen);
		if (im.tail)
			assert_memory_equal(im.tail, pt, im.taillen);
	}
	free(ph);
	free(pt);
	print_message("%s: %u fields, %u probes: %u %s (%u damaged), %u raw\n", c->fixture, fields,
	              n_probes, n_same, img_format_name(c->format), n_damaged, n_raw);
	assert_true(fields > 0);
	image_free(&im);
	free(res);
}

static void test_poke_all(void **state)
{
	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(cases); i++) {
		if (!c_exists(&cases[i]))
			continue;
		poke_case(&cases[i]);
	}
}

/* ---- truncation ------------------------------------------------------------ */

/*
 * Every prefix of the head up to 4 KiB + 1, then every 509th length (a
 * prime stride, so no alignment is favoured) to the end; every suffix of
 * the tail as a volume of its own, and the tail at the end of volumes of
 * every size from taillen to taillen + 1 KiB.
 */
static void test_truncation(void **state)
{
	struct img_result *res = t_result_new();

	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(cases); i++) {
		const struct poke_case *c = &cases[i];
		struct image im;

		if (!c_exists(c))
			continue;
		image_load(&im, c);
		if (im.head) {
			size_t lim = im.headlen < 4097 ? im.headlen : 4097;

			t_truncation_sweep(im.head, lim);
			for (size_t n = lim; n <= im.headlen; n += 509)
				(void)t_probe_copy(im.head, n, res);
			(void)t_probe_copy(im.head, im.headlen, res);
			/* the head inside volumes of the fixture's size cut short */
			for (uint64_t sz = 0; sz <= 8192 && sz <= im.size; sz += 7) {
				struct t_sparse s;
				struct img_reader r;
				size_t hl = sz < im.headlen ? (size_t)sz : im.headlen;

				t_sparse_reader(&s, im.head, hl, NULL, 0, sz, &r);
				(void)img_probe(&r, res);
				assert_true(res->format == c->format || res->format == IMG_FMT_RAW ||
				            res->format == c->alt);
				t_sparse_free(&s);
			}
		}
		if (im.tail) {
			for (size_t n = 0; n <= im.taillen; n++)
				(void)t_probe_copy(im.tail + im.taillen - n, n, res);
			for (uint64_t sz = im.taillen; sz <= im.taillen + 1024; sz++) {
				struct t_sparse s;
				struct img_reader r;

				t_sparse_reader(&s, NULL, 0, im.tail, im.taillen, sz, &r);
				r.flags = IMG_PROBE_DEEP;
				(void)img_probe(&r, res);
				assert_true(res->format == c->format || res->format == IMG_FMT_RAW ||
				            res->format == c->alt);
				t_sparse_free(&s);
			}
		}
		image_free(&im);
	}
	free(res);
}

/* ---- polyglots (docs/security.md, rule 2) ---------------------------------- */

static bool has_candidate(const struct img_result *res, enum img_format_id id)
{
	for (unsigned i = 0; i < res->n_candidates; i++)
		if (res->candidates[i] == id)
			return true;
	return false;
}

/* a vpc fixed footer (fixture) rewritten for a volume of size bytes */
static uint8_t *vpc_footer_for(uint64_t size)
{
	size_t n;
	uint8_t *tail = t_fixture("vpc-fixed-64M.tail", &n);

	assert_int_equal(n, 512);
	t_put_be64(tail + 40, size - 512);
	t_put_be64(tail + 48, size - 512);
	vhd_fix(tail, 512, 64);
	return tail;
}

static void polyglot(const char *headname, uint64_t size, enum img_format_id first)
{
	size_t hl;
	uint8_t *head = t_fixture(headname, &hl);
	uint8_t *tail = vpc_footer_for(size);
	struct img_result *res = t_result_new();
	struct t_sparse s;
	struct img_reader r;

	enum img_format_id head_fmt = first;

	assert_true(IMG_FMT_VPC != first);
	t_sparse_reader(&s, head, hl, tail, 512, size, &r);
	assert_int_equal(img_probe(&r, res), 0);
	print_message("%s + vpc footer: %s, %u candidates\n", headname,
	              img_format_name(res->format), res->n_candidates);
	/*
	 * both named; the footer never hides the header at the start: that
	 * format keeps the facts and is listed first, whatever the probe order
	 */
	assert_int_equal(res->format, first);
	assert_true(res->footer_only_others);
	assert_true(res->n_candidates >= 2);
	assert_int_equal(res->candidates[0], first);
	assert_true(has_candidate(res, IMG_FMT_VPC));
	t_sparse_free(&s);

	/* and every truncation of the footer end keeps a clear answer */
	for (uint64_t cut = 1; cut <= 600; cut++) {
		t_sparse_reader(&s, head, hl, tail, 512 - (cut < 512 ? cut : 511), size - cut, &r);
		assert_int_equal(img_probe(&r, res), 0);
		assert_true(res->format == head_fmt || res->format == IMG_FMT_VPC);
		t_sparse_free(&s);
	}
	free(head);
	free(tail);
	free(res);
}

static void test_polyglot_qcow2_vpc(void **state)
{
	(void)state;
	polyglot("qcow2-v3.head", 196608 + 512, IMG_FMT_QCOW2);
}

static void test_polyglot_luks1_vpc(void **state)
{
	(void)state;
	polyglot("luks-cryptsetup-luks1-32M.head", 33554432, IMG_FMT_LUKS);
}

/*
 * fixtures/iso-qcow2-polyglot: an ISO 9660 image made by xorriso whose
 * 32 KiB system area starts with a qcow2 header (fixtures/README).  The
 * probe core knows no iso9660: it must say qcow2 (the ISO is the content
 * blkid reports); what matters is that both are seen and nothing crashes.
 */
static void test_polyglot_iso_qcow2(void **state)
{
	struct img_result *res = t_result_new();
	struct t_sparse s;
	struct img_reader r;

	(void)state;
	if (!t_fixture_exists("iso-qcow2-polyglot.head")) {
		free(res);
		skip();
	}
	t_sparse_load(&s, "iso-qcow2-polyglot", &r);
	assert_int_equal(img_probe(&r, res), 0);
	assert_int_equal(res->format, IMG_FMT_QCOW2);
	/* the ISO's primary volume descriptor is really there */
	assert_true(s.headlen >= 32768 + 6);
	assert_memory_equal(s.head + 32769, "CD001", 5);
	t_truncation_sweep(s.head, s.headlen < 2048 ? s.headlen : 2048);
	t_sparse_free(&s);
	free(res);
}

/* a qcow2 header followed by a vmdk descriptor text: still one clear answer */
static void test_polyglot_qcow2_vmdk_text(void **state)
{
	static const char desc[] = "# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
	                           "parentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
	                           "RW 2048 FLAT \"/etc/passwd\" 0\n";
	size_t hl;
	uint8_t *head = t_fixture("qcow2-v3.head", &hl);
	struct img_result *res = t_result_new();

	(void)state;
	assert_true(hl >= 512 + sizeof(desc));
	memcpy(head + 512, desc, sizeof(desc) - 1);
	assert_int_equal(t_probe_copy(head, hl, res), 0);
	assert_int_equal(res->format, IMG_FMT_QCOW2);
	free(head);
	free(res);
}

static bool c_exists(const struct poke_case *c)
{
	char fn[256];

	if (c->pieces)
		snprintf(fn, sizeof(fn), "%s.at-0", c->fixture);
	else
		snprintf(fn, sizeof(fn), "%s.head", c->fixture);
	if (t_fixture_exists(fn))
		return true;
	snprintf(fn, sizeof(fn), "%s.tail", c->fixture);
	if (t_fixture_exists(fn))
		return true;
	print_message("fixture %s missing: skipped\n", c->fixture);
	return false;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poke_all),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_polyglot_qcow2_vpc),
		cmocka_unit_test(test_polyglot_luks1_vpc),
		cmocka_unit_test(test_polyglot_iso_qcow2),
		cmocka_unit_test(test_polyglot_qcow2_vmdk_text),
	};

	return T_RUN(tests);
}
