/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2 beyond the header (--deep, IMG_PROBE_DEEP): the internal snapshot
 * table, the persistent bitmap directory, the LUKS header of an encrypted
 * image and the image end offset from the refcount structures.  See
 * qcow2-deep.c; called by fmt-qcow2.c only after its header checks passed.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "luks1.h"
#include "probe.h"

/* the header facts the deep readers start from (already checked by fmt-qcow2.c) */
struct qcow2_deep_in {
	uint32_t version;
	uint32_t cluster_bits;
	uint64_t cluster_size;
	uint32_t refcount_order;   /* 0..6 */
	uint64_t virtual_size;     /* bytes, as qemu's bdrv_getlength() */
	uint64_t rt_offset;        /* refcount table */
	uint32_t rt_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	bool has_bitmaps;          /* the bitmaps extension was loaded (autoclear bit set) */
	uint32_t nb_bitmaps;
	uint64_t bm_dir_size;
	uint64_t bm_dir_offset;
	bool has_crypto;           /* the full disk encryption header extension */
	uint64_t crypto_offset;
	uint64_t crypto_length;
};

/* what the checks found, for the format-specific tree */
struct qcow2_deep_out {
	/* the bitmap directory, checked: entries to list */
	const uint8_t *bm_dir;
	uint64_t bm_dir_len;
	bool bm_ok;
	/* the LUKS header, checked and parsed */
	bool luks_ok;
	struct luks1_algs luks_algs;
	uint8_t luks_hdr[LUKS1_HDR_SIZE];
};

/*
 * Read and check everything in qemu's open order (the LUKS header while the
 * extensions are read, then the snapshot table, then the bitmap directory)
 * and compute image-end-offset.  Problems qemu would refuse mark res
 * damaged; what the read budget does not allow sets res->deep_incomplete.
 * Snapshots land in res->top.  Never fails.
 */
void qcow2_deep(const struct img_reader *r, const struct qcow2_deep_in *in,
                struct qcow2_deep_out *out, struct img_result *res);

/* the "bitmaps" list of the format-specific data (when out->bm_ok) */
void qcow2_deep_bitmaps_spec(const struct qcow2_deep_in *in, const struct qcow2_deep_out *out,
                             struct img_result *res);
