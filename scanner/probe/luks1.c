/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LUKS1 header checks and qemu's description of it (see luks1.h).
 *
 * Follows the LUKS On-Disk Format Specification version 1.2.3 (header
 * layout, all fields big-endian) and qemu 7.2 crypto/block-luks.c
 * (qcrypto_block_luks_check_header, _parse_header, _get_info), as
 * described in docs/formats.md, "luks".  Moved out of fmt-luks.c so that
 * qcow2 (LUKS encryption) uses the very same checks and key order.
 */
#include <string.h>

#include "bytes.h"
#include "luks1.h"

#define LUKS_NUM_SLOTS 8
#define LUKS_STRIPES 4000
#define LUKS_SLOT_ENABLED 0x00AC71F3u
#define LUKS_SLOT_DISABLED 0x0000DEADu
/* qemu: key material and payload start at or after 4096 bytes (8 sectors) */
#define LUKS_HEADER_SECTORS 8

#define H_VERSION 6
#define H_CIPHER_NAME 8
#define H_CIPHER_MODE 40
#define H_HASH_SPEC 72
#define H_KEY_BYTES 108
#define H_MK_ITERS 164
#define H_UUID 168
#define H_UUID_LEN 40
#define H_SLOTS 208
#define H_SLOT_SIZE 48
#define S_ACTIVE 0
#define S_ITERS 4
#define S_KEY_OFFSET 40
#define S_STRIPES 44

struct name_map {
	const char *luks;
	const char *qemu;
	unsigned len; /* hash digest length or cipher key length, bytes */
};

static const struct name_map luks_hashes[] = {
	{ "md5", "md5", 16 },       { "sha1", "sha1", 20 },
	{ "sha224", "sha224", 28 }, { "sha256", "sha256", 32 },
	{ "sha384", "sha384", 48 }, { "sha512", "sha512", 64 },
	{ "ripemd160", "ripemd160", 20 },
};

/* cipher name + key bytes (halved for xts) -> qemu's name */
static const struct name_map luks_ciphers[] = {
	{ "aes", "aes-128", 16 },         { "aes", "aes-192", 24 },
	{ "aes", "aes-256", 32 },         { "cast5", "cast5-128", 16 },
	{ "serpent", "serpent-128", 16 }, { "serpent", "serpent-192", 24 },
	{ "serpent", "serpent-256", 32 }, { "twofish", "twofish-128", 16 },
	{ "twofish", "twofish-192", 24 }, { "twofish", "twofish-256", 32 },
};

static const char *const luks_modes[] = { "ecb", "cbc", "xts", "ctr" };
static const char *const luks_ivgens[] = { "plain", "plain64", "essiv" };

static const struct name_map *map_find(const struct name_map *m, size_t n, const char *name,
                                       size_t namelen, unsigned len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(m[i].luks) == namelen && memcmp(m[i].luks, name, namelen) == 0 &&
		    (len == 0 || m[i].len == len))
			return &m[i];
	return NULL;
}

static const char *list_find(const char *const *l, size_t n, const char *name, size_t namelen)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(l[i]) == namelen && memcmp(l[i], name, namelen) == 0)
			return l[i];
	return NULL;
}

/* qcrypto_block_luks_parse_header(); strings are NUL-terminated in hdr (checked) */
const char *luks1_parse(const uint8_t *hdr, struct luks1_algs *a)
{
	const char *mode = (const char *)hdr + H_CIPHER_MODE;
	const char *name = (const char *)hdr + H_CIPHER_NAME;
	const char *hash = (const char *)hdr + H_HASH_SPEC;
	const char *dash = strchr(mode, '-');
	const char *ivgen, *colon;
	const struct name_map *c, *h, *ivh = NULL;
	uint32_t key_bytes = img_be32(hdr + H_KEY_BYTES);
	size_t ivgen_len;

	if (!dash)
		return "Unexpected cipher mode string format";
	ivgen = dash + 1;
	colon = strchr(ivgen, ':');
	ivgen_len = colon ? (size_t)(colon - ivgen) : strlen(ivgen);
	if (colon) {
		ivh = map_find(luks_hashes, IMG_ARRAY_SIZE(luks_hashes), colon + 1, strlen(colon + 1), 0);
		if (!ivh)
			return "Hash algorithm not supported";
	}
	a->mode = list_find(luks_modes, IMG_ARRAY_SIZE(luks_modes), mode, (size_t)(dash - mode));
	if (!a->mode)
		return "Cipher mode not supported";
	if (strcmp(a->mode, "xts") == 0)
		key_bytes /= 2;
	c = map_find(luks_ciphers, IMG_ARRAY_SIZE(luks_ciphers), name, strlen(name),
	             key_bytes ? key_bytes : 1);
	if (!c || key_bytes == 0)
		return "Algorithm with this key size not supported";
	a->cipher = c->qemu;
	h = map_find(luks_hashes, IMG_ARRAY_SIZE(luks_hashes), hash, strlen(hash), 0);
	if (!h)
		return "Hash algorithm not supported";
	a->hash = h->qemu;
	a->ivgen = list_find(luks_ivgens, IMG_ARRAY_SIZE(luks_ivgens), ivgen, ivgen_len);
	if (!a->ivgen)
		return "IV generator not supported";
	if (strcmp(a->ivgen, "essiv") == 0) {
		if (!ivh)
			return "Missing IV generator hash specification";
		/* the ESSIV cipher: same family, key length = digest length */
		if (ivh->len != c->len) {
			if (strcmp(c->luks, "cast5") == 0)
				return "Cipher not supported with essiv";
			if (!map_find(luks_ciphers, IMG_ARRAY_SIZE(luks_ciphers), c->luks,
			              strlen(c->luks), ivh->len))
				return "No cipher with this key size available for essiv";
		}
		a->ivgen_hash = ivh->qemu;
	}
	return NULL;
}

