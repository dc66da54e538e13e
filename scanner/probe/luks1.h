/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LUKS1 header checks and qemu's description of it, shared by the "luks"
 * format (fmt-luks.c) and qcow2's LUKS encryption (qcow2-deep.c: the header
 * the full disk encryption extension points to).
 *
 * Follows the LUKS On-Disk Format Specification version 1.2.3 and qemu 7.2
 * crypto/block-luks.c (qcrypto_block_luks_check_header, _parse_header,
 * _get_info).  Every function takes the 592-byte header, zero-padded by the
 * caller when the volume is shorter.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "probe.h"

#define LUKS1_HDR_SIZE 592
#define LUKS1_SECTOR 512
#define LUKS1_PAYLOAD_OFFSET 104 /* BE u32, sectors */

/* qemu's names for the algorithms of a header (static strings) */
struct luks1_algs {
	const char *cipher, *mode, *ivgen, *ivgen_hash, *hash;
};

/* qcrypto_block_luks_check_header(): NULL or qemu's error text (static) */
const char *luks1_check(const uint8_t *hdr);
/*
 * The same; *ret_slot is the key slot (0..7) a key slot check refused, or
 * LUKS1_NO_SLOT when the problem is elsewhere (or there is none).
 */
#define LUKS1_NO_SLOT 8u
const char *luks1_check_at(const uint8_t *hdr, unsigned *ret_slot);
/* qcrypto_block_luks_parse_header(): NULL or qemu's error text; call after luks1_check */
const char *luks1_parse(const uint8_t *hdr, struct luks1_algs *a);
/*
 * Mark res damaged with why (from luks1_check_at, or luks1_parse when
 * parse), the trace line naming the fields behind it: the key slot's, the
 * cipher and hash strings (escaped), the payload offset.  For a traced
 * result (res->tracing set); otherwise img_set_damaged does the same.
 */
void luks1_trace_damaged(struct img_result *res, const uint8_t *hdr, const char *why, bool parse,
                         unsigned slot);
/*
 * The members of qemu's QCryptoBlockInfoLUKS into the object open in s, in
 * the key order qemu-img 7.2 prints (QDict hash order, measured).  With
 * qcow2_format the "format": "luks" member of qcow2's "encrypt" object is
 * added where qemu prints it.
 */
void luks1_tree(struct img_spec *s, const uint8_t *hdr, const struct luks1_algs *a,
                bool qcow2_format);
