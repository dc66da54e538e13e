/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reader over a block device or a regular file (docs/security.md, rules 5,
 * 8 and 9).
 *
 * Opened O_RDONLY|O_CLOEXEC|O_NONBLOCK|O_NOCTTY|O_DIRECT: never writable (a
 * writable close fires udev's inotify watch), never O_EXCL (it would claim the
 * device).  Every read's offset, length and buffer are aligned to the volume's
 * direct-I/O alignment (statx STATX_DIOALIGN, else BLKSSZGET, else 4096).
 * Probes ask for byte ranges; they are served from a few cached regions: the
 * head window (the first IMG_SOURCE_HEAD_FIRST, 36 KiB, from the probe offset
 * in one read, or 4 KiB where img_source_set_head asks for less; then up to
 * IMG_SOURCE_HEAD, 64 KiB, when a header continues), the tail window (the last
 * whole aligned blocks) and, only when a header points elsewhere, regions read
 * on demand.  The bytes read per volume never exceed IMG_SOURCE_BYTE_CAP.
 * Where O_DIRECT is refused (EINVAL at open or read: tmpfs, some FUSE) the
 * reads fall back to buffered I/O and the stats say so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <linux/fs.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif

#include "io/source.h"
#include "probe/bytes.h"

#define MAX_REGIONS 256
/* bytes a volume may hold and still have its next read deferred (bulk scans) */
#define DEFER_HELD_MAX (2u * 1024 * 1024)
/* bytes a forward walk reads ahead of what it asked for, at most */
#define WALK_AHEAD_MAX (4u * 1024 * 1024)

struct region {
	uint64_t start; /* absolute offset in the target, aligned */
	size_t len;     /* bytes valid in buf */
	uint8_t *buf;
};

struct img_source {
	int fd;
	/* probe tracing (img_source_set_trace), copied into each reader */
	void (*trace)(void *trace_ctx, const char *line);
	void *trace_ctx;
	uint64_t total;  /* bytes of the whole target */
	/*
	 * bytes that can be read: a block device whose size is not a multiple
	 * of its logical block size (a 4096-byte-sector loop device over an odd
	 * file) cannot deliver its partial last block, with O_DIRECT or not
	 */
	uint64_t readable;
	uint64_t offset; /* where the image starts */
	uint64_t cached; /* bytes read so far */
	uint64_t held;   /* bytes of region buffers held (reads and merged copies) */
	uint64_t cap;    /* never read more than this */
	uint32_t head_first; /* bytes of the first head read */
	struct img_prefetch *defer; /* reads the cache misses are queued here (bulk scans) */
	bool missed;     /* a read was queued since the last img_source_take_miss() */
	/*
	 * Bulk scans: every read must be in within timeout_ms of being queued
	 * (0: no limit), and on-demand reads go through the ring sync so that
	 * the wait for them can end then.  timed_out: a read did not come in
	 * time and was left behind; every later request fails with -ETIMEDOUT.
	 */
	uint64_t timeout_ms;
	struct img_prefetch *sync;
	bool timed_out;
	bool borrowed;   /* fd duplicates a caller's descriptor: its flags are not ours */
	unsigned n;
	struct img_source_stats st;
	struct region r[MAX_REGIONS]; /* last: not cleared at open */
};

static uint64_t align_down(uint64_t v, uint32_t a)
{
	return v - v % a;
}

static uint64_t align_up(uint64_t v, uint32_t a)
{
	uint64_t r = v % a;

	return r ? v + (a - r) : v;
}

static uint32_t clamp_align(uint64_t a)
{
	uint32_t v = 512;

	/* a power of two in [512, 64 KiB] */
	while (v < a && v < 65536)
		v <<= 1;
	return v;
}

/*
 * What fd is (mode, size, which inode) and its direct-I/O alignment as the
 * kernel reports it (*dio 0 when it does not say): one statx() call, fstat()
 * where statx is unavailable.  fd may be an O_PATH descriptor.
 */
static int fd_stat(int fd, struct stat *st, uint32_t *dio)
{
	*dio = 0;
#ifdef STATX_DIOALIGN
	struct statx stx;
	const unsigned want = STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO;

	if (statx(fd, "", AT_EMPTY_PATH, want | STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & want) == want) {
		memset(st, 0, sizeof(*st));
		st->st_mode = stx.stx_mode;
		st->st_size = (off_t)stx.stx_size;
		st->st_ino = stx.stx_ino;
		st->st_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
		st->st_rdev = makedev(stx.stx_rdev_major, stx.stx_rdev_minor);
		if ((stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align > 0) {
			*dio = stx.stx_dio_offset_align;
			if (stx.stx_dio_mem_align > *dio)
				*dio = stx.stx_dio_mem_align;
		}
		return 0;
	}
#endif
	return fstat(fd, st) < 0 ? -errno : 0;
}

int img_source_open(const char *path, uint64_t offset, bool no_direct, struct img_source **ret)
{
	return img_source_open_stat(path, NULL, offset, no_direct, ret);
}

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * Open the inode that the O_PATH descriptor opath (st: its stat) names, not
 * whatever path names by now: through /proc/self/fd.  Without /proc, path
 * is opened by name and must turn out to be that inode.
 */
static int reopen(int opath, const struct stat *st, const char *path, int flags)
{
	char proc[32];
	struct stat now;
	int fd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", opath);
	fd = open(proc, flags);
	if (fd >= 0 || errno != ENOENT)
		return fd < 0 ? -errno : fd;
	fd = open(path, flags);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &now) < 0 || !same_inode(&now, st)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/*
 * A block device's size in bytes and logical block size (*align, left as is
 * when the device does not say); 0 or -errno.
 */
static int block_dev_size(int fd, uint64_t *total, uint32_t *align)
{
	uint64_t size;
	int ssz = 0;

	if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
		/* not a real block driver (an emulated node in a test bed): its end */
		off_t end = lseek(fd, 0, SEEK_END);

		if (end < 0)
			return -errno;
		size = (uint64_t)end;
	}
	/* nothing behind it (a loop device detached under us, no medium) */
	if (size == 0)
		return -ENOMEDIUM;
	*total = size;
	if (ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz > 0)
		*align = (uint32_t)ssz;
	return 0;
}

