/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scan engine: targets in, one struct img_scan per target out, in input
 * order.  Per target: the checks before open(), open, probe, close, a raw
 * volume's content, the --check verdict (scan_open .. scan_done).  Many
 * targets: lanes (lane_turn), each reading chunks of targets on an io_uring
 * of its own (or on demand without one), run by a pool of workers or, with
 * one job, by the caller's thread, into a bounded window of results that
 * the caller takes in order (img_scanner_get / img_scanner_release).  The
 * command and libimgscan both scan through here; every failure is worded
 * by img_scan_error_format.  No output is written here: the caller turns
 * each img_scan into its output.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "content.h"
#include "scan/scan.h"
#include "text/encode.h"


/* ---- errors: what failed, why, and what to do -------------------------------- */

/*
 * Every failure the command or the library reports is worded here: the
 * cause in words (NULL: strerror) and what to do, one row per errno.
 */
static const struct {
	int err;
	const char *text;
	const char *hint;
} errors[] = {
	{ ENOENT, NULL, "check that the path exists" },
	{ ENXIO, NULL, "check that the path exists" },
	{ ENODEV, NULL, "check that the path exists" },
	{ ENOTBLK, "not a regular file or block device", "give a block device or a regular file" },
	{ EIO, NULL, "the device failed or shrank while being read; see the kernel log" },
	{ EINVAL, NULL, "check --offset against the size of the volume" },
	{ E2BIG, NULL, "the header points further than imgscan reads; the image is damaged or hostile" },
	{ ENOMEDIUM, NULL, "the device is empty: no medium, or a loop device without a backing file" },
	{ ESTALE, "not the object checked before",
	  "the path was replaced while it was being opened; scan it again" },
	{ ENOMEM, NULL, "out of memory: give fewer --jobs, or raise the memory limit, ulimit -v" },
	{ ETIMEDOUT, NULL,
	  "a read did not complete within --timeout and was left to the kernel: "
	  "check the device and the kernel log, or give a longer --timeout" },
	{ EMFILE, NULL, "too many files open: raise the limit (ulimit -n) or give fewer --jobs" },
	{ ENFILE, NULL, "too many files open: raise the limit (ulimit -n) or give fewer --jobs" },
	{ EBADF, NULL, "give a descriptor open for reading" },
	{ ENODATA, NULL,
	  "give a longer head, the tail, or IMGSCAN_PROBE_NO_CONTENT_SIGNATURES when no "
	  "ISO 9660 or UDF can be there" },
	{ ELIBACC, NULL, "install the library named" },
};

const char *img_scan_error_hint(int err)
{
	if (err == -EACCES || err == -EPERM) {
		if (geteuid() == 0)
			return "refused even to root: a device cgroup, an SELinux or AppArmor policy "
			       "or a container forbids it";
		return "run as root; for block devices, imgscan --cached reads what udev recorded";
	}
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].err == -err)
			return errors[i].hint;
	return NULL;
}

static const char *error_text(int err)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].err == -err && errors[i].text)
			return errors[i].text;
	return strerror(-err);
}

int img_scan_error_format(char *buf, size_t len, const char *who, const char *op, int err,
                          const char *text, const char *detail, bool skipped)
{
	const char *hint = skipped ? "not opened, by design; see imgscan --help" : img_scan_error_hint(err);

	return snprintf(buf, len, "%s: cannot %s: %s%s%s%s%s%s", who, op, text ? text : error_text(err),
	                detail ? " " : "", detail ? detail : "", hint ? " (" : "", hint ? hint : "",
	                hint ? ")" : "");
}

/* a target the engine may not open: s says why */
static void scan_skip(struct img_scan *s, const char *why)
{
	s->error = -EBUSY;
	s->error_op = "open";
	s->error_text = why;
}

/*
 * Open a target by path.  One not stat'ed when it was listed, whose device
 * facts the caller gives (o->device_facts), is stat'ed here, in the lane (a
 * cold cache's lookups overlap other targets' reads instead of delaying the
 * scan), and a block device's facts are asked before it is opened; that
 * stat stands for the one before open(): what was stat'ed is what is read.
 * Without the hook (the library), or with the facts already listed (an
 * enumerated device), img_source_open_stat makes the only check, on the
 * descriptor it opens: no stat(2) of its own.
 */
