/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A reader over a memory buffer: unit tests, fuzzing, fixtures. */
#include <errno.h>

#include "io/source.h"

static int mem_get(void *ctx, uint64_t off, size_t len, const uint8_t **ret)
{
	struct img_mem_source *m = ctx;

	if (off > m->len || len > m->len - off)
		return -ERANGE;
	m->reads++;
	*ret = m->buf + off;
	return 0;
}

void img_mem_reader(struct img_mem_source *m, const void *buf, size_t len, struct img_reader *ret)
{
	m->buf = buf;
	m->len = len;
	m->reads = 0;
	ret->ctx = m;
	ret->size = len;
	ret->block_size = 512;
	ret->flags = 0;
	ret->get = mem_get;
	ret->trace = NULL;
}