static uint32_t slot_len(uint32_t key_bytes, uint32_t stripes)
{
	/* qemu: 32-bit product, sectors rounded up to the 8-sector alignment */
	uint32_t split = key_bytes * stripes;
	uint64_t sectors = ((uint64_t)split + LUKS1_SECTOR - 1) / LUKS1_SECTOR;

	return (uint32_t)((sectors + LUKS_HEADER_SECTORS - 1) / LUKS_HEADER_SECTORS *
	                  LUKS_HEADER_SECTORS);
}

static bool ranges_overlap(uint64_t first1, uint64_t len1, uint64_t first2, uint64_t len2)
{
	uint64_t last1 = first1 + len1 - 1, last2 = first2 + len2 - 1;

	return !(last2 < first1 || last1 < first2);
}

const char *luks1_check(const uint8_t *hdr)
{
	unsigned slot;

	return luks1_check_at(hdr, &slot);
}

/* qcrypto_block_luks_check_header() */
const char *luks1_check_at(const uint8_t *hdr, unsigned *ret_slot)
{
	uint32_t key_bytes = img_be32(hdr + H_KEY_BYTES);
	uint32_t payload = img_be32(hdr + LUKS1_PAYLOAD_OFFSET);

	*ret_slot = LUKS1_NO_SLOT;
	if (!memchr(hdr + H_CIPHER_NAME, 0, 32))
		return "LUKS header cipher name is not NUL terminated";
	if (!memchr(hdr + H_CIPHER_MODE, 0, 32))
		return "LUKS header cipher mode is not NUL terminated";
	if (!memchr(hdr + H_HASH_SPEC, 0, 32))
		return "LUKS header hash spec is not NUL terminated";
	if (payload < LUKS_HEADER_SECTORS)
		return "LUKS payload is overlapping with the header";
	if (img_be32(hdr + H_MK_ITERS) == 0)
		return "LUKS key iteration count is zero";
	for (unsigned i = 0; i < LUKS_NUM_SLOTS; i++) {
		const uint8_t *s1 = hdr + H_SLOTS + H_SLOT_SIZE * i;
		uint32_t active = img_be32(s1 + S_ACTIVE);
		uint32_t start1 = img_be32(s1 + S_KEY_OFFSET);
		uint32_t len1 = slot_len(key_bytes, img_be32(s1 + S_STRIPES));

		*ret_slot = i;

		if (img_be32(s1 + S_STRIPES) != LUKS_STRIPES)
			return "Keyslot is corrupted (stripes != 4000)";
		if (active != LUKS_SLOT_DISABLED && active != LUKS_SLOT_ENABLED)
			return "Keyslot state (active/disable) is corrupted";
		if (active == LUKS_SLOT_ENABLED && img_be32(s1 + S_ITERS) == 0)
			return "Keyslot iteration count is zero";
		if (start1 < LUKS_HEADER_SECTORS)
			return "Keyslot is overlapping with the LUKS header";
		/* unsigned int arithmetic in qemu: wraps */
		if ((uint32_t)(start1 + len1) > payload)
			return "Keyslot is overlapping with the encrypted payload";
		for (unsigned j = i + 1; j < LUKS_NUM_SLOTS; j++) {
			const uint8_t *s2 = hdr + H_SLOTS + H_SLOT_SIZE * j;

			if (ranges_overlap(start1, len1, img_be32(s2 + S_KEY_OFFSET),
			                   slot_len(key_bytes, img_be32(s2 + S_STRIPES))))
				return "Keyslots are overlapping in the header";
		}
	}
	*ret_slot = LUKS1_NO_SLOT;
	return NULL;
}

