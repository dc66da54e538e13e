/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The file/device reader: what it refuses to open, how few reads it makes
 * (head window, tail window, on-demand regions), the probe offset, the byte
 * cap, and data that stays readable after the descriptor is closed.
 * Block devices are covered end to end (tests/e2e/loopdev.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char dir[] = "/tmp/imgscan-test-source-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9));
}

/* write a file of size bytes holding pattern(); returns its path (static buffer) */
static const char *make_file(const char *name, uint64_t size)
{
	static char path[256];
	uint8_t buf[8192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i);
		assert_int_equal(fwrite(buf, 1, n, f), n);
		off += n;
	}
	assert_int_equal(fclose(f), 0);
	return path;
}

static void assert_pattern(const uint8_t *p, uint64_t abs, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(abs + i))
			fail_msg("byte %llu: %u != %u", (unsigned long long)(abs + i), p[i],
			         pattern(abs + i));
}

/* queue the windows of srcs[0, n) on pf and read them; < 0 without batching */
static int prefetch_all(struct img_prefetch *pf, struct img_source *const *srcs, size_t n)
{
	if (!pf)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < n; i++)
		if (img_prefetch_add(pf, srcs[i]) < 0)
			break;
	return img_prefetch_wait(pf);
}

static void test_refuses(void **state)
{
	struct img_source *s = (void *)1;
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(img_source_open(path, 0, false, &s), -ENOENT);
	assert_null(s);
	assert_int_equal(img_source_open(dir, 0, false, &s), -ENOTBLK);
	/* a FIFO must be refused before open(): opening it would block */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(img_source_open(path, 0, false, &s), -ENOTBLK);
	assert_int_equal(img_source_open("/dev/null", 0, false, &s), -ENOTBLK);
	/* with the caller's stat: the same refusal, before open() */
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(img_source_open_stat(path, &st, 0, false, &s), -ENOTBLK);
		assert_null(s);
		assert_int_equal(stat("/dev/null", &st), 0);
		assert_int_equal(img_source_open_stat("/dev/null", &st, 0, false, &s), -ENOTBLK);
	}
}

/*
 * The path checked (stat, sysfs) and the object opened are one: a path
 * swapped after the check for a FIFO or for another file is not opened.
 */
static void test_swapped(void **state)
{
	struct img_source *s = (void *)1;
	char path[256], other[256], fifo[256];
	struct stat pre;

	(void)state;
	snprintf(path, sizeof(path), "%s", make_file("swapped", 8192));
	snprintf(other, sizeof(other), "%s", make_file("swapped-other", 8192));
	snprintf(fifo, sizeof(fifo), "%s/swapped-fifo", dir);
	(void)unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);

	/*
	 * Checked as a regular file, a FIFO by the time it is opened.  A
	 * writer waits in open() on the FIFO: opening it for reading, even for
	 * a moment, would let that open() return.
	 */
	assert_int_equal(stat(path, &pre), 0);
	assert_int_equal(rename(fifo, path), 0);
	{
		pid_t writer = fork();
		int status;

		assert_true(writer >= 0);
		if (writer == 0)
			_exit(open(path, O_WRONLY) >= 0 ? 0 : 1);
		usleep(100 * 1000); /* the writer is in open() */
		assert_int_equal(img_source_open_stat(path, &pre, 0, false, &s), -ENOTBLK);
		assert_null(s);
		usleep(100 * 1000);
		assert_int_equal(waitpid(writer, &status, WNOHANG), 0); /* still waiting */
		kill(writer, SIGKILL);
		assert_int_equal(waitpid(writer, &status, 0), writer);
	}

	/* checked as one file, another by the time it is opened */
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s", make_file("swapped", 8192));
	assert_int_equal(stat(path, &pre), 0);
	assert_int_equal(rename(other, path), 0);
	assert_int_equal(img_source_open_stat(path, &pre, 0, false, &s), -ESTALE);
	assert_null(s);
	/* what is there now opens, checked afresh */
	assert_int_equal(stat(path, &pre), 0);
	assert_int_equal(img_source_open_stat(path, &pre, 0, false, &s), 0);
	assert_int_equal(img_source_size(s), 8192);
	assert_true(img_source_buffered_fd(s) >= 0);
	img_source_close(s);
	assert_int_equal(img_source_buffered_fd(s), -EBADF);
	img_source_free(s);
}

