/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PLACEHOLDER while fmt-bochs.c is being written: matches nothing. */
#include "probe.h"

const struct img_format img_bochs_format = {
	.id = IMG_FMT_BOCHS,
	.name = "bochs",
};
