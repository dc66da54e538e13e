/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The human output: an lsblk-like table through libsmartcols, following
 * lsblk's conventions (docs/udev.md, util-linux 2.38 lsblk(8)):
 * -o LIST / -o +LIST / -O choose columns (case-insensitive names), -n no
 * headings, -r raw, -b sizes in bytes, -P NAME="value" pairs and -T the
 * backing-chain tree (resolution in out-tree.c).
 *
 * Rows are kept as strings (never results) until img_table_print, so the
 * tree can be resolved once every target is known.  Header strings are shown
 * through img_safe() in the table (no control byte reaches a terminal) and
 * as their exact bytes in -P pairs, quoted by img_put_quoted(), the escaping
 * --export uses: eval-safe whatever bytes a header holds.  A tree column is
 * never used for raw or pairs output (libsmartcols would print tree art
 * there); those list the rows in tree order instead.
 *
 * libsmartcols is loaded with dlopen by img_table_new (dl/dl.h), not for -P.
 */
#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dl/dl-smartcols.h"
#include "output/table.h"
#include "text/encode.h"

/* the longest header string a getter gives, with its NUL (the library's bound) */
#define TABLE_STR_MAX 1024
/* the FEATURES cell: every feature's token, "damaged" and "ambiguous" */
#define FEATURES_BUF 8192

enum {
	COL_NAME,
	COL_TYPE,
	COL_FORMAT,
	COL_VER,
	COL_SUBFORMAT,
	COL_VSIZE,
	COL_SIZE,
	COL_USED,
	COL_OFFSET,
	COL_CLUSTER,
	COL_BACKING,
	COL_BFMT,
	COL_DATAFILE,
	COL_FEATURES,
	COL_COMPAT,
	COL_ENC,
	COL_DIRTY,
	COL_CORRUPT,
	COL_SNAPSHOTS,
	COL_BITMAPS,
	COL_DAMAGED,
	COL_CONTENT,
	COL_LABEL,
	COL_UUID,
	COL_VG,
	COL_LV,
	COL_ERROR,
	COL_READS,
	COL_KBYTES,
	COL_SAFE,
	COL_FAILED,
	_COL_MAX,
};

struct colinfo {
	const char *name;
	double whint;
	int flags;
	const char *help;
};