/*
 * The alignment (the device's logical block size a, or what O_DIRECT asks,
 * dio), the image's window [offset, offset + size) (size 0: to the end; -EINVAL
 * when it does not fit in s->total) and the read budget of a new source.
 */
static int source_bounds(struct img_source *s, uint32_t a, uint32_t dio, uint64_t offset,
                         uint64_t size)
{
	if (dio > a)
		a = dio;
	s->st.align = clamp_align(a ? a : 4096);
	if (offset > s->total || (size && size > s->total - offset))
		return -EINVAL;
	if (size)
		s->total = offset + size;
	s->offset = offset;
	s->cap = IMG_SOURCE_BYTE_CAP;
	s->head_first = IMG_SOURCE_HEAD_FIRST;
	s->readable = s->total;
	if (s->st.is_block && a)
		s->readable = align_down(s->total, a);
	return 0;
}

int img_source_open_stat(const char *path, const struct stat *pre, uint64_t offset, bool no_direct,
                         struct img_source **ret)
{
	struct img_source *s;
	struct stat st;
	int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	int fd = -1, opath, r;
	uint32_t a = 0, dio;

	*ret = NULL;
	/* never open what is neither a regular file nor a block device */
	if (pre && !S_ISREG(pre->st_mode) && !S_ISBLK(pre->st_mode))
		return -ENOTBLK;
	/*
	 * The path is looked up once, into an O_PATH descriptor: no driver's
	 * open() runs for it (a FIFO, a watchdog, a tape).  What it names is
	 * checked, and must be what the caller checked (pre: the sysfs
	 * verdict was about that device), and then that very inode is opened.
	 * A path swapped for a FIFO or a character device in between is never
	 * opened.
	 */
	opath = open(path, O_PATH | O_CLOEXEC);
	if (opath < 0)
		return -errno;
	r = fd_stat(opath, &st, &dio);
	if (r == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		r = -ENOTBLK;
	if (r == 0 && pre && !same_inode(pre, &st))
		r = -ESTALE;
	if (r < 0) {
		close(opath);
		return r;
	}

	/* the region table needs no clearing: n bounds it */
	s = malloc(sizeof(*s));
	if (!s) {
		close(opath);
		return -ENOMEM;
	}
	memset(s, 0, offsetof(struct img_source, r));
	s->fd = -1;

	if (!no_direct) {
		fd = reopen(opath, &st, path, flags | O_DIRECT);
		if (fd >= 0)
			s->st.direct = true;
		else if (fd == -EINVAL)
			s->st.direct_refused = true;
	}
	if (fd == -EINVAL || (no_direct && fd < 0))
		fd = reopen(opath, &st, path, flags);
	close(opath);
	if (fd < 0) {
		r = fd;
		goto fail;
	}
	s->fd = fd;

	if (S_ISBLK(st.st_mode)) {
		s->st.is_block = true;
		r = block_dev_size(fd, &s->total, &a);
		if (r < 0)
			goto fail;
	} else if (S_ISREG(st.st_mode)) {
		s->total = (uint64_t)st.st_size;
	} else {
		r = -ENOTBLK;
		goto fail;
	}

	r = source_bounds(s, a, dio, offset, 0);
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	img_source_free(s);
	return r;
}

int img_source_from_fd(int fd, uint64_t offset, uint64_t size, struct img_source **ret)
{
	struct img_source *s;
	struct stat st;
	uint32_t a = 0, dio;
	int fl, r;

	*ret = NULL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if ((fl & O_ACCMODE) == O_WRONLY || (fl & O_PATH))
		return -EBADF;
	r = fd_stat(fd, &st, &dio);
	if (r < 0)
		return r;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return -ENOTBLK;
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s, 0, offsetof(struct img_source, r));
	s->borrowed = true;
	s->st.direct = (fl & O_DIRECT) != 0;
	s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (s->fd < 0) {
		r = -errno;
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		s->st.is_block = true;
		r = block_dev_size(fd, &s->total, &a);
		if (r < 0)
			goto fail;
	} else {
		s->total = (uint64_t)st.st_size;
	}
	r = source_bounds(s, a, dio, offset, size);
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	img_source_free(s);
	return r;
}

