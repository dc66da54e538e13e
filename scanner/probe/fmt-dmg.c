/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMG (Apple UDIF): the 512-byte "koly" trailer at the end of the image.
 *
 * Follows the UDIF trailer layout (all fields big-endian; see
 * docs/formats.md, "dmg") and the open-time rules of
 * qemu 7.2 block/dmg.c (dmg_find_koly_offset, dmg_open), measured with
 * `qemu-img info -f dmg` on hand-built images (fixtures/README):
 *
 *  - qemu rounds the file length up to 512 and searches "koly" in the 515
 *    bytes starting 1023 bytes before that end (the first hit wins).  Real
 *    UDIF files end with the trailer, so the registry magic is "koly" at
 *    end-512; the probe then repeats qemu's search.
 *  - data fork offset <= koly; resource fork and XML plist ranges must lie
 *    before koly; one of them must be non-empty; sector count >= 0 and at
 *    most BDRV_MAX_LENGTH / 512.
 *  - qemu never probes DMG by content (only a ".dmg" file name), and does
 *    not check the version (4) or header size (512).  imgscan identifies
 *    by content, so it requires both to avoid matching any volume whose
 *    end happens to hold "koly".
 *
 * Not reproduced: parsing of the "mish" chunk tables in the resource fork or
 * the base64 <data> of the XML plist (qemu refuses some malformed ones).
 */
#include <string.h>

#include "bytes.h"
#include "probe.h"

#define KOLY_SIZE 512
#define KOLY_SEARCH 515
#define KOLY_VERSION 4

#define K_VERSION 0x04
#define K_HEADER_SIZE 0x08
#define K_DATA_FORK_OFFSET 0x18
#define K_RSRC_FORK_OFFSET 0x28
#define K_RSRC_FORK_LENGTH 0x30
#define K_PLIST_OFFSET 0xd8
#define K_PLIST_LENGTH 0xe0
#define K_SECTOR_COUNT 0x1ec

/* qemu's BDRV_MAX_LENGTH (INT64_MAX aligned down to 1 GiB) in sectors */
#define DMG_MAX_SECTORS (0x7fffffffc0000000ull / 512)

/* bytes [off, off+len) with zeros past the end of the volume, as qemu reads */
static int get_padded(const struct img_reader *r, uint64_t off, size_t len, uint8_t *out)
{
	const uint8_t *p;
	size_t got;
	int rc;

	memset(out, 0, len);
	rc = img_get_upto(r, off, len, &p, &got);
	if (rc < 0)
		return rc;
	if (got)
		memcpy(out, p, got);
	return 0;
}

/* a fork [off, off+len) must start before koly and end at or before it */
static bool fork_ok(uint64_t off, uint64_t len, uint64_t koly)
{
	return off < koly && len <= koly - off;
}

static int dmg_probe(const struct img_reader *r, const struct img_magic *hit, struct img_result *res)
{
	uint8_t win[KOLY_SEARCH], k[KOLY_SIZE];
	uint64_t length, start = 0, koly = 0, sectors;
	size_t wlen;
	bool found = false;
	int rc;

	/* qemu-img prints no dirty-flag for dmg: it has no get_info */
	res->no_dirty_flag = true;
	(void)hit;
	if (r->size < KOLY_SIZE) {
		IMG_REFUSE(r, res, "the volume (", IMG_TDEC(r->size),
		           " bytes) is smaller than a koly block (512)");
		return IMG_NOMATCH;
	}
	/* qemu: bdrv_getlength() is the size rounded up to a sector */
	length = (r->size + 511) & ~511ull;
	if (length > 511 + 512)
		start = length - 511 - 512;
	wlen = length < KOLY_SEARCH ? (size_t)length : KOLY_SEARCH;
	rc = get_padded(r, start, wlen, win);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i + 4 <= wlen; i++) {
		if (memcmp(win + i, "koly", 4) == 0) {
			koly = start + i;
			found = true;
			break;
		}
	}
	if (!found) {
		IMG_REFUSE(r, res, "no \"koly\" in the last ", IMG_TDEC(wlen), " bytes");
		return IMG_NOMATCH;
	}
	rc = get_padded(r, koly, KOLY_SIZE, k);
	if (rc < 0)
		return rc;
	if (img_be32(k + K_VERSION) != KOLY_VERSION) {
		IMG_REFUSE(r, res, "koly at ", IMG_TDEC(koly), ": version ",
		           IMG_TDEC(img_be32(k + K_VERSION)), " (dmg is version 4)");
		return IMG_NOMATCH;
	}
	if (img_be32(k + K_HEADER_SIZE) != KOLY_SIZE) {
		IMG_REFUSE(r, res, "koly at ", IMG_TDEC(koly), ": header size ",
		           IMG_TDEC(img_be32(k + K_HEADER_SIZE)), " (512)");
		return IMG_NOMATCH;
	}

	res->has_version = true;
	res->version = KOLY_VERSION;

	sectors = img_be64(k + K_SECTOR_COUNT);
	if (sectors <= DMG_MAX_SECTORS) {
		res->has_virtual_size = true;
		res->virtual_size = sectors * 512;
	}

	if (img_be64(k + K_DATA_FORK_OFFSET) > koly)
		IMG_DAMAGED(res, "Invalid argument", "data_fork_offset ",
		            IMG_TDEC(img_be64(k + K_DATA_FORK_OFFSET)), ", past the koly block at ",
		            IMG_TDEC(koly));
	else if (!fork_ok(img_be64(k + K_RSRC_FORK_OFFSET), img_be64(k + K_RSRC_FORK_LENGTH), koly))
		IMG_DAMAGED(res, "Invalid argument", "rsrc_fork_offset ",
		            IMG_TDEC(img_be64(k + K_RSRC_FORK_OFFSET)), ", length ",
		            IMG_TDEC(img_be64(k + K_RSRC_FORK_LENGTH)), ": past the koly block at ",
		            IMG_TDEC(koly));
	else if (!fork_ok(img_be64(k + K_PLIST_OFFSET), img_be64(k + K_PLIST_LENGTH), koly))
		IMG_DAMAGED(res, "Invalid argument", "xml_offset ",
		            IMG_TDEC(img_be64(k + K_PLIST_OFFSET)), ", length ",
		            IMG_TDEC(img_be64(k + K_PLIST_LENGTH)), ": past the koly block at ",
		            IMG_TDEC(koly));
	else if (sectors > (uint64_t)INT64_MAX)
		IMG_DAMAGED(res, "Invalid argument", "sector_count ", IMG_TDEC(sectors));
	else if (img_be64(k + K_RSRC_FORK_LENGTH) == 0 && img_be64(k + K_PLIST_LENGTH) == 0)
		IMG_DAMAGED(res, "Invalid argument", "rsrc_fork_length 0 and xml_length 0");
	else if (sectors > DMG_MAX_SECTORS)
		IMG_DAMAGED(res, "File too large", "sector_count ", IMG_TDEC(sectors));
	return IMG_MATCH;
}

const struct img_format img_dmg_format = {
	.id = IMG_FMT_DMG,
	.name = "dmg",
	.magics = {
		{ .offset = KOLY_SIZE, .whence = IMG_FROM_END, .bytes = "koly", .len = 4 },
	},
	.probe = dmg_probe,
};
