/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Block devices and LVs: sysfs and the udev database, read before any device
 * is opened (docs/security.md, rule 6; docs/udev.md, "Device-mapper and LVM
 * flags" and "Enumerating block devices").
 *
 * A device is not opened when it is an LVM internal layer (dm uuid
 * "LVM-<vg uuid><lv uuid>-<suffix>": -real, -cow, -pool, -tpool, -tdata ...),
 * a suspended device-mapper device, a device the dm rules flag with
 * DM_UDEV_DISABLE_OTHER_RULES_FLAG=1, or has size 0 (a CD-ROM without media,
 * a loop device without a backing file, a dm device without a table).
 * libudev is used from one thread only, loaded with dlopen when a device is
 * first looked up in the udev database (dl.h); without it a PATH operand
 * gets its sysfs facts only, and enumeration fails with a message.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dl.h"
#include "enum/device.h"

static __typeof__(&udev_device_get_devnode) sym_udev_device_get_devnode;
static __typeof__(&udev_device_get_devnum) sym_udev_device_get_devnum;
static __typeof__(&udev_device_get_properties_list_entry) sym_udev_device_get_properties_list_entry;
static __typeof__(&udev_device_get_property_value) sym_udev_device_get_property_value;
static __typeof__(&udev_device_new_from_devnum) sym_udev_device_new_from_devnum;
static __typeof__(&udev_device_new_from_syspath) sym_udev_device_new_from_syspath;
static __typeof__(&udev_device_unref) sym_udev_device_unref;
static __typeof__(&udev_enumerate_add_match_subsystem) sym_udev_enumerate_add_match_subsystem;
static __typeof__(&udev_enumerate_get_list_entry) sym_udev_enumerate_get_list_entry;
static __typeof__(&udev_enumerate_new) sym_udev_enumerate_new;
static __typeof__(&udev_enumerate_scan_devices) sym_udev_enumerate_scan_devices;
static __typeof__(&udev_enumerate_unref) sym_udev_enumerate_unref;
static __typeof__(&udev_list_entry_get_name) sym_udev_list_entry_get_name;
static __typeof__(&udev_list_entry_get_next) sym_udev_list_entry_get_next;
static __typeof__(&udev_list_entry_get_value) sym_udev_list_entry_get_value;
static __typeof__(&udev_new) sym_udev_new;
static __typeof__(&udev_unref) sym_udev_unref;

static const struct img_dl_sym udev_syms[] = {
	IMG_DL_SYM(udev_device_get_devnode),
	IMG_DL_SYM(udev_device_get_devnum),
	IMG_DL_SYM(udev_device_get_properties_list_entry),
	IMG_DL_SYM(udev_device_get_property_value),
	IMG_DL_SYM(udev_device_new_from_devnum),
	IMG_DL_SYM(udev_device_new_from_syspath),
	IMG_DL_SYM(udev_device_unref),
	IMG_DL_SYM(udev_enumerate_add_match_subsystem),
	IMG_DL_SYM(udev_enumerate_get_list_entry),
	IMG_DL_SYM(udev_enumerate_new),
	IMG_DL_SYM(udev_enumerate_scan_devices),
	IMG_DL_SYM(udev_enumerate_unref),
	IMG_DL_SYM(udev_list_entry_get_name),
	IMG_DL_SYM(udev_list_entry_get_next),
	IMG_DL_SYM(udev_list_entry_get_value),
	IMG_DL_SYM(udev_new),
	IMG_DL_SYM(udev_unref),
};

static struct img_dl_lib udev_lib = IMG_DL_LIB(UDEV_SONAME, UDEV_PACKAGE, udev_syms);

/* udev_list_entry_foreach of libudev.h, through the loaded symbols */
#define sym_udev_list_entry_foreach(entry, first) \
	for (entry = (first); entry; entry = sym_udev_list_entry_get_next(entry))

int dlopen_udev(void)
{
	return img_dl_load(&udev_lib, "reading the udev database");
}

bool img_sysfs_read(const char *base, const char *attr, char *buf, size_t len)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", base, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return true;
}

static bool sysfs_exists(const char *base, const char *attr)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", base, attr);
	return access(path, F_OK) == 0;
}

/* bounded string copy; truncates silently (sysfs and db values are short) */
static void copy(char *dst, size_t len, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n > len - 1)
		n = len - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

void img_dm_split_name(const char *dm_name, char *vg, size_t vglen, char *lv, size_t lvlen,
                       char *layer, size_t layerlen)
{
	char *out[3] = { vg, lv, layer };
	size_t cap[3] = { vglen, lvlen, layerlen };
	size_t used[3] = { 0, 0, 0 };
	unsigned part = 0;

	vg[0] = lv[0] = layer[0] = '\0';
	for (const char *p = dm_name; *p; p++) {
		char c = *p;

		if (c == '-') {
			if (p[1] == '-') {
				p++; /* a doubled hyphen is a hyphen inside a name */
			} else if (part < 2) {
				part++;
				continue;
			}
		}
		if (used[part] + 1 < cap[part]) {
			out[part][used[part]++] = c;
			out[part][used[part]] = '\0';
		}
	}
}

