/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsmartcols (SMARTCOLS_SONAME), loaded with dlopen when a mode first needs
 * it (dl.h): the symbols output/out-table.c call, each typed from
 * <libsmartcols.h> so that a prototype change is a compile error.
 */
#pragma once

#include <libsmartcols.h>

extern __typeof__(&scols_line_set_data) sym_scols_line_set_data;
extern __typeof__(&scols_new_table) sym_scols_new_table;
extern __typeof__(&scols_print_table) sym_scols_print_table;
extern __typeof__(&scols_table_enable_noheadings) sym_scols_table_enable_noheadings;
extern __typeof__(&scols_table_enable_raw) sym_scols_table_enable_raw;
extern __typeof__(&scols_table_new_column) sym_scols_table_new_column;
extern __typeof__(&scols_table_new_line) sym_scols_table_new_line;
extern __typeof__(&scols_table_set_stream) sym_scols_table_set_stream;
extern __typeof__(&scols_unref_table) sym_scols_unref_table;

/*
 * Load the library and all the symbols above, once per process (img_dl_load):
 * 0, or a negative errno after printing, the first time only, that FEATURE
 * needs it (nothing is printed when feature is NULL or inside libimgscan).
 */
int dlopen_smartcols(const char *feature);
