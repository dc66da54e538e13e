/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PLACEHOLDER while fmt-luks.c is being written: matches nothing. */
#include "probe.h"

const struct img_format img_luks_format = {
	.id = IMG_FMT_LUKS,
	.name = "luks",
};
