/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PLACEHOLDER while fmt-qcow2.c is being written: matches nothing. */
#include "probe.h"

const struct img_format img_qcow2_format = {
	.id = IMG_FMT_QCOW2,
	.name = "qcow2",
};
