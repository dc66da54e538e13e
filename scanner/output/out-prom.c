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

#include "output/prom.h"
#include "text/encode.h"

/* the largest label value: 1023 header bytes (the library's bound), each as \\xHH */
#define LABEL_MAX (5 * 1024 + 1)

/* a sample's value, or false when the image has no such value */
typedef bool (*prom_value_fn)(const struct imgscan_probe *pr, uint64_t *v);

struct prom_family {
	const char *name;
	const char *help;
	bool info; /* the descriptive labels; otherwise only path and device */
	bool raw_too; /* also for volumes without an image */
	bool failed; /* the "failed" label: the failed checks' tokens */
	prom_value_fn value;
};

/* one format claimed the volume: no candidates listed, not even footer-only ones */
static bool single(const struct imgscan_probe *pr)
{
	return imgscan_probe_get_candidate_count(pr) == 0;
}

static bool v_info(const struct imgscan_probe *pr, uint64_t *v)
{
	(void)pr;
	*v = 1;
	return true;
}

static bool v_virtual_size(const struct imgscan_probe *pr, uint64_t *v)
{
	return single(pr) && imgscan_probe_get_virtual_size(pr, v) == 0;
}

static bool v_dirty(const struct imgscan_probe *pr, uint64_t *v)
{
	int d = imgscan_probe_is_dirty(pr);

	*v = d == 1;
	return single(pr) && d >= 0;
}

/* the corrupt bit exists in qcow2 only; elsewhere a sample only when set (as --udev) */
static bool v_corrupt(const struct imgscan_probe *pr, uint64_t *v)
{
	int c = imgscan_probe_is_corrupt(pr);

	*v = c == 1;
	return single(pr) && c >= 0;
}

/* --check: 1 when a check failed */
static bool v_unsafe(const struct imgscan_probe *pr, uint64_t *v)
{
	int safe = imgscan_probe_is_safe(pr);

	*v = safe == 0;
	return safe >= 0;
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

/* an untrusted header string from a getter */
static void label_getter(FILE *f, bool *first, const char *name,
                         int (*get)(const struct imgscan_probe *, const char **, size_t *),
                         const struct imgscan_probe *pr)
{
	const char *s;
	size_t len;

	if (get(pr, &s, &len) == 0)
		label(f, first, name, s, len);
}

static void info_labels(FILE *f, bool *first, const struct img_view *v)
{
	const struct imgscan_probe *pr = v->pr;
	unsigned n = imgscan_probe_get_candidate_count(pr);
	char buf[256];
	uint32_t ver;

	if (n) {
		size_t used = 0;

		for (unsigned i = 0; i < n; i++)
			used = img_list_add(buf, sizeof(buf), used, imgscan_probe_get_candidate(pr, i));
		label(f, first, "ambiguous", buf, used);
	} else {
		label_str(f, first, "format", imgscan_probe_get_format(pr));
		if (imgscan_probe_get_version(pr, &ver) == 0) {
			snprintf(buf, sizeof(buf), "%u", (unsigned)ver);
			label_str(f, first, "format_version", buf);
		}
		label_str(f, first, "subformat", imgscan_probe_get_subformat(pr));
		label_getter(f, first, "backing", imgscan_probe_get_backing_file, pr);
		label_getter(f, first, "backing_format", imgscan_probe_get_backing_format, pr);
		label_getter(f, first, "data_file", imgscan_probe_get_data_file, pr);
		label_str(f, first, "encryption", imgscan_probe_get_encryption(pr));
	}
	if (v->dev) {
		label_str(f, first, "vg", v->dev->vg);
		label_str(f, first, "lv", v->dev->lv);
	}
	if (v->offset) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v->offset);
		label_str(f, first, "offset", buf);
	}
}

/* the failed checks' tokens, comma-separated (never header bytes) */
static void failed_list(const struct imgscan_probe *pr, char *list, size_t len)
{
	size_t used = 0;
	const char *name;

	list[0] = '\0';
	for (unsigned i = 0; (name = imgscan_check_name(i)) != NULL; i++) {
		int k;

		if (imgscan_probe_check_failed(pr, name, NULL) != 1)
			continue;
		k = snprintf(list + used, len - used, "%s%s", used ? "," : "", name);
		if (k < 0 || (size_t)k >= len - used) {
			list[used] = '\0';
			break;
		}
		used += (size_t)k;
	}
}

void img_prom_add(struct img_prom *p, const struct img_view *v)
{
	bool raw;

	p->volumes++;
	if (v->rc < 0) {
		p->errors++;
		return;
	}
	raw = v->rc == 0;
	if (!raw)
		p->images++;
	for (size_t i = 0; i < N_FAMILIES; i++) {
		FILE *f = p->fam[i].f;
		bool first = true;
		uint64_t val;

		if ((raw && !families[i].raw_too) || !families[i].value(v->pr, &val))
			continue;
		fprintf(f, "%s{", families[i].name);
		label_str(f, &first, "path", v->path);
		if (v->dev)
			label_str(f, &first, "device", v->dev->name);
		if (families[i].info)
			info_labels(f, &first, v);
		if (families[i].failed) {
			char list[1024];

			failed_list(v->pr, list, sizeof(list));
			label_str(f, &first, "failed", list);
		}
		fprintf(f, "} %llu\n", (unsigned long long)val);
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
