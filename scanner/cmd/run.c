/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The command's runs over libimgscan.so.1.  A scan hands every target to
 * the library's batch (its scan engine: worker threads, io_uring, --timeout,
 * results in input order) and writes each result as it comes, from the
 * library's facts and the command's own facts about the target (cmd/view.h).
 * The command keeps what is not about a volume's bytes: which block devices
 * exist and which may be opened (enumeration, sysfs, the udev database, the
 * guard table, given to the batch as its check hook for PATH operands), the
 * udev environment of --udev, and every output grammar.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/out-cmd.h"
#include "cmd/run.h"
#include "cmd/view.h"
#include "enum/guard.h"
#include "monitor.h"
#include "output/json-common.h"
#include "output/prom.h"
#include "output/table.h"
#include "output/write-file.h"
#include "text/encode.h"

/* the library's flags for the options; no_content: never name a raw volume's content */
static unsigned probe_flags(const struct cmd_opts *o, bool no_content)
{
	unsigned f = 0;

	if (o->deep)
		f |= IMGSCAN_PROBE_DEEP;
	if (o->no_direct)
		f |= IMGSCAN_PROBE_NO_DIRECT;
	if (o->stats)
		f |= IMGSCAN_PROBE_STATS;
	if (no_content)
		f |= IMGSCAN_PROBE_NO_CONTENT;
	return f;
}

/* libblkid could not be loaded: a raw volume's content is missing, the run must fail */
static bool content_lib_missing(const struct imgscan_probe *pr)
{
	int e = imgscan_probe_get_content_error(pr);

	return e == -ELIBACC || e == -ELIBBAD;
}

/* ---- a scan ------------------------------------------------------------------- */

/* one scan: the targets, the command's facts about them and the output being written */
struct scan_run {
	const struct cmd_opts *o;
	char *const *paths;                 /* PATH operands, or NULL */
	const struct img_device **targets;  /* enumerated devices, or NULL */
	struct img_device **path_devs;      /* PATH operands' devices, filled by check_path */
	size_t n;
	struct img_table *table;
	struct img_prom *prom;
	struct img_progress *progress;
	bool out_tty;
	size_t failed;
	size_t unsafe;
	bool content_missing;
};

/*
 * The batch's check hook, for a PATH operand that is a block device: its
 * sysfs facts and udev database entry, and the guard table's verdict, asked
 * in the worker that reads it, just before it is opened (on a cold cache
 * the lookups overlap other volumes' reads).  Each call writes its own slot.
 */
static const char *check_path(size_t idx, const char *path, dev_t rdev, void *userdata)
{
	struct scan_run *sr = userdata;
	const char *skip = NULL;

	(void)path;
	sr->path_devs[idx] = img_target_device(rdev, &skip);
	return skip;
}

/* one result, in input order, on the calling thread: said, counted and written */
static int deliver(const struct imgscan_probe *pr, int rc, size_t idx, void *userdata)
{
	struct scan_run *sr = userdata;
	const struct cmd_opts *o = sr->o;
	struct img_view v = {
		.pr = pr,
		.rc = rc,
		.path = sr->paths ? sr->paths[idx] : sr->targets[idx]->node,
		.offset = o->offset,
		.dev = sr->paths ? sr->path_devs[idx] : sr->targets[idx],
		.stats = o->stats,
	};

	img_progress_tick(sr->progress);
	/* off the terminal before a line goes there (a table is printed at the end) */
	if (rc < 0 || (sr->out_tty && o->mode != MODE_TABLE))
		img_progress_clear(sr->progress);
	if (o->verbose)
		cmd_say_read(&v);
	if (rc < 0) {
		cmd_report_error(&v);
		sr->failed++;
	} else if (imgscan_probe_is_safe(pr) == 0) {
		sr->unsafe++;
	}
	/* the library says nothing on stderr: the missing libblkid is said here, once */
	if (rc >= 0 && content_lib_missing(pr) && !sr->content_missing) {
		img_progress_clear(sr->progress);
		fprintf(stderr, "imgscan: naming what a raw volume holds needs %s (Debian package %s): %s\n",
		        BLKID_SONAME, BLKID_PACKAGE, strerror(-imgscan_probe_get_content_error(pr)));
		sr->content_missing = true;
	}
	switch (o->mode) {
	case MODE_JSON:
		cmd_out_json_item(stdout, &v, idx == 0);
		break;
	case MODE_UDEV:
		cmd_out_udev(stdout, &v);
		break;
	case MODE_EXPORT:
		cmd_out_export(stdout, &v, idx == 0);
		break;
	case MODE_PROM:
		img_prom_add(sr->prom, &v);
		break;
	case MODE_TABLE:
		img_table_add(sr->table, &v);
		break;
	}
	if (sr->paths) {
		free(sr->path_devs[idx]);
		sr->path_devs[idx] = NULL;
	}
	return 0;
}

