/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scan engine (scan.c): open, probe, close and judge targets, many at a
 * time, and hand their results back in input order.  It writes nothing:
 * each result says what failed (img_scan_error_format words it).
 */
#ifndef IMGSCAN_SCAN_H
#define IMGSCAN_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "check/check.h"
#include "io/source.h"
#include "scan/result.h"

/* the most workers a scan runs (--jobs) */
#define IMG_SCAN_MAX_JOBS 64

struct img_target;

struct img_scan_opts {
	uint64_t offset;      /* the image starts here inside each target */
	bool stats;           /* keep the I/O counters in each img_scan */
	bool no_direct;       /* buffered reads */
	bool deep;            /* read past the header (IMG_SOURCE_DEEP_CAP) */
	bool no_content_sigs; /* udev's blkid found no filesystem: a smaller first read */
	bool check;           /* a safety verdict per target */
	bool udev;            /* one target for udev: content from udev_fs_*, no timeout */
	/* with udev: ID_FS_TYPE and ID_FS_USAGE of udev's environment (NULL: none) */
	const char *udev_fs_type;
	const char *udev_fs_usage;
	bool no_content;      /* never name a raw volume's content (libblkid) */
	struct img_policy policy;
	unsigned jobs;        /* workers; 1: the caller's thread */
	unsigned timeout;     /* seconds a read may take; 0: no limit */
	/* called with each source opened, before it is read (the command's IMGSCAN_DEBUG trace) */
	void (*on_open)(struct img_source *src, const char *path);
	/*
	 * A target the engine stat'ed itself (have_st false) that is a block
	 * device: the caller's facts about it (sysfs, the udev database, the
	 * guard table), asked in the worker just before open().  *skip: why
	 * it must not be opened (static text), or NULL.  The device lands in
	 * img_scan.dev and is given back to device_free when the scan is
	 * released (img_scanner_release; after img_scan_one, by the caller).
	 * NULL: no facts, the device is opened as a file would be.
	 */
	const struct img_device *(*device_facts)(void *ctx, const struct img_target *t, dev_t rdev,
	                                         const char **skip);
	void (*device_free)(void *ctx, const struct img_device *dev);
	void *device_ctx;
};

/*
 * One thing to scan: a PATH from the command line, an enumerated device, or
 * (use_fd) a caller's open descriptor, read through a duplicate; path then
 * only names it in errors ("descriptor 5").
 */
struct img_target {
	const char *path;
	const struct img_device *dev; /* the device's facts when listed with them; NULL else */
	const char *skip;       /* why it must not be opened (static text), or NULL */
	bool have_st;           /* st holds a stat(2) of path made when the targets were listed */
	struct stat st;
	uint64_t offset;        /* added to img_scan_opts.offset for this target */
	bool use_fd;            /* read the caller's descriptor fd (have_st ignored) */
	int fd;
	uint64_t fd_size;       /* with fd: the volume's size from offset (0: to the end) */
};

/* one target, in the caller's thread; s->res is malloc'ed (free it) */
void img_scan_one(const struct img_target *t, const struct img_scan_opts *o, struct img_scan *s);
/* the same, the result in slot (s->res == slot, or NULL on failure); slot NULL: as img_scan_one */
void img_scan_target(const struct img_target *t, const struct img_scan_opts *o, struct img_scan *s,
                     struct img_result *slot);

/*
 * The one wording of a failure: "WHO: cannot OP: CAUSE[ DETAIL] (what to
 * do)" into buf (NUL-terminated, truncated to len).  who: the target as
 * said (already escaped); text: the cause in words, or NULL for
 * strerror(-err); skipped: a device not opened by design.  Returns the
 * length it needed.
 */
int img_scan_error_format(char *buf, size_t len, const char *who, const char *op, int err,
                          const char *text, const char *detail, bool skipped);
/* what to do about err (a negative errno), or NULL */
const char *img_scan_error_hint(int err);

/*
 * Many targets: results in input order.  For i = 0 .. n-1:
 * img_scanner_get(sc, i), use the scan, img_scanner_release(sc, i).  The
 * targets and o must outlive the scanner; memory and open descriptors stay
 * bounded whatever n.
 */
struct img_scanner;
struct img_scanner *img_scanner_new(const struct img_target *targets, size_t n,
                                    const struct img_scan_opts *o);
struct img_scan *img_scanner_get(struct img_scanner *sc, size_t i);
void img_scanner_release(struct img_scanner *sc, size_t i);
void img_scanner_free(struct img_scanner *sc);
/* the turns the scanner's lanes ran so far (tests: the caller's thread runs lanes too) */
size_t img_scanner_turns(const struct img_scanner *sc);

#endif