static const struct colinfo cols[_COL_MAX] = {
	[COL_NAME] = { "NAME", 0.25, SCOLS_FL_NOEXTREMES, "path of the volume" },
	[COL_TYPE] = { "TYPE", 0.05, 0, "file, or the device type (disk, part, loop, lvm, dm ...)" },
	[COL_FORMAT] = { "FORMAT", 0.1, 0, "image format (qemu-img's name), raw, error or ambiguous:..." },
	[COL_VER] = { "VER", 0.05, 0, "format version" },
	[COL_SUBFORMAT] = { "SUBFORMAT", 0.1, 0, "variant (vpc fixed/dynamic, vmdk subformat ...)" },
	[COL_VSIZE] = { "VSIZE", 6, SCOLS_FL_RIGHT, "virtual size (the guest's disk)" },
	[COL_SIZE] = { "SIZE", 6, SCOLS_FL_RIGHT, "size of the volume" },
	[COL_USED] = { "USED", 6, SCOLS_FL_RIGHT, "image-end-offset (with --deep)" },
	[COL_OFFSET] = { "OFFSET", 6, SCOLS_FL_RIGHT, "--offset of the image inside the volume, bytes" },
	[COL_CLUSTER] = { "CLUSTER", 6, SCOLS_FL_RIGHT, "cluster size" },
	[COL_BACKING] = { "BACKING", 0.2, SCOLS_FL_TRUNC, "backing file name (never opened)" },
	[COL_BFMT] = { "BFMT", 0.05, 0, "backing file format" },
	[COL_DATAFILE] = { "DATAFILE", 0.2, SCOLS_FL_TRUNC, "external data file name (never opened)" },
	[COL_FEATURES] = { "FEATURES", 0.2, SCOLS_FL_WRAP, "feature bits, damaged, ambiguous" },
	[COL_COMPAT] = { "COMPAT", 0.05, 0, "qcow2 compat level (0.10, 1.1)" },
	[COL_ENC] = { "ENC", 0.05, 0, "encryption (aes, luks)" },
	[COL_DIRTY] = { "DIRTY", 1, SCOLS_FL_RIGHT, "dirty flag (1: not closed cleanly)" },
	[COL_CORRUPT] = { "CORRUPT", 1, SCOLS_FL_RIGHT, "corrupt flag" },
	[COL_SNAPSHOTS] = { "SNAPSHOTS", 3, SCOLS_FL_RIGHT, "number of internal snapshots" },
	[COL_BITMAPS] = { "BITMAPS", 3, SCOLS_FL_RIGHT, "number of persistent dirty bitmaps" },
	[COL_DAMAGED] = { "DAMAGED", 0.2, SCOLS_FL_TRUNC, "why qemu would refuse the header" },
	[COL_CONTENT] = { "CONTENT", 0.1, 0, "what libblkid finds inside a raw volume" },
	[COL_LABEL] = { "LABEL", 0.1, SCOLS_FL_TRUNC, "label of that content" },
	[COL_UUID] = { "UUID", 0.1, 0, "UUID of that content" },
	[COL_VG] = { "VG", 0.1, 0, "LVM volume group" },
	[COL_LV] = { "LV", 0.1, 0, "LVM logical volume" },
	[COL_ERROR] = { "ERROR", 0.2, SCOLS_FL_TRUNC, "why the volume could not be probed" },
	[COL_READS] = { "READS", 5, SCOLS_FL_RIGHT, "read requests (--stats)" },
	[COL_KBYTES] = { "KBYTES", 6, SCOLS_FL_RIGHT, "KiB read (--stats)" },
	[COL_SAFE] = { "SAFE", 3, 0, "--check verdict: yes or no" },
	[COL_FAILED] = { "FAILED", 0.2, SCOLS_FL_WRAP, "--check: the checks the volume failed" },
};

/* the default columns, in this order; VG/LV only with LVs, READS/KBYTES with --stats */
static const int default_cols[] = {
	COL_NAME, COL_FORMAT, COL_VER,  COL_VSIZE, COL_SIZE, COL_CLUSTER, COL_BACKING, COL_BFMT,
	COL_FEATURES, COL_ENC, COL_CONTENT, COL_VG, COL_LV, COL_READS, COL_KBYTES, COL_SAFE, COL_FAILED,
};

#define MAX_SEL 128

struct row {
	char *cell[_COL_MAX]; /* NULL: empty cell */
	size_t len[_COL_MAX];
	/* for the tree, NUL-terminated copies */
	char *backing;
	char vg[160], lv[160], dm_name[256];
};

struct img_table {
	struct img_table_opts o;
	int sel[MAX_SEL];
	size_t nsel;
	bool need[_COL_MAX];
	struct row *rows;
	size_t n, cap;
	bool oom;
	bool saw_lv; /* a row is an LV: the default columns take VG and LV */
};

/* ---- columns ----------------------------------------------------------------- */

static int col_by_name(const char *s, size_t len)
{
	for (int i = 0; i < _COL_MAX; i++)
		if (strlen(cols[i].name) == len && strncasecmp(cols[i].name, s, len) == 0)
			return i;
	return -1;
}

/* the selected columns into sel; -1 and err on an unknown name */
static int select_columns(const struct img_table_opts *o, int *sel, size_t *nsel, char *err,
                          size_t errlen)
{
	const char *list = o->columns;
	size_t n = 0;

	if (o->all_columns) {
		for (int i = 0; i < _COL_MAX; i++)
			sel[n++] = i;
	} else if (!list || list[0] == '+') {
		for (size_t i = 0; i < sizeof(default_cols) / sizeof(default_cols[0]); i++) {
			int c = default_cols[i];

			if ((c == COL_VG || c == COL_LV) && !o->lvm)
				continue;
			if ((c == COL_READS || c == COL_KBYTES) && !o->stats)
				continue;
			if ((c == COL_SAFE || c == COL_FAILED) && !o->check)
				continue;
			sel[n++] = c;
		}
	}
	if (list) {
		const char *p = list[0] == '+' ? list + 1 : list;

		for (;;) {
			size_t len = strcspn(p, ",");
			int c = col_by_name(p, len);

			if (c < 0) {
				if (err)
					snprintf(err, errlen, "unknown column '%.*s'",
					         (int)(len > 64 ? 64 : len), p);
				return -1;
			}
			if (n >= MAX_SEL) {
				if (err)
					snprintf(err, errlen, "more than %d columns", MAX_SEL);
				return -1;
			}
			sel[n++] = c;
			if (!p[len])
				break;
			p += len + 1;
		}
	}
	*nsel = n;
	return 0;
}