static ssize_t ring_read(struct img_source *s, uint8_t *buf, size_t len, uint64_t off, bool *left);

/*
 * pread exactly [start, start+len) or to the end of the target; returns bytes
 * or -errno.  *left: a read was left in flight (timed out, or its ring
 * failed): buf must never be freed or reused, the kernel may still fill it.
 */
static ssize_t read_region(struct img_source *s, uint64_t start, size_t len, uint8_t *buf, bool *left)
{
	size_t got = 0;
	bool retried = false;

	*left = false;
	while (got < len) {
		ssize_t n;

		if (s->fd < 0)
			return -EBADF;
		/* bounded: through the ring, waited for until the deadline only */
		n = ring_read(s, buf + got, len - got, start + got, left);
		if (*left)
			return n;
		if (n == -EAGAIN) {
			n = pread(s->fd, buf + got, len - got, (off_t)(start + got));
			if (n < 0)
				n = -errno;
		}
		if (n < 0) {
			errno = (int)-n;
			if (errno == EINTR)
				continue;
			if (errno == EINVAL && s->st.direct && !retried) {
				/* O_DIRECT refused at read time: go buffered, once */
				int fl = fcntl(s->fd, F_GETFL);

				if (fl < 0 || fcntl(s->fd, F_SETFL, fl & ~O_DIRECT) < 0)
					return -EINVAL;
				s->st.direct = false;
				s->st.direct_refused = true;
				retried = true;
				continue;
			}
			return -errno;
		}
		s->st.reads++;
		s->st.bytes += (uint64_t)n;
		if (n == 0)
			break; /* end of the target: a short read is normal there */
		got += (size_t)n;
		/* O_DIRECT reads return whole blocks: a partial one means the end */
		if (s->st.direct && (size_t)n % s->st.align)
			break;
	}
	return (ssize_t)got;
}

/* remember [start, start+len) of buf as a cached region; buf is taken over */
static void add_region(struct img_source *s, uint64_t start, size_t len, uint8_t *buf)
{
	struct region *rg = &s->r[s->n++];

	rg->start = start;
	rg->len = len;
	rg->buf = buf;
}

/* the first head block: where every probe starts; a small volume whole */
static void head_window(const struct img_source *s, uint64_t *start, uint64_t *stop)
{
	uint32_t a = s->st.align;

	*start = align_down(s->offset, a);
	*stop = s->offset + s->head_first;
	if (s->readable - s->offset <= s->head_first + IMG_SOURCE_TAIL)
		*stop = s->readable; /* head and tail in one read */
	if (*stop > s->readable)
		*stop = s->readable;
	*stop = align_up(*stop, a);
}

/* the tail window: whole aligned blocks ending at the end of the target */
static void tail_window(const struct img_source *s, uint64_t *start, uint64_t *stop)
{
	uint32_t a = s->st.align;

	*start = s->readable >= IMG_SOURCE_TAIL ? s->readable - IMG_SOURCE_TAIL : 0;
	if (*start < s->offset)
		*start = s->offset;
	*start = align_down(*start, a);
	*stop = align_up(s->readable, a);
}

/*
 * A region that holds the start of [abs, end) but not its end, and ends on
 * a whole block: the request continues a header it holds (a vmdk
 * descriptor, a long extension area), so only the rest is read.
 */
static struct region *continued_region(struct img_source *s, uint64_t abs, uint64_t end)
{
	for (unsigned i = 0; i < s->n; i++) {
		struct region *rg = &s->r[i];
		uint64_t rend = rg->start + rg->len;

		if (abs >= rg->start && abs < rend && end > rend && rend % s->st.align == 0)
			return rg;
	}
	return NULL;
}

/*
 * The longest region that [abs, ...) continues or follows within its own
 * length: 0 when the miss is not part of a forward walk.
 */
static uint64_t walked_len(const struct img_source *s, uint64_t abs)
{
	uint64_t best = 0;

	for (unsigned i = 0; i < s->n; i++) {
		const struct region *rg = &s->r[i];

		/* abs is inside the region or at most its length past its end */
		if (rg->start <= abs && abs - rg->start <= 2 * (uint64_t)rg->len && rg->len > best)
			best = rg->len;
	}
	return best;
}

/*
 * Past the head window, a miss that walks on from a cached region (a long
 * qcow2 extension area or feature-name table, read a few hundred bytes at
 * a time) reads twice that region's length: a walk over n bytes takes
 * O(log n) regions and at most about 2n bytes, instead of a region per
 * probe-sized step (which ran out of regions).  What is read ahead of
 * the request is at most WALK_AHEAD_MAX and half the bytes the cap has
 * left, so the rest of the probe (a footer, another format) can still
 * read; the read never shrinks below [start, stop).
 */
