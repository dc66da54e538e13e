/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guard table (scanner/enum/guard.c): every rule, from the facts each
 * source gives (a udev event, the environment of --udev, sysfs and the
 * database), in both contexts (a udev event; about to open()), the cases
 * where no rule applies, the order in which the first match wins, udev's
 * way of matching a value, and each rule's line of the udev rule.
 *
 * One table of cases: every rule of the guard table must be the answer of
 * at least one of them (test_every_rule_covered), so a rule added without
 * a case fails here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "enum/guard.h"

#define MAX_SET 8

struct fact_set {
	enum img_guard_fact fact;
	const char *value;
};

struct gcase {
	const char *what;
	enum img_guard_context ctx;
	struct fact_set set[MAX_SET];
	const char *want; /* the rule's name, or NULL: may be opened / probed */
};

#define EV IMG_GUARD_FOR_EVENT
#define OPEN IMG_GUARD_FOR_OPEN
#define F(f, v) { IMG_GUARD_##f, (v) }
/* the properties of an add event of a block device with nothing special */
#define BLOCK_ADD F(ACTION, "add"), F(SUBSYSTEM, "block")

static const struct gcase cases[] = {
	/* ---- each rule, as a udev event sees it ---- */
	{ "remove event", EV, { F(ACTION, "remove"), F(SUBSYSTEM, "block"), F(SIZE, "0") }, "remove" },
	{ "not a block device", EV, { F(ACTION, "add"), F(SUBSYSTEM, "net") }, "not-block" },
	{ "subsystem absent", EV, { F(ACTION, "add"), F(SUBSYSTEM, "") }, "not-block" },
	{ "opt-out", EV, { BLOCK_ADD, F(IMGSCAN_DISABLE, "1") }, "opt-out" },
	{ "dm without the dm rules", EV, { BLOCK_ADD, F(KERNEL, "dm-3"), F(DM_UDEV_RULES_VSN, "") },
	  "dm-no-rules" },
	{ "LVM uuid with a suffix", EV,
	  { BLOCK_ADD, F(KERNEL, "dm-4"), F(DM_UDEV_RULES_VSN, "2"),
	    F(DM_UUID, "LVM-Vg0Vg0aaaaBBBBccccDDDDeeeeFFFF01Lv00LvmmmmNNNNooooPPPPqqqqRRRRss-tpool") },
	  "lvm-layer-uuid" },
	{ "LVM layer property", EV, { BLOCK_ADD, F(DM_UDEV_RULES_VSN, "2"), F(DM_LV_LAYER, "real") },
	  "lvm-layer" },
	{ "DM_SUSPENDED=1", EV, { BLOCK_ADD, F(DM_UDEV_RULES_VSN, "2"), F(DM_SUSPENDED, "1") },
	  "dm-suspended" },
	{ "dm flag", EV,
	  { BLOCK_ADD, F(KERNEL, "dm-5"), F(DM_UDEV_RULES_VSN, "2"),
	    F(DM_UDEV_DISABLE_OTHER_RULES_FLAG, "1") },
	  "dm-flag" },
	{ "size 0", EV, { BLOCK_ADD, F(SIZE, "0") }, "empty" },
	{ "ext4", EV, { BLOCK_ADD, F(SIZE, "8"), F(ID_FS_TYPE, "ext4") }, "blkid-filesystem" },
	{ "gpt", EV, { BLOCK_ADD, F(ID_PART_TABLE_TYPE, "gpt"), F(ID_FS_TYPE, "") },
	  "blkid-partition-table" },
	{ "gpt and a filesystem type other than iso9660", EV,
	  { BLOCK_ADD, F(ID_PART_TABLE_TYPE, "dos"), F(ID_FS_TYPE, "crypto_LUKS") },
	  "blkid-partition-table" },

	/* ---- each rule, as sysfs and the database give it (enumeration, PATH) ---- */
	{ "sysfs: LVM uuid suffix", OPEN,
	  { F(KERNEL, "dm-205"), F(TYPE, "lvm"), F(SIZE, "8"), F(DM_UUID, "LVM-ab-tpool") },
	  "lvm-layer-uuid" },
	{ "sysfs: layer split from the dm name", OPEN,
	  { F(KERNEL, "dm-209"), F(TYPE, "lvm"), F(DM_UUID, "LVM-ab"), F(DM_LV_LAYER, "real") },
	  "lvm-layer" },
	{ "sysfs: dm/suspended", OPEN, { F(KERNEL, "dm-212"), F(TYPE, "lvm"), F(DM_SUSPENDED, "1") },
	  "dm-suspended" },
	{ "db: dm flag", OPEN, { F(KERNEL, "dm-213"), F(DM_UDEV_DISABLE_OTHER_RULES_FLAG, "1") },
	  "dm-flag" },
	{ "db unreadable, dm device", OPEN, { F(KERNEL, "dm-7"), F(TYPE, "dm"), F(UDEV_DB, "unreadable") },
	  "dm-flags-unknown" },
	{ "loop device without a backing file", OPEN,
	  { F(KERNEL, "loop250"), F(TYPE, "loop"), F(LOOP_BACKING, ""), F(SIZE, "0") },
	  "loop-no-backing" },
	{ "CD-ROM without a medium", OPEN, { F(KERNEL, "sr0"), F(TYPE, "rom"), F(SIZE, "0") },
	  "no-medium" },
	{ "empty disk", OPEN, { F(KERNEL, "vdz"), F(TYPE, "disk"), F(SIZE, "0") }, "empty" },

	/* ---- the environment of --udev: the dm/LVM properties alone ---- */
	{ "env: dm flag on any device", OPEN, { BLOCK_ADD, F(DM_UDEV_DISABLE_OTHER_RULES_FLAG, "1") },
	  "dm-flag" },
	{ "env: layer", OPEN, { BLOCK_ADD, F(DM_LV_LAYER, "cow") }, "lvm-layer" },

	/* ---- the first rule that matches wins: the table's order ---- */
	{ "order: empty and flagged dm device (no table yet)", OPEN,
	  { F(KERNEL, "dm-215"), F(TYPE, "mpath"), F(SIZE, "0"), F(DM_UDEV_DISABLE_OTHER_RULES_FLAG, "1") },
	  "dm-flag" },
	{ "order: flagged thin pool is a layer first", EV,
	  { BLOCK_ADD, F(DM_UDEV_RULES_VSN, "2"), F(DM_UUID, "LVM-ab-pool"),
	    F(DM_UDEV_DISABLE_OTHER_RULES_FLAG, "1") },
	  "lvm-layer-uuid" },
	{ "order: remove before anything", EV,
	  { F(ACTION, "remove"), F(SUBSYSTEM, "block"), F(IMGSCAN_DISABLE, "1"), F(ID_FS_TYPE, "ext4") },
	  "remove" },
	{ "order: opt-out before the dm rules", EV,
	  { BLOCK_ADD, F(KERNEL, "dm-1"), F(DM_UDEV_RULES_VSN, ""), F(IMGSCAN_DISABLE, "1") },
	  "opt-out" },
	{ "order: loop backing before size", OPEN,
	  { F(TYPE, "loop"), F(LOOP_BACKING, ""), F(SIZE, "0") }, "loop-no-backing" },

	/* ---- a udev event's SKIP rules do not stop an explicit scan ---- */
	{ "open: ext4 is read", OPEN, { BLOCK_ADD, F(SIZE, "8"), F(ID_FS_TYPE, "ext4") }, NULL },
	{ "open: IMGSCAN_DISABLE does not apply", OPEN, { BLOCK_ADD, F(IMGSCAN_DISABLE, "1") }, NULL },
	{ "open: dm without the dm rules is read", OPEN,
	  { F(KERNEL, "dm-3"), F(DM_UDEV_RULES_VSN, ""), F(SIZE, "8") }, NULL },
	{ "open: remove does not apply", OPEN, { F(ACTION, "remove") }, NULL },

	/* ---- none applies ---- */
	{ "nothing known", EV, { F(ACTION, "add") }, NULL },
	{ "plain disk event", EV, { BLOCK_ADD, F(KERNEL, "vdb"), F(SIZE, "262144") }, NULL },
	{ "plain LV", EV,
	  { BLOCK_ADD, F(KERNEL, "dm-200"), F(DM_UDEV_RULES_VSN, "2"),
	    F(DM_UUID, "LVM-Vg0Vg0aaaaBBBBccccDDDDeeeeFFFF01Lv00LvmmmmNNNNooooPPPPqqqqRRRRss"),
	    F(DM_LV_LAYER, ""), F(DM_UDEV_DISABLE_OTHER_RULES_FLAG, "") },
	  NULL },
	{ "dm-crypt uuid", EV,
	  { BLOCK_ADD, F(KERNEL, "dm-214"), F(DM_UDEV_RULES_VSN, "2"), F(DM_UUID, "CRYPT-LUKS2-abc-luks") },
	  NULL },
	{ "uuid LVM- without a suffix", OPEN, { F(DM_UUID, "LVM-abcdef") }, NULL },
	{ "flag 0", EV, { BLOCK_ADD, F(DM_UDEV_DISABLE_OTHER_RULES_FLAG, "0") }, NULL },
	{ "IMGSCAN_DISABLE=0", EV, { BLOCK_ADD, F(IMGSCAN_DISABLE, "0") }, NULL },
	{ "crypto_LUKS (qemu's luks format)", EV, { BLOCK_ADD, F(ID_FS_TYPE, "crypto_LUKS") }, NULL },
	{ "iso9660 (a polyglot is possible)", EV, { BLOCK_ADD, F(ID_FS_TYPE, "iso9660") }, NULL },
	{ "udf", EV, { BLOCK_ADD, F(ID_FS_TYPE, "udf") }, NULL },
	{ "hybrid ISO: iso9660 and a partition table", EV,
	  { BLOCK_ADD, F(ID_FS_TYPE, "iso9660"), F(ID_PART_TABLE_TYPE, "dos") }, NULL },
	{ "size 10 is not size 0", EV, { BLOCK_ADD, F(SIZE, "10") }, NULL },
	{ "loop device with a backing file", OPEN,
	  { F(TYPE, "loop"), F(LOOP_BACKING, "1"), F(SIZE, "2048") }, NULL },
	{ "loop backing unknown (not read)", OPEN, { F(TYPE, "loop"), F(SIZE, "2048") }, NULL },
	{ "db unreadable, not dm", OPEN, { F(KERNEL, "sda"), F(UDEV_DB, "unreadable") }, NULL },
	{ "rom with a medium", OPEN, { F(TYPE, "rom"), F(SIZE, "1400000") }, NULL },
	{ "size unknown", EV, { BLOCK_ADD, F(KERNEL, "sdb") }, NULL },
};

