/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libimgscan: the public API (imgscan.h, docs/api.md) over the layers the
 * command is built from: the probe core (probe/), the reader (io/), the
 * safety checks (check/), libblkid content naming (content.c) and the
 * encoders and writers of the outputs (output/).  A path or a descriptor is
 * read by the command's scan engine (scan/scan.c: img_scan_target for one,
 * img_scanner for a batch); a handle holds the engine's struct img_scan,
 * filled as for `imgscan --json PATH`, and the extras made from it.
 *
 * No global state: everything lives in the handle.  The optional libraries
 * (libblkid, libjson-c) are loaded with dlopen once per process, under a lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check/check.h"
#include "content.h"
#include "io/source.h"
#include "lib/imgscan.h"
#include "output/output.h"
#include "probe/probe.h"
#include "scan/scan.h"
#include "text/encode.h"

#define ALL_FLAGS                                                                     \
	(IMGSCAN_PROBE_DEEP | IMGSCAN_PROBE_NO_DIRECT | IMGSCAN_PROBE_NO_CONTENT |    \
	 IMGSCAN_PROBE_NO_CONTENT_SIGNATURES | IMGSCAN_PROBE_STATS)
#define TOKEN_MAX (IMG_FEATURE_NAME_MAX + 24)
/* room for imgscan_probe_strerror(): the volume, the cause, what to do */
#define ERR_MAX (4096 + 512) /* a PATH_MAX path and the longest hint */

enum source_kind {
	SRC_NONE = 0,
	SRC_PATH,
	SRC_FD,
	SRC_MEM,
};

struct prop {
	const char *key; /* static: out-udev.c's literals */
	size_t off;      /* in pool */
	size_t len;
};

/* the caller's memory: head and tail of a volume of size bytes */
struct mem_volume {
	const uint8_t *head;
	size_t head_len;
	const uint8_t *tail;
	size_t tail_len;
	uint64_t size;
	uint64_t missing; /* the first offset asked for that neither buffer holds */
	bool missed;
};

struct imgscan_probe {
	unsigned flags;
	enum source_kind kind;
	char *path;
	int fd;
	uint64_t offset;
	uint64_t size;
	struct mem_volume mem;

	bool have_policy;
	struct img_policy policy;

	bool done; /* the last run succeeded: the facts below are valid */
	bool have_io; /* scan.stats counts this run's reads (not a memory volume) */
	struct img_scan scan;
	struct img_result *res;
	char name[64]; /* how errors name a descriptor or a buffer */

	char err[ERR_MAX];
	bool has_err;

	char tokens[IMG_MAX_FEATURES][TOKEN_MAX];

	struct prop *props;
	unsigned n_props;
	unsigned props_cap;
	char *pool;
	size_t pool_len;
	size_t pool_cap;
	bool props_failed; /* out of memory while collecting */

	char *json; /* made on first request, dropped on the next run */
};

const char *imgscan_version(void)
{
	return PACKAGE_VERSION;
}

struct imgscan_probe *imgscan_probe_new(void)
{
	struct imgscan_probe *pr = calloc(1, sizeof(*pr));

	if (pr)
		pr->fd = -1;
	return pr;
}

static void reset_results(struct imgscan_probe *pr)
{
	pr->done = false;
	pr->have_io = false;
	pr->n_props = 0;
	pr->pool_len = 0;
	pr->props_failed = false;
	free(pr->json);
	pr->json = NULL;
}

static void reset_source(struct imgscan_probe *pr)
{
	reset_results(pr);
	free(pr->path);
	pr->path = NULL;
	pr->kind = SRC_NONE;
	pr->fd = -1;
	pr->offset = pr->size = 0;
	memset(&pr->mem, 0, sizeof(pr->mem));
	pr->has_err = false;
}

void imgscan_probe_free(struct imgscan_probe *pr)
{
	if (!pr)
		return;
	reset_source(pr);
	free(pr->res);
	free(pr->props);
	free(pr->pool);
	free(pr);
}

int imgscan_probe_set_flags(struct imgscan_probe *pr, unsigned flags)
{
	if (!pr || (flags & ~(unsigned)ALL_FLAGS))
		return -EINVAL;
	pr->flags = flags;
	reset_results(pr);
	return 0;
}

int imgscan_probe_set_path(struct imgscan_probe *pr, const char *path, uint64_t offset)
{
	char *copy;

	if (!pr || !path || !*path)
		return -EINVAL;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	reset_source(pr);
	pr->path = copy;
	pr->kind = SRC_PATH;
	pr->offset = offset;
	return 0;
}

int imgscan_probe_set_fd(struct imgscan_probe *pr, int fd, uint64_t offset, uint64_t size)
{
	if (!pr || fd < 0)
		return -EINVAL;
	reset_source(pr);
	pr->kind = SRC_FD;
	pr->fd = fd;
	pr->offset = offset;
	pr->size = size;
	snprintf(pr->name, sizeof(pr->name), "descriptor %d", fd);
	return 0;
}