static void test_head_tail_regions(void **state)
{
	const uint64_t size = 1000 * 1000 + 123; /* not a multiple of any block size */
	const char *path = make_file("pattern", size);
	const struct img_source_stats *st;
	struct img_source *s;
	struct img_reader r;
	const uint8_t *p;

	(void)state;
	assert_int_equal(img_source_open(path, 0, false, &s), 0);
	img_source_reader(s, &r);
	st = img_source_stats(s);
	assert_int_equal(r.size, size);
	assert_int_equal(img_source_size(s), size);
	assert_true(st->align >= 512 && st->align <= 65536);
	assert_int_equal(st->align & (st->align - 1), 0);
	assert_false(st->is_block);

	/* the head window: one small read serves every header proper ... */
	assert_int_equal(img_get(&r, 0, 512, &p), 0);
	assert_pattern(p, 0, 512);
	assert_int_equal(img_get(&r, 100, IMG_SOURCE_HEAD_FIRST - 100, &p), 0);
	assert_int_equal(st->reads, 1);
	assert_int_equal(st->bytes, IMG_SOURCE_HEAD_FIRST);
	/* ... and further into the first 64 KiB, only the 4 KiB blocks asked for */
	assert_int_equal(img_get(&r, 60000, 5536, &p), 0);
	assert_pattern(p, 60000, 5536);
	assert_int_equal(st->reads, 2);
	assert_true(st->bytes <= IMG_SOURCE_HEAD_FIRST + 5536 + st->align);
	/* a request across the first block reads from the start */
	assert_int_equal(img_get(&r, 4000, 200, &p), 0);
	assert_pattern(p, 4000, 200);
	assert_int_equal(img_get(&r, 0, 2 * IMG_SOURCE_HEAD_FIRST, &p), 0);
	assert_pattern(p, 0, 2 * IMG_SOURCE_HEAD_FIRST);
	assert_int_equal(st->reads, 3);

	/* the tail window: one more read, ending at the end of the volume */
	assert_int_equal(img_get_end(&r, 512, 512, &p), 0);
	assert_pattern(p, size - 512, 512);
	assert_int_equal(img_get_end(&r, 1536, 1536, &p), 0);
	assert_pattern(p, size - 1536, 1536);
	assert_int_equal(img_get_end(&r, 1, 1, &p), 0);
	assert_pattern(p, size - 1, 1);
	assert_true(st->reads <= 4 + 1); /* a short read at the end may take one more call */
	unsigned reads = st->reads;

	/* elsewhere: one aligned region on demand, then cached */
	assert_int_equal(img_get(&r, 300001, 10, &p), 0);
	assert_pattern(p, 300001, 10);
	assert_int_equal(st->reads, reads + 1);
	assert_int_equal(img_get(&r, 300003, 5, &p), 0);
	assert_int_equal(st->reads, reads + 1);

	/* past the end: refused by the core, no read */
	assert_int_equal(img_get(&r, size - 1, 2, &p), -ERANGE);

	/* closed: cached data is still served */
	img_source_close(s);
	assert_int_equal(img_get(&r, 0, 16, &p), 0);
	assert_pattern(p, 0, 16);
	img_source_free(s);
}

static void test_offset(void **state)
{
	const uint64_t size = 200000;
	const char *path = make_file("offset", size);
	struct img_source *s;
	struct img_reader r;
	const uint8_t *p;

	(void)state;
	/* an unaligned offset: byte 0 of the reader is byte 1234 of the file */
	assert_int_equal(img_source_open(path, 1234, false, &s), 0);
	img_source_reader(s, &r);
	assert_int_equal(r.size, size - 1234);
	assert_int_equal(img_get(&r, 0, 4096, &p), 0);
	assert_pattern(p, 1234, 4096);
	assert_int_equal(img_get(&r, IMG_SOURCE_HEAD - 10, 10, &p), 0);
	assert_pattern(p, 1234 + IMG_SOURCE_HEAD - 10, 10);
	/* end-relative reads count from the end of the target */
	assert_int_equal(img_get_end(&r, 512, 512, &p), 0);
	assert_pattern(p, size - 512, 512);
	img_source_free(s);

	assert_int_equal(img_source_open(path, size, false, &s), 0);
	img_source_reader(s, &r);
	assert_int_equal(r.size, 0);
	img_source_free(s);
	assert_int_equal(img_source_open(path, size + 1, false, &s), -EINVAL);
}

/*
 * A file of size bytes (make_file), open, its first windows read through a
 * ring that its later misses are deferred to.  Skips the test where there is
 * no io_uring (built without liburing, or not allowed here).
 */
