/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * JSON text shared by the library (out-json.c) and the command
 * (json-common.c): libjson-c through dl/dl-jsonc.h, loaded by the caller.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "dl/dl-jsonc.h"
#include "enum/device.h"

/*
 * A JSON string from untrusted bytes, as qemu-img would print it: every
 * invalid UTF-8 sequence becomes U+FFFD; NULL s gives "".
 */
json_object *img_jstr(const char *str, size_t len);
json_object *img_jcstr(const char *s);
/* a fixed char array from libblkid: up to its first NUL, never past its end */
#define img_jfield(obj, key, arr)                                                   \
	do {                                                                    \
		size_t l_ = strnlen((arr), sizeof(arr));                        \
		if (l_)                                                         \
			sym_json_object_object_add((obj), (key), img_jstr((arr), l_)); \
	} while (0)

/* "device": the block device behind a path (sysfs and udev database facts); nothing for NULL */
void img_json_add_device(json_object *o, const struct img_device *d);
/*
 * o as text, the way every JSON output of imgscan prints it: pretty, each
 * line after prefix and indented by four spaces as qemu-img does (no
 * newline after the last line); or plain, on one line.  Slashes are not
 * escaped, and DEL and the C1 controls, which json-c leaves raw, are
 * written as \u007f and \u0080..\u009f.  A malloc'ed NUL-terminated
 * string (its length in *len when len is not NULL), or NULL when memory
 * ran out.
 */
char *img_json_object_text(json_object *o, bool pretty, const char *prefix, size_t *len);
/*
 * One object of a document, after prefix, to f, as img_json_object_text
 * writes it pretty (written piece by piece when memory runs out)
 */
void img_json_put_item(FILE *f, json_object *o, const char *prefix);
/* --cached: one object of the document, {"path", "device", "udev": {ID_IMAGE_*}} */
void img_out_json_cached_item(FILE *f, const struct img_device *d, bool first);
