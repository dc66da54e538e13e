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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_job),
		cmocka_unit_test(test_four_jobs),
		cmocka_unit_test(test_max_jobs),
		cmocka_unit_test(test_low_fd_limit),
		cmocka_unit_test(test_scan_one),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
