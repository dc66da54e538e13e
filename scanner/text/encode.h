/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Escaping untrusted bytes (output/encode.c, plain C11): for udev values,
 * Prometheus labels and the terminal.  Every layer that says a header's or
 * a path's bytes on stderr uses these; the outputs (output/output.h) too.
 */
#pragma once

#include <stddef.h>

/*
 * Encoders.  Both write a NUL-terminated string into out (outlen bytes) and
 * return its length, or -1 when it does not fit (out then holds a valid
 * truncated prefix).  img_enc follows blkid_encode_string (the _ENC
 * values), img_safe follows blkid_safe_string (the plain values).
 */
int img_enc(const char *s, size_t len, char *out, size_t outlen);
int img_safe(const char *s, size_t len, char *out, size_t outlen);
/*
 * A Prometheus label value (between the double quotes), same contract:
 * '\\', '"' and newline escaped as the exposition format requires; control
 * characters (C0, DEL, C1) and invalid UTF-8 bytes as the text \xHH
 * (written \\xHH).  5*len+1 bytes always suffice.
 */
int img_prom_label(const char *s, size_t len, char *out, size_t outlen);
/*
 * The one definition of a control character for every output: the length
 * of the control character at s (1 for C0 0x00-0x1f and DEL 0x7f, 2 for a
 * C1 control U+0080-U+009F, UTF-8 c2 80..c2 9f), or 0 when s does not start
 * with one.
 */
size_t img_control_len(const char *s, size_t avail);
/*
 * Text for a terminal (error messages): valid UTF-8 other than control
 * characters as is; every byte of a control character or of invalid UTF-8,
 * and '\', as \xNN, as libsmartcols shows a NAME in the table.  Same
 * return convention; a 4*len+1 buffer always fits.
 */
int img_esc(const char *s, size_t len, char *out, size_t outlen);
/*
 * s[0, len) (s: up to its NUL) escaped by img_esc into a string of its own,
 * for a message on stderr; free() it.  On ENOMEM a fixed text, or NULL.
 */
char *img_esc_dupn(const char *s, size_t len);
char *img_esc_dup(const char *s);
