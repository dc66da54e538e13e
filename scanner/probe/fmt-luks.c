/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LUKS1, qemu's "luks" format.
 *
 * Follows the LUKS On-Disk Format Specification version 1.2.3 (header
 * layout, all fields big-endian) and qemu 7.2 crypto/block-luks.c
 * (qcrypto_block_luks_has_format, _check_header, _parse_header,
 * _get_info) and block/crypto.c, as described in
 * docs/formats.md, "luks":
 *
 *  - magic "LUKS\xba\xbe" and version 1; LUKS2 (version 2) is raw for qemu
 *    and is named by the content probe (libblkid: crypto_LUKS).
 *  - virtual size = volume size - payload_offset * 512; a payload past the
 *    end is refused ("Could not refresh total sector count").
 *  - format-specific "luks": qemu's enum names for cipher/mode/ivgen/hash,
 *    in the key order qemu-img 7.2 prints (its QDict hash order, measured).
 *
 * The probe reads the 592-byte header only; the checks and the description
 * are luks1.c's, shared with qcow2's LUKS encryption.
 */
#include <string.h>

#include "bytes.h"
#include "luks1.h"
#include "probe.h"

#define LUKS_HDR_SIZE LUKS1_HDR_SIZE
#define H_VERSION 6

static int luks_probe(const struct img_reader *r, const struct img_magic *hit,
                      struct img_result *res)
{
	uint8_t hdr[LUKS_HDR_SIZE];
	const uint8_t *p;
	size_t len;
	struct luks1_algs a = { 0 };
	const char *why;
	unsigned slot;
	bool parse = false;
	uint64_t payload;
	int rc;

	(void)hit;
	/* qemu reads the header zero-padded past the end of a short volume */
	rc = img_get_upto(r, 0, LUKS_HDR_SIZE, &p, &len);
	if (rc < 0)
		return rc;
	memset(hdr, 0, sizeof(hdr));
	if (len)
		memcpy(hdr, p, len);
	if (len < 8 || memcmp(hdr, "LUKS\xba\xbe", 6) != 0)
		return IMG_NOMATCH;
	if (img_be16(hdr + H_VERSION) != 1) {
		/* LUKS2 and others: raw for qemu */
		IMG_REFUSE(r, res, "version ", IMG_TDEC(img_be16(hdr + H_VERSION)),
		           " (qemu opens LUKS version 1)");
		return IMG_NOMATCH;
	}

	res->has_version = true;
	res->version = 1;
	res->encryption = IMG_ENC_LUKS;
	payload = (uint64_t)img_be32(hdr + LUKS1_PAYLOAD_OFFSET) * LUKS1_SECTOR;
	res->has_virtual_size = true;
	{
		/* qemu counts the volume in whole sectors, rounded up, before the payload */
		uint64_t size = r->size > UINT64_MAX - 511 ? r->size : (r->size + 511) / 512 * 512;

		res->virtual_size = size > payload ? size - payload : 0;
	}

	why = luks1_check_at(hdr, &slot);
	if (!why) {
		why = luks1_parse(hdr, &a);
		parse = true;
	}
	if (why) {
		if (__builtin_expect(res->tracing != NULL, 0))
			luks1_trace_damaged(res, hdr, why, parse, slot);
		else
			img_set_damaged(res, why);
		return IMG_MATCH;
	}
	if (payload > r->size)
		IMG_DAMAGED(res, "Could not refresh total sector count", "payload_offset ",
		            IMG_TDEC(payload / LUKS1_SECTOR), " sectors, past the end of the volume (",
		            IMG_TDEC(r->size), " bytes)");
	img_spec_begin(res, "luks");
	luks1_tree(&res->spec, hdr, &a, false);
	return IMG_MATCH;
}

const struct img_format img_luks_format = {
	.id = IMG_FMT_LUKS,
	.name = "luks",
	.magics = {
		{ .offset = 0, .whence = IMG_FROM_START, .bytes = "LUKS\xba\xbe", .len = 6 },
	},
	.probe = luks_probe,
};
