/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --export: NAME="value" lines meant for `eval` in sh, quoted the way
 * `lsblk -P` quotes (docs/udev.md; docs/security.md, rule 4; the class of
 * CVE-2014-9114).  Every value is double-quoted; inside the quotes only
 * printable ASCII other than '"', '\', '`' and '$' is written as is, and
 * every other byte (control bytes, non-ASCII, those four) as \xHH.  Inside
 * double quotes sh gives no meaning to ';', '|', '&', '(', '\'' or spaces,
 * and a backslash before 'x' stays literal, so the variable receives the
 * escaped text; one \xHH decoding pass gives back the exact bytes.
 *
 * DEVNAME comes first, then the properties of --udev (img_udev_props), with
 * the header names given unmodified (lossless) rather than blkid_safe'd.
 * A raw volume gives DEVNAME and ID_IMAGE_FORMAT="raw" (and the --check
 * verdict); a volume that could not be probed gives DEVNAME and
 * ID_IMAGE_ERROR.  Devices are separated by a blank line.
 */
#include <stdio.h>
#include <string.h>

#include "output/output.h"

static void export_line(void *ctx, const char *key, const char *val, size_t len)
{
	img_put_export_line(ctx, key, val, len);
}

void img_out_export(FILE *f, const struct img_scan *s, bool first)
{
	const char *path = s->path ? s->path : "";

	if (!first)
		fputc('\n', f);
	export_line(f, "DEVNAME", path, strlen(path));

	if (s->error) {
		const char *msg = s->error_text ? s->error_text
		                                : strerror(s->error < 0 ? -s->error : s->error);

		export_line(f, "ID_IMAGE_ERROR", msg, strlen(msg));
		return;
	}
	if (!s->res || s->res->format == IMG_FMT_RAW || (unsigned)s->res->format >= _IMG_FMT_MAX) {
		export_line(f, "ID_IMAGE_FORMAT", "raw", 3);
		/* --check: a raw volume's verdict (img_udev_props gives nothing else for it) */
		if (s->res)
			img_udev_props(s, true, export_line, f);
		return;
	}
	img_udev_props(s, true, export_line, f);
}