static void open_deferred(const char *name, uint64_t size, struct img_source **s,
                          struct img_prefetch **pf, struct img_reader *r)
{
	assert_int_equal(img_source_open(make_file(name, size), 0, false, s), 0);
	*pf = img_prefetch_new(4);
	if (!*pf || prefetch_all(*pf, s, 1) < 0) {
		img_prefetch_free(*pf);
		img_source_free(*s);
		skip();
	}
	img_source_reader(*s, r);
	img_source_defer(*s, *pf);
}

/* a volume that holds 2 MiB reads on, on demand, even in a bulk scan */
static void test_defer_held(void **state)
{
	struct img_source *s;
	struct img_prefetch *pf;
	struct img_reader r;
	const uint8_t *p;
	unsigned reads;

	(void)state;
	open_deferred("deferheld", 6000000, &s, &pf, &r);
	/* 1 MiB more: still deferred */
	assert_int_equal(img_get(&r, 1000000, 1048576, &p), -EAGAIN);
	assert_true(img_source_take_miss(s));
	assert_int_equal(img_prefetch_wait(pf), 0);
	assert_int_equal(img_get(&r, 1000000, 1048576, &p), 0);
	assert_pattern(p, 1000000, 1048576);
	/* 1 MiB beyond that would pass 2 MiB held: read at once, nothing queued */
	reads = img_source_stats(s)->reads;
	assert_int_equal(img_get(&r, 3000000, 1048576, &p), 0);
	assert_pattern(p, 3000000, 1048576);
	assert_false(img_source_take_miss(s));
	assert_int_equal(img_source_stats(s)->reads, reads + 1);
	img_source_free(s);
	img_prefetch_free(pf);
}

/* deferred reads: queued at the first miss, the rest of the run cut short */
static void test_defer(void **state)
{
	struct img_source *s;
	struct img_prefetch *pf;
	struct img_reader r;
	const uint8_t *p;
	unsigned reads;

	(void)state;
	open_deferred("defer", 3000000, &s, &pf, &r);
	reads = img_source_stats(s)->reads;
	/* cached: served at once */
	assert_int_equal(img_get(&r, 100, 100, &p), 0);
	assert_false(img_source_take_miss(s));
	/* a miss: queued, -EAGAIN; a second miss in the same run is not queued */
	assert_int_equal(img_get(&r, 1000000, 100, &p), -EAGAIN);
	assert_int_equal(img_get(&r, 2000000, 100, &p), -EAGAIN);
	assert_true(img_source_take_miss(s));
	assert_false(img_source_take_miss(s));
	assert_int_equal(img_prefetch_wait(pf), 0);
	assert_int_equal(img_source_stats(s)->reads, reads + 1);
	/* the next run: the first block is there, the second is the next miss */
	assert_int_equal(img_get(&r, 1000000, 100, &p), 0);
	assert_pattern(p, 1000000, 100);
	assert_int_equal(img_get(&r, 2000000, 100, &p), -EAGAIN);
	assert_true(img_source_take_miss(s));
	assert_int_equal(img_prefetch_wait(pf), 0);
	/* back to reads on demand: nothing deferred */
	img_source_defer(s, NULL);
	assert_int_equal(img_get(&r, 2000000, 100, &p), 0);
	assert_pattern(p, 2000000, 100);
	assert_int_equal(img_get(&r, 2500000, 100, &p), 0);
	assert_pattern(p, 2500000, 100);
	assert_false(img_source_take_miss(s));
	assert_int_equal(img_source_stats(s)->reads, reads + 3);
	/* a wait with nothing in flight is no failure */
	assert_int_equal(img_prefetch_wait(pf), 0);
	assert_int_equal(img_prefetch_error(pf), 0);
	assert_int_equal(img_prefetch_error(NULL), 0);
	img_source_free(s);
	img_prefetch_free(pf);
}

/* a smaller first read where no ISO 9660 block is wanted (--udev under udev) */
static void test_small_head(void **state)
{
	const char *path = make_file("smallhead", 300000);
	struct img_source *s;
	struct img_reader r;
	const uint8_t *p;

	(void)state;
	assert_int_equal(img_source_open(path, 0, false, &s), 0);
	img_source_set_head(s, 4096);
	img_source_reader(s, &r);
	assert_int_equal(img_get(&r, 0, 512, &p), 0);
	assert_pattern(p, 0, 512);
	assert_int_equal(img_source_stats(s)->reads, 1);
	assert_int_equal(img_source_stats(s)->bytes, 4096);
	/* a vmdk descriptor continuing past it: only the rest is read */
	assert_int_equal(img_get(&r, 512, 10240, &p), 0);
	assert_pattern(p, 512, 10240);
	assert_int_equal(img_source_stats(s)->reads, 2);
	assert_true(img_source_stats(s)->bytes <= 4096 + 8192);
	img_source_free(s);
}

