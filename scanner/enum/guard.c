/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device guard as data (guard.h): one table of rules, tried in order,
 * the first that matches deciding.  docs/udev.md, "How udev runs imgscan"
 * and "Device-mapper and LVM flags", says where each fact comes from and
 * why each rule is there; docs/security.md, rule 6, why a device is judged
 * before it is opened.
 *
 * A condition matches the way udev matches a key (udev(7), "Operators" and
 * "String substitutions"; systemd src/udev/udev-rules.c): the pattern is a
 * list of fnmatch(3) globs joined by '|', "?*" is "set and not empty", and an
 * absent property is the empty string.  So the rule file carries the very
 * same conditions, and tests/e2e/rules-verify.sh prints them from this table
 * (img_guard_udev_line) and compares them with the file.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "enum/guard.h"

/* the udev key of each fact; the property name is what follows "ENV{" */
static const char *const fact_key[IMG_GUARD_N_FACTS] = {
	[IMG_GUARD_ACTION] = "ACTION",
	[IMG_GUARD_SUBSYSTEM] = "SUBSYSTEM",
	[IMG_GUARD_KERNEL] = "KERNEL",
	[IMG_GUARD_SIZE] = "ATTR{size}",
	[IMG_GUARD_TYPE] = NULL,         /* lsblk's type, from sysfs */
	[IMG_GUARD_LOOP_BACKING] = NULL, /* sysfs loop/backing_file */
	[IMG_GUARD_UDEV_DB] = NULL,      /* how the database entry was read */
	[IMG_GUARD_IMGSCAN_DISABLE] = "ENV{IMGSCAN_DISABLE}",
	[IMG_GUARD_DM_UDEV_RULES_VSN] = "ENV{DM_UDEV_RULES_VSN}",
	[IMG_GUARD_DM_UDEV_DISABLE_OTHER_RULES_FLAG] = "ENV{DM_UDEV_DISABLE_OTHER_RULES_FLAG}",
	[IMG_GUARD_DM_SUSPENDED] = "ENV{DM_SUSPENDED}",
	[IMG_GUARD_DM_UUID] = "ENV{DM_UUID}",
	[IMG_GUARD_DM_LV_LAYER] = "ENV{DM_LV_LAYER}",
	[IMG_GUARD_ID_FS_TYPE] = "ENV{ID_FS_TYPE}",
	[IMG_GUARD_ID_PART_TABLE_TYPE] = "ENV{ID_PART_TABLE_TYPE}",
};

#define C(f, o, p) { .fact = IMG_GUARD_##f, .op = IMG_GUARD_##o, .pattern = (p) }

/*
 * The order is the rule file's, and the order in which -v names a reason
 * when several apply (the most important first).  A rule that is not in the
 * rule file says why next to it.
 */
