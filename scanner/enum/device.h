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
#define IMG_DEV_PROP_KEY_MAX 47
#define IMG_DEV_PROP_VALUE_MAX 4199

/* a property the udev database holds; both strings live in the props allocation */
struct img_device_prop {
	const char *key;
	const char *value;
};

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

	/* --cached: the ID_IMAGE_* properties the udev database holds (one allocation) */
	unsigned n_props;
	struct img_device_prop *props;
};

/*
 * Fill dev from sysfs (and, when use_udev, the udev database) for the block
 * device dev_t; sets dev->skip when the device must not be opened.
 * Returns 0 or a negative errno.
 *
 * The udev database is read directly (/run/udev/data/b<maj>:<min>, format in
 * docs/udev.md, "Reading the udev database"); libudev is the fallback for a
 * database entry of a version this reader does not know, or one too large
 * for its buffer.  IMGSCAN_UDEV_DB=libudev in the environment (a test hook)
 * reads every entry through libudev instead.
 */
int img_device_from_devnum(dev_t devnum, bool use_udev, struct img_device *dev);

/* Read a one-line sysfs attribute base/attr into buf without its newline; false when absent. */
bool img_sysfs_read(const char *base, const char *attr, char *buf, size_t len);

/* Split a dm name "vg-lv[-layer]" (hyphens in names doubled) into its parts. */
void img_dm_split_name(const char *dm_name, char *vg, size_t vglen, char *lv, size_t lvlen,
                       char *layer, size_t layerlen);

/*
 * Every block device (disks, partitions, loop devices, device-mapper devices
 * including LVs), listed from /sys/class/block, each with its sysfs facts and
 * (when use_udev) its udev database entry, as img_device_from_devnum.
 * *ret is an array of *ret_n devices to free with img_devices_free.
 */
int img_enum_devices(bool use_udev, bool want_props, struct img_device **ret, size_t *ret_n);
void img_devices_free(struct img_device *devs, size_t n);

/*
 * Parse one udev database entry (or, with db false, a sysfs uevent file: KEY=value
 * lines) of len bytes: fn is called for each property with its key and value
 * (neither NUL-terminated).  A database line other than E: is ignored, except
 * V:, whose number is returned in *version (0 when absent).  A line without '='
 * or without its newline at the end of the buffer is ignored.
 */
typedef void (*img_udev_prop_fn)(void *ctx, const char *key, size_t klen, const char *value,
                                 size_t vlen);
void img_udev_db_parse(const char *buf, size_t len, bool db, unsigned *version, img_udev_prop_fn fn,
                       void *ctx);
