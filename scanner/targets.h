/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The targets of a scan (targets.c): the block devices a scan without PATH
 * reads, and what is known about a PATH before it is opened.
 */
#ifndef IMGSCAN_TARGETS_H
#define IMGSCAN_TARGETS_H

#include <stdbool.h>
#include <stddef.h>

#include "enum/device.h"
#include "scan/scan.h"

#define IMG_MAX_VG_FILTERS 64

/* --lvm, --vg: which of the enumerated devices a scan keeps */
struct img_select {
	bool lvm_only;
	unsigned n_vg;
	const char *vg[IMG_MAX_VG_FILTERS];
};

/* d is kept: every device, or only LVs (--lvm), of the given VGs (--vg) */
bool img_select_device(const struct img_select *sel, const struct img_device *d);

/*
 * Each --vg NAME that no LV among devs belongs to is said on stderr (a typo
 * would otherwise look like an empty volume group); not a failure.
 */
void img_select_vg_unmatched(const struct img_select *sel, const struct img_device *devs,
                             size_t ndev);

/*
 * Every block device sel keeps, as targets; the skipped ones (never to be
 * opened) are said on stderr when verbose.  Free *ret_devs with
 * img_devices_free() and *ret with free().  Negative errno, said on stderr.
 */
int img_targets_enumerate(const struct img_select *sel, bool verbose, struct img_device **ret_devs,
                          size_t *ret_ndev, struct img_target **ret, size_t *ret_n);

/*
 * A PATH operand: t->st and t->have_st from stat(2), and when it is a block
 * device, its sysfs facts and skip reason (from the udev database too when
 * use_udev), to be checked before open().  NULL: not a block device (or no
 * memory); free() the device.
 */
struct img_device *img_target_stat(struct img_target *t, bool use_udev);

/*
 * The engine's device_facts hook (img_scan_opts) for PATH operands the
 * engine stats itself: the block device rdev's sysfs facts and udev
 * database entry, *skip its verdict from the guard table.  NULL (and *skip
 * NULL) when they cannot be read.  img_target_device_free is device_free.
 */
const struct img_device *img_target_device(void *ctx, dev_t rdev, const char **skip);
void img_target_device_free(void *ctx, const struct img_device *d);

#endif
