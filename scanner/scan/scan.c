/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scan engine: targets in, one struct img_scan per target out, in input
 * order.  Per target: the checks before open(), open, probe, close, a raw
 * volume's content, the --check verdict (scan_open .. scan_done).  Many
 * targets: a pool of workers, each reading chunks of targets on an io_uring
 * of its own (or on demand without one), into a bounded window of results
 * that the caller takes in order (img_scanner_get / img_scanner_release).
 * No output is written here: the caller turns each img_scan into its output.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "content.h"
#include "scan/scan.h"

/* a path escaped by img_esc_dup for stderr, or a fixed text */
#define ESC_SHOWN(e) ((e) ? (e) : "(out of memory)")

/* ---- errors: what failed, why, and what to do -------------------------------- */

static const char *error_hint(int err)
{
	switch (-err) {
	case ENOENT:
	case ENXIO:
	case ENODEV:
		return "check that the path exists";
	case EACCES:
	case EPERM:
		if (geteuid() == 0)
			return "refused even to root: a device cgroup, an SELinux or AppArmor policy "
			       "or a container forbids it";
		return "run as root; for block devices, imgscan --cached reads what udev recorded";
	case ENOTBLK:
		return "give a block device or a regular file";
	case EIO:
		return "the device failed or shrank while being read; see the kernel log";
	case EINVAL:
		return "check --offset against the size of the volume";
	case E2BIG:
		return "the header points further than imgscan reads; the image is damaged or hostile";
	case ENOMEDIUM:
		return "the device is empty: no medium, or a loop device without a backing file";
	case ESTALE:
		return "the path was replaced while it was being opened; scan it again";
	case ENOMEM:
		return "out of memory: give fewer --jobs, or raise the memory limit, ulimit -v";
	case ETIMEDOUT:
		return "a read did not complete within --timeout and was left to the kernel: "
		       "check the device and the kernel log, or give a longer --timeout";
	case EMFILE:
	case ENFILE:
		return "too many files open: raise the limit (ulimit -n) or give fewer --jobs";
	default:
		return NULL;
	}
}

static const char *error_text(int err)
{
	if (err == -ENOTBLK)
		return "not a regular file or block device";
	if (err == -ESTALE)
		return "not the object checked before";
	return strerror(-err);
}

void img_scan_report_error(const struct img_scan *s)
{
	const char *hint = s->error_text && s->error != -ETIMEDOUT ? "not opened, by design; see imgscan --help"
	                                                            : error_hint(s->error);
	char *path = img_esc_dup(s->path);

	fprintf(stderr, "imgscan: %s: cannot %s: %s%s%s%s\n", ESC_SHOWN(path), s->error_op,
	        s->error_text ? s->error_text : error_text(s->error), hint ? " (" : "",
	        hint ? hint : "", hint ? ")" : "");
	free(path);
}

/* first half of a scan: the checks before open(), and open(); NULL when s says why not */
static struct img_source *scan_open(const struct img_target *t, const struct img_scan_opts *o,
                                    struct img_scan *s)
{
	struct img_source *src = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	s->path = t->path;
	s->offset = o->offset;
	s->dev = t->dev;

	/* decided from sysfs before open(): some devices must not be touched at all */
	if (t->dev && t->dev->skip) {
		s->error = -EBUSY;
		s->error_op = "open";
		s->error_text = t->dev->skip;
		return NULL;
	}
	/* the stat made when the targets were listed stands for the one before open() */
	rc = img_source_open_stat(t->path, t->have_st ? &t->st : NULL, o->offset, o->no_direct, &src);
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

/* set by workers when content naming needs a library that cannot be loaded */
static atomic_bool content_lib_missing;

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
	if (o->udev) {
		const char *t = getenv("ID_FS_TYPE"), *u = getenv("ID_FS_USAGE");

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
static void scan_done(const struct img_target *t, const struct img_scan_opts *o, struct img_scan *s,
                      struct img_source *src, struct img_result *slot, int rc)
{
	const char *path = t->path;
	int crc = 0;

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

		crc = fd < 0 ? fd : img_content_probe(fd, o->offset, s->size, &s->content);
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
		return;
	}
	if (o->verbose) {
		char *ep = img_esc_dup(path);

		fprintf(stderr, "imgscan: %s: %u read(s), %" PRIu64 " bytes, %s%s\n", ESC_SHOWN(ep),
		        s->stats.reads, s->stats.bytes, s->stats.direct ? "O_DIRECT" : "buffered",
		        s->stats.direct_refused ? " (O_DIRECT refused, fell back to buffered reads)" : "");
		free(ep);
	}
	/* libblkid could not be loaded (said once): the run must not end in success */
	if (crc == -ELIBACC || crc == -ELIBBAD)
		atomic_store(&content_lib_missing, true);
	if (crc < 0 && o->verbose) {
		char *ep = img_esc_dup(path);

		fprintf(stderr, "imgscan: %s: content not probed: %s\n", ESC_SHOWN(ep), strerror(-crc));
		free(ep);
	}
}

static void scan_finish(const struct img_target *t, const struct img_scan_opts *o, struct img_scan *s,
                        struct img_source *src, struct img_result *slot)
{
	if (src)
		scan_done(t, o, s, src, slot, scan_probe(o, s, src, slot));
}

void img_scan_one(const struct img_target *t, const struct img_scan_opts *o, struct img_scan *s)
{
	scan_finish(t, o, s, scan_open(t, o, s), NULL);
}

bool img_scan_content_lib_missing(void)
{
	return atomic_load(&content_lib_missing);
}

/* ---- many targets: batched reads, a small pool of threads, input order ---------- */

/*
 * Each worker takes a chunk of consecutive targets, opens them, reads their
 * head and tail windows in one io_uring submission of its own (when built
 * with liburing), probes and closes them; several workers overlap one
 * chunk's reads with another's probing.  Results land in a window of slots
 * that the caller takes in input order; a worker never runs more
 * than the window ahead of the output, so memory stays bounded whatever the
 * number of targets, and a descriptor is open for a few milliseconds.
 */
#define SCAN_CHUNK 16

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
	struct img_prefetch *ring; /* no thread: the caller's thread probes, on this ring */
};