static uint64_t walk_ahead(const struct img_source *s, uint64_t abs, uint64_t start, uint64_t keep,
                           uint64_t stop)
{
	uint64_t prev = walked_len(s, abs), want, room;

	if (!prev || stop > s->readable)
		return stop;
	want = start + 2 * prev;
	if (want > s->readable)
		want = s->readable;
	if (want <= start + keep)
		return stop;
	if (want > stop && want - stop > WALK_AHEAD_MAX)
		want = stop + WALK_AHEAD_MAX;
	room = (s->cap - s->cached) / 2; /* cached <= cap */
	if (want - start - keep > room)
		want = start + keep + room;
	if (s->held + (want - start) > 2 * s->cap)
		return stop;
	want = align_down(want, s->st.align);
	return want > stop ? want : stop;
}

static int defer_read(struct img_source *s, uint64_t start, uint64_t stop);

static int fd_get(void *ctx, uint64_t off, size_t len, const uint8_t **ret)
{
	struct img_source *s = ctx;
	uint64_t abs = s->offset + off, end = abs + len, start, stop, keep = 0;
	uint32_t a = s->st.align;
	struct region *rg, *cont;
	const uint8_t *keep_src = NULL;
	uint8_t *buf;
	bool left;
	ssize_t n;
	void *p;

	/* a read of this volume was left behind: nothing more of it is trusted */
	if (s->timed_out)
		return -ETIMEDOUT;
	for (unsigned i = 0; i < s->n; i++) {
		rg = &s->r[i];
		if (abs >= rg->start && end <= rg->start + rg->len) {
			*ret = rg->buf + (abs - rg->start);
			return 0;
		}
	}
	/* the partial last block of a block device: not there, as past the end */
	if (end > s->readable)
		return -ERANGE;

	if (off + len <= s->head_first) {
		/* the first part of the head window: every format's header proper */
		head_window(s, &start, &stop);
	} else if (off + len <= IMG_SOURCE_HEAD) {
		/* more of the head window, just the 4 KiB blocks asked for, for headers that
		 * continue (long qcow2 extension areas): bandwidth is what costs */
		start = align_down(s->offset + (off >= s->head_first ? off : 0), a);
		stop = s->offset + align_up(off + len, 4096);
		if (stop > s->offset + IMG_SOURCE_HEAD)
			stop = s->offset + IMG_SOURCE_HEAD;
	} else if (s->total - abs <= IMG_SOURCE_TAIL) {
		tail_window(s, &start, &stop);
		if (start > abs)
			start = align_down(abs, a);
	} else {
		start = align_down(abs, a);
		stop = end;
	}
	if (stop > s->readable)
		stop = s->readable;
	if (stop < end)
		stop = end;
	stop = align_up(stop, a);

	/*
	 * A request that continues a cached region: a new region made of a copy
	 * of that one and a read of the rest only.  The old region stays: the
	 * probe may still hold pointers into it.
	 */
	cont = continued_region(s, abs, end);
	if (cont) {
		start = cont->start;
		keep = cont->len;
		keep_src = cont->buf;
	}
	if (end > s->offset + IMG_SOURCE_HEAD) {
		/*
		 * A walk: a request that continues a region starts a new region
		 * at its own first block, with only the part of it the region
		 * holds copied over (at most the request), rather than a copy of
		 * the whole region at every step: that copying was quadratic.
		 */
		if (cont && walked_len(s, abs)) {
			start = align_down(abs, a);
			if (start < cont->start)
				start = cont->start;
			keep = cont->start + cont->len - start;
			keep_src = cont->buf + (start - cont->start);
		}
		stop = walk_ahead(s, abs, start, keep, stop);
	}
	if (s->n >= MAX_REGIONS || stop - start > s->cap || s->cached + (stop - start - keep) > s->cap ||
	    s->held + (stop - start) > 2 * s->cap)
		return -E2BIG;
	/*
	 * A bulk scan defers the read: queued on the worker's ring at once, and
	 * the probe, stopped here, runs again when the data is in.  Only the
	 * first miss of a run is queued: it is the one read a run on demand
	 * would make next.  A continuation is read at once (it joins a region).
	 * A volume that already holds DEFER_HELD_MAX reads on, on demand, to its
	 * end: so the many volumes a worker has open each hold a few headers'
	 * worth, and only the one it is reading holds up to the cap (--deep
	 * over tables that fill the budget, hostile or huge).
	 */
	if (s->defer && !keep && s->held + (stop - start) <= DEFER_HELD_MAX) {
		if (s->missed)
			return -EAGAIN;
		if (defer_read(s, start, stop) == 0) {
			s->missed = true;
			return -EAGAIN;
		}
		/* the ring is full or gone: read now */
	}
	if (posix_memalign(&p, a < 4096 ? 4096 : a, (size_t)(stop - start)) != 0)
		return -ENOMEM;
	buf = p;
	if (keep)
		memcpy(buf, keep_src, (size_t)keep);
	n = read_region(s, start + keep, (size_t)(stop - start - keep), buf + keep, &left);
	if (n < 0) {
		if (!left)
			free(buf);
		return (int)n;
	}
	if ((uint64_t)n + keep < end - start) {
		/* the target is shorter than it said: truncated under us */
		free(buf);
		return -EIO;
	}
	s->cached += stop - start - keep;
	s->held += stop - start;
	add_region(s, start, (size_t)n + (size_t)keep, buf);
	*ret = buf + (abs - start);
	return 0;
}