static void load(struct img_guard_facts *f, const struct gcase *c)
{
	img_guard_facts_init(f);
	for (unsigned i = 0; i < MAX_SET && c->set[i].value; i++)
		f->v[c->set[i].fact] = c->set[i].value;
}

static void test_cases(void **state)
{
	unsigned bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct img_guard_facts f;
		const struct img_guard_rule *r;

		load(&f, &cases[i]);
		r = img_guard_eval(&f, cases[i].ctx);
		if ((r ? r->name : NULL) == NULL && cases[i].want == NULL)
			continue;
		if (r && cases[i].want && strcmp(r->name, cases[i].want) == 0) {
			/* the verdict agrees with the context */
			if (cases[i].ctx == IMG_GUARD_FOR_OPEN && r->verdict == IMG_GUARD_SKIP) {
				print_error("%s: a SKIP rule applied before open()\n", cases[i].what);
				bad++;
			}
			continue;
		}
		print_error("%s: got %s, want %s\n", cases[i].what, r ? r->name : "(none)",
		            cases[i].want ? cases[i].want : "(none)");
		bad++;
	}
	assert_int_equal(bad, 0);
}

/* a rule without a case is a rule nothing checks */
static void test_every_rule_covered(void **state)
{
	unsigned missing = 0;

	(void)state;
	for (size_t k = 0; k < img_guard_n_rules; k++) {
		bool hit = false;

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) && !hit; i++)
			hit = cases[i].want && strcmp(cases[i].want, img_guard_rules[k].name) == 0;
		if (!hit) {
			print_error("rule %s has no case in test-guard.c\n", img_guard_rules[k].name);
			missing++;
		}
	}
	assert_int_equal(missing, 0);
	assert_true(img_guard_n_rules >= 10);
}

