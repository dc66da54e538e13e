/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libjson-c (JSONC_SONAME), loaded with dlopen when a mode first needs
 * it (dl.h): the symbols output/out-json.c and monitor.c call, each typed from
 * <json-c/json.h> so that a prototype change is a compile error.
 */
#pragma once

#include <json-c/json.h>

extern __typeof__(&json_object_array_add) sym_json_object_array_add;
extern __typeof__(&json_object_array_length) sym_json_object_array_length;
extern __typeof__(&json_object_get) sym_json_object_get;
extern __typeof__(&json_object_iter_begin) sym_json_object_iter_begin;
extern __typeof__(&json_object_iter_end) sym_json_object_iter_end;
extern __typeof__(&json_object_iter_equal) sym_json_object_iter_equal;
extern __typeof__(&json_object_iter_next) sym_json_object_iter_next;
extern __typeof__(&json_object_iter_peek_name) sym_json_object_iter_peek_name;
extern __typeof__(&json_object_iter_peek_value) sym_json_object_iter_peek_value;
extern __typeof__(&json_object_new_array) sym_json_object_new_array;
extern __typeof__(&json_object_new_boolean) sym_json_object_new_boolean;
extern __typeof__(&json_object_new_int) sym_json_object_new_int;
extern __typeof__(&json_object_new_int64) sym_json_object_new_int64;
extern __typeof__(&json_object_new_object) sym_json_object_new_object;
extern __typeof__(&json_object_new_string) sym_json_object_new_string;
extern __typeof__(&json_object_new_string_len) sym_json_object_new_string_len;
extern __typeof__(&json_object_new_uint64) sym_json_object_new_uint64;
extern __typeof__(&json_object_object_add) sym_json_object_object_add;
extern __typeof__(&json_object_put) sym_json_object_put;
extern __typeof__(&json_object_to_json_string_ext) sym_json_object_to_json_string_ext;

/*
 * Load the library and all the symbols above, once per process (img_dl_load):
 * 0, or a negative errno after printing, the first time only, that FEATURE
 * needs it (nothing is printed when feature is NULL or inside libimgscan).
 */
int dlopen_jsonc(const char *feature);
