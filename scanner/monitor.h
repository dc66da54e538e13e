/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --monitor (a libudev monitor on the "udev" netlink source, subsystem
 * block) and the progress line of long scans.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * How --monitor probes a device the event does not describe: scan probes it
 * exactly like a PATH operand (device checks from sysfs before open; an
 * error or a skip is the object's "error") and returns the object --json
 * prints for it on one line (JSON_C_TO_STRING_PLAIN's form), malloc'ed
 * text (NULL: none).
 */
struct img_monitor_ops {
	char *(*scan)(void *ctx, const char *devnode);
};

/*
 * One JSON object per line on out for every add/change/remove uevent of a
 * block device, after udevd ran its rules:
 *   {"action", "devname", "devnum", "seqnum", "source", ...}
 * source "udev": "properties" holds the event's ID_IMAGE_* properties (the
 * imgscan rule ran); "probe": "image" is the object --json prints for the
 * device; "none": "skipped" says why the device was not opened (the guards
 * of the udev rule: dm/LVM flags, layers, a filesystem blkid found ...).
 * Runs until SIGINT or SIGTERM.  Returns 0, or a negative errno when the
 * monitor could not be set up.
 */
int img_monitor_run(const struct img_monitor_ops *ops, void *ctx, FILE *out);

/*
 * A progress line on stderr ("imgscan: 120/4000 volumes scanned"), drawn only
 * when stderr is a terminal and only once the scan has run for a second.
 * img_progress_new returns NULL when there is nothing to draw (every other
 * call accepts NULL).  img_progress_tick is thread-safe.
 */
struct img_progress;
struct img_progress *img_progress_new(size_t total);
void img_progress_tick(struct img_progress *p);
/* erase the line before other output (the next tick draws it again) */
void img_progress_clear(struct img_progress *p);
void img_progress_free(struct img_progress *p);
