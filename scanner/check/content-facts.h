/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What imgscan knows about a volume besides its image header: what libblkid
 * names inside a raw volume, and the MBR partition entries of its first
 * sector.  Filled by the scan layer (content.c, scan/scan.c), read by the safety
 * checks (check.h) and the outputs; plain data, no I/O here.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The four primary entries of a DOS/MBR partition table (sector 0). */
struct img_mbr {
	bool present;    /* bytes 510-511 are 0x55 0xAA */
	uint8_t boot[4]; /* boot indicator of each entry: 0x00 or 0x80 in a sane table */
	uint8_t type[4]; /* partition type; 0xEE is the GPT protective entry */
	uint32_t start[4];   /* first LBA */
	uint32_t sectors[4]; /* length in sectors */
};

/* What libblkid found inside a raw volume (filled by the CLI, never by the core). */
struct img_content {
	bool present;
	char type[64];       /* ID_FS_TYPE-like: ext4, iso9660, crypto_LUKS ... */
	char usage[32];      /* filesystem, crypto, raid, other */
	char version[64];
	char label[256];
	char uuid[128];
	char pttype[32];     /* dos, gpt ... */
	char ptuuid[128];
	/* libblkid looked at the volume (present or not); false under --udev */
	bool probed;
	/* the first sector's MBR entries (--check on a raw volume) */
	struct img_mbr mbr;
};
