/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UDF (ECMA-167 volume recognition sequence), as a content signature only,
 * like ISO 9660 (fmt-iso.c): qemu calls such a volume raw, and so does
 * imgscan.  UDF leaves the first 32 KiB to anyone, so an image header there
 * makes a polyglot, reported as ambiguous.  The registry probes it only
 * when an image format matched too.
 *
 * The recognition sequence starts at 32768 with "BEA01" (structure type 0,
 * identifier at byte 1, version 1); each descriptor takes 2048 bytes, or a
 * block when blocks are larger (4096 here), and an "NSR02" or "NSR03"
 * descriptor follows: UDF proper rather than another ECMA-167 volume.
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "probe.h"

#define UDF_VRS_OFF 32768u

static bool vrs_is(const uint8_t *p, const char *id)
{
	return p[0] == 0 && memcmp(p + 1, id, 5) == 0 && p[6] == 1;
}

static int udf_probe(const struct img_reader *r, const struct img_magic *hit,
                     struct img_result *res)
{
	static const uint32_t steps[] = { 2048, 4096 };
	const uint8_t *p;
	int rc;

	(void)hit;
	rc = img_get(r, UDF_VRS_OFF, 7, &p);
	if (rc < 0)
		return rc;
	if (!vrs_is(p, "BEA01")) {
		IMG_REFUSE(r, res, "BEA01 descriptor: type ", IMG_TDEC(p[0]), ", version ",
		           IMG_TDEC(p[6]), " (0 and 1)");
		return IMG_NOMATCH;
	}
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(steps); i++) {
		rc = img_get(r, UDF_VRS_OFF + steps[i], 7, &p);
		if (rc == -ERANGE)
			continue;
		if (rc < 0)
			return rc;
		if (vrs_is(p, "NSR02") || vrs_is(p, "NSR03")) {
			res->no_dirty_flag = true;
			return IMG_MATCH;
		}
	}
	IMG_REFUSE(r, res, "no NSR02/NSR03 descriptor at ", IMG_TDEC(UDF_VRS_OFF + steps[0]),
	           " or ", IMG_TDEC(UDF_VRS_OFF + steps[1]));
	return IMG_NOMATCH;
}

const struct img_format img_udf_format = {
	.id = IMG_FMT_UDF,
	.name = "udf",
	.magics = { { .offset = UDF_VRS_OFF + 1, .whence = IMG_FROM_START, .bytes = "BEA01", .len = 5 } },
	.content_only = true,
	.probe = udf_probe,
};
