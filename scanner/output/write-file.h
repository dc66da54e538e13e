/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --write FILE (write-file.c): standard output goes to a temporary file
 * beside FILE, renamed over it only once complete and on disk.
 */
#ifndef IMGSCAN_WRITE_FILE_H
#define IMGSCAN_WRITE_FILE_H

#include <stddef.h>

/*
 * Point stdout at a new temporary file beside path; its name lands in
 * tmp[len].  -1: said on stderr (path named), tmp empty.
 */
int img_write_begin(const char *path, char *tmp, size_t len);
/* flush to disk and rename tmp over path; -1: said on stderr, tmp removed */
int img_write_commit(const char *path, char *tmp);
/* remove tmp (a failed run leaves path as it was) */
void img_write_abort(char *tmp);

#endif