#ifdef HAVE_LIBURING
/* bytes the kernel wrote behind valgrind's back (io_uring) are defined */
static void mark_defined(const void *p, size_t n)
{
#ifdef VALGRIND_MAKE_MEM_DEFINED
	(void)VALGRIND_MAKE_MEM_DEFINED(p, n);
#else
	(void)p;
	(void)n;
#endif
}

struct pending {
	struct img_source *s;
	uint64_t start, stop;
	uint8_t *buf;
	bool live; /* queued or in flight: the kernel may still write to buf */
	int res;   /* the sync read's result */
	uint64_t deadline; /* CLOCK_MONOTONIC ns by which it must be in; 0: none */
};

#define MAGIC_WINDOWS 4

/*
 * The blocks holding a registered magic that the head and tail windows miss
 * (ISO 9660's "CD001" at 32769): read in the same batch, so matching never
 * waits for one more read.  At most max of them.
 */
static size_t magic_windows(struct img_source *s, uint64_t hs, uint64_t he, uint64_t ts,
                            uint64_t te, struct pending *out, size_t max)
{
	uint32_t a = s->st.align;
	size_t k = 0;

	for (unsigned f = 0; f < _IMG_FMT_MAX && k < max; f++) {
		const struct img_format *fmt = img_formats[f];

		for (unsigned m = 0; fmt && m < IMG_MAX_MAGICS && fmt->magics[m].len && k < max; m++) {
			const struct img_magic *mg = &fmt->magics[m];
			uint64_t off, start, stop;
			bool dup = false;

			if (mg->whence != IMG_FROM_START)
				continue;
			if (img_add_overflow(s->offset, mg->offset, &off) || off + mg->len > s->readable)
				continue;
			if ((off >= hs && off + mg->len <= he) || (off >= ts && off + mg->len <= te))
				continue;
			start = align_down(off, 4096);
			if (start < align_down(s->offset, a))
				start = align_down(s->offset, a);
			start = align_down(start, a);
			stop = align_up(off + mg->len, 4096);
			if (stop > s->readable)
				stop = s->readable;
			stop = align_up(stop, a);
			for (size_t j = 0; j < k; j++)
				dup |= out[j].start <= off && off + mg->len <= out[j].stop;
			if (!dup)
				out[k++] = (struct pending){ .s = s, .start = start, .stop = stop };
		}
	}
	return k;
}
#endif

#ifdef HAVE_LIBURING
#define PENDING_PER_SOURCE (2 + MAGIC_WINDOWS)
/* queued reads are submitted in groups this size, so the device starts early */
#define SUBMIT_EVERY 16

struct img_prefetch {
	struct io_uring ring;
	size_t max_sources;
	size_t np;       /* reads prepared since the last wait */
	size_t unsubmitted;
	size_t inflight; /* submitted, not yet reaped */
	bool broken;     /* a wait failed with reads in flight: no more batches */
	int error;       /* why it broke: a negative errno (-ETIMEDOUT: a deadline passed) */
	struct pending *pend;
	struct pending sync; /* the one on-demand read (ring_read) */
	struct img_prefetch *next_abandoned;
};

/*
 * Rings given up with reads in flight, and so the buffers the kernel may
 * still fill: kept, and reachable (a leak checker sees them as held, and
 * nothing ever reuses them), until the process ends.
 */
static _Atomic(struct img_prefetch *) abandoned;
#endif

struct img_prefetch *img_prefetch_new(size_t max_sources)
{
#ifdef HAVE_LIBURING
	struct img_prefetch *pf;
	size_t entries;

	if (max_sources == 0 || max_sources > 4096 / PENDING_PER_SOURCE)
		return NULL;
	entries = PENDING_PER_SOURCE * max_sources;
	pf = calloc(1, sizeof(*pf));
	if (!pf)
		return NULL;
	pf->pend = calloc(entries, sizeof(*pf->pend));
	/* no io_uring here (old kernel, seccomp, io_uring_disabled): reads on demand */
	if (!pf->pend || io_uring_queue_init((unsigned)entries, &pf->ring, 0) < 0) {
		free(pf->pend);
		free(pf);
		return NULL;
	}
	pf->max_sources = max_sources;
	return pf;
#else
	(void)max_sources;
	return NULL;
#endif
}

void img_prefetch_free(struct img_prefetch *pf)
{
#ifdef HAVE_LIBURING
	if (!pf)
		return;
	(void)img_prefetch_wait(pf);
	/*
	 * A ring given up (a read timed out, a wait failed) still has reads in
	 * flight: their buffers are left to the kernel, never freed nor reused.
	 * Closing the ring does not wait for them: the kernel's ring teardown
	 * does, on its own (see HUNG DEVICES in imgscan(8), docs/timeouts.md).
	 */
	if (pf->broken) {
		struct img_prefetch *head = atomic_load(&abandoned);

		for (size_t i = 0; i < pf->np; i++) {
			if (!pf->pend[i].live) {
				free(pf->pend[i].buf);
				pf->pend[i].buf = NULL;
			}
		}
		io_uring_queue_exit(&pf->ring);
		do
			pf->next_abandoned = head;
		while (!atomic_compare_exchange_weak(&abandoned, &head, pf));
		return;
	}
	io_uring_queue_exit(&pf->ring);
	free(pf->pend);
	free(pf);
#else
	(void)pf;
#endif
}

