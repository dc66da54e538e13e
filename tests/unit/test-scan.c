/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests for the scan engine (scanner/scan/scan.c): many targets (qcow2
 * images, raw files, missing paths) scanned with one job and with several,
 * on io_uring when there is one; results in input order, each the answer of
 * its own target, whatever the jobs and the open-file limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "scan/scan.h"
#include "testutil.h"

#define N_TARGETS 70 /* more than one chunk per worker, less than the window of 4 jobs */

static char dir[] = "/tmp/imgscan-test-scan.XXXXXX";
static char paths[N_TARGETS][64];
static struct img_target targets[N_TARGETS];

/* target i: a qcow2 image (i % 3 == 0), a raw file (1) or a missing path (2) */
static int kind(size_t i)
{
	return (int)(i % 3);
}

static int setup(void **state)
{
	size_t headlen;
	uint8_t *head = t_fixture("qcow2-c2m.head", &headlen);
	static const uint8_t zeros[65536];

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	for (size_t i = 0; i < N_TARGETS; i++) {
		int fd;

		snprintf(paths[i], sizeof(paths[i]), "%s/t%03zu", dir, i);
		targets[i].path = paths[i];
		if (kind(i) == 2)
			continue;
		fd = open(paths[i], O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			return -1;
		if (kind(i) == 0) {
			/* the qemu-img header, at the size qemu-img made it */
			if (write(fd, head, headlen) != (ssize_t)headlen || ftruncate(fd, 6291464) < 0)
				return -1;
		} else if (write(fd, zeros, sizeof(zeros)) != (ssize_t)sizeof(zeros)) {
			return -1;
		}
		close(fd);
	}
	free(head);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_TARGETS; i++)
		unlink(paths[i]);
	rmdir(dir);
	return 0;
}

static void opts_init(struct img_scan_opts *o, unsigned jobs)
{
	memset(o, 0, sizeof(*o));
	o->jobs = jobs;
	o->timeout = 10;
	o->stats = true;
	o->no_content = true; /* no libblkid: the engine's own work only */
	img_policy_init(&o->policy);
}

static void check_scan(size_t i, const struct img_scan *s)
{
	assert_ptr_equal(s->path, targets[i].path);
	switch (kind(i)) {
	case 0:
		assert_int_equal(s->error, 0);
		assert_non_null(s->res);
		assert_int_equal(s->res->format, IMG_FMT_QCOW2);
		assert_true(s->stats.reads >= 1);
		break;
	case 1:
		assert_int_equal(s->error, 0);
		assert_non_null(s->res);
		assert_int_equal(s->res->format, IMG_FMT_RAW);
		break;
	default:
		assert_int_equal(s->error, -ENOENT);
		assert_string_equal(s->error_op, "open");
		assert_null(s->res);
		break;
	}
}

static void scan_all(unsigned jobs)
{
	struct img_scan_opts o;
	struct img_scanner *sc;

	opts_init(&o, jobs);
	sc = img_scanner_new(targets, N_TARGETS, &o);
	assert_non_null(sc);
	for (size_t i = 0; i < N_TARGETS; i++) {
		check_scan(i, img_scanner_get(sc, i));
		img_scanner_release(sc, i);
	}
	img_scanner_free(sc);
}

static void test_one_job(void **state)
{
	(void)state;
	scan_all(1);
}

static void test_four_jobs(void **state)
{
	(void)state;
	scan_all(4);
}

static void test_max_jobs(void **state)
{
	(void)state;
	scan_all(IMG_SCAN_MAX_JOBS);
}

/* a low open-file limit makes the window smaller, never a volume fail with EMFILE */
static void test_low_fd_limit(void **state)
{
	struct rlimit old, low;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 24;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	scan_all(8);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
}

/* one target in the caller's thread; its result is the caller's to free */
static void test_scan_one(void **state)
{
	struct img_scan_opts o;
	struct img_scan s;

	(void)state;
	opts_init(&o, 1);
	for (size_t i = 0; i < 3; i++) {
		img_scan_one(&targets[i], &o, &s);
		check_scan(i, &s);
		free(s.res);
	}
}

