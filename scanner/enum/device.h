/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Block devices: what sysfs and the udev database say about a device before
 * it is opened (docs/security.md, rule 6), and the enumeration of every block
 * device and LV for scans without operands.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IMG_DEV_PROPS_MAX 32

struct img_device {
	char node[256];    /* /dev/dm-3 */
	char name[64];     /* kernel name: dm-3, loop0, sda1 */
	dev_t devnum;
	uint64_t size;     /* bytes, from sysfs */
	char type[16];     /* disk, part, loop, dm, lvm, crypt, mpath, rom ... (lsblk TYPE) */
	char dm_name[256];
	char dm_uuid[160];
	char vg[160];      /* LVM volume group (DM_VG_NAME or split from the dm name) */
	char lv[160];      /* LVM logical volume */
	char layer[64];    /* LVM layer (-real, -cow, -tpool ...) */
	bool dm_suspended;
	bool disable_other_rules; /* DM_UDEV_DISABLE_OTHER_RULES_FLAG=1 in the udev db */
	bool low_priority;        /* DM_UDEV_LOW_PRIORITY_FLAG=1: an old-style snapshot */
	/* why this device must not be opened (static text), NULL when it may be */
	const char *skip;

	/* --cached: the ID_IMAGE_* properties the udev database holds */
	unsigned n_props;
	struct {
		char key[48];
		char value[4200];
	} *props;
};

/*
 * Fill dev from sysfs (and, when use_udev, the udev database) for the block
 * device dev_t; sets dev->skip when the device must not be opened.
 * Returns 0 or a negative errno.
 */
int img_device_from_devnum(dev_t devnum, bool use_udev, struct img_device *dev);

/* Read a one-line sysfs attribute base/attr into buf without its newline; false when absent. */
bool img_sysfs_read(const char *base, const char *attr, char *buf, size_t len);

/* Split a dm name "vg-lv[-layer]" (hyphens in names doubled) into its parts. */
void img_dm_split_name(const char *dm_name, char *vg, size_t vglen, char *lv, size_t lvlen,
                       char *layer, size_t layerlen);

/*
 * Every block device (disks, partitions, loop devices, device-mapper devices
 * including LVs), through libudev, or from sysfs alone when there is no udev
 * database.  *ret is an array of *ret_n devices to free with img_devices_free.
 */
int img_enum_devices(bool use_udev, bool want_props, struct img_device **ret, size_t *ret_n);
void img_devices_free(struct img_device *devs, size_t n);
