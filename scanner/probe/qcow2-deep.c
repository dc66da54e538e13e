/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2 beyond the header, for --deep (IMG_PROBE_DEEP) only.
 *
 * Follows docs/interop/qcow2.rst (snapshot table, bitmaps extension and
 * bitmap directory, full disk encryption header pointer, refcount table and
 * blocks) and reproduces what qemu 7.2 does with them:
 *
 *  - snapshots: block/qcow2-snapshot.c qcow2_do_read_snapshots (entries
 *    8-aligned; 40-byte header { l1_table_offset u64, l1_size u32,
 *    id_str_size u16, name_size u16, date_sec u32, date_nsec u32,
 *    vm_clock_nsec u64, vm_state_size u32, extra_data_size u32 }; extra data
 *    { vm_state_size_large u64, disk_size u64, icount u64 } <= 1024 bytes;
 *    id; name; table <= 64 MiB) and block/qapi.c bdrv_query_snapshot_info_list
 *    (id and name as qcow2_snapshot_list copies them: to the first NUL, at
 *    most 127 and 255 bytes).  Listed in res->top as qemu-img info's
 *    top-level "snapshots".
 *  - bitmaps: block/qcow2-bitmap.c bitmap_list_load, check_dir_entry and
 *    the table size load_bitmap_data expects; entries { table_offset u64,
 *    table_size u32, flags u32, type u8, granularity_bits u8, name_size u16,
 *    extra_data_size u32 }, name, padding to 8.
 *  - encryption: block/qcow2.c qcow2_crypto_hdr_read_func and
 *    crypto/block-luks.c via luks1.c: the LUKS1 header the FDE extension
 *    points to.
 *  - image-end-offset: block/qcow2-refcount.c qcow2_check_refcounts: the
 *    end of the last cluster below the end of the file whose on-disk
 *    refcount is non-zero ((highest + 1) * cluster_size).  qemu also counts
 *    the references it computes; on an image without refcount errors the
 *    two agree.
 *
 * The LUKS header lies outside the first cluster, so the udev path (header
 * only) never reads it: without --deep qcow2's "encrypt" is {"format":
 * "luks"} (qemu-img always prints the details).
 *
 * Deviations, on purpose: a snapshot table or bitmap directory that does
 * not lie inside the volume is damaged (qemu would read zeros past the end
 * of the file); bitmap tables themselves are not read.  Every read is
 * bounded by the header limits qemu applies and by the reader's budget;
 * what does not fit sets res->deep_incomplete instead of reading on.
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "qcow2-deep.h"

#define SN_HDR 40u
#define SN_EXTRA_KNOWN 24u           /* sizeof(QCowSnapshotExtraData) */
#define SN_MAX_EXTRA 1024u           /* QCOW_MAX_SNAPSHOT_EXTRA_DATA */
#define SN_MAX_TABLE (1ull << 26)    /* QCOW_MAX_SNAPSHOTS_SIZE */
#define SN_ID_MAX 127u               /* QEMUSnapshotInfo.id_str[128] */
#define SN_NAME_MAX 255u             /* QEMUSnapshotInfo.name[256] */
#define SN_ENTRIES 10u               /* tree entries per listed snapshot */

#define BM_ENTRY_HDR 24u
#define BM_MAX_TABLE_SIZE 0x8000000u
#define BM_MAX_PHYS_SIZE 0x20000000ull
#define BM_MIN_GRAN_BITS 9
#define BM_MAX_GRAN_BITS 31
#define BM_MAX_NAME 1023u
#define BM_RESERVED_FLAGS 0xfffffffcu
#define BM_FLAG_IN_USE 0x1u
#define BM_FLAG_AUTO 0x2u
#define BM_TYPE_DIRTY 1
#define BM_ENTRIES 8u /* tree entries per listed bitmap */
/* room kept in the format-specific tree for what qemu prints after "bitmaps" */
#define SPEC_KEEP_ENTRIES 96u
#define SPEC_KEEP_POOL 2048u

#define REFT_OFFSET_MASK 0xfffffffffffffe00ull
/* refcount bytes examined at most (CPU bound when blocks repeat) */
#define RC_SCAN_MAX (64ull * 1024 * 1024)