int imgscan_probe_set_buffer(struct imgscan_probe *pr, const void *head, size_t head_len,
                             const void *tail, size_t tail_len, uint64_t size)
{
	if (!pr || (!head && head_len) || (!tail && tail_len) || head_len > size ||
	    tail_len > size)
		return -EINVAL;
	reset_source(pr);
	pr->kind = SRC_MEM;
	pr->mem.head = head;
	pr->mem.head_len = head_len;
	pr->mem.tail = tail;
	pr->mem.tail_len = tail_len;
	pr->mem.size = size;
	snprintf(pr->name, sizeof(pr->name), "buffer");
	return 0;
}

int imgscan_probe_set_policy(struct imgscan_probe *pr, const struct imgscan_policy *pol)
{
	if (!pr)
		return -EINVAL;
	reset_results(pr);
	pr->have_policy = pol != NULL;
	if (pol)
		memcpy(&pr->policy, pol, sizeof(pr->policy));
	return 0;
}

/* ---- errors ---------------------------------------------------------------------- */

/* the engine's wording (img_scan_error_format), for the handle's volume */
static int fail_text(struct imgscan_probe *pr, const char *op, int err, const char *text,
                     const char *detail)
{
	const char *who = pr->kind == SRC_PATH ? pr->path : pr->name;
	char *esc = who && *who ? img_esc_dup(who) : NULL;

	img_scan_error_format(pr->err, sizeof(pr->err), esc ? esc : "probe", op, err, text, detail,
	                      false);
	free(esc);
	pr->has_err = true;
	return err;
}

static int fail(struct imgscan_probe *pr, const char *op, int err, const char *detail)
{
	return fail_text(pr, op, err, NULL, detail);
}

const char *imgscan_probe_strerror(const struct imgscan_probe *pr)
{
	return pr && pr->has_err ? pr->err : NULL;
}

/* ---- runs ------------------------------------------------------------------------ */

/* what a volume's end reads as when the caller gives no tail (immutable) */
static const uint8_t no_tail[IMG_SOURCE_TAIL];

static int mem_get(void *ctx, uint64_t off, size_t len, const uint8_t **ret)
{
	struct mem_volume *m = ctx;
	uint64_t tail_start = m->size - m->tail_len;

	/* img_get guarantees off + len <= size */
	if (off <= m->head_len && len <= m->head_len - off) {
		*ret = m->head + off;
		return 0;
	}
	if (m->tail && off >= tail_start) {
		*ret = m->tail + (off - tail_start);
		return 0;
	}
	/*
	 * No tail given: the last IMG_SOURCE_TAIL bytes read as zeros, so the
	 * formats known by a footer (a fixed VHD, a DMG) simply do not match
	 */
	if (!m->tail && m->size - off <= IMG_SOURCE_TAIL && len <= sizeof(no_tail)) {
		*ret = no_tail;
		return 0;
	}
	if (!m->missed) {
		m->missed = true;
		m->missing = off;
	}
	return -ENODATA;
}

static void mem_reader(struct mem_volume *m, struct img_reader *r)
{
	m->missed = false;
	r->ctx = m;
	r->size = m->size;
	r->block_size = 512;
	r->flags = 0;
	r->get = mem_get;
	r->trace = NULL;
}

static unsigned reader_flags(const struct imgscan_probe *pr)
{
	unsigned f = 0;

	if (pr->flags & IMGSCAN_PROBE_DEEP)
		f |= IMG_PROBE_DEEP;
	if (pr->flags & IMGSCAN_PROBE_NO_CONTENT_SIGNATURES)
		f |= IMG_PROBE_NO_CONTENT;
	return f;
}

static void add_prop(void *ctx, const char *key, const char *val, size_t len)
{
	struct imgscan_probe *pr = ctx;

	if (pr->props_failed)
		return;
	if (pr->n_props == pr->props_cap) {
		unsigned cap = pr->props_cap ? 2 * pr->props_cap : 32;
		struct prop *p = realloc(pr->props, cap * sizeof(*p));

		if (!p) {
			pr->props_failed = true;
			return;
		}
		pr->props = p;
		pr->props_cap = cap;
	}
	if (len + 1 > pr->pool_cap - pr->pool_len) {
		size_t cap = pr->pool_cap ? pr->pool_cap : 4096;
		char *p;

		while (len + 1 > cap - pr->pool_len)
			cap *= 2;
		p = realloc(pr->pool, cap);
		if (!p) {
			pr->props_failed = true;
			return;
		}
		pr->pool = p;
		pr->pool_cap = cap;
	}
	memcpy(pr->pool + pr->pool_len, val, len);
	pr->pool[pr->pool_len + len] = 0;
	pr->props[pr->n_props++] = (struct prop){ .key = key, .off = pr->pool_len, .len = len };
	pr->pool_len += len + 1;
}

