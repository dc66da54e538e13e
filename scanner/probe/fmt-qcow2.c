/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2, versions 2 and 3.
 *
 * Follows qemu docs/interop/qcow2.txt (now qcow2.rst), as described in
 * docs/formats.md, "qcow2", and
 * reproduces the header checks qemu 7.2 makes when it opens an image
 * (block/qcow2.c qcow2_do_open, qcow2_read_extensions,
 * validate_compression_type).  Everything is big-endian:
 *
 *   0 magic "QFI\xfb"        4 version              8 backing_file_offset u64
 *  16 backing_file_size u32 20 cluster_bits         24 size (bytes) u64
 *  32 crypt_method          36 l1_size              40 l1_table_offset u64
 *  48 refcount_table_offset 56 refcount_table_clusters
 *  60 nb_snapshots          64 snapshots_offset u64 -- end of v2 (72 bytes)
 *  72 incompatible_features u64   80 compatible_features u64
 *  88 autoclear_features u64      96 refcount_order    100 header_length
 * 104 compression_type u8 (only when header_length > 104)
 *
 * Header extensions start at header_length (72 for v2) and end at
 * backing_file_offset, or at the end of the first cluster when there is no
 * backing file: { type u32, len u32, data[len], padding to 8 }, type 0 ends
 * the list.  Version 1 belongs to fmt-qcow.c; version >= 4 is qcow2 that
 * qemu refuses to open.  The L1, refcount and snapshot table fields are
 * only checked (size limits, alignment) here; with --deep (IMG_PROBE_DEEP)
 * qcow2-deep.c follows the snapshot table, the bitmap directory, the LUKS
 * header and the refcount structures.
 *
 * Reads beyond the end of the volume read as zeros in qemu; here an
 * extension header that starts at or past the end reads as the end marker,
 * strings stop at the end of the volume, and anything else that is cut off
 * marks the image damaged.
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "probe.h"
#include "qcow2-deep.h"

#define QCOW2_HDR_READ 112 /* sizeof(QCowHeader) in qemu >= 5.1 */
#define QCOW2_V2_HDR_LEN 72
#define QCOW2_V3_HDR_MIN 104
#define QCOW2_COMPRESSION_OFF 104

#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_REFCOUNT_ORDER 6
#define QCOW2_MAX_SNAPSHOTS 65536u
#define QCOW2_SNAPSHOT_HDR 40u                 /* sizeof(QCowSnapshotHeader) */
#define QCOW2_MAX_SNAPSHOTS_SIZE (1ull << 26) /* QCOW_MAX_SNAPSHOTS * 1 KiB */
#define QCOW2_MAX_L1_SIZE (1ull << 25)        /* bytes */
#define QCOW2_MAX_REFTABLE_SIZE (1ull << 23)  /* bytes */
#define QCOW2_MAX_BACKING_NAME 1023u
#define QCOW2_BACKING_FMT_MAX 16u /* qemu stores it in char[16] */
#define QCOW2_MAX_BITMAPS 65535u
#define QCOW2_MAX_BITMAP_DIR (65535ull * 1024)
#define QCOW2_WINDOW 512 /* the reader caches its regions: ask for little at a time */

#define QCOW2_CRYPT_NONE 0
#define QCOW2_CRYPT_AES 1
#define QCOW2_CRYPT_LUKS 2

#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xE2792ACAu
#define QCOW2_EXT_FEATURE_TABLE 0x6803F857u
#define QCOW2_EXT_CRYPTO_HEADER 0x0537BE77u
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_DATA_FILE 0x44415441u

#define QCOW2_FEAT_ENTRY 48
#define QCOW2_FEAT_NAME 46

#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
/* qemu 7.2's QCOW2_INCOMPAT_MASK: any other incompatible bit fails the open */
#define QCOW2_INCOMPAT_KNOWN 0x1full
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)
#define QCOW2_AUTOCLEAR_BITMAPS (1ull << 0)
#define QCOW2_AUTOCLEAR_DATA_FILE_RAW (1ull << 1)

/* canonical names of the known bits, per feature kind */
static const char *const qcow2_incompat_names[] = {
	[0] = "dirty",
	[1] = "corrupt",
	[2] = "external_data_file",
	[3] = "compression_type",
	[4] = "extended_l2",
};
static const char *const qcow2_compat_names[] = {
	[0] = "lazy_refcounts",
};
static const char *const qcow2_autoclear_names[] = {
	[0] = "bitmaps",
	[1] = "raw_external_data",
};