static void set_type(struct img_device *d, const char *base)
{
	char buf[64];

	if (d->dm_uuid[0]) {
		/* lsblk: the uuid prefix before the first '-', lowercased */
		size_t i;

		for (i = 0; d->dm_uuid[i] && d->dm_uuid[i] != '-' && i < sizeof(d->type) - 1; i++)
			d->type[i] = (char)tolower((unsigned char)d->dm_uuid[i]);
		d->type[i] = '\0';
		if (d->dm_uuid[i] != '-')
			copy(d->type, sizeof(d->type), "dm");
	} else if (sysfs_exists(base, "dm")) {
		copy(d->type, sizeof(d->type), "dm");
	} else if (strncmp(d->name, "loop", 4) == 0) {
		copy(d->type, sizeof(d->type), "loop");
	} else if (sysfs_exists(base, "partition")) {
		copy(d->type, sizeof(d->type), "part");
	} else if (img_sysfs_read(base, "device/type", buf, sizeof(buf)) && strcmp(buf, "5") == 0) {
		copy(d->type, sizeof(d->type), "rom");
	} else {
		copy(d->type, sizeof(d->type), "disk");
	}
}

static void read_udev(struct img_device *d, struct udev *udev, bool want_props)
{
	struct udev_device *ud = sym_udev_device_new_from_devnum(udev, 'b', d->devnum);
	struct udev_list_entry *e;
	const char *v;

	if (!ud)
		return;
	if ((v = sym_udev_device_get_devnode(ud)))
		copy(d->node, sizeof(d->node), v);
	if ((v = sym_udev_device_get_property_value(ud, "DM_UDEV_DISABLE_OTHER_RULES_FLAG")))
		d->disable_other_rules = strcmp(v, "1") == 0;
	if ((v = sym_udev_device_get_property_value(ud, "DM_UDEV_LOW_PRIORITY_FLAG")))
		d->low_priority = strcmp(v, "1") == 0;
	if ((v = sym_udev_device_get_property_value(ud, "DM_VG_NAME")) && *v)
		copy(d->vg, sizeof(d->vg), v);
	if ((v = sym_udev_device_get_property_value(ud, "DM_LV_NAME")) && *v)
		copy(d->lv, sizeof(d->lv), v);
	if ((v = sym_udev_device_get_property_value(ud, "DM_LV_LAYER")) && *v)
		copy(d->layer, sizeof(d->layer), v);
	if (want_props) {
		sym_udev_list_entry_foreach(e, sym_udev_device_get_properties_list_entry(ud))
		{
			const char *k = sym_udev_list_entry_get_name(e);

			if (strncmp(k, "ID_IMAGE_", 9) != 0)
				continue;
			if (!d->props) {
				d->props = calloc(IMG_DEV_PROPS_MAX, sizeof(*d->props));
				if (!d->props)
					break;
			}
			if (d->n_props >= IMG_DEV_PROPS_MAX)
				break;
			copy(d->props[d->n_props].key, sizeof(d->props[0].key), k);
			copy(d->props[d->n_props].value, sizeof(d->props[0].value),
			     sym_udev_list_entry_get_value(e));
			d->n_props++;
		}
	}
	sym_udev_device_unref(ud);
}