/* what every kind of volume shares after the probe: tokens, properties */
static int finish(struct imgscan_probe *pr)
{
	struct img_scan *s = &pr->scan;
	struct img_result *res = pr->res;

	for (unsigned i = 0; i < res->n_features && i < IMG_MAX_FEATURES; i++)
		if (img_feature_token(&res->features[i], pr->tokens[i], TOKEN_MAX) < 0)
			pr->tokens[i][0] = 0;
	img_udev_props(s, false, add_prop, pr);
	if (pr->props_failed)
		return fail(pr, "list the properties", -ENOMEM, NULL);
	pr->done = true;
	return res->format == IMG_FMT_RAW ? 0 : 1;
}

/* the engine's options for a handle's (or a batch's) flags and policy */
static void engine_opts(unsigned flags, const struct img_policy *policy, struct img_scan_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->stats = flags & IMGSCAN_PROBE_STATS;
	o->no_direct = flags & IMGSCAN_PROBE_NO_DIRECT;
	o->deep = flags & IMGSCAN_PROBE_DEEP;
	o->no_content_sigs = flags & IMGSCAN_PROBE_NO_CONTENT_SIGNATURES;
	o->no_content = flags & IMGSCAN_PROBE_NO_CONTENT;
	o->check = policy != NULL;
	if (policy)
		o->policy = *policy;
	else
		img_policy_init(&o->policy);
	o->jobs = 1;
}

/* the engine's target for a path, or a descriptor named name in errors */
static void engine_target(enum source_kind kind, const char *path, int fd, uint64_t offset,
                          uint64_t size, const char *name, struct img_target *t)
{
	memset(t, 0, sizeof(*t));
	t->offset = offset;
	if (kind == SRC_FD) {
		t->path = name;
		t->use_fd = true;
		t->fd = fd;
		t->fd_size = size;
	} else {
		t->path = path;
	}
}

/*
 * The handle's facts from the engine's scan sc (its result in sc->res, which
 * the handle uses as its own until the next run): the error, or the tokens
 * and properties.
 */
static int from_scan(struct imgscan_probe *pr, const struct img_scan *sc)
{
	pr->scan = *sc;
	pr->scan.dev = NULL;
	/* a volume read by descriptor has no path */
	if (pr->kind != SRC_PATH)
		pr->scan.path = NULL;
	if (sc->error)
		return fail_text(pr, sc->error_op, sc->error, sc->error_text, NULL);
	pr->res = sc->res;
	pr->have_io = true;
	return finish(pr);
}

/* a path or a descriptor, through the engine, into the handle's result buffer */
static int run_source(struct imgscan_probe *pr)
{
	struct img_scan_opts o;
	struct img_target t;
	struct img_scan sc;

	engine_opts(pr->flags, pr->have_policy ? &pr->policy : NULL, &o);
	engine_target(pr->kind, pr->path, pr->fd, pr->offset, pr->size, pr->name, &t);
	img_scan_target(&t, &o, &sc, pr->res);
	return from_scan(pr, &sc);
}

static int run_mem(struct imgscan_probe *pr)
{
	struct img_reader r;
	const uint8_t *p = NULL;
	size_t got = 0;
	int rc;

	mem_reader(&pr->mem, &r);
	r.flags = reader_flags(pr);
	pr->scan.size = r.size;
	rc = img_probe(&r, pr->res);
	if (rc < 0) {
		char detail[96];

		if (rc == -ENODATA && pr->mem.missed) {
			snprintf(detail, sizeof(detail), "(a probe needs the bytes at offset %" PRIu64 ")",
			         pr->mem.missing);
			return fail(pr, "read", rc, detail);
		}
		return fail(pr, "read", rc, NULL);
	}
	if (pr->have_policy) {
		struct img_scan *s = &pr->scan;

		if (pr->res->format == IMG_FMT_RAW && img_get_upto(&r, 0, 512, &p, &got) == 0)
			img_mbr_parse(p, got, &s->content.mbr);
		img_verdict_compute(pr->res, &s->content, &pr->policy, &s->verdict);
		s->checked = true;
	}
	return finish(pr);
}