int img_table_check_columns(const struct img_table_opts *o, char *err, size_t errlen)
{
	int sel[MAX_SEL];
	size_t n;

	return select_columns(o, sel, &n, err, errlen);
}

int img_table_select_columns(const struct img_table_opts *o, const char **names, size_t cap,
                             size_t *n, char *err, size_t errlen)
{
	int sel[MAX_SEL];
	size_t nsel = 0;

	*n = 0;
	if (select_columns(o, sel, &nsel, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < nsel && i < cap; i++)
		names[i] = cols[sel[i]].name;
	*n = nsel;
	return 0;
}

void img_table_list_columns(FILE *f)
{
	for (int i = 0; i < _COL_MAX; i++)
		fprintf(f, "%10s  %s\n", cols[i].name, cols[i].help);
}

/* ---- cells ------------------------------------------------------------------- */

void img_human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	unsigned u = 0;
	uint64_t whole = bytes, rem = 0;

	while (whole >= 1024 && u < sizeof(units) - 2) {
		rem = whole % 1024;
		whole /= 1024;
		u++;
	}
	if (u == 0) {
		snprintf(buf, len, "%" PRIu64 "B", bytes);
		return;
	}
	/* one decimal, as lsblk: 1.5G; none when it is .0 */
	unsigned dec = (unsigned)((rem * 10 + 512) / 1024);

	if (dec == 10) {
		whole++;
		dec = 0;
	}
	if (dec)
		snprintf(buf, len, "%" PRIu64 ".%u%c", whole, dec, units[u]);
	else
		snprintf(buf, len, "%" PRIu64 "%c", whole, units[u]);
}

static void set_cell(struct img_table *t, struct row *rw, int col, const char *s, size_t len)
{
	char *p;

	if (rw->cell[col] || (!t->need[col] && col != COL_NAME))
		return;
	p = malloc(len + 1);
	if (!p) {
		t->oom = true;
		return;
	}
	memcpy(p, s, len);
	p[len] = '\0';
	rw->cell[col] = p;
	rw->len[col] = len;
}

static void set_str(struct img_table *t, struct row *rw, int col, const char *s)
{
	if (s && *s)
		set_cell(t, rw, col, s, strlen(s));
}

static void set_num(struct img_table *t, struct row *rw, int col, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	set_str(t, rw, col, buf);
}

static void set_size(struct img_table *t, struct row *rw, int col, uint64_t v)
{
	char buf[32];

	if (t->o.bytes || t->o.pairs)
		snprintf(buf, sizeof(buf), "%" PRIu64, v);
	else
		img_human_size(v, buf, sizeof(buf));
	set_str(t, rw, col, buf);
}

/*
 * Untrusted bytes: exact bytes for pairs (img_put_quoted escapes them),
 * img_safe'd for the table.
 */
static void set_untrusted(struct img_table *t, struct row *rw, int col, const char *s, size_t len)
{
	char buf[4 * TABLE_STR_MAX + 1];

	if (!len)
		return;
	if (t->o.pairs) {
		set_cell(t, rw, col, s, len);
		return;
	}
	if (img_safe(s, len, buf, sizeof(buf)) < 0 && !buf[0])
		return;
	set_str(t, rw, col, buf);
}

