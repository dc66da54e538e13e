/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ISO 9660 (ECMA-119), as a content signature only (docs/formats.md,
 * "iso9660"):
 * qemu has no ISO driver and calls such a volume raw, and so does imgscan,
 * naming it through libblkid.  The registry probes it only when an image
 * format matched too: an ISO whose system area (the first 32 KiB) also holds
 * an image header is a polyglot, reported as ambiguous, never resolved.
 *
 * The primary volume descriptor is at 32768: type byte 1, "CD001", version 1.
 */
#include "bytes.h"
#include "probe.h"

#define ISO_PVD_OFF 32768u

static int iso_probe(const struct img_reader *r, const struct img_magic *hit,
                     struct img_result *res)
{
	const uint8_t *p;
	int rc;

	(void)hit;
	rc = img_get(r, ISO_PVD_OFF, 7, &p);
	if (rc < 0)
		return rc;
	/* a volume descriptor type (0 boot, 1 primary, 2 supplementary, 255 end), version 1 */
	if (p[0] > 3 && p[0] != 255) {
		IMG_REFUSE(r, res, "volume descriptor type ", IMG_TDEC(p[0]), " (0..3 or 255)");
		return IMG_NOMATCH;
	}
	if (p[6] != 1) {
		IMG_REFUSE(r, res, "volume descriptor version ", IMG_TDEC(p[6]), " (1)");
		return IMG_NOMATCH;
	}
	res->no_dirty_flag = true;
	return IMG_MATCH;
}

const struct img_format img_iso_format = {
	.id = IMG_FMT_ISO,
	.name = "iso",
	.magics = { { .offset = ISO_PVD_OFF + 1, .whence = IMG_FROM_START, .bytes = "CD001", .len = 5 } },
	.content_only = true,
	.probe = iso_probe,
};