static int device_fill(dev_t devnum, struct udev *udev, bool want_props, struct img_device *d)
{
	char base[128], link[512], buf[64];
	ssize_t n;

	memset(d, 0, sizeof(*d));
	d->devnum = devnum;
	snprintf(base, sizeof(base), "/sys/dev/block/%u:%u", major(devnum), minor(devnum));
	n = readlink(base, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	copy(d->name, sizeof(d->name), strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
	memcpy(d->node, "/dev/", 5);
	copy(d->node + 5, sizeof(d->node) - 5, d->name);
	if (img_sysfs_read(base, "size", buf, sizeof(buf)))
		d->size = strtoull(buf, NULL, 10) * 512;

	if (sysfs_exists(base, "dm")) {
		img_sysfs_read(base, "dm/name", d->dm_name, sizeof(d->dm_name));
		img_sysfs_read(base, "dm/uuid", d->dm_uuid, sizeof(d->dm_uuid));
		if (img_sysfs_read(base, "dm/suspended", buf, sizeof(buf)))
			d->dm_suspended = strcmp(buf, "1") == 0;
	}
	set_type(d, base);
	if (udev)
		read_udev(d, udev, want_props);

	if (strncmp(d->dm_uuid, "LVM-", 4) == 0 && (!d->vg[0] || !d->lv[0]))
		img_dm_split_name(d->dm_name, d->vg, sizeof(d->vg), d->lv, sizeof(d->lv), d->layer,
		                  sizeof(d->layer));

	/* the order of the checks is the order of their importance to the user */
	if (strncmp(d->dm_uuid, "LVM-", 4) == 0 && strchr(d->dm_uuid + 4, '-'))
		d->skip = "LVM internal layer (dm uuid has a layer suffix)";
	else if (d->layer[0])
		d->skip = "LVM internal layer";
	else if (d->dm_suspended)
		d->skip = "device-mapper device is suspended";
	else if (d->disable_other_rules)
		d->skip = "the device-mapper rules say not to open it (DM_UDEV_DISABLE_OTHER_RULES_FLAG=1)";
	else if (strcmp(d->type, "loop") == 0 && !sysfs_exists(base, "loop/backing_file"))
		d->skip = "loop device without a backing file";
	else if (d->size == 0)
		d->skip = strcmp(d->type, "rom") == 0 ? "no medium" : "zero size";
	return 0;
}

int img_device_from_devnum(dev_t devnum, bool use_udev, struct img_device *dev)
{
	/* without libudev: the sysfs facts and checks still (the message is printed once) */
	struct udev *udev = use_udev && dlopen_udev() == 0 ? sym_udev_new() : NULL;
	int r = device_fill(devnum, udev, false, dev);

	if (udev)
		sym_udev_unref(udev);
	return r;
}

static int add_device(struct img_device **devs, size_t *n, size_t *cap, dev_t devnum,
                      struct udev *udev, bool want_props)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct img_device *p = realloc(*devs, nc * sizeof(**devs));

		if (!p)
			return -ENOMEM;
		*devs = p;
		*cap = nc;
	}
	if (device_fill(devnum, udev, want_props, &(*devs)[*n]) == 0)
		(*n)++;
	return 0;
}

/* sysfs alone: /sys/class/block lists every disk and partition */
static int enum_sysfs(struct img_device **devs, size_t *n, size_t *cap)
{
	DIR *dir = opendir("/sys/class/block");
	struct dirent *de;
	int r = 0;

	if (!dir)
		return -errno;
	while ((de = readdir(dir)) && r == 0) {
		char path[512], buf[32];
		unsigned ma, mi;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/block/%s", de->d_name);
		if (!img_sysfs_read(path, "dev", buf, sizeof(buf)) || sscanf(buf, "%u:%u", &ma, &mi) != 2)
			continue;
		r = add_device(devs, n, cap, makedev(ma, mi), NULL, false);
	}
	closedir(dir);
	return r;
}

static int cmp_dev(const void *a, const void *b)
{
	const struct img_device *x = a, *y = b;

	if (x->devnum != y->devnum)
		return x->devnum < y->devnum ? -1 : 1;
	return 0;
}

int img_enum_devices(bool use_udev, bool want_props, struct img_device **ret, size_t *ret_n)
{
	struct img_device *devs = NULL;
	size_t n = 0, cap = 0;
	struct udev *udev;
	struct udev_enumerate *en;
	int r = 0;

	if (use_udev) {
		r = dlopen_udev();
		if (r < 0)
			return r;
	}
	udev = use_udev ? sym_udev_new() : NULL;
	en = udev ? sym_udev_enumerate_new(udev) : NULL;

	if (en && sym_udev_enumerate_add_match_subsystem(en, "block") == 0 &&
	    sym_udev_enumerate_scan_devices(en) == 0) {
		struct udev_list_entry *e;

		sym_udev_list_entry_foreach(e, sym_udev_enumerate_get_list_entry(en))
		{
			struct udev_device *ud =
				sym_udev_device_new_from_syspath(udev, sym_udev_list_entry_get_name(e));
			dev_t devnum = ud ? sym_udev_device_get_devnum(ud) : 0;

			if (ud)
				sym_udev_device_unref(ud);
			if (major(devnum) == 0)
				continue;
			r = add_device(&devs, &n, &cap, devnum, udev, want_props);
			if (r < 0)
				break;
		}
	} else {
		r = enum_sysfs(&devs, &n, &cap);
	}
	if (en)
		sym_udev_enumerate_unref(en);
	if (udev)
		sym_udev_unref(udev);
	if (r < 0) {
		img_devices_free(devs, n);
		return r;
	}
	if (n > 1) /* none at all: devs may be NULL, which qsort() must not get */
		qsort(devs, n, sizeof(*devs), cmp_dev);
	*ret = devs;
	*ret_n = n;
	return 0;
}

void img_devices_free(struct img_device *devs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(devs[i].props);
	free(devs);
}