const struct img_guard_rule img_guard_rules[] = {
	{
		.name = "remove",
		.verdict = IMG_GUARD_SKIP,
		.cond = { C(ACTION, EQ, "remove") },
		.n_cond = 1,
		.in_udev_rule = true,
		.message = "device removed",
	},
	{
		.name = "not-block",
		.verdict = IMG_GUARD_SKIP,
		.cond = { C(SUBSYSTEM, NE, "block") },
		.n_cond = 1,
		.in_udev_rule = true,
		.message = "not a block device",
	},
	{
		/* an administrator's opt-out: ENV{IMGSCAN_DISABLE}="1" in an earlier rule */
		.name = "opt-out",
		.verdict = IMG_GUARD_SKIP,
		.cond = { C(IMGSCAN_DISABLE, EQ, "1") },
		.n_cond = 1,
		.in_udev_rule = true,
		.message = "IMGSCAN_DISABLE=1 (an earlier udev rule opted the device out)",
	},
	{
		/* without the dm rules the state of a dm device (suspended, not wiped) is unknown */
		.name = "dm-no-rules",
		.verdict = IMG_GUARD_SKIP,
		.cond = { C(KERNEL, EQ, "dm-*"), C(DM_UDEV_RULES_VSN, NE, "?*") },
		.n_cond = 2,
		.in_udev_rule = true,
		.message = "device-mapper device without the dm udev rules (its state is unknown)",
	},
	{
		/* LVM's dm uuid with a suffix: -real, -cow, -pool, -tpool, -tdata ... */
		.name = "lvm-layer-uuid",
		.verdict = IMG_GUARD_NEVER_OPEN,
		.cond = { C(DM_UUID, EQ, "LVM-*-*") },
		.n_cond = 1,
		.in_udev_rule = true,
		.message = "LVM internal layer (dm uuid has a layer suffix)",
	},
	{
		.name = "lvm-layer",
		.verdict = IMG_GUARD_NEVER_OPEN,
		.cond = { C(DM_LV_LAYER, EQ, "?*") },
		.n_cond = 1,
		.in_udev_rule = true,
		.message = "LVM internal layer",
	},
	{
		/*
		 * Not in the rule file: the dm rules set the flag below for a
		 * suspended device, and lvm2 2.03.24 made DM_SUSPENDED internal.
		 * Without a database, sysfs dm/suspended is the only flag.
		 */
		.name = "dm-suspended",
		.verdict = IMG_GUARD_NEVER_OPEN,
		.cond = { C(DM_SUSPENDED, EQ, "1") },
		.n_cond = 1,
		.in_udev_rule = false,
		.message = "device-mapper device is suspended",
	},
	{
		.name = "dm-flag",
		.verdict = IMG_GUARD_IMPORT_DB,
		.cond = { C(DM_UDEV_DISABLE_OTHER_RULES_FLAG, EQ, "1") },
		.n_cond = 1,
		.in_udev_rule = true,
		.message = "the device-mapper rules say not to open it "
		           "(DM_UDEV_DISABLE_OTHER_RULES_FLAG=1: suspended, not ready or private)",
	},
	{
		/* not in the rule file: udev itself always has the database */
		.name = "dm-flags-unknown",
		.verdict = IMG_GUARD_NEVER_OPEN,
		.cond = { C(KERNEL, EQ, "dm-*"), C(UDEV_DB, EQ, "unreadable") },
		.n_cond = 2,
		.in_udev_rule = false,
		.message = "its udev database entry needs libudev, which could not be loaded "
		           "(the device-mapper flags there are unknown)",
	},
	{
		/* not in the rule file: such a device has size 0, the rule below */
		.name = "loop-no-backing",
		.verdict = IMG_GUARD_NEVER_OPEN,
		.cond = { C(TYPE, EQ, "loop"), C(LOOP_BACKING, NE, "?*") },
		.n_cond = 2,
		.in_udev_rule = false,
		.message = "loop device without a backing file",
	},
	{
		/* not in the rule file: the rule below, with the reason a CD-ROM user knows */
		.name = "no-medium",
		.verdict = IMG_GUARD_NEVER_OPEN,
		.cond = { C(TYPE, EQ, "rom"), C(SIZE, EQ, "0") },
		.n_cond = 2,
		.in_udev_rule = false,
		.message = "no medium",
	},
	{
		.name = "empty",
		.verdict = IMG_GUARD_NEVER_OPEN,
		.cond = { C(SIZE, EQ, "0") },
		.n_cond = 1,
		.in_udev_rule = true,
		.message = "empty device",
	},
	{
		/*
		 * blkid found a filesystem at the start: no image header can be
		 * there.  LUKS1 is qemu's "luks" image format; iso9660 and udf
		 * leave their first 32 KiB to anyone (a polyglot).
		 */
		.name = "blkid-filesystem",
		.verdict = IMG_GUARD_SKIP,
		.cond = { C(ID_FS_TYPE, EQ, "?*"), C(ID_FS_TYPE, NE, "crypto_LUKS|iso9660|udf") },
		.n_cond = 2,
		.in_udev_rule = true,
		.message = "blkid found a filesystem",
	},
	{
		/* a hybrid ISO has a partition table too, and is probed */
		.name = "blkid-partition-table",
		.verdict = IMG_GUARD_SKIP,
		.cond = { C(ID_PART_TABLE_TYPE, EQ, "?*"), C(ID_FS_TYPE, NE, "iso9660|udf") },
		.n_cond = 2,
		.in_udev_rule = true,
		.message = "blkid found a partition table",
	},
};