/* rounds of deferred reads a chunk may take before its last volumes read on demand */
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
	scan_done(&sw->targets[i], sw->o, sc, src, slot, rc);
	return true;
}

/*
 * Open, read and probe targets [i0, i0 + k) into their slots (*ringp NULL
 * or ringp NULL: pread on demand).  With a ring and batch, a probe that
 * needs a block beyond the windows read first has that read submitted at
 * once and is run again after the other volumes of the chunk are probed: a
 * vhdx's region table and metadata come in while the rest is probed,
 * instead of one wait each.  Without batch the reads are made on demand,
 * through the ring: --timeout bounds them.  A ring that a read outlived is
 * replaced in *ringp.
 */
static void scan_chunk(struct img_scanner *sw, struct img_prefetch **ringp, bool batch, size_t i0,
                       size_t k)
{
	struct img_source *srcs[SCAN_CHUNK];
	struct img_prefetch *ring = ringp ? *ringp : NULL;
	/* one volume: its reads on demand, the same as ever, made on the ring only to bound them */
	struct img_prefetch *pre = batch ? ring : NULL;

	for (size_t j = 0; j < k; j++) {
		size_t i = i0 + j;

		srcs[j] = scan_open(&sw->targets[i], sw->o, &sw->scans[i % sw->w]);
		/* the device starts on this volume while the next ones open */
		if (pre && srcs[j])
			(void)img_prefetch_add(pre, srcs[j]);
	}
	/* a volume whose reads timed out is marked: its probe fails at once */
	if (pre && img_prefetch_wait(pre) < 0) {
		ring = ring_renew(ring, SCAN_CHUNK);
		pre = ring;
	}
	/* without a ring, one round of reads on demand */
	for (unsigned round = pre ? 0 : DEFER_ROUNDS;; round++) {
		size_t left = 0;

		for (size_t j = 0; j < k; j++) {
			/* the last round, or a ring that failed: whatever is left reads on demand */
			struct img_prefetch *defer = round < DEFER_ROUNDS ? ring : NULL;

			if (srcs[j] && !probe_round(sw, i0 + j, srcs[j], defer, ring))
				left++;
			else
				srcs[j] = NULL;
			/*
			 * A read made at once timed out: a new ring; reads deferred
			 * on the old one are deferred again next round.
			 */
			ring = ring_renew(ring, SCAN_CHUNK);
		}
		if (!left)
			break;
		if (img_prefetch_wait(ring) < 0) {
			ring = ring_renew(ring, SCAN_CHUNK);
			if (!ring || img_prefetch_error(ring) < 0)
				round = DEFER_ROUNDS - 1;
		}
	}
	if (ringp)
		*ringp = ring;
}

/* a target a worker has open: its index and how many deferred rounds it took */
struct lane_item {
	size_t i;
	struct img_source *src;
	unsigned rounds;
};

/* mark targets done[0, n) ready for the output */
static void lane_ready(struct img_scanner *sw, const size_t *done, size_t n)
{
	if (!n)
		return;
	pthread_mutex_lock(&sw->lock);
	for (size_t j = 0; j < n; j++)
		sw->ready[done[j] % sw->w] = true;
	pthread_cond_signal(&sw->idle);
	pthread_mutex_unlock(&sw->lock);
}

/*
 * A worker (ring NULL: no io_uring, every read on demand): each turn it takes a chunk of targets (when the
 * window has room), opens them and queues their windows, waits for those
 * reads and for the deferred reads of its previous turn, then probes the
 * new targets and those whose reads came in.  A probe that needs one more
 * read has it submitted at once and stays for the next turn, so a vhdx's
 * dependent reads overlap the next chunk instead of stalling the worker.
 */
