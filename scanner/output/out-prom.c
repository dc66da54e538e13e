/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --prometheus: the Prometheus text exposition format, as node_exporter's
 * textfile collector reads it (docs/metrics.md).  The format wants every
 * sample of a metric family together, after its HELP and TYPE lines, while
 * the scan delivers one volume at a time: each family collects its samples
 * in a memory stream and img_prom_print writes them family by family.
 *
 * Every image gets an imgscan_image_info sample (value 1) carrying the
 * descriptive labels; the other image series carry the identifying labels
 * only (path, device), so they join on them.  A volume without an image
 * (raw) gets no series; a volume that could not be probed counts in
 * imgscan_scan_errors_total.  A volume two formats claim gets an info
 * sample with "ambiguous" and no format, and no other series, as --udev.
 * Under --check every probed volume, raw ones included (a raw volume can
 * fail format-mismatch or partition-table), gets imgscan_image_unsafe,
 * with the failed checks' tokens as the "failed" label.
 *
 * A new per-image metric is one entry in families[] below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"

/* the largest label value: IMG_STR_MAX-1 header bytes, each as \\xHH */
#define LABEL_MAX (5 * IMG_STR_MAX + 1)

/* a sample's value, or false when the image has no such value */
typedef bool (*prom_value_fn)(const struct img_scan *s, uint64_t *v);

struct prom_family {
	const char *name;
	const char *help;
	bool info; /* the descriptive labels; otherwise only path and device */
	bool raw_too; /* also for volumes without an image */
	bool failed; /* the "failed" label: the failed checks' tokens */
	prom_value_fn value;
};

static bool v_info(const struct img_scan *s, uint64_t *v)
{
	(void)s;
	*v = 1;
	return true;
}

static bool v_virtual_size(const struct img_scan *s, uint64_t *v)
{
	*v = s->res->virtual_size;
	return s->res->n_candidates <= 1 && s->res->has_virtual_size;
}

static bool v_dirty(const struct img_scan *s, uint64_t *v)
{
	*v = s->res->dirty;
	return s->res->n_candidates <= 1 && !s->res->no_dirty_flag;
}

/* the corrupt bit exists in qcow2 only; elsewhere a sample only when set (as --udev) */
static bool v_corrupt(const struct img_scan *s, uint64_t *v)
{
	*v = s->res->corrupt;
	return s->res->n_candidates <= 1 && (s->res->format == IMG_FMT_QCOW2 || s->res->corrupt);
}

/* --check: 1 when a check failed */
static bool v_unsafe(const struct img_scan *s, uint64_t *v)
{
	*v = !s->verdict.safe;
	return s->checked;
}

static const struct prom_family families[] = {
	{ .name = "imgscan_image_info",
	  .help = "A disk image imgscan found; its labels say what the header declares.",
	  .info = true,
	  .value = v_info },
	{ .name = "imgscan_image_virtual_size_bytes",
	  .help = "The disk size the guest sees, in bytes.",
	  .value = v_virtual_size },
	{ .name = "imgscan_image_dirty",
	  .help = "1 when the image's dirty flag is set (not closed cleanly).",
	  .value = v_dirty },
	{ .name = "imgscan_image_corrupt",
	  .help = "1 when the image's corrupt bit is set (qcow2).",
	  .value = v_corrupt },
	{ .name = "imgscan_image_unsafe",
	  .help = "--check: 1 when the volume failed a safety check (label failed: which ones).",
	  .raw_too = true,
	  .failed = true,
	  .value = v_unsafe },
};
#define N_FAMILIES (sizeof(families) / sizeof(families[0]))

struct img_prom {
	struct {
		char *buf;
		size_t len;
		FILE *f;
	} fam[N_FAMILIES];
	unsigned errors;
	unsigned volumes;
	unsigned images;
};

struct img_prom *img_prom_new(void)
{
	struct img_prom *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	for (size_t i = 0; i < N_FAMILIES; i++) {
		p->fam[i].f = open_memstream(&p->fam[i].buf, &p->fam[i].len);
		if (!p->fam[i].f) {
			img_prom_free(p);
			return NULL;
		}
	}
	return p;
}

void img_prom_free(struct img_prom *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < N_FAMILIES; i++) {
		if (p->fam[i].f)
			fclose(p->fam[i].f);
		free(p->fam[i].buf);
	}
	free(p);
}

