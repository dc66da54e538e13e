/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device-mapper name splitting (scanner/enum/enum-udev.c img_dm_split_name),
 * as LVM's dm_split_lvm_name: "VG-LV[-LAYER]", a hyphen inside a VG or LV
 * name doubled ("my--vg-my--lv"); the layer is the rest ("-real", "-cow",
 * "_tmeta" stays inside the LV name).  Each part is cut to its buffer.
 */
#include <string.h>

#include "testutil.h"
#include "enum/device.h"

struct split_case {
	const char *dm;
	const char *vg, *lv, *layer;
};

static void test_split_table(void **state)
{
	static const struct split_case cases[] = {
		{ "vg-lv", "vg", "lv", "" },
		{ "vg0-root", "vg0", "root", "" },
		{ "my--vg-my--lv", "my-vg", "my-lv", "" },
		{ "vg-lv-real", "vg", "lv", "real" },
		{ "vg-snap-cow", "vg", "snap", "cow" },
		{ "vg-pool_tmeta", "vg", "pool_tmeta", "" },
		{ "vg-lv-a-b", "vg", "lv", "a-b" },    /* the layer takes the rest */
		{ "vg-lv-a--b", "vg", "lv", "a-b" },   /* a doubled hyphen in it is one */
		{ "a--b--c-d", "a-b-c", "d", "" },
		{ "vg", "vg", "", "" },                /* no LV */
		{ "vg-", "vg", "", "" },
		{ "-lv", "", "lv", "" },
		{ "", "", "", "" },
		{ "vg---lv", "vg-", "lv", "" },        /* "--" then "-" */
		{ "vg----lv", "vg--lv", "", "" }, /* two doubled hyphens: no separator */
		{ "mpatha", "mpatha", "", "" },        /* not LVM: all of it is "VG" */
		{ "luks-0a1b", "luks", "0a1b", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char vg[128], lv[128], layer[128];

		memset(vg, 'x', sizeof(vg));
		memset(lv, 'x', sizeof(lv));
		memset(layer, 'x', sizeof(layer));
		img_dm_split_name(cases[i].dm, vg, sizeof(vg), lv, sizeof(lv), layer, sizeof(layer));
		print_message("%s\n", cases[i].dm);
		assert_string_equal(vg, cases[i].vg);
		assert_string_equal(lv, cases[i].lv);
		assert_string_equal(layer, cases[i].layer);
	}
}

/* every part is cut to its buffer and NUL-terminated; nothing is written past it */
static void test_split_bounds(void **state)
{
	char buf[3][8];

	(void)state;
	memset(buf, 'Z', sizeof(buf));
	img_dm_split_name("averylongvg-averylonglv-averylonglayer", buf[0], 4, buf[1], 5, buf[2], 6);
	assert_string_equal(buf[0], "ave");
	assert_string_equal(buf[1], "aver");
	assert_string_equal(buf[2], "avery");
	assert_int_equal(buf[0][4], 'Z');
	assert_int_equal(buf[1][5], 'Z');
	assert_int_equal(buf[2][6], 'Z');
	/* one byte each: empty strings */
	img_dm_split_name("vg-lv-x", buf[0], 1, buf[1], 1, buf[2], 1);
	assert_string_equal(buf[0], "");
	assert_string_equal(buf[1], "");
	assert_string_equal(buf[2], "");
	/* a cut VG does not shift the LV: the parts stay apart */
	img_dm_split_name("vgvgvgvgvg-lv", buf[0], 3, buf[1], 8, buf[2], 8);
	assert_string_equal(buf[0], "vg");
	assert_string_equal(buf[1], "lv");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_table),
		cmocka_unit_test(test_split_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
