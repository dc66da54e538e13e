/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PLACEHOLDER while fmt-cloop.c is being written: matches nothing. */
#include "probe.h"

const struct img_format img_cloop_format = {
	.id = IMG_FMT_CLOOP,
	.name = "cloop",
};