#ifdef HAVE_LIBURING
static void prefetch_submit(struct img_prefetch *pf)
{
	int rc = io_uring_submit(&pf->ring);

	if (rc > 0) {
		pf->inflight += (size_t)rc;
		pf->unsubmitted -= (size_t)rc < pf->unsubmitted ? (size_t)rc : pf->unsubmitted;
	}
}
#endif

int img_prefetch_add(struct img_prefetch *pf, struct img_source *s)
{
#ifdef HAVE_LIBURING
	struct pending *first;
	uint64_t hs, he, ts, te;
	size_t k = 0;

	if (!pf || pf->broken)
		return -EOPNOTSUPP;
	if (!s || s->fd < 0 || s->n != 0 || s->readable <= s->offset)
		return 0;
	if (pf->np + PENDING_PER_SOURCE > pf->max_sources * PENDING_PER_SOURCE)
		return -E2BIG;
	first = pf->pend + pf->np;
	head_window(s, &hs, &he);
	tail_window(s, &ts, &te);
	first[k++] = (struct pending){ .s = s, .start = hs, .stop = he };
	if (ts >= he)
		first[k++] = (struct pending){ .s = s, .start = ts, .stop = te };
	k += magic_windows(s, hs, he, ts, te, first + k, MAGIC_WINDOWS);
	for (size_t i = 0; i < k; i++) {
		struct pending *p = &first[i];
		uint32_t a = s->st.align;
		struct io_uring_sqe *sqe;
		void *buf;

		if (posix_memalign(&buf, a < 4096 ? 4096 : a, (size_t)(p->stop - p->start)) != 0)
			return -ENOMEM; /* what was not queued is read on demand */
		sqe = io_uring_get_sqe(&pf->ring);
		if (!sqe) {
			free(buf);
			return -EBUSY;
		}
		p->buf = buf;
		p->live = true;
		p->deadline = img_deadline_after(img_clock_ns(), s->timeout_ms);
		io_uring_prep_read(sqe, s->fd, buf, (unsigned)(p->stop - p->start), p->start);
		io_uring_sqe_set_data(sqe, p);
		pf->np++;
		pf->unsubmitted++;
	}
	if (pf->unsubmitted >= SUBMIT_EVERY)
		prefetch_submit(pf);
	return 0;
#else
	(void)pf;
	(void)s;
	return -ENOSYS;
#endif
}

static int defer_read(struct img_source *s, uint64_t start, uint64_t stop)
{
#ifdef HAVE_LIBURING
	struct img_prefetch *pf = s->defer;
	uint32_t a = s->st.align;
	struct io_uring_sqe *sqe;
	struct pending *p;
	void *buf;

	if (!pf || pf->broken || s->fd < 0 || pf->np >= pf->max_sources * PENDING_PER_SOURCE)
		return -EBUSY;
	if (posix_memalign(&buf, a < 4096 ? 4096 : a, (size_t)(stop - start)) != 0)
		return -ENOMEM;
	sqe = io_uring_get_sqe(&pf->ring);
	if (!sqe) {
		free(buf);
		return -EBUSY;
	}
	p = &pf->pend[pf->np++];
	*p = (struct pending){ .s = s, .start = start, .stop = stop, .buf = buf, .live = true,
		               .deadline = img_deadline_after(img_clock_ns(), s->timeout_ms) };
	io_uring_prep_read(sqe, s->fd, buf, (unsigned)(stop - start), start);
	io_uring_sqe_set_data(sqe, p);
	pf->unsubmitted++;
	/* submitted now: the device works while the other volumes are probed */
	prefetch_submit(pf);
	return 0;
#else
	(void)s;
	(void)start;
	(void)stop;
	return -ENOSYS;
#endif
}

void img_source_defer(struct img_source *s, struct img_prefetch *pf)
{
	/* a traced probe runs once, with its reads made at once (the same reads) */
	s->defer = s->trace ? NULL : pf;
	s->missed = false;
}

bool img_source_take_miss(struct img_source *s)
{
	bool m = s->missed;

	s->missed = false;
	return m;
}

/* attempts at a submission the kernel takes nothing of before the ring is given up */
#define SUBMIT_TRIES 8

uint64_t img_clock_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t img_deadline_after(uint64_t now, uint64_t ms)
{
	if (ms == 0)
		return 0;
	if (ms > UINT64_MAX / 1000000u || now > UINT64_MAX - ms * 1000000u)
		return UINT64_MAX;
	return now + ms * 1000000u;
}

void img_source_set_timeout(struct img_source *s, uint64_t ms)
{
	s->timeout_ms = ms;
}

void img_source_sync(struct img_source *s, struct img_prefetch *pf)
{
	s->sync = pf;
}

bool img_source_timed_out(const struct img_source *s)
{
	return s->timed_out;
}

