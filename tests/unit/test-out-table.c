/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Column selection of the table (scanner/output/out-table.c), as lsblk's
 * -o/-O: the defaults (VG/LV with LVs, READS/KBYTES with --stats,
 * SAFE/FAILED with --check), "-o LIST" replacing them, "-o +LIST" appending,
 * names case-insensitive, an unknown name refused by name; and the sizes
 * as lsblk writes them.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "output/table.h"

#define CAP 160

/* the selected columns of o, comma-joined, or "ERR: reason" */
static const char *cols(const struct img_table_opts *o)
{
	static char out[2048];
	const char *names[CAP];
	char err[128] = "";
	size_t n = 0, used = 0;
	char err2[128] = "";
	int rc = img_table_select_columns(o, names, CAP, &n, err, sizeof(err));

	/* the check the command runs first agrees */
	assert_int_equal(img_table_check_columns(o, err2, sizeof(err2)), rc);
	assert_string_equal(err, err2);
	if (rc < 0) {
		snprintf(out, sizeof(out), "ERR: %s", err);
		return out;
	}
	assert_true(n <= CAP);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s", i ? "," : "", names[i]);
	return out;
}

#define DEFAULTS "NAME,FORMAT,VER,VSIZE,SIZE,CLUSTER,BACKING,BFMT,FEATURES,ENC,CONTENT"

static void test_defaults(void **state)
{
	struct img_table_opts o;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_string_equal(cols(&o), DEFAULTS);
	o.lvm = true;
	assert_string_equal(cols(&o), DEFAULTS ",VG,LV");
	o.stats = true;
	assert_string_equal(cols(&o), DEFAULTS ",VG,LV,READS,KBYTES");
	o.check = true;
	assert_string_equal(cols(&o), DEFAULTS ",VG,LV,READS,KBYTES,SAFE,FAILED");
	memset(&o, 0, sizeof(o));
	o.check = true;
	assert_string_equal(cols(&o), DEFAULTS ",SAFE,FAILED");
}

static void test_list(void **state)
{
	struct img_table_opts o;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.columns = "NAME,FORMAT";
	assert_string_equal(cols(&o), "NAME,FORMAT");
	/* case-insensitive, written as the column is named */
	o.columns = "name,Damaged,vsize";
	assert_string_equal(cols(&o), "NAME,DAMAGED,VSIZE");
	/* a column twice is shown twice (as lsblk) */
	o.columns = "NAME,NAME";
	assert_string_equal(cols(&o), "NAME,NAME");
	/* +LIST appends to the defaults, with their conditions */
	o.columns = "+DAMAGED,OFFSET";
	assert_string_equal(cols(&o), DEFAULTS ",DAMAGED,OFFSET");
	o.stats = true;
	assert_string_equal(cols(&o), DEFAULTS ",READS,KBYTES,DAMAGED,OFFSET");
	/* a list replaces the defaults: --stats adds nothing then */
	o.columns = "NAME";
	assert_string_equal(cols(&o), "NAME");
}

static void test_all(void **state)
{
	struct img_table_opts o;
	const char *names[CAP];
	char err[64];
	size_t n = 0;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.all_columns = true;
	assert_int_equal(img_table_select_columns(&o, names, CAP, &n, err, sizeof(err)), 0);
	/* every column once, NAME first: --list-columns lists the same */
	assert_true(n >= 30);
	assert_string_equal(names[0], "NAME");
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(names[i], names[j]);
	/* -O with +LIST: all, then the list */
	o.columns = "+NAME";
	assert_int_equal(img_table_select_columns(&o, names, CAP, &n, err, sizeof(err)), 0);
	assert_string_equal(names[n - 1], "NAME");
}

static void test_refused(void **state)
{
	struct img_table_opts o;
	char many[8192];
	size_t used = 0;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.columns = "NAME,BOGUS";
	assert_string_equal(cols(&o), "ERR: unknown column 'BOGUS'");
	o.columns = "";
	assert_string_equal(cols(&o), "ERR: unknown column ''");
	o.columns = "NAME,";
	assert_string_equal(cols(&o), "ERR: unknown column ''");
	o.columns = "+";
	assert_string_equal(cols(&o), "ERR: unknown column ''");
	/* a prefix of a name is not the name */
	o.columns = "NAM";
	assert_string_equal(cols(&o), "ERR: unknown column 'NAM'");
	/* the name in the message is cut at 64 bytes */
	o.columns = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
	assert_string_equal(cols(&o), "ERR: unknown column "
	                              "'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX'");
	/* more columns than a table holds */
	for (int i = 0; i < 200; i++)
		used += (size_t)snprintf(many + used, sizeof(many) - used, "%sNAME", i ? "," : "");
	o.columns = many;
	assert_string_equal(cols(&o), "ERR: more than 128 columns");
}

static void test_human_size(void **state)
{
	static const struct {
		uint64_t bytes;
		const char *want;
	} cases[] = {
		{ 0, "0B" },
		{ 1023, "1023B" },
		{ 1024, "1K" },
		{ 1536, "1.5K" },
		{ 65536, "64K" },
		{ 1048575, "1024K" }, /* 1023.999K rounds up without a carry into M */
		{ 1048576, "1M" },
		{ 1610612736, "1.5G" },
		{ 1ull << 60, "1E" },
		{ UINT64_MAX, "16E" }, /* 15.999E rounds up */
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		img_human_size(cases[i].bytes, buf, sizeof(buf));
		print_message("%llu\n", (unsigned long long)cases[i].bytes);
		assert_string_equal(buf, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_all),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_human_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