static void copy_name(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/* an untrusted header string from a getter into col */
static void set_getter(struct img_table *t, struct row *rw, int col,
                       int (*get)(const struct imgscan_probe *, const char **, size_t *),
                       const struct imgscan_probe *pr)
{
	const char *s;
	size_t len;

	if (get(pr, &s, &len) == 0)
		set_untrusted(t, rw, col, s, len);
}

/* a raw volume's content (libblkid) key, or its fallback key */
static void set_content(struct img_table *t, struct row *rw, int col, const struct imgscan_probe *pr,
                        const char *key, const char *fallback)
{
	const char *s = imgscan_probe_get_content(pr, key);

	if (!s && fallback)
		s = imgscan_probe_get_content(pr, fallback);
	if (s)
		set_untrusted(t, rw, col, s, strlen(s));
}

/* "a,b,c": the tokens of the image's features, then "damaged" and "ambiguous" as they apply */
static void set_features(struct img_table *t, struct row *rw, const struct imgscan_probe *pr)
{
	char buf[FEATURES_BUF];
	size_t used = 0;
	unsigned n = imgscan_probe_get_feature_count(pr);

	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		const char *tok;

		if (imgscan_probe_get_feature(pr, i, &tok, NULL, NULL, NULL) == 0)
			used = img_list_add(buf, sizeof(buf), used, tok);
	}
	if (imgscan_probe_get_damaged(pr))
		used = img_list_add(buf, sizeof(buf), used, "damaged");
	/* a footer-only candidate beside the start format: FORMAT shows the latter */
	if (imgscan_probe_has_footer_candidates(pr) == 1)
		used = img_list_add(buf, sizeof(buf), used, "ambiguous");
	set_str(t, rw, COL_FEATURES, buf);
}

/* --check: SAFE, and the failed checks' tokens (never header bytes) */
static void set_verdict(struct img_table *t, struct row *rw, const struct imgscan_probe *pr)
{
	char list[1024];
	size_t used = 0;
	int safe = imgscan_probe_is_safe(pr);
	const char *name;

	if (safe < 0)
		return;
	set_str(t, rw, COL_SAFE, safe ? "yes" : "no");
	list[0] = '\0';
	for (unsigned i = 0; (name = imgscan_check_name(i)) != NULL; i++) {
		int k;

		if (imgscan_probe_check_failed(pr, name, NULL) != 1)
			continue;
		k = snprintf(list + used, sizeof(list) - used, "%s%s", used ? "," : "", name);
		if (k < 0 || (size_t)k >= sizeof(list) - used) {
			list[used] = '\0';
			break;
		}
		used += (size_t)k;
	}
	set_str(t, rw, COL_FAILED, list);
}