static int scan_open_path(const struct img_target *t, const struct img_scan_opts *o, uint64_t off,
                          struct img_scan *s, struct img_source **src)
{
	const struct stat *pre = t->have_st ? &t->st : NULL;
	struct stat st;

	if (!pre && !t->dev && o->device_facts) {
		if (stat(t->path, &st) < 0)
			return -errno;
		pre = &st;
		if (S_ISBLK(st.st_mode)) {
			const char *skip = NULL;

			s->dev = o->device_facts(o->device_ctx, t, st.st_rdev, &skip);
			/* decided from sysfs before open(): some devices must not be touched at all */
			if (skip) {
				scan_skip(s, skip);
				return 1;
			}
		}
	}
	return img_source_open_stat(t->path, pre, off, o->no_direct, src);
}

/* first half of a scan: the checks before open(), and open(); NULL when s says why not */
static struct img_source *scan_open(const struct img_target *t, const struct img_scan_opts *o,
                                    struct img_scan *s)
{
	struct img_source *src = NULL;
	uint64_t off = o->offset + t->offset;
	int rc;

	memset(s, 0, sizeof(*s));
	s->path = t->path;
	s->offset = off;
	s->dev = t->dev;

	/* decided from sysfs before open(): some devices must not be touched at all */
	if (t->skip) {
		scan_skip(s, t->skip);
		return NULL;
	}
	if (off < o->offset)
		rc = -EINVAL; /* the sum of two offsets wrapped */
	else if (t->use_fd)
		rc = img_source_from_fd(t->fd, off, t->fd_size, &src);
	else
		rc = scan_open_path(t, o, off, s, &src);
	if (rc > 0)
		return NULL; /* skipped */
	if (rc < 0) {
		s->error = rc;
		s->error_op = "open";
		return NULL;
	}
	if (o->on_open)
		o->on_open(src, t->path);
	if (o->deep)
		img_source_set_cap(src, IMG_SOURCE_DEEP_CAP);
	/* --udev has its alarm instead (one volume: no other result to save) */
	if (!o->udev)
		img_source_set_timeout(src, (uint64_t)o->timeout * 1000);
	/* no ISO 9660 block to read (see udev_env_no_filesystem): a smaller first read */
	if (o->no_content_sigs)
		img_source_set_head(src, 4096);
	return src;
}

/* second half: probe, close at once, then name a raw volume's content */
/*
 * The result lands in slot when given (reused across batches: a result is
 * ~72 KiB, and a malloc/free per volume cost page faults), else in a buffer
 * of its own that the caller frees.
 */
/* probe src into s->res (slot, or a buffer of its own); returns img_probe's rc */
static int scan_probe(const struct img_scan_opts *o, struct img_scan *s, struct img_source *src,
                      struct img_result *slot)
{
	struct img_reader r;

	img_source_reader(src, &r);
	if (o->deep)
		r.flags |= IMG_PROBE_DEEP;
	if (o->no_content_sigs)
		r.flags |= IMG_PROBE_NO_CONTENT;
	s->size = r.size;
	if (!s->res)
		s->res = slot ? slot : malloc(sizeof(*s->res));
	if (!s->res)
		return -ENOMEM;
	return img_probe(&r, s->res);
}

/*
 * --check: the verdict, from the result, the content and the policy.  A raw
 * volume's first sector comes from the head the probe already read (no
 * further read); under udev, ID_FS_TYPE from udev's blkid is the content.
 */
static void scan_check(const struct img_scan_opts *o, struct img_scan *s, struct img_source *src, int crc)
{
	/* crc: 0 libblkid looked at the volume, 1 it was not asked, else its error */
	if (o->udev) {
		const char *t = o->udev_fs_type, *u = o->udev_fs_usage;

		if (t && *t) {
			s->content.present = true;
			snprintf(s->content.type, sizeof(s->content.type), "%s", t);
			snprintf(s->content.usage, sizeof(s->content.usage), "%s", u ? u : "");
		}
	} else if (s->res->format == IMG_FMT_RAW && crc == 0) {
		s->content.probed = true;
	}
	if (s->res->format == IMG_FMT_RAW) {
		struct img_reader r;
		const uint8_t *p;
		size_t got = 0;

		img_source_reader(src, &r);
		if (img_get_upto(&r, 0, 512, &p, &got) == 0)
			img_mbr_parse(p, got, &s->content.mbr);
	}
	img_verdict_compute(s->res, &s->content, &o->policy, &s->verdict);
	s->checked = true;
}

