/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --monitor: a libudev monitor (libudev(3), udev_monitor_new_from_netlink
 * with the "udev" source: events after udevd ran its rules, so the
 * properties of udev/65-imgscan.rules are in the event) filtered on the
 * block subsystem.  Each add/change/remove becomes one JSON object on one
 * line, printed as --json prints its text (output/json-common.c: DEL and C1
 * as \u00XX); a probed device's "image" is the object `imgscan -J DEVICE`
 * prints, on one line, as the caller made it.  A device the rule did not
 * describe is probed through the caller's
 * scan function (the same sysfs checks before open() as a PATH operand),
 * and only when the guard table allows it for a udev event, as it allows
 * the udev rule (enum/guard.c; docs/udev.md, "How udev runs imgscan":
 * DM_UDEV_DISABLE_OTHER_RULES_FLAG, LVM layers, suspended or empty devices,
 * a filesystem or partition table blkid found, IMGSCAN_DISABLE).
 * SIGINT and SIGTERM end the loop (signalfd, so nothing is interrupted
 * half-way through a line).
 *
 * libudev and libjson-c are loaded with dlopen when the monitor starts
 * (dl/dl.h).
 *
 * Also the progress line of long scans: stderr only, only on a terminal,
 * only after the first second.
 */
#include <errno.h>
#include <json-c/json.h>
#include <libudev.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "dl/dl-jsonc.h"
#include "dl/dl-udev.h"
#include "enum/device.h"
#include "enum/guard.h"
#include "monitor.h"
#include "output/json-common.h"
#include "text/encode.h"

/* both libraries, before anything is set up */
static int dlopen_monitor(void)
{
	int r = dlopen_udev("--monitor");

	/* the events' lines are written by json-common.c */
	if (r == 0)
		r = dlopen_jsonc("--monitor");
	return r;
}

/* ---- --monitor ---------------------------------------------------------------- */

static const char *prop(struct udev_device *d, const char *key)
{
	const char *v = sym_udev_device_get_property_value(d, key);

	return v && *v ? v : NULL;
}

/* an event's property for the guard facts; ACTION and SUBSYSTEM from the event itself */
static const char *event_prop(void *ctx, const char *name)
{
	struct udev_device *d = ctx;

	if (strcmp(name, "ACTION") == 0)
		return sym_udev_device_get_action(d);
	if (strcmp(name, "SUBSYSTEM") == 0)
		return sym_udev_device_get_subsystem(d);
	return sym_udev_device_get_property_value(d, name);
}

/* why the udev rule would not probe this device (the guard table); NULL when it would */
static const char *guard(struct udev_device *d)
{
	struct img_guard_facts f;
	const struct img_guard_rule *r;

	img_guard_facts_init(&f);
	img_guard_facts_from_props(&f, event_prop, d);
	f.v[IMG_GUARD_KERNEL] = sym_udev_device_get_sysname(d);
	f.v[IMG_GUARD_SIZE] = sym_udev_device_get_sysattr_value(d, "size");
	r = img_guard_eval(&f, IMG_GUARD_FOR_EVENT);
	return r ? r->message : NULL;
}

/*
 * Whether the disk is still the one the event was about.  The kernel numbers
 * each medium a disk gets (diskseq, Linux 5.15): a loop device detached and
 * attached again since the event has a new number, and a probe now would
 * describe the later image under this event.  Unknown (no DISKSEQ in the
 * event, no diskseq in sysfs, as for partitions): taken as current.
 */
static bool event_stale(struct udev_device *d)
{
	const char *ev = prop(d, "DISKSEQ");
	dev_t devnum = sym_udev_device_get_devnum(d);
	char base[64], now[32];

	/* read afresh each time: libudev keeps the first value it read */
	snprintf(base, sizeof(base), "/sys/dev/block/%u:%u", major(devnum), minor(devnum));
	return ev && img_sysfs_read(base, "diskseq", now, sizeof(now)) && strcmp(now, ev) != 0;
}

#define STALE_WHY "the device has changed since this event (a later event describes it)"

static json_object *safe_str(const char *v)
{
	char buf[4 * 4200 + 1];

	if (img_safe(v, strlen(v), buf, sizeof(buf)) < 0 && !buf[0])
		return sym_json_object_new_string("");
	return sym_json_object_new_string(buf);
}

/* the ID_IMAGE_* properties of the event, or NULL when there are none */
static json_object *image_props(struct udev_device *d)
{
	struct udev_list_entry *e;
	json_object *o = NULL;

	sym_udev_list_entry_foreach(e, sym_udev_device_get_properties_list_entry(d)) {
		const char *k = sym_udev_list_entry_get_name(e);
		const char *v = sym_udev_list_entry_get_value(e);

		if (!k || strncmp(k, "ID_IMAGE_", 9) != 0 || !v)
			continue;
		if (!o)
			o = sym_json_object_new_object();
		if (o)
			sym_json_object_object_add(o, k, safe_str(v));
	}
	return o;
}


