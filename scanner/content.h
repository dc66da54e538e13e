/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What is inside a raw volume, named through libblkid (never used by --udev). */
#pragma once

#include <stdint.h>

#include "check/content-facts.h"

/*
 * Probe the volume open at fd (buffered reads; the caller keeps and closes
 * it) at offset with libblkid for a filesystem, partition table, LUKS2 or
 * ISO 9660.  Fills ret (ret->present false when nothing is found).
 * Returns 0 or a negative errno.
 */
int img_content_probe(int fd, uint64_t offset, uint64_t size, struct img_content *ret);