/* after the probe (rc): close at once, counters, errors, a raw volume's content */
static void scan_done(const struct img_scan_opts *o, struct img_scan *s,
                      struct img_source *src, struct img_result *slot, int rc)
{
	int crc = 1; /* content not asked for */

	/* a read left behind: whatever the probe made of the rest, it is incomplete */
	if (img_source_timed_out(src))
		rc = -ETIMEDOUT;
	/*
	 * A raw volume's content is named through the descriptor just probed
	 * (never the path again: it may name something else by now).
	 */
	if (rc >= 0 && s->res->format == IMG_FMT_RAW && !o->udev &&
	    !o->no_content) {
		int fd = img_source_buffered_fd(src);

		crc = fd < 0 ? fd : img_content_probe(fd, s->offset, s->size, &s->content);
		s->content_error = crc < 0 ? crc : 0;
	}
	if (rc >= 0 && o->check)
		scan_check(o, s, src, crc);
	/* close at once: an open fd makes a device-mapper remove fail with EBUSY */
	img_source_close(src);
	s->stats = *img_source_stats(src);
	s->have_stats = o->stats;
	img_source_free(src);
	if (rc < 0) {
		s->error = rc;
		s->error_op = s->res ? "read" : "probe";
		if (rc == -ETIMEDOUT)
			s->error_text = "timed out";
		if (!slot)
			free(s->res);
		s->res = NULL;
	}
}

static void scan_finish(const struct img_target *t, const struct img_scan_opts *o, struct img_scan *s,
                        struct img_source *src, struct img_result *slot)
{
	if (src)
		scan_done(o, s, src, slot, scan_probe(o, s, src, slot));
}

void img_scan_target(const struct img_target *t, const struct img_scan_opts *o, struct img_scan *s,
                     struct img_result *slot)
{
	scan_finish(t, o, s, scan_open(t, o, s), slot);
}

void img_scan_one(const struct img_target *t, const struct img_scan_opts *o, struct img_scan *s)
{
	img_scan_target(t, o, s, NULL);
}

/* ---- many targets: batched reads, a small pool of threads, input order ---------- */

/*
 * Each lane (a worker's, or the caller's thread's with one job) takes a
 * chunk of consecutive targets, opens them, reads their
 * head and tail windows in one io_uring submission of its own (when built
 * with liburing), probes and closes them; several workers overlap one
 * chunk's reads with another's probing.  Results land in a window of slots
 * that the caller takes in input order; a worker never runs more
 * than the window ahead of the output, so memory stays bounded whatever the
 * number of targets, and a descriptor is open for a few milliseconds.
 */
#define SCAN_CHUNK 16

/* a target a lane has open: its index and how many deferred rounds it took */
struct lane_item {
	size_t i;
	struct img_source *src;
	unsigned rounds;
};

/*
 * A lane: a worker's state between turns (each worker thread has one; with
 * no thread the caller's thread runs the scanner's own, from
 * img_scanner_get).  batch: several targets, their windows read ahead on
 * the ring; else one target, its reads made on demand (through the ring
 * when there is one, only so that --timeout bounds them).
 */
struct lane {
	struct img_prefetch *ring;
	bool batch;
	size_t nc;
	struct lane_item cur[2 * SCAN_CHUNK];
};

struct img_scanner {
	const struct img_target *targets;
	size_t n;                  /* targets */
	size_t w;                  /* slots in the window */
	struct img_scan *scans;    /* [w], target i in slot i % w */
	struct img_result *slots;  /* [w] */
	bool *ready;               /* [w] */
	const struct img_scan_opts *o;
	pthread_mutex_t lock;
	pthread_cond_t work, idle;
	size_t next; /* first target no worker has taken */
	size_t out;  /* first target not yet written out */
	bool quit;
	unsigned n_threads;
	pthread_t th[IMG_SCAN_MAX_JOBS];
	struct lane lane; /* no thread: the caller's thread runs this lane */
	/* the lane's turns and chunks (unit tests: both paths run the same code) */
	atomic_size_t turns;
};

/* rounds of deferred reads a target may take before it reads on demand */
#define DEFER_ROUNDS 8

/*
 * A ring that a read outlived (--timeout) is given up, its reads left to the
 * kernel: a new one takes the next reads.  max: its size in sources.
 */
static struct img_prefetch *ring_renew(struct img_prefetch *ring, size_t max)
{
	if (!ring || img_prefetch_error(ring) != -ETIMEDOUT)
		return ring;
	img_prefetch_free(ring);
	return img_prefetch_new(max);
}