/* --check: a verdict per volume, in the engine */
static void test_check(void **state)
{
	struct img_scan_opts o;
	struct img_scan s;

	(void)state;
	opts_init(&o, 1);
	o.check = true;
	img_scan_one(&targets[0], &o, &s);
	assert_int_equal(s.error, 0);
	assert_true(s.checked);
	assert_true(s.verdict.safe);
	free(s.res);
	img_scan_one(&targets[2], &o, &s);
	assert_false(s.checked);
}

/*
 * The caller's thread (one job) and the workers (four) run the same lane:
 * every target's result, reads and bytes the same, and the caller's
 * thread did run lane turns (a chunk at least per 16 targets).
 */
struct summary {
	int error;
	const char *op;
	int format;
	uint64_t size, vsize;
	unsigned n_features;
	unsigned reads;
	uint64_t bytes;
};

static size_t summarize(unsigned jobs, struct summary *out)
{
	struct img_scan_opts o;
	struct img_scanner *sc;
	size_t turns;

	opts_init(&o, jobs);
	sc = img_scanner_new(targets, N_TARGETS, &o);
	assert_non_null(sc);
	for (size_t i = 0; i < N_TARGETS; i++) {
		const struct img_scan *s = img_scanner_get(sc, i);

		check_scan(i, s);
		out[i] = (struct summary){ .error = s->error, .op = s->error_op,
			                   .format = s->res ? (int)s->res->format : -1,
			                   .size = s->size,
			                   .vsize = s->res ? s->res->virtual_size : 0,
			                   .n_features = s->res ? s->res->n_features : 0,
			                   .reads = s->stats.reads, .bytes = s->stats.bytes };
		img_scanner_release(sc, i);
	}
	turns = img_scanner_turns(sc);
	img_scanner_free(sc);
	return turns;
}

static void test_caller_thread_same_as_workers(void **state)
{
	static struct summary one[N_TARGETS], four[N_TARGETS];
	size_t turns;

	(void)state;
	turns = summarize(1, one);
	assert_true(turns >= (N_TARGETS + 15) / 16);
	assert_true(summarize(4, four) >= (N_TARGETS + 15) / 16);
	for (size_t i = 0; i < N_TARGETS; i++) {
		assert_int_equal(one[i].error, four[i].error);
		assert_ptr_equal(one[i].op, four[i].op);
		assert_int_equal(one[i].format, four[i].format);
		assert_int_equal(one[i].size, four[i].size);
		assert_int_equal(one[i].vsize, four[i].vsize);
		assert_int_equal(one[i].n_features, four[i].n_features);
		assert_int_equal(one[i].reads, four[i].reads);
		assert_int_equal(one[i].bytes, four[i].bytes);
	}
}

/* ---- the device_facts hook: a block device node the engine stats itself ---------------- */

/* a block device number no driver has (LOCAL/EXPERIMENTAL USE): opening it would fail ENXIO */
#define NODEV_MAJOR 61
#define NODEV_MINOR 7

struct hook {
	unsigned calls, frees, opens;
	dev_t rdev;
	const char *skip;
	int dev; /* what the hook hands out: its address stands for a device */
};

static const struct img_device *facts(void *ctx, dev_t rdev, const char **skip)
{
	struct hook *h = ctx;

	h->calls++;
	h->rdev = rdev;
	*skip = h->skip;
	return (const struct img_device *)&h->dev;
}

static void facts_free(void *ctx, const struct img_device *d)
{
	struct hook *h = ctx;

	assert_ptr_equal(d, &h->dev);
	h->frees++;
}

static struct hook *opened_hook;

static void count_open(struct img_source *src, const char *path)
{
	(void)src;
	(void)path;
	opened_hook->opens++;
}

static void hook_opts(struct img_scan_opts *o, unsigned jobs, struct hook *h)
{
	opts_init(o, jobs);
	o->device_facts = facts;
	o->device_free = facts_free;
	o->device_ctx = h;
	o->on_open = count_open;
	opened_hook = h;
}