/* the batch for o: flags, policy, workers, timeout, the check hook for PATHs, the targets */
static struct imgscan_batch *make_batch(struct scan_run *sr)
{
	const struct cmd_opts *o = sr->o;
	struct imgscan_batch *b = imgscan_batch_new();

	if (!b)
		return NULL;
	/* the metrics name no content: libblkid is not loaded */
	if (imgscan_batch_set_flags(b, probe_flags(o, o->mode == MODE_PROM)) < 0 ||
	    (o->check && imgscan_batch_set_policy(b, o->policy) < 0) ||
	    imgscan_batch_set_jobs(b, o->jobs) < 0 || imgscan_batch_set_timeout(b, o->timeout) < 0 ||
	    (sr->paths && imgscan_batch_set_check(b, check_path, sr) < 0))
		goto fail;
	for (size_t i = 0; i < sr->n; i++) {
		const char *path = sr->paths ? sr->paths[i] : sr->targets[i]->node;

		if (imgscan_batch_add_path(b, path, o->offset) < 0)
			goto fail;
	}
	return b;
fail:
	imgscan_batch_free(b);
	return NULL;
}

/* the scan of sr's targets, written in o->mode (into --write's file when given); an exit status */
static int scan_write(struct scan_run *sr, const struct timespec *t_start)
{
	const struct cmd_opts *o = sr->o;
	struct imgscan_batch *b;
	char write_tmp[4096] = "";
	int r;

	if (o->write_path && img_write_begin(o->write_path, write_tmp, sizeof(write_tmp)) < 0)
		return EXIT_SOME_FAILED;
	if (o->mode == MODE_PROM) {
		sr->prom = img_prom_new();
		if (!sr->prom) {
			fprintf(stderr, "imgscan: out of memory\n");
			img_write_abort(write_tmp);
			return EXIT_SOME_FAILED;
		}
	}
	if (o->mode == MODE_TABLE) {
		sr->table = img_table_new(&o->table);
		if (!sr->table) {
			fprintf(stderr, "imgscan: cannot make the table\n");
			img_write_abort(write_tmp);
			return EXIT_SOME_FAILED;
		}
	} else if (o->mode == MODE_JSON && cmd_out_json_begin(stdout) < 0) {
		/* libjson-c is missing (said): nothing is written */
		img_write_abort(write_tmp);
		return EXIT_SOME_FAILED;
	}
	sr->progress = img_progress_new(sr->n);
	sr->out_tty = sr->progress && isatty(STDOUT_FILENO);
	b = make_batch(sr);
	if (!b) {
		fprintf(stderr, "imgscan: out of memory\n");
		img_progress_free(sr->progress);
		img_write_abort(write_tmp);
		return EXIT_SOME_FAILED;
	}
	r = imgscan_batch_run(b, deliver, sr);
	imgscan_batch_free(b);
	img_progress_free(sr->progress);
	sr->progress = NULL;
	if (r < 0) {
		fprintf(stderr, "imgscan: the scan stopped: %s\n", strerror(-r));
		sr->failed++;
	}
	if (o->mode == MODE_JSON)
		cmd_out_json_end(stdout, sr->n);
	if (sr->prom) {
		struct timespec t_end;

		clock_gettime(CLOCK_MONOTONIC, &t_end);
		if (img_prom_print(sr->prom, stdout,
		                   (double)(t_end.tv_sec - t_start->tv_sec) +
		                           (double)(t_end.tv_nsec - t_start->tv_nsec) / 1e9) < 0) {
			fprintf(stderr, "imgscan: --prometheus: cannot write the metrics: %s\n",
			        strerror(errno));
			sr->failed++;
		}
		img_prom_free(sr->prom);
	}
	if (sr->table) {
		if (img_table_print(sr->table, stdout) < 0) {
			fprintf(stderr, "imgscan: cannot print the table\n");
			sr->failed++;
		}
		img_table_free(sr->table);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (o->write_path)
			fprintf(stderr, "imgscan: %s: write error: %s (%s is left as it was)\n", write_tmp,
			        strerror(errno), o->write_path);
		else
			fprintf(stderr, "imgscan: write error on standard output\n");
		img_write_abort(write_tmp);
		sr->failed++;
	} else if (o->write_path && img_write_commit(o->write_path, write_tmp) < 0) {
		sr->failed++;
	}
	if (sr->content_missing)
		sr->failed++;
	if (sr->failed)
		return EXIT_SOME_FAILED;
	return sr->unsafe ? EXIT_UNSAFE : EXIT_OK;
}

