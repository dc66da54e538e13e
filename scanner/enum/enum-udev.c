/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Block devices and LVs: sysfs and the udev database, read before any device
 * is opened (docs/security.md, rule 6; docs/udev.md, "Device-mapper and LVM
 * flags" and "Enumerating block devices").
 *
 * Whether a device may be opened is the guard table's answer (guard.c) for
 * the facts read here: an LVM internal layer (dm uuid
 * "LVM-<vg uuid><lv uuid>-<suffix>": -real, -cow, -pool, -tpool, -tdata ...),
 * a suspended device-mapper device, a device the dm rules flag with
 * DM_UDEV_DISABLE_OTHER_RULES_FLAG=1, or size 0 (a CD-ROM without media,
 * a loop device without a backing file, a dm device without a table) is not.
 * Each device costs a few small reads at most (docs/udev.md, "Enumerating block
 * devices"): its uevent file (MAJOR, MINOR, DEVNAME, DEVTYPE), size, dm/name,
 * dm/uuid and dm/suspended for a dm device, and its udev database entry, read
 * directly into a buffer on the stack (a heap buffer for an entry too large
 * for it).  libudev is the fallback
 * for an entry this reader cannot take (docs/udev.md, "Reading the udev
 * database"); it is loaded with dlopen (dl/dl.h) only then, and used from one
 * thread only.
 */
#include <ctype.h>
#include <limits.h>
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

#include "dl/dl-udev.h"
#include "enum/device.h"
#include "enum/guard.h"

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

/* a database entry is read into this much stack, or into a heap buffer when it fills it */
#define DB_STACK_SIZE (16 * 1024)
/* the udev database entries larger than this are read through libudev */
#define DB_BUF_SIZE (128 * 1024)
/* a sysfs attribute is at most one page */
#define UEVENT_BUF_SIZE 4096
/* the database format this reader knows (systemd's LATEST_UDEV_DATABASE_VERSION) */
#define DB_VERSION_KNOWN 1

/* the properties one device's uevent file and database entry hold, as they are parsed */
struct fill_ctx {
	struct img_device *d;
	bool use_udev;   /* DM_* and ID_IMAGE_* count (the database, or umockdev's uevent) */
	bool want_props; /* keep ID_IMAGE_* (--cached) */
	bool from_db;    /* parsing the database entry: the kernel's keys are not taken from it */
	bool have_devtype;
	bool partition;
	bool have_major, have_minor;
	unsigned major, minor;
	unsigned n;
	struct {
		const char *k, *v;
		size_t kl, vl;
	} p[IMG_DEV_PROPS_MAX];
};

static bool key_is(const char *k, size_t kl, const char *lit)
{
	return strlen(lit) == kl && memcmp(k, lit, kl) == 0;
}

static void copyn(char *dst, size_t len, const char *src, size_t n)
{
	if (n > len - 1)
		n = len - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* a decimal number of at most 9 digits (device numbers are 12 and 20 bits) */
static bool parse_uint(const char *v, size_t vl, unsigned *out)
{
	unsigned x = 0;

	if (vl == 0 || vl > 9)
		return false;
	for (size_t i = 0; i < vl; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (unsigned)(v[i] - '0');
	}
	*out = x;
	return true;
}

static void on_prop(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
	struct fill_ctx *c = ctx;
	struct img_device *d = c->d;

	if (c->from_db && (key_is(k, kl, "DEVNAME") || key_is(k, kl, "DEVTYPE") ||
	                   key_is(k, kl, "MAJOR") || key_is(k, kl, "MINOR"))) {
		return; /* libudev takes them from the uevent file only, and so does this reader */
	} else if (key_is(k, kl, "DEVNAME")) {
		/* the kernel gives it relative to /dev, libudev absolute */
		if (vl > 5 && memcmp(v, "/dev/", 5) == 0) {
			copyn(d->node, sizeof(d->node), v, vl);
		} else if (vl > 0) {
			memcpy(d->node, "/dev/", 5);
			copyn(d->node + 5, sizeof(d->node) - 5, v, vl);
		}
	} else if (key_is(k, kl, "DEVTYPE")) {
		c->have_devtype = true;
		c->partition = key_is(v, vl, "partition");
	} else if (key_is(k, kl, "MAJOR")) {
		c->have_major = parse_uint(v, vl, &c->major);
	} else if (key_is(k, kl, "MINOR")) {
		c->have_minor = parse_uint(v, vl, &c->minor);
	} else if (!c->use_udev) {
		return;
	} else if (key_is(k, kl, "DM_UDEV_DISABLE_OTHER_RULES_FLAG")) {
		d->disable_other_rules = key_is(v, vl, "1");
	} else if (key_is(k, kl, "DM_UDEV_LOW_PRIORITY_FLAG")) {
		d->low_priority = key_is(v, vl, "1");
	} else if (key_is(k, kl, "DM_VG_NAME")) {
		if (vl)
			copyn(d->vg, sizeof(d->vg), v, vl);
	} else if (key_is(k, kl, "DM_LV_NAME")) {
		if (vl)
			copyn(d->lv, sizeof(d->lv), v, vl);
	} else if (key_is(k, kl, "DM_LV_LAYER")) {
		if (vl)
			copyn(d->layer, sizeof(d->layer), v, vl);
	} else if (c->want_props && kl > 9 && memcmp(k, "ID_IMAGE_", 9) == 0) {
		unsigned i;

		/* a later source (the database after the uevent file) replaces a value */
		for (i = 0; i < c->n; i++)
			if (c->p[i].kl == kl && memcmp(c->p[i].k, k, kl) == 0)
				break;
		if (i == IMG_DEV_PROPS_MAX)
			return;
		c->p[i].k = k;
		c->p[i].kl = kl < IMG_DEV_PROP_KEY_MAX ? kl : IMG_DEV_PROP_KEY_MAX;
		c->p[i].v = v;
		c->p[i].vl = vl < IMG_DEV_PROP_VALUE_MAX ? vl : IMG_DEV_PROP_VALUE_MAX;
		if (i == c->n)
			c->n++;
	}
}

void img_udev_db_parse(const char *buf, size_t len, bool db, unsigned *version, img_udev_prop_fn fn,
                       void *ctx)
{
	size_t pos = 0;

	if (version)
		*version = 0;
	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		const char *eq;
		size_t ll;

		if (!nl)
			break; /* cut short: the last line is not taken */
		ll = (size_t)(nl - line);
		pos += ll + 1;
		if (db) {
			if (ll >= 2 && line[0] == 'V' && line[1] == ':' && version) {
				unsigned v;

				/* an unreadable number is an unknown version */
				*version = parse_uint(line + 2, ll - 2, &v) ? v : UINT_MAX;
				continue;
			}
			if (ll < 2 || line[0] != 'E' || line[1] != ':')
				continue;
			line += 2;
			ll -= 2;
		}
		eq = memchr(line, '=', ll);
		if (!eq || eq == line)
			continue;
		fn(ctx, line, (size_t)(eq - line), eq + 1, ll - (size_t)(eq - line) - 1);
	}
}

/* read dir/rel/attr (dfd the directory) into buf, NUL-terminated; bytes read or -1 */
static ssize_t read_at(int dfd, const char *rel, const char *attr, char *buf, size_t len)
{
	char path[320];
	ssize_t n, got = 0;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", rel, attr) >= sizeof(path))
		return -1;
	fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	/* sysfs gives an attribute in one read; a database file may take more */
	while ((size_t)got < len - 1 && (n = read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

/* a one-line attribute without its newline */
static bool attr_at(int dfd, const char *rel, const char *attr, char *buf, size_t len)
{
	ssize_t n = read_at(dfd, rel, attr, buf, len);

	if (n < 0)
		return false;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return true;
}

static bool exists_at(int dfd, const char *rel, const char *attr)
{
	char path[320];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", rel, attr) >= sizeof(path))
		return false;
	return faccessat(dfd, path, F_OK, 0) == 0;
}

static void set_type(struct img_device *d, int dfd, const char *rel, bool is_dm, bool partition)
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
	} else if (is_dm) {
		copy(d->type, sizeof(d->type), "dm");
	} else if (strncmp(d->name, "loop", 4) == 0) {
		copy(d->type, sizeof(d->type), "loop");
	} else if (partition) {
		copy(d->type, sizeof(d->type), "part");
	} else if (attr_at(dfd, rel, "device/type", buf, sizeof(buf)) && strcmp(buf, "5") == 0) {
		copy(d->type, sizeof(d->type), "rom");
	} else {
		copy(d->type, sizeof(d->type), "disk");
	}
}

static int cmp_prop(const void *a, const void *b)
{
	const struct img_device_prop *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* the collected ID_IMAGE_* properties into one allocation, sorted by key as libudev lists them */
static void keep_props(struct fill_ctx *c)
{
	struct img_device *d = c->d;
	size_t size = c->n * sizeof(*d->props);
	char *s;

	free(d->props);
	d->props = NULL;
	d->n_props = 0;
	if (c->n == 0)
		return;
	for (unsigned i = 0; i < c->n; i++)
		size += c->p[i].kl + c->p[i].vl + 2;
	d->props = malloc(size);
	if (!d->props)
		return;
	s = (char *)(d->props + c->n);
	for (unsigned i = 0; i < c->n; i++) {
		d->props[i].key = s;
		memcpy(s, c->p[i].k, c->p[i].kl);
		s += c->p[i].kl;
		*s++ = '\0';
		d->props[i].value = s;
		memcpy(s, c->p[i].v, c->p[i].vl);
		s += c->p[i].vl;
		*s++ = '\0';
	}
	d->n_props = c->n;
	if (c->n > 1)
		qsort(d->props, c->n, sizeof(*d->props), cmp_prop);
}

/*
 * The fallback: libudev's view of the device (its uevent file and database
 * entry merged), through the same handler.  *udev is created on first use
 * and kept for the caller to release.  False when libudev cannot be loaded.
 */
static bool read_libudev(struct fill_ctx *c, struct udev **udev)
{
	struct udev_device *ud;
	struct udev_list_entry *e;

	if (!*udev) {
		if (dlopen_udev("reading the udev database") < 0)
			return false;
		*udev = sym_udev_new();
		if (!*udev)
			return false;
	}
	ud = sym_udev_device_new_from_devnum(*udev, 'b', c->d->devnum);
	if (!ud)
		return true; /* gone, or no database entry: the sysfs facts stand */
	c->n = 0;
	sym_udev_list_entry_foreach(e, sym_udev_device_get_properties_list_entry(ud))
	{
		const char *k = sym_udev_list_entry_get_name(e);
		const char *v = sym_udev_list_entry_get_value(e);

		if (k && v)
			on_prop(c, k, strlen(k), v, strlen(v));
	}
	if (c->want_props)
		keep_props(c); /* before the strings go with the device */
	sym_udev_device_unref(ud);
	return true;
}

static bool force_libudev(void)
{
	const char *v = getenv("IMGSCAN_UDEV_DB");

	return v && strcmp(v, "libudev") == 0;
}

/* what one enumeration or lookup shares: libudev, when it is needed */
struct fill_env {
	bool use_udev, want_props, force_libudev;
	struct udev *udev;
};

/*
 * Why d must not be opened (the guard table, guard.c), or NULL: its facts
 * from sysfs and, when use_udev, the database entry just read.
 */
static const char *guard_reason(const struct img_device *d, int dfd, const char *rel,
                                bool use_udev, bool db_ok)
{
	struct img_guard_facts f;
	const struct img_guard_rule *r;

	img_guard_facts_init(&f);
	f.v[IMG_GUARD_KERNEL] = d->name;
	f.v[IMG_GUARD_TYPE] = d->type;
	img_guard_set_size(&f, d->size / 512);
	/* one faccessat, for a loop device only */
	if (strcmp(d->type, "loop") == 0)
		f.v[IMG_GUARD_LOOP_BACKING] = exists_at(dfd, rel, "loop/backing_file") ? "1" : "";
	f.v[IMG_GUARD_UDEV_DB] = db_ok ? "" : "unreadable";
	/* sysfs: dm/uuid, dm/suspended; the layer from the database or split from dm/name */
	f.v[IMG_GUARD_DM_UUID] = d->dm_uuid;
	f.v[IMG_GUARD_DM_SUSPENDED] = d->dm_suspended ? "1" : "";
	f.v[IMG_GUARD_DM_LV_LAYER] = d->layer;
	if (use_udev)
		f.v[IMG_GUARD_DM_UDEV_DISABLE_OTHER_RULES_FLAG] = d->disable_other_rules ? "1" : "";
	r = img_guard_eval(&f, IMG_GUARD_FOR_OPEN);
	return r ? r->message : NULL;
}

/*
 * Fill d for the device directory rel under dfd (/sys/class/block/NAME or
 * /sys/dev/block/MAJ:MIN).  devnum is 0 when the uevent file gives it.
 * Returns 0, or a negative errno when the device is gone or is no device.
 */
static int device_fill(int dfd, const char *rel, dev_t devnum, struct fill_env *env,
                       struct img_device *d)
{
	char uevent[UEVENT_BUF_SIZE], buf[64];
	struct fill_ctx c = { .d = d, .use_udev = env->use_udev, .want_props = env->want_props };
	bool is_dm, db_ok = true;
	ssize_t n;

	memset(d, 0, sizeof(*d));
	if (devnum) {
		char link[512];

		n = readlinkat(dfd, rel, link, sizeof(link) - 1);
		if (n < 0)
			return -errno;
		link[n] = '\0';
		copy(d->name, sizeof(d->name), strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
	} else {
		copy(d->name, sizeof(d->name), rel);
	}
	memcpy(d->node, "/dev/", 5);
	copy(d->node + 5, sizeof(d->node) - 5, d->name);

	/* the kernel's keys (and, on a umockdev bed, the udev properties too) */
	n = read_at(dfd, rel, "uevent", uevent, sizeof(uevent));
	if (n < 0 && !devnum)
		return -ENOENT;
	if (n > 0)
		img_udev_db_parse(uevent, (size_t)n, false, NULL, on_prop, &c);
	if (!devnum) {
		if (!c.have_major || !c.have_minor)
			return -ENODEV;
		devnum = makedev(c.major, c.minor);
	}
	d->devnum = devnum;
	if (major(devnum) == 0)
		return -ENODEV;
	if (attr_at(dfd, rel, "size", buf, sizeof(buf)))
		d->size = strtoull(buf, NULL, 10) * 512;

	is_dm = exists_at(dfd, rel, "dm");
	if (is_dm) {
		attr_at(dfd, rel, "dm/name", d->dm_name, sizeof(d->dm_name));
		attr_at(dfd, rel, "dm/uuid", d->dm_uuid, sizeof(d->dm_uuid));
		if (attr_at(dfd, rel, "dm/suspended", buf, sizeof(buf)))
			d->dm_suspended = strcmp(buf, "1") == 0;
	}
	set_type(d, dfd, rel, is_dm, c.have_devtype ? c.partition : exists_at(dfd, rel, "partition"));

	if (env->use_udev) {
		char path[64], small[DB_STACK_SIZE], *db = small, *big = NULL;
		size_t cap = sizeof(small);
		unsigned version = 0;
		bool fallback = env->force_libudev;

		snprintf(path, sizeof(path), "b%u:%u", major(devnum), minor(devnum));
		if (!fallback) {
			n = read_at(AT_FDCWD, "/run/udev/data", path, db, cap);
			/* a large entry (a rule storing long values): read it again, whole */
			if (n >= (ssize_t)cap - 1 && (big = malloc(DB_BUF_SIZE))) {
				db = big;
				cap = DB_BUF_SIZE;
				n = read_at(AT_FDCWD, "/run/udev/data", path, db, cap);
			}
			if (n >= (ssize_t)cap - 1) {
				fallback = true; /* more than the buffer: libudev reads it whole */
			} else if (n > 0) {
				c.from_db = true;
				img_udev_db_parse(db, (size_t)n, true, &version, on_prop, &c);
				c.from_db = false;
				fallback = version > DB_VERSION_KNOWN;
			}
		}
		if (fallback)
			db_ok = read_libudev(&c, &env->udev);
		else if (env->want_props)
			keep_props(&c); /* copies the values out of db */
		free(big);
	}

	if (strncmp(d->dm_uuid, "LVM-", 4) == 0 && (!d->vg[0] || !d->lv[0]))
		img_dm_split_name(d->dm_name, d->vg, sizeof(d->vg), d->lv, sizeof(d->lv), d->layer,
		                  sizeof(d->layer));

	d->skip = guard_reason(d, dfd, rel, env->use_udev, db_ok);
	return 0;
}

static void env_init(struct fill_env *env, bool use_udev, bool want_props)
{
	memset(env, 0, sizeof(*env));
	env->use_udev = use_udev;
	env->want_props = want_props;
	env->force_libudev = use_udev && force_libudev();
}

static void env_done(struct fill_env *env)
{
	if (env->udev)
		sym_udev_unref(env->udev);
}

int img_device_from_devnum(dev_t devnum, bool use_udev, struct img_device *dev)
{
	struct fill_env env;
	char rel[32];
	int dfd, r;

	env_init(&env, use_udev, false);
	snprintf(rel, sizeof(rel), "%u:%u", major(devnum), minor(devnum));
	dfd = open("/sys/dev/block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
	} else {
		r = device_fill(dfd, rel, devnum, &env, dev);
		close(dfd);
	}
	env_done(&env);
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
	struct fill_env env;
	struct dirent *de;
	DIR *dir;
	int r = 0;

	env_init(&env, use_udev, want_props);
	dir = opendir("/sys/class/block");
	if (!dir) {
		r = -errno;
		env_done(&env);
		return r;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct img_device *p = realloc(devs, nc * sizeof(*devs));

			if (!p) {
				r = -ENOMEM;
				break;
			}
			devs = p;
			cap = nc;
		}
		if (device_fill(dirfd(dir), de->d_name, 0, &env, &devs[n]) == 0)
			n++;
		else
			free(devs[n].props);
	}
	closedir(dir);
	env_done(&env);
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