static void fill_row(struct img_table *t, struct row *rw, const struct img_view *v)
{
	const struct imgscan_probe *pr = v->pr;
	const struct img_device *dev = v->dev;
	uint64_t u, size = 0;
	uint32_t u32;
	const char *s;
	size_t len;
	int b;

	set_str(t, rw, COL_NAME, v->path ? v->path : "");
	if (dev) {
		copy_name(rw->vg, sizeof(rw->vg), dev->vg);
		copy_name(rw->lv, sizeof(rw->lv), dev->lv);
		copy_name(rw->dm_name, sizeof(rw->dm_name), dev->dm_name);
		set_str(t, rw, COL_TYPE, dev->type);
		set_str(t, rw, COL_VG, dev->vg);
		set_str(t, rw, COL_LV, dev->lv);
	} else if (v->rc >= 0) {
		set_str(t, rw, COL_TYPE, "file");
	}
	if (t->o.stats || v->stats) {
		uint64_t reads = 0, bytes = 0;

		/* a failed volume: the reads made before it failed (none when it was not opened) */
		(void)imgscan_probe_get_io(pr, &reads, &bytes);
		set_num(t, rw, COL_READS, reads);
		set_num(t, rw, COL_KBYTES, (bytes + 1023) / 1024);
	}
	if (v->rc < 0) {
		const char *text = NULL;
		int err = v->rc;

		(void)imgscan_probe_get_error(pr, &err, NULL, &text);
		set_str(t, rw, COL_FORMAT, "error");
		set_str(t, rw, COL_ERROR, text ? text : strerror(err < 0 ? -err : EIO));
		if (dev && dev->size)
			set_size(t, rw, COL_SIZE, dev->size);
		return;
	}
	set_verdict(t, rw, pr);

	if (imgscan_probe_is_ambiguous(pr) == 1) {
		char buf[256];
		size_t used = (size_t)snprintf(buf, sizeof(buf), "ambiguous:");
		unsigned n = imgscan_probe_get_candidate_count(pr);

		for (unsigned i = 0; i < n && used < sizeof(buf); i++)
			used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? "," : "",
			                         imgscan_probe_get_candidate(pr, i));
		set_str(t, rw, COL_FORMAT, buf);
	} else {
		set_str(t, rw, COL_FORMAT, imgscan_probe_get_format(pr));
	}
	set_str(t, rw, COL_VER, imgscan_probe_get_version_text(pr));
	set_str(t, rw, COL_SUBFORMAT, imgscan_probe_get_subformat(pr));
	(void)imgscan_probe_get_size(pr, &size);
	set_size(t, rw, COL_VSIZE, imgscan_probe_get_virtual_size(pr, &u) == 0 ? u : size);
	set_size(t, rw, COL_SIZE, size);
	if (imgscan_probe_get_image_end_offset(pr, &u) == 0)
		set_size(t, rw, COL_USED, u);
	set_num(t, rw, COL_OFFSET, v->offset);
	if (imgscan_probe_get_cluster_size(pr, &u) == 0)
		set_size(t, rw, COL_CLUSTER, u);
	if (imgscan_probe_get_backing_file(pr, &s, &len) == 0) {
		const char *nul = memchr(s, '\0', len);
		size_t bl = nul ? (size_t)(nul - s) : len;

		set_untrusted(t, rw, COL_BACKING, s, len);
		/* the tree matches the name as qemu uses it: up to its first NUL */
		if (bl) {
			rw->backing = malloc(bl + 1);
			if (rw->backing) {
				memcpy(rw->backing, s, bl);
				rw->backing[bl] = '\0';
			} else {
				t->oom = true;
			}
		}
	}
	set_getter(t, rw, COL_BFMT, imgscan_probe_get_backing_format, pr);
	set_getter(t, rw, COL_DATAFILE, imgscan_probe_get_data_file, pr);
	if (t->need[COL_FEATURES])
		set_features(t, rw, pr);
	set_str(t, rw, COL_COMPAT, imgscan_probe_get_compat(pr));
	set_str(t, rw, COL_ENC, imgscan_probe_get_encryption(pr));
	if (v->rc == 1)
		set_str(t, rw, COL_DIRTY, imgscan_probe_is_dirty(pr) == 1 ? "1" : "0");
	/* as ID_IMAGE_CORRUPT: the bit exists in qcow2 only; elsewhere shown when set */
	b = imgscan_probe_is_corrupt(pr);
	if (b >= 0)
		set_str(t, rw, COL_CORRUPT, b ? "1" : "0");
	if (imgscan_probe_get_snapshot_count(pr, &u32) == 0)
		set_num(t, rw, COL_SNAPSHOTS, u32);
	if (imgscan_probe_get_bitmap_count(pr, &u32) == 0)
		set_num(t, rw, COL_BITMAPS, u32);
	set_str(t, rw, COL_DAMAGED, imgscan_probe_get_damaged(pr));
	set_content(t, rw, COL_CONTENT, pr, "type", "pttype");
	set_content(t, rw, COL_LABEL, pr, "label", NULL);
	set_content(t, rw, COL_UUID, pr, "uuid", "ptuuid");
}

static void free_row(struct row *rw)
{
	for (int c = 0; c < _COL_MAX; c++)
		free(rw->cell[c]);
	free(rw->backing);
}

/* ---- the table object ---------------------------------------------------------- */