/* a fresh run: results cleared, the result buffer, the scan record */
static int run_begin(struct imgscan_probe *pr)
{
	struct img_scan *s;

	reset_results(pr);
	pr->has_err = false;
	if (pr->kind == SRC_NONE)
		return fail(pr, "probe", -EINVAL, "(no volume: call imgscan_probe_set_path, _fd or "
		                                  "_buffer first)");
	if (!pr->res) {
		pr->res = malloc(sizeof(*pr->res));
		if (!pr->res)
			return fail(pr, "probe", -ENOMEM, NULL);
	}
	s = &pr->scan;
	memset(s, 0, sizeof(*s));
	s->path = pr->kind == SRC_PATH ? pr->path : NULL;
	s->offset = pr->kind == SRC_MEM ? 0 : pr->offset;
	s->res = pr->res;
	return 0;
}

int imgscan_probe_run(struct imgscan_probe *pr)
{
	int rc;

	if (!pr)
		return -EINVAL;
	rc = run_begin(pr);
	if (rc < 0)
		return rc;
	return pr->kind == SRC_MEM ? run_mem(pr) : run_source(pr);
}

/* ---- facts ----------------------------------------------------------------------- */

static const struct img_result *result(const struct imgscan_probe *pr)
{
	return pr && pr->done ? pr->res : NULL;
}

const char *imgscan_probe_get_format(const struct imgscan_probe *pr)
{
	const struct img_result *res = result(pr);

	return res ? img_format_name(res->format) : NULL;
}

int imgscan_probe_get_size(const struct imgscan_probe *pr, uint64_t *ret)
{
	if (!result(pr))
		return -ENODATA;
	*ret = pr->scan.size;
	return 0;
}

int imgscan_probe_get_version(const struct imgscan_probe *pr, uint32_t *ret)
{
	const struct img_result *res = result(pr);

	if (!res || !res->has_version)
		return -ENODATA;
	*ret = res->version;
	return 0;
}

int imgscan_probe_get_virtual_size(const struct imgscan_probe *pr, uint64_t *ret)
{
	const struct img_result *res = result(pr);

	if (!res || !res->has_virtual_size)
		return -ENODATA;
	*ret = res->virtual_size;
	return 0;
}

int imgscan_probe_get_cluster_size(const struct imgscan_probe *pr, uint64_t *ret)
{
	const struct img_result *res = result(pr);

	if (!res || !res->cluster_size)
		return -ENODATA;
	*ret = res->cluster_size;
	return 0;
}

const char *imgscan_probe_get_subformat(const struct imgscan_probe *pr)
{
	const struct img_result *res = result(pr);

	return res ? res->subformat : NULL;
}

const char *imgscan_probe_get_compat(const struct imgscan_probe *pr)
{
	const struct img_result *res = result(pr);

	return res ? res->compat : NULL;
}

static int get_bytes(const struct img_bytes *b, const char **ret, size_t *len)
{
	if (!b->present)
		return -ENODATA;
	*ret = b->data;
	*len = b->len < IMG_STR_MAX ? b->len : IMG_STR_MAX - 1;
	return 0;
}

int imgscan_probe_get_backing_file(const struct imgscan_probe *pr, const char **ret, size_t *len)
{
	const struct img_result *res = result(pr);

	return res ? get_bytes(&res->backing_file, ret, len) : -ENODATA;
}

int imgscan_probe_get_backing_format(const struct imgscan_probe *pr, const char **ret,
                                     size_t *len)
{
	const struct img_result *res = result(pr);

	return res ? get_bytes(&res->backing_format, ret, len) : -ENODATA;
}

int imgscan_probe_get_data_file(const struct imgscan_probe *pr, const char **ret, size_t *len)
{
	const struct img_result *res = result(pr);

	return res ? get_bytes(&res->data_file, ret, len) : -ENODATA;
}

const char *imgscan_probe_get_encryption(const struct imgscan_probe *pr)
{
	const struct img_result *res = result(pr);

	if (!res)
		return NULL;
	switch (res->encryption) {
	case IMG_ENC_AES:
		return "aes";
	case IMG_ENC_LUKS:
		return "luks";
	default:
		return NULL;
	}
}

int imgscan_probe_is_dirty(const struct imgscan_probe *pr)
{
	const struct img_result *res = result(pr);

	if (!res)
		return -ENODATA;
	/* --json: a raw volume says "dirty-flag": false; some formats have no such flag */
	if (res->format != IMG_FMT_RAW && res->no_dirty_flag)
		return -ENODATA;
	return res->dirty;
}

int imgscan_probe_is_corrupt(const struct imgscan_probe *pr)
{
	const struct img_result *res = result(pr);

	/* the corrupt bit exists in qcow2 only (as ID_IMAGE_CORRUPT) */
	if (!res || (res->format != IMG_FMT_QCOW2 && !res->corrupt))
		return -ENODATA;
	return res->corrupt;
}

int imgscan_probe_get_snapshot_count(const struct imgscan_probe *pr, uint32_t *ret)
{
	const struct img_result *res = result(pr);

	if (!res || !res->has_snapshots)
		return -ENODATA;
	*ret = res->snapshots;
	return 0;
}

