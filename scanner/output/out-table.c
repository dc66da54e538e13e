/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The default human output: an lsblk-like table through libsmartcols.
 * Header strings are shown through img_safe() (no control characters reach
 * the terminal).
 */
#include <inttypes.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/table.h"

enum {
	COL_NAME,
	COL_FORMAT,
	COL_VER,
	COL_VSIZE,
	COL_SIZE,
	COL_CLUSTER,
	COL_BACKING,
	COL_BFMT,
	COL_FEATURES,
	COL_ENC,
	COL_CONTENT,
	COL_VG,
	COL_LV,
	COL_READS,
	COL_KBYTES,
	_COL_MAX,
};

struct colinfo {
	const char *name;
	double whint;
	int flags;
};

static const struct colinfo cols[_COL_MAX] = {
	[COL_NAME] = { .name = "NAME", .whint = 0.25, .flags = SCOLS_FL_NOEXTREMES },
	[COL_FORMAT] = { .name = "FORMAT", .whint = 0.1 },
	[COL_VER] = { .name = "VER", .whint = 0.05 },
	[COL_VSIZE] = { .name = "VSIZE", .whint = 6, .flags = SCOLS_FL_RIGHT },
	[COL_SIZE] = { .name = "SIZE", .whint = 6, .flags = SCOLS_FL_RIGHT },
	[COL_CLUSTER] = { .name = "CLUSTER", .whint = 6, .flags = SCOLS_FL_RIGHT },
	[COL_BACKING] = { .name = "BACKING", .whint = 0.2, .flags = SCOLS_FL_TRUNC },
	[COL_BFMT] = { .name = "BFMT", .whint = 0.05 },
	[COL_FEATURES] = { .name = "FEATURES", .whint = 0.2, .flags = SCOLS_FL_WRAP },
	[COL_ENC] = { .name = "ENC", .whint = 0.05 },
	[COL_CONTENT] = { .name = "CONTENT", .whint = 0.1 },
	[COL_VG] = { .name = "VG", .whint = 0.1 },
	[COL_LV] = { .name = "LV", .whint = 0.1 },
	[COL_READS] = { .name = "READS", .whint = 5, .flags = SCOLS_FL_RIGHT },
	[COL_KBYTES] = { .name = "KBYTES", .whint = 6, .flags = SCOLS_FL_RIGHT },
};

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

static void set_size(struct libscols_line *ln, int col, uint64_t v, const struct img_table_opts *o)
{
	char buf[32];

	if (o->bytes)
		snprintf(buf, sizeof(buf), "%" PRIu64, v);
	else
		img_human_size(v, buf, sizeof(buf));
	scols_line_set_data(ln, col, buf);
}

static void set_untrusted(struct libscols_line *ln, int col, const char *s, size_t len)
{
	char buf[4 * IMG_STR_MAX + 1];

	if (img_safe(s, len, buf, sizeof(buf)) < 0 && !buf[0])
		return;
	scols_line_set_data(ln, col, buf);
}

static void features_string(const struct img_result *r, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < r->n_features; i++) {
		char tok[128];
		size_t tl;

		if (img_feature_token(&r->features[i], tok, sizeof(tok)) < 0)
			continue;
		tl = strlen(tok);
		if (used + tl + 2 > len)
			break;
		if (used)
			buf[used++] = ',';
		memcpy(buf + used, tok, tl + 1);
		used += tl;
	}
}