struct img_table *img_table_new(const struct img_table_opts *o)
{
	struct img_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->o = *o;
	/* -P pairs are written without libsmartcols */
	if (!o->pairs && dlopen_smartcols("the table output") < 0) {
		free(t);
		return NULL;
	}
	if (select_columns(o, t->sel, &t->nsel, NULL, 0) < 0) {
		free(t);
		return NULL;
	}
	for (size_t i = 0; i < t->nsel; i++)
		t->need[t->sel[i]] = true;
	/* whether VG and LV are shown is known once every row is in (img_table_print) */
	t->need[COL_VG] = t->need[COL_LV] = true;
	return t;
}

void img_table_add(struct img_table *t, const struct img_view *v)
{
	struct row *rw;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct row *nr = realloc(t->rows, cap * sizeof(*nr));

		if (!nr) {
			t->oom = true;
			return;
		}
		t->rows = nr;
		t->cap = cap;
	}
	rw = &t->rows[t->n++];
	memset(rw, 0, sizeof(*rw));
	if (v->dev && v->dev->vg[0])
		t->saw_lv = true;
	fill_row(t, rw, v);
	/* only the selected cells are kept (NAME always: the tree shows it) */
	for (int c = 0; c < _COL_MAX; c++) {
		if (!t->need[c] && c != COL_NAME) {
			free(rw->cell[c]);
			rw->cell[c] = NULL;
		}
	}
	if (!t->o.tree) {
		free(rw->backing);
		rw->backing = NULL;
	}
}

static void print_pairs(struct img_table *t, FILE *f, const size_t *order)
{
	for (size_t k = 0; k < t->n; k++) {
		const struct row *rw = &t->rows[order ? order[k] : k];

		for (size_t i = 0; i < t->nsel; i++) {
			int c = t->sel[i];

			if (i)
				fputc(' ', f);
			fputs(cols[c].name, f);
			fputc('=', f);
			img_put_quoted(f, rw->cell[c] ? rw->cell[c] : "", rw->cell[c] ? rw->len[c] : 0);
		}
		fputc('\n', f);
	}
}

static bool utf8_locale(void)
{
	const char *cs = nl_langinfo(CODESET);

	return cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
}

/* "⟶ NAME (not found)" / "(loop)" below an image, in the tree column */
static void add_marker(struct img_table *t, struct libscols_table *tb, struct libscols_line *ln,
                       size_t treecol, const char *backing, const char *why)
{
	struct libscols_line *m = sym_scols_table_new_line(tb, ln);
	char safe[4 * TABLE_STR_MAX + 1];
	char buf[sizeof(safe) + 64];

	if (!m) {
		t->oom = true;
		return;
	}
	if (img_safe(backing, strlen(backing), safe, sizeof(safe)) < 0 && !safe[0])
		safe[0] = '\0';
	snprintf(buf, sizeof(buf), "%s %s (%s)", utf8_locale() ? "\u27f6" : "->", safe, why);
	sym_scols_line_set_data(m, treecol, buf);
}

/*
 * Tree art indents every line by its depth: a chain n images deep would
 * print O(n^2) bytes.  Every IMG_TREE_DRAW_DEPTH levels the chain starts
 * again at the left, under a line naming its backing file, so a line is
 * never wider than that many levels.
 */
#define IMG_TREE_DRAW_DEPTH 32

/* "⟶ NAME (depth N, above)" below a chain that starts again at the left */
static void add_depth_marker(struct img_table *t, struct libscols_table *tb,
                             struct libscols_line *ln, size_t treecol, const char *backing,
                             size_t depth)
{
	char why[64];

	snprintf(why, sizeof(why), "depth %zu, above", depth - 1);
	add_marker(t, tb, ln, treecol, backing ? backing : "", why);
}