#ifdef HAVE_LIBURING
/*
 * The next completion, waiting at most until deadline (0: no limit);
 * -ETIME once it has passed with nothing completed.
 */
static int ring_wait_one(struct img_prefetch *pf, uint64_t deadline, struct io_uring_cqe **cqe)
{
	struct __kernel_timespec ts;
	uint64_t now, left;
	int rc;

	if (!deadline)
		return io_uring_wait_cqe(&pf->ring, cqe);
	now = img_clock_ns();
	if (now >= deadline) {
		rc = io_uring_peek_cqe(&pf->ring, cqe);
		return rc == -EAGAIN ? -ETIME : rc;
	}
	left = deadline - now;
	ts.tv_sec = (long long)(left / 1000000000u);
	ts.tv_nsec = (long long)(left % 1000000000u);
	return io_uring_wait_cqe_timeout(&pf->ring, cqe, &ts);
}

/* take one completion: a region for its source, or the sync read's result */
static void reap(struct img_prefetch *pf, struct io_uring_cqe *cqe)
{
	struct pending *p = io_uring_cqe_get_data(cqe);
	int res = cqe->res;

	io_uring_cqe_seen(&pf->ring, cqe);
	pf->inflight--;
	p->live = false;
	if (p == &pf->sync) {
		p->res = res;
		return;
	}
	if (res > 0 && p->s->n < MAX_REGIONS) {
		/*
		 * Memory checkers cannot see the kernel's io_uring writes:
		 * tell valgrind the bytes that came are defined.
		 */
		mark_defined(p->buf, (size_t)res);
		/* a short read at the end of a target is normal: keep what came */
		p->s->st.reads++;
		p->s->st.bytes += (uint64_t)res;
		p->s->cached += p->stop - p->start;
		p->s->held += p->stop - p->start;
		add_region(p->s, p->start, (size_t)res, p->buf);
		p->buf = NULL;
	}
	/* errors (EINVAL for O_DIRECT, EIO) are met again, and reported, on demand */
}

/*
 * When the wait for the ring's reads must end: the earliest deadline of a
 * read in flight (0: one has none, no limit).  A volume with a read past its
 * deadline is marked timed out; *none: every read in flight is of such a
 * volume, nothing is left worth waiting for.
 */
static uint64_t ring_deadline(struct img_prefetch *pf, bool *none)
{
	uint64_t now = img_clock_ns(), next = UINT64_MAX;
	bool unbounded = false;

	for (size_t i = 0; i <= pf->np; i++) {
		struct pending *p = i < pf->np ? &pf->pend[i] : &pf->sync;

		if (!p->live || p->s->timed_out)
			continue;
		if (!p->deadline)
			unbounded = true;
		else if (p->deadline <= now)
			p->s->timed_out = true;
		else if (p->deadline < next)
			next = p->deadline;
	}
	/* a volume timed out by one read: its other reads are not waited for */
	*none = true;
	for (size_t i = 0; i <= pf->np; i++) {
		struct pending *p = i < pf->np ? &pf->pend[i] : &pf->sync;

		if (p->live && !p->s->timed_out)
			*none = false;
	}
	return unbounded ? 0 : next;
}

/*
 * The sync read: [off, off+len) into buf through the ring, waited for until
 * the source's deadline.  -EAGAIN when it cannot be made so (no ring, no
 * deadline, the ring failed or is full): the caller reads with pread.
 * Completions of other reads met on the way are taken as the batch wait
 * takes them.  *left: the read stays in flight (timed out: -ETIMEDOUT, and
 * the source is marked; or the wait failed): buf is the kernel's now, and
 * the ring is given up (the caller makes a new one).
 */
static ssize_t ring_read(struct img_source *s, uint8_t *buf, size_t len, uint64_t off, bool *left)
{
	struct img_prefetch *pf = s->sync;
	struct io_uring_sqe *sqe;

	*left = false;
	if (!pf || !s->timeout_ms || pf->broken || pf->sync.live || len > UINT32_MAX)
		return -EAGAIN;
	sqe = io_uring_get_sqe(&pf->ring);
	if (!sqe) {
		prefetch_submit(pf);
		sqe = io_uring_get_sqe(&pf->ring);
		if (!sqe)
			return -EAGAIN;
	}
	/* buf: recorded only, so that a ring given up keeps it (the caller owns it) */
	pf->sync = (struct pending){ .s = s, .start = off, .stop = off + len, .buf = buf, .live = true,
		                     .deadline = img_deadline_after(img_clock_ns(), s->timeout_ms) };
	io_uring_prep_read(sqe, s->fd, buf, (unsigned)len, off);
	io_uring_sqe_set_data(sqe, &pf->sync);
	pf->unsubmitted++;
	prefetch_submit(pf);
	while (pf->sync.live) {
		struct io_uring_cqe *cqe;
		int rc;

		if (pf->unsubmitted)
			prefetch_submit(pf);
		if (!pf->inflight) {
			/* the kernel took nothing: nothing can complete */
			rc = -EBUSY;
		} else {
			rc = ring_wait_one(pf, pf->sync.deadline, &cqe);
			if (rc == -EINTR)
				continue;
			if (rc == 0) {
				reap(pf, cqe);
				continue;
			}
		}
		*left = true;
		pf->broken = true;
		if (rc == -ETIME || rc == -ETIMEDOUT) {
			s->timed_out = true;
			pf->error = -ETIMEDOUT;
			return -ETIMEDOUT;
		}
		pf->error = rc;
		return rc;
	}
	pf->sync.buf = NULL;
	if (pf->sync.res > 0)
		mark_defined(buf, (size_t)pf->sync.res);
	return pf->sync.res;
}
#else
static ssize_t ring_read(struct img_source *s, uint8_t *buf, size_t len, uint64_t off, bool *left)
{
	(void)s;
	(void)buf;
	(void)len;
	(void)off;
	*left = false;
	return -EAGAIN;
}
#endif