/*
 * Read an untrusted name of len bytes at off into b, as qemu shows it: up to
 * its first NUL byte, with bytes past the end of the volume reading as NUL.
 * At most IMG_STR_MAX - 1 bytes are kept.  Returns 0 or a reader error.
 */
static int qcow2_read_name(struct img_window *w, uint64_t off, uint64_t len, struct img_bytes *b)
{
	const uint8_t *p;
	size_t n;
	int rc;

	if (len > IMG_STR_MAX - 1)
		len = IMG_STR_MAX - 1;
	if (off >= w->r->size)
		len = 0;
	else if (len > w->r->size - off)
		len = w->r->size - off;
	n = (size_t)len;
	if (n == 0) {
		img_bytes_set(b, "", 0);
		return 0;
	}
	rc = img_window_get(w, off, n, &p);
	if (rc < 0)
		return rc;
	img_bytes_set(b, p, img_strnlen(p, n));
	return 0;
}

static void qcow2_add_features(struct img_result *res, enum img_feature_kind kind, uint64_t bits,
                               const char *const *names, size_t n_names)
{
	for (unsigned bit = 0; bit < 64; bit++) {
		if (!(bits & (1ull << bit)))
			continue;
		img_add_feature(res, kind, bit, bit < n_names ? names[bit] : NULL);
	}
}

/*
 * Give unknown feature bits the names the image's own feature table holds
 * (qemu prints them when it refuses an image).  Entries are read until the
 * first one with an empty name, as qemu does; a trailing partial entry is
 * ignored.
 */
static int qcow2_name_unknown_features(struct img_window *w, struct img_result *res,
                                       uint64_t tbl_off, uint64_t tbl_len)
{
	uint64_t n = tbl_len / QCOW2_FEAT_ENTRY;
	/* features[] index + 1 of each unknown, unnamed bit: a table entry costs O(1) */
	uint8_t slot[3][64];
	unsigned unnamed = 0;

	memset(slot, 0, sizeof(slot));
	for (unsigned i = 0; i < res->n_features && i < 255; i++) {
		const struct img_feature *f = &res->features[i];

		if (!f->name && !f->table_name_len && f->kind <= IMG_FEAT_AUTOCLEAR && f->bit < 64 &&
		    !slot[f->kind][f->bit]) {
			slot[f->kind][f->bit] = (uint8_t)(i + 1);
			unnamed++;
		}
	}
	/* nothing (more) to look up: the rest of the table is not read */
	for (uint64_t i = 0; i < n && unnamed; i++) {
		struct img_feature *f;
		const uint8_t *e;
		size_t len;
		int rc;

		rc = img_window_get(w, tbl_off + i * QCOW2_FEAT_ENTRY, QCOW2_FEAT_ENTRY, &e);
		if (rc < 0)
			return rc;
		if (e[2] == 0)
			break;
		if (e[0] > IMG_FEAT_AUTOCLEAR || e[1] > 63)
			continue;
		if (!slot[e[0]][e[1]])
			continue; /* not set, known (the table is never used for those), or named */
		f = &res->features[slot[e[0]][e[1]] - 1];
		slot[e[0]][e[1]] = 0;
		unnamed--;
		len = img_strnlen(e + 2, QCOW2_FEAT_NAME);
		memcpy(f->table_name, e + 2, len);
		f->table_name[len] = '\0';
		f->table_name_len = (uint8_t)len;
	}
	return 0;
}

struct qcow2_hdr {
	uint32_t version;
	uint64_t backing_off;
	uint32_t backing_len;
	uint32_t cluster_bits;
	uint64_t cluster_size; /* 0 when cluster_bits is out of range */
	uint32_t crypt_method;
	uint64_t incompat, compat, autoclear;
	uint32_t refcount_order;
	uint32_t header_length;
	uint8_t compression_type;
};

/*
 * qcow2_validate_table: a table of entries * entry_len bytes at offset must
 * stay under max bytes, be cluster aligned and end below INT64_MAX.
 */