/*
 * Probe target i from src once; a read the cache lacks is deferred to ring
 * (NULL: read at once: through the ring sync when given, so that --timeout
 * bounds it).  false: a read was deferred and the probe runs again after
 * img_prefetch_wait(); true: the target is done, src closed.
 */
static bool probe_round(struct img_scanner *sw, size_t i, struct img_source *src,
                        struct img_prefetch *ring, struct img_prefetch *sync)
{
	struct img_scan *sc = &sw->scans[i % sw->w];
	struct img_result *slot = &sw->slots[i % sw->w];
	int rc;

	img_source_defer(src, ring);
	/* reads made at once go through the ring too: bounded by --timeout */
	img_source_sync(src, sync);
	rc = scan_probe(sw->o, sc, src, slot);
	if (img_source_take_miss(src))
		return false;
	scan_done(sw->o, sc, src, slot, rc);
	return true;
}

/* mark targets done[0, n) ready for the output */
static void lane_ready(struct img_scanner *sw, const size_t *done, size_t n)
{
	if (!sw->n_threads) {
		for (size_t j = 0; j < n; j++)
			sw->ready[done[j] % sw->w] = true;
		return;
	}
	if (!n)
		return;
	pthread_mutex_lock(&sw->lock);
	for (size_t j = 0; j < n; j++)
		sw->ready[done[j] % sw->w] = true;
	pthread_cond_signal(&sw->idle);
	pthread_mutex_unlock(&sw->lock);
}

/* the next chunk a lane holding nc targets may take (sw->lock held with threads): its size */
static size_t lane_claim(struct img_scanner *sw, size_t nc, size_t *i0)
{
	size_t k = 0;

	if (sw->next < sw->n && sw->next < sw->out + sw->w) {
		*i0 = sw->next;
		k = sw->n - *i0;
		if (k > SCAN_CHUNK)
			k = SCAN_CHUNK;
		if (k > 2 * SCAN_CHUNK - nc)
			k = 2 * SCAN_CHUNK - nc;
		if (k > sw->out + sw->w - *i0)
			k = sw->out + sw->w - *i0;
		sw->next += k;
	}
	return k;
}

/*
 * One turn of a lane, with targets [i0, i0 + k) just taken: open them and
 * queue their windows (batch), wait for those reads and for the deferred
 * reads of the previous turn, then probe the new targets and those whose
 * reads came in.  A probe that needs one more read has it submitted at once
 * and stays for the next turn, so a vhdx's dependent reads overlap the next
 * chunk instead of stalling the lane.  Without a ring (no io_uring) the
 * adds and waits fail: every read is made on demand and each chunk is
 * probed in one turn.
 */
static void lane_turn(struct img_scanner *sw, struct lane *ln, size_t i0, size_t k)
{
	size_t done[2 * SCAN_CHUNK];
	size_t keep = 0, nd = 0;

	atomic_fetch_add(&sw->turns, 1);
	for (size_t j = 0; j < k; j++) {
		size_t i = i0 + j;
		struct img_source *src = scan_open(&sw->targets[i], sw->o, &sw->scans[i % sw->w]);

		/* one target: no window read ahead, its reads on demand */
		ln->cur[ln->nc++] = (struct lane_item){ .i = i, .src = src,
			                                .rounds = ln->batch ? 0 : DEFER_ROUNDS };
		/* the device starts on this volume while the next ones open */
		if (src && ln->batch)
			(void)img_prefetch_add(ln->ring, src);
	}
	if (ln->batch && img_prefetch_wait(ln->ring) < 0) {
		/* a read timed out (its volume is marked): a new ring for the rest */
		ln->ring = ring_renew(ln->ring, 2 * SCAN_CHUNK);
		if (!ln->ring || img_prefetch_error(ln->ring) < 0)
			for (size_t j = 0; j < ln->nc; j++)
				ln->cur[j].rounds = DEFER_ROUNDS; /* the ring failed: read on demand */
	}

	for (size_t j = 0; j < ln->nc; j++) {
		struct lane_item *c = &ln->cur[j];
		bool done_now;

		/* after DEFER_ROUNDS, whatever is left reads on demand */
		done_now = !c->src || probe_round(sw, c->i, c->src,
		                                  c->rounds < DEFER_ROUNDS ? ln->ring : NULL, ln->ring);
		/* a read made at once timed out: reads deferred on that ring are made again */
		ln->ring = ring_renew(ln->ring, 2 * SCAN_CHUNK);
		if (!done_now) {
			c->rounds++;
			ln->cur[keep++] = *c;
			continue;
		}
		done[nd++] = c->i;
	}
	ln->nc = keep;
	lane_ready(sw, done, nd);
}

