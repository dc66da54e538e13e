/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parallels disk images (and Virtuozzo ploop): "WithoutFreeSpace" (old) and
 * "WithouFreSpacExt" (new) headers.
 *
 * Follows qemu docs/interop/parallels.rst (64-byte little-endian header)
 * and the open-time rules of qemu 7.2 block/parallels.c (parallels_open) and
 * block/parallels-ext.c, as described in docs/formats.md, "parallels", and
 * iotest 076, measured with qemu-img 7.2.22 on patched copies
 * (fixtures/README):
 *
 *  - probe: either magic and version == 2 (anything else is raw for qemu);
 *  - virtual size = nb_sectors * 512; the old magic keeps only the low 32
 *    bits of nb_sectors; beyond qemu's BDRV_MAX_LENGTH (2^63 - 2^30) the
 *    open fails ("File too large");
 *  - tracks (sectors per cluster) 0: "Zero sectors per track"; above
 *    INT32_MAX / 513: "Too big cluster";
 *  - bat_entries above INT_MAX / 4: "Catalog too large"; a header + BAT
 *    read larger than qemu's largest request (0x7ffffe00 bytes after
 *    rounding up to 512) fails with an I/O error;
 *  - in_use, data_off and flags are not checked on a read-only open;
 *    in_use == 0x746F6E59 ("Ynot") is reported as the "in_use" flag;
 *  - ext_off != 0: the format extension cluster at ext_off * 512 must start
 *    with magic 0xAB234CEF23DCEA87 (zeros past the end of the file).  Its
 *    MD5 checksum and feature records are not verified here.
 * qemu-img prints neither cluster-size nor format-specific data.
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "probe.h"

#define PRL_HEADER_SIZE 64
#define PRL_VERSION 2
#define PRL_MAGIC_OLD "WithoutFreeSpace"
#define PRL_MAGIC_NEW "WithouFreSpacExt"
#define PRL_INUSE 0x746F6E59u
#define PRL_MAX_TRACKS (0x7fffffffu / 513)
#define PRL_MAX_BAT (0x7fffffffu / 4)
#define PRL_REQUEST_MAX 0x7ffffe00ull /* qemu's BDRV_REQUEST_MAX_BYTES */
#define PRL_QEMU_MAX_LENGTH 0x7fffffffc0000000ull /* qemu's BDRV_MAX_LENGTH */
#define PRL_EXT_MAGIC 0xAB234CEF23DCEA87ull

static int prl_check_ext(const struct img_reader *r, uint64_t ext_off, struct img_result *res)
{
	const uint8_t *p;
	size_t len;
	uint8_t magic[8] = { 0 };
	int rc;

	/* qemu works on ext_off << 9 as a signed 64-bit byte offset */
	if (ext_off > (UINT64_C(0x7fffffffffffffff) >> 9)) {
		IMG_DAMAGED(res, "Format Extension offset is invalid", "ext_off ", IMG_THEX(ext_off, 1));
		return 0;
	}
	rc = img_get_upto(r, ext_off << 9, sizeof(magic), &p, &len);
	if (rc < 0)
		return rc;
	memcpy(magic, p, len); /* zeros past the end of the file */
	if (img_le64(magic) != PRL_EXT_MAGIC)
		IMG_DAMAGED(res, "Wrong parallels Format Extension magic", "magic ",
		            IMG_THEX(img_le64(magic), 16), " at sector ", IMG_TDEC(ext_off));
	return 0;
}

static int parallels_probe(const struct img_reader *r, const struct img_magic *hit,
                           struct img_result *res)
{
	const uint8_t *h;
	uint32_t tracks, bat;
	uint64_t sectors, ext_off;
	bool old;
	int rc;

	/* qemu-img prints no dirty-flag for parallels: it has no get_info */
	res->no_dirty_flag = true;
	(void)hit;
	rc = img_get(r, 0, PRL_HEADER_SIZE, &h);
	if (rc < 0)
		return rc;
	if (img_le32(h + 16) != PRL_VERSION) {
		IMG_REFUSE(r, res, "version ", IMG_TDEC(img_le32(h + 16)), " (parallels is version 2)");
		return IMG_NOMATCH;
	}
	old = memcmp(h, PRL_MAGIC_OLD, 16) == 0;
	if (!old && memcmp(h, PRL_MAGIC_NEW, 16) != 0)
		return IMG_NOMATCH; /* unreachable: one of the two magics matched */

	tracks = img_le32(h + 28);
	bat = img_le32(h + 32);
	sectors = img_le64(h + 36);
	ext_off = img_le64(h + 56);
	if (old)
		sectors &= 0xffffffffu;

	res->has_version = true;
	res->version = PRL_VERSION;
	res->has_virtual_size = true;
	/* old: < 2^41; new: checked against the limit below before it matters */
	res->virtual_size = sectors <= (UINT64_MAX >> 9) ? sectors << 9 : UINT64_MAX;
	if (img_le32(h + 44) == PRL_INUSE)
		img_add_feature(res, IMG_FEAT_OTHER, 0, "in_use");

	if (tracks == 0)
		IMG_DAMAGED(res, "Invalid image: Zero sectors per track", "tracks 0");
	else if (tracks > PRL_MAX_TRACKS)
		IMG_DAMAGED(res, "Invalid image: Too big cluster", "tracks ", IMG_TDEC(tracks),
		            ", at most ", IMG_TDEC(PRL_MAX_TRACKS));
	else if (bat > PRL_MAX_BAT)
		IMG_DAMAGED(res, "Catalog too large", "bat_entries ", IMG_TDEC(bat), ", at most ",
		            IMG_TDEC(PRL_MAX_BAT));
	else if (((uint64_t)PRL_HEADER_SIZE + (uint64_t)bat * 4 + 511) / 512 * 512 > PRL_REQUEST_MAX)
		IMG_DAMAGED(res, "Input/output error", "bat_entries ", IMG_TDEC(bat),
		            ": the header and BAT are one read larger than qemu's largest");
	if (res->damaged)
		return IMG_MATCH;

	if (ext_off) {
		rc = prl_check_ext(r, ext_off, res);
		if (rc < 0)
			return rc;
	}
	if (!res->damaged && sectors > PRL_QEMU_MAX_LENGTH / 512)
		IMG_DAMAGED(res, "Could not refresh total sector count: File too large", "nb_sectors ",
		            IMG_TDEC(sectors));
	return IMG_MATCH;
}

const struct img_format img_parallels_format = {
	.id = IMG_FMT_PARALLELS,
	.name = "parallels",
	.magics = {
		{ .offset = 0, .whence = IMG_FROM_START, .bytes = PRL_MAGIC_OLD, .len = 16 },
		{ .offset = 0, .whence = IMG_FROM_START, .bytes = PRL_MAGIC_NEW, .len = 16 },
	},
	.probe = parallels_probe,
};