/* inline as before the trace names its fields: three calls per probe, on every qcow2 */
static inline __attribute__((always_inline)) void
qcow2_check_table(const struct qcow2_hdr *h, uint64_t offset, uint64_t entries,
                              uint64_t entry_len, uint64_t max, const char *too_large,
                              const char *bad_offset, const char *off_field,
                              const char *count_field, struct img_result *res)
{
	if (entries > max / entry_len)
		IMG_DAMAGED(res, too_large, count_field, " ", IMG_TDEC(entries), ", at most ",
		            IMG_TDEC(max / entry_len));
	else if (offset > (uint64_t)INT64_MAX - entries * entry_len ||
	         offset % h->cluster_size != 0)
		IMG_DAMAGED(res, bad_offset, off_field, " ", IMG_THEX(offset, 1), ", ", count_field,
		            " ", IMG_TDEC(entries), ", cluster_size ", IMG_TDEC(h->cluster_size));
}

/*
 * Without --deep, the snapshot table entries that lie in the first
 * QCOW2_SHALLOW_END bytes (the head every probe reads anyway: an image with
 * small clusters keeps its tables there) are checked as qemu's
 * qcow2_read_snapshots does: an entry with more than 1024 bytes of extra
 * data fails the open.  Entries past that point are --deep's.
 */
#define QCOW2_SHALLOW_END (32u * 1024)
#define QCOW2_SN_HDR 40u
#define QCOW2_SN_MAX_EXTRA 1024u /* QCOW_MAX_SNAPSHOT_EXTRA_DATA */

static int qcow2_shallow_snapshots(const struct img_reader *r, const uint8_t *p,
                                   struct img_result *res)
{
	uint32_t n = img_be32(p + 60);
	uint64_t off = img_be64(p + 64);
	uint64_t end = r->size < QCOW2_SHALLOW_END ? r->size : QCOW2_SHALLOW_END;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e;
		int rc;

		off = (off + 7) & ~(uint64_t)7; /* off < 32 KiB + 2^32 here: no overflow */
		if (off >= end || end - off < QCOW2_SN_HDR)
			return 0;
		rc = img_get(r, off, QCOW2_SN_HDR, &e);
		if (rc < 0)
			return rc == -ERANGE ? 0 : rc;
		if (img_be32(e + 36) > QCOW2_SN_MAX_EXTRA) {
			IMG_DAMAGED(res, "Too much extra metadata in snapshot table entry", "snapshot ",
			            IMG_TDEC(i), " at ", IMG_TDEC(off), ": extra_data_size ",
			            IMG_TDEC(img_be32(e + 36)), ", at most 1024");
			return 0;
		}
		/* header, extra data, id and name: at most 40 + 1024 + 2 * 65535 */
		off += QCOW2_SN_HDR + img_be32(e + 36) + img_be16(e + 12) + img_be16(e + 14);
	}
	return 0;
}

/* the refcount, snapshot and L1 table checks of qcow2_do_open, in its order */
static void qcow2_check_tables(const struct qcow2_hdr *h, const uint8_t *p, struct img_result *res)
{
	uint32_t rt_clusters = img_be32(p + 56);
	uint32_t l1_size = img_be32(p + 36);
	uint64_t size = img_be64(p + 24);
	unsigned l2_bits = h->cluster_bits - 3 - ((h->incompat & QCOW2_INCOMPAT_EXTL2) ? 1 : 0);
	unsigned shift = h->cluster_bits + l2_bits;
	uint64_t l1_needed;

	if (rt_clusters == 0)
		img_set_damaged(res, "Image does not contain a reference count table");
	qcow2_check_table(h, img_be64(p + 48), rt_clusters, h->cluster_size,
	                  QCOW2_MAX_REFTABLE_SIZE, "Reference count table too large",
	                  "Reference count table offset invalid", "refcount_table_offset",
	                  "refcount_table_clusters", res);
	qcow2_check_table(h, img_be64(p + 64), img_be32(p + 60), QCOW2_SNAPSHOT_HDR,
	                  QCOW2_MAX_SNAPSHOTS_SIZE, "Snapshot table too large",
	                  "Snapshot table offset invalid", "snapshots_offset", "nb_snapshots", res);
	qcow2_check_table(h, img_be64(p + 40), l1_size, 8, QCOW2_MAX_L1_SIZE,
	                  "Active L1 table too large", "Active L1 table offset invalid",
	                  "l1_table_offset", "l1_size", res);
	/* shift is 2 * cluster_bits - 3 or - 4: 14..39 */
	l1_needed = (size >> shift) + ((size & ((1ull << shift) - 1)) ? 1 : 0);
	if (l1_needed > INT32_MAX)
		IMG_DAMAGED(res, "Image is too big", "size ", IMG_TDEC(size), ": an L1 table of ",
		            IMG_TDEC(l1_needed), " entries");
	else if (l1_size < l1_needed)
		IMG_DAMAGED(res, "L1 table is too small", "l1_size ", IMG_TDEC(l1_size), ", size ",
		            IMG_TDEC(size), " needs ", IMG_TDEC(l1_needed));
}