/*
 * The end of a lane: its ring freed, then the targets it still holds (the
 * scanner freed early) closed; their reads are no longer queued.
 */
static void lane_end(struct lane *ln)
{
	img_prefetch_free(ln->ring);
	ln->ring = NULL;
	for (size_t j = 0; j < ln->nc; j++)
		img_source_free(ln->cur[j].src);
	ln->nc = 0;
}

/* a worker thread: turns until no target is left or the scanner quits */
static void worker_lane(struct img_scanner *sw, struct lane *ln)
{
	for (;;) {
		size_t i0 = 0, k;

		pthread_mutex_lock(&sw->lock);
		/* wait for room only with nothing in hand */
		while (!sw->quit && ln->nc == 0 && sw->next < sw->n && sw->next >= sw->out + sw->w)
			pthread_cond_wait(&sw->work, &sw->lock);
		if (sw->quit) {
			pthread_mutex_unlock(&sw->lock);
			break;
		}
		k = lane_claim(sw, ln->nc, &i0);
		pthread_mutex_unlock(&sw->lock);
		if (k == 0 && ln->nc == 0)
			break;
		lane_turn(sw, ln, i0, k);
	}
}

static void *worker(void *arg)
{
	struct img_scanner *sw = arg;
	/* a ring per worker, made once; the lane runs without one too (on demand) */
	struct lane ln = { .ring = img_prefetch_new(2 * SCAN_CHUNK), .batch = true };

	worker_lane(sw, &ln);
	lane_end(&ln);
	return NULL;
}

/* descriptors kept for stdio, the libraries and libudev */
#define FD_RESERVE 16

/*
 * Workers of a --deep scan.  A volume's cache may reach twice
 * IMG_SOURCE_DEEP_CAP (64 MiB of reads, and the copies that join regions),
 * and a hostile header can make it (a snapshot table of 64 MiB).  Deferred
 * reads stop at 2 MiB a volume (io/source-fd.c), so only the volume each
 * worker reads on demand grows that far: 8 workers bound a deep scan to
 * about 1 GiB plus 2 MiB per volume of the window, whatever --jobs.
 */
#define DEEP_MAX_JOBS 8

/*
 * Fit a scan in the open-file limit.  A volume's descriptor is open from its
 * open to the end of its probe, and only targets inside the window are open;
 * each worker also holds its ring and, while naming a raw volume's content,
 * libblkid's descriptor.  So the workers and the window are cut down to
 * what the limit allows, and a low `ulimit -n` slows a scan instead of
 * failing volumes with EMFILE.  *jobs: the workers; returns the most
 * descriptors the window may hold.
 */
static size_t fd_budget(unsigned *jobs)
{
	struct rlimit rl;
	rlim_t left;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return SIZE_MAX;
	left = rl.rlim_cur > FD_RESERVE ? rl.rlim_cur - FD_RESERVE : 0;
	/* a worker needs 3: its ring, a content probe, one volume */
	if (*jobs > 1 && *jobs > left / 3)
		*jobs = left / 3 > 1 ? (unsigned)(left / 3) : 1;
	left = left > 2 * (rlim_t)*jobs ? left - 2 * (rlim_t)*jobs : 0;
	return left > 1 ? (size_t)left : 1;
}

