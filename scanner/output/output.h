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
#include "scan/result.h"
#include "text/encode.h"

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
