/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the command's outputs are made from, for one volume: the library's
 * probe handle (libimgscan.so.1, lib/imgscan.h: every fact about the
 * volume, read through getters) and the command's own facts about the
 * target (the PATH as given, the block device sysfs and the udev database
 * describe).  No output reads a device or an engine structure.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "enum/device.h"
#include "lib/imgscan.h"

struct img_view {
	const struct imgscan_probe *pr;
	int rc;                       /* imgscan_probe_run's: 1 image, 0 raw, or a negative errno */
	const char *path;             /* the target as given or enumerated */
	uint64_t offset;              /* --offset */
	const struct img_device *dev; /* the block device behind path, when the command knows it */
	bool stats;                   /* --stats: the I/O counters are shown */
};

/*
 * Append tok (static text: a format name, a feature token) to the
 * comma-separated list buf[0, used), cap bytes, kept NUL-terminated; a
 * token that does not fit, with its comma and the NUL, is left out.
 * Returns the list's new length.
 */
static inline size_t img_list_add(char *buf, size_t cap, size_t used, const char *tok)
{
	size_t len = tok ? strlen(tok) : 0;

	if (!len || len + 2 > cap - used)
		return used;
	if (used)
		buf[used++] = ',';
	memcpy(buf + used, tok, len);
	used += len;
	buf[used] = '\0';
	return used;
}
