/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VPC / VHD (Microsoft Virtual Hard Disk, "conectix").
 *
 * Follows the Microsoft "Virtual Hard Disk Image Format Specification"
 * (footer and dynamic disk header layouts) and the open-time rules of
 * qemu 7.2 block/vpc.c (vpc_open), as described in
 * docs/formats.md, "vpc":
 *
 *  - "conectix" at 0: the footer copy of a dynamic or differencing disk;
 *    qemu then always reads the dynamic header, whatever the type field.
 *  - otherwise the footer at end-512 must say type 2 (fixed).
 *  - footer checksum mismatch: qemu 7.2 refuses ("Incorrect header
 *    checksum", measured; older qemu only warned).
 *  - virtual size: cylinders * heads * sectors unless the creator is one of
 *    "win ", "qem2", "d2v ", "CTXS", "tap\0" (qemu <= 9.2) or the geometry
 *    is the maximum 65535/16/255; then current_size.  Sectors above
 *    0xff000000 are refused (EFBIG).
 *  - cluster-size = dynamic header block_size unless the footer says fixed.
 *
 * All fields are big-endian.  The probe reads the footer (512 bytes), the
 * dynamic header (1024 bytes) and, when small, the BAT.
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "probe.h"

#define VHD_FOOTER_SIZE 512
#define VHD_DYN_SIZE 1024

#define VHD_FIXED 2
#define VHD_DYNAMIC 3
#define VHD_DIFF 4

#define VHD_MAX_SECTORS 0xff000000ull
#define VHD_MAX_GEOMETRY (65535ull * 16 * 255)
/* qemu: BAT larger than INT_MAX / 4 entries is refused */
#define VHD_MAX_TABLE_ENTRIES (0x7fffffffu / 4)
/* qemu's largest single request (BDRV_REQUEST_MAX_BYTES) */
#define VHD_REQUEST_MAX 0x7ffffe00ull
/* qemu's BDRV_MAX_LENGTH: INT64_MAX aligned down to 1 GiB; reads past it fail */
#define VHD_QEMU_MAX_LENGTH 0x7fffffffc0000000ull
/* the BAT is scanned for entries past the end only when this small */
#define VHD_BAT_SCAN_MAX (256u * 1024)

/* footer field offsets */
#define F_COOKIE 0
#define F_FEATURES 8
#define F_VERSION 12
#define F_DATA_OFFSET 16
#define F_CREATOR_APP 28
#define F_CURRENT_SIZE 48
#define F_CYLS 56
#define F_HEADS 58
#define F_SECS 59
#define F_TYPE 60
#define F_CHECKSUM 64

/* dynamic header field offsets */
#define D_COOKIE 0
#define D_TABLE_OFFSET 16
#define D_MAX_TABLE_ENTRIES 28
#define D_BLOCK_SIZE 32
#define D_PARENT_NAME 64
#define D_PARENT_NAME_LEN 512

static uint32_t vhd_checksum(const uint8_t *buf)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i < VHD_FOOTER_SIZE; i++)
		if (i < F_CHECKSUM || i >= F_CHECKSUM + 4)
			sum += buf[i];
	return ~sum;
}

/* qemu <= 9.2: these creators store the real size in current_size */
static bool vhd_use_current_size(const uint8_t *app)
{
	static const char *const apps[] = { "win ", "qem2", "d2v ", "CTXS" };

	for (unsigned i = 0; i < IMG_ARRAY_SIZE(apps); i++)
		if (memcmp(app, apps[i], 4) == 0)
			return true;
	return memcmp(app, "tap\0", 4) == 0;
}

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * UTF-16BE (nunits code units, stops at the first NUL) to UTF-8; lone
 * surrogates become U+FFFD.  out must hold 3 bytes per unit.
 */
static size_t utf16be_to_utf8(const uint8_t *in, size_t nunits, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < nunits; i++) {
		uint32_t cp = img_be16(in + 2 * i);

		if (cp == 0)
			break;
		if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < nunits) {
			uint32_t lo = img_be16(in + 2 * (i + 1));

			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				cp = 0xfffd;
			}
		} else if (cp >= 0xd800 && cp <= 0xdfff) {
			cp = 0xfffd;
		}
		o += utf8_put(out + o, cp);
	}
	return o;
}

