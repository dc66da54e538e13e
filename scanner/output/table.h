/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The human table (libsmartcols, lsblk conventions). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "output/output.h"

struct img_table_opts {
	bool noheadings;
	bool bytes; /* sizes in bytes instead of 1.5G */
	bool raw;
	bool stats; /* READS and KBYTES columns */
	bool lvm;   /* VG and LV columns */
};

/* a table filled one scan at a time (it keeps strings, not results) */
struct img_table;
struct img_table *img_table_new(const struct img_table_opts *o);
void img_table_add(struct img_table *t, const struct img_scan *s);
int img_table_print(struct img_table *t, FILE *f);
void img_table_free(struct img_table *t);

int img_out_table(FILE *f, const struct img_scan *const *scans, size_t n,
                  const struct img_table_opts *o);
/* lsblk-style human size ("64K", "1.5G") into buf */
void img_human_size(uint64_t bytes, char *buf, size_t len);
