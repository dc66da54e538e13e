/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VHDX (Hyper-V) probe.
 *
 * Follows the "VHDX Format Specification v1.00" (Microsoft, 2012) as qemu
 * 7.2 reads it (block/vhdx.c, block/vhdx.h, block/vhdx-log.c; see
 * docs/formats.md, "vhdx").  All fields are little-endian.
 *
 *   0        file identifier "vhdxfile"
 *   64 KiB   header 1, 128 KiB header 2: 4 KiB each, CRC-32C over 4 KiB;
 *            the valid one ("head", version 1, CRC) with the higher
 *            sequence number wins; equal numbers are only accepted when
 *            both 4 KiB headers are byte-identical (Disk2VHD).
 *   192 KiB  region table 1 (qemu reads only this one), 256 KiB region
 *            table 2: "regi", CRC-32C over 64 KiB, <= 2047 entries naming
 *            the BAT and metadata regions.
 *   metadata region: a 64 KiB table ("metadata", <= 2047 entries) and
 *            items: file parameters, virtual disk size, page 83, logical
 *            and physical sector size, parent locator.
 *
 * What is reported, as qemu-img 7.2 reports it:
 *   virtual_size  virtual_disk_size >> 9 << 9 (total_sectors x 512)
 *   cluster_size  file parameters block_size (qemu's bdi cluster_size)
 *   subformat     "differencing" (has_parent), "fixed"
 *                 (leave_blocks_allocated), else "dynamic"
 *   backing_file  from the parent locator: relative_path, then
 *                 volume_path, then absolute_win32_path (the order the
 *                 specification tells a parser to try), UTF-16LE converted
 *                 to UTF-8, up to the first U+0000; backing_format "vhdx"
 *                 when the locator type is the VHDX parent GUID.
 *   dirty         the current header has a non-zero log_guid and a log
 *                 length: a log may need replaying.  qemu-img never prints
 *                 dirty-flag true for vhdx; it refuses a read-only open when
 *                 the log holds an active entry.  Scanning the whole log is
 *                 too much I/O, so only its first 4 KiB are peeked: a
 *                 "loge" entry carrying the header's log_guid there sets
 *                 res->damaged as well.
 *   damaged       whatever qemu's open would refuse: no valid header, log
 *                 fields, region table, metadata table or items, block size
 *                 outside 1..256 MiB or not a power of two, logical sector
 *                 size other than 512 (qemu 7.2: ENOTSUP), a BAT region too
 *                 small, and differencing images (qemu: ENOTSUP with a
 *                 locator, EINVAL without).  Not checked: the BAT entries
 *                 themselves (qemu reads the whole BAT).
 * A volume holding only the signature is still vhdx (qemu's probe needs
 * only "vhdxfile"), damaged.  Reads past the end of the volume are seen as
 * zeros, as qemu's block layer pads them.
 * qemu-img prints no format-specific data for vhdx.
 * Reads: one request from header 1 to the end of region table 1 (64..256
 * KiB), one for the metadata table and the 4 KiB after it (where qemu-img
 * and Hyper-V put the items); table 2, the log and items elsewhere only
 * when needed.  CRC-32C: crc32c.c.
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "crc32c.h"
#include "probe.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

#define VHDX_HEADER1_OFF (64u * KiB)
#define VHDX_HEADER2_OFF (128u * KiB)
#define VHDX_HEADER_SIZE (4u * KiB)
#define VHDX_RT1_OFF (192u * KiB)
#define VHDX_RT2_OFF (256u * KiB)
#define VHDX_RT_SIZE (64u * KiB)
#define VHDX_RT_MAX_ENTRIES 2047u
#define VHDX_MD_TABLE_SIZE (64u * KiB)
/*
 * The first read covers header 1 to the end of region table 1; the
 * metadata table is read with up to this much of the region after it,
 * where qemu-img and Hyper-V put the items.
 */
#define VHDX_SPAN_OFF VHDX_HEADER1_OFF
#define VHDX_SPAN_LEN (VHDX_RT1_OFF + VHDX_RT_SIZE - VHDX_HEADER1_OFF)
#define VHDX_MD_ITEMS_PEEK (4u * KiB)
#define VHDX_ENTRY_SIZE 32u
#define VHDX_LOG_MIN_SIZE MiB
#define VHDX_BLOCK_MIN MiB
#define VHDX_BLOCK_MAX (256u * MiB)
#define VHDX_MAX_SECTORS_PER_BLOCK (1u << 23)
#define VHDX_LOCATOR_MAX (64u * KiB) /* bytes of a parent locator item we read */

#define VHDX_PARAMS_LEAVE_BLOCKS_ALLOCATED 0x1u
#define VHDX_PARAMS_HAS_PARENT 0x2u
#define VHDX_REGION_REQUIRED 0x1u
#define VHDX_META_REQUIRED 0x4u

/* Microsoft GUIDs as stored: data1 LE32, data2 LE16, data3 LE16, data4[8] */
#define GUID(d1, d2, d3, a, b, c, d, e, f, g, h)                                           \
	{ (d1) & 0xff, ((d1) >> 8) & 0xff, ((d1) >> 16) & 0xff, ((d1) >> 24) & 0xff,       \
	  (d2) & 0xff, ((d2) >> 8) & 0xff, (d3) & 0xff, ((d3) >> 8) & 0xff,                 \
	  a, b, c, d, e, f, g, h }

static const uint8_t guid_bat[16] =
	GUID(0x2dc27766u, 0xf623u, 0x4200u, 0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08);
static const uint8_t guid_metadata[16] =
	GUID(0x8b7ca206u, 0x4790u, 0x4b9au, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e);
static const uint8_t guid_file_params[16] =
	GUID(0xcaa16737u, 0xfa36u, 0x4d43u, 0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b);
static const uint8_t guid_vdisk_size[16] =
	GUID(0x2fa54224u, 0xcd1bu, 0x4876u, 0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8);
static const uint8_t guid_page83[16] =
	GUID(0xbeca12abu, 0xb2e6u, 0x4523u, 0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46);
static const uint8_t guid_logical_sector[16] =
	GUID(0x8141bf1du, 0xa96fu, 0x4709u, 0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa, 0xab, 0x5f);
static const uint8_t guid_phys_sector[16] =
	GUID(0xcda348c7u, 0x445du, 0x4471u, 0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5, 0x56);
static const uint8_t guid_parent_locator[16] =
	GUID(0xa8d35f2du, 0xb30bu, 0x454du, 0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c);
static const uint8_t guid_parent_vhdx[16] =
	GUID(0xb04aefb7u, 0xd19eu, 0x4a81u, 0xb7, 0x89, 0x25, 0xb8, 0xe9, 0x44, 0x59, 0x13);

/* ---- checksums ---------------------------------------------------------- */

/*
 * CRC-32C of a span of span bytes of which the first avail are in buf (the
 * rest read as zeros), with the 4-byte checksum field at 4 taken as zero.
 */
static uint32_t vhdx_crc(const uint8_t *buf, size_t avail, size_t span)
{
	size_t have = avail < span ? avail : span;
	uint32_t crc;

	if (have <= 4)
		return img_crc32c_zeros(img_crc32c_update(0, buf, have), span - have);
	crc = img_crc32c_update(0, buf, 4);
	crc = img_crc32c_zeros(crc, have < 8 ? have - 4 : 4);
	if (have > 8)
		crc = img_crc32c_update(crc, buf + 8, have - 8);
	return img_crc32c_zeros(crc, span - have);
}

/* ---- zero-extended reads ------------------------------------------------- */

/*
 * A window of the volume: the bytes at off that exist (avail of them, at
 * most want); the rest of the window reads as zeros, as qemu sees it.
 */
struct win {
	const uint8_t *p;
	size_t avail;
};

static int win_get(const struct img_reader *r, uint64_t off, size_t want, struct win *w)
{
	w->p = NULL;
	w->avail = 0;
	return img_get_upto(r, off, want, &w->p, &w->avail);
}

/*
 * The window of want bytes at off inside span w (want <= the span's
 * length): exactly what win_get() of the same range would give, without a
 * read.
 */
static void win_sub(const struct win *w, size_t off, size_t want, struct win *ret)
{
	ret->p = w->p;
	ret->avail = 0;
	if (off < w->avail) {
		ret->p = w->p + off;
		ret->avail = w->avail - off < want ? w->avail - off : want;
	}
}

/*
 * win_get() of [off, off + want), served from span w (holding the volume
 * from w_off) when it holds all of it, else read.
 */
static int win_get_from(const struct img_reader *r, const struct win *w, uint64_t w_off,
                        uint64_t off, size_t want, struct win *ret)
{
	if (off >= w_off && img_in_bounds(off - w_off, want, w->avail)) {
		win_sub(w, (size_t)(off - w_off), want, ret);
		return 0;
	}
	return win_get(r, off, want, ret);
}

static uint8_t win_byte(const struct win *w, size_t i)
{
	return i < w->avail ? w->p[i] : 0;
}

/* copy n bytes at off of the window into dst, zero-padded */
static void win_copy(const struct win *w, size_t off, uint8_t *dst, size_t n)
{
	size_t have = off < w->avail ? w->avail - off : 0;

	if (have > n)
		have = n;
	if (have)
		memcpy(dst, w->p + off, have);
	memset(dst + have, 0, n - have);
}

static uint32_t win_le32(const struct win *w, size_t off)
{
	uint8_t b[4];

	win_copy(w, off, b, sizeof(b));
	return img_le32(b);
}

static bool guid_is_zero(const uint8_t *g)
{
	for (unsigned i = 0; i < 16; i++)
		if (g[i])
			return false;
	return true;
}

/* ---- headers ------------------------------------------------------------- */

struct vhdx_header {
	bool valid;
	uint64_t seq;
	uint8_t log_guid[16];
	uint16_t log_version;
	uint16_t version;
	uint32_t log_length;
	uint64_t log_offset;
};

/* parse the 4 KiB header in window w */
static void parse_header(const struct win *w, struct vhdx_header *h)
{
	uint8_t b[80];

	memset(h, 0, sizeof(*h));
	win_copy(w, 0, b, sizeof(b));
	if (vhdx_crc(w->p, w->avail, VHDX_HEADER_SIZE) != img_le32(b + 4))
		return;
	if (memcmp(b, "head", 4) != 0 || img_le16(b + 66) != 1)
		return;
	h->valid = true;
	h->seq = img_le64(b + 8);
	memcpy(h->log_guid, b + 48, 16);
	h->log_version = img_le16(b + 64);
	h->version = img_le16(b + 66);
	h->log_length = img_le32(b + 68);
	h->log_offset = img_le64(b + 72);
}

/*
 * "No valid VHDX header found", for the trace only: what each header holds
 * (signature, version, stored and computed checksum), or, both sound, their
 * sequence number.
 */
static __attribute__((noinline, cold)) void
trace_no_header(struct img_result *res, const struct win *w1, const struct win *w2, bool both_valid,
                uint64_t seq)
{
	static const char why[] = "No valid VHDX header found";
	uint8_t a[68], b[68];

	if (both_valid) {
		IMG_DAMAGED(res, why, "both headers have sequence_number ", IMG_TDEC(seq),
		            " and differ");
		return;
	}
	win_copy(w1, 0, a, sizeof(a));
	win_copy(w2, 0, b, sizeof(b));
	IMG_DAMAGED(res, why, "header 1: signature \"", IMG_TBYTES(a, 4), "\", version ",
	            IMG_TDEC(img_le16(a + 66)), ", checksum ", IMG_THEX(img_le32(a + 4), 8),
	            " (computed ", IMG_THEX(vhdx_crc(w1->p, w1->avail, VHDX_HEADER_SIZE), 8),
	            "); header 2: signature \"", IMG_TBYTES(b, 4), "\", version ",
	            IMG_TDEC(img_le16(b + 66)), ", checksum ", IMG_THEX(img_le32(b + 4), 8),
	            " (computed ", IMG_THEX(vhdx_crc(w2->p, w2->avail, VHDX_HEADER_SIZE), 8),
	            "); \"head\", version 1");
}

/* two windows hold the same 4 KiB, zero padding included */
static bool headers_identical(const struct win *a, const struct win *b)
{
	size_t na = a->avail < VHDX_HEADER_SIZE ? a->avail : VHDX_HEADER_SIZE;
	size_t nb = b->avail < VHDX_HEADER_SIZE ? b->avail : VHDX_HEADER_SIZE;
	const struct win *longer = na > nb ? a : b;

	if (na && nb && memcmp(a->p, b->p, na < nb ? na : nb) != 0)
		return false;
	/* past the shorter one's end: the longer one must hold zeros */
	for (size_t i = na < nb ? na : nb; i < (na > nb ? na : nb); i++)
		if (longer->p[i])
			return false;
	return true;
}

/* ---- regions ------------------------------------------------------------- */

/* an entry's [start, end), end wrapping as qemu's start + length does */
static void rt_entry_span(const struct win *w, uint32_t i, uint64_t *start, uint64_t *end)
{
	uint8_t e[12];

	/* 16 + 2047 * 32 < 64 KiB: always inside the span */
	win_copy(w, 16 + (size_t)i * VHDX_ENTRY_SIZE + 16, e, sizeof(e));
	*start = img_le64(e);
	*end = *start + img_le32(e + 8);
}

static bool spans_overlap(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
	return !(s1 >= e2 || e1 <= s2);
}

/*
 * qemu's vhdx_region_check(): entry i against the log region and every
 * earlier entry (at most 2047 x 2047 / 2 comparisons, no storage).
 */
static bool rt_entry_overlaps(const struct win *w, uint32_t i, uint64_t log_start,
                              uint64_t log_end)
{
	uint64_t s, e, s2, e2;

	rt_entry_span(w, i, &s, &e);
	if (spans_overlap(s, e, log_start, log_end))
		return true;
	for (uint32_t j = 0; j < i; j++) {
		rt_entry_span(w, j, &s2, &e2);
		if (spans_overlap(s, e, s2, e2))
			return true;
	}
	return false;
}

struct rt_info {
	uint64_t bat_off, md_off;
	uint32_t bat_len, md_len;
};

/*
 * Parse a region table as qemu's vhdx_open_region_tables() does.  Returns
 * NULL when it is valid, else the problem.
 */
static const char *parse_region_table(const struct win *w, const struct vhdx_header *h,
                                      struct rt_info *ri)
{
	bool have_bat = false, have_md = false;
	uint32_t count;

	memset(ri, 0, sizeof(*ri));
	if (vhdx_crc(w->p, w->avail, VHDX_RT_SIZE) != win_le32(w, 4))
		return "VHDX region table checksum mismatch";
	if (win_le32(w, 0) != 0x69676572u) /* "regi" */
		return "VHDX region table signature mismatch";
	count = win_le32(w, 8);
	if (count > VHDX_RT_MAX_ENTRIES)
		return "VHDX region table has too many entries";
	for (uint32_t i = 0; i < count; i++) {
		uint8_t e[VHDX_ENTRY_SIZE];
		uint64_t off;
		uint32_t len, bits;

		win_copy(w, 16 + (size_t)i * VHDX_ENTRY_SIZE, e, sizeof(e));
		off = img_le64(e + 16);
		len = img_le32(e + 24);
		bits = img_le32(e + 28);
		if (rt_entry_overlaps(w, i, h->log_offset, h->log_offset + h->log_length))
			return "VHDX regions overlap";
		if (memcmp(e, guid_bat, 16) == 0) {
			if (have_bat)
				return "VHDX region table lists the BAT twice";
			have_bat = true;
			ri->bat_off = off;
			ri->bat_len = len;
		} else if (memcmp(e, guid_metadata, 16) == 0) {
			if (have_md)
				return "VHDX region table lists the metadata twice";
			have_md = true;
			ri->md_off = off;
			ri->md_len = len;
		} else if (bits & VHDX_REGION_REQUIRED) {
			return "VHDX region table has an unknown required region";
		}
	}
	if (!have_bat || !have_md)
		return "VHDX region table lacks the BAT or metadata region";
	return NULL;
}

/* parse_region_table's refusal of table 1, for the trace: what the table holds */
static __attribute__((noinline, cold)) void trace_region_table(struct img_result *res,
                                                               const struct win *w,
                                                               const char *why)
{
	uint8_t b[16];

	win_copy(w, 0, b, sizeof(b));
	IMG_DAMAGED(res, why, "region table 1 at ", IMG_TDEC(VHDX_RT1_OFF), ": signature \"",
	            IMG_TBYTES(b, 4), "\", checksum ", IMG_THEX(img_le32(b + 4), 8), " (computed ",
	            IMG_THEX(vhdx_crc(w->p, w->avail, VHDX_RT_SIZE), 8), "), entry_count ",
	            IMG_TDEC(img_le32(b + 8)), ", at most ", IMG_TDEC(VHDX_RT_MAX_ENTRIES));
}

/* ---- parent locator ------------------------------------------------------ */

/* UTF-16LE key equal to an ASCII name */
static bool key_is(const uint8_t *k, size_t klen, const char *name)
{
	size_t n = strlen(name);

	if (klen != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (k[2 * i] != (uint8_t)name[i] || k[2 * i + 1] != 0)
			return false;
	return true;
}

/*
 * UTF-16LE (len bytes) to UTF-8 in out (cap bytes), up to the first U+0000;
 * unpaired surrogates become U+FFFD; never a partial sequence.  Returns the
 * bytes written.
 */
static size_t utf16le_to_utf8(const uint8_t *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i + 1 < len;) {
		uint32_t c = img_le16(s + i);
		uint8_t u[4];
		size_t n;

		i += 2;
		if (c == 0)
			break;
		if (c >= 0xd800 && c <= 0xdbff) {
			uint32_t lo = i + 1 < len ? img_le16(s + i) : 0;

			if (lo >= 0xdc00 && lo <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i += 2;
			} else {
				c = 0xfffd;
			}
		} else if (c >= 0xdc00 && c <= 0xdfff) {
			c = 0xfffd;
		}
		if (c < 0x80) {
			u[0] = (uint8_t)c;
			n = 1;
		} else if (c < 0x800) {
			u[0] = (uint8_t)(0xc0 | c >> 6);
			u[1] = (uint8_t)(0x80 | (c & 0x3f));
			n = 2;
		} else if (c < 0x10000) {
			u[0] = (uint8_t)(0xe0 | c >> 12);
			u[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
			u[2] = (uint8_t)(0x80 | (c & 0x3f));
			n = 3;
		} else {
			u[0] = (uint8_t)(0xf0 | c >> 18);
			u[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
			u[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
			u[3] = (uint8_t)(0x80 | (c & 0x3f));
			n = 4;
		}
		if (n > cap - o)
			break;
		memcpy(out + o, u, n);
		o += n;
	}
	return o;
}

/* preference order for the parent path (VHDX spec 2.6.2.6) */
static const char *const locator_paths[] = { "relative_path", "volume_path",
	                                     "absolute_win32_path" };

/* the locator item at base + off (len bytes); md: the metadata span read at base */
static int parse_locator(const struct img_reader *r, const struct win *md, uint64_t base,
                         uint32_t item_off, uint32_t len, struct img_result *res)
{
	struct win w;
	const uint8_t *p;
	uint64_t off;
	size_t avail;
	uint16_t count;
	int best = -1;
	uint32_t best_off = 0;
	uint16_t best_len = 0;
	char utf8[IMG_STR_MAX - 1];
	size_t n;
	int rc;

	if (len > VHDX_LOCATOR_MAX)
		len = VHDX_LOCATOR_MAX;
	if (img_add_overflow(base, item_off, &off)) /* base <= r->size: cannot happen */
		return 0;
	rc = win_get_from(r, md, base, off, len, &w);
	if (rc < 0)
		return rc;
	p = w.p;
	avail = w.avail;
	if (avail < 20)
		return 0;
	if (memcmp(p, guid_parent_vhdx, 16) == 0)
		img_bytes_set(&res->backing_format, "vhdx", 4);
	count = img_le16(p + 18);
	for (uint32_t i = 0; i < count; i++) {
		size_t e = 20 + (size_t)i * 12;
		uint32_t koff, voff;
		uint16_t klen, vlen;

		if (!img_in_bounds(e, 12, avail))
			break;
		koff = img_le32(p + e);
		voff = img_le32(p + e + 4);
		klen = img_le16(p + e + 8);
		vlen = img_le16(p + e + 10);
		if (!img_in_bounds(koff, klen, avail) || !img_in_bounds(voff, vlen, avail))
			continue;
		for (int k = 0; k < (int)IMG_ARRAY_SIZE(locator_paths); k++) {
			if (!key_is(p + koff, klen, locator_paths[k]))
				continue;
			if (best < 0 || k < best) {
				best = k;
				best_off = voff;
				best_len = vlen;
			}
		}
	}
	if (best < 0)
		return 0;
	n = utf16le_to_utf8(p + best_off, best_len, utf8, sizeof(utf8));
	img_bytes_set(&res->backing_file, utf8, n);
	return 0;
}

/* ---- metadata ------------------------------------------------------------ */

enum { MD_PARAMS, MD_VSIZE, MD_PAGE83, MD_LSS, MD_PSS, MD_LOCATOR, MD_N };

static const uint8_t *const md_guids[MD_N] = {
	[MD_PARAMS] = guid_file_params,       [MD_VSIZE] = guid_vdisk_size,
	[MD_PAGE83] = guid_page83,            [MD_LSS] = guid_logical_sector,
	[MD_PSS] = guid_phys_sector,          [MD_LOCATOR] = guid_parent_locator,
};

/*
 * read n (<= 8) bytes of an item at base + off, zeros past the end: from
 * the metadata span md (read at base) when it holds them
 */
static inline __attribute__((always_inline)) int
read_item(const struct img_reader *r, const struct win *md, uint64_t base, uint32_t off,
          uint8_t *dst, size_t n)
{
	struct win w;
	uint64_t at;
	int rc;

	memset(dst, 0, n);
	if (img_add_overflow(base, off, &at)) /* base <= r->size: cannot happen, but be safe */
		return 0;
	rc = win_get_from(r, md, base, at, n, &w);
	if (rc < 0)
		return rc;
	win_copy(&w, 0, dst, n);
	return 0;
}

static int parse_metadata(const struct img_reader *r, const struct rt_info *ri,
                          struct img_result *res)
{
	struct win span, w;
	size_t want = VHDX_MD_TABLE_SIZE;
	uint32_t off[MD_N] = { 0 }, len[MD_N] = { 0 };
	bool present[MD_N] = { false };
	uint8_t b[8];
	uint32_t count, block_size, flags, lss;
	uint64_t vds;
	const char *why = NULL;
	uint32_t why_entry = 0;
	int rc;

	if (ri->md_off >= r->size) {
		IMG_DAMAGED(res, "VHDX metadata region outside the volume", "metadata at ",
		            IMG_TDEC(ri->md_off), ", the volume is ", IMG_TDEC(r->size), " bytes");
		return 0;
	}
	/* the table and, inside the region, the items that usually follow it */
	if (ri->md_len > VHDX_MD_TABLE_SIZE)
		want += ri->md_len - VHDX_MD_TABLE_SIZE < VHDX_MD_ITEMS_PEEK
		        ? ri->md_len - VHDX_MD_TABLE_SIZE : VHDX_MD_ITEMS_PEEK;
	rc = win_get(r, ri->md_off, want, &span);
	if (rc < 0 && want > VHDX_MD_TABLE_SIZE) /* as the table alone would be read */
		rc = win_get(r, ri->md_off, VHDX_MD_TABLE_SIZE, &span);
	if (rc < 0)
		return rc;
	win_sub(&span, 0, VHDX_MD_TABLE_SIZE, &w);
	win_copy(&w, 0, b, 8);
	if (memcmp(b, "metadata", 8) != 0) {
		IMG_DAMAGED(res, "VHDX metadata table signature mismatch", "signature \"",
		            IMG_TBYTES(b, 8), "\" at ", IMG_TDEC(ri->md_off), ", not \"metadata\"");
		return 0;
	}
	count = (uint32_t)win_byte(&w, 10) | (uint32_t)win_byte(&w, 11) << 8;
	if ((uint64_t)count * VHDX_ENTRY_SIZE > VHDX_MD_TABLE_SIZE - VHDX_ENTRY_SIZE) {
		IMG_DAMAGED(res, "VHDX metadata table has too many entries", "entry_count ",
		            IMG_TDEC(count), ", at most ",
		            IMG_TDEC(VHDX_MD_TABLE_SIZE / VHDX_ENTRY_SIZE - 1));
		return 0;
	}
	for (uint32_t i = 0; i < count && !why; i++) {
		uint8_t e[VHDX_ENTRY_SIZE];
		unsigned k;

		win_copy(&w, VHDX_ENTRY_SIZE + (size_t)i * VHDX_ENTRY_SIZE, e, sizeof(e));
		for (k = 0; k < MD_N; k++)
			if (memcmp(e, md_guids[k], 16) == 0)
				break;
		if (k == MD_N) {
			if (img_le32(e + 24) & VHDX_META_REQUIRED) {
				why = "VHDX metadata has an unknown required item";
				why_entry = i;
			}
			continue;
		}
		if (present[k]) {
			why = "VHDX metadata lists an item twice";
			why_entry = i;
			continue;
		}
		present[k] = true;
		off[k] = img_le32(e + 16);
		len[k] = img_le32(e + 20);
	}
	if (why) {
		IMG_DAMAGED(res, why, "metadata table entry ", IMG_TDEC(why_entry));
		return 0;
	}
	for (unsigned k = 0; k < MD_N; k++) {
		static const char *const md_names[MD_N] = {
			[MD_PARAMS] = "file parameters",      [MD_VSIZE] = "virtual disk size",
			[MD_PAGE83] = "page 83 data",         [MD_LSS] = "logical sector size",
			[MD_PSS] = "physical sector size",    [MD_LOCATOR] = "parent locator",
		};

		if (k != MD_LOCATOR && !present[k]) {
			IMG_DAMAGED(res, "VHDX metadata lacks a required item", "no ", md_names[k],
			            " item");
			return 0;
		}
	}

	rc = read_item(r, &span, ri->md_off, off[MD_PARAMS], b, 8);
	if (rc < 0)
		return rc;
	block_size = img_le32(b);
	flags = img_le32(b + 4);
	if (flags & VHDX_PARAMS_LEAVE_BLOCKS_ALLOCATED)
		img_add_feature(res, IMG_FEAT_OTHER, 0, "leave_blocks_allocated");
	if (flags & VHDX_PARAMS_HAS_PARENT) {
		img_add_feature(res, IMG_FEAT_OTHER, 1, "has_parent");
		res->subformat = "differencing";
		if (present[MD_LOCATOR]) {
			img_set_damaged(res, "Differencing VHDX images are not supported");
			rc = parse_locator(r, &span, ri->md_off, off[MD_LOCATOR],
			                   len[MD_LOCATOR], res);
			if (rc < 0)
				return rc;
		} else {
			img_set_damaged(res, "VHDX has_parent set without a parent locator");
		}
	} else if (flags & VHDX_PARAMS_LEAVE_BLOCKS_ALLOCATED) {
		res->subformat = "fixed";
	} else {
		res->subformat = "dynamic";
	}

	rc = read_item(r, &span, ri->md_off, off[MD_VSIZE], b, 8);
	if (rc < 0)
		return rc;
	vds = img_le64(b);
	rc = read_item(r, &span, ri->md_off, off[MD_LSS], b, 4);
	if (rc < 0)
		return rc;
	lss = img_le32(b);

	res->has_virtual_size = true;
	res->virtual_size = vds >> 9 << 9; /* total_sectors = vds >> BDRV_SECTOR_BITS */

	if (block_size < VHDX_BLOCK_MIN || block_size > VHDX_BLOCK_MAX ||
	    (block_size & (block_size - 1))) {
		IMG_DAMAGED(res, "VHDX block size invalid", "block_size ", IMG_TDEC(block_size),
		            ", a power of two ", IMG_TDEC(VHDX_BLOCK_MIN), "..", IMG_TDEC(VHDX_BLOCK_MAX));
		return 0;
	}
	res->cluster_size = block_size;
	if (lss != 512) {
		IMG_DAMAGED(res, "VHDX logical sector size other than 512 unsupported",
		            "logical_sector_size ", IMG_TDEC(lss));
		return 0;
	}
	if (flags & VHDX_PARAMS_HAS_PARENT)
		return 0;

	/* vhdx_calc_bat_entries(), in qemu's uint32_t arithmetic */
	{
		uint64_t chunk_ratio = (uint64_t)VHDX_MAX_SECTORS_PER_BLOCK * lss / block_size;
		unsigned bits = (unsigned)__builtin_ctzll(chunk_ratio);
		uint32_t data_blocks = (uint32_t)((vds + block_size - 1) / block_size);
		uint32_t bat_entries = data_blocks + ((uint32_t)(data_blocks - 1) >> bits);

		if (bat_entries > ri->bat_len / 8)
			IMG_DAMAGED(res, "VHDX BAT region too small for the disk size", "the BAT region has ",
			            IMG_TDEC(ri->bat_len / 8), " entries, virtual_disk_size ",
			            IMG_TDEC(vds), " needs ", IMG_TDEC(bat_entries));
	}
	return 0;
}

/* qemu's BDRV_MAX_LENGTH: INT64_MAX aligned down to 1 GiB */
#define VHDX_QEMU_MAX_LENGTH 0x7fffffffc0000000ull

/* ---- probe --------------------------------------------------------------- */

static int vhdx_probe(const struct img_reader *r, const struct img_magic *hit,
                      struct img_result *res)
{
	struct win span, w1, w2, wrt;
	struct vhdx_header h1, h2;
	const struct vhdx_header *h;
	struct rt_info ri;
	const char *why;
	bool have_rt;
	int rc;

	(void)hit;
	/*
	 * One request for header 1, header 2 and region table 1.  Should the
	 * reader refuse it (a partial last block of a device, an I/O error in
	 * a part that is not needed), fall back to the separate requests, so
	 * the outcome is that of reading each structure on its own.
	 */
	rc = win_get(r, VHDX_SPAN_OFF, VHDX_SPAN_LEN, &span);
	have_rt = rc == 0;
	if (have_rt) {
		win_sub(&span, VHDX_HEADER1_OFF - VHDX_SPAN_OFF, VHDX_HEADER_SIZE, &w1);
		win_sub(&span, VHDX_HEADER2_OFF - VHDX_SPAN_OFF, VHDX_HEADER_SIZE, &w2);
		win_sub(&span, VHDX_RT1_OFF - VHDX_SPAN_OFF, VHDX_RT_SIZE, &wrt);
	} else {
		rc = win_get(r, VHDX_HEADER1_OFF, VHDX_HEADER_SIZE, &w1);
		if (rc < 0)
			return rc;
		rc = win_get(r, VHDX_HEADER2_OFF, VHDX_HEADER_SIZE, &w2);
		if (rc < 0)
			return rc;
	}
	parse_header(&w1, &h1);
	parse_header(&w2, &h2);
	if (h1.valid && h2.valid) {
		if (h1.seq > h2.seq)
			h = &h1;
		else if (h2.seq > h1.seq)
			h = &h2;
		else if (headers_identical(&w1, &w2))
			h = &h1;
		else
			h = NULL;
	} else {
		h = h1.valid ? &h1 : h2.valid ? &h2 : NULL;
	}
	if (!h) {
		if (__builtin_expect(res->tracing != NULL, 0))
			trace_no_header(res, &w1, &w2, h1.valid && h2.valid, h1.seq);
		else
			img_set_damaged(res, "No valid VHDX header found");
		return IMG_MATCH;
	}
	res->has_version = true;
	res->version = h->version;

	/* vhdx_parse_log() */
	if (h->log_offset < VHDX_LOG_MIN_SIZE || h->log_offset % VHDX_LOG_MIN_SIZE)
		IMG_DAMAGED(res, "VHDX log offset invalid", "log_offset ", IMG_TDEC(h->log_offset),
		            ", a non-zero multiple of ", IMG_TDEC(VHDX_LOG_MIN_SIZE));
	else if (h->log_version != 0)
		IMG_DAMAGED(res, "VHDX log version unsupported", "log_version ",
		            IMG_TDEC(h->log_version), ", only 0");
	else if (!guid_is_zero(h->log_guid) && h->log_length != 0) {
		res->dirty = true;
		if (h->log_length % VHDX_LOG_MIN_SIZE) {
			IMG_DAMAGED(res, "VHDX log length invalid", "log_length ", IMG_TDEC(h->log_length),
			            ", a multiple of ", IMG_TDEC(VHDX_LOG_MIN_SIZE));
		} else {
			struct win lw;
			uint8_t e[48];

			rc = win_get(r, h->log_offset, VHDX_HEADER_SIZE, &lw);
			if (rc < 0)
				return rc;
			win_copy(&lw, 0, e, sizeof(e));
			if (memcmp(e, "loge", 4) == 0 && memcmp(e + 32, h->log_guid, 16) == 0)
				IMG_DAMAGED(res, "VHDX log needs to be replayed", "a log entry at log_offset ",
				            IMG_TDEC(h->log_offset), ", log_length ", IMG_TDEC(h->log_length));
		}
	}

	if (!have_rt) {
		rc = win_get(r, VHDX_RT1_OFF, VHDX_RT_SIZE, &wrt);
		if (rc < 0)
			return rc;
	}
	why = parse_region_table(&wrt, h, &ri);
	if (why) {
		/* qemu reads only table 1; take the facts from table 2 if it is sound */
		if (__builtin_expect(res->tracing != NULL, 0))
			trace_region_table(res, &wrt, why);
		else
			img_set_damaged(res, why);
		rc = win_get(r, VHDX_RT2_OFF, VHDX_RT_SIZE, &wrt);
		if (rc < 0)
			return rc;
		if (parse_region_table(&wrt, h, &ri))
			return IMG_MATCH;
	}
	rc = parse_metadata(r, &ri, res);
	if (rc < 0)
		return rc;
	/*
	 * qemu then reads the whole BAT region: a read reaching past
	 * BDRV_MAX_LENGTH fails in the block layer (past the end of the file it
	 * reads zeros)
	 */
	if (!res->damaged &&
	    (ri.bat_off > VHDX_QEMU_MAX_LENGTH || ri.bat_len > VHDX_QEMU_MAX_LENGTH - ri.bat_off))
		IMG_DAMAGED(res, "Input/output error", "the BAT region at ", IMG_TDEC(ri.bat_off),
		            ", ", IMG_TDEC(ri.bat_len), " bytes, ends past qemu's largest offset");
	/* after the driver's open, qemu's block layer refuses more than BDRV_MAX_LENGTH */
	if (!res->damaged && res->has_virtual_size && res->virtual_size > VHDX_QEMU_MAX_LENGTH)
		IMG_DAMAGED(res, "Could not refresh total sector count: File too large",
		            "virtual_disk_size ", IMG_TDEC(res->virtual_size));
	return IMG_MATCH;
}

const struct img_format img_vhdx_format = {
	.id = IMG_FMT_VHDX,
	.name = "vhdx",
	.magics = {
		{ .offset = 0, .whence = IMG_FROM_START, .bytes = "vhdxfile", .len = 8 },
	},
	.probe = vhdx_probe,
};
