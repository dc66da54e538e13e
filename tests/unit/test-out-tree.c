/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The -T tree (scanner/output/out-tree.c): backing names resolved among the
 * scanned targets as strings only (qemu's bdrv_get_full_backing_filename: a
 * relative name is relative to the image's directory), /dev/mapper and
 * /dev/VG/LV names, oVirt/vdsm's "VOLUME" and "../IMAGE/VOLUME" on LVs,
 * loops broken, and the depth-first print order.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "output/table.h"

#define N_MAX 16

/* resolve nodes[0..n) into parent/loop */
static void resolve(const struct img_tree_node *nodes, size_t n, long *parent, long *loop)
{
	assert_true(n <= N_MAX);
	assert_int_equal(img_tree_resolve(nodes, n, parent, loop), 0);
}

/* a file: path and backing name */
#define F(p, b) { .path = (p), .backing = (b), .vg = "", .lv = "", .dm_name = NULL }
/* an LV /dev/VG/LV (dm name VG-LV) and its backing name */
#define LV(vg_, lv_, dm, b) \
	{ .path = "/dev/" vg_ "/" lv_, .backing = (b), .vg = (vg_), .lv = (lv_), .dm_name = (dm) }

static void test_files(void **state)
{
	const struct img_tree_node nodes[] = {
		F("/v/base.qcow2", NULL),                    /* 0 */
		F("/v/top.qcow2", "/v/base.qcow2"),          /* 1: absolute */
		F("/v/rel.qcow2", "base.qcow2"),             /* 2: relative to /v */
		F("/v/dots.qcow2", "./x/../base.qcow2"),     /* 3: "." and ".." folded */
		F("/v/slashes.qcow2", "//v///base.qcow2"),   /* 4: "//" folded */
		F("/v/gone.qcow2", "/nowhere/base.qcow2"),   /* 5: not scanned */
		F("/w/sub/deep.qcow2", "../../v/top.qcow2"), /* 6: up two */
		F("/v/empty.qcow2", ""),                     /* 7: an empty name: none */
		F("/v/up.qcow2", "../../../../v/base.qcow2"), /* 8: ".." above / stays at / */
	};
	size_t n = sizeof(nodes) / sizeof(nodes[0]);
	long parent[N_MAX], loop[N_MAX];

	(void)state;
	resolve(nodes, n, parent, loop);
	assert_int_equal(parent[0], IMG_TREE_ROOT);
	assert_int_equal(parent[1], 0);
	assert_int_equal(parent[2], 0);
	assert_int_equal(parent[3], 0);
	assert_int_equal(parent[4], 0);
	assert_int_equal(parent[5], IMG_TREE_NOT_FOUND);
	assert_int_equal(parent[6], 1);
	assert_int_equal(parent[7], IMG_TREE_ROOT);
	assert_int_equal(parent[8], 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(loop[i], -1);
}

/* a relative PATH is made absolute with the working directory */
static void test_relative_paths(void **state)
{
	char cwd[PATH_MAX], abs[PATH_MAX + 32];
	long parent[N_MAX], loop[N_MAX];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(abs, sizeof(abs), "%s/d/base.img", cwd);
	{
		const struct img_tree_node nodes[] = {
			F("d/base.img", NULL),
			F("d/top.img", "base.img"),
			F("/elsewhere/abs.img", abs),
			F("./d/../d/dup.img", "./base.img"),
		};

		resolve(nodes, 4, parent, loop);
		assert_int_equal(parent[1], 0);
		assert_int_equal(parent[2], 0);
		assert_int_equal(parent[3], 0);
	}
}

/* the same PATH twice: the first in input order is the parent */
static void test_first_match(void **state)
{
	const struct img_tree_node nodes[] = {
		F("/v/top.qcow2", "base.qcow2"),
		F("/v/base.qcow2", NULL),
		F("/v/./base.qcow2", NULL),
	};
	long parent[N_MAX], loop[N_MAX];

	(void)state;
	resolve(nodes, 3, parent, loop);
	assert_int_equal(parent[0], 1);
}

static void test_devices(void **state)
{
	const struct img_tree_node nodes[] = {
		LV("vg1", "base", "vg1-base", NULL),                 /* 0 */
		LV("vg1", "a", "vg1-a", "/dev/mapper/vg1-base"),     /* 1: dm name */
		LV("vg1", "b", "vg1-b", "/dev/vg1/base"),            /* 2: /dev/VG/LV */
		LV("vg1", "c", "vg1-c", "base"),                     /* 3: vdsm, bare VOLUME */
		LV("vg1", "d", "vg1-d", "../img-uuid/base"),         /* 4: vdsm, ../IMAGE/VOLUME */
		LV("vg2", "base", "vg2-base", NULL),                 /* 5 */
		LV("vg2", "e", "vg2-e", "base"),                     /* 6: its own VG's base */
		LV("vg1", "f", "vg1-f", "../../x/base"),             /* 7: not a vdsm shape */
		LV("vg1", "g", "vg1-g", "../vg2/e"),                 /* 8: relative to /dev/vg1 */
		F("/v/file.qcow2", "base"),                          /* 9: a file: no LV lookup */
		LV("vg1", "h", "vg1-h", "/dev/mapper/vg1-base/x"),   /* 10: not a dm name */
		LV("vg1", "i", "vg1-i", "/dev/vg1/base/x"),          /* 11: three elements */
		LV("vg1", "k", "vg1-k", "../vg2/base"),              /* 12: vdsm's shape first */
		/* 13: an LV scanned as /dev/dm-9: "./base" is /dev/vg1/base */
		{ .path = "/dev/dm-9", .backing = "./base", .vg = "vg1", .lv = "j", .dm_name = "vg1-j" },
	};
	size_t n = sizeof(nodes) / sizeof(nodes[0]);
	long parent[N_MAX], loop[N_MAX];

	(void)state;
	resolve(nodes, n, parent, loop);
	assert_int_equal(parent[0], IMG_TREE_ROOT);
	assert_int_equal(parent[1], 0);
	assert_int_equal(parent[2], 0);
	assert_int_equal(parent[3], 0);
	assert_int_equal(parent[4], 0);
	assert_int_equal(parent[6], 5);
	assert_int_equal(parent[7], IMG_TREE_NOT_FOUND);
	assert_int_equal(parent[8], 6);
	assert_int_equal(parent[9], IMG_TREE_NOT_FOUND);
	assert_int_equal(parent[10], IMG_TREE_NOT_FOUND);
	assert_int_equal(parent[11], IMG_TREE_NOT_FOUND);
	/* ../IMAGE/VOLUME on an LV is the LV VOLUME of its own VG, not /dev/vg2/base */
	assert_int_equal(parent[12], 0);
	assert_int_equal(parent[13], 0);
}

static void test_loops(void **state)
{
	const struct img_tree_node nodes[] = {
		F("/v/a", "b"), /* 0: a -> b -> a */
		F("/v/b", "a"), /* 1 */
		F("/v/self", "self"), /* 2: backed by itself */
		F("/v/c", "d"), /* 3: c -> d -> e -> d: the loop is d, e */
		F("/v/d", "e"), /* 4 */
		F("/v/e", "d"), /* 5 */
	};
	long parent[N_MAX], loop[N_MAX];
	size_t order[N_MAX], depth[N_MAX];

	(void)state;
	resolve(nodes, 6, parent, loop);
	/* the walk from a closes the loop at a: a is a root that names b */
	assert_int_equal(parent[0], IMG_TREE_ROOT);
	assert_int_equal(loop[0], 1);
	assert_int_equal(parent[1], 0);
	assert_int_equal(loop[1], -1);
	assert_int_equal(parent[2], IMG_TREE_ROOT);
	assert_int_equal(loop[2], 2);
	assert_int_equal(parent[3], 4);
	assert_int_equal(loop[3], -1);
	/* the walk from c reaches d again: broken at d */
	assert_int_equal(parent[4], IMG_TREE_ROOT);
	assert_int_equal(loop[4], 5);
	assert_int_equal(parent[5], 4);
	/* every node is printed once */
	assert_int_equal(img_tree_order(parent, 6, order, depth), 0);
	{
		int seen[6] = { 0 };

		for (size_t i = 0; i < 6; i++)
			seen[order[i]]++;
		for (size_t i = 0; i < 6; i++)
			assert_int_equal(seen[i], 1);
	}
}

static void test_order(void **state)
{
	/* 0 <- 1 <- 3, 0 <- 4, 2 alone, 5 not found (a root), 6 <- ... */
	const long parent[] = { IMG_TREE_ROOT, 0, IMG_TREE_ROOT, 1, 0, IMG_TREE_NOT_FOUND, 4 };
	const size_t want_order[] = { 0, 1, 3, 4, 6, 2, 5 };
	const size_t want_depth[] = { 0, 1, 2, 1, 2, 0, 0 };
	size_t order[7], depth[7];

	(void)state;
	assert_int_equal(img_tree_order(parent, 7, order, depth), 0);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(order[i], want_order[i]);
		assert_int_equal(depth[i], want_depth[i]);
	}
	/* children come in input order even when listed before their parent */
	{
		const long p2[] = { 2, 2, IMG_TREE_ROOT };
		size_t o2[3], d2[3];

		assert_int_equal(img_tree_order(p2, 3, o2, d2), 0);
		assert_int_equal(o2[0], 2);
		assert_int_equal(o2[1], 0);
		assert_int_equal(o2[2], 1);
		assert_int_equal(d2[1], 1);
		assert_int_equal(d2[2], 1);
	}
	assert_int_equal(img_tree_order(parent, 0, order, depth), 0);
}

/* a long chain: resolved and ordered without recursion, depth = position */
static void test_long_chain(void **state)
{
	enum { N = 2000 };
	struct img_tree_node *nodes = calloc(N, sizeof(*nodes));
	char (*paths)[32] = calloc(N, sizeof(*paths));
	long *parent = calloc(N, sizeof(*parent)), *loop = calloc(N, sizeof(*loop));
	size_t *order = calloc(N, sizeof(*order)), *depth = calloc(N, sizeof(*depth));

	(void)state;
	assert_true(nodes && paths && parent && loop && order && depth);
	/* listed top first: node i is backed by node i + 1 */
	for (size_t i = 0; i < N; i++) {
		snprintf(paths[i], sizeof(paths[i]), "/c/%zu", i);
		nodes[i].path = paths[i];
		nodes[i].vg = nodes[i].lv = "";
	}
	for (size_t i = 0; i + 1 < N; i++)
		nodes[i].backing = paths[i + 1] + 3; /* relative: "i+1" */
	assert_int_equal(img_tree_resolve(nodes, N, parent, loop), 0);
	for (size_t i = 0; i + 1 < N; i++)
		assert_int_equal(parent[i], (long)i + 1);
	assert_int_equal(parent[N - 1], IMG_TREE_ROOT);
	assert_int_equal(img_tree_order(parent, N, order, depth), 0);
	for (size_t k = 0; k < N; k++) {
		assert_int_equal(order[k], N - 1 - k);
		assert_int_equal(depth[k], k);
	}
	free(nodes);
	free(paths);
	free(parent);
	free(loop);
	free(order);
	free(depth);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_first_match),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_loops),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_long_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