static void test_small_file(void **state)
{
	const char *path = make_file("small", 100);
	struct img_source *s;
	struct img_reader r;
	const uint8_t *p;
	struct stat st;
	size_t n;

	(void)state;
	/* opened with the caller's stat of the path, checked again once open */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(img_source_open_stat(path, &st, 0, false, &s), 0);
	img_source_reader(s, &r);
	assert_int_equal(img_get_upto(&r, 0, 65536, &p, &n), 0);
	assert_int_equal(n, 100);
	assert_pattern(p, 0, 100);
	assert_int_equal(img_get_end(&r, 100, 100, &p), 0);
	assert_pattern(p, 0, 100);
	img_source_free(s);
}

static void test_buffered(void **state)
{
	const char *path = make_file("buffered", 70000);
	struct img_source *s;
	struct img_reader r;
	const uint8_t *p;

	(void)state;
	assert_int_equal(img_source_open(path, 3, true, &s), 0);
	img_source_reader(s, &r);
	assert_false(img_source_stats(s)->direct);
	assert_int_equal(img_get_end(&r, 4, 4, &p), 0);
	assert_pattern(p, 70000 - 4, 4);
	img_source_free(s);
}

/*
 * A forward walk in small steps past the head window (a 2 MiB qcow2
 * extension area, a long feature-name table): reads coalesce into regions
 * that double, instead of a region per step until the region table is full.
 */
static void test_walk_coalesces(void **state)
{
	const char *path = make_file("walk", 4u << 20);
	struct img_source *s;
	struct img_reader r;
	const uint8_t *p;

	(void)state;
	assert_int_equal(img_source_open(path, 0, false, &s), 0);
	img_source_reader(s, &r);
	for (uint64_t off = 0; off + 512 <= (2u << 20); off += 2056) {
		assert_int_equal(img_get(&r, off, 512, &p), 0);
		assert_pattern(p, off, 512);
	}
	/* ~1000 steps: a handful of reads, at most about twice the bytes walked */
	assert_true(img_source_stats(s)->reads <= 24);
	assert_true(img_source_stats(s)->bytes <= 2 * (2u << 20) + 65536);
	img_source_free(s);

	/* the same walk with 8-byte steps */
	assert_int_equal(img_source_open(path, 0, false, &s), 0);
	img_source_reader(s, &r);
	for (uint64_t off = 0; off + 8 <= (2u << 20); off += 8)
		assert_int_equal(img_get(&r, off, 8, &p), 0);
	assert_true(img_source_stats(s)->reads <= 24);
	img_source_free(s);
}

static void test_byte_cap(void **state)
{
	char path[256];
	struct img_source *s;
	struct img_reader r;
	const uint8_t *p;
	int fd, rc = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/sparse", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1ll << 30), 0);
	close(fd);

	assert_int_equal(img_source_open(path, 0, false, &s), 0);
	img_source_reader(s, &r);
	/* 4 MiB requests at distinct places: the third would pass the 8 MiB cap */
	for (unsigned i = 0; i < 4 && rc == 0; i++)
		rc = img_get(&r, (uint64_t)(i + 1) * 100 * 1024 * 1024, IMG_READ_MAX, &p);
	assert_int_equal(rc, -E2BIG);
	assert_true(img_source_stats(s)->bytes <= IMG_SOURCE_BYTE_CAP);
	img_source_free(s);
}

static void test_shrunk(void **state)
{
	const char *path = make_file("shrink", 500000);
	struct img_source *s;
	struct img_reader r;
	const uint8_t *p;

	(void)state;
	assert_int_equal(img_source_open(path, 0, false, &s), 0);
	img_source_reader(s, &r);
	assert_int_equal(truncate(path, 1000), 0);
	/* the size said 500000: a region past the new end is an I/O error */
	assert_int_equal(img_get(&r, 300000, 512, &p), -EIO);
	img_source_free(s);
}

