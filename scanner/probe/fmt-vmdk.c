/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PLACEHOLDER while fmt-vmdk.c is being written: matches nothing. */
#include "probe.h"

const struct img_format img_vmdk_format = {
	.id = IMG_FMT_VMDK,
	.name = "vmdk",
};