#define WIN 1048576u /* bytes fetched at a time from a table */

static void deep_incomplete(struct img_result *res, const char *why)
{
	if (!res->deep_incomplete)
		res->deep_incomplete = why;
}

/* ---- LUKS header of an encrypted image ------------------------------------ */

static void deep_luks(const struct img_reader *r, const struct qcow2_deep_in *in,
                      struct qcow2_deep_out *out, struct img_result *res)
{
	const uint8_t *p;
	size_t got = 0;
	const char *why;
	unsigned slot;
	bool parse = false;
	int rc;

	/* qcow2_crypto_hdr_read_func: reads stay inside the extension's length */
	if (in->crypto_length < LUKS1_HDR_SIZE) {
		IMG_DAMAGED(res, "Request for data outside of extension header", "crypto header length ",
		            IMG_TDEC(in->crypto_length), ", a LUKS header is ", IMG_TDEC(LUKS1_HDR_SIZE));
		return;
	}
	rc = img_get_upto(r, in->crypto_offset, LUKS1_HDR_SIZE, &p, &got);
	if (rc < 0) {
		deep_incomplete(res, "encrypt: the LUKS header could not be read");
		return;
	}
	/* past the end of the file qemu reads zeros */
	memset(out->luks_hdr, 0, sizeof(out->luks_hdr));
	if (got)
		memcpy(out->luks_hdr, p, got);
	if (memcmp(out->luks_hdr, "LUKS\xba\xbe", 6) != 0) {
		IMG_DAMAGED(res, "Volume is not in LUKS format", "\"", IMG_TBYTES(out->luks_hdr, 6),
		            "\" at ", IMG_TDEC(in->crypto_offset));
		return;
	}
	if (img_be16(out->luks_hdr + 6) != 1) {
		IMG_DAMAGED(res, "Unsupported LUKS version", "version ",
		            IMG_TDEC(img_be16(out->luks_hdr + 6)), ", only 1");
		return;
	}
	why = luks1_check_at(out->luks_hdr, &slot);
	if (!why) {
		why = luks1_parse(out->luks_hdr, &out->luks_algs);
		parse = true;
	}
	if (why) {
		if (__builtin_expect(res->tracing != NULL, 0))
			luks1_trace_damaged(res, out->luks_hdr, why, parse, slot);
		else
			img_set_damaged(res, why);
		return;
	}
	out->luks_ok = true;
}

/* ---- snapshot table --------------------------------------------------------- */

static bool top_has_room(const struct img_spec *s, size_t strings)
{
	return s->n + SN_ENTRIES + s->depth + 1 < IMG_SPEC_MAX &&
	       strings <= IMG_SPEC_POOL - s->pool_used;
}

/* Returns false when the table is damaged (res says why) or could not be read. */
static bool deep_snapshots(const struct img_reader *r, const struct qcow2_deep_in *in,
                           struct img_result *res)
{
	struct img_window w = { .r = r, .end = UINT64_MAX, .chunk = WIN };
	struct img_spec *top = &res->top;
	uint64_t off = in->snapshots_offset, table_len = 0;
	bool listing = true;
	int rc;

