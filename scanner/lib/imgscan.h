/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libimgscan: recognise virtual disk images from their header bytes.
 *
 *   #include <imgscan/imgscan.h>     pkg-config --cflags --libs imgscan
 *
 * A probe handle (struct imgscan_probe) is given one volume (a path, a file
 * descriptor or the caller's memory), run, and then asked for the facts that
 * `imgscan --json` prints.  The reference, with the ownership of every
 * returned pointer and the thread safety of each object, is docs/api.md.
 *
 * Conventions:
 *  - functions that can fail return a negative errno (never set errno as the
 *    only report); imgscan_probe_strerror() explains the last failure;
 *  - getters of optional facts return 0 and fill *ret, or -ENODATA when the
 *    image does not have that fact;
 *  - strings read from a header are untrusted bytes: they come with their
 *    length, may hold NUL and control bytes, and must be encoded for the
 *    grammar they are written into (imgscan_encode_*);
 *  - returned pointers belong to the handle and stay valid until the next
 *    imgscan_probe_set_*(), imgscan_probe_run() or imgscan_probe_free().
 */
#ifndef IMGSCAN_IMGSCAN_H
#define IMGSCAN_IMGSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(IMGSCAN_BUILDING_LIBRARY) && defined(__GNUC__)
#define IMGSCAN_EXPORT __attribute__((visibility("default")))
#else
#define IMGSCAN_EXPORT
#endif

/* the library's version, "0.1.0" */
IMGSCAN_EXPORT const char *imgscan_version(void);

/* ---- probe handles ------------------------------------------------------------ */

struct imgscan_probe;
struct imgscan_policy;

/* imgscan_probe_set_flags() */
enum {
	/* --deep: read snapshot, bitmap and refcount tables (bounded, 64 MiB at most) */
	IMGSCAN_PROBE_DEEP = 1u << 0,
	/* never open with O_DIRECT (paths only; a descriptor is read as it was opened) */
	IMGSCAN_PROBE_NO_DIRECT = 1u << 1,
	/* do not name a raw volume's content with libblkid (no "content" facts) */
	IMGSCAN_PROBE_NO_CONTENT = 1u << 2,
	/*
	 * skip content-only signatures (ISO 9660, UDF): the caller knows none is
	 * there; polyglots with them are then not reported ambiguous
	 */
	IMGSCAN_PROBE_NO_CONTENT_SIGNATURES = 1u << 3,
	/* --stats: the JSON object gets the "scan" I/O counters (always kept: imgscan_probe_get_io) */
	IMGSCAN_PROBE_STATS = 1u << 4,
};

/* a new handle with no volume; NULL when out of memory */
IMGSCAN_EXPORT struct imgscan_probe *imgscan_probe_new(void);
/* closes what the handle opened (never a caller's descriptor); NULL is allowed */
IMGSCAN_EXPORT void imgscan_probe_free(struct imgscan_probe *pr);

/* IMGSCAN_PROBE_* bits; -EINVAL for an unknown bit */
IMGSCAN_EXPORT int imgscan_probe_set_flags(struct imgscan_probe *pr, unsigned flags);

/*
 * The volume is path, from byte offset: opened at run time as the imgscan
 * command opens it (looked up once, O_PATH; only a regular file or a block
 * device, that very inode, read-only, O_DIRECT unless NO_DIRECT), and closed
 * before imgscan_probe_run() returns.  path is copied.
 */
IMGSCAN_EXPORT int imgscan_probe_set_path(struct imgscan_probe *pr, const char *path,
                                          uint64_t offset);
/*
 * The volume is the caller's open descriptor fd (a regular file or a block
 * device), from byte offset, size bytes long (0: to the end).  The library
 * reads through a duplicate of fd and never changes its flags or offset; an
 * O_DIRECT descriptor is read with aligned requests, and a raw volume's
 * content is then not named.  The caller keeps and closes fd.
 */
IMGSCAN_EXPORT int imgscan_probe_set_fd(struct imgscan_probe *pr, int fd, uint64_t offset,
                                        uint64_t size);
/*
 * The volume is size bytes whose first head_len bytes are at head and last
 * tail_len bytes at tail (tail NULL, tail_len 0: unknown).  Nothing is
 * copied: the buffers must stay valid until the run returns.  Without a
 * tail the last 4 KiB read as zeros (no footer: a fixed VHD or a DMG is not
 * recognised).  A probe that needs other bytes outside the buffers makes
 * the run fail with -ENODATA.
 */
IMGSCAN_EXPORT int imgscan_probe_set_buffer(struct imgscan_probe *pr, const void *head,
                                            size_t head_len, const void *tail, size_t tail_len,
                                            uint64_t size);
/*
 * Check the volume against a policy on every run (the safety verdict,
 * imgscan --check).  The policy is copied; NULL: no verdict.
 */
IMGSCAN_EXPORT int imgscan_probe_set_policy(struct imgscan_probe *pr,
                                            const struct imgscan_policy *pol);

/*
 * Probe the volume: 1 an image format was recognised (or several:
 * imgscan_probe_is_ambiguous), 0 no image (the volume is raw), or a negative
 * errno (-EINVAL: no volume set; the open or read errors).
 */
IMGSCAN_EXPORT int imgscan_probe_run(struct imgscan_probe *pr);
/*
 * The last failure in words, naming the volume, the cause and what to do
 * ("/dev/sdb: cannot open: Permission denied (run as root; ...)"); NULL
 * when the last call succeeded.  Owned by the handle.
 */
IMGSCAN_EXPORT const char *imgscan_probe_strerror(const struct imgscan_probe *pr);

/* ---- facts (after a run that returned 0 or 1) ------------------------------------ */

/* "qcow2", "vmdk", ..., "raw"; NULL before a successful run */
IMGSCAN_EXPORT const char *imgscan_probe_get_format(const struct imgscan_probe *pr);
/* bytes of the volume from the offset to its end */
IMGSCAN_EXPORT int imgscan_probe_get_size(const struct imgscan_probe *pr, uint64_t *ret);
IMGSCAN_EXPORT int imgscan_probe_get_version(const struct imgscan_probe *pr, uint32_t *ret);
IMGSCAN_EXPORT int imgscan_probe_get_virtual_size(const struct imgscan_probe *pr, uint64_t *ret);
IMGSCAN_EXPORT int imgscan_probe_get_cluster_size(const struct imgscan_probe *pr, uint64_t *ret);
/* static tokens: "dynamic", "fixed", "streamOptimized" ...; "0.10", "1.1" (qcow2) */
IMGSCAN_EXPORT const char *imgscan_probe_get_subformat(const struct imgscan_probe *pr);
IMGSCAN_EXPORT const char *imgscan_probe_get_compat(const struct imgscan_probe *pr);
/* untrusted header bytes with their length (not NUL-terminated for the caller's use) */
IMGSCAN_EXPORT int imgscan_probe_get_backing_file(const struct imgscan_probe *pr,
                                                  const char **ret, size_t *len);
IMGSCAN_EXPORT int imgscan_probe_get_backing_format(const struct imgscan_probe *pr,
                                                    const char **ret, size_t *len);
IMGSCAN_EXPORT int imgscan_probe_get_data_file(const struct imgscan_probe *pr, const char **ret,
                                               size_t *len);
/* "aes", "luks", or NULL when not encrypted */
IMGSCAN_EXPORT const char *imgscan_probe_get_encryption(const struct imgscan_probe *pr);
/* 1 or 0; -ENODATA when the format has no such flag */
IMGSCAN_EXPORT int imgscan_probe_is_dirty(const struct imgscan_probe *pr);
IMGSCAN_EXPORT int imgscan_probe_is_corrupt(const struct imgscan_probe *pr);
IMGSCAN_EXPORT int imgscan_probe_get_snapshot_count(const struct imgscan_probe *pr,
                                                    uint32_t *ret);
IMGSCAN_EXPORT int imgscan_probe_get_bitmap_count(const struct imgscan_probe *pr, uint32_t *ret);
/* why qemu would refuse the header (static text), NULL when it would not */
IMGSCAN_EXPORT const char *imgscan_probe_get_damaged(const struct imgscan_probe *pr);
/* which of imgscan's own limits cut the header short (static text), or NULL */
IMGSCAN_EXPORT const char *imgscan_probe_get_limit(const struct imgscan_probe *pr);

/*
 * The reads the run made (system calls, or io_uring requests in a batch) and
 * the bytes they returned; -ENODATA for a memory volume or before a run.
 */
IMGSCAN_EXPORT int imgscan_probe_get_io(const struct imgscan_probe *pr, uint64_t *reads,
                                        uint64_t *bytes);

/* feature kinds */
enum imgscan_feature_kind {
	IMGSCAN_FEATURE_INCOMPATIBLE = 0,
	IMGSCAN_FEATURE_COMPATIBLE = 1,
	IMGSCAN_FEATURE_AUTOCLEAR = 2,
	IMGSCAN_FEATURE_OTHER = 3, /* flags of formats without qcow2-style bitmaps */
};
IMGSCAN_EXPORT unsigned imgscan_probe_get_feature_count(const struct imgscan_probe *pr);
/*
 * Feature idx: *token is its token as --json lists it ("lazy_refcounts", or
 * "incompatible_bit_5" for a bit imgscan does not know, then *unknown is 1),
 * owned by the handle; any of the out pointers may be NULL.  -ERANGE past the end.
 */
IMGSCAN_EXPORT int imgscan_probe_get_feature(const struct imgscan_probe *pr, unsigned idx,
                                             const char **token, int *kind, unsigned *bit,
                                             int *unknown);
/* the name the image's own feature table gives an unknown bit (untrusted), -ENODATA if none */
IMGSCAN_EXPORT int imgscan_probe_get_feature_table_name(const struct imgscan_probe *pr,
                                                        unsigned idx, const char **ret,
                                                        size_t *len);

/*
 * 1 when more than one format matched at the start of the volume (a
 * polyglot: get_format names the first candidate, --udev gives only
 * ID_IMAGE_AMBIGUOUS), else 0.  The candidates, first the one whose facts
 * are reported, are listed whenever there are several (a footer-only one
 * beside a header at the start too); count 0 otherwise.
 */
IMGSCAN_EXPORT int imgscan_probe_is_ambiguous(const struct imgscan_probe *pr);
IMGSCAN_EXPORT unsigned imgscan_probe_get_candidate_count(const struct imgscan_probe *pr);
IMGSCAN_EXPORT const char *imgscan_probe_get_candidate(const struct imgscan_probe *pr,
                                                       unsigned idx);

/* what libblkid named inside a raw volume: key "type", "usage", "version",
 * "label", "uuid", "pttype" or "ptuuid"; NULL when absent */
IMGSCAN_EXPORT const char *imgscan_probe_get_content(const struct imgscan_probe *pr,
                                                     const char *key);

/*
 * The trees of typed entries behind the JSON object's "format-specific"
 * "data" (IMGSCAN_TREE_FORMAT_SPECIFIC, its "type" from
 * imgscan_probe_get_specific_type) and the --deep top-level keys
 * ("snapshots": IMGSCAN_TREE_DEEP): a flat list in document order where
 * OBJECT and ARRAY open a container that the next unmatched END closes (a
 * container left open ends with the list); keys are static ASCII, NULL
 * inside arrays; strings are untrusted bytes with their length (a vmdk
 * extent naming the image itself gives the path probed).
 */
enum imgscan_tree {
	IMGSCAN_TREE_FORMAT_SPECIFIC = 0,
	IMGSCAN_TREE_DEEP = 1,
};
enum imgscan_entry_type {
	IMGSCAN_ENTRY_STRING = 1, /* *str, *len */
	IMGSCAN_ENTRY_UINT = 2,   /* *uval */
	IMGSCAN_ENTRY_INT = 3,    /* *ival */
	IMGSCAN_ENTRY_BOOL = 4,   /* *uval 0 or 1 */
	IMGSCAN_ENTRY_OBJECT = 5,
	IMGSCAN_ENTRY_ARRAY = 6,
	IMGSCAN_ENTRY_END = 7,
};
/* "qcow2", "vmdk", "luks", ...; NULL: no format-specific data */
IMGSCAN_EXPORT const char *imgscan_probe_get_specific_type(const struct imgscan_probe *pr);
IMGSCAN_EXPORT unsigned imgscan_probe_get_tree_count(const struct imgscan_probe *pr, int tree);
/* entry idx of tree; out pointers may be NULL; -ERANGE past the end, -EINVAL unknown tree */
IMGSCAN_EXPORT int imgscan_probe_get_tree_entry(const struct imgscan_probe *pr, int tree,
                                                unsigned idx, int *type, const char **key,
                                                const char **str, size_t *len, uint64_t *uval,
                                                int64_t *ival);

/*
 * The ID_IMAGE_* properties `imgscan --udev` prints for this volume, in the
 * same order, with the same values (udev-safe, without the udev quoting):
 * idx from 0 to the count.  *name is static, *value is owned by the handle.
 */
IMGSCAN_EXPORT unsigned imgscan_probe_get_property_count(const struct imgscan_probe *pr);
IMGSCAN_EXPORT int imgscan_probe_get_property(const struct imgscan_probe *pr, unsigned idx,
                                              const char **name, const char **value,
                                              size_t *len);

/*
 * One object of `imgscan --json`'s "images" array for this volume, exactly
 * as the command prints it (4-space indentation), NUL-terminated, owned by
 * the handle.  Needs libjson-c (loaded with dlopen): -ELIBACC without it.
 */
IMGSCAN_EXPORT int imgscan_probe_get_json(const struct imgscan_probe *pr, const char **ret);

/* ---- safety verdicts (imgscan --check) -------------------------------------------- */

/*
 * A policy: nothing waived or denied, no expected format, VMDK createTypes
 * monolithicSparse and streamOptimized allowed; as imgscan --check.
 */
IMGSCAN_EXPORT struct imgscan_policy *imgscan_policy_new(void);
IMGSCAN_EXPORT void imgscan_policy_free(struct imgscan_policy *pol);
/*
 * Comma-separated lists, as the command's options take them.  -EINVAL when a
 * token is unknown (nothing is changed).
 */
IMGSCAN_EXPORT int imgscan_policy_allow(struct imgscan_policy *pol, const char *checks);
IMGSCAN_EXPORT int imgscan_policy_deny_formats(struct imgscan_policy *pol, const char *formats);
IMGSCAN_EXPORT int imgscan_policy_vmdk_types(struct imgscan_policy *pol, const char *types);
/* the format the volume must be ("raw" included); NULL: none expected */
IMGSCAN_EXPORT int imgscan_policy_expect_format(struct imgscan_policy *pol, const char *format);
/* the largest virtual size allowed; 0: no limit */
IMGSCAN_EXPORT int imgscan_policy_max_virtual_size(struct imgscan_policy *pol, uint64_t bytes);

/* the checks, by index from 0: stable tokens ("backing-file"); NULL past the end */
IMGSCAN_EXPORT const char *imgscan_check_name(unsigned idx);
/* 1 safe, 0 unsafe; -ENODATA when no policy was set */
IMGSCAN_EXPORT int imgscan_probe_is_safe(const struct imgscan_probe *pr);
/*
 * Check check (a token): 1 failed (and *reason, printable ASCII owned by the
 * handle, says why), 0 passed or waived, -EINVAL unknown token, -ENODATA no policy.
 */
IMGSCAN_EXPORT int imgscan_probe_check_failed(const struct imgscan_probe *pr, const char *check,
                                              const char **reason);

/* ---- batch scans ----------------------------------------------------------------- */
/*
 * Many volumes probed by N worker threads (each reading the first blocks of
 * 16 volumes at a time in one io_uring batch where the kernel allows), the
 * results handed to a callback on the thread that calls imgscan_batch_run,
 * in the order the volumes were added; at most 2 * N * 16 volumes (and never
 * more than 256) are in flight whatever their number.  It is the scan engine
 * of the imgscan command.
 */
struct imgscan_batch;
/*
 * Called once per volume, in input order: idx is what the add function
 * returned, rc what imgscan_probe_run would have (1, 0 or a negative errno,
 * imgscan_probe_strerror(pr) explaining it).  pr and every pointer taken
 * from it are valid until the callback returns.  A non-zero return stops the
 * batch: no further callback, imgscan_batch_run returns -ECANCELED.
 */
typedef int (*imgscan_batch_fn)(const struct imgscan_probe *pr, int rc, size_t idx,
                                void *userdata);
IMGSCAN_EXPORT struct imgscan_batch *imgscan_batch_new(void);
IMGSCAN_EXPORT void imgscan_batch_free(struct imgscan_batch *b);
/* for every volume of the batch: IMGSCAN_PROBE_* (-EINVAL for unknown bits), a policy (copied) */
IMGSCAN_EXPORT int imgscan_batch_set_flags(struct imgscan_batch *b, unsigned flags);
IMGSCAN_EXPORT int imgscan_batch_set_policy(struct imgscan_batch *b,
                                            const struct imgscan_policy *pol);
/* worker threads, 1 to 32 (default 4) */
IMGSCAN_EXPORT int imgscan_batch_set_jobs(struct imgscan_batch *b, unsigned jobs);
/* add a volume as imgscan_probe_set_path / _set_fd would set it; its index, or a negative errno */
IMGSCAN_EXPORT ssize_t imgscan_batch_add_path(struct imgscan_batch *b, const char *path,
                                              uint64_t offset);
IMGSCAN_EXPORT ssize_t imgscan_batch_add_fd(struct imgscan_batch *b, int fd, uint64_t offset,
                                            uint64_t size);
/*
 * Probe every volume added, calling fn for each in input order.  0, or
 * -ECANCELED (fn stopped it), -EINVAL (fn NULL), -ENOMEM, or a
 * pthread_create error.  The volumes stay added: a batch can run again.
 */
IMGSCAN_EXPORT int imgscan_batch_run(struct imgscan_batch *b, imgscan_batch_fn fn,
                                     void *userdata);

/* ---- encoders ------------------------------------------------------------------ */
/*
 * Each writes s (len bytes, any bytes) encoded into out (outlen bytes) with a
 * NUL, and returns the length, or -ENOSPC when it does not fit (out then
 * holds a NUL-terminated prefix).
 *  udev:      blkid_encode_string, the _ENC values (\xHH for unsafe bytes)
 *  udev_safe: blkid_safe_string, the plain values (whitespace '_')
 *  shell:     a double-quoted sh word ("..." with \xHH), as --export prints
 *  json:      a JSON string with its quotes, invalid UTF-8 as U+FFFD (as --json);
 *             needs libjson-c (-ELIBACC)
 */
IMGSCAN_EXPORT ssize_t imgscan_encode_udev(const char *s, size_t len, char *out, size_t outlen);
IMGSCAN_EXPORT ssize_t imgscan_encode_udev_safe(const char *s, size_t len, char *out,
                                                size_t outlen);
IMGSCAN_EXPORT ssize_t imgscan_encode_shell(const char *s, size_t len, char *out, size_t outlen);
IMGSCAN_EXPORT ssize_t imgscan_encode_json(const char *s, size_t len, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif

#endif