/* batched head and tail reads: the probes' first requests then cost no read */
static void test_prefetch(void **state)
{
	struct img_source *s[4];
	struct img_prefetch *pf;
	struct img_reader r;
	const uint8_t *p;
	const char *path;
	unsigned reads;

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "prefetch%u", i);
		path = make_file(name, 100000 + i * 4097);
		assert_int_equal(img_source_open(path, i * 3, false, &s[i]), 0);
	}
	pf = img_prefetch_new(3);
	if (prefetch_all(pf, s, 3) < 0) {
		/* built without liburing, or no io_uring here: on-demand reads only */
		for (unsigned i = 0; i < 3; i++)
			img_source_free(s[i]);
		img_prefetch_free(pf);
		skip();
	}
	/* the context serves another batch */
	assert_int_equal(img_source_open(path, 0, false, &s[3]), 0);
	assert_int_equal(prefetch_all(pf, s + 3, 1), 0);
	assert_int_equal(img_source_stats(s[3])->reads, 2);
	img_source_free(s[3]);
	img_prefetch_free(pf);
	for (unsigned i = 0; i < 3; i++) {
		uint64_t size = 100000 + i * 4097;

		img_source_reader(s[i], &r);
		reads = img_source_stats(s[i])->reads;
		/* head (with the ISO 9660 magic at 32769) and tail */
		assert_int_equal(reads, 2);
		assert_int_equal(img_get(&r, 0, 512, &p), 0);
		assert_pattern(p, i * 3, 512);
		assert_int_equal(img_get_end(&r, 512, 512, &p), 0);
		assert_pattern(p, size - 512, 512);
		assert_int_equal(img_get(&r, 32769, 5, &p), 0);
		assert_pattern(p, i * 3 + 32769, 5);
		assert_int_equal(img_source_stats(s[i])->reads, reads);
		img_source_free(s[i]);
	}
}

/* the deadline of a read: none for 0 ms, saturated instead of wrapped */
static void test_deadline_after(void **state)
{
	(void)state;
	assert_int_equal(img_deadline_after(12345, 0), 0);
	assert_int_equal(img_deadline_after(5, 1), 1000005);
	assert_int_equal(img_deadline_after(1000000000, 10000), 11000000000ull);
	assert_true(img_deadline_after(UINT64_MAX - 10, 1) == UINT64_MAX);
	assert_true(img_deadline_after(0, UINT64_MAX) == UINT64_MAX);
	assert_true(img_deadline_after(0, UINT64_MAX / 1000000u + 1) == UINT64_MAX);
	assert_true(img_clock_ns() > 0);
}

/*
 * A source whose reads never return: its descriptor is made the read end of
 * a pipe nobody writes to (a test-only swap: the reader opens files and
 * block devices only).  wfd: the write end, kept open by the caller.
 */
static struct img_source *open_stuck(const char *name, int *wfd)
{
	struct img_source *s;
	int fd, pfd[2];

	assert_int_equal(img_source_open(make_file(name, 200000), 0, true, &s), 0);
	fd = img_source_buffered_fd(s);
	assert_true(fd >= 0);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(dup2(pfd[0], fd), fd);
	close(pfd[0]);
	*wfd = pfd[1];
	return s;
}

/*
 * --timeout: a read made at once through the ring (img_source_sync) is
 * waited for until its deadline, then left behind: -ETIMEDOUT, the source
 * marked, every later request refused, the ring given up and freed without
 * waiting.  alarm(): a wait that never ends fails the test instead of
 * hanging it.
 */
static void test_timeout_sync(void **state)
{
	struct img_prefetch *pf;
	struct img_source *s;
	struct img_reader r;
	const uint8_t *p;
	int wfd;

	(void)state;
	pf = img_prefetch_new(2);
	if (!pf)
		skip(); /* built without liburing, or no io_uring here */
	alarm(30);
	s = open_stuck("stuck-sync", &wfd);
	img_source_reader(s, &r);
	img_source_set_timeout(s, 100);
	img_source_sync(s, pf);
	assert_int_equal(img_get(&r, 0, 512, &p), -ETIMEDOUT);
	assert_true(img_source_timed_out(s));
	assert_int_equal(img_prefetch_error(pf), -ETIMEDOUT);
	/* nothing more of it: not even what a cache could hold */
	assert_int_equal(img_get(&r, 0, 512, &p), -ETIMEDOUT);
	assert_int_equal(img_source_stats(s)->reads, 0);
	/* a ring given up: no more waits on it, and freeing it does not wait */
	assert_int_equal(img_prefetch_wait(pf), -EIO);
	img_prefetch_free(pf);
	img_source_free(s);
	close(wfd);
	alarm(0);
}

/*
 * A batch with a stuck volume and a sound one: the wait ends at the
 * deadline, with the sound volume's reads in and the stuck one marked.
 */
