/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The seam between the probe core and the outside world: readers over a
 * device or file (source-fd.c) and over a memory buffer (source-mem.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe.h"

/* per-volume counters, reported by --stats and in the JSON "scan" object */
struct img_source_stats {
	unsigned reads;      /* read system calls issued */
	uint64_t bytes;      /* bytes those calls returned */
	bool direct;         /* O_DIRECT was used for the reads */
	bool direct_refused; /* O_DIRECT was refused (EINVAL) and buffered reads were used */
	uint32_t align;      /* alignment used for offsets, lengths and buffers */
	bool is_block;       /* the target is a block device */
};

/* Hard cap on bytes read per volume; requests beyond it fail with -E2BIG. */
#define IMG_SOURCE_BYTE_CAP (8u * 1024 * 1024)
/* The read budget per volume with --deep (snapshot, bitmap, refcount tables). */
#define IMG_SOURCE_DEEP_CAP (64u * 1024 * 1024)
/*
 * The head window: its first 36 KiB are read on first use (every header
 * proper, a vmdk descriptor, LUKS2's JSON area and the ISO 9660 volume
 * descriptor at 32 KiB that reveals a polyglot: one read), the rest up to
 * 64 KiB only when a probe asks for it; and the tail window size.  A volume
 * of at most HEAD_FIRST + TAIL bytes is read whole, in one read.  On the
 * virtual disk measured (docs/performance.md) a 36 KiB read costs less than
 * two 4 KiB reads, a 64 KiB read more.
 */
#define IMG_SOURCE_HEAD_FIRST (36u * 1024)
#define IMG_SOURCE_HEAD (64u * 1024)
#define IMG_SOURCE_TAIL (4u * 1024)

struct img_source;

/*
 * Open path read-only (O_RDONLY|O_CLOEXEC|O_NONBLOCK|O_NOCTTY, plus O_DIRECT
 * unless no_direct).  The image is taken to start at byte offset.  Returns 0
 * or a negative errno: -ENOTBLK when path is neither a regular file nor a
 * block device, -EINVAL when offset is past the end.
 */
int img_source_open(const char *path, uint64_t offset, bool no_direct, struct img_source **ret);
/*
 * The same, with pre a stat(2) of path the caller has just made (when it
 * listed its targets) standing for the one before open(); NULL: stat here.
 * What is opened is checked again with statx either way.
 */
struct stat;
int img_source_open_stat(const char *path, const struct stat *pre, uint64_t offset, bool no_direct,
                         struct img_source **ret);
/*
 * A source over the caller's open descriptor fd (a regular file or a block
 * device), read through a duplicate: fd's flags and offset are never
 * changed, O_DIRECT is used exactly when fd has it.  The volume is size
 * bytes from offset (0: to the end).  -EINVAL when offset or size reach
 * past the end, -ENOTBLK for any other kind of file, -EBADF for a
 * descriptor that cannot be read.
 */
int img_source_from_fd(int fd, uint64_t offset, uint64_t size, struct img_source **ret);
void img_source_reader(struct img_source *s, struct img_reader *ret);
/*
 * Probe tracing (IMGSCAN_DEBUG=probe in the command): every reader of s
 * carries fn and trace_ctx (struct img_reader.trace), so the probe core
 * reports each magic it tries and each check that fails; fn NULL: off.
 * A traced source never defers a read (img_source_defer): its probe runs
 * once, so its trace is printed once, with the same reads.
 */
void img_source_set_trace(struct img_source *s, void (*fn)(void *trace_ctx, const char *line),
                          void *trace_ctx);
/*
 * Change the size of the first head read (whole 4 KiB blocks, at most
 * IMG_SOURCE_HEAD), before any read: 4096 where no probe needs the ISO 9660
 * block at 32 KiB (IMG_PROBE_NO_CONTENT), so one device read costs less.
 */
void img_source_set_head(struct img_source *s, uint32_t bytes);
/* change the byte cap (IMG_SOURCE_DEEP_CAP for --deep); never above 1 GiB */
void img_source_set_cap(struct img_source *s, uint64_t cap);
const struct img_source_stats *img_source_stats(const struct img_source *s);
uint64_t img_source_size(const struct img_source *s); /* whole target, before offset */
/*
 * Read the head and tail windows of many sources at once, with io_uring when
 * imgscan was built with liburing and the kernel allows it.  A prefetch
 * context (one ring) serves every batch of up to max_sources sources; it is
 * NULL when batching is unavailable: the windows are then read on demand.
 * add() queues a source's reads and submits them in groups (the device works
 * while more volumes are opened), wait() reaps them all; both return a
 * negative errno when batching is unavailable.  Errors of single reads are
 * left for the on-demand reads to meet and report.
 */
struct img_prefetch;
struct img_prefetch *img_prefetch_new(size_t max_sources);
void img_prefetch_free(struct img_prefetch *pf);
int img_prefetch_add(struct img_prefetch *pf, struct img_source *s);
int img_prefetch_wait(struct img_prefetch *pf);
/*
 * 0, or why the ring failed (a negative errno): its reads were given up and
 * every later read is made on demand.  A signal (^Z, fg) is not a failure.
 * -ETIMEDOUT: a read was still out at its deadline (img_source_set_timeout).
 */
int img_prefetch_error(const struct img_prefetch *pf);
/*
 * Deferred reads, for bulk scans: with pf set, a request the cache cannot
 * serve queues its read on pf, submits it at once and fails with -EAGAIN
 * (later requests of the same run fail too, unqueued).  The caller probes
 * other volumes meanwhile, then img_prefetch_wait(pf), and probes this one
 * again: img_source_take_miss() says whether the run was cut short (and
 * clears it).  Every read is the one an on-demand run would have made; a
 * full ring, a request that continues a cached region, or one that would
 * take the volume past 2 MiB held, reads at once.
 * pf NULL: reads on demand again.
 */
void img_source_defer(struct img_source *s, struct img_prefetch *pf);
bool img_source_take_miss(struct img_source *s);
/*
 * Deadlines, for bulk scans: a device whose read never returns (a dead path,
 * a hung FUSE or NFS file behind a loop device) must not hold the others.
 * With a timeout set (ms; 0: none), each read of s must come in within that
 * time of being queued: reads on a ring (img_prefetch_add, deferred reads)
 * are waited for until then, and with img_source_sync(s, pf) the reads the
 * cache misses are made on pf's ring too and waited for as long only (pf
 * NULL: pread, unbounded).  A read that does not come in time is left in
 * flight: the source is marked timed out and every later request fails
 * with -ETIMEDOUT; the ring is given up (img_prefetch_error() -ETIMEDOUT):
 * free it, its buffers are left to the kernel, and make a new one.
 */
void img_source_set_timeout(struct img_source *s, uint64_t ms);
void img_source_sync(struct img_source *s, struct img_prefetch *pf);
bool img_source_timed_out(const struct img_source *s);
/* CLOCK_MONOTONIC in ns; the deadline ms after now (0 ms: 0, no deadline; saturates) */
uint64_t img_clock_ns(void);
uint64_t img_deadline_after(uint64_t now, uint64_t ms);
/*
 * The open descriptor, switched to buffered reads, for libblkid to name a
 * raw volume's content on the very inode that was probed (no second lookup
 * of the path); still owned by s.  A negative errno once closed.
 */
int img_source_buffered_fd(struct img_source *s);
/* close the descriptor at once; cached data stays readable until free */
void img_source_close(struct img_source *s);
void img_source_free(struct img_source *s);

/* A reader over a buffer the caller keeps alive. */
struct img_mem_source {
	const uint8_t *buf;
	size_t len;
	unsigned reads; /* get() calls, for tests */
};
void img_mem_reader(struct img_mem_source *m, const void *buf, size_t len, struct img_reader *ret);
