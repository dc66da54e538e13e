/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libimgscan: the public API (imgscan.h, docs/api.md) over the layers the
 * command is built from: the probe core (probe/), the reader (io/), the
 * safety checks (check/), libblkid content naming (content.c) and the
 * encoders and writers of the outputs (output/).  Nothing here changes what
 * those layers do: a handle holds one struct img_scan, filled the way the
 * command fills it for `imgscan --json PATH`.
 *
 * No global state: everything lives in the handle.  The optional libraries
 * (libblkid, libjson-c) are loaded with dlopen once per process, under a lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
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

/* what to do about err, as the command says it */
static const char *error_hint(int err)
{
	switch (-err) {
	case ENOENT:
	case ENXIO:
	case ENODEV:
		return "check that the path exists";
	case EACCES:
	case EPERM:
		if (geteuid() == 0)
			return "refused even to root: a device cgroup, an SELinux or AppArmor policy "
			       "or a container forbids it";
		return "run as root, or read what udev recorded (imgscan --cached)";
	case ENOTBLK:
		return "give a block device or a regular file";
	case EIO:
		return "the device failed or shrank while being read; see the kernel log";
	case EINVAL:
		return "check the offset (and size) against the size of the volume";
	case E2BIG:
		return "the header points further than imgscan reads; the image is damaged or hostile";
	case ENOMEDIUM:
		return "the device is empty: no medium, or a loop device without a backing file";
	case ESTALE:
		return "the path was replaced while it was being opened; probe it again";
	case ENOMEM:
		return "out of memory";
	case EMFILE:
	case ENFILE:
		return "too many files open: raise the limit (ulimit -n)";
	case EBADF:
		return "give a descriptor open for reading";
	case ENODATA:
		return "give a longer head, the tail, or IMGSCAN_PROBE_NO_CONTENT_SIGNATURES when no "
		       "ISO 9660 or UDF can be there";
	case ELIBACC:
		return "install the library named";
	default:
		return NULL;
	}
}

static const char *error_text(int err)
{
	if (err == -ENOTBLK)
		return "not a regular file or block device";
	if (err == -ESTALE)
		return "not the object checked before";
	return strerror(-err);
}