static int print_scols(struct img_table *t, FILE *f, const size_t *order, const size_t *depth,
                       const long *parent, const long *loop)
{
	struct libscols_table *tb = sym_scols_new_table();
	struct libscols_line **lines = NULL;
	bool treeart = t->o.tree && !t->o.raw;
	size_t treecol = 0;
	int rc = -ENOMEM;

	if (!tb)
		return -ENOMEM;
	sym_scols_table_enable_noheadings(tb, t->o.noheadings);
	sym_scols_table_enable_raw(tb, t->o.raw);
	if (treeart) {
		for (size_t i = 0; i < t->nsel; i++) {
			if (t->sel[i] == COL_NAME) {
				treecol = i;
				break;
			}
		}
	}
	for (size_t i = 0; i < t->nsel; i++) {
		const struct colinfo *ci = &cols[t->sel[i]];
		int fl = ci->flags;

		if (treeart && i == treecol)
			fl |= SCOLS_FL_TREE;
		if (!sym_scols_table_new_column(tb, ci->name, ci->whint, fl))
			goto out;
	}
	if (treeart) {
		lines = calloc(t->n ? t->n : 1, sizeof(*lines));
		if (!lines)
			goto out;
	}
	for (size_t k = 0; k < t->n; k++) {
		size_t idx = order ? order[k] : k;
		const struct row *rw = &t->rows[idx];
		struct libscols_line *pl = NULL, *ln;
		bool restart = treeart && depth[k] && depth[k] % IMG_TREE_DRAW_DEPTH == 0;

		if (treeart && parent[idx] >= 0 && !restart)
			pl = lines[parent[idx]];
		ln = sym_scols_table_new_line(tb, pl);
		if (!ln)
			goto out;
		if (lines)
			lines[idx] = ln;
		for (size_t i = 0; i < t->nsel; i++) {
			int c = t->sel[i];

			if (rw->cell[c] && sym_scols_line_set_data(ln, i, rw->cell[c]) < 0)
				goto out;
		}
		if (restart)
			add_depth_marker(t, tb, ln, treecol, rw->backing, depth[k]);
		if (treeart && parent[idx] == IMG_TREE_NOT_FOUND && rw->backing)
			add_marker(t, tb, ln, treecol, rw->backing, "not found");
		else if (treeart && loop[idx] >= 0 && rw->backing)
			add_marker(t, tb, ln, treecol, rw->backing, "loop");
	}
	sym_scols_table_set_stream(tb, f);
	rc = sym_scols_print_table(tb);
out:
	free(lines);
	sym_scols_unref_table(tb);
	return rc;
}

int img_table_print(struct img_table *t, FILE *f)
{
	size_t *order = NULL, *depth = NULL;
	long *parent = NULL, *loop = NULL;
	struct img_tree_node *nodes = NULL;
	int rc = -ENOMEM;

	if (t->oom)
		return -ENOMEM;
	/*
	 * An LV among the rows (its facts come with its scan: a PATH's device
	 * is looked up when it is read): the default columns take VG and LV.
	 */
	if (t->saw_lv && !t->o.lvm) {
		t->o.lvm = true;
		if (select_columns(&t->o, t->sel, &t->nsel, NULL, 0) < 0)
			return -EINVAL;
	}
	if (t->o.tree && t->n) {
		nodes = calloc(t->n, sizeof(*nodes));
		parent = calloc(t->n, sizeof(*parent));
		loop = calloc(t->n, sizeof(*loop));
		order = calloc(t->n, sizeof(*order));
		depth = calloc(t->n, sizeof(*depth));
		if (!nodes || !parent || !loop || !order || !depth)
			goto out;
		for (size_t i = 0; i < t->n; i++) {
			const struct row *rw = &t->rows[i];

			nodes[i].path = rw->cell[COL_NAME] ? rw->cell[COL_NAME] : "";
			nodes[i].backing = rw->backing;
			nodes[i].vg = rw->vg;
			nodes[i].lv = rw->lv;
			nodes[i].dm_name = rw->dm_name;
		}
		if (img_tree_resolve(nodes, t->n, parent, loop) < 0 ||
		    img_tree_order(parent, t->n, order, depth) < 0)
			goto out;
	}
	if (t->o.pairs) {
		print_pairs(t, f, order);
		rc = ferror(f) ? -EIO : 0;
	} else {
		rc = print_scols(t, f, order, depth, parent, loop);
	}
	if (t->oom)
		rc = -ENOMEM;
out:
	free(nodes);
	free(parent);
	free(loop);
	free(order);
	free(depth);
	return rc;
}

void img_table_free(struct img_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free_row(&t->rows[i]);
	free(t->rows);
	free(t);
}
