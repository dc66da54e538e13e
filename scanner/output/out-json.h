/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The JSON object of one scan, for the callers that hold json-c objects
 * themselves (--monitor embeds it in its event objects).  Kept apart from
 * output.h so that the other outputs need no json-c header.
 *
 * libjson-c must be loaded first (dlopen_jsonc, dl/dl-jsonc.h): every call
 * here goes through its sym_* pointers.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "output/json-common.h"
#include "output/output.h"

/*
 * The object --json prints for s, -J's and the library's JSON too (they
 * all print this object): keys as `qemu-img info --output=json` names them,
 * every string from a header made valid UTF-8 as qemu does it.  A new
 * reference (json_object_put it), or NULL when memory ran out.
 */
json_object *img_json_item_object(const struct img_scan *s);

/* its printer, img_json_object_text, is output/json-common.h's (the command's JSON text too) */