static int fail(struct imgscan_probe *pr, const char *op, int err, const char *detail)
{
	const char *who = pr->kind == SRC_PATH ? pr->path : pr->name;
	const char *hint = error_hint(err);

	snprintf(pr->err, sizeof(pr->err), "%s: cannot %s: %s%s%s%s%s%s", who && *who ? who : "probe",
	         op, error_text(err), detail ? " " : "", detail ? detail : "", hint ? " (" : "",
	         hint ? hint : "", hint ? ")" : "");
	pr->has_err = true;
	return err;
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

/* what every kind of volume shares after the probe: verdict, tokens, properties */
static int finish(struct imgscan_probe *pr, const uint8_t *sector0, size_t sector0_len)
{
	struct img_scan *s = &pr->scan;
	struct img_result *res = pr->res;

	if (pr->have_policy) {
		if (res->format == IMG_FMT_RAW && sector0)
			img_mbr_parse(sector0, sector0_len, &s->content.mbr);
		img_verdict_compute(res, &s->content, &pr->policy, &s->verdict);
		s->checked = true;
	}
	for (unsigned i = 0; i < res->n_features && i < IMG_MAX_FEATURES; i++)
		if (img_feature_token(&res->features[i], pr->tokens[i], TOKEN_MAX) < 0)
			pr->tokens[i][0] = 0;
	img_udev_props(s, false, add_prop, pr);
	if (pr->props_failed)
		return fail(pr, "list the properties", -ENOMEM, NULL);
	pr->done = true;
	return res->format == IMG_FMT_RAW ? 0 : 1;
}

/* open the volume (path or descriptor) with the read budget and head size the flags ask */
static int source_open(struct imgscan_probe *pr, struct img_source **ret)
{
	int rc;

	*ret = NULL;
	if (pr->kind == SRC_PATH)
		rc = img_source_open(pr->path, pr->offset, pr->flags & IMGSCAN_PROBE_NO_DIRECT, ret);
	else
		rc = img_source_from_fd(pr->fd, pr->offset, pr->size, ret);
	if (rc < 0)
		return fail(pr, "open", rc, NULL);
	if (pr->flags & IMGSCAN_PROBE_DEEP)
		img_source_set_cap(*ret, IMG_SOURCE_DEEP_CAP);
	if (pr->flags & IMGSCAN_PROBE_NO_CONTENT_SIGNATURES)
		img_source_set_head(*ret, 4096);
	return 0;
}

/*
 * Probe src.  With defer (batch runs), a read the cache cannot serve is
 * queued there and *again says the probe must run once more after
 * img_prefetch_wait(defer); the result of this run is then meaningless.
 */
static int source_probe(struct imgscan_probe *pr, struct img_source *src,
                        struct img_prefetch *defer, bool *again)
{
	struct img_reader r;
	int rc;

	img_source_defer(src, defer);
	img_source_reader(src, &r);
	r.flags = reader_flags(pr);
	pr->scan.size = r.size;
	rc = img_probe(&r, pr->res);
	*again = defer && img_source_take_miss(src);
	img_source_defer(src, NULL);
	return rc;
}

/* after the probe (rc): content, verdict, properties; closes and frees src */
static int source_finish(struct imgscan_probe *pr, struct img_source *src, int rc)
{
	struct img_scan *s = &pr->scan;
	struct img_reader r;
	const uint8_t *p = NULL;
	size_t got = 0;

	if (rc < 0) {
		img_source_free(src);
		return fail(pr, "read", rc, NULL);
	}
	/* a raw volume's content, named through the very descriptor probed */
	if (pr->res->format == IMG_FMT_RAW && !(pr->flags & IMGSCAN_PROBE_NO_CONTENT)) {
		int fd = img_source_buffered_fd(src);
		int crc = fd < 0 ? fd : img_content_probe(fd, pr->offset, s->size, &s->content);

		s->content.probed = crc == 0;
	}
	if (pr->have_policy && pr->res->format == IMG_FMT_RAW) {
		img_source_reader(src, &r);
		(void)img_get_upto(&r, 0, 512, &p, &got);
	}
	/* close at once: an open descriptor makes a device-mapper remove fail */
	img_source_close(src);
	s->stats = *img_source_stats(src);
	s->have_stats = pr->flags & IMGSCAN_PROBE_STATS;
	pr->have_io = true;
	rc = finish(pr, p, got);
	img_source_free(src);
	return rc;
}

static int run_source(struct imgscan_probe *pr)
{
	struct img_source *src;
	bool again;
	int rc;

	rc = source_open(pr, &src);
	if (rc < 0)
		return rc;
	rc = source_probe(pr, src, NULL, &again);
	return source_finish(pr, src, rc);
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
	if (pr->have_policy && pr->res->format == IMG_FMT_RAW)
		(void)img_get_upto(&r, 0, 512, &p, &got);
	return finish(pr, p, got);
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
 * Workers claim chunks of BATCH_CHUNK consecutive volumes; a chunk's volumes
 * are opened, their head and tail windows read in one io_uring batch (one
 * ring per worker, when the kernel and the build allow), then probed; a
 * probe that needs a block beyond the windows has its read queued on the ring
 * and runs again once the chunk's other volumes are probed (as the command's
 * scan does).  Results wait in a window of (jobs + 1) chunks of probe
 * handles until the calling thread delivers them in input order: memory is
 * bounded whatever the number of volumes.
 */
#define BATCH_CHUNK 16
#define BATCH_DEFER_ROUNDS 8
#define BATCH_JOBS_MAX 32

struct batch_item {
	enum source_kind kind;
	char *path;
	int fd;
	uint64_t offset;
	uint64_t size;
};

enum slot_state {
	SLOT_FREE = 0,
	SLOT_BUSY,
	SLOT_DONE,
};

struct imgscan_batch {
	unsigned flags;
	bool have_policy;
	struct img_policy policy;
	unsigned jobs;
	struct batch_item *items;
	size_t n;
	size_t cap;

	/* one run */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct imgscan_probe **slots;
	int *rcs;
	enum slot_state *state;
	size_t w;
	size_t next;      /* the first volume no worker has claimed */
	size_t delivered; /* volumes handed to the callback */
	bool stop;
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
	return batch_add(b, &it);
}

/* point slot handle pr at item it (the path is borrowed from the batch: not freed by pr) */
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
		snprintf(pr->name, sizeof(pr->name), "descriptor %d", it->fd);
}

/* open, read (one ring batch) and probe volumes [i0, i0 + k) into their slots */
static void batch_chunk(struct imgscan_batch *b, struct img_prefetch *ring, size_t i0, size_t k)
{
	struct img_source *srcs[BATCH_CHUNK];

	for (size_t j = 0; j < k; j++) {
		size_t i = i0 + j;
		struct imgscan_probe *pr = b->slots[i % b->w];
		int rc;

		srcs[j] = NULL;
		batch_point(pr, &b->items[i]);
		rc = run_begin(pr);
		if (rc >= 0)
			rc = source_open(pr, &srcs[j]);
		b->rcs[i % b->w] = rc;
		/* the device starts on this volume while the next ones open */
		if (rc >= 0 && ring)
			(void)img_prefetch_add(ring, srcs[j]);
	}
	if (ring)
		(void)img_prefetch_wait(ring);
	/* without a ring, one round of reads on demand */
	for (unsigned round = ring ? 0 : BATCH_DEFER_ROUNDS;; round++) {
		struct img_prefetch *defer = round < BATCH_DEFER_ROUNDS ? ring : NULL;
		size_t left = 0;

		for (size_t j = 0; j < k; j++) {
			struct imgscan_probe *pr = b->slots[(i0 + j) % b->w];
			bool again;
			int rc;

			if (!srcs[j])
				continue;
			rc = source_probe(pr, srcs[j], defer, &again);
			if (again) {
				left++;
				continue;
			}
			b->rcs[(i0 + j) % b->w] = source_finish(pr, srcs[j], rc);
			srcs[j] = NULL;
		}
		if (!left)
			break;
		if (img_prefetch_wait(ring) < 0)
			round = BATCH_DEFER_ROUNDS - 1;
	}
}