int imgscan_probe_get_bitmap_count(const struct imgscan_probe *pr, uint32_t *ret)
{
	const struct img_result *res = result(pr);

	if (!res || !res->has_bitmaps)
		return -ENODATA;
	*ret = res->bitmaps;
	return 0;
}

const char *imgscan_probe_get_damaged(const struct imgscan_probe *pr)
{
	const struct img_result *res = result(pr);

	return res ? res->damaged : NULL;
}

const char *imgscan_probe_get_limit(const struct imgscan_probe *pr)
{
	const struct img_result *res = result(pr);

	return res ? res->limit : NULL;
}

int imgscan_probe_get_io(const struct imgscan_probe *pr, uint64_t *reads, uint64_t *bytes)
{
	if (!result(pr) || !pr->have_io)
		return -ENODATA;
	if (reads)
		*reads = pr->scan.stats.reads;
	if (bytes)
		*bytes = pr->scan.stats.bytes;
	return 0;
}

unsigned imgscan_probe_get_feature_count(const struct imgscan_probe *pr)
{
	const struct img_result *res = result(pr);

	if (!res)
		return 0;
	return res->n_features < IMG_MAX_FEATURES ? res->n_features : IMG_MAX_FEATURES;
}

int imgscan_probe_get_feature(const struct imgscan_probe *pr, unsigned idx, const char **token,
                              int *kind, unsigned *bit, int *unknown)
{
	const struct img_feature *f;

	if (idx >= imgscan_probe_get_feature_count(pr))
		return -ERANGE;
	f = &pr->res->features[idx];
	if (token)
		*token = pr->tokens[idx];
	if (kind)
		*kind = (int)f->kind;
	if (bit)
		*bit = f->bit;
	if (unknown)
		*unknown = f->name == NULL;
	return 0;
}

int imgscan_probe_get_feature_table_name(const struct imgscan_probe *pr, unsigned idx,
                                         const char **ret, size_t *len)
{
	const struct img_feature *f;

	if (idx >= imgscan_probe_get_feature_count(pr))
		return -ERANGE;
	f = &pr->res->features[idx];
	if (f->name || !f->table_name_len)
		return -ENODATA;
	*ret = f->table_name;
	*len = f->table_name_len < IMG_FEATURE_NAME_MAX ? f->table_name_len : IMG_FEATURE_NAME_MAX;
	return 0;
}

int imgscan_probe_is_ambiguous(const struct imgscan_probe *pr)
{
	const struct img_result *res = result(pr);

	return res && res->n_candidates > 1 && !res->footer_only_others;
}

unsigned imgscan_probe_get_candidate_count(const struct imgscan_probe *pr)
{
	const struct img_result *res = result(pr);

	if (!res || res->n_candidates < 2)
		return 0;
	return res->n_candidates < _IMG_FMT_MAX ? res->n_candidates : _IMG_FMT_MAX;
}

const char *imgscan_probe_get_candidate(const struct imgscan_probe *pr, unsigned idx)
{
	if (idx >= imgscan_probe_get_candidate_count(pr) ||
	    (unsigned)pr->res->candidates[idx] >= _IMG_FMT_MAX)
		return NULL;
	return img_format_name(pr->res->candidates[idx]);
}

const char *imgscan_probe_get_content(const struct imgscan_probe *pr, const char *key)
{
	const struct img_content *c;
	const char *v = NULL;

	if (!result(pr) || !key || !pr->scan.content.present)
		return NULL;
	c = &pr->scan.content;
	if (!strcmp(key, "type"))
		v = c->type;
	else if (!strcmp(key, "usage"))
		v = c->usage;
	else if (!strcmp(key, "version"))
		v = c->version;
	else if (!strcmp(key, "label"))
		v = c->label;
	else if (!strcmp(key, "uuid"))
		v = c->uuid;
	else if (!strcmp(key, "pttype"))
		v = c->pttype;
	else if (!strcmp(key, "ptuuid"))
		v = c->ptuuid;
	return v && *v ? v : NULL;
}

const char *imgscan_probe_get_specific_type(const struct imgscan_probe *pr)
{
	const struct img_result *res = result(pr);

	return res ? res->spec.type : NULL;
}

static const struct img_spec *tree(const struct imgscan_probe *pr, int which)
{
	const struct img_result *res = result(pr);

	if (!res)
		return NULL;
	if (which == IMGSCAN_TREE_FORMAT_SPECIFIC)
		return res->spec.type ? &res->spec : NULL;
	if (which == IMGSCAN_TREE_DEEP)
		return &res->top;
	return NULL;
}

unsigned imgscan_probe_get_tree_count(const struct imgscan_probe *pr, int which)
{
	const struct img_spec *t = tree(pr, which);

	if (!t)
		return 0;
	return t->n < IMG_SPEC_MAX ? t->n : IMG_SPEC_MAX;
}

