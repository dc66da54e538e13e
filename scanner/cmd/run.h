/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the command runs once its options are parsed (run.c): a scan of
 * PATHs or of every block device through libimgscan.so.1's batch, one
 * volume for a udev rule (--udev), the udev database (--cached) and the
 * event monitor (--monitor).  main.c only parses the options and
 * dispatches here.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/imgscan.h"
#include "output/table.h"
#include "targets.h"

enum cmd_mode {
	MODE_TABLE,
	MODE_JSON,
	MODE_UDEV,
	MODE_EXPORT,
	MODE_PROM,
};

enum {
	EXIT_OK = 0,
	EXIT_SOME_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_UNSAFE = 3,
};

/* the most workers a scan runs (--jobs), the library's limit */
#define CMD_MAX_JOBS 64
/* --udev finishes well inside udev's event budget (180 s by default) */
#define UDEV_DEADLINE_SEC 30

struct cmd_opts {
	enum cmd_mode mode;
	uint64_t offset;  /* --offset */
	bool stats;       /* --stats */
	bool no_direct;   /* --no-direct */
	bool verbose;     /* -v */
	bool deep;        /* --deep */
	bool check;       /* --check and the options that imply it */
	struct imgscan_policy *policy;
	unsigned jobs;    /* --jobs */
	unsigned timeout; /* --timeout, seconds; 0: no limit */
	bool monitor;
	bool cached;
	const char *write_path; /* --write FILE */
	struct img_select sel;  /* --lvm, --vg */
	struct img_table_opts table;
};

/* a scan of paths[0 .. n) (n 0: every block device), written in o->mode; an exit status */
int cmd_run_scan(const struct cmd_opts *o, char *const *paths, size_t n,
                 const struct timespec *t_start);
/* --udev PATH, run by a udev rule (its environment holds the event); an exit status */
int cmd_run_udev(const struct cmd_opts *o, const char *path);
/* --cached: the udev database only; no device is opened */
int cmd_run_cached(const struct cmd_opts *o);
/* --monitor, until SIGINT or SIGTERM */
int cmd_run_monitor(const struct cmd_opts *o);