static void report(const struct img_monitor_ops *ops, void *ctx, FILE *out, struct udev_device *d)
{
	const char *action = sym_udev_device_get_action(d);
	const char *node = sym_udev_device_get_devnode(d);
	dev_t devnum = sym_udev_device_get_devnum(d);
	json_object *ev, *props;
	const char *why;
	char buf[32], *image = NULL, *line;
	bool probed = false;
	size_t len;

	if (!action || !node)
		return;
	if (strcmp(action, "add") != 0 && strcmp(action, "change") != 0 &&
	    strcmp(action, "remove") != 0)
		return;
	ev = sym_json_object_new_object();
	if (!ev)
		return;
	sym_json_object_object_add(ev, "action", sym_json_object_new_string(action));
	sym_json_object_object_add(ev, "devname", safe_str(node));
	snprintf(buf, sizeof(buf), "%u:%u", major(devnum), minor(devnum));
	sym_json_object_object_add(ev, "devnum", sym_json_object_new_string(buf));
	sym_json_object_object_add(ev, "seqnum",
	                       sym_json_object_new_int64((int64_t)sym_udev_device_get_seqnum(d)));

	props = image_props(d);
	if (props) {
		sym_json_object_object_add(ev, "source", sym_json_object_new_string("udev"));
		sym_json_object_object_add(ev, "properties", props);
	} else if ((why = guard(d)) != NULL || (event_stale(d) && (why = STALE_WHY))) {
		sym_json_object_object_add(ev, "source", sym_json_object_new_string("none"));
		sym_json_object_object_add(ev, "skipped", sym_json_object_new_string(why));
	} else {
		image = ops->scan(ctx, node);
		/* changed while it was probed: what was read is not this event's */
		if (event_stale(d)) {
			sym_json_object_object_add(ev, "source", sym_json_object_new_string("none"));
			sym_json_object_object_add(ev, "skipped", sym_json_object_new_string(STALE_WHY));
		} else {
			sym_json_object_object_add(ev, "source", sym_json_object_new_string("probe"));
			probed = true;
		}
	}
	/* one line, written as --json writes its text (DEL and C1 escaped too) */
	line = img_json_object_text(ev, false, "", &len);
	if (line && len) {
		if (probed) {
			/* "image", the event's last member: the object -J prints, on one line, as it is */
			fwrite(line, 1, len - 1, out);
			fputs(",\"image\":", out);
			fputs(image ? image : "null", out);
			fputc('}', out);
		} else {
			fwrite(line, 1, len, out);
		}
		fputc('\n', out);
		fflush(out);
	} else {
		fprintf(stderr, "imgscan: --monitor: %s: event %llu not reported: out of memory\n",
		        node, (unsigned long long)sym_udev_device_get_seqnum(d));
	}
	free(line);
	free(image);
	sym_json_object_put(ev);
}

int img_monitor_run(const struct img_monitor_ops *ops, void *ctx, FILE *out)
{
	struct udev *udev = NULL;
	struct udev_monitor *mon = NULL;
	sigset_t mask, old;
	int sfd = -1, rc;

	rc = dlopen_monitor();
	if (rc < 0)
		return rc;
	/*
	 * A background job of a non-interactive shell starts with SIGINT
	 * ignored, and an ignored signal is discarded, never queued: restore
	 * the default so that signalfd sees it (it is blocked below).
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &mask, &old) != 0)
		return -errno;
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		rc = -errno;
		goto out;
	}
	udev = sym_udev_new();
	if (!udev) {
		rc = -ENOMEM;
		goto out;
	}
	mon = sym_udev_monitor_new_from_netlink(udev, "udev");
	if (!mon) {
		rc = errno ? -errno : -EPROTONOSUPPORT;
		goto out;
	}
	if (sym_udev_monitor_filter_add_match_subsystem_devtype(mon, "block", NULL) < 0 ||
	    sym_udev_monitor_enable_receiving(mon) < 0) {
		rc = errno ? -errno : -EIO;
		goto out;
	}
	if (access("/run/udev/control", F_OK) != 0)
		fprintf(stderr, "imgscan: --monitor: udevd does not seem to run: no event will come\n");

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = sym_udev_monitor_get_fd(mon), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;

			/* consume it: a signal left pending would kill us when unblocked */
			if (read(sfd, &si, sizeof(si)) < 0 && errno == EINTR)
				continue;
			break; /* SIGINT or SIGTERM */
		}
		if (p[0].revents & POLLIN) {
			struct udev_device *d = sym_udev_monitor_receive_device(mon);

			if (d) {
				report(ops, ctx, out, d);
				sym_udev_device_unref(d);
			}
		}
		if (ferror(out)) {
			rc = -EIO;
			break;
		}
	}
out:
	sym_udev_monitor_unref(mon);
	sym_udev_unref(udev);
	if (sfd >= 0)
		close(sfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* ---- progress line ---------------------------------------------------------- */

struct img_progress {
	pthread_mutex_t lock;
	size_t total, done;
	struct timespec start, last;
	bool shown;
};

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

struct img_progress *img_progress_new(size_t total)
{
	struct img_progress *p;

	if (total < 2 || !isatty(STDERR_FILENO))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->total = total;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	return p;
}

void img_progress_tick(struct img_progress *p)
{
	struct timespec now;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->done++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (elapsed(&p->start, &now) >= 1.0 && (!p->shown || elapsed(&p->last, &now) >= 0.2)) {
		fprintf(stderr, "\rimgscan: %zu/%zu volumes scanned (%zu%%)\033[K", p->done, p->total,
		        p->done * 100 / p->total);
		fflush(stderr);
		p->shown = true;
		p->last = now;
	}
	pthread_mutex_unlock(&p->lock);
}

void img_progress_clear(struct img_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->shown = false;
	}
	pthread_mutex_unlock(&p->lock);
}

void img_progress_free(struct img_progress *p)
{
	if (!p)
		return;
	img_progress_clear(p);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