int img_prefetch_wait(struct img_prefetch *pf)
{
#ifdef HAVE_LIBURING
	unsigned tries = 0;

	if (!pf)
		return -EOPNOTSUPP;
	/* reads of a failed ring may still land in their buffers: never touch it again */
	if (pf->broken)
		return -EIO;
	while (pf->inflight || pf->unsubmitted) {
		struct io_uring_cqe *cqe;
		uint64_t deadline;
		bool none;
		int rc;

		if (pf->unsubmitted) {
			prefetch_submit(pf);
			/* nothing taken, nothing to wait for: try again, a few times */
			if (!pf->inflight) {
				if (++tries < SUBMIT_TRIES)
					continue;
				break;
			}
		}
		/*
		 * Wait until the earliest deadline of a volume whose read is
		 * still out; once every read out is one of a volume past its
		 * deadline, those are left behind.
		 */
		deadline = ring_deadline(pf, &none);
		if (none) {
			pf->error = -ETIMEDOUT;
			break;
		}
		rc = ring_wait_one(pf, deadline, &cqe);
		/*
		 * A signal interrupts the wait (a stop and continue: ^Z then fg);
		 * the reads go on regardless: wait again.  A deadline that
		 * passed is looked at by ring_deadline().
		 */
		if (rc == -EINTR || rc == -ETIME)
			continue;
		if (rc < 0) {
			pf->error = rc;
			break;
		}
		reap(pf, cqe);
	}
	/*
	 * Reads still in flight or queued here (a wait or a submission that
	 * failed, a deadline that passed) point at sources the caller is about
	 * to free and at buffers the kernel may still fill: give the ring up,
	 * and those buffers with it.
	 */
	if (pf->inflight || pf->unsubmitted) {
		pf->broken = true;
		if (!pf->error)
			pf->error = -EIO;
		return pf->error == -ETIMEDOUT ? -ETIMEDOUT : -EIO;
	}
	for (size_t i = 0; i < pf->np; i++) {
		free(pf->pend[i].buf);
		pf->pend[i].buf = NULL;
	}
	pf->np = 0;
	return 0;
#else
	(void)pf;
	return -ENOSYS;
#endif
}

int img_prefetch_error(const struct img_prefetch *pf)
{
#ifdef HAVE_LIBURING
	return pf && pf->broken ? pf->error : 0;
#else
	(void)pf;
	return 0;
#endif
}

void img_source_reader(struct img_source *s, struct img_reader *ret)
{
	ret->ctx = s;
	ret->size = s->total - s->offset;
	ret->block_size = s->st.align;
	ret->flags = 0;
	ret->get = fd_get;
	ret->trace = s->trace;
	ret->trace_ctx = s->trace_ctx;
}

void img_source_set_trace(struct img_source *s, void (*fn)(void *trace_ctx, const char *line),
                          void *trace_ctx)
{
	s->trace = fn;
	s->trace_ctx = trace_ctx;
}

void img_source_set_head(struct img_source *s, uint32_t bytes)
{
	/* whole 4 KiB blocks, within the head window */
	bytes = bytes < 4096 ? 4096 : bytes - bytes % 4096;
	s->head_first = bytes < IMG_SOURCE_HEAD ? bytes : IMG_SOURCE_HEAD;
}

void img_source_set_cap(struct img_source *s, uint64_t cap)
{
	s->cap = cap < (1ull << 30) ? cap : (1ull << 30);
}

const struct img_source_stats *img_source_stats(const struct img_source *s)
{
	return &s->st;
}

uint64_t img_source_size(const struct img_source *s)
{
	return s->total;
}

int img_source_buffered_fd(struct img_source *s)
{
	int fl;

	if (s->fd < 0)
		return -EBADF;
	/* a caller's descriptor: its O_DIRECT flag is shared with the caller's own */
	if (s->st.direct && s->borrowed)
		return -EOPNOTSUPP;
	if (s->st.direct) {
		fl = fcntl(s->fd, F_GETFL);
		if (fl < 0 || fcntl(s->fd, F_SETFL, fl & ~O_DIRECT) < 0)
			return -errno;
	}
	return s->fd;
}

void img_source_close(struct img_source *s)
{
	if (s && s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
}

void img_source_free(struct img_source *s)
{
	if (!s)
		return;
	img_source_close(s);
	for (unsigned i = 0; i < s->n; i++)
		free(s->r[i].buf);
	free(s);
}