int imgscan_probe_get_tree_entry(const struct imgscan_probe *pr, int which, unsigned idx,
                                 int *type, const char **key, const char **str, size_t *len,
                                 uint64_t *uval, int64_t *ival)
{
	const struct img_spec *t = tree(pr, which);
	const struct img_spec_entry *e;
	uint32_t pool;
	int ty;

	if (which != IMGSCAN_TREE_FORMAT_SPECIFIC && which != IMGSCAN_TREE_DEEP)
		return -EINVAL;
	if (idx >= imgscan_probe_get_tree_count(pr, which))
		return -ERANGE;
	e = &t->e[idx];
	pool = t->pool_used < IMG_SPEC_POOL ? t->pool_used : IMG_SPEC_POOL;
	if (str)
		*str = NULL;
	if (len)
		*len = 0;
	if (uval)
		*uval = 0;
	if (ival)
		*ival = 0;
	if (key)
		*key = e->key;
	switch (e->type) {
	case IMG_SPEC_STR:
		ty = IMGSCAN_ENTRY_STRING;
		if (e->v.str.off > pool || e->v.str.len > pool - e->v.str.off)
			return -EBADMSG; /* never made by a probe: the pool bounds every string */
		if (str)
			*str = t->pool + e->v.str.off;
		if (len)
			*len = e->v.str.len;
		break;
	case IMG_SPEC_SELF:
		ty = IMGSCAN_ENTRY_STRING;
		if (str)
			*str = pr->scan.path ? pr->scan.path : "";
		if (len)
			*len = pr->scan.path ? strlen(pr->scan.path) : 0;
		break;
	case IMG_SPEC_UINT:
		ty = IMGSCAN_ENTRY_UINT;
		if (uval)
			*uval = e->v.u;
		break;
	case IMG_SPEC_INT:
		ty = IMGSCAN_ENTRY_INT;
		if (ival)
			*ival = e->v.i;
		break;
	case IMG_SPEC_BOOL:
		ty = IMGSCAN_ENTRY_BOOL;
		if (uval)
			*uval = e->v.b;
		break;
	case IMG_SPEC_OBJ:
		ty = IMGSCAN_ENTRY_OBJECT;
		break;
	case IMG_SPEC_ARR:
		ty = IMGSCAN_ENTRY_ARRAY;
		break;
	case IMG_SPEC_END:
		ty = IMGSCAN_ENTRY_END;
		break;
	default:
		return -EBADMSG;
	}
	if (type)
		*type = ty;
	return 0;
}

unsigned imgscan_probe_get_property_count(const struct imgscan_probe *pr)
{
	return result(pr) ? pr->n_props : 0;
}

int imgscan_probe_get_property(const struct imgscan_probe *pr, unsigned idx, const char **name,
                               const char **value, size_t *len)
{
	if (idx >= imgscan_probe_get_property_count(pr))
		return -ERANGE;
	if (name)
		*name = pr->props[idx].key;
	if (value)
		*value = pr->pool + pr->props[idx].off;
	if (len)
		*len = pr->props[idx].len;
	return 0;
}

int imgscan_probe_get_json(const struct imgscan_probe *cpr, const char **ret)
{
	/* the text is made once per run, on request: the handle's cache */
	struct imgscan_probe *pr = (struct imgscan_probe *)cpr;
	int r;

	if (!result(pr))
		return -ENODATA;
	if (!pr->json) {
		r = img_json_item_text(&pr->scan, &pr->json);
		if (r < 0)
			return fail(pr, "write JSON", r,
			            r == -ELIBACC || r == -ELIBBAD
			                    ? "(" JSONC_SONAME ", Debian package " JSONC_PACKAGE ")"
			                    : NULL);
	}
	*ret = pr->json;
	return 0;
}

/* ---- safety verdicts ------------------------------------------------------------- */

struct imgscan_policy {
	struct img_policy p;
};

struct imgscan_policy *imgscan_policy_new(void)
{
	struct imgscan_policy *pol = malloc(sizeof(*pol));

	if (pol)
		img_policy_init(&pol->p);
	return pol;
}

void imgscan_policy_free(struct imgscan_policy *pol)
{
	free(pol);
}

int imgscan_policy_allow(struct imgscan_policy *pol, const char *checks)
{
	const char *bad;
	size_t bad_len;
	uint32_t v;
	int r;

	if (!pol || !checks)
		return -EINVAL;
	r = img_check_parse_list(checks, &v, &bad, &bad_len);
	if (r < 0)
		return r;
	pol->p.allow = v;
	return 0;
}