int cmd_run_scan(const struct cmd_opts *o, char *const *paths, size_t n,
                 const struct timespec *t_start)
{
	struct scan_run sr = { .o = o, .paths = n ? paths : NULL, .n = n };
	struct img_device *devs = NULL;
	size_t ndev = 0;
	int rc;

	if (!n) {
		if (img_targets_enumerate(&o->sel, o->verbose, &devs, &ndev, &sr.targets, &sr.n) < 0)
			return EXIT_SOME_FAILED;
		img_select_vg_unmatched(&o->sel, devs, ndev);
	} else {
		/*
		 * Each PATH is stat'ed by the worker that reads it, just before
		 * open(), and a block device's facts are asked of us then
		 * (check_path): on a cold cache the lookups overlap the reads.
		 */
		sr.path_devs = calloc(n, sizeof(*sr.path_devs));
		if (!sr.path_devs)
			return EXIT_SOME_FAILED;
	}
	rc = scan_write(&sr, t_start);
	if (sr.path_devs)
		for (size_t i = 0; i < n; i++)
			free(sr.path_devs[i]); /* targets a stopped batch never delivered */
	free(sr.path_devs);
	free(sr.targets);
	img_devices_free(devs, ndev);
	return rc;
}

/* ---- --udev ------------------------------------------------------------------ */

/*
 * --udev runs from IMPORT{program}: the environment holds what the rules
 * before ours found (the database is not written yet).  Nothing is printed
 * for a device the guard table says never to open (enum/guard.c: the dm/LVM
 * flags); sysfs is checked again before open().
 */
static const char *env_prop(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static bool udev_env_forbids(void)
{
	struct img_guard_facts f;

	img_guard_facts_init(&f);
	img_guard_facts_from_props(&f, env_prop, NULL);
	return img_guard_eval(&f, IMG_GUARD_FOR_OPEN) != NULL;
}

/*
 * Run from a udev rule after udev's blkid builtin, which found no filesystem
 * (no ID_FS_TYPE in the environment): an ISO 9660 signature cannot be there,
 * so the read of its block is saved.  With ID_FS_TYPE set (a rule without
 * the blkid guard) the check is made as everywhere else.
 */
static bool udev_env_no_filesystem(void)
{
	const char *sub = getenv("SUBSYSTEM"), *devpath = getenv("DEVPATH");

	return sub && strcmp(sub, "block") == 0 && devpath && *devpath && !getenv("ID_FS_TYPE");
}

/* run from a udev rule for a device an admin opted in to verdicts (--check) */
static bool udev_env_check(void)
{
	const char *sub = getenv("SUBSYSTEM"), *v = getenv("IMGSCAN_CHECK");

	return sub && strcmp(sub, "block") == 0 && v && strcmp(v, "1") == 0;
}

int cmd_run_udev(const struct cmd_opts *o, const char *path)
{
	struct imgscan_probe *pr;
	struct imgscan_policy *own = NULL;
	struct img_device *d;
	struct img_view v = { .path = path, .offset = o->offset };
	unsigned flags = probe_flags(o, true);
	bool opted_in;
	int failed = 0;

	if (udev_env_forbids())
		return EXIT_OK;
	if (udev_env_no_filesystem())
		flags |= IMGSCAN_PROBE_NO_CONTENT_SIGNATURES;
	/* bounded time: when the deadline passes, udev imports nothing */
	alarm(UDEV_DEADLINE_SEC);
	/* decided from sysfs before open(): some devices must not be touched at all */
	d = img_target_stat(path, false);
	if (d && d->skip) {
		free(d);
		return EXIT_OK;
	}
	pr = imgscan_probe_new();
	/* an earlier rule opted the device in: ENV{IMGSCAN_CHECK}="1" (the default policy) */
	opted_in = !o->check && udev_env_check();
	if (opted_in)
		own = imgscan_policy_new();
	if (!pr || (opted_in && !own) || imgscan_probe_set_flags(pr, flags) < 0 ||
	    imgscan_probe_set_path(pr, path, o->offset) < 0 ||
	    (o->check && imgscan_probe_set_policy(pr, o->policy) < 0) ||
	    (own && imgscan_probe_set_policy(pr, own) < 0) ||
	    /* the content the verdict sees: what udev's blkid found */
	    imgscan_probe_set_udev_content(pr, getenv("ID_FS_TYPE"), getenv("ID_FS_USAGE")) < 0) {
		fprintf(stderr, "imgscan: out of memory\n");
		imgscan_policy_free(own);
		imgscan_probe_free(pr);
		free(d);
		return EXIT_SOME_FAILED;
	}
	imgscan_policy_free(own);
	v.pr = pr;
	v.dev = d;
	v.rc = imgscan_probe_run(pr);
	if (o->verbose)
		cmd_say_read(&v);
	if (v.rc < 0) {
		cmd_report_error(&v);
		failed++;
	}
	cmd_out_udev(stdout, &v);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "imgscan: write error on standard output\n");
		failed++;
	}
	imgscan_probe_free(pr);
	free(d);
	/* udev imports nothing from a program that exits non-zero: ID_IMAGE_SAFE says it */
	return failed ? EXIT_SOME_FAILED : EXIT_OK;
}

