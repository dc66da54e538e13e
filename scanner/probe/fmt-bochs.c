/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bochs growing redolog disk images (bximage -imgmode=growing).
 *
 * Follows the 512-byte little-endian header of qemu block/bochs.c (struct
 * bochs_header) and the open-time rules of qemu 7.2 bochs_open, as
 * described in docs/formats.md, "bochs", and iotest 078,
 * measured with qemu-img 7.2.22 on bximage 2.7 images and patched copies
 * (fixtures/README):
 *
 *  - probe: magic, type and subtype are NUL-terminated strings equal to
 *    "Bochs Virtual HD Image", "Redolog" and "Growing" (qemu strcmp()s the
 *    fields), version 0x00020000 (v2) or 0x00010000 (v1); else raw;
 *  - disk size (u64 at 88 for v2, at 84 for v1) rounded down to 512;
 *  - catalog entries > 0x100000: "Catalog size is too large";
 *  - extent size >= 512, a power of two, <= 8 MiB;
 *  - catalog entries >= ceil(sectors / (extent / 512)).
 * The version is reported as the raw header word.  qemu-img prints neither
 * cluster-size nor format-specific data; there is no backing file.
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "probe.h"

#define BOCHS_HEADER_SIZE 512
#define BOCHS_MAGIC "Bochs Virtual HD Image"
#define BOCHS_TYPE "Redolog"
#define BOCHS_SUBTYPE "Growing"
#define BOCHS_V1 0x00010000u
#define BOCHS_V2 0x00020000u
#define BOCHS_CATALOG_MAX 0x100000u
#define BOCHS_EXTENT_MAX 0x800000u

/* strcmp(field, s) == 0 for a header field: s and its NUL */
static bool field_is(const uint8_t *f, const char *s)
{
	return memcmp(f, s, strlen(s) + 1) == 0;
}

static int bochs_probe(const struct img_reader *r, const struct img_magic *hit,
                       struct img_result *res)
{
	const uint8_t *h;
	uint32_t version, catalog, extent;
	uint64_t disk, sectors, need;
	int rc;

	/* qemu-img prints no dirty-flag for bochs: it has no get_info */
	res->no_dirty_flag = true;
	(void)hit;
	rc = img_get(r, 0, BOCHS_HEADER_SIZE, &h);
	if (rc < 0)
		return rc;
	version = img_le32(h + 64);
	if (!field_is(h, BOCHS_MAGIC)) {
		IMG_REFUSE(r, res, "magic \"", IMG_TBYTES(h, 32), "\" (\"" BOCHS_MAGIC "\" and a NUL)");
		return IMG_NOMATCH;
	}
	if (!field_is(h + 32, BOCHS_TYPE)) {
		IMG_REFUSE(r, res, "type \"", IMG_TBYTES(h + 32, 16), "\" (\"" BOCHS_TYPE "\")");
		return IMG_NOMATCH;
	}
	if (!field_is(h + 48, BOCHS_SUBTYPE)) {
		IMG_REFUSE(r, res, "subtype \"", IMG_TBYTES(h + 48, 16), "\" (\"" BOCHS_SUBTYPE "\")");
		return IMG_NOMATCH;
	}
	if (version != BOCHS_V1 && version != BOCHS_V2) {
		IMG_REFUSE(r, res, "version ", IMG_THEX(version, 8), " (0x00010000 or 0x00020000)");
		return IMG_NOMATCH;
	}

	catalog = img_le32(h + 72);
	extent = img_le32(h + 80);
	disk = img_le64(h + (version == BOCHS_V1 ? 84 : 88));
	sectors = disk / 512;

	res->has_version = true;
	res->version = version;
	res->version_dotted = true; /* 0x00020000: "2.0" */
	res->has_virtual_size = true;
	res->virtual_size = sectors * 512;

	if (catalog > BOCHS_CATALOG_MAX)
		IMG_DAMAGED(res, "Catalog size is too large", "catalog ", IMG_TDEC(catalog),
		            ", at most ", IMG_TDEC(BOCHS_CATALOG_MAX));
	else if (extent < 512)
		IMG_DAMAGED(res, "Extent size must be at least 512", "extent ", IMG_TDEC(extent));
	else if (extent & (extent - 1))
		IMG_DAMAGED(res, "Extent size is not a power of two", "extent ", IMG_TDEC(extent));
	else if (extent > BOCHS_EXTENT_MAX)
		IMG_DAMAGED(res, "Extent size is too large", "extent ", IMG_TDEC(extent), ", at most ",
		            IMG_TDEC(BOCHS_EXTENT_MAX));
	if (res->damaged)
		return IMG_MATCH;

	/* extent / 512 >= 1 here */
	need = sectors / (extent / 512) + (sectors % (extent / 512) ? 1 : 0);
	if (catalog < need)
		IMG_DAMAGED(res, "Catalog size is too small for this disk size", "catalog ",
		            IMG_TDEC(catalog), ", ", IMG_TDEC(need), " needed");
	return IMG_MATCH;
}

const struct img_format img_bochs_format = {
	.id = IMG_FMT_BOCHS,
	.name = "bochs",
	.magics = {
		{ .offset = 0, .whence = IMG_FROM_START, .bytes = BOCHS_MAGIC, .len = 22 },
	},
	.probe = bochs_probe,
};
