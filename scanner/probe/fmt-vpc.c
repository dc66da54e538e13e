/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PLACEHOLDER while fmt-vpc.c is being written: matches nothing. */
#include "probe.h"

const struct img_format img_vpc_format = {
	.id = IMG_FMT_VPC,
	.name = "vpc",
};
