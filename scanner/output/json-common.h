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

/*
 * json-c's PRETTY text (2-space indentation) written with prefix before
 * each line and its indentation doubled (4 spaces a level); DEL and C1
 * controls, which json-c writes raw, as \u007f and \u0080..\u009f.
 */
void img_json_put_reindented(FILE *f, const char *text, const char *prefix);
/* "device": the block device behind a path (sysfs and udev database facts); nothing for NULL */
void img_json_add_device(json_object *o, const struct img_device *d);
/* --cached: one object of the document, {"path", "device", "udev": {ID_IMAGE_*}} */
void img_out_json_cached_item(FILE *f, const struct img_device *d, bool first);