static void *batch_worker(void *arg)
{
	struct imgscan_batch *b = arg;
	struct img_prefetch *ring = img_prefetch_new(BATCH_CHUNK);

	pthread_mutex_lock(&b->lock);
	for (;;) {
		size_t i0, k;

		while (!b->stop && b->next < b->n && b->next >= b->delivered + b->w)
			pthread_cond_wait(&b->cond, &b->lock);
		if (b->stop || b->next >= b->n)
			break;
		i0 = b->next;
		k = b->n - i0;
		if (k > BATCH_CHUNK)
			k = BATCH_CHUNK;
		if (k > b->delivered + b->w - i0)
			k = b->delivered + b->w - i0;
		b->next += k;
		for (size_t j = 0; j < k; j++)
			b->state[(i0 + j) % b->w] = SLOT_BUSY;
		pthread_mutex_unlock(&b->lock);

		batch_chunk(b, ring, i0, k);

		pthread_mutex_lock(&b->lock);
		for (size_t j = 0; j < k; j++)
			b->state[(i0 + j) % b->w] = SLOT_DONE;
		pthread_cond_broadcast(&b->cond);
	}
	pthread_mutex_unlock(&b->lock);
	img_prefetch_free(ring);
	return NULL;
}

static void batch_release(struct imgscan_batch *b)
{
	for (size_t i = 0; b->slots && i < b->w; i++) {
		if (b->slots[i]) {
			b->slots[i]->path = NULL; /* the batch's */
			imgscan_probe_free(b->slots[i]);
		}
	}
	free(b->slots);
	free(b->rcs);
	free(b->state);
	b->slots = NULL;
	b->rcs = NULL;
	b->state = NULL;
}

int imgscan_batch_run(struct imgscan_batch *b, imgscan_batch_fn fn, void *userdata)
{
	pthread_t tids[BATCH_JOBS_MAX];
	unsigned started = 0, jobs;
	int ret = 0;

	if (!b || !fn)
		return -EINVAL;
	if (!b->n)
		return 0;
	jobs = b->jobs;
	/* no more workers than chunks */
	if (jobs > (b->n + BATCH_CHUNK - 1) / BATCH_CHUNK)
		jobs = (unsigned)((b->n + BATCH_CHUNK - 1) / BATCH_CHUNK);
	b->w = (size_t)(jobs + 1) * BATCH_CHUNK;
	b->slots = calloc(b->w, sizeof(*b->slots));
	b->rcs = calloc(b->w, sizeof(*b->rcs));
	b->state = calloc(b->w, sizeof(*b->state));
	if (!b->slots || !b->rcs || !b->state) {
		batch_release(b);
		return -ENOMEM;
	}
	for (size_t i = 0; i < b->w; i++) {
		b->slots[i] = imgscan_probe_new();
		if (!b->slots[i]) {
			batch_release(b);
			return -ENOMEM;
		}
		b->slots[i]->flags = b->flags;
		b->slots[i]->have_policy = b->have_policy;
		b->slots[i]->policy = b->policy;
	}
	b->next = b->delivered = 0;
	b->stop = false;
	if (pthread_mutex_init(&b->lock, NULL) != 0) {
		batch_release(b);
		return -ENOMEM;
	}
	if (pthread_cond_init(&b->cond, NULL) != 0) {
		pthread_mutex_destroy(&b->lock);
		batch_release(b);
		return -ENOMEM;
	}
	for (; started < jobs; started++) {
		int e = pthread_create(&tids[started], NULL, batch_worker, b);

		if (e) {
			if (!started)
				ret = -e;
			break;
		}
	}
	/* deliver in input order, on the calling thread */
	for (size_t i = 0; started && i < b->n; i++) {
		size_t s = i % b->w;
		int r;

		pthread_mutex_lock(&b->lock);
		while (b->state[s] != SLOT_DONE)
			pthread_cond_wait(&b->cond, &b->lock);
		pthread_mutex_unlock(&b->lock);

		r = fn(b->slots[s], b->rcs[s], i, userdata);

		pthread_mutex_lock(&b->lock);
		b->state[s] = SLOT_FREE;
		b->delivered = i + 1;
		if (r)
			b->stop = true;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
		if (r) {
			ret = -ECANCELED;
			break;
		}
	}
	for (unsigned t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	batch_release(b);
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
