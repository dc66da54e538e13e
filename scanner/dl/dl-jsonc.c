/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libjson-c: the symbol table and the ELF dlopen note (dl-jsonc.h, dl.h) */
#include "dl/dl-jsonc.h"
#include "dl/dl.h"

IMG_ELF_NOTE_DLOPEN("json", "JSON output (-J, --cached -J, --monitor)", "recommended", JSONC_SONAME);

__typeof__(&json_object_array_add) sym_json_object_array_add;
__typeof__(&json_object_array_length) sym_json_object_array_length;
__typeof__(&json_object_get) sym_json_object_get;
__typeof__(&json_object_iter_begin) sym_json_object_iter_begin;
__typeof__(&json_object_iter_end) sym_json_object_iter_end;
__typeof__(&json_object_iter_equal) sym_json_object_iter_equal;
__typeof__(&json_object_iter_next) sym_json_object_iter_next;
__typeof__(&json_object_iter_peek_name) sym_json_object_iter_peek_name;
__typeof__(&json_object_iter_peek_value) sym_json_object_iter_peek_value;
__typeof__(&json_object_new_array) sym_json_object_new_array;
__typeof__(&json_object_new_boolean) sym_json_object_new_boolean;
__typeof__(&json_object_new_int) sym_json_object_new_int;
__typeof__(&json_object_new_int64) sym_json_object_new_int64;
__typeof__(&json_object_new_object) sym_json_object_new_object;
__typeof__(&json_object_new_string) sym_json_object_new_string;
__typeof__(&json_object_new_string_len) sym_json_object_new_string_len;
__typeof__(&json_object_new_uint64) sym_json_object_new_uint64;
__typeof__(&json_object_object_add) sym_json_object_object_add;
__typeof__(&json_object_put) sym_json_object_put;
__typeof__(&json_object_to_json_string_ext) sym_json_object_to_json_string_ext;

static const struct img_dl_sym jsonc_syms[] = {
	IMG_DL_SYM(json_object_array_add),
	IMG_DL_SYM(json_object_array_length),
	IMG_DL_SYM(json_object_get),
	IMG_DL_SYM(json_object_iter_begin),
	IMG_DL_SYM(json_object_iter_end),
	IMG_DL_SYM(json_object_iter_equal),
	IMG_DL_SYM(json_object_iter_next),
	IMG_DL_SYM(json_object_iter_peek_name),
	IMG_DL_SYM(json_object_iter_peek_value),
	IMG_DL_SYM(json_object_new_array),
	IMG_DL_SYM(json_object_new_boolean),
	IMG_DL_SYM(json_object_new_int),
	IMG_DL_SYM(json_object_new_int64),
	IMG_DL_SYM(json_object_new_object),
	IMG_DL_SYM(json_object_new_string),
	IMG_DL_SYM(json_object_new_string_len),
	IMG_DL_SYM(json_object_new_uint64),
	IMG_DL_SYM(json_object_object_add),
	IMG_DL_SYM(json_object_put),
	IMG_DL_SYM(json_object_to_json_string_ext),
};

static struct img_dl_lib jsonc_lib = IMG_DL_LIB(JSONC_SONAME, JSONC_PACKAGE, jsonc_syms);

int dlopen_jsonc(const char *feature)
{
	return img_dl_load(&jsonc_lib, feature);
}
