/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PLACEHOLDER while fmt-vdi.c is being written: matches nothing. */
#include "probe.h"

const struct img_format img_vdi_format = {
	.id = IMG_FMT_VDI,
	.name = "vdi",
};
