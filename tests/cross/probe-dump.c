/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * probe-dump: every fact the probe core finds in each fixture, as stable
 * text, so that builds for different CPUs can be diffed (tools/cross.sh:
 * x86-64, i386 and big-endian s390x must print the same bytes).
 *
 * A fixture is rebuilt the way tests/common/testutil.c (t_sparse_load) and
 * the fuzz replay do, without allocating the whole volume:
 *   NAME.head         bytes at offset 0
 *   NAME.at-OFFSET    bytes at decimal OFFSET (the vhdx pieces)
 *   NAME.tail         bytes ending at the volume's end
 *   NAME.size         decimal total size (default: where the last piece ends)
 *   NAME              a file with none of these suffixes is the whole volume
 * Zeros everywhere else; where pieces overlap the tail wins, as in testutil.
 * Every get() returns its own exact-size heap buffer (sanitizers and
 * valgrind see over-reads) and the bytes served are capped like the fd
 * source caps them (io/source.h), so a huge declared size costs nothing.
 *
 * For each fixture, with and without IMG_PROBE_DEEP: img_probe()'s return
 * code, every field of struct img_result (header strings escaped), the
 * format-specific and --deep trees, then the --udev and --export lines of
 * the pure C writers (output/out-udev.c, out-export.c, encode.c).  Then
 * every format's probe forced on the volume (img_probe_format), so each
 * probe's refusal paths run on every fixture too.  All of it twice: as the
 * fixture says, then with the volume 4 GiB larger (tails at its new end),
 * so that offsets and sizes need more than 32 bits.  Blocks are sorted by
 * fixture name.  No pointer, address or host-dependent value is printed.
 *
 * usage: probe-dump DIR|DIR/NAME...
 * Exit status: 0, or 1 when a fixture could not be read.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/source.h"
#include "output/output.h"
#include "probe/probe.h"

#define DUMP_MAX_PIECES 16
#define DUMP_MAX_PIECE (16u << 20) /* a piece file larger than this is cut */
#define DUMP_MAX_BUFS 65536
#define DUMP_GROW (UINT64_C(1) << 32) /* the second volume: 4 GiB larger */

struct piece {
	uint64_t off;     /* resolved once the size is known (tails) */
	bool is_tail;
	uint8_t *data;
	size_t len;
};

struct fixture {
	char *label; /* what is printed and sorted on: the path without suffix */
	char *base;  /* path prefix of the piece files */
	bool whole;  /* the file base itself is the volume */
};

struct volume {
	unsigned n;
	struct piece p[DUMP_MAX_PIECES];
	uint64_t size;
	/* reader state */
	uint64_t bytes, cap;
	size_t n_bufs, max_bufs;
	void **bufs;
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "probe-dump: out of memory\n");
		exit(1);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

/* ---- loading --------------------------------------------------------- */