	if (in->nb_snapshots == 0)
		return true;
	if (in->snapshots_offset >= r->size) {
		IMG_DAMAGED(res, "Snapshot table outside the image", "snapshots_offset ",
		            IMG_TDEC(in->snapshots_offset), ", the volume is ", IMG_TDEC(r->size),
		            " bytes");
		return false;
	}
	/* no entry can end past this: 64 MiB of table plus the 7-byte alignments */
	w.end = r->size;
	img_tree_arr(top, "snapshots");
	for (uint32_t i = 0; i < in->nb_snapshots; i++) {
		uint8_t extra[SN_EXTRA_KNOWN];
		const uint8_t *h, *x, *id = NULL, *name = NULL;
		uint32_t extra_size, vm_state32;
		uint16_t id_size, name_size;
		uint64_t vm_state, vm_clock, icount, ext_len;
		size_t id_len = 0, name_len = 0;

		off = (off + 7) & ~(uint64_t)7; /* off < size + 64 MiB + 2^16: no overflow */
		table_len = (table_len + 7) & ~(uint64_t)7;
		rc = img_window_get(&w, off, SN_HDR, &h);
		if (rc < 0)
			goto read_fail;
		id_size = img_be16(h + 12);
		name_size = img_be16(h + 14);
		vm_clock = img_be64(h + 24);
		vm_state32 = img_be32(h + 32);
		extra_size = img_be32(h + 36);
		if (extra_size > SN_MAX_EXTRA) {
			IMG_DAMAGED(res, "Too much extra metadata in snapshot table entry", "snapshot ",
			            IMG_TDEC(i), " at ", IMG_TDEC(off), ": extra_data_size ",
			            IMG_TDEC(extra_size), ", at most ", IMG_TDEC(SN_MAX_EXTRA));
			goto fail;
		}
		ext_len = extra_size < SN_EXTRA_KNOWN ? extra_size : SN_EXTRA_KNOWN;
		memset(extra, 0, sizeof(extra));
		if (ext_len) {
			rc = img_window_get(&w, off + SN_HDR, (size_t)ext_len, &x);
			if (rc < 0)
				goto read_fail;
			memcpy(extra, x, (size_t)ext_len);
		}
		table_len += SN_HDR + (uint64_t)extra_size + id_size + name_size;
		if (table_len > SN_MAX_TABLE) {
			IMG_DAMAGED(res, "Snapshot table is too big", "snapshot ", IMG_TDEC(i),
			            ": the table reaches ", IMG_TDEC(table_len), " bytes, at most ",
			            IMG_TDEC(SN_MAX_TABLE));
			goto fail;
		}
		off += SN_HDR + (uint64_t)extra_size;
		/* qemu keeps the first 127 / 255 bytes, up to the first NUL */
		if (id_size) {
			id_len = id_size < SN_ID_MAX ? id_size : SN_ID_MAX;
			rc = img_window_get(&w, off, id_len, &id);
			if (rc < 0)
				goto read_fail;
			id_len = img_strnlen(id, id_len);
		}
		/* the whole id and name must be in the volume, as the table is */
		if (!img_in_bounds(off, (uint64_t)id_size + name_size, r->size)) {
			rc = -ERANGE;
			goto read_fail;
		}
		off += id_size;
		if (name_size) {
			name_len = name_size < SN_NAME_MAX ? name_size : SN_NAME_MAX;
			rc = img_window_get(&w, off, name_len, &name);
			if (rc < 0)
				goto read_fail;
			name_len = img_strnlen(name, name_len);
		}
		off += name_size;

		vm_state = extra_size >= 8 ? img_be64(extra) : vm_state32;
		icount = extra_size >= 24 ? img_be64(extra + 16) : UINT64_MAX;
		if (listing && !top_has_room(top, id_len + name_len)) {
			listing = false;
			deep_incomplete(res, "snapshots: more than the result can list");
		}
		if (!listing)
			continue;
		/* qemu-img 7.2 key order (QDict hash order), measured */
		img_tree_obj(top, NULL);
		if (icount != UINT64_MAX)
			img_tree_int(top, "icount", (int64_t)icount);
		img_tree_int(top, "vm-clock-nsec", (int64_t)(vm_clock % 1000000000u));
		img_tree_str(top, "name", name ? (const char *)name : "", name_len);
		img_tree_int(top, "date-sec", img_be32(h + 16));
		img_tree_int(top, "date-nsec", img_be32(h + 20));
		img_tree_int(top, "vm-clock-sec", (int64_t)(vm_clock / 1000000000u));
		img_tree_str(top, "id", id ? (const char *)id : "", id_len);
		img_tree_int(top, "vm-state-size", (int64_t)vm_state);
		img_tree_end(top);
	}
	img_tree_end(top);
	return true;

read_fail:
	if (rc == -ERANGE)
		IMG_DAMAGED(res, "Snapshot table outside the image", "an entry at ", IMG_TDEC(off),
		            " crosses the end of the volume (", IMG_TDEC(r->size), " bytes)");
	else
		deep_incomplete(res, "snapshots: the table exceeds the read budget");
fail:
	/* nothing is listed from a table qemu would refuse or we could not read */
	top->n = 0;
	top->depth = 0;
	top->pool_used = 0;
	top->overflow = false;
	return false;
}

