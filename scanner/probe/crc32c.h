/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRC-32C (Castagnoli; RFC 3720 appendix B.4, the checksum of VHDX headers,
 * region and log entries): reflected polynomial 0x82f63b78, initial value
 * and final XOR 0xffffffff.
 *
 * The interface is zlib's: crc is the finished CRC of what came before (0
 * for nothing), the result the finished CRC of it followed by the new bytes,
 * so calls chain: update(update(0, a), b) == update(0, a || b).
 *
 * No state, no allocation, no run-time initialisation: safe from any thread.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of the bytes so far (crc) followed by buf[0..n) */
uint32_t img_crc32c_update(uint32_t crc, const void *buf, size_t n);
/* CRC-32C of the bytes so far (crc) followed by n zero bytes, in O(log n) */
uint32_t img_crc32c_zeros(uint32_t crc, size_t n);
/* img_crc32c_update without the hardware instruction (slice-by-8), for tests */
uint32_t img_crc32c_portable(uint32_t crc, const void *buf, size_t n);
/* true when img_crc32c_update uses a CRC instruction of this CPU */
int img_crc32c_hw(void);
