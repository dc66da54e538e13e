/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The command's outputs other than the table and the metrics (out-cmd.c),
 * each made from a view (cmd/view.h): --udev, --export, --json, --cached,
 * and what -v and a failure say on stderr.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cmd/view.h"
#include "enum/device.h"

/* --udev: KEY=value lines for IMPORT{program}; nothing for a volume without an image */
void cmd_out_udev(FILE *f, const struct img_view *v);
/* --export: DEVNAME="..." first, then NAME="value" lines, eval-safe; a blank line between */
void cmd_out_export(FILE *f, const struct img_view *v, bool first);
/*
 * --json: {"images": [...]}, one object at a time.  cmd_out_json_begin
 * loads libjson-c and returns a negative errno (said on stderr) when it
 * cannot: nothing is written then.
 */
int cmd_out_json_begin(FILE *f);
void cmd_out_json_item(FILE *f, const struct img_view *v, bool first);
void cmd_out_json_end(FILE *f, size_t n);
/*
 * The object cmd_out_json_item writes, without the document's indentation,
 * malloc'ed (free it); NULL when it cannot be made
 */
char *cmd_json_item_text(const struct img_view *v);
/* the same object on one line, as json-c writes it plain (--monitor's "image") */
char *cmd_json_item_line(const struct img_view *v);
/* --cached: what the udev database holds for a device (no device is opened) */
void cmd_out_export_cached(FILE *f, const struct img_device *d, bool first);
/* "imgscan: PATH: cannot OP: CAUSE (what to do)" on stderr for a failed volume */
void cmd_report_error(const struct img_view *v);
/* -v: how the volume was read, and content that could not be named */
void cmd_say_read(const struct img_view *v);