static void test_timeout_batch(void **state)
{
	struct img_source *s[2];
	struct img_prefetch *pf;
	struct img_reader r;
	const uint8_t *p;
	int wfd;

	(void)state;
	pf = img_prefetch_new(2);
	if (!pf)
		skip();
	alarm(30);
	s[0] = open_stuck("stuck-batch", &wfd);
	assert_int_equal(img_source_open(make_file("sound-batch", 300000), 0, false, &s[1]), 0);
	for (unsigned i = 0; i < 2; i++) {
		img_source_set_timeout(s[i], 100);
		assert_int_equal(img_prefetch_add(pf, s[i]), 0);
	}
	assert_int_equal(img_prefetch_wait(pf), -ETIMEDOUT);
	assert_int_equal(img_prefetch_error(pf), -ETIMEDOUT);
	assert_true(img_source_timed_out(s[0]));
	assert_false(img_source_timed_out(s[1]));
	/* the sound volume's head and tail came in: served without a read */
	img_source_reader(s[1], &r);
	assert_int_equal(img_source_stats(s[1])->reads, 2);
	assert_int_equal(img_get(&r, 0, 512, &p), 0);
	assert_pattern(p, 0, 512);
	assert_int_equal(img_get_end(&r, 512, 512, &p), 0);
	assert_pattern(p, 300000 - 512, 512);
	assert_int_equal(img_source_stats(s[1])->reads, 2);
	img_source_reader(s[0], &r);
	assert_int_equal(img_get(&r, 0, 512, &p), -ETIMEDOUT);
	img_prefetch_free(pf);
	img_source_free(s[0]);
	img_source_free(s[1]);
	close(wfd);
	alarm(0);
}

/*
 * A read made at once times out while another volume's deferred read is out
 * on the same ring: that read either came in while the wait went on (taken
 * as a batch wait takes it) or is lost with the ring; either way the other
 * volume, probed again with a new ring, gets its data.
 */
static void test_timeout_renew(void **state)
{
	struct img_prefetch *pf, *pf2;
	struct img_source *s, *stuck;
	struct img_reader r, rs;
	const uint8_t *p;
	int wfd;

	(void)state;
	open_deferred("renew", 3000000, &s, &pf, &r);
	alarm(30);
	img_source_set_timeout(s, 100);
	/* the sound volume's read is out on pf */
	assert_int_equal(img_get(&r, 1000000, 100, &p), -EAGAIN);
	assert_true(img_source_take_miss(s));
	/* the stuck one's read, made at once on pf, times out */
	stuck = open_stuck("renew-stuck", &wfd);
	img_source_reader(stuck, &rs);
	img_source_set_timeout(stuck, 100);
	img_source_sync(stuck, pf);
	assert_int_equal(img_get(&rs, 0, 512, &p), -ETIMEDOUT);
	assert_int_equal(img_prefetch_error(pf), -ETIMEDOUT);
	assert_false(img_source_timed_out(s));
	/* a new ring: the sound volume's read is deferred again there */
	pf2 = img_prefetch_new(4);
	assert_non_null(pf2);
	img_prefetch_free(pf);
	img_source_defer(s, pf2);
	if (img_get(&r, 1000000, 100, &p) == -EAGAIN) {
		assert_true(img_source_take_miss(s));
		assert_int_equal(img_prefetch_wait(pf2), 0);
	}
	assert_int_equal(img_get(&r, 1000000, 100, &p), 0);
	assert_pattern(p, 1000000, 100);
	img_prefetch_free(pf2);
	img_source_free(s);
	img_source_free(stuck);
	close(wfd);
	alarm(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_swapped),
		cmocka_unit_test(test_head_tail_regions),
		cmocka_unit_test(test_offset),
		cmocka_unit_test(test_small_head),
		cmocka_unit_test(test_defer),
		cmocka_unit_test(test_defer_held),
		cmocka_unit_test(test_small_file),
		cmocka_unit_test(test_buffered),
		cmocka_unit_test(test_walk_coalesces),
		cmocka_unit_test(test_byte_cap),
		cmocka_unit_test(test_shrunk),
		cmocka_unit_test(test_prefetch),
		cmocka_unit_test(test_deadline_after),
		cmocka_unit_test(test_timeout_sync),
		cmocka_unit_test(test_timeout_batch),
		cmocka_unit_test(test_timeout_renew),
	};

	return cmocka_run_group_tests(tests, setup, teardown) ? 1 : 0;
}