/* names unique, messages printable, conditions well formed, udev facts spelled */
static void test_table_well_formed(void **state)
{
	(void)state;
	for (size_t k = 0; k < img_guard_n_rules; k++) {
		const struct img_guard_rule *r = &img_guard_rules[k];

		assert_non_null(r->name);
		assert_non_null(r->message);
		assert_true(r->n_cond >= 1 && r->n_cond <= IMG_GUARD_MAX_CONDS);
		for (const char *p = r->message; *p; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
		for (size_t j = k + 1; j < img_guard_n_rules; j++)
			assert_string_not_equal(r->name, img_guard_rules[j].name);
		for (unsigned i = 0; i < r->n_cond; i++) {
			assert_true(r->cond[i].fact < IMG_GUARD_N_FACTS);
			assert_non_null(r->cond[i].pattern);
			/* img_guard_match copies one alternative into 128 bytes */
			assert_true(strlen(r->cond[i].pattern) < 128);
			/* the rule file quotes the pattern: no quote, backslash or control byte */
			for (const char *p = r->cond[i].pattern; *p; p++)
				assert_true(*p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\');
			if (r->in_udev_rule)
				assert_non_null(img_guard_fact_key(r->cond[i].fact));
		}
	}
}

/* udev's matching: |-alternatives of globs, "?*" non-empty, "" for absent */
static void test_match(void **state)
{
	(void)state;
	assert_true(img_guard_match("?*", "x"));
	assert_false(img_guard_match("?*", ""));
	assert_true(img_guard_match("LVM-*-*", "LVM-abc-real"));
	assert_true(img_guard_match("LVM-*-*", "LVM--"));
	assert_false(img_guard_match("LVM-*-*", "LVM-abc"));
	assert_false(img_guard_match("LVM-*-*", "CRYPT-LUKS2-a-b"));
	assert_true(img_guard_match("crypto_LUKS|iso9660|udf", "iso9660"));
	assert_true(img_guard_match("crypto_LUKS|iso9660|udf", "udf"));
	assert_true(img_guard_match("crypto_LUKS|iso9660|udf", "crypto_LUKS"));
	assert_false(img_guard_match("crypto_LUKS|iso9660|udf", "ext4"));
	assert_false(img_guard_match("crypto_LUKS|iso9660|udf", "iso"));
	assert_false(img_guard_match("crypto_LUKS|iso9660|udf", ""));
	assert_true(img_guard_match("dm-*", "dm-0"));
	assert_false(img_guard_match("dm-*", "sdm-0"));
	assert_true(img_guard_match("0", "0"));
	assert_false(img_guard_match("0", "00"));
	assert_false(img_guard_match("1", "10"));
}

/* the lines of udev/65-imgscan.rules, written from the table */
static void test_udev_lines(void **state)
{
	static const struct {
		const char *name, *line;
	} want[] = {
		{ "remove", "ACTION==\"remove\", GOTO=\"imgscan_end\"" },
		{ "not-block", "SUBSYSTEM!=\"block\", GOTO=\"imgscan_end\"" },
		{ "opt-out", "ENV{IMGSCAN_DISABLE}==\"1\", GOTO=\"imgscan_end\"" },
		{ "dm-no-rules", "KERNEL==\"dm-*\", ENV{DM_UDEV_RULES_VSN}!=\"?*\", GOTO=\"imgscan_end\"" },
		{ "lvm-layer-uuid", "ENV{DM_UUID}==\"LVM-*-*\", GOTO=\"imgscan_end\"" },
		{ "lvm-layer", "ENV{DM_LV_LAYER}==\"?*\", GOTO=\"imgscan_end\"" },
		{ "dm-flag", "ENV{DM_UDEV_DISABLE_OTHER_RULES_FLAG}==\"1\", GOTO=\"imgscan_import_db\"" },
		{ "empty", "ATTR{size}==\"0\", GOTO=\"imgscan_end\"" },
		{ "blkid-filesystem",
		  "ENV{ID_FS_TYPE}==\"?*\", ENV{ID_FS_TYPE}!=\"crypto_LUKS|iso9660|udf\", GOTO=\"imgscan_end\"" },
		{ "blkid-partition-table",
		  "ENV{ID_PART_TABLE_TYPE}==\"?*\", ENV{ID_FS_TYPE}!=\"iso9660|udf\", GOTO=\"imgscan_end\"" },
	};
	char buf[512];
	unsigned n = 0;

	(void)state;
	for (size_t k = 0; k < img_guard_n_rules; k++) {
		const struct img_guard_rule *r = &img_guard_rules[k];
		int len = img_guard_udev_line(r, buf, sizeof(buf));

		if (!r->in_udev_rule) {
			assert_int_equal(len, -1);
			continue;
		}
		assert_true(n < sizeof(want) / sizeof(want[0]));
		assert_string_equal(r->name, want[n].name);
		assert_string_equal(buf, want[n].line);
		assert_int_equal(len, (int)strlen(want[n].line));
		n++;
		/* too small a buffer is refused, never cut */
		assert_int_equal(img_guard_udev_line(r, buf, (size_t)len), -1);
	}
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
}

/* the properties from a lookup (the environment, an event): absent is "", not unknown */
static const char *fake_env(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "DM_UUID") == 0)
		return "LVM-x-real";
	if (strcmp(name, "ACTION") == 0)
		return "change";
	return NULL;
}