int imgscan_policy_deny_formats(struct imgscan_policy *pol, const char *formats)
{
	const char *bad;
	size_t bad_len;
	uint32_t v;
	int r;

	if (!pol || !formats)
		return -EINVAL;
	r = img_format_parse_list(formats, &v, &bad, &bad_len);
	if (r < 0)
		return r;
	pol->p.deny = v;
	return 0;
}

int imgscan_policy_vmdk_types(struct imgscan_policy *pol, const char *types)
{
	const char *bad;
	size_t bad_len;
	uint32_t v;
	int r;

	if (!pol || !types)
		return -EINVAL;
	r = img_vmdk_types_parse_list(types, &v, &bad, &bad_len);
	if (r < 0)
		return r;
	pol->p.vmdk_types = v;
	return 0;
}

int imgscan_policy_expect_format(struct imgscan_policy *pol, const char *format)
{
	enum img_format_id id;

	if (!pol)
		return -EINVAL;
	if (!format) {
		pol->p.expect_set = false;
		return 0;
	}
	id = img_format_by_name(format);
	/* img_format_by_name says raw for unknown names too */
	if (id == IMG_FMT_RAW && strcmp(format, "raw"))
		return -EINVAL;
	pol->p.expect_set = true;
	pol->p.expect = id;
	return 0;
}

int imgscan_policy_max_virtual_size(struct imgscan_policy *pol, uint64_t bytes)
{
	if (!pol)
		return -EINVAL;
	pol->p.max_virtual_size_set = bytes != 0;
	pol->p.max_virtual_size = bytes;
	return 0;
}

const char *imgscan_check_name(unsigned idx)
{
	return idx < _IMG_CHECK_MAX ? img_check_name((enum img_check_id)idx) : NULL;
}

int imgscan_probe_is_safe(const struct imgscan_probe *pr)
{
	if (!result(pr) || !pr->scan.checked)
		return -ENODATA;
	return pr->scan.verdict.safe;
}

int imgscan_probe_check_failed(const struct imgscan_probe *pr, const char *check,
                               const char **reason)
{
	int id;

	if (!check)
		return -EINVAL;
	id = img_check_by_name(check, strlen(check));
	if (id < 0)
		return -EINVAL;
	if (!result(pr) || !pr->scan.checked)
		return -ENODATA;
	if (!(pr->scan.verdict.failed & (1u << id)))
		return 0;
	if (reason)
		*reason = pr->scan.verdict.reason[id];
	return 1;
}


/* ---- batch scans ------------------------------------------------------------------- */

/*
 * A batch is one run of the scan engine (img_scanner): its workers read
 * chunks of volumes on an io_uring each and probe them, into a bounded
 * window of results that the calling thread takes in input order; each
 * result reaches the callback through one probe handle, filled from the
 * engine's struct img_scan as imgscan_probe_run fills it.
 */
#define BATCH_CHUNK 16 /* the engine's chunk: no more workers than chunks */
#define BATCH_JOBS_MAX 32

struct batch_item {
	enum source_kind kind;
	char *path;
	int fd;
	uint64_t offset;
	uint64_t size;
	char name[32]; /* "descriptor 5" */
};

struct imgscan_batch {
	unsigned flags;
	bool have_policy;
	struct img_policy policy;
	unsigned jobs;
	struct batch_item *items;
	size_t n;
	size_t cap;
};

struct imgscan_batch *imgscan_batch_new(void)
{
	struct imgscan_batch *b = calloc(1, sizeof(*b));

	if (b)
		b->jobs = 4;
	return b;
}

void imgscan_batch_free(struct imgscan_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->items[i].path);
	free(b->items);
	free(b);
}

int imgscan_batch_set_flags(struct imgscan_batch *b, unsigned flags)
{
	if (!b || (flags & ~(unsigned)ALL_FLAGS))
		return -EINVAL;
	b->flags = flags;
	return 0;
}

int imgscan_batch_set_policy(struct imgscan_batch *b, const struct imgscan_policy *pol)
{
	if (!b)
		return -EINVAL;
	b->have_policy = pol != NULL;
	if (pol)
		memcpy(&b->policy, pol, sizeof(b->policy));
	return 0;
}

int imgscan_batch_set_jobs(struct imgscan_batch *b, unsigned jobs)
{
	if (!b || jobs < 1 || jobs > BATCH_JOBS_MAX)
		return -EINVAL;
	b->jobs = jobs;
	return 0;
}

static ssize_t batch_add(struct imgscan_batch *b, const struct batch_item *it)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		struct batch_item *p;

		if (cap > SIZE_MAX / sizeof(*p) || cap > (size_t)SSIZE_MAX)
			return -ENOMEM;
		p = realloc(b->items, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->items = p;
		b->cap = cap;
	}
	b->items[b->n] = *it;
	return (ssize_t)b->n++;
}