/* ---- bitmap directory ------------------------------------------------------- */

/* the bitmap table size load_bitmap_data() expects for a virtual size */
static uint64_t bm_table_needed(uint64_t len, unsigned gran_bits, uint64_t cluster_size)
{
	uint64_t words, bytes;

	if (len == 0)
		return 0;
	/* hbitmap_serialization_size: 64-bit words of the last level */
	words = (((len - 1) >> gran_bits) >> 6) + 1;
	bytes = words * 8;
	return bytes / cluster_size + (bytes % cluster_size ? 1 : 0);
}

/* bitmap_list_load() and check_dir_entry(); true when qemu would load the list */
static bool deep_bitmaps(const struct img_reader *r, const struct qcow2_deep_in *in,
                         struct qcow2_deep_out *out, struct img_result *res)
{
	const uint8_t *dir;
	uint64_t pos = 0, size = in->bm_dir_size;
	uint32_t n = 0;
	int rc;

	if (!in->has_bitmaps || in->nb_bitmaps == 0)
		return true;
	if (size == 0) {
		img_set_damaged(res, "Requested bitmap directory size is zero");
		return false;
	}
	if (!img_in_bounds(in->bm_dir_offset, size, r->size)) {
		IMG_DAMAGED(res, "Bitmap directory outside the image", "bitmap_directory_offset ",
		            IMG_TDEC(in->bm_dir_offset), ", size ", IMG_TDEC(size), ", the volume is ",
		            IMG_TDEC(r->size), " bytes");
		return false;
	}
	if (size > IMG_READ_MAX) {
		deep_incomplete(res, "bitmaps: the directory exceeds the read budget");
		return false;
	}
	rc = img_get(r, in->bm_dir_offset, (size_t)size, &dir);
	if (rc < 0) {
		deep_incomplete(res, "bitmaps: the directory could not be read");
		return false;
	}
	while (pos < size) {
		const uint8_t *e = dir + pos;
		uint64_t table_off, esize, phys;
		uint32_t table_size, flags, extra;
		uint16_t name_size;
		uint8_t type, gran;

		if (size - pos < BM_ENTRY_HDR)
			goto broken;
		if (++n > in->nb_bitmaps) {
			IMG_DAMAGED(res, "More bitmaps found than specified in header extension",
			            "nb_bitmaps ", IMG_TDEC(in->nb_bitmaps));
			return false;
		}
		table_off = img_be64(e);
		table_size = img_be32(e + 8);
		flags = img_be32(e + 12);
		type = e[16];
		gran = e[17];
		name_size = img_be16(e + 18);
		extra = img_be32(e + 20);
		esize = ((uint64_t)BM_ENTRY_HDR + name_size + extra + 7) & ~(uint64_t)7;
		if (esize > size - pos)
			goto broken;
		if (extra != 0) {
			IMG_DAMAGED(res, "Bitmap extra data is not supported", "bitmap ", IMG_TDEC(n - 1),
			            ": extra_data_size ", IMG_TDEC(extra));
			return false;
		}
		phys = (uint64_t)table_size * in->cluster_size;
		if (table_size == 0 || table_off == 0 || table_off % in->cluster_size ||
		    table_size > BM_MAX_TABLE_SIZE || gran > BM_MAX_GRAN_BITS ||
		    gran < BM_MIN_GRAN_BITS || (flags & BM_RESERVED_FLAGS) ||
		    name_size > BM_MAX_NAME || type != BM_TYPE_DIRTY || phys > BM_MAX_PHYS_SIZE ||
		    (!(flags & BM_FLAG_IN_USE) && in->virtual_size > ((phys * 8) << gran))) {
			IMG_DAMAGED(res, "Bitmap doesn't satisfy the constraints", "bitmap ",
			            IMG_TDEC(n - 1), ": bitmap_table_offset ", IMG_TDEC(table_off),
			            ", bitmap_table_size ", IMG_TDEC(table_size), ", flags ",
			            IMG_THEX(flags, 8), ", type ", IMG_TDEC(type), ", granularity_bits ",
			            IMG_TDEC(gran), ", name_size ", IMG_TDEC(name_size));
			return false;
		}
		/* load_bitmap_data(), for bitmaps that are not in use */
		if (!(flags & BM_FLAG_IN_USE) &&
		    bm_table_needed(in->virtual_size, gran, in->cluster_size) != table_size) {
			IMG_DAMAGED(res, "Could not read bitmap from image", "bitmap ", IMG_TDEC(n - 1),
			            ": bitmap_table_size ", IMG_TDEC(table_size), ", the virtual size needs ",
			            IMG_TDEC(bm_table_needed(in->virtual_size, gran, in->cluster_size)));
			return false;
		}
		pos += esize;
	}
	if (n != in->nb_bitmaps) {
		IMG_DAMAGED(res, "Less bitmaps found than specified in header extension", "nb_bitmaps ",
		            IMG_TDEC(in->nb_bitmaps), ", the directory holds ", IMG_TDEC(n));
		return false;
	}
	out->bm_dir = dir;
	out->bm_dir_len = size;
	out->bm_ok = true;
	return true;
broken:
	IMG_DAMAGED(res, "Broken bitmap directory", "an entry at ", IMG_TDEC(pos), " of ",
	            IMG_TDEC(size), " bytes crosses the end of the directory");
	return false;
}

