/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PLACEHOLDER while fmt-vhdx.c is being written: matches nothing. */
#include "probe.h"

const struct img_format img_vhdx_format = {
	.id = IMG_FMT_VHDX,
	.name = "vhdx",
};