struct qcow2_ext_state {
	bool have_feature_table;
	uint64_t feature_table_off, feature_table_len;
	bool have_crypto_header;
	uint64_t crypto_off, crypto_len;
	bool have_bitmaps; /* the extension was loaded and passed its checks */
	uint32_t nb_bitmaps;
	uint64_t bm_dir_size, bm_dir_off;
	struct img_bytes backing_format;
};

/* Check one bitmaps extension (24 bytes at p) and record its count. */
static void qcow2_bitmaps_ext(const struct qcow2_hdr *h, const uint8_t *p,
                              struct qcow2_ext_state *st, struct img_result *res)
{
	uint32_t nb = img_be32(p);
	uint32_t reserved = img_be32(p + 4);
	uint64_t dir_size = img_be64(p + 8);
	uint64_t dir_off = img_be64(p + 16);

	if (reserved != 0)
		IMG_DAMAGED(res, "bitmaps_ext: reserved32 field is not zero", "reserved32 ",
		            IMG_THEX(reserved, 8));
	else if (nb > QCOW2_MAX_BITMAPS)
		IMG_DAMAGED(res, "bitmaps_ext: too many bitmaps", "nb_bitmaps ", IMG_TDEC(nb),
		            ", at most ", IMG_TDEC(QCOW2_MAX_BITMAPS));
	else if (nb == 0)
		img_set_damaged(res, "found bitmaps extension with zero bitmaps");
	else if (dir_off % h->cluster_size != 0)
		IMG_DAMAGED(res, "bitmaps_ext: invalid dir offset", "bitmap_directory_offset ",
		            IMG_THEX(dir_off, 1), ", cluster_size ", IMG_TDEC(h->cluster_size));
	else if (dir_size > QCOW2_MAX_BITMAP_DIR)
		IMG_DAMAGED(res, "bitmaps_ext: bitmap directory size too large",
		            "bitmap_directory_size ", IMG_TDEC(dir_size), ", at most ",
		            IMG_TDEC(QCOW2_MAX_BITMAP_DIR));
	else {
		st->have_bitmaps = true;
		st->nb_bitmaps = nb;
		st->bm_dir_size = dir_size;
		st->bm_dir_off = dir_off;
	}
	res->has_bitmaps = true;
	res->bitmaps = nb;
}

/*
 * Walk the header extensions in [start, end).  Problems mark the result
 * damaged and stop the walk; only reader errors are returned.
 */
