/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PLACEHOLDER while fmt-dmg.c is being written: matches nothing. */
#include "probe.h"

const struct img_format img_dmg_format = {
	.id = IMG_FMT_DMG,
	.name = "dmg",
};