ssize_t imgscan_batch_add_path(struct imgscan_batch *b, const char *path, uint64_t offset)
{
	struct batch_item it = { .kind = SRC_PATH, .fd = -1, .offset = offset };
	ssize_t r;

	if (!b || !path || !*path)
		return -EINVAL;
	it.path = strdup(path);
	if (!it.path)
		return -ENOMEM;
	r = batch_add(b, &it);
	if (r < 0)
		free(it.path);
	return r;
}

ssize_t imgscan_batch_add_fd(struct imgscan_batch *b, int fd, uint64_t offset, uint64_t size)
{
	struct batch_item it = { .kind = SRC_FD, .fd = fd, .offset = offset, .size = size };

	if (!b || fd < 0)
		return -EINVAL;
	snprintf(it.name, sizeof(it.name), "descriptor %d", fd);
	return batch_add(b, &it);
}

/* point handle pr at item it for one delivery (the path is the batch's: not freed by pr) */
static void batch_point(struct imgscan_probe *pr, const struct batch_item *it)
{
	reset_results(pr);
	pr->has_err = false;
	pr->kind = it->kind;
	pr->path = it->path;
	pr->fd = it->fd;
	pr->offset = it->offset;
	pr->size = it->size;
	if (it->kind == SRC_FD)
		snprintf(pr->name, sizeof(pr->name), "%s", it->name);
}

int imgscan_batch_run(struct imgscan_batch *b, imgscan_batch_fn fn, void *userdata)
{
	struct img_scan_opts o;
	struct img_target *targets;
	struct img_scanner *sc;
	struct imgscan_probe *pr;
	size_t chunks;
	int ret = 0;

	if (!b || !fn)
		return -EINVAL;
	if (!b->n)
		return 0;
	engine_opts(b->flags, b->have_policy ? &b->policy : NULL, &o);
	/* no more workers than chunks */
	chunks = (b->n + BATCH_CHUNK - 1) / BATCH_CHUNK;
	o.jobs = b->jobs < chunks ? b->jobs : (unsigned)chunks;
	targets = calloc(b->n, sizeof(*targets));
	pr = imgscan_probe_new();
	if (!targets || !pr) {
		free(targets);
		imgscan_probe_free(pr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct batch_item *it = &b->items[i];

		engine_target(it->kind, it->path, it->fd, it->offset, it->size, it->name, &targets[i]);
	}
	sc = img_scanner_new(targets, b->n, &o);
	if (!sc) {
		free(targets);
		imgscan_probe_free(pr);
		return -ENOMEM;
	}
	pr->flags = b->flags;
	pr->have_policy = b->have_policy;
	pr->policy = b->policy;
	/* deliver in input order, on the calling thread */
	for (size_t i = 0; i < b->n; i++) {
		const struct img_scan *s = img_scanner_get(sc, i);
		int r;

		batch_point(pr, &b->items[i]);
		/* the handle shows the engine's result slot while the callback runs */
		pr->res = NULL;
		r = fn(pr, from_scan(pr, s), i, userdata);
		img_scanner_release(sc, i);
		if (r) {
			ret = -ECANCELED;
			break;
		}
	}
	img_scanner_free(sc);
	free(targets);
	/* the handle's result was the engine's slot; the path the batch's */
	pr->res = NULL;
	pr->path = NULL;
	imgscan_probe_free(pr);
	return ret;
}

/* ---- encoders -------------------------------------------------------------------- */

ssize_t imgscan_encode_udev(const char *s, size_t len, char *out, size_t outlen)
{
	int n;

	if ((!s && len) || (!out && outlen))
		return -EINVAL;
	n = img_enc(s ? s : "", len, out, outlen);
	return n < 0 ? -ENOSPC : n;
}

ssize_t imgscan_encode_udev_safe(const char *s, size_t len, char *out, size_t outlen)
{
	int n;

	if ((!s && len) || (!out && outlen))
		return -EINVAL;
	n = img_safe(s ? s : "", len, out, outlen);
	return n < 0 ? -ENOSPC : n;
}

ssize_t imgscan_encode_shell(const char *s, size_t len, char *out, size_t outlen)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f;

	if ((!s && len) || (!out && outlen))
		return -EINVAL;
	/* the grammar of --export: img_put_quoted, written into memory */
	f = open_memstream(&text, &n);
	if (!f)
		return -errno;
	img_put_quoted(f, s ? s : "", len);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	if (outlen) {
		size_t k = n < outlen - 1 ? n : outlen - 1;

		memcpy(out, text, k);
		out[k] = 0;
	}
	free(text);
	return n < outlen ? (ssize_t)n : -ENOSPC;
}

ssize_t imgscan_encode_json(const char *s, size_t len, char *out, size_t outlen)
{
	if ((!s && len) || (!out && outlen))
		return -EINVAL;
	return img_json_string(s ? s : "", len, out, outlen);
}
