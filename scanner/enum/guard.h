/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device guard: which block devices imgscan may open, written once, as
 * a table of rules (guard.c), and evaluated by one function over a small
 * set of facts.  The facts come from wherever the caller stands:
 *
 *   - the udev database and sysfs (the enumeration, PATH operands: enum-udev.c);
 *   - the environment udev runs `imgscan --udev` with (main.c);
 *   - the properties of a udev event (--monitor: monitor.c).
 *
 * The udev rule udev/65-imgscan.rules carries the same rules in udev syntax;
 * tests/e2e/rules-verify.sh compares it line by line with this table
 * (docs/udev.md, "How udev runs imgscan"; docs/security.md, rule 6).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* what a rule looks at; a fact a source does not know is NULL (no rule on it applies) */
enum img_guard_fact {
	IMG_GUARD_ACTION,       /* the uevent's action: add, change, remove */
	IMG_GUARD_SUBSYSTEM,    /* block for a block device */
	IMG_GUARD_KERNEL,       /* the kernel name: dm-3, loop0, sda1 */
	IMG_GUARD_SIZE,         /* sysfs size, 512-byte sectors, decimal */
	IMG_GUARD_TYPE,         /* lsblk's type: disk, part, loop, rom, lvm, crypt, dm ... */
	IMG_GUARD_LOOP_BACKING, /* "1" when loop/backing_file exists, "" when not */
	IMG_GUARD_UDEV_DB,      /* "unreadable": the entry needed libudev, which did not load */
	/* udev properties (the event's environment, the database, or sysfs for the DM_ ones) */
	IMG_GUARD_IMGSCAN_DISABLE,
	IMG_GUARD_DM_UDEV_RULES_VSN,
	IMG_GUARD_DM_UDEV_DISABLE_OTHER_RULES_FLAG,
	IMG_GUARD_DM_SUSPENDED, /* the property, or sysfs dm/suspended */
	IMG_GUARD_DM_UUID,      /* the property, or sysfs dm/uuid */
	IMG_GUARD_DM_LV_LAYER,  /* the property, or split from sysfs dm/name */
	IMG_GUARD_ID_FS_TYPE,
	IMG_GUARD_ID_PART_TABLE_TYPE,
	IMG_GUARD_N_FACTS
};

/* what a matching rule means */
enum img_guard_verdict {
	/* never opened by anyone: the enumeration, a PATH operand, --udev, --monitor, the rule */
	IMG_GUARD_NEVER_OPEN,
	/* never opened; the udev rule keeps the values of the previous event (IMPORT{db}) */
	IMG_GUARD_IMPORT_DB,
	/* not probed for a udev event (the rule, --monitor); an explicit scan reads it */
	IMG_GUARD_SKIP,
};

/* who asks */
enum img_guard_context {
	/* a udev event: the rule, --monitor (every verdict) */
	IMG_GUARD_FOR_EVENT,
	/* about to open(): the enumeration, a PATH operand, --udev (NEVER_OPEN, IMPORT_DB) */
	IMG_GUARD_FOR_OPEN,
};

enum img_guard_op {
	IMG_GUARD_EQ, /* udev's == : the value matches one of the |-separated globs */
	IMG_GUARD_NE, /* udev's != */
};

#define IMG_GUARD_MAX_CONDS 3

struct img_guard_cond {
	enum img_guard_fact fact;
	enum img_guard_op op;
	const char *pattern; /* udev's glob syntax (fnmatch(3) alternatives joined by |) */
};

struct img_guard_rule {
	const char *name;    /* short identifier: lvm-layer-uuid, dm-flag ... */
	enum img_guard_verdict verdict;
	/* every condition must hold (udev: the match keys of one rule line) */
	struct img_guard_cond cond[IMG_GUARD_MAX_CONDS];
	unsigned n_cond;
	/* true: udev/65-imgscan.rules has this rule as one line (and every fact has a udev key) */
	bool in_udev_rule;
	const char *message; /* why the device is not opened: -v, --monitor's "skipped" */
};

/* the rules, in the order they are tried (the rule file's order too) */
extern const struct img_guard_rule img_guard_rules[];
extern const size_t img_guard_n_rules;

struct img_guard_facts {
	const char *v[IMG_GUARD_N_FACTS];
	char size_buf[24]; /* storage for v[IMG_GUARD_SIZE] set by img_guard_set_size */
};

/* every fact unknown */
void img_guard_facts_init(struct img_guard_facts *f);

/* v[IMG_GUARD_SIZE] = sectors, in decimal */
void img_guard_set_size(struct img_guard_facts *f, uint64_t sectors);

/*
 * Every fact that is a udev property (ACTION, SUBSYSTEM, ENV{...}) from
 * lookup(ctx, name); a property lookup does not find is known to be absent
 * (""), as udev matches it.  The other facts are left as they are.
 */
typedef const char *(*img_guard_lookup_fn)(void *ctx, const char *name);
void img_guard_facts_from_props(struct img_guard_facts *f, img_guard_lookup_fn lookup, void *ctx);

/* The first rule that applies to f in context ctx, or NULL when the device may be opened. */
const struct img_guard_rule *img_guard_eval(const struct img_guard_facts *f,
                                            enum img_guard_context ctx);

/* Whether value matches pattern as udev matches a value (|-separated fnmatch(3) globs). */
bool img_guard_match(const char *pattern, const char *value);

/*
 * The udev key of a fact (ACTION, KERNEL, ATTR{size}, ENV{DM_UUID}), or NULL
 * for a fact only sysfs or the database gives (IMG_GUARD_TYPE ...).
 */
const char *img_guard_fact_key(enum img_guard_fact fact);

/*
 * The rule as its line of udev/65-imgscan.rules:
 *   ENV{DM_LV_LAYER}=="?*", GOTO="imgscan_end"
 * (GOTO="imgscan_import_db" for IMG_GUARD_IMPORT_DB).  Returns the length,
 * or -1 when the rule is not in the udev rule or buf is too small.
 */
int img_guard_udev_line(const struct img_guard_rule *r, char *buf, size_t len);