/* ---- --cached ------------------------------------------------------------------ */

int cmd_run_cached(const struct cmd_opts *o)
{
	struct img_device *devs;
	size_t ndev, k = 0;
	int r = img_enum_devices(true, true, &devs, &ndev);

	if (r < 0) {
		fprintf(stderr, "imgscan: cannot list block devices: %s\n", strerror(-r));
		return EXIT_SOME_FAILED;
	}
	if (o->mode == MODE_JSON && cmd_out_json_begin(stdout) < 0) {
		img_devices_free(devs, ndev);
		return EXIT_SOME_FAILED;
	}
	for (size_t i = 0; i < ndev; i++) {
		const struct img_device *d = &devs[i];

		if (!img_select_device(&o->sel, d) || d->n_props == 0)
			continue;
		if (o->mode == MODE_JSON)
			img_out_json_cached_item(stdout, d, k == 0);
		else
			cmd_out_export_cached(stdout, d, k == 0);
		k++;
	}
	if (o->mode == MODE_JSON)
		cmd_out_json_end(stdout, k);
	img_select_vg_unmatched(&o->sel, devs, ndev);
	img_devices_free(devs, ndev);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_SOME_FAILED;
}

/* ---- --monitor ------------------------------------------------------------------ */

/* what a one-volume batch delivered: the object --json prints for it */
struct monitor_one {
	const struct cmd_opts *o;
	const char *devnode;
	struct img_device *dev;
	char *text;
};

static const char *monitor_check(size_t idx, const char *path, dev_t rdev, void *userdata)
{
	struct monitor_one *m = userdata;
	const char *skip = NULL;

	(void)idx;
	(void)path;
	m->dev = img_target_device(rdev, &skip);
	return skip;
}

static int monitor_deliver(const struct imgscan_probe *pr, int rc, size_t idx, void *userdata)
{
	struct monitor_one *m = userdata;
	struct img_view v = { .pr = pr, .rc = rc, .path = m->devnode, .offset = m->o->offset,
		              .dev = m->dev, .stats = m->o->stats };

	(void)idx;
	m->text = cmd_json_item_line(&v);
	return 0;
}

/*
 * --monitor: a device an event names, probed like a PATH operand (its
 * sysfs and udev facts and the guard table asked before it is opened)
 */
static char *monitor_scan(void *ctx, const char *devnode)
{
	struct monitor_one m = { .o = ctx, .devnode = devnode };
	struct imgscan_batch *b = imgscan_batch_new();

	if (b && imgscan_batch_set_flags(b, probe_flags(m.o, false)) == 0 &&
	    imgscan_batch_set_jobs(b, 1) == 0 && imgscan_batch_set_check(b, monitor_check, &m) == 0 &&
	    imgscan_batch_add_path(b, devnode, m.o->offset) == 0)
		(void)imgscan_batch_run(b, monitor_deliver, &m);
	imgscan_batch_free(b);
	free(m.dev);
	return m.text;
}

int cmd_run_monitor(const struct cmd_opts *o)
{
	static const struct img_monitor_ops ops = {
		.scan = monitor_scan,
	};
	int rc = img_monitor_run(&ops, (void *)o, stdout);

	if (rc < 0) {
		fprintf(stderr, "imgscan: --monitor: %s\n", strerror(-rc));
		return EXIT_SOME_FAILED;
	}
	return EXIT_OK;
}