static void add_row(struct libscols_table *tb, const struct img_scan *s,
                    const struct img_table_opts *o)
{
	struct libscols_line *ln = scols_table_new_line(tb, NULL);
	const struct img_result *r = s->res;
	char buf[64 * IMG_MAX_FEATURES];

	if (!ln)
		return;
	scols_line_set_data(ln, COL_NAME, s->path);
	if (s->dev && s->dev->vg[0])
		scols_line_set_data(ln, COL_VG, s->dev->vg);
	if (s->dev && s->dev->lv[0])
		scols_line_set_data(ln, COL_LV, s->dev->lv);
	if (s->error) {
		scols_line_set_data(ln, COL_FORMAT, "error");
		return;
	}
	if (r->n_candidates > 1) {
		size_t used = 0;

		used += (size_t)snprintf(buf, sizeof(buf), "ambiguous:");
		for (unsigned i = 0; i < r->n_candidates && used < sizeof(buf); i++)
			used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? "," : "",
			                         img_format_name(r->candidates[i]));
		scols_line_set_data(ln, COL_FORMAT, buf);
	} else {
		scols_line_set_data(ln, COL_FORMAT, img_format_name(r->format));
	}
	if (r->has_version) {
		snprintf(buf, sizeof(buf), "%" PRIu32, r->version);
		scols_line_set_data(ln, COL_VER, buf);
	}
	set_size(ln, COL_VSIZE, r->has_virtual_size ? r->virtual_size : s->size, o);
	set_size(ln, COL_SIZE, s->size, o);
	if (r->cluster_size)
		set_size(ln, COL_CLUSTER, r->cluster_size, o);
	if (r->backing_file.present)
		set_untrusted(ln, COL_BACKING, r->backing_file.data, r->backing_file.len);
	if (r->backing_format.present)
		set_untrusted(ln, COL_BFMT, r->backing_format.data, r->backing_format.len);
	features_string(r, buf, sizeof(buf));
	if (r->damaged)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%sdamaged", buf[0] ? "," : "");
	if (buf[0])
		scols_line_set_data(ln, COL_FEATURES, buf);
	if (r->encryption)
		scols_line_set_data(ln, COL_ENC, r->encryption == IMG_ENC_AES ? "aes" : "luks");
	if (s->content.present)
		set_untrusted(ln, COL_CONTENT, s->content.type[0] ? s->content.type : s->content.pttype,
		              strlen(s->content.type[0] ? s->content.type : s->content.pttype));
	if (o->stats) {
		snprintf(buf, sizeof(buf), "%u", s->stats.reads);
		scols_line_set_data(ln, COL_READS, buf);
		snprintf(buf, sizeof(buf), "%" PRIu64, (s->stats.bytes + 1023) / 1024);
		scols_line_set_data(ln, COL_KBYTES, buf);
	}
}

struct img_table {
	struct libscols_table *tb;
	struct img_table_opts o;
};

struct img_table *img_table_new(const struct img_table_opts *o)
{
	struct img_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->o = *o;
	t->tb = scols_new_table();
	if (!t->tb)
		goto fail;
	scols_table_enable_noheadings(t->tb, o->noheadings);
	scols_table_enable_raw(t->tb, o->raw);
	for (int i = 0; i < _COL_MAX; i++) {
		struct libscols_column *cl = scols_table_new_column(t->tb, cols[i].name, cols[i].whint,
		                                                    cols[i].flags);

		if (!cl)
			goto fail;
		/* keep column indexes stable: unwanted columns are hidden */
		if ((i == COL_READS || i == COL_KBYTES) && !o->stats)
			scols_column_set_flags(cl, SCOLS_FL_HIDDEN);
		if ((i == COL_VG || i == COL_LV) && !o->lvm)
			scols_column_set_flags(cl, SCOLS_FL_HIDDEN);
	}
	return t;
fail:
	img_table_free(t);
	return NULL;
}

void img_table_add(struct img_table *t, const struct img_scan *s)
{
	add_row(t->tb, s, &t->o);
}

int img_table_print(struct img_table *t, FILE *f)
{
	scols_table_set_stream(t->tb, f);
	return scols_print_table(t->tb);
}

void img_table_free(struct img_table *t)
{
	if (!t)
		return;
	scols_unref_table(t->tb);
	free(t);
}

int img_out_table(FILE *f, const struct img_scan *const *scans, size_t n,
                  const struct img_table_opts *o)
{
	struct img_table *t = img_table_new(o);
	int rc;

	if (!t)
		return -1;
	for (size_t i = 0; i < n; i++)
		img_table_add(t, scans[i]);
	rc = img_table_print(t, f);
	img_table_free(t);
	return rc;
}
