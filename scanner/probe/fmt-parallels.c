/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PLACEHOLDER while fmt-parallels.c is being written: matches nothing. */
#include "probe.h"

const struct img_format img_parallels_format = {
	.id = IMG_FMT_PARALLELS,
	.name = "parallels",
};