static int qcow2_read_extensions(struct img_window *w, const struct qcow2_hdr *h, uint64_t start,
                                 uint64_t end, struct qcow2_ext_state *st, struct img_result *res)
{
	uint64_t off = start;

	/*
	 * No count limit, as in qemu: end is at most one cluster (2 MiB) past
	 * start and every extension is at least 8 bytes, so the walk is linear
	 * in the bytes it reads.
	 */
	while (off < end) {
		const uint8_t *p;
		uint32_t type, len;
		int rc;

		if (end - off < 8) {
			IMG_DAMAGED(res, "Header extension too large", "an extension header at ",
			            IMG_TDEC(off), " crosses the end of the area at ", IMG_TDEC(end));
			return 0;
		}
		if (off >= w->r->size)
			return 0; /* qemu reads zeros past the end: the end marker */
		rc = img_window_get(w, off, 8, &p);
		if (rc == -ERANGE) {
			IMG_DAMAGED(res, "Truncated qcow2 header", "the extension header at ",
			            IMG_TDEC(off), " crosses the end of the volume");
			return 0;
		}
		if (rc < 0)
			return rc;
		type = img_be32(p);
		len = img_be32(p + 4);
		off += 8;
		if (len > end - off) {
			IMG_DAMAGED(res, "Header extension too large", "extension ", IMG_THEX(type, 8),
			            " at ", IMG_TDEC(off - 8), ": length ", IMG_TDEC(len), ", ",
			            IMG_TDEC(end - off), " bytes left");
			return 0;
		}
		if (type == QCOW2_EXT_END)
			return 0;

		rc = 0;
		switch (type) {
		case QCOW2_EXT_BACKING_FORMAT:
			if (len >= QCOW2_BACKING_FMT_MAX) {
				IMG_DAMAGED(res, "Backing format name too long", "length ", IMG_TDEC(len),
				            ", below ", IMG_TDEC(QCOW2_BACKING_FMT_MAX));
				return 0;
			}
			rc = qcow2_read_name(w, off, len, &st->backing_format);
			break;
		case QCOW2_EXT_FEATURE_TABLE:
			/* the last table wins, as in qemu */
			st->have_feature_table = true;
			st->feature_table_off = off;
			st->feature_table_len = len;
			break;
		case QCOW2_EXT_CRYPTO_HEADER:
			if (h->crypt_method != QCOW2_CRYPT_LUKS) {
				IMG_DAMAGED(res, "CRYPTO header extension only expected with LUKS "
				                 "encryption method",
				            "crypt_method ", IMG_TDEC(h->crypt_method));
				return 0;
			}
			if (len != 16) {
				IMG_DAMAGED(res, "CRYPTO header extension size is not 16", "length ",
				            IMG_TDEC(len));
				return 0;
			}
			rc = img_window_get(w, off, 16, &p);
			if (rc == 0) {
				/* offset, length of the LUKS header: --deep reads it (qcow2-deep.c) */
				if (img_be64(p) % h->cluster_size != 0) {
					IMG_DAMAGED(res, "Encryption header offset is not a multiple "
					                 "of cluster size",
					            "offset ", IMG_THEX(img_be64(p), 1), ", cluster_size ",
					            IMG_TDEC(h->cluster_size));
					return 0;
				}
				st->have_crypto_header = true;
				st->crypto_off = img_be64(p);
				st->crypto_len = img_be64(p + 8);
			}
			break;
		case QCOW2_EXT_BITMAPS:
			if (len != 24) {
				IMG_DAMAGED(res, "bitmaps_ext: Invalid extension length", "length ",
				            IMG_TDEC(len), ", not 24");
				return 0;
			}
			/* without the autoclear bit qemu ignores the bitmaps as inconsistent */
			if (!(h->autoclear & QCOW2_AUTOCLEAR_BITMAPS))
				break;
			rc = img_window_get(w, off, 24, &p);
			if (rc == 0)
				qcow2_bitmaps_ext(h, p, st, res);
			break;
		case QCOW2_EXT_DATA_FILE:
			rc = qcow2_read_name(w, off, len, &res->data_file);
			break;
		default:
			break; /* unknown: skipped, qemu preserves it */
		}
		if (rc == -ERANGE) {
			IMG_DAMAGED(res, "Truncated qcow2 header", "extension ", IMG_THEX(type, 8),
			            " at ", IMG_TDEC(off - 8), " of ", IMG_TDEC(len),
			            " bytes crosses the end of the volume");
			return 0;
		}
		if (rc < 0)
			return rc;
		/* len <= end - off <= 2 MiB: no overflow */
		off += ((uint64_t)len + 7) & ~(uint64_t)7;
	}
	return 0;
}

