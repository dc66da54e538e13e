/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QED, the QEMU Enhanced Disk format.
 *
 * Follows qemu docs/interop/qed_spec.rst (64-byte little-endian header) and
 * the open-time rules of qemu 7.2 block/qed.c (bdrv_qed_do_open) and
 * block/qed.h, as described in docs/formats.md, "qed", and
 * measured with qemu-img 7.2.22 on patched copies (fixtures/README).  The
 * checks run in qemu's order and the first failure is reported:
 *
 *  - features outside 0x7 (BACKING_FILE, NEED_CHECK, BACKING_FORMAT_NO_PROBE)
 *    are refused; compat and autoclear bits are ignored;
 *  - cluster_size a power of two in [4 KiB, 64 MiB]; table_size a power of
 *    two in [1, 16];
 *  - image_size a multiple of 512 and <= qed_max_image_size(), computed with
 *    qemu's 64-bit wrap-around;
 *  - l1_table_offset and the last table cluster (offset + (table_size - 1) *
 *    cluster_size, which must be larger than offset: a 1-cluster table is
 *    refused) cluster aligned, at or past the header clusters and before the
 *    file size rounded down to a cluster;
 *  - header_size * cluster_size must fit 32 bits;
 *  - with BACKING_FILE: name offset + size within header_size clusters and
 *    size < 4096 (qemu's buffer); the name is read with zeros past the end
 *    of file and ends at the first NUL; BACKING_FORMAT_NO_PROBE makes the
 *    backing format "raw" (qemu-img prints it), otherwise none is stored;
 *    an empty name (length 0, or a NUL first) shows neither, as qemu-img;
 *  - NEED_CHECK is reported as dirty (qemu-img 7.2 itself prints
 *    "dirty-flag": false for it);
 *  - a virtual size beyond qemu's BDRV_MAX_LENGTH fails ("File too large").
 * qemu-img prints cluster-size and no format-specific data.
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "probe.h"

#define QED_HEADER_SIZE 64
#define QED_MIN_CLUSTER (4u * 1024)
#define QED_MAX_CLUSTER (64u * 1024 * 1024)
#define QED_MIN_TABLE 1u
#define QED_MAX_TABLE 16u
#define QED_NAME_BUF 4096 /* qemu's backing name buffer (PATH_MAX) */

#define QED_F_BACKING_FILE 0x1ull
#define QED_F_NEED_CHECK 0x2ull
#define QED_F_BACKING_FORMAT_NO_PROBE 0x4ull
#define QED_FEATURE_MASK 0x7ull

/* qemu's BDRV_MAX_LENGTH: INT64_MAX aligned down to 1 GiB */
#define QED_QEMU_MAX_LENGTH 0x7fffffffc0000000ull

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* qemu's qed_max_image_size(), wrap-around included */
static uint64_t qed_max_image_size(uint32_t cluster_size, uint32_t table_size)
{
	uint64_t entries = (uint32_t)(table_size * cluster_size) / sizeof(uint64_t);
	uint64_t l2_size = entries * cluster_size;

	return l2_size * entries;
}

static bool qed_cluster_offset_ok(uint64_t off, uint32_t cluster_size, uint64_t header_bytes,
                                  uint64_t file_size)
{
	if (off & (cluster_size - 1))
		return false;
	return off >= header_bytes && off < file_size;
}

static void qed_backing(const struct img_reader *r, struct img_result *res, uint64_t features,
                        uint32_t name_off, uint32_t name_len, uint64_t header_bytes, int *rc)
{
	const uint8_t *name;
	size_t len;

	*rc = 0;
	if ((uint64_t)name_off + name_len > header_bytes) {
		IMG_DAMAGED(res, "QED backing filename offset is invalid", "backing_filename_offset ",
		            IMG_TDEC(name_off), ", size ", IMG_TDEC(name_len), ", header ",
		            IMG_TDEC(header_bytes), " bytes");
		return;
	}
	if (name_len >= QED_NAME_BUF) {
		IMG_DAMAGED(res, "Failed to read backing filename", "backing_filename_size ",
		            IMG_TDEC(name_len), ", below 4096");
		return;
	}
	*rc = img_get_upto(r, name_off, name_len, &name, &len);
	if (*rc < 0)
		return;
	if (len) {
		const uint8_t *nul = memchr(name, 0, len);

		if (nul)
			len = (size_t)(nul - name);
	}
	if (!len)
		return; /* an empty name: qemu-img shows neither a file nor a format */
	img_bytes_set(&res->backing_file, name, len);
	if (features & QED_F_BACKING_FORMAT_NO_PROBE)
		img_bytes_set(&res->backing_format, "raw", 3);
}

static int qed_probe(const struct img_reader *r, const struct img_magic *hit,
                     struct img_result *res)
{
	static const char *const names[] = { "backing_file", "need_check",
		                             "backing_format_no_probe" };
	const uint8_t *h;
	uint32_t cluster_size, table_size, header_size, name_off, name_len;
	uint64_t features, l1_off, image_size, header_bytes, file_size, end;
	int rc;

	(void)hit;
	rc = img_get(r, 0, QED_HEADER_SIZE, &h);
	if (rc < 0)
		return rc;

	cluster_size = img_le32(h + 4);
	table_size = img_le32(h + 8);
	header_size = img_le32(h + 12);
	features = img_le64(h + 16);
	l1_off = img_le64(h + 40);
	image_size = img_le64(h + 48);
	name_off = img_le32(h + 56);
	name_len = img_le32(h + 60);

	for (unsigned bit = 0; bit < 64; bit++)
		if (features & (1ull << bit))
			img_add_feature(res, IMG_FEAT_OTHER, bit, bit < 3 ? names[bit] : NULL);
	if (features & QED_F_NEED_CHECK)
		res->dirty = true;

	res->has_virtual_size = true;
	res->virtual_size = image_size;

	if (features & ~QED_FEATURE_MASK) {
		IMG_DAMAGED(res, "Unsupported QED features", "features ", IMG_THEX(features, 16),
		            ", known 0x7");
		return IMG_MATCH;
	}
	if (cluster_size < QED_MIN_CLUSTER || cluster_size > QED_MAX_CLUSTER ||
	    !is_pow2(cluster_size)) {
		IMG_DAMAGED(res, "QED cluster size is invalid", "cluster_size ",
		            IMG_TDEC(cluster_size), ", a power of two 4096..67108864");
		return IMG_MATCH;
	}
	res->cluster_size = cluster_size;
	if (table_size < QED_MIN_TABLE || table_size > QED_MAX_TABLE || !is_pow2(table_size)) {
		IMG_DAMAGED(res, "QED table size is invalid", "table_size ", IMG_TDEC(table_size),
		            ", a power of two 1..16");
		return IMG_MATCH;
	}
	if (image_size % 512 || image_size > qed_max_image_size(cluster_size, table_size)) {
		IMG_DAMAGED(res, "QED image size is invalid", "image_size ", IMG_TDEC(image_size),
		            ", a multiple of 512 at most ",
		            IMG_TDEC(qed_max_image_size(cluster_size, table_size)));
		return IMG_MATCH;
	}

	/* cluster_size <= 64 MiB, table_size <= 16: no overflow below */
	header_bytes = (uint64_t)header_size * cluster_size;
	file_size = r->size & ~((uint64_t)cluster_size - 1);
	if (img_add_overflow(l1_off, (uint64_t)(table_size - 1) * cluster_size, &end) ||
	    end <= l1_off ||
	    !qed_cluster_offset_ok(l1_off, cluster_size, header_bytes, file_size) ||
	    !qed_cluster_offset_ok(end, cluster_size, header_bytes, file_size)) {
		IMG_DAMAGED(res, "QED table offset is invalid", "l1_table_offset ",
		            IMG_THEX(l1_off, 1), ", cluster_size ", IMG_TDEC(cluster_size),
		            ", file ", IMG_TDEC(r->size), " bytes");
		return IMG_MATCH;
	}

	/* header_size * cluster_size must not overflow 32 bits */
	if (header_size > UINT32_MAX / cluster_size) {
		IMG_DAMAGED(res, "QED header size is too large", "header_size ", IMG_TDEC(header_size),
		            " clusters");
		return IMG_MATCH;
	}
	if (features & QED_F_BACKING_FILE) {
		qed_backing(r, res, features, name_off, name_len, header_bytes, &rc);
		if (rc < 0)
			return rc;
	}
	if (!res->damaged && image_size > QED_QEMU_MAX_LENGTH)
		IMG_DAMAGED(res, "Could not refresh total sector count: File too large", "image_size ",
		            IMG_TDEC(image_size));
	return IMG_MATCH;
}

const struct img_format img_qed_format = {
	.id = IMG_FMT_QED,
	.name = "qed",
	.magics = {
		{ .offset = 0, .whence = IMG_FROM_START, .bytes = "QED\0", .len = 4 },
	},
	.probe = qed_probe,
};