static void test_from_props(void **state)
{
	struct img_guard_facts f;

	(void)state;
	img_guard_facts_init(&f);
	f.v[IMG_GUARD_KERNEL] = "dm-9";
	img_guard_facts_from_props(&f, fake_env, NULL);
	assert_string_equal(f.v[IMG_GUARD_DM_UUID], "LVM-x-real");
	assert_string_equal(f.v[IMG_GUARD_ACTION], "change");
	assert_string_equal(f.v[IMG_GUARD_DM_LV_LAYER], "");
	assert_string_equal(f.v[IMG_GUARD_SUBSYSTEM], "");
	assert_string_equal(f.v[IMG_GUARD_ID_FS_TYPE], "");
	/* not properties: untouched */
	assert_string_equal(f.v[IMG_GUARD_KERNEL], "dm-9");
	assert_null(f.v[IMG_GUARD_SIZE]);
	assert_null(f.v[IMG_GUARD_TYPE]);
	assert_null(f.v[IMG_GUARD_LOOP_BACKING]);
	assert_null(f.v[IMG_GUARD_UDEV_DB]);
	assert_string_equal(img_guard_eval(&f, IMG_GUARD_FOR_OPEN)->name, "lvm-layer-uuid");

	img_guard_set_size(&f, 0);
	assert_string_equal(f.v[IMG_GUARD_SIZE], "0");
	img_guard_set_size(&f, UINT64_MAX);
	assert_string_equal(f.v[IMG_GUARD_SIZE], "18446744073709551615");
}

/* the --udev environment through getenv, as main.c reads it */
static const char *env_lookup(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static void test_getenv(void **state)
{
	struct img_guard_facts f;

	(void)state;
	unsetenv("DM_UUID");
	unsetenv("DM_LV_LAYER");
	unsetenv("DM_SUSPENDED");
	setenv("DM_UDEV_DISABLE_OTHER_RULES_FLAG", "1", 1);
	img_guard_facts_init(&f);
	img_guard_facts_from_props(&f, env_lookup, NULL);
	assert_string_equal(img_guard_eval(&f, IMG_GUARD_FOR_OPEN)->name, "dm-flag");
	unsetenv("DM_UDEV_DISABLE_OTHER_RULES_FLAG");
	img_guard_facts_init(&f);
	img_guard_facts_from_props(&f, env_lookup, NULL);
	assert_null(img_guard_eval(&f, IMG_GUARD_FOR_OPEN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),       cmocka_unit_test(test_every_rule_covered),
		cmocka_unit_test(test_table_well_formed), cmocka_unit_test(test_match),
		cmocka_unit_test(test_udev_lines),  cmocka_unit_test(test_from_props),
		cmocka_unit_test(test_getenv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
