/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libsmartcols: the symbol table and the ELF dlopen note (dl-smartcols.h, dl.h) */
#include "dl/dl-smartcols.h"
#include "dl/dl.h"

IMG_ELF_NOTE_DLOPEN("table", "the table and tree output (not -P)", "recommended", SMARTCOLS_SONAME);

__typeof__(&scols_line_set_data) sym_scols_line_set_data;
__typeof__(&scols_new_table) sym_scols_new_table;
__typeof__(&scols_print_table) sym_scols_print_table;
__typeof__(&scols_table_enable_noheadings) sym_scols_table_enable_noheadings;
__typeof__(&scols_table_enable_raw) sym_scols_table_enable_raw;
__typeof__(&scols_table_new_column) sym_scols_table_new_column;
__typeof__(&scols_table_new_line) sym_scols_table_new_line;
__typeof__(&scols_table_set_stream) sym_scols_table_set_stream;
__typeof__(&scols_unref_table) sym_scols_unref_table;

static const struct img_dl_sym smartcols_syms[] = {
	IMG_DL_SYM(scols_line_set_data),
	IMG_DL_SYM(scols_new_table),
	IMG_DL_SYM(scols_print_table),
	IMG_DL_SYM(scols_table_enable_noheadings),
	IMG_DL_SYM(scols_table_enable_raw),
	IMG_DL_SYM(scols_table_new_column),
	IMG_DL_SYM(scols_table_new_line),
	IMG_DL_SYM(scols_table_set_stream),
	IMG_DL_SYM(scols_unref_table),
};

static struct img_dl_lib smartcols_lib = IMG_DL_LIB(SMARTCOLS_SONAME, SMARTCOLS_PACKAGE, smartcols_syms);

int dlopen_smartcols(const char *feature)
{
	return img_dl_load(&smartcols_lib, feature);
}