/* Format-specific data in the order qemu-img 7.2 prints it (QDict hash order). */
static void qcow2_spec(const struct qcow2_hdr *h, const struct qcow2_deep_in *din,
                       const struct qcow2_deep_out *dout, struct img_result *res)
{
	bool v3 = h->version >= 3;

	img_spec_begin(res, "qcow2");
	img_spec_cstr(res, "compat", res->compat);
	if (h->compression_type <= 1)
		img_spec_cstr(res, "compression-type", h->compression_type ? "zstd" : "zlib");
	if (v3)
		img_spec_bool(res, "lazy-refcounts", h->compat & QCOW2_COMPAT_LAZY_REFCOUNTS);
	/* --deep: the directory's contents; qemu prints them for v3 only */
	if (v3)
		qcow2_deep_bitmaps_spec(din, dout, res);
	if (h->refcount_order <= QCOW2_MAX_REFCOUNT_ORDER)
		img_spec_uint(res, "refcount-bits", 1ull << h->refcount_order);
	if (res->data_file.present)
		img_spec_str(res, "data-file", res->data_file.data, res->data_file.len);
	if (res->encryption != IMG_ENC_NONE) {
		img_spec_obj(res, "encrypt");
		/* the LUKS details need the header outside the first cluster: --deep only */
		if (res->encryption == IMG_ENC_LUKS && dout->luks_ok)
			luks1_tree(&res->spec, dout->luks_hdr, &dout->luks_algs, true);
		else
			img_spec_cstr(res, "format",
			              res->encryption == IMG_ENC_AES ? "aes" : "luks");
		img_spec_end(res);
	}
	if (v3 && (h->incompat & QCOW2_INCOMPAT_DATA_FILE))
		img_spec_bool(res, "data-file-raw", h->autoclear & QCOW2_AUTOCLEAR_DATA_FILE_RAW);
	if (v3) {
		img_spec_bool(res, "corrupt", h->incompat & QCOW2_INCOMPAT_CORRUPT);
		img_spec_bool(res, "extended-l2", h->incompat & QCOW2_INCOMPAT_EXTL2);
	}
}

static int probe_qcow2(const struct img_reader *r, const struct img_magic *hit,
                       struct img_result *res)
{
	struct img_window w = { .r = r, .end = UINT64_MAX, .chunk = QCOW2_WINDOW };
	struct qcow2_ext_state st;
	struct qcow2_deep_out dout;
	struct qcow2_deep_in din;
	struct qcow2_hdr h;
	const uint8_t *p;
	size_t plen;
	uint64_t size, ext_end;
	uint32_t nb_snapshots;
	bool ext_ok = true;
	int rc;

	(void)hit;
	memset(&h, 0, sizeof(h));
	memset(&st, 0, sizeof(st));
	memset(&din, 0, sizeof(din));
	memset(&dout, 0, sizeof(dout));

	rc = img_get_upto(r, 0, QCOW2_HDR_READ, &p, &plen);
	if (rc < 0)
		return rc;
	if (plen < 8 || memcmp(p, "QFI\xfb", 4) != 0) {
		IMG_REFUSE(r, res, "the volume is ", IMG_TDEC(plen),
		           " bytes, shorter than the magic and version");
		return IMG_NOMATCH;
	}
	h.version = img_be32(p + 4);
	if (h.version < 2) {
		/* qcow version 1 (fmt-qcow.c) or garbage */
		IMG_REFUSE(r, res, "version ", IMG_TDEC(h.version),
		           " (qcow2 is version 2 or 3; 1 is qcow)");
		return IMG_NOMATCH;
	}
	res->has_version = true;
	res->version = h.version;
	if (h.version > 3) {
		IMG_DAMAGED(res, "Unsupported qcow2 version", "version ", IMG_TDEC(h.version),
		            ", 2 or 3");
		return IMG_MATCH;
	}
	if (plen < (h.version == 2 ? QCOW2_V2_HDR_LEN : QCOW2_V3_HDR_MIN)) {
		IMG_DAMAGED(res, "Truncated qcow2 header", "the volume is ", IMG_TDEC(plen),
		            " bytes, a version ", IMG_TDEC(h.version), " header ",
		            IMG_TDEC(h.version == 2 ? QCOW2_V2_HDR_LEN : QCOW2_V3_HDR_MIN));
		return IMG_MATCH;
	}

	h.backing_off = img_be64(p + 8);
	h.backing_len = img_be32(p + 16);
	h.cluster_bits = img_be32(p + 20);
	size = img_be64(p + 24);
	h.crypt_method = img_be32(p + 32);
	nb_snapshots = img_be32(p + 60);
	if (h.version == 2) {
		h.refcount_order = 4;
		h.header_length = QCOW2_V2_HDR_LEN;
		res->compat = "0.10";
	} else {
		h.incompat = img_be64(p + 72);
		h.compat = img_be64(p + 80);
		h.autoclear = img_be64(p + 88);
		h.refcount_order = img_be32(p + 96);
		h.header_length = img_be32(p + 100);
		res->compat = "1.1";
	}

