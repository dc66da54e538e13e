/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The human table and its relatives (libsmartcols, lsblk conventions:
 * docs/udev.md): columns chosen with -o/-O, raw (-r), KEY="value"
 * pairs (-P), and the backing-chain tree (-T, out-tree.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "output/output.h"

struct img_table_opts {
	bool noheadings;
	bool bytes; /* sizes in bytes instead of 1.5G */
	bool raw;
	bool stats; /* READS and KBYTES columns by default */
	bool lvm;   /* VG and LV columns by default (also when a row is an LV) */
	bool check; /* --check: SAFE and FAILED columns by default */
	/* -o LIST (comma-separated; "+LIST" appends to the defaults); NULL: defaults */
	const char *columns;
	bool all_columns; /* -O */
	bool pairs;       /* -P: NAME="value" pairs, escaped like --export */
	bool tree;        /* -T: backing chains as a tree */
};

/*
 * Check o->columns.  Returns 0, or -1 with "unknown column 'X'" (or another
 * reason) in err.
 */
int img_table_check_columns(const struct img_table_opts *o, char *err, size_t errlen);
/*
 * The columns o selects, in order, as their names ("NAME", "FORMAT" ...):
 * up to cap of them into names, their number in *n.  Returns 0, or -1 with
 * the reason in err, as img_table_check_columns.
 */
int img_table_select_columns(const struct img_table_opts *o, const char **names, size_t cap,
                             size_t *n, char *err, size_t errlen);
/* every column with its description, one a line (--list-columns) */
void img_table_list_columns(FILE *f);

/* a table filled one scan at a time (it keeps strings, not results) */
struct img_table;
struct img_table *img_table_new(const struct img_table_opts *o);
void img_table_add(struct img_table *t, const struct img_scan *s);
int img_table_print(struct img_table *t, FILE *f);
void img_table_free(struct img_table *t);

/* lsblk-style human size ("64K", "1.5G") into buf */
void img_human_size(uint64_t bytes, char *buf, size_t len);

/* ---- backing-chain tree (out-tree.c), used by img_table_print for -T ------- */

/* what the resolver knows of one row; every string NUL-terminated */
struct img_tree_node {
	const char *path;    /* the scanned PATH as given */
	const char *backing; /* the backing name up to its first NUL; NULL: none */
	const char *vg;      /* LVM names of the device ("" for files) */
	const char *lv;
	const char *dm_name;
};

/* parent[i] after img_tree_resolve */
#define IMG_TREE_ROOT (-1)     /* no backing file */
#define IMG_TREE_NOT_FOUND (-2) /* a backing name no scanned target matches */

/*
 * Resolve each node's backing name among the nodes, without opening or
 * stat()ing anything: absolute names, names relative to the image's
 * directory (string-normalised; cwd from getcwd() for relative PATHs),
 * /dev/VG/LV and /dev/mapper/VG-LV against the devices' vg/lv/dm-name,
 * oVirt's ../IMAGE/VOLUME (or a bare VOLUME) on an LV by that last element
 * among the LVs of the same VG only, and other names relative to an LV
 * against its /dev/VG directory.  parent[i] is the node i is backed by, IMG_TREE_ROOT or
 * IMG_TREE_NOT_FOUND.  Loops are broken: a node whose chain comes back to it
 * gets parent IMG_TREE_ROOT and loop[i] = the node it named (else -1).
 * Returns 0 or -ENOMEM.
 */
int img_tree_resolve(const struct img_tree_node *nodes, size_t n, long *parent, long *loop);
/*
 * Depth-first order for printing: roots in input order, each followed by
 * the nodes it backs (in input order).  order gets n indexes, depth the
 * depth of each (0 for a root).  Returns 0 or -ENOMEM.
 */
int img_tree_order(const long *parent, size_t n, size_t *order, size_t *depth);
