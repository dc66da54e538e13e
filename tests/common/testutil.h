/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the cmocka unit tests: fixtures, sparse images described
 * by head + tail + size, and probing copies of buffers so that ASan sees
 * any read past the bytes a probe was given.
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/source.h"
#include "probe/probe.h"

/*
 * Load fixtures/<name> (fails the test when missing).  free() the result.
 * A NUL follows the *ret_len bytes, so text fixtures (NAME.size) parse safely.
 */
uint8_t *t_fixture(const char *name, size_t *ret_len);
/* true when fixtures/<name> exists */
int t_fixture_exists(const char *name);

/*
 * A sparse image: head bytes at 0, tail bytes ending at size, zeros between.
 * Every get() copies into its own exact-size heap buffer, so reads past the
 * requested range are caught by ASan.
 */
struct t_sparse {
	const uint8_t *head;
	size_t headlen;
	const uint8_t *tail;
	size_t taillen;
	uint64_t size;
	unsigned n_bufs;
	void *bufs[256];
	uint8_t *own_head, *own_tail;
};
void t_sparse_reader(struct t_sparse *s, const uint8_t *head, size_t headlen, const uint8_t *tail,
                     size_t taillen, uint64_t size, struct img_reader *ret);
/*
 * Load fixture layout <name>: <name>.head and/or <name>.tail, and <name>.size
 * (decimal total size; default the head length).
 */
void t_sparse_load(struct t_sparse *s, const char *name, struct img_reader *ret);
void t_sparse_free(struct t_sparse *s);

/* a zeroed result on the heap (it is large); free() it */
struct img_result *t_result_new(void);

/* probe an exact-size heap copy of buf[0..len) with img_probe; returns its rc */
int t_probe_copy(const void *buf, size_t len, struct img_result *res);
/* the same through img_probe_format */
int t_probe_copy_format(const void *buf, size_t len, enum img_format_id id,
                        struct img_result *res);
/* probe every prefix of buf (0..len bytes): no crash, no sanitizer report */
void t_truncation_sweep(const void *buf, size_t len);

/* big/little endian stores for building headers in tests */
void t_put_be16(uint8_t *p, uint16_t v);
void t_put_be32(uint8_t *p, uint32_t v);
void t_put_be64(uint8_t *p, uint64_t v);
void t_put_le16(uint8_t *p, uint16_t v);
void t_put_le32(uint8_t *p, uint32_t v);
void t_put_le64(uint8_t *p, uint64_t v);

/* cmocka returns the number of failures; never let 77 read as "skipped" */
#define T_RUN(tests) (cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0)
