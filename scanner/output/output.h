/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Outputs.  Every output is built from struct img_scan (one target) and its
 * struct img_result; none of them reads a device.  Header strings are
 * untrusted: each writer escapes them for its own grammar.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "check/check.h"
#include "enum/device.h"
#include "io/source.h"
#include "probe/probe.h"

struct img_scan {
	const char *path;
	uint64_t offset;      /* --offset, 0 by default */
	uint64_t size;        /* bytes of the volume from offset to its end */
	int error;            /* 0, or a negative errno: the target could not be probed */
	const char *error_op; /* what failed: "open", "read", "stat" ... (static) */
	/* when set, the cause in words, instead of strerror(-error) (static) */
	const char *error_text;
	/* the block device behind path, when imgscan knows it (enumeration, sysfs) */
	const struct img_device *dev;
	bool have_stats;
	struct img_source_stats stats;
	struct img_result *res; /* set when error == 0 */
	struct img_content content;
	/* --check: the safety verdict on res (set when checked and error == 0) */
	bool checked;
	struct img_verdict verdict;
};

/*
 * Encoders.  Both write a NUL-terminated string into out (outlen bytes) and
 * return its length, or -1 when it does not fit (out then holds a valid
 * truncated prefix).  img_enc follows blkid_encode_string (the _ENC
 * values), img_safe follows blkid_safe_string (the plain values).
 */
int img_enc(const char *s, size_t len, char *out, size_t outlen);
int img_safe(const char *s, size_t len, char *out, size_t outlen);
/*
 * A Prometheus label value (between the double quotes), same contract:
 * '\\', '"' and newline escaped as the exposition format requires; control
 * characters (C0, DEL, C1) and invalid UTF-8 bytes as the text \xHH
 * (written \\xHH).  5*len+1 bytes always suffice.
 */
int img_prom_label(const char *s, size_t len, char *out, size_t outlen);
/*
 * The one definition of a control character for every output: the length
 * of the control character at s (1 for C0 0x00-0x1f and DEL 0x7f, 2 for a
 * C1 control U+0080-U+009F, UTF-8 c2 80..c2 9f), or 0 when s does not start
 * with one.
 */
size_t img_control_len(const char *s, size_t avail);
/*
 * Text for a terminal (error messages): valid UTF-8 other than control
 * characters as is; every byte of a control character or of invalid UTF-8,
 * and '\', as \xNN, as libsmartcols shows a NAME in the table.  Same
 * return convention; a 4*len+1 buffer always fits.
 */
int img_esc(const char *s, size_t len, char *out, size_t outlen);
/*
 * s[0, len) (s: up to its NUL) escaped by img_esc into a string of its own,
 * for a message on stderr; free() it.  On ENOMEM a fixed text, or NULL.
 */
char *img_esc_dupn(const char *s, size_t len);
char *img_esc_dup(const char *s);

/*
 * Shared by the writers (out-udev.c).  img_feature_token writes a feature's
 * token: its canonical name, or "<incompatible|compatible|autoclear|other>_bit_<n>"
 * for an unknown bit; never header bytes.  img_udev_props calls fn once per
 * ID_IMAGE_* property of an image, in --udev order, with the value's bytes;
 * with raw_strings the plain name values (backing file, data file, backing
 * format) are the header bytes unmodified instead of img_safe'd.
 */
int img_feature_token(const struct img_feature *f, char *out, size_t outlen);
/*
 * res's format version as text: "3" for qcow2, "1.1" for a version the
 * format writes as major.minor (version_dotted); returns the length
 */
int img_version_text(const struct img_result *res, char *out, size_t outlen);
/* the tokens of all of res's features, comma-separated and NUL-terminated; returns the length */
size_t img_feature_list(const struct img_result *res, char *buf, size_t buflen);
typedef void (*img_prop_fn)(void *ctx, const char *key, const char *val, size_t len);
void img_udev_props(const struct img_scan *s, bool raw_strings, img_prop_fn fn, void *ctx);

/* --udev: KEY=value lines for IMPORT{program}; nothing for a volume without an image */
void img_out_udev(FILE *f, const struct img_scan *s);
/*
 * val (len bytes, any bytes) double-quoted for sh: printable ASCII other than
 * '"', '\\', '`' and '$' as is, every other byte as \xHH (--export, -P)
 */
void img_put_quoted(FILE *f, const char *val, size_t len);
/* --export: DEVNAME="..." first, then NAME="value" lines, eval-safe; blank line between devices */
void img_out_export(FILE *f, const struct img_scan *s, bool first);
/* --json: {"images": [...]} */
void img_out_json(FILE *f, const struct img_scan *const *scans, size_t n);
/* the same document written one image at a time (bounded memory for big scans) */
void img_out_json_begin(FILE *f);
void img_out_json_item(FILE *f, const struct img_scan *s, bool first);
void img_out_json_end(FILE *f, size_t n);
/*
 * One object of the document, as img_out_json_item writes it but without the
 * document's indentation prefix: *ret is malloc'd text the caller frees.
 * 0, or a negative errno (-ELIBACC: libjson-c cannot be loaded).
 */
int img_json_item_text(const struct img_scan *s, char **ret);
/*
 * A JSON string (with its quotes) of untrusted bytes, made valid UTF-8 as
 * --json does.  The length, or -ENOSPC (out holds a NUL-terminated prefix,
 * which may end inside an escape) or -ELIBACC.
 */
int img_json_string(const char *s, size_t len, char *out, size_t outlen);
/* --cached: the ID_IMAGE_* values the udev database holds for a device */
void img_out_json_cached_item(FILE *f, const struct img_device *d, bool first);
void img_out_export_cached(FILE *f, const struct img_device *d, bool first);

/*
 * --prometheus: node_exporter textfile collector format.  img_prom_add takes
 * one scanned target (any order); img_prom_print writes every family with
 * its HELP and TYPE lines, then the scan's own series.
 */
struct img_prom;
struct img_prom *img_prom_new(void);
void img_prom_add(struct img_prom *p, const struct img_scan *s);
int img_prom_print(struct img_prom *p, FILE *f, double duration_sec);
void img_prom_free(struct img_prom *p);
