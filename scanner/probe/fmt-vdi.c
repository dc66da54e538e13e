/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VDI, the VirtualBox disk image.
 *
 * Follows the 512-byte little-endian header of qemu block/vdi.c (VdiHeader)
 * and the open-time rules of qemu 7.2 vdi_open, as summarised in
 * docs/formats.md, "vdi", and qemu iotest 084, measured with
 * qemu-img 7.2.22 on patched copies (fixtures/README):
 *
 *  - probe: signature 0xBEDA107F at 64 (qemu needs 512 bytes);
 *  - disk_size > 0x1fffff8000000 (512 TB - 128 MB) is refused, then an odd
 *    size is rounded UP to 512 (VBoxManage convertfromraw makes such);
 *  - version must be 1.1; bitmap and data offsets 512-aligned; sector size
 *    512; block size 1 MiB; disk_size <= blocks_in_image * block_size; link
 *    and parent UUIDs null; blocks_in_image <= 0x1fffff80;
 *  - the text at 0, header_size, image_type and flags are not checked;
 *  - cluster-size = block_size; virtual size = the rounded disk_size.
 * The version is reported as the specification writes it ("1.1" for the
 * header word 0x00010001) and image_type as the subformat.  qemu-img prints no format-specific data.
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "probe.h"

#define VDI_HEADER_SIZE 512
#define VDI_VERSION_1_1 0x00010001u
#define VDI_SECTOR 512u
#define VDI_BLOCK_SIZE (1024u * 1024)
#define VDI_BLOCKS_MAX 0x1fffff80u
#define VDI_DISK_SIZE_MAX ((uint64_t)VDI_BLOCKS_MAX * VDI_BLOCK_SIZE)

static bool uuid_is_null(const uint8_t *u)
{
	for (unsigned i = 0; i < 16; i++)
		if (u[i])
			return false;
	return true;
}

static const char *vdi_type(uint32_t type)
{
	switch (type) {
	case 1:
		return "dynamic";
	case 2:
		return "static";
	case 3:
		return "undo";
	case 4:
		return "diff";
	default:
		return NULL;
	}
}

static int vdi_probe(const struct img_reader *r, const struct img_magic *hit,
                     struct img_result *res)
{
	const uint8_t *h;
	uint32_t version, offset_bmap, offset_data, sector_size, block_size, blocks;
	uint64_t disk_size;
	int rc;

	(void)hit;
	rc = img_get(r, 0, VDI_HEADER_SIZE, &h);
	if (rc < 0)
		return rc;

	version = img_le32(h + 68);
	offset_bmap = img_le32(h + 340);
	offset_data = img_le32(h + 344);
	sector_size = img_le32(h + 360);
	disk_size = img_le64(h + 368);
	block_size = img_le32(h + 376);
	blocks = img_le32(h + 384);

	res->has_version = true;
	res->version = version;
	res->version_dotted = true; /* 0x00010001: "1.1" */
	res->subformat = vdi_type(img_le32(h + 76));

	if (disk_size > VDI_DISK_SIZE_MAX)
		IMG_DAMAGED(res, "Unsupported VDI image size", "disk_size ", IMG_TDEC(disk_size),
		            ", at most ", IMG_TDEC(VDI_DISK_SIZE_MAX));
	else /* cannot overflow: disk_size is below 2^49 here */
		disk_size = (disk_size + VDI_SECTOR - 1) / VDI_SECTOR * VDI_SECTOR;
	res->has_virtual_size = true;
	res->virtual_size = disk_size;

	if (version != VDI_VERSION_1_1)
		IMG_DAMAGED(res, "unsupported VDI image (version)", "version ", IMG_THEX(version, 8),
		            ", only 0x00010001 (1.1)");
	else if (offset_bmap % VDI_SECTOR)
		IMG_DAMAGED(res, "unsupported VDI image (unaligned block map offset)", "offset_bmap ",
		            IMG_TDEC(offset_bmap));
	else if (offset_data % VDI_SECTOR)
		IMG_DAMAGED(res, "unsupported VDI image (unaligned data offset)", "offset_data ",
		            IMG_TDEC(offset_data));
	else if (sector_size != VDI_SECTOR)
		IMG_DAMAGED(res, "unsupported VDI image (sector size is not 512)", "sector_size ",
		            IMG_TDEC(sector_size));
	else if (block_size != VDI_BLOCK_SIZE)
		IMG_DAMAGED(res, "unsupported VDI image (block size is not 1048576)", "block_size ",
		            IMG_TDEC(block_size));
	else if (disk_size > (uint64_t)blocks * block_size)
		IMG_DAMAGED(res, "unsupported VDI image (disk size larger than the image bitmap)",
		            "disk_size ", IMG_TDEC(disk_size), ", blocks_in_image ", IMG_TDEC(blocks));
	else if (!uuid_is_null(h + 424))
		IMG_DAMAGED(res, "unsupported VDI image (non-NULL link UUID)", "uuid_link ",
		            IMG_TBYTES(h + 424, 16));
	else if (!uuid_is_null(h + 440))
		IMG_DAMAGED(res, "unsupported VDI image (non-NULL parent UUID)", "uuid_parent ",
		            IMG_TBYTES(h + 440, 16));
	else if (blocks > VDI_BLOCKS_MAX)
		IMG_DAMAGED(res, "unsupported VDI image (too many blocks)", "blocks_in_image ",
		            IMG_TDEC(blocks), ", at most ", IMG_TDEC(VDI_BLOCKS_MAX));

	if (block_size == VDI_BLOCK_SIZE)
		res->cluster_size = block_size;
	return IMG_MATCH;
}

const struct img_format img_vdi_format = {
	.id = IMG_FMT_VDI,
	.name = "vdi",
	.magics = {
		{ .offset = 64, .whence = IMG_FROM_START, .bytes = "\x7f\x10\xda\xbe", .len = 4 },
	},
	.probe = vdi_probe,
};