	res->has_virtual_size = true;
	res->virtual_size = size & ~(uint64_t)511;
	res->header_length = h.header_length;
	res->has_snapshots = true;
	res->snapshots = nb_snapshots;
	res->dirty = h.incompat & QCOW2_INCOMPAT_DIRTY;
	res->corrupt = h.incompat & QCOW2_INCOMPAT_CORRUPT;
	qcow2_add_features(res, IMG_FEAT_INCOMPATIBLE, h.incompat, qcow2_incompat_names,
	                   IMG_ARRAY_SIZE(qcow2_incompat_names));
	qcow2_add_features(res, IMG_FEAT_COMPATIBLE, h.compat, qcow2_compat_names,
	                   IMG_ARRAY_SIZE(qcow2_compat_names));
	qcow2_add_features(res, IMG_FEAT_AUTOCLEAR, h.autoclear, qcow2_autoclear_names,
	                   IMG_ARRAY_SIZE(qcow2_autoclear_names));

	/* the checks of qcow2_do_open, in its order */
	if (h.cluster_bits < QCOW2_MIN_CLUSTER_BITS || h.cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		IMG_DAMAGED(res, "Unsupported cluster size", "cluster_bits ", IMG_TDEC(h.cluster_bits),
		            ", ", IMG_TDEC(QCOW2_MIN_CLUSTER_BITS), "..",
		            IMG_TDEC(QCOW2_MAX_CLUSTER_BITS));
		ext_ok = false;
	} else {
		h.cluster_size = 1ull << h.cluster_bits;
		res->cluster_size = h.cluster_size;
	}
	if (h.version == 3 && h.header_length < QCOW2_V3_HDR_MIN) {
		IMG_DAMAGED(res, "qcow2 header too short", "header_length ", IMG_TDEC(h.header_length),
		            ", at least ", IMG_TDEC(QCOW2_V3_HDR_MIN));
		ext_ok = false;
	}
	if (h.cluster_size && h.header_length > h.cluster_size) {
		IMG_DAMAGED(res, "qcow2 header exceeds cluster size", "header_length ",
		            IMG_TDEC(h.header_length), ", cluster_size ", IMG_TDEC(h.cluster_size));
		ext_ok = false;
	}
	if (h.cluster_size && h.backing_off > h.cluster_size) {
		IMG_DAMAGED(res, "Invalid backing file offset", "backing_file_offset ",
		            IMG_TDEC(h.backing_off), ", cluster_size ", IMG_TDEC(h.cluster_size));
		ext_ok = false;
	}

	/* compression type: v2 ignores byte 104 */
	if (h.version == 3 && h.header_length > QCOW2_COMPRESSION_OFF) {
		if (plen <= QCOW2_COMPRESSION_OFF) {
			IMG_DAMAGED(res, "Truncated qcow2 header", "header_length ",
			            IMG_TDEC(h.header_length), ", the volume is ", IMG_TDEC(plen),
			            " bytes");
			return IMG_MATCH;
		}
		h.compression_type = p[QCOW2_COMPRESSION_OFF];
	}
	if (h.compression_type > 1)
		IMG_DAMAGED(res, "unknown compression type", "compression_type ",
		            IMG_TDEC(h.compression_type), ", 0 (zlib) or 1 (zstd)");
	else if (h.compression_type == 0 && (h.incompat & QCOW2_INCOMPAT_COMPRESSION))
		IMG_DAMAGED(res, "Compression type incompatible feature bit must not be set",
		            "compression_type 0, incompatible_features ", IMG_THEX(h.incompat, 16));
	else if (h.compression_type != 0 && !(h.incompat & QCOW2_INCOMPAT_COMPRESSION))
		IMG_DAMAGED(res, "Compression type incompatible feature bit must be set",
		            "compression_type ", IMG_TDEC(h.compression_type),
		            ", incompatible_features ", IMG_THEX(h.incompat, 16));

	/*
	 * an incompatible bit qemu does not know: it names it (from the
	 * image's feature table when it has one) and refuses the image;
	 * measured after the compression type checks, before the others
	 */
	if (h.incompat & ~QCOW2_INCOMPAT_KNOWN)
		IMG_DAMAGED(res, "Unsupported qcow2 feature(s)", "incompatible_features ",
		            IMG_THEX(h.incompat, 16), ", unknown bits ",
		            IMG_THEX(h.incompat & ~QCOW2_INCOMPAT_KNOWN, 16));

	if (h.refcount_order > QCOW2_MAX_REFCOUNT_ORDER)
		IMG_DAMAGED(res, "Reference count entry width too large", "refcount_order ",
		            IMG_TDEC(h.refcount_order), ", at most ", IMG_TDEC(QCOW2_MAX_REFCOUNT_ORDER));

