/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The format registry.  Probe order is the enum order in probe.h.  Adding a
 * format: one enum line, one extern, one slot here, its fmt-<name>.c.
 */
#include "probe.h"

extern const struct img_format img_qcow2_format;
extern const struct img_format img_qcow_format;
extern const struct img_format img_qed_format;
extern const struct img_format img_vmdk_format;
extern const struct img_format img_vpc_format;
extern const struct img_format img_vhdx_format;
extern const struct img_format img_vdi_format;
extern const struct img_format img_parallels_format;
extern const struct img_format img_bochs_format;
extern const struct img_format img_cloop_format;
extern const struct img_format img_dmg_format;
extern const struct img_format img_luks_format;
extern const struct img_format img_iso_format;
extern const struct img_format img_udf_format;

static const struct img_format img_raw_format = {
	.id = IMG_FMT_RAW,
	.name = "raw",
};

const struct img_format *const img_formats[_IMG_FMT_MAX] = {
	[IMG_FMT_RAW] = &img_raw_format,
	[IMG_FMT_QCOW2] = &img_qcow2_format,
	[IMG_FMT_QCOW] = &img_qcow_format,
	[IMG_FMT_QED] = &img_qed_format,
	[IMG_FMT_VMDK] = &img_vmdk_format,
	[IMG_FMT_VPC] = &img_vpc_format,
	[IMG_FMT_VHDX] = &img_vhdx_format,
	[IMG_FMT_VDI] = &img_vdi_format,
	[IMG_FMT_PARALLELS] = &img_parallels_format,
	[IMG_FMT_BOCHS] = &img_bochs_format,
	[IMG_FMT_CLOOP] = &img_cloop_format,
	[IMG_FMT_DMG] = &img_dmg_format,
	[IMG_FMT_LUKS] = &img_luks_format,
	[IMG_FMT_ISO] = &img_iso_format,
	[IMG_FMT_UDF] = &img_udf_format,
};

_Static_assert(IMG_ARRAY_SIZE(img_formats) == _IMG_FMT_MAX, "registry has a slot per format");