/* ,name="value" with value escaped; nothing for an empty value (Prometheus: absent) */
static void label(FILE *f, bool *first, const char *name, const char *val, size_t len)
{
	char buf[LABEL_MAX];

	if (!val || !len)
		return;
	if (img_prom_label(val, len, buf, sizeof(buf)) < 0)
		return; /* cannot happen: LABEL_MAX holds the longest header string */
	fprintf(f, "%s%s=\"%s\"", *first ? "" : ",", name, buf);
	*first = false;
}

static void label_str(FILE *f, bool *first, const char *name, const char *val)
{
	label(f, first, name, val, val ? strlen(val) : 0);
}

static void label_bytes(FILE *f, bool *first, const char *name, const struct img_bytes *b)
{
	if (b->present)
		label(f, first, name, b->data, b->len);
}

static void info_labels(FILE *f, bool *first, const struct img_scan *s)
{
	const struct img_result *res = s->res;
	const struct img_device *d = s->dev;
	char buf[256];

	if (res->n_candidates > 1) {
		size_t used = 0;
		unsigned n = res->n_candidates < _IMG_FMT_MAX ? res->n_candidates : _IMG_FMT_MAX;

		for (unsigned i = 0; i < n; i++) {
			const char *name = (unsigned)res->candidates[i] < _IMG_FMT_MAX ?
			                           img_format_name(res->candidates[i]) : NULL;
			size_t len = name ? strlen(name) : 0;

			if (!len || len + 2 > sizeof(buf) - used)
				continue;
			if (used)
				buf[used++] = ',';
			memcpy(buf + used, name, len);
			used += len;
		}
		label(f, first, "ambiguous", buf, used);
	} else {
		label_str(f, first, "format", img_format_name(res->format));
		if (res->has_version) {
			snprintf(buf, sizeof(buf), "%u", (unsigned)res->version);
			label_str(f, first, "format_version", buf);
		}
		label_str(f, first, "subformat", res->subformat);
		label_bytes(f, first, "backing", &res->backing_file);
		label_bytes(f, first, "backing_format", &res->backing_format);
		label_bytes(f, first, "data_file", &res->data_file);
		if (res->encryption == IMG_ENC_AES)
			label_str(f, first, "encryption", "aes");
		else if (res->encryption == IMG_ENC_LUKS)
			label_str(f, first, "encryption", "luks");
	}
	if (d) {
		label_str(f, first, "vg", d->vg);
		label_str(f, first, "lv", d->lv);
	}
	if (s->offset) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)s->offset);
		label_str(f, first, "offset", buf);
	}
}

void img_prom_add(struct img_prom *p, const struct img_scan *s)
{
	bool raw;

	p->volumes++;
	if (s->error) {
		p->errors++;
		return;
	}
	if (!s->res)
		return;
	raw = s->res->format == IMG_FMT_RAW || (unsigned)s->res->format >= _IMG_FMT_MAX;
	if (!raw)
		p->images++;
	for (size_t i = 0; i < N_FAMILIES; i++) {
		FILE *f = p->fam[i].f;
		bool first = true;
		uint64_t v;

		if ((raw && !families[i].raw_too) || !families[i].value(s, &v))
			continue;
		fprintf(f, "%s{", families[i].name);
		label_str(f, &first, "path", s->path);
		if (s->dev)
			label_str(f, &first, "device", s->dev->name);
		if (families[i].info)
			info_labels(f, &first, s);
		if (families[i].failed) {
			char list[IMG_CHECK_LIST_MAX];

			img_verdict_list(&s->verdict, list, sizeof(list));
			label_str(f, &first, "failed", list);
		}
		fprintf(f, "} %llu\n", (unsigned long long)v);
	}
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int img_prom_print(struct img_prom *p, FILE *f, double duration_sec)
{
	for (size_t i = 0; i < N_FAMILIES; i++) {
		if (fflush(p->fam[i].f) != 0)
			return -1;
		/* a family without samples (imgscan_image_unsafe without --check) is left out */
		if (p->fam[i].len == 0)
			continue;
		header(f, families[i].name, "gauge", families[i].help);
		fwrite(p->fam[i].buf, 1, p->fam[i].len, f);
	}
	header(f, "imgscan_scan_volumes", "gauge", "Volumes this scan looked at.");
	fprintf(f, "imgscan_scan_volumes %u\n", p->volumes);
	header(f, "imgscan_scan_errors_total", "counter",
	       "Volumes this scan could not probe (imgscan -v and its stderr say why).");
	fprintf(f, "imgscan_scan_errors_total %u\n", p->errors);
	header(f, "imgscan_scan_duration_seconds", "gauge", "How long the scan took, in seconds.");
	fprintf(f, "imgscan_scan_duration_seconds %.6f\n", duration_sec);
	return ferror(f) ? -1 : 0;
}