void luks1_trace_damaged(struct img_result *res, const uint8_t *hdr, const char *why, bool parse,
                         unsigned slot)
{
	if (parse) {
		/* luks1_check_at saw a NUL in each of the three */
		const uint8_t *name = hdr + H_CIPHER_NAME, *mode = hdr + H_CIPHER_MODE;
		const uint8_t *hash = hdr + H_HASH_SPEC;

		IMG_DAMAGED(res, why, "cipher_name \"", IMG_TBYTES(name, img_strnlen(name, 32)),
		            "\", cipher_mode \"", IMG_TBYTES(mode, img_strnlen(mode, 32)),
		            "\", hash_spec \"", IMG_TBYTES(hash, img_strnlen(hash, 32)), "\", key_bytes ",
		            IMG_TDEC(img_be32(hdr + H_KEY_BYTES)));
	} else if (slot < LUKS1_NO_SLOT) {
		const uint8_t *s = hdr + H_SLOTS + H_SLOT_SIZE * slot;

		IMG_DAMAGED(res, why, "key slot ", IMG_TDEC(slot), ": active ",
		            IMG_THEX(img_be32(s + S_ACTIVE), 8), ", iterations ",
		            IMG_TDEC(img_be32(s + S_ITERS)), ", key_material_offset ",
		            IMG_TDEC(img_be32(s + S_KEY_OFFSET)), ", stripes ",
		            IMG_TDEC(img_be32(s + S_STRIPES)), "; payload_offset ",
		            IMG_TDEC(img_be32(hdr + LUKS1_PAYLOAD_OFFSET)));
	} else if (!memchr(hdr + H_CIPHER_NAME, 0, 32)) {
		IMG_DAMAGED(res, why, "cipher_name \"", IMG_TBYTES(hdr + H_CIPHER_NAME, 32), "\"");
	} else if (!memchr(hdr + H_CIPHER_MODE, 0, 32)) {
		IMG_DAMAGED(res, why, "cipher_mode \"", IMG_TBYTES(hdr + H_CIPHER_MODE, 32), "\"");
	} else if (!memchr(hdr + H_HASH_SPEC, 0, 32)) {
		IMG_DAMAGED(res, why, "hash_spec \"", IMG_TBYTES(hdr + H_HASH_SPEC, 32), "\"");
	} else if (img_be32(hdr + LUKS1_PAYLOAD_OFFSET) < LUKS_HEADER_SECTORS) {
		IMG_DAMAGED(res, why, "payload_offset ",
		            IMG_TDEC(img_be32(hdr + LUKS1_PAYLOAD_OFFSET)), " sectors, at least 8");
	} else {
		img_set_damaged(res, why); /* "LUKS key iteration count is zero" says it all */
	}
}

void luks1_tree(struct img_spec *s, const uint8_t *hdr, const struct luks1_algs *a,
                bool qcow2_format)
{
	const uint8_t *uuid = hdr + H_UUID;
	const uint8_t *nul = memchr(uuid, 0, H_UUID_LEN);

	/* qemu-img 7.2 key order (QDict hash order), measured */
	img_tree_cstr(s, "ivgen-alg", a->ivgen);
	img_tree_cstr(s, "hash-alg", a->hash);
	img_tree_cstr(s, "cipher-alg", a->cipher);
	img_tree_str(s, "uuid", uuid, nul ? (size_t)(nul - uuid) : H_UUID_LEN);
	if (a->ivgen_hash)
		img_tree_cstr(s, "ivgen-hash-alg", a->ivgen_hash);
	if (qcow2_format)
		img_tree_cstr(s, "format", "luks");
	img_tree_cstr(s, "cipher-mode", a->mode);
	img_tree_arr(s, "slots");
	for (unsigned i = 0; i < LUKS_NUM_SLOTS; i++) {
		const uint8_t *sl = hdr + H_SLOTS + H_SLOT_SIZE * i;
		bool active = img_be32(sl + S_ACTIVE) == LUKS_SLOT_ENABLED;

		img_tree_obj(s, NULL);
		img_tree_bool(s, "active", active);
		if (active)
			img_tree_uint(s, "iters", img_be32(sl + S_ITERS));
		img_tree_uint(s, "key-offset", (uint64_t)img_be32(sl + S_KEY_OFFSET) * LUKS1_SECTOR);
		if (active)
			img_tree_uint(s, "stripes", img_be32(sl + S_STRIPES));
		img_tree_end(s);
	}
	img_tree_end(s);
	img_tree_uint(s, "payload-offset",
	              (uint64_t)img_be32(hdr + LUKS1_PAYLOAD_OFFSET) * LUKS1_SECTOR);
	img_tree_uint(s, "master-key-iters", img_be32(hdr + H_MK_ITERS));
}