const size_t img_guard_n_rules = sizeof(img_guard_rules) / sizeof(img_guard_rules[0]);

void img_guard_facts_init(struct img_guard_facts *f)
{
	memset(f, 0, sizeof(*f));
}

void img_guard_set_size(struct img_guard_facts *f, uint64_t sectors)
{
	snprintf(f->size_buf, sizeof(f->size_buf), "%" PRIu64, sectors);
	f->v[IMG_GUARD_SIZE] = f->size_buf;
}

void img_guard_facts_from_props(struct img_guard_facts *f, img_guard_lookup_fn lookup, void *ctx)
{
	for (unsigned i = 0; i < IMG_GUARD_N_FACTS; i++) {
		const char *key = fact_key[i], *name, *v;
		char buf[64];
		size_t n;

		if (!key || strcmp(key, "KERNEL") == 0 || strncmp(key, "ATTR{", 5) == 0)
			continue; /* not a property */
		name = key;
		if (strncmp(key, "ENV{", 4) == 0) {
			n = strlen(key + 4) - 1; /* without the closing brace */
			if (n >= sizeof(buf))
				continue;
			memcpy(buf, key + 4, n);
			buf[n] = '\0';
			name = buf;
		}
		v = lookup(ctx, name);
		f->v[i] = v ? v : "";
	}
}

const char *img_guard_fact_key(enum img_guard_fact fact)
{
	return (unsigned)fact < IMG_GUARD_N_FACTS ? fact_key[fact] : NULL;
}

bool img_guard_match(const char *pattern, const char *value)
{
	const char *p = pattern;

	for (;;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		char alt[128];

		/* the patterns are the table's constants: an alternative never exceeds alt */
		if (n < sizeof(alt)) {
			memcpy(alt, p, n);
			alt[n] = '\0';
			if (fnmatch(alt, value, 0) == 0)
				return true;
		}
		if (!bar)
			return false;
		p = bar + 1;
	}
}

static bool applies(const struct img_guard_rule *r, const struct img_guard_facts *f)
{
	for (unsigned i = 0; i < r->n_cond; i++) {
		const struct img_guard_cond *c = &r->cond[i];
		const char *v = (unsigned)c->fact < IMG_GUARD_N_FACTS ? f->v[c->fact] : NULL;

		if (!v)
			return false; /* a fact this source does not know */
		if (img_guard_match(c->pattern, v) != (c->op == IMG_GUARD_EQ))
			return false;
	}
	return r->n_cond > 0;
}

const struct img_guard_rule *img_guard_eval(const struct img_guard_facts *f,
                                            enum img_guard_context ctx)
{
	for (size_t i = 0; i < img_guard_n_rules; i++) {
		const struct img_guard_rule *r = &img_guard_rules[i];

		if (ctx == IMG_GUARD_FOR_OPEN && r->verdict == IMG_GUARD_SKIP)
			continue;
		if (applies(r, f))
			return r;
	}
	return NULL;
}

int img_guard_udev_line(const struct img_guard_rule *r, char *buf, size_t len)
{
	size_t used = 0;
	int n;

	if (!r->in_udev_rule || len == 0)
		return -1;
	buf[0] = '\0';
	for (unsigned i = 0; i < r->n_cond; i++) {
		const struct img_guard_cond *c = &r->cond[i];
		const char *key = img_guard_fact_key(c->fact);

		if (!key)
			return -1;
		n = snprintf(buf + used, len - used, "%s%s\"%s\", ", key,
		             c->op == IMG_GUARD_EQ ? "==" : "!=", c->pattern);
		if (n < 0 || (size_t)n >= len - used)
			return -1;
		used += (size_t)n;
	}
	n = snprintf(buf + used, len - used, "GOTO=\"%s\"",
	             r->verdict == IMG_GUARD_IMPORT_DB ? "imgscan_import_db" : "imgscan_end");
	if (n < 0 || (size_t)n >= len - used)
		return -1;
	return (int)(used + (size_t)n);
}
