/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PLACEHOLDER while fmt-qcow.c is being written: matches nothing. */
#include "probe.h"

const struct img_format img_qcow_format = {
	.id = IMG_FMT_QCOW,
	.name = "qcow",
};
