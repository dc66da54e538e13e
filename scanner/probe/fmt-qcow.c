/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow (version 1), the original QEMU copy-on-write format.
 *
 * Follows the header of qemu block/qcow.c (QCowHeader, 48 bytes, all
 * big-endian) and the open-time rules of qemu 7.2 qcow_open, as summarised
 * in docs/formats.md, "qcow", and measured with qemu-img
 * 7.2.22 on patched copies (fixtures/README):
 *
 *  - probe: "QFI\xfb" and version == 1 (version >= 2 belongs to qcow2,
 *    anything else is raw for qemu);
 *  - size <= 1: "Image size is too small"; cluster_bits 9..16; l2_bits
 *    6..13; crypt_method <= 1 (1 = AES); the L1 table size
 *    ceil(size / 2^(cluster_bits + l2_bits)) must stay <= INT_MAX / 8, and
 *    reading it (l1_size * 8 bytes) fails above qemu's largest request,
 *    0x7ffffe00 bytes, or when it reaches past BDRV_MAX_LENGTH (below)
 *    ("Input/output error");
 *  - virtual size = size rounded down to 512 (qemu keeps total_sectors);
 *  - cluster-size = 1 << cluster_bits (qemu-img prints it);
 *  - backing name: backing_file_size bytes at backing_file_offset (only
 *    when the offset is non-zero), at most 1023; bytes past the end of the
 *    file read as zeros and the name ends at the first NUL, an empty name
 *    means no backing file.  No backing format is stored.  qemu's block
 *    layer refuses a request whose offset, or offset + length, lies past
 *    BDRV_MAX_LENGTH (INT64_MAX aligned down to 1 GiB): such a backing name
 *    offset fails the open with "Input/output error" (measured: offset
 *    0x7fffffffbffffff0 reads 16 bytes and opens, 17 bytes fail; offset
 *    0xffffffff00000000 fails).
 *  - no format-specific data.
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "probe.h"

#define QCOW_HEADER_SIZE 48
#define QCOW_VERSION 1
#define QCOW_CRYPT_AES 1
#define QCOW_NAME_MAX 1023
#define QCOW_L1_MAX (0x7fffffffu / 8)
#define QCOW_REQUEST_MAX 0x7ffffe00u /* qemu's BDRV_REQUEST_MAX_BYTES */
#define QCOW_QEMU_MAX_LENGTH 0x7fffffffc0000000ull /* qemu's BDRV_MAX_LENGTH */

static int qcow_probe(const struct img_reader *r, const struct img_magic *hit,
                      struct img_result *res)
{
	const uint8_t *h, *name;
	uint64_t backing_off, size, l1_size, l1_off;
	uint32_t backing_len, crypt;
	unsigned cluster_bits, l2_bits, shift;
	size_t name_len;
	int rc;

	(void)hit;
	rc = img_get(r, 0, QCOW_HEADER_SIZE, &h);
	if (rc < 0)
		return rc;
	if (img_be32(h + 4) != QCOW_VERSION) {
		IMG_REFUSE(r, res, "version ", IMG_TDEC(img_be32(h + 4)),
		           " (qcow is version 1; 2 and 3 are qcow2)");
		return IMG_NOMATCH;
	}

	backing_off = img_be64(h + 8);
	backing_len = img_be32(h + 16);
	size = img_be64(h + 24);
	cluster_bits = h[32];
	l2_bits = h[33];
	crypt = img_be32(h + 36);
	l1_off = img_be64(h + 40);

	res->has_version = true;
	res->version = QCOW_VERSION;

	if (size <= 1)
		IMG_DAMAGED(res, "Image size is too small (must be at least 2 bytes)", "size ",
		            IMG_TDEC(size));
	if (cluster_bits < 9 || cluster_bits > 16)
		IMG_DAMAGED(res, "Cluster size must be between 512 and 64k", "cluster_bits ",
		            IMG_TDEC(cluster_bits), ", 9..16");
	else
		res->cluster_size = 1ull << cluster_bits;
	if (l2_bits < 6 || l2_bits > 13)
		IMG_DAMAGED(res, "L2 table size must be between 512 and 64k", "l2_bits ",
		            IMG_TDEC(l2_bits), ", 6..13");
	if (crypt > QCOW_CRYPT_AES)
		IMG_DAMAGED(res, "invalid encryption method in qcow header", "crypt_method ",
		            IMG_TDEC(crypt), ", 0..1");
	else if (crypt == QCOW_CRYPT_AES)
		res->encryption = IMG_ENC_AES;

	if (!res->damaged) {
		/* both in range here: shift is 15..29 */
		shift = cluster_bits + l2_bits;
		if (size > UINT64_MAX - (1ull << shift)) {
			IMG_DAMAGED(res, "Image too large", "size ", IMG_TDEC(size));
		} else {
			l1_size = (size + (1ull << shift) - 1) >> shift;
			if (l1_size > QCOW_L1_MAX)
				IMG_DAMAGED(res, "Image too large", "size ", IMG_TDEC(size),
				            ": an L1 table of ", IMG_TDEC(l1_size), " entries");
			else if (l1_size * 8 > QCOW_REQUEST_MAX)
				IMG_DAMAGED(res, "Input/output error", "the L1 table of ",
				            IMG_TDEC(l1_size), " entries is one read larger than qemu's largest");
			/* the L1 table read itself must stay below BDRV_MAX_LENGTH */
			else if (l1_off > QCOW_QEMU_MAX_LENGTH ||
			         l1_size * 8 > QCOW_QEMU_MAX_LENGTH - l1_off)
				IMG_DAMAGED(res, "Input/output error", "l1_table_offset ",
				            IMG_THEX(l1_off, 1), ": the L1 table ends past qemu's largest offset");
		}
	}
	res->has_virtual_size = true;
	res->virtual_size = size / 512 * 512;

	if (backing_off != 0) {
		if (backing_len > QCOW_NAME_MAX) {
			IMG_DAMAGED(res, "Backing file name too long", "backing_file_size ",
			            IMG_TDEC(backing_len), ", at most 1023");
		} else if (backing_off > QCOW_QEMU_MAX_LENGTH ||
		           backing_len > QCOW_QEMU_MAX_LENGTH - backing_off) {
			/* qemu's block layer refuses the read: nothing to show */
			IMG_DAMAGED(res, "Input/output error", "backing_file_offset ",
			            IMG_THEX(backing_off, 1), ": past qemu's largest offset");
		} else {
			rc = img_get_upto(r, backing_off, backing_len, &name, &name_len);
			if (rc < 0)
				return rc;
			/* qemu zero-fills past the end of the file: the name stops there */
			if (name_len) {
				const uint8_t *nul = memchr(name, 0, name_len);

				if (nul)
					name_len = (size_t)(nul - name);
			}
			if (name_len)
				img_bytes_set(&res->backing_file, name, name_len);
		}
	}
	return IMG_MATCH;
}

const struct img_format img_qcow_format = {
	.id = IMG_FMT_QCOW,
	.name = "qcow",
	.magics = {
		{ .offset = 0, .whence = IMG_FROM_START, .bytes = "QFI\xfb", .len = 4 },
	},
	.probe = qcow_probe,
};