void qcow2_deep_bitmaps_spec(const struct qcow2_deep_in *in, const struct qcow2_deep_out *out,
                             struct img_result *res)
{
	struct img_spec *s = &res->spec;
	uint64_t pos = 0;

	(void)in;
	if (!out->bm_ok || !out->bm_dir)
		return;
	img_spec_arr(res, "bitmaps");
	while (pos < out->bm_dir_len) {
		const uint8_t *e = out->bm_dir + pos;
		uint32_t flags = img_be32(e + 12);
		uint16_t name_size = img_be16(e + 18);

		/* checked by deep_bitmaps: entries fit the directory, extra data 0 */
		if (s->n + BM_ENTRIES + s->depth + SPEC_KEEP_ENTRIES >= IMG_SPEC_MAX ||
		    name_size + SPEC_KEEP_POOL > IMG_SPEC_POOL - s->pool_used) {
			deep_incomplete(res, "bitmaps: more than the result can list");
			break;
		}
		/* qemu-img 7.2 key order, measured; flags in qemu's map order */
		img_spec_obj(res, NULL);
		img_spec_arr(res, "flags");
		if (flags & BM_FLAG_IN_USE)
			img_spec_cstr(res, NULL, "in-use");
		if (flags & BM_FLAG_AUTO)
			img_spec_cstr(res, NULL, "auto");
		img_spec_end(res);
		img_spec_str(res, "name", e + BM_ENTRY_HDR, img_strnlen(e + BM_ENTRY_HDR, name_size));
		img_spec_int(res, "granularity", (int64_t)(1ull << e[17]));
		img_spec_end(res);
		pos += ((uint64_t)BM_ENTRY_HDR + name_size + 7) & ~(uint64_t)7;
	}
	img_spec_end(res);
}

/* ---- image end offset from the refcounts ------------------------------------ */

/*
 * Highest entry index below limit whose refcount (width 1 << order bits,
 * qemu's layout: sub-byte widths from the least significant bit) is not
 * zero, in blk[0..len) (missing bytes are zero); -1 when none.
 */
static int64_t rc_highest(const uint8_t *blk, size_t len, uint64_t limit, unsigned order)
{
	unsigned bits = 1u << order;
	uint64_t nbytes = (limit * bits + 7) / 8;

	if (nbytes > len)
		nbytes = len;
	for (uint64_t b = nbytes; b-- > 0;) {
		uint8_t v = blk[b];

		if (!v)
			continue;
		if (order >= 3)
			return (int64_t)(b / (bits / 8));
		for (unsigned k = 8 / bits; k-- > 0;) {
			uint64_t idx = b * (8 / bits) + k;

			if (idx < limit && ((v >> (k * bits)) & ((1u << bits) - 1)))
				return (int64_t)idx;
		}
	}
	return -1;
}