/* qemu refuses the image when a BAT entry or the BAT itself lies past the end */
static int vhd_check_bat(const struct img_reader *r, struct img_result *res, uint64_t bat_offset,
                         uint32_t entries, uint32_t block_size)
{
	uint64_t bat_bytes = (uint64_t)entries * 4;
	uint64_t bitmap_size = ((block_size / (8 * 512)) + 511) & ~511ull;
	uint64_t end;
	const uint8_t *bat;
	int rc;

	if (bat_bytes > VHD_REQUEST_MAX || bat_offset > VHD_QEMU_MAX_LENGTH ||
	    bat_bytes > VHD_QEMU_MAX_LENGTH - bat_offset) {
		IMG_DAMAGED(res, "Error reading pagetable", "table_offset ", IMG_THEX(bat_offset, 1),
		            ", max_table_entries ", IMG_TDEC(entries));
		return 0;
	}
	/* ROUND_UP(bat_offset + bat_bytes, 512) */
	if (img_add_overflow(bat_offset, bat_bytes + 511, &end) || (end & ~511ull) > r->size) {
		IMG_DAMAGED(res, "free_data_block_offset points after the end of file", "the BAT at ",
		            IMG_TDEC(bat_offset), ", ", IMG_TDEC(entries), " entries, ends past ",
		            IMG_TDEC(r->size), " bytes");
		return 0;
	}
	if (bat_bytes == 0 || bat_bytes > VHD_BAT_SCAN_MAX)
		return 0;
	rc = img_get(r, bat_offset, (size_t)bat_bytes, &bat);
	if (rc == -ERANGE || rc == -E2BIG)
		return 0;
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < entries; i++) {
		uint32_t e = img_be32(bat + 4 * (size_t)i);

		/* at most 512 * 2^32 + 2^31 + 2^31: no overflow in 64 bits */
		if (e != 0xffffffffu && 512ull * e + bitmap_size + block_size > r->size) {
			IMG_DAMAGED(res, "free_data_block_offset points after the end of file",
			            "BAT entry ", IMG_TDEC(i), ": sector ", IMG_TDEC(e),
			            ", its block ends past ", IMG_TDEC(r->size), " bytes");
			break;
		}
	}
	return 0;
}

static int vhd_dynamic(const struct img_reader *r, const uint8_t *footer, struct img_result *res,
                       uint64_t total_sectors)
{
	uint32_t type = img_be32(footer + F_TYPE);
	uint64_t data_offset = img_be64(footer + F_DATA_OFFSET);
	const uint8_t *dyn;
	uint32_t block_size, entries;
	int rc;

	if (data_offset > VHD_QEMU_MAX_LENGTH - VHD_DYN_SIZE) {
		IMG_DAMAGED(res, "Error reading dynamic VHD header", "data_offset ",
		            IMG_THEX(data_offset, 1));
		return 0;
	}
	/* qemu reads zeros past the end of the file: the cookie does not match */
	rc = img_get(r, data_offset, VHD_DYN_SIZE, &dyn);
	if (rc == -ERANGE) {
		IMG_DAMAGED(res, "Invalid header magic", "data_offset ", IMG_TDEC(data_offset),
		            ": the dynamic header is past the end of the volume");
		return 0;
	}
	if (rc < 0)
		return rc;
	if (memcmp(dyn + D_COOKIE, "cxsparse", 8) != 0) {
		IMG_DAMAGED(res, "Invalid header magic", "cookie \"", IMG_TBYTES(dyn + D_COOKIE, 8),
		            "\" at ", IMG_TDEC(data_offset), ", not \"cxsparse\"");
		return 0;
	}

	if (type == VHD_DIFF) {
		char name[D_PARENT_NAME_LEN / 2 * 3];
		size_t n = utf16be_to_utf8(dyn + D_PARENT_NAME, D_PARENT_NAME_LEN / 2, name);

		/* qemu 7.2 has no VHD backing support and prints none */
		if (n)
			img_bytes_set(&res->backing_file, name, n);
	}

	block_size = img_be32(dyn + D_BLOCK_SIZE);
	if (block_size < 512 || (block_size & (block_size - 1)) != 0) {
		IMG_DAMAGED(res, "Invalid block size", "block_size ", IMG_TDEC(block_size));
		return 0;
	}
	if (type != VHD_FIXED)
		res->cluster_size = block_size;

	entries = img_be32(dyn + D_MAX_TABLE_ENTRIES);
	if (total_sectors * 512 / block_size > 0xffffffffull) {
		IMG_DAMAGED(res, "Too many blocks", "size ", IMG_TDEC(total_sectors * 512),
		            ", block_size ", IMG_TDEC(block_size));
		return 0;
	}
	if ((uint64_t)entries * block_size < total_sectors * 512) {
		IMG_DAMAGED(res, "Page table too small", "max_table_entries ", IMG_TDEC(entries),
		            ", block_size ", IMG_TDEC(block_size), ", size ",
		            IMG_TDEC(total_sectors * 512));
		return 0;
	}
	if (entries > VHD_MAX_TABLE_ENTRIES) {
		IMG_DAMAGED(res, "Max Table Entries too large", "max_table_entries ", IMG_TDEC(entries),
		            ", at most ", IMG_TDEC(VHD_MAX_TABLE_ENTRIES));
		return 0;
	}
	return vhd_check_bat(r, res, img_be64(dyn + D_TABLE_OFFSET), entries, block_size);
}