struct img_scanner *img_scanner_new(const struct img_target *targets, size_t n,
                                    const struct img_scan_opts *o)
{
	unsigned jobs = o->jobs ? o->jobs : 1;
	struct img_scanner *sw = calloc(1, sizeof(*sw));
	size_t fds;

	if (!sw)
		return NULL;
	pthread_mutex_init(&sw->lock, NULL);
	pthread_cond_init(&sw->work, NULL);
	pthread_cond_init(&sw->idle, NULL);

	if (o->deep && jobs > DEEP_MAX_JOBS)
		jobs = DEEP_MAX_JOBS;
	fds = fd_budget(&jobs);

	sw->targets = targets;
	sw->n = n;
	sw->o = o;
	/*
	 * room for every worker's chunk twice over, so they seldom wait for the
	 * output; at most 256 results (~19 MiB) whatever --jobs
	 */
	sw->w = (size_t)jobs * SCAN_CHUNK * 2;
	if (sw->w > 256)
		sw->w = 256;
	if (sw->w > fds)
		sw->w = fds;
	if (sw->w > n)
		sw->w = n ? n : 1;
	sw->scans = calloc(sw->w, sizeof(*sw->scans));
	sw->slots = malloc(sw->w * sizeof(*sw->slots));
	sw->ready = calloc(sw->w, sizeof(*sw->ready));
	if (!sw->scans || !sw->slots || !sw->ready) {
		img_scanner_free(sw);
		return NULL;
	}
	/* one volume (--udev), or one job: no thread, reads on demand or one ring */
	if (n > 1 && jobs > 1)
		for (unsigned i = 0; i < jobs && i < IMG_SCAN_MAX_JOBS; i++)
			if (pthread_create(&sw->th[sw->n_threads], NULL, worker, sw) == 0)
				sw->n_threads++;
	/*
	 * No thread: the caller's thread runs the lane, with one ring: for
	 * windows read ahead (several volumes), or only to bound one volume's
	 * reads by --timeout.
	 */
	sw->lane.batch = n > 1;
	if (!sw->n_threads && (n > 1 || (o->timeout && !o->udev)))
		sw->lane.ring = img_prefetch_new(2 * SCAN_CHUNK);
	return sw;
}

/* a device's facts the hook gave for scan s of target t go back to it */
static void scan_put_dev(const struct img_scanner *sw, const struct img_target *t, struct img_scan *s)
{
	if (s->dev && s->dev != t->dev && sw->o->device_free)
		sw->o->device_free(sw->o->device_ctx, s->dev);
	s->dev = NULL;
}

void img_scanner_free(struct img_scanner *sw)
{
	if (!sw)
		return;
	if (sw->n_threads) {
		pthread_mutex_lock(&sw->lock);
		sw->quit = true;
		pthread_cond_broadcast(&sw->work);
		pthread_mutex_unlock(&sw->lock);
		for (unsigned i = 0; i < sw->n_threads; i++)
			pthread_join(sw->th[i], NULL);
	}
	pthread_cond_destroy(&sw->work);
	pthread_cond_destroy(&sw->idle);
	pthread_mutex_destroy(&sw->lock);
	lane_end(&sw->lane);
	/* targets taken but not released (the caller stopped early) */
	for (size_t i = sw->out; sw->scans && i < sw->next; i++)
		scan_put_dev(sw, &sw->targets[i], &sw->scans[i % sw->w]);
	free(sw->scans);
	free(sw->slots);
	free(sw->ready);
	free(sw);
}

/*
 * Wait until target i is probed and return its scan; without threads, run
 * the lane's turns here until it is.
 */
struct img_scan *img_scanner_get(struct img_scanner *sw, size_t i)
{
	size_t slot = i % sw->w;

	if (!sw->n_threads) {
		while (!sw->ready[slot]) {
			size_t i0 = 0, k = lane_claim(sw, sw->lane.nc, &i0);

			/* nothing to take and nothing in hand: i was never to be scanned */
			if (k == 0 && sw->lane.nc == 0)
				break;
			lane_turn(sw, &sw->lane, i0, k);
		}
		return &sw->scans[slot];
	}
	pthread_mutex_lock(&sw->lock);
	while (!sw->ready[slot])
		pthread_cond_wait(&sw->idle, &sw->lock);
	pthread_mutex_unlock(&sw->lock);
	return &sw->scans[slot];
}

/* target i is written out: its slot may take a later target */
void img_scanner_release(struct img_scanner *sw, size_t i)
{
	struct img_scan *sc = &sw->scans[i % sw->w];

	scan_put_dev(sw, &sw->targets[i], sc);
	sc->res = NULL; /* a slot: reused by a later target */
	if (!sw->n_threads) {
		sw->ready[i % sw->w] = false;
		sw->out = i + 1;
		return;
	}
	pthread_mutex_lock(&sw->lock);
	sw->ready[i % sw->w] = false;
	sw->out = i + 1;
	pthread_cond_broadcast(&sw->work);
	pthread_mutex_unlock(&sw->lock);
}

size_t img_scanner_turns(const struct img_scanner *sw)
{
	return atomic_load(&((struct img_scanner *)sw)->turns);
}