	switch (h.crypt_method) {
	case QCOW2_CRYPT_NONE:
		break;
	case QCOW2_CRYPT_AES:
		res->encryption = IMG_ENC_AES;
		break;
	case QCOW2_CRYPT_LUKS:
		res->encryption = IMG_ENC_LUKS;
		break;
	default:
		IMG_DAMAGED(res, "Unsupported encryption method", "crypt_method ",
		            IMG_TDEC(h.crypt_method), ", 0..2");
		break;
	}

	if (nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		IMG_DAMAGED(res, "Snapshot table too large", "nb_snapshots ", IMG_TDEC(nb_snapshots),
		            ", at most ", IMG_TDEC(QCOW2_MAX_SNAPSHOTS));
	if (h.cluster_size)
		qcow2_check_tables(&h, p, res);

	if (ext_ok) {
		ext_end = h.backing_off ? h.backing_off : h.cluster_size;
		rc = qcow2_read_extensions(&w, &h, h.header_length, ext_end, &st, res);
		if (rc < 0)
			return rc;
		if (h.crypt_method == QCOW2_CRYPT_LUKS && !st.have_crypto_header)
			img_set_damaged(res, "LUKS encryption without a crypto header extension");

		if (h.backing_off) {
			uint64_t room = h.cluster_size - h.backing_off;

			if (h.backing_len > QCOW2_MAX_BACKING_NAME || h.backing_len > room) {
				IMG_DAMAGED(res, "Backing file name too long", "backing_file_size ",
				            IMG_TDEC(h.backing_len), ", at most ",
				            IMG_TDEC(h.backing_len > QCOW2_MAX_BACKING_NAME ?
				                             QCOW2_MAX_BACKING_NAME : room),
				            h.backing_len > QCOW2_MAX_BACKING_NAME ? "" : " (the rest of the cluster)");
			} else {
				rc = qcow2_read_name(&w, h.backing_off, h.backing_len,
				                     &res->backing_file);
				if (rc < 0 && rc != -ERANGE)
					return rc;
				/* qemu shows no backing file when the name is empty */
				if (res->backing_file.len == 0)
					res->backing_file.present = false;
			}
		}
		/*
		 * qemu shows the backing format only with a backing file, and
		 * not when the extension holds an empty name
		 */
		if (res->backing_file.present && st.backing_format.present &&
		    st.backing_format.len > 0)
			res->backing_format = st.backing_format;

		if (st.have_feature_table) {
			rc = qcow2_name_unknown_features(&w, res, st.feature_table_off,
			                                 st.feature_table_len);
			if (rc < 0 && rc != -ERANGE)
				return rc;
		}
	}

	if (!(r->flags & IMG_PROBE_DEEP) && ext_ok && !res->damaged) {
		rc = qcow2_shallow_snapshots(r, p, res);
		if (rc < 0)
			return rc;
	}

	/* --deep: only an image whose header qemu would open */
	if ((r->flags & IMG_PROBE_DEEP) && ext_ok && !res->damaged) {
		din.version = h.version;
		din.cluster_bits = h.cluster_bits;
		din.cluster_size = h.cluster_size;
		din.refcount_order = h.refcount_order;
		din.virtual_size = res->virtual_size;
		din.rt_offset = img_be64(p + 48);
		din.rt_clusters = img_be32(p + 56);
		din.nb_snapshots = nb_snapshots;
		din.snapshots_offset = img_be64(p + 64);
		din.has_bitmaps = st.have_bitmaps;
		din.nb_bitmaps = st.nb_bitmaps;
		din.bm_dir_size = st.bm_dir_size;
		din.bm_dir_offset = st.bm_dir_off;
		din.has_crypto = st.have_crypto_header;
		din.crypto_offset = st.crypto_off;
		din.crypto_length = st.crypto_len;
		qcow2_deep(r, &din, &dout, res);
	}

	qcow2_spec(&h, &din, &dout, res);
	return IMG_MATCH;
}

const struct img_format img_qcow2_format = {
	.id = IMG_FMT_QCOW2,
	.name = "qcow2",
	.magics = {
		{ .offset = 0, .whence = IMG_FROM_START, .bytes = "QFI\xfb", .len = 4 },
	},
	.probe = probe_qcow2,
};
