/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cloop V2.0 compressed loopback images (create_compressed_fs).
 *
 * Follows the layout read by qemu block/cloop.c and the open-time rules of
 * qemu 7.2 cloop_open, as described in docs/formats.md, "cloop", and
 * iotest 075, measured with qemu-img 7.2.22 `info -f cloop` on
 * cloop-utils 3.14 images and patched copies (fixtures/README):
 *
 *  - probe: the first 83 bytes are the V2.0 shell preamble (qemu scores it
 *    2, below every format with a real magic); a file shorter than the
 *    136-byte header reads as zero-padded, as qemu's probe buffer does;
 *  - block_size BE u32 at 128: a non-zero multiple of 512, <= 64 MiB;
 *  - n_blocks BE u32 at 132: (n_blocks + 1) * 8 is computed in 32 bits by
 *    qemu: n_blocks > 0x1ffffffe fails ("must be ... or less" /
 *    "Could not allocate offsets table"), a table above 512 MiB fails;
 *  - (n_blocks + 1) BE u64 offsets at 136: each not below the previous one
 *    and at most 128 MiB apart; bytes past the end of the file read as
 *    zeros.  Only the first CLOOP_SCAN_MAX bytes of the table are checked
 *    (a bounded read; qemu reads all of it);
 *  - virtual size = (n_blocks * (block_size / 512)) * 512 where the product
 *    is a 32-bit multiplication in qemu, wrap-around included.
 * qemu-img prints neither cluster-size nor format-specific data.
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "probe.h"

#define CLOOP_MAGIC                                                                    \
	"#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop " \
	"$1\n"
#define CLOOP_MAGIC_LEN (sizeof(CLOOP_MAGIC) - 1)
#define CLOOP_HEADER_SIZE 136
#define CLOOP_MAX_BLOCK (64u * 1024 * 1024)
#define CLOOP_MAX_OFFSETS (512u * 1024 * 1024)
#define CLOOP_SCAN_MAX (64u * 1024)

_Static_assert(CLOOP_MAGIC_LEN == 83, "the V2.0 preamble is 83 bytes");

static int cloop_offsets(const struct img_reader *r, uint32_t n_blocks, struct img_result *res)
{
	uint64_t want = ((uint64_t)n_blocks + 1) * 8, prev = 0;
	const uint8_t *t;
	size_t len;
	int rc;

	if (want > CLOOP_SCAN_MAX)
		want = CLOOP_SCAN_MAX;
	rc = img_get_upto(r, CLOOP_HEADER_SIZE, (size_t)want, &t, &len);
	if (rc < 0)
		return rc;
	for (uint64_t i = 0; i * 8 + 8 <= want; i++) {
		uint64_t off = 0;

		/* entries past the end of the volume are zeros for qemu */
		if (i * 8 + 8 <= len)
			off = img_be64(t + i * 8);
		else if (i * 8 < len)
			for (size_t k = (size_t)i * 8; k < len; k++)
				off |= (uint64_t)t[k] << (8 * (7 - (k - (size_t)i * 8)));
		if (i > 0) {
			if (off < prev) {
				IMG_DAMAGED(res, "offsets not monotonically increasing, image file is corrupt",
				            "offset ", IMG_TDEC(i), " is ", IMG_TDEC(off), ", below ",
				            IMG_TDEC(prev));
				return 0;
			}
			if (off - prev > 2ull * CLOOP_MAX_BLOCK) {
				IMG_DAMAGED(res, "invalid compressed block size, image file is corrupt",
				            "block ", IMG_TDEC(i - 1), " is ", IMG_TDEC(off - prev),
				            " bytes, at most ", IMG_TDEC(2ull * CLOOP_MAX_BLOCK));
				return 0;
			}
		}
		prev = off;
	}
	return 0;
}

static int cloop_probe(const struct img_reader *r, const struct img_magic *hit,
                       struct img_result *res)
{
	uint8_t h[CLOOP_HEADER_SIZE] = { 0 };
	const uint8_t *p;
	uint32_t block_size, n_blocks;
	size_t len;
	int rc;

	/* qemu-img prints no dirty-flag for cloop: it has no get_info */
	res->no_dirty_flag = true;
	(void)hit;
	/* qemu zero-pads a short file: the preamble alone is a (broken) cloop */
	rc = img_get_upto(r, 0, CLOOP_HEADER_SIZE, &p, &len);
	if (rc < 0)
		return rc;
	if (len < CLOOP_MAGIC_LEN || memcmp(p, CLOOP_MAGIC, CLOOP_MAGIC_LEN) != 0) {
		/* the magic is the first 32 bytes of the 83-byte preamble */
		IMG_REFUSE(r, res, "the V2.0 preamble: \"",
		           IMG_TBYTES(p, len < CLOOP_MAGIC_LEN ? len : CLOOP_MAGIC_LEN), "\"",
		           len < CLOOP_MAGIC_LEN ? " (the volume ends inside it)" : "");
		return IMG_NOMATCH;
	}
	memcpy(h, p, len);

	block_size = img_be32(h + 128);
	n_blocks = img_be32(h + 132);

	/* qemu: total_sectors = n_blocks * sectors_per_block, both uint32_t */
	res->has_virtual_size = true;
	res->virtual_size = (uint64_t)(uint32_t)(n_blocks * (block_size / 512)) * 512;

	if (block_size % 512)
		IMG_DAMAGED(res, "block_size must be a multiple of 512", "block_size ",
		            IMG_TDEC(block_size));
	else if (block_size == 0)
		img_set_damaged(res, "block_size cannot be zero");
	else if (block_size > CLOOP_MAX_BLOCK)
		IMG_DAMAGED(res, "block_size must be 64 MB or less", "block_size ",
		            IMG_TDEC(block_size));
	else if (n_blocks > (UINT32_MAX - 1) / 8)
		IMG_DAMAGED(res, "n_blocks must be 536870911 or less", "n_blocks ", IMG_TDEC(n_blocks));
	else if ((uint32_t)((n_blocks + 1) * 8) == 0)
		IMG_DAMAGED(res, "Could not allocate offsets table", "n_blocks ", IMG_TDEC(n_blocks));
	else if ((uint32_t)((n_blocks + 1) * 8) > CLOOP_MAX_OFFSETS)
		IMG_DAMAGED(res, "image requires too many offsets, try increasing block size",
		            "n_blocks ", IMG_TDEC(n_blocks), ", block_size ", IMG_TDEC(block_size));
	if (res->damaged)
		return IMG_MATCH;

	rc = cloop_offsets(r, n_blocks, res);
	return rc < 0 ? rc : IMG_MATCH;
}

const struct img_format img_cloop_format = {
	.id = IMG_FMT_CLOOP,
	.name = "cloop",
	.magics = {
		{ .offset = 0, .whence = IMG_FROM_START, .bytes = CLOOP_MAGIC, .len = 32 },
	},
	.probe = cloop_probe,
};