static void deep_end_offset(const struct img_reader *r, const struct qcow2_deep_in *in,
                            struct img_result *res)
{
	uint64_t cs = in->cluster_size;
	uint64_t nb_clusters = r->size / cs + (r->size % cs ? 1 : 0);
	unsigned rb_bits = in->cluster_bits + 3 - in->refcount_order;
	uint64_t per_block = 1ull << rb_bits;
	uint64_t rt_entries = (uint64_t)in->rt_clusters * cs / 8;
	uint64_t needed = nb_clusters / per_block + (nb_clusters % per_block ? 1 : 0);
	uint64_t scanned = 0, zero_blocks[16];
	unsigned n_zero = 0, next_zero = 0;
	int64_t highest = 0;

	if (needed > rt_entries)
		needed = rt_entries;
	/* the refcount table from its end, in chunks; past the end of the file it reads as zeros */
	for (uint64_t hi = needed; hi > 0;) {
		uint64_t lo = hi > IMG_READ_MAX / 8 ? hi - IMG_READ_MAX / 8 : 0;
		const uint8_t *t;
		size_t got;
		int rc;

		rc = img_get_upto(r, in->rt_offset + lo * 8, (size_t)((hi - lo) * 8), &t, &got);
		if (rc < 0)
			goto budget;
		for (uint64_t i = hi; i-- > lo;) {
			uint64_t boff, base = i * per_block, limit;
			const uint8_t *blk;
			size_t blen;
			int64_t j;
			bool known_zero = false;

			if ((i - lo) * 8 + 8 > got)
				continue; /* past the end of the file: zero */
			boff = img_be64(t + (i - lo) * 8) & REFT_OFFSET_MASK;
			/* unaligned: qemu counts an error and sees no refcount */
			if (!boff || boff % cs || boff >= r->size)
				continue;
			for (unsigned z = 0; z < n_zero; z++)
				if (zero_blocks[z] == boff)
					known_zero = true;
			if (known_zero)
				continue;
			limit = nb_clusters - base < per_block ? nb_clusters - base : per_block;
			scanned += cs;
			if (scanned > RC_SCAN_MAX) {
				deep_incomplete(res, "image-end-offset: too many refcount blocks");
				return;
			}
			rc = img_get_upto(r, boff, (size_t)cs, &blk, &blen);
			if (rc < 0)
				goto budget;
			j = rc_highest(blk, blen, limit, in->refcount_order);
			if (j >= 0) {
				highest = (int64_t)(base + (uint64_t)j);
				goto done;
			}
			/* remember a few all-zero blocks: tables may repeat one */
			if (limit == per_block) {
				zero_blocks[next_zero] = boff;
				next_zero = (next_zero + 1) % IMG_ARRAY_SIZE(zero_blocks);
				if (n_zero < IMG_ARRAY_SIZE(zero_blocks))
					n_zero++;
			}
		}
		hi = lo;
	}
done:
	/* highest < nb_clusters <= 2^55: no overflow */
	res->has_image_end_offset = true;
	res->image_end_offset = ((uint64_t)highest + 1) * cs;
	return;
budget:
	deep_incomplete(res, "image-end-offset: the refcount structures exceed the read budget");
}

void qcow2_deep(const struct img_reader *r, const struct qcow2_deep_in *in,
                struct qcow2_deep_out *out, struct img_result *res)
{
	memset(out, 0, sizeof(*out));
	if (!(r->flags & IMG_PROBE_DEEP))
		return;
	/* qemu's open order: the LUKS header (extensions), snapshots, bitmaps */
	if (in->has_crypto)
		deep_luks(r, in, out, res);
	if (!res->damaged)
		(void)deep_snapshots(r, in, res);
	if (!res->damaged)
		(void)deep_bitmaps(r, in, out, res);
	/* qemu-img check works on images it can open */
	if (!res->damaged)
		deep_end_offset(r, in, res);
}