static int read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t len;

	if (!f) {
		fprintf(stderr, "probe-dump: %s: %s\n", path, strerror(errno));
		return -1;
	}
	buf = xmalloc(DUMP_MAX_PIECE);
	len = fread(buf, 1, DUMP_MAX_PIECE, f);
	if (ferror(f)) {
		fprintf(stderr, "probe-dump: %s: read error\n", path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	/* keep only what was read: an exact-size buffer */
	*ret = realloc(buf, len ? len : 1);
	if (!*ret)
		*ret = buf;
	*ret_len = len;
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int add_piece(struct volume *v, const char *path, uint64_t off, bool is_tail)
{
	struct piece *p;

	if (v->n >= DUMP_MAX_PIECES) {
		fprintf(stderr, "probe-dump: %s: too many pieces\n", path);
		return -1;
	}
	p = &v->p[v->n];
	if (read_file(path, &p->data, &p->len) < 0)
		return -1;
	p->off = off;
	p->is_tail = is_tail;
	v->n++;
	return 0;
}

/* a decimal offset or size, the whole string */
static bool parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s && *s != '\n'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return true;
}

static int cmp_piece(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	/* tails last (they win), then by offset */
	if (x->is_tail != y->is_tail)
		return x->is_tail ? 1 : -1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int load_volume(const struct fixture *fx, struct volume *v)
{
	char *path = xmalloc(strlen(fx->base) + 64);
	uint64_t end = 0, tails = 0;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	if (fx->whole) {
		if (add_piece(v, fx->base, 0, false) < 0)
			goto out;
	} else {
		const char *slash = strrchr(fx->base, '/');
		char *dir = slash ? xstrdup(fx->base) : xstrdup(".");
		const char *name = slash ? slash + 1 : fx->base;
		size_t nlen = strlen(name);
		DIR *d;
		struct dirent *de;

		if (slash)
			dir[slash > fx->base ? slash - fx->base : 1] = '\0';
		sprintf(path, "%s.head", fx->base);
		if (exists(path) && add_piece(v, path, 0, false) < 0) {
			free(dir);
			goto out;
		}
		sprintf(path, "%s.tail", fx->base);
		if (exists(path) && add_piece(v, path, 0, true) < 0) {
			free(dir);
			goto out;
		}
		d = opendir(dir);
		if (!d) {
			fprintf(stderr, "probe-dump: %s: %s\n", dir, strerror(errno));
			free(dir);
			goto out;
		}
		while ((de = readdir(d))) {
			uint64_t off;

			if (strncmp(de->d_name, name, nlen) || strncmp(de->d_name + nlen, ".at-", 4) ||
			    !parse_u64(de->d_name + nlen + 4, &off))
				continue;
			sprintf(path, "%s.at-%" PRIu64, fx->base, off);
			if (add_piece(v, path, off, false) < 0) {
				closedir(d);
				free(dir);
				goto out;
			}
		}
		closedir(d);
		free(dir);
	}
	if (v->n == 0) {
		fprintf(stderr, "probe-dump: %s: no pieces\n", fx->base);
		goto out;
	}
	/* the default size, as t_sparse_load: head + tail (or the last piece's end) */
	for (unsigned i = 0; i < v->n; i++) {
		if (v->p[i].is_tail)
			tails += v->p[i].len;
		else if (v->p[i].off + v->p[i].len > end)
			end = v->p[i].off + v->p[i].len;
	}
	v->size = end + tails;
	sprintf(path, "%s.size", fx->base);
	if (!fx->whole && exists(path)) {
		uint8_t *txt;
		size_t n;
		char tmp[32] = { 0 };

		if (read_file(path, &txt, &n) < 0)
			goto out;
		memcpy(tmp, txt, n < sizeof(tmp) - 1 ? n : sizeof(tmp) - 1);
		free(txt);
		if (!parse_u64(tmp, &v->size)) {
			fprintf(stderr, "probe-dump: %s: not a decimal size\n", path);
			goto out;
		}
	}
	for (unsigned i = 0; i < v->n; i++) {
		if (v->p[i].is_tail) {
			if (v->p[i].len > v->size) {
				fprintf(stderr, "probe-dump: %s: tail larger than the size\n", fx->base);
				goto out;
			}
			v->p[i].off = v->size - v->p[i].len;
		}
	}
	qsort(v->p, v->n, sizeof(v->p[0]), cmp_piece);
	rc = 0;
out:
	free(path);
	return rc;
}

static void volume_free_bufs(struct volume *v)
{
	for (size_t i = 0; i < v->n_bufs; i++)
		free(v->bufs[i]);
	free(v->bufs);
	v->bufs = NULL;
	v->n_bufs = v->max_bufs = 0;
	v->bytes = 0;
}

static void volume_free(struct volume *v)
{
	volume_free_bufs(v);
	for (unsigned i = 0; i < v->n; i++)
		free(v->p[i].data);
	v->n = 0;
}

/* ---- the reader ------------------------------------------------------- */

static int vol_get(void *ctx, uint64_t off, size_t len, const uint8_t **ret)
{
	struct volume *v = ctx;
	uint8_t *b;

	if (off > v->size || len > v->size - off)
		return -ERANGE;
	if (len > v->cap - v->bytes || v->n_bufs >= DUMP_MAX_BUFS)
		return -E2BIG;
	if (v->n_bufs == v->max_bufs) {
		size_t n = v->max_bufs ? 2 * v->max_bufs : 64;
		void **nb = realloc(v->bufs, n * sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		v->bufs = nb;
		v->max_bufs = n;
	}
	b = xmalloc(len);
	memset(b, 0, len);
	/* pieces in order, the later ones (tails) over the earlier */
	for (unsigned i = 0; i < v->n; i++) {
		const struct piece *p = &v->p[i];
		uint64_t lo = off > p->off ? off : p->off;
		uint64_t pend = p->off + p->len, rend = off + len;
		uint64_t hi = pend < rend ? pend : rend;

		if (lo < hi)
			memcpy(b + (lo - off), p->data + (lo - p->off), (size_t)(hi - lo));
	}
	v->bytes += len;
	v->bufs[v->n_bufs++] = b;
	*ret = b;
	return 0;
}

static void vol_reader(struct volume *v, unsigned flags, struct img_reader *r)
{
	volume_free_bufs(v);
	v->cap = (flags & IMG_PROBE_DEEP) ? IMG_SOURCE_DEEP_CAP : IMG_SOURCE_BYTE_CAP;
	r->ctx = v;
	r->size = v->size;
	r->block_size = 512;
	r->flags = flags;
	r->get = vol_get;
	r->trace = NULL;
}

/* ---- printing --------------------------------------------------------- */

/* untrusted bytes: printable ASCII but '\\' as is, the rest as \xHH */
static void put_esc(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

static void put_cstr(const char *label, const char *s)
{
	if (s) {
		printf("  %s=\"", label);
		put_esc(s, strlen(s));
		printf("\"\n");
	}
}

static void put_bytes(const char *label, const struct img_bytes *b)
{
	if (!b->present)
		return;
	printf("  %s len=%u \"", label, (unsigned)b->len);
	put_esc(b->data, b->len < IMG_STR_MAX ? b->len : IMG_STR_MAX - 1);
	printf("\"\n");
}

static const char *type_name(enum img_spec_type t)
{
	switch (t) {
	case IMG_SPEC_STR:
		return "str";
	case IMG_SPEC_UINT:
		return "uint";
	case IMG_SPEC_INT:
		return "int";
	case IMG_SPEC_BOOL:
		return "bool";
	case IMG_SPEC_OBJ:
		return "obj";
	case IMG_SPEC_ARR:
		return "arr";
	case IMG_SPEC_END:
		return "end";
	case IMG_SPEC_SELF:
		return "self";
	}
	return "?";
}

static void put_tree(const char *label, const struct img_spec *s)
{
	unsigned n = s->n < IMG_SPEC_MAX ? s->n : IMG_SPEC_MAX;
	unsigned depth = 0;

	if (!s->type && !n)
		return;
	printf("  %s type=%s n=%u depth=%u overflow=%d pool=%" PRIu32 "\n", label,
	       s->type ? s->type : "-", s->n, s->depth, s->overflow, s->pool_used);
	for (unsigned i = 0; i < n; i++) {
		const struct img_spec_entry *e = &s->e[i];

		if (e->type == IMG_SPEC_END && depth)
			depth--;
		printf("    %*s%s %s", (int)(2 * (depth < 32 ? depth : 32)), "", type_name(e->type),
		       e->key ? e->key : "-");
		switch (e->type) {
		case IMG_SPEC_STR:
			printf(" \"");
			if (e->v.str.off <= IMG_SPEC_POOL && e->v.str.len <= IMG_SPEC_POOL - e->v.str.off)
				put_esc(img_spec_strp(s, e), e->v.str.len);
			else
				printf("<out of pool: %" PRIu32 "+%" PRIu32 ">", e->v.str.off,
				       e->v.str.len);
			printf("\"");
			break;
		case IMG_SPEC_UINT:
			printf(" %" PRIu64, e->v.u);
			break;
		case IMG_SPEC_INT:
			printf(" %" PRId64, e->v.i);
			break;
		case IMG_SPEC_BOOL:
			printf(" %d", e->v.b);
			break;
		case IMG_SPEC_OBJ:
		case IMG_SPEC_ARR:
			depth++;
			break;
		default:
			break;
		}
		printf("\n");
	}
}

static void put_result(int rc, const struct img_result *res)
{
	unsigned nf = res->n_features < IMG_MAX_FEATURES ? res->n_features : IMG_MAX_FEATURES;
	unsigned nc = res->n_candidates < _IMG_FMT_MAX ? res->n_candidates : _IMG_FMT_MAX;

	printf("  rc=%d format=%s(%d)\n", rc, img_format_name(res->format), (int)res->format);
	if (res->has_version)
		printf("  version=%" PRIu32 "\n", res->version);
	if (res->has_virtual_size)
		printf("  virtual_size=%" PRIu64 "\n", res->virtual_size);
	if (res->cluster_size)
		printf("  cluster_size=%" PRIu64 "\n", res->cluster_size);
	if (res->header_length)
		printf("  header_length=%" PRIu32 "\n", res->header_length);
	put_cstr("subformat", res->subformat);
	printf("  encryption=%d dirty=%d no_dirty_flag=%d corrupt=%d\n", (int)res->encryption,
	       res->dirty, res->no_dirty_flag, res->corrupt);
	put_cstr("compat", res->compat);
	if (res->has_snapshots)
		printf("  snapshots=%" PRIu32 "\n", res->snapshots);
	if (res->has_bitmaps)
		printf("  bitmaps=%" PRIu32 "\n", res->bitmaps);
	if (res->n_features)
		printf("  n_features=%u\n", res->n_features);
	for (unsigned i = 0; i < nf; i++) {
		const struct img_feature *f = &res->features[i];

		printf("    feature kind=%d bit=%u name=%s", (int)f->kind, (unsigned)f->bit,
		       f->name ? f->name : "-");
		if (f->table_name_len) {
			printf(" table_name=\"");
			put_esc(f->table_name, f->table_name_len < IMG_FEATURE_NAME_MAX ?
			                               f->table_name_len : IMG_FEATURE_NAME_MAX);
			printf("\"");
		}
		printf("\n");
	}
	put_cstr("damaged", res->damaged);
	put_cstr("limit", res->limit);
	if (res->n_candidates) {
		printf("  candidates=%u:", res->n_candidates);
		for (unsigned i = 0; i < nc; i++)
			printf(" %s", img_format_name(res->candidates[i]));
		printf("%s\n", res->footer_only_others ? " (the others: footers only)" : "");
	}
	if (res->has_image_end_offset)
		printf("  image_end_offset=%" PRIu64 "\n", res->image_end_offset);
	put_cstr("deep_incomplete", res->deep_incomplete);
	put_bytes("backing_file", &res->backing_file);
	put_bytes("backing_format", &res->backing_format);
	put_bytes("data_file", &res->data_file);
	put_tree("spec", &res->spec);
	put_tree("top", &res->top);
}

/* the same pieces in a volume of another size: the tails move to its end */
static void volume_resize(struct volume *v, uint64_t size)
{
	v->size = size;
	for (unsigned i = 0; i < v->n; i++)
		if (v->p[i].is_tail)
			v->p[i].off = size - v->p[i].len;
}

static void dump_probes(const char *label, struct volume *v, struct img_result *res)
{
	struct img_reader r;
	struct img_scan scan;

	for (unsigned deep = 0; deep < 2; deep++) {
		unsigned flags = deep ? IMG_PROBE_DEEP : 0;
		int rc;

		vol_reader(v, flags, &r);
		rc = img_probe(&r, res);
		printf(" -- img_probe%s (read %" PRIu64 " bytes in %zu gets)\n",
		       deep ? " deep" : "", v->bytes, v->n_bufs);
		put_result(rc, res);

		memset(&scan, 0, sizeof(scan));
		scan.path = label;
		scan.size = v->size;
		scan.res = res;
		printf(" -- udev\n");
		fflush(stdout);
		img_out_udev(stdout, &scan);
		printf(" -- export\n");
		fflush(stdout);
		img_out_export(stdout, &scan, true);

		for (unsigned id = 1; id < _IMG_FMT_MAX; id++) {
			vol_reader(v, flags, &r);
			rc = img_probe_format(&r, (enum img_format_id)id, res);
			if (rc == 0 && res->format == IMG_FMT_RAW)
				continue; /* no match: nothing to compare but that */
			printf(" -- img_probe_format %s%s\n", img_format_name((enum img_format_id)id),
			       deep ? " deep" : "");
			put_result(rc, res);
		}
	}
}

static int dump(const struct fixture *fx, struct img_result *res)
{
	struct volume v;
	uint64_t size;

	printf("=== %s\n", fx->label);
	if (load_volume(fx, &v) < 0) {
		printf("  unreadable\n");
		volume_free(&v);
		return -1;
	}
	size = v.size;
	printf("  size=%" PRIu64 " pieces=%u\n", v.size, v.n);
	dump_probes(fx->label, &v, res);
	/*
	 * The same pieces 4 GiB further apart: every offset from the end and
	 * every check against the volume size then needs more than 32 bits,
	 * where a size_t or long on a 32-bit CPU would truncate it.
	 */
	if (size <= UINT64_MAX - DUMP_GROW) {
		volume_resize(&v, size + DUMP_GROW);
		printf(" == the same, size=%" PRIu64 "\n", v.size);
		dump_probes(fx->label, &v, res);
	}
	volume_free(&v);
	return 0;
}

/* ---- fixture names ---------------------------------------------------- */

struct list {
	size_t n, max;
	struct fixture *f;
};

static void list_add(struct list *l, const char *label, const char *base, bool whole)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->f[i].label, label))
			return;
	if (l->n == l->max) {
		l->max = l->max ? 2 * l->max : 64;
		l->f = realloc(l->f, l->max * sizeof(*l->f));
		if (!l->f) {
			fprintf(stderr, "probe-dump: out of memory\n");
			exit(1);
		}
	}
	l->f[l->n].label = xstrdup(label);
	l->f[l->n].base = xstrdup(base);
	l->f[l->n].whole = whole;
	l->n++;
}

/* the fixture name of a piece file: NAME without .head/.tail/.size/.at-N; false: not a piece */
static bool strip_suffix(char *s)
{
	static const char *const sfx[] = { ".head", ".tail", ".size" };
	size_t n = strlen(s);
	char *at;

	for (size_t i = 0; i < IMG_ARRAY_SIZE(sfx); i++) {
		size_t k = strlen(sfx[i]);

		if (n > k && !strcmp(s + n - k, sfx[i])) {
			s[n - k] = '\0';
			return true;
		}
	}
	at = strstr(s, ".at-");
	while (at) {
		uint64_t off;

		if (at > s && parse_u64(at + 4, &off) && !strchr(at + 4, '.')) {
			*at = '\0';
			return true;
		}
		at = strstr(at + 1, ".at-");
	}
	return false;
}

static int add_dir(struct list *l, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d) {
		fprintf(stderr, "probe-dump: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char *path, *name;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		path = xmalloc(strlen(dir) + strlen(de->d_name) + 2);
		sprintf(path, "%s/%s", dir, de->d_name);
		/* regular files only: fixtures/bad/ is named on its own */
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && strcmp(de->d_name, "README")) {
			name = xstrdup(path);
			if (strip_suffix(name))
				list_add(l, name, name, false);
			else
				list_add(l, path, path, true);
			free(name);
		}
		free(path);
	}
	closedir(d);
	return 0;
}

