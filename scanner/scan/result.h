/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One target's result, as the scan engine (scan.c) makes it: what was read,
 * what failed, the probe's facts and the --check verdict.  The outputs
 * (output/) and the library (lib/) are built from it; it belongs to the
 * engine's layer, so the engine needs no header of the layers above it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "check/check.h"
#include "io/source.h"
#include "probe/probe.h"

/* the block device behind a target (enum/device.h); the engine only carries it */
struct img_device;

struct img_scan {
	const char *path;
	uint64_t offset;      /* --offset, 0 by default */
	uint64_t size;        /* bytes of the volume from offset to its end */
	int error;            /* 0, or a negative errno: the target could not be probed */
	const char *error_op; /* what failed: "open", "read", "stat" ... (static) */
	/* when set, the cause in words, instead of strerror(-error) (static) */
	const char *error_text;
	/* the block device behind path, when imgscan knows it (enumeration, sysfs) */
	const struct img_device *dev;
	bool have_stats;
	struct img_source_stats stats;
	struct img_result *res; /* set when error == 0 */
	struct img_content content;
	/* --check: the safety verdict on res (set when checked and error == 0) */
	bool checked;
	struct img_verdict verdict;
};

