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

/* t_probe_copy of buf[0..len) into a new result (asserts rc 0); free() it */
struct img_result *t_probe_buf(const void *buf, size_t len);
/* img_probe of head[0..len) as a sparse volume of size bytes (zeros after head); free() it */
struct img_result *t_probe_sized(const uint8_t *head, size_t len, uint64_t size);
/* img_probe of fixture layout <name> (see t_sparse_load); free() the result */
struct img_result *t_probe_fixture(const char *name);

/*
 * Header field pokes: t_poke_run() loads <fixture>, and for each entry stores
 * val (width 1, 2, 4 or 8 bytes, big or little endian) at off in a fresh copy,
 * probes it, and asserts the format is fmt; then damaged == the expected text
 * (non-NULL), or damaged == NULL and, unless vsize is T_POKE_ANY_SIZE,
 * virtual_size == vsize.  size 0 probes an exact-size copy (t_probe_copy);
 * else the copy as a sparse volume of size bytes (t_probe_sized).
 */
#define T_POKE_ANY_SIZE UINT64_MAX
struct t_poke {
	uint64_t off;
	unsigned width;
	uint64_t val;
	const char *damaged; /* NULL: clean */
	uint64_t vsize;      /* checked when clean */
};
void t_poke_run(const char *fixture, enum img_format_id fmt, bool big_endian, uint64_t size,
                const struct t_poke *p, size_t n);

/*
 * Compact JSON of a format-specific tree (strings unescaped: test data is
 * plain).  at < 0: the whole tree as one object; else the value of entry
 * s->e[at] (a container up to its end).  Fails the test when it does not fit.
 */
void t_spec_json(const struct img_spec *s, int at, char *out, size_t cap);

/*
 * t_truncation_sweep(buf, sweep_len), then assert that the first min - 1
 * bytes probe as raw and the first min bytes as fmt (left in res)
 */
void t_truncation_edge(const void *buf, size_t sweep_len, size_t min, enum img_format_id fmt,
                       struct img_result *res);

/* big/little endian stores for building headers in tests */
void t_put_be16(uint8_t *p, uint16_t v);
void t_put_be32(uint8_t *p, uint32_t v);
void t_put_be64(uint8_t *p, uint64_t v);
void t_put_le16(uint8_t *p, uint16_t v);
void t_put_le32(uint8_t *p, uint32_t v);
void t_put_le64(uint8_t *p, uint64_t v);

/* cmocka returns the number of failures; never let 77 read as "skipped" */
#define T_RUN(tests) (cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0)