static int vpc_probe(const struct img_reader *r, const struct img_magic *hit, struct img_result *res)
{
	uint8_t footer[VHD_FOOTER_SIZE];
	const uint8_t *p;
	size_t len;
	bool fixed = hit->whence == IMG_FROM_END;
	uint32_t type;
	uint64_t total_sectors;
	int rc;

	memset(footer, 0, sizeof(footer));
	if (fixed) {
		rc = img_get_end(r, VHD_FOOTER_SIZE, VHD_FOOTER_SIZE, &p);
		if (rc < 0)
			return rc;
		len = VHD_FOOTER_SIZE;
	} else {
		/* qemu reads 512 bytes at 0, zero-padded past the end of a short file */
		rc = img_get_upto(r, 0, VHD_FOOTER_SIZE, &p, &len);
		if (rc < 0)
			return rc;
	}
	if (len)
		memcpy(footer, p, len);
	if (memcmp(footer + F_COOKIE, "conectix", 8) != 0) {
		IMG_REFUSE(r, res, "cookie \"", IMG_TBYTES(footer + F_COOKIE, 8), "\"");
		return IMG_NOMATCH;
	}

	type = img_be32(footer + F_TYPE);
	if (fixed) {
		if (type == VHD_FIXED) {
			res->subformat = "fixed";
			/*
			 * qemu looks for the footer 512 bytes before the size rounded up
			 * to a sector: with a partial last sector it finds none there
			 */
			if (r->size % 512)
				IMG_DAMAGED(res, "invalid VPC image", "a footer at the end of a volume of ",
				            IMG_TDEC(r->size), " bytes, not a multiple of 512");
		}
		else if (type == VHD_DYNAMIC || type == VHD_DIFF)
			/* a footer without its head copy: the disk lost its first sector */
			IMG_DAMAGED(res, "invalid VPC image", "disk_type ", IMG_TDEC(type),
			            " (", type == VHD_DIFF ? "differencing" : "dynamic",
			            ") in the footer, no copy at the start");
		else {
			IMG_REFUSE(r, res, "footer disk_type ", IMG_TDEC(type),
			           " (a footer alone is a fixed disk, type 2)");
			return IMG_NOMATCH;
		}
	}
	if (!res->subformat)
		res->subformat = type == VHD_DIFF ? "differencing" : "dynamic";

	res->has_version = true;
	res->version = img_be32(footer + F_VERSION);
	res->version_dotted = true; /* 0x00010000: "1.0" */
	if (img_be32(footer + F_FEATURES) & 1)
		img_add_feature(res, IMG_FEAT_OTHER, 0, "temporary");

	if (vhd_checksum(footer) != img_be32(footer + F_CHECKSUM))
		IMG_DAMAGED(res, "Incorrect header checksum", "checksum ",
		            IMG_THEX(img_be32(footer + F_CHECKSUM), 8), ", computed ",
		            IMG_THEX(vhd_checksum(footer), 8));

	total_sectors = (uint64_t)img_be16(footer + F_CYLS) * footer[F_HEADS] * footer[F_SECS];
	if (vhd_use_current_size(footer + F_CREATOR_APP) || total_sectors == VHD_MAX_GEOMETRY)
		total_sectors = img_be64(footer + F_CURRENT_SIZE) / 512;
	res->has_virtual_size = true;
	res->virtual_size = total_sectors * 512;
	if (total_sectors > VHD_MAX_SECTORS) {
		IMG_DAMAGED(res, "File too large", "size ", IMG_TDEC(total_sectors * 512));
		return IMG_MATCH;
	}

	if (!fixed) {
		rc = vhd_dynamic(r, footer, res, total_sectors);
		if (rc < 0)
			return rc;
	}
	return IMG_MATCH;
}

const struct img_format img_vpc_format = {
	.id = IMG_FMT_VPC,
	.name = "vpc",
	.magics = {
		{ .offset = 0, .whence = IMG_FROM_START, .bytes = "conectix", .len = 8 },
		{ .offset = VHD_FOOTER_SIZE, .whence = IMG_FROM_END, .bytes = "conectix", .len = 8 },
	},
	.probe = vpc_probe,
};