/* a block device node in dir; false when this process may not make one (not root) */
static bool make_node(char *path, size_t len)
{
	snprintf(path, len, "%s/blk", dir);
	unlink(path);
	return mknod(path, S_IFBLK | 0600, makedev(NODEV_MAJOR, NODEV_MINOR)) == 0;
}

/* a device the hook says to skip is never opened, reported as a skip, its facts given back */
static void test_hook_skip_never_opened(void **state)
{
	char node[96];
	struct img_target t[3];
	struct hook h = { .skip = "an LVM snapshot's origin (test)" };
	struct img_scan_opts o;
	struct img_scanner *sc;

	(void)state;
	if (!make_node(node, sizeof(node)))
		skip();
	/* a regular file on either side: the hook is asked about block devices only */
	t[0] = targets[0];
	memset(&t[1], 0, sizeof(t[1]));
	t[1].path = node;
	t[2] = targets[1];
	for (unsigned jobs = 1; jobs <= 4; jobs += 3) {
		h.calls = h.frees = h.opens = 0;
		hook_opts(&o, jobs, &h);
		sc = img_scanner_new(t, 3, &o);
		assert_non_null(sc);
		for (size_t i = 0; i < 3; i++) {
			const struct img_scan *s = img_scanner_get(sc, i);

			if (i == 1) {
				assert_int_equal(s->error, -EBUSY);
				assert_string_equal(s->error_op, "open");
				assert_ptr_equal(s->error_text, h.skip);
				assert_ptr_equal(s->dev, &h.dev);
			} else {
				assert_int_equal(s->error, 0);
				assert_null(s->dev);
			}
			img_scanner_release(sc, i);
		}
		img_scanner_free(sc);
		assert_int_equal(h.calls, 1);
		assert_int_equal(h.frees, 1);
		/* the two files were opened, the device never */
		assert_int_equal(h.opens, 2);
	}
	unlink(node);
}

/*
 * have_st false: the engine stats the target itself, in the lane, just
 * before open (the hook sees the node's own device number; without a skip
 * the node is opened, and fails as a device without a driver does).  A
 * target listed with a stat is not stat'ed again: a stale one is refused.
 */
static void test_engine_stats(void **state)
{
	char node[96];
	struct img_target t[2];
	struct hook h = { 0 };
	struct img_scan_opts o;
	struct img_scan s;

	(void)state;
	hook_opts(&o, 1, &h);
	/* a listed stat stands for the one before open(): another file's is refused */
	memset(&t[0], 0, sizeof(t[0]));
	t[0].path = targets[0].path;
	t[0].have_st = true;
	assert_int_equal(stat(targets[1].path, &t[0].st), 0);
	img_scan_one(&t[0], &o, &s);
	assert_int_equal(s.error, -ESTALE);
	assert_int_equal(h.opens, 0);
	/* the same target without one: stat'ed here, read */
	t[0].have_st = false;
	img_scan_one(&t[0], &o, &s);
	assert_int_equal(s.error, 0);
	assert_int_equal(s.res->format, IMG_FMT_QCOW2);
	free(s.res);
	assert_int_equal(h.opens, 1);
	assert_int_equal(h.calls, 0);

	if (!make_node(node, sizeof(node)))
		skip();
	memset(&t[1], 0, sizeof(t[1]));
	t[1].path = node;
	img_scan_one(&t[1], &o, &s);
	assert_int_equal(h.calls, 1);
	assert_int_equal(major(h.rdev), NODEV_MAJOR);
	assert_int_equal(minor(h.rdev), NODEV_MINOR);
	assert_ptr_equal(s.dev, &h.dev);
	assert_int_equal(s.error, -ENXIO);
	assert_string_equal(s.error_op, "open");
	unlink(node);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_job),
		cmocka_unit_test(test_four_jobs),
		cmocka_unit_test(test_max_jobs),
		cmocka_unit_test(test_low_fd_limit),
		cmocka_unit_test(test_scan_one),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_caller_thread_same_as_workers),
		cmocka_unit_test(test_hook_skip_never_opened),
		cmocka_unit_test(test_engine_stats),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