static int cmp_fixture(const void *a, const void *b)
{
	const struct fixture *x = a, *y = b;

	return strcmp(x->label, y->label);
}

int main(int argc, char **argv)
{
	struct list l = { 0 };
	struct img_result *res;
	int bad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|DIR/NAME...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			size_t n = strlen(argv[i]);
			char *dir = xstrdup(argv[i]);

			while (n > 1 && dir[n - 1] == '/')
				dir[--n] = '\0';
			if (add_dir(&l, dir) < 0)
				bad = 1;
			free(dir);
		} else {
			char *name = xstrdup(argv[i]);

			if (!strip_suffix(name) && stat(argv[i], &st) == 0 && S_ISREG(st.st_mode))
				list_add(&l, argv[i], argv[i], true);
			else
				list_add(&l, name, name, false);
			free(name);
		}
	}
	qsort(l.f, l.n, sizeof(*l.f), cmp_fixture);
	res = xmalloc(sizeof(*res));
	memset(res, 0, sizeof(*res));
	for (size_t i = 0; i < l.n; i++) {
		if (dump(&l.f[i], res) < 0)
			bad = 1;
		fflush(stdout);
		free(l.f[i].label);
		free(l.f[i].base);
	}
	printf("probe-dump: %zu fixtures\n", l.n);
	free(l.f);
	free(res);
	return bad;
}