static struct img_prefetch *worker_lane(struct img_scanner *sw, struct img_prefetch *ring)
{
	struct lane_item cur[2 * SCAN_CHUNK];
	size_t done[2 * SCAN_CHUNK];
	size_t nc = 0;

	for (;;) {
		size_t i0 = 0, k = 0, keep = 0, nd = 0;

		pthread_mutex_lock(&sw->lock);
		/* wait for room only with nothing in hand */
		while (!sw->quit && nc == 0 && sw->next < sw->n && sw->next >= sw->out + sw->w)
			pthread_cond_wait(&sw->work, &sw->lock);
		if (sw->quit) {
			pthread_mutex_unlock(&sw->lock);
			break;
		}
		if (sw->next < sw->n && sw->next < sw->out + sw->w) {
			i0 = sw->next;
			k = sw->n - i0;
			if (k > SCAN_CHUNK)
				k = SCAN_CHUNK;
			if (k > 2 * SCAN_CHUNK - nc)
				k = 2 * SCAN_CHUNK - nc;
			if (k > sw->out + sw->w - i0)
				k = sw->out + sw->w - i0;
			sw->next += k;
		}
		pthread_mutex_unlock(&sw->lock);
		if (k == 0 && nc == 0)
			break;

		for (size_t j = 0; j < k; j++) {
			size_t i = i0 + j;
			struct img_source *src = scan_open(&sw->targets[i], sw->o, &sw->scans[i % sw->w]);

			cur[nc++] = (struct lane_item){ .i = i, .src = src };
			/* the device starts on this volume while the next ones open */
			if (src)
				(void)img_prefetch_add(ring, src);
		}
		if (img_prefetch_wait(ring) < 0) {
			/* a read timed out (its volume is marked): a new ring for the rest */
			ring = ring_renew(ring, 2 * SCAN_CHUNK);
			if (!ring || img_prefetch_error(ring) < 0)
				for (size_t j = 0; j < nc; j++)
					cur[j].rounds = DEFER_ROUNDS; /* the ring failed: read on demand */
		}

		for (size_t j = 0; j < nc; j++) {
			struct lane_item *c = &cur[j];
			bool done_now;

			/* after DEFER_ROUNDS, whatever is left reads on demand */
			done_now = !c->src || probe_round(sw, c->i, c->src,
			                                  c->rounds < DEFER_ROUNDS ? ring : NULL, ring);
			/* a read made at once timed out: reads deferred on that ring are made again */
			ring = ring_renew(ring, 2 * SCAN_CHUNK);
			if (!done_now) {
				c->rounds++;
				cur[keep++] = *c;
				continue;
			}
			done[nd++] = c->i;
		}
		nc = keep;
		lane_ready(sw, done, nd);
	}
	return ring;
}

/* a ring that failed leaves the rest of a scan to on-demand reads: say so (-v) */
static void ring_report(const struct img_scan_opts *o, const struct img_prefetch *ring)
{
	int e = img_prefetch_error(ring);

	if (e < 0 && o->verbose)
		fprintf(stderr, "imgscan: io_uring: waiting for reads failed (%s); the rest was read on demand\n",
		        strerror(-e));
}

static void *worker(void *arg)
{
	struct img_scanner *sw = arg;
	/*
	 * A ring per worker, made once.  Without one (no io_uring here) the same
	 * lane runs: the adds and waits fail, so every read is made on demand and
	 * each chunk is probed in one turn.
	 */
	struct img_prefetch *ring = worker_lane(sw, img_prefetch_new(2 * SCAN_CHUNK));

	ring_report(sw->o, ring);
	img_prefetch_free(ring);
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
	 * One job: the caller's thread probes, with one ring: for batched reads
	 * (several volumes), or to bound one volume's reads by --timeout.
	 */
	if (!sw->n_threads && (n > 1 || (o->timeout && !o->udev)))
		sw->ring = img_prefetch_new(SCAN_CHUNK);
	return sw;
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
	if (sw->ring) {
		ring_report(sw->o, sw->ring);
		img_prefetch_free(sw->ring);
	}
	free(sw->scans);
	free(sw->slots);
	free(sw->ready);
	free(sw);
}

/*
 * Wait until target i is probed and return its scan; without threads, probe
 * the chunk that starts at i here, on sw->ring.
 */
struct img_scan *img_scanner_get(struct img_scanner *sw, size_t i)
{
	size_t slot = i % sw->w;

	if (!sw->n_threads) {
		if (!sw->ready[slot]) {
			size_t k = sw->n - i < SCAN_CHUNK ? sw->n - i : SCAN_CHUNK;

			if (k > sw->w - (i - sw->out))
				k = sw->w - (i - sw->out);
			scan_chunk(sw, &sw->ring, sw->n > 1, i, k);
			for (size_t j = i; j < i + k; j++)
				sw->ready[j % sw->w] = true;
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

