/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The udev database reader (docs/udev.md, "Reading the udev database"): which
 * lines of an entry become properties, the version line, a cut last line,
 * and the sysfs uevent form (KEY=value lines).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#include "enum/device.h"

struct seen {
	unsigned n;
	char text[1024];
};

/* every property as "KEY=value;" */
static void collect(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
	struct seen *s = ctx;
	size_t used = strlen(s->text);

	snprintf(s->text + used, sizeof(s->text) - used, "%.*s=%.*s;", (int)kl, k, (int)vl, v);
	s->n++;
}

static void parse(const char *buf, bool db, unsigned *version, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	img_udev_db_parse(buf, strlen(buf), db, version, collect, s);
}

/* an entry as systemd 252 writes it: only E: lines are properties */
static void test_db_entry(void **state)
{
	struct seen s;
	unsigned v = 99;

	(void)state;
	parse("S:disk/by-diskseq/12\nL:0\nI:126274297\nE:ID_FS_TYPE=\nE:DM_VG_NAME=vg0\n"
	      "E:ID_IMAGE_FORMAT=qcow2\nG:systemd\nQ:systemd\nV:1\n",
	      true, &v, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.text, "ID_FS_TYPE=;DM_VG_NAME=vg0;ID_IMAGE_FORMAT=qcow2;");
	assert_int_equal(v, 1);
}

/* no V: line (udev before systemd 247): version 0 */
static void test_db_no_version(void **state)
{
	struct seen s;
	unsigned v = 99;

	(void)state;
	parse("E:A=1\n", true, &v, &s);
	assert_int_equal(v, 0);
	assert_string_equal(s.text, "A=1;");
}

/* a version this reader does not know, or an unreadable one, is reported as such */
static void test_db_versions(void **state)
{
	struct seen s;
	unsigned v = 0;

	(void)state;
	parse("V:2\nE:A=1\n", true, &v, &s);
	assert_int_equal(v, 2);
	parse("V:x\n", true, &v, &s);
	assert_int_equal(v, UINT_MAX);
	parse("V:\n", true, &v, &s);
	assert_int_equal(v, UINT_MAX);
	parse("V:99999999999999\n", true, &v, &s);
	assert_int_equal(v, UINT_MAX);
}

/* a value keeps its '=' and spaces; a line without '=' or with an empty key is no property */
static void test_db_odd_lines(void **state)
{
	struct seen s;

	(void)state;
	parse("E:K=a=b c\nE:noequals\nE:=v\nE\n\nX:Y=z\nE:L=\n", true, NULL, &s);
	assert_string_equal(s.text, "K=a=b c;L=;");
	assert_int_equal(s.n, 2);
}

/* the last line without its newline (a file cut short) is not taken */
static void test_db_cut(void **state)
{
	struct seen s;

	(void)state;
	parse("E:A=1\nE:B=2", true, NULL, &s);
	assert_string_equal(s.text, "A=1;");
	parse("E:B=2", true, NULL, &s);
	assert_int_equal(s.n, 0);
}

/* sysfs uevent: KEY=value lines, no prefix */
static void test_uevent(void **state)
{
	struct seen s;

	(void)state;
	parse("MAJOR=7\nMINOR=3\nDEVNAME=loop3\nDEVTYPE=disk\nDISKSEQ=19\n", false, NULL, &s);
	assert_string_equal(s.text, "MAJOR=7;MINOR=3;DEVNAME=loop3;DEVTYPE=disk;DISKSEQ=19;");
	/* an E: line in a uevent file is a key named "E:K" */
	parse("E:K=v\n", false, NULL, &s);
	assert_string_equal(s.text, "E:K=v;");
}

/* bytes after a NUL or control bytes are passed on as they are (the outputs escape them) */
static void test_db_binary(void **state)
{
	static const char buf[] = "E:A=x\001y\nE:B=\0zz\nE:C=3\n";
	struct seen s;

	(void)state;
	memset(&s, 0, sizeof(s));
	img_udev_db_parse(buf, sizeof(buf) - 1, true, NULL, collect, &s);
	assert_int_equal(s.n, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_db_entry),   cmocka_unit_test(test_db_no_version),
		cmocka_unit_test(test_db_versions), cmocka_unit_test(test_db_odd_lines),
		cmocka_unit_test(test_db_cut),     cmocka_unit_test(test_uevent),
		cmocka_unit_test(test_db_binary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
