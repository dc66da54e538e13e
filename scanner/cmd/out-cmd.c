/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The command's outputs made from the library's facts (cmd/view.h): the
 * properties for --udev and --export, the JSON objects for --json and
 * --monitor, and the wording of failures, all given by libimgscan.so.1 for
 * the volume; the command adds what it knows of the target (the PATH, the
 * block device's sysfs and udev facts: the "device" object) and writes them
 * in its grammars.  Header strings are untrusted: each writer escapes them
 * (docs/security.md, rule 4).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/out-cmd.h"
#include "output/json-common.h"
#include "text/encode.h"

/* a path escaped by img_esc_dup for stderr, or a fixed text */
#define ESC_SHOWN(e) ((e) ? (e) : "(out of memory)")

/* ---- --udev ------------------------------------------------------------------- */

void cmd_out_udev(FILE *f, const struct img_view *v)
{
	unsigned n = v->rc < 0 ? 0 : imgscan_probe_get_property_count(v->pr);

	for (unsigned i = 0; i < n; i++) {
		const char *k, *val;
		size_t len;

		if (imgscan_probe_get_property(v->pr, i, &k, &val, &len) == 0)
			img_put_udev_line(f, k, val, len);
	}
}

/* ---- --export ----------------------------------------------------------------- */

/* the cause of v's failure in words, as --json's "error" says it */
static const char *error_words(const struct img_view *v)
{
	const char *text = NULL;
	int err = -EIO;

	if (imgscan_probe_get_error(v->pr, &err, NULL, &text) < 0)
		err = v->rc;
	return text ? text : strerror(err < 0 ? -err : err);
}

void cmd_out_export(FILE *f, const struct img_view *v, bool first)
{
	const char *path = v->path ? v->path : "";
	unsigned n;

	if (!first)
		fputc('\n', f);
	img_put_export_line(f, "DEVNAME", path, strlen(path));
	if (v->rc < 0) {
		const char *msg = error_words(v);

		img_put_export_line(f, "ID_IMAGE_ERROR", msg, strlen(msg));
		return;
	}
	/* a raw volume: its format, then (--check) its verdict */
	if (v->rc == 0)
		img_put_export_line(f, "ID_IMAGE_FORMAT", "raw", 3);
	n = imgscan_probe_get_raw_property_count(v->pr);
	for (unsigned i = 0; i < n; i++) {
		const char *k, *val;
		size_t len;

		if (imgscan_probe_get_raw_property(v->pr, i, &k, &val, &len) == 0)
			img_put_export_line(f, k, val, len);
	}
}

void cmd_out_export_cached(FILE *f, const struct img_device *d, bool first)
{
	if (!first)
		fputc('\n', f);
	img_put_export_line(f, "DEVNAME", d->node, strlen(d->node));
	for (unsigned i = 0; i < d->n_props; i++)
		img_put_export_line(f, d->props[i].key, d->props[i].value, strlen(d->props[i].value));
}

/* ---- --json -------------------------------------------------------------------- */

int cmd_out_json_begin(FILE *f)
{
	int r = dlopen_jsonc("JSON output");

	if (r < 0)
		return r;
	fputs("{\n    \"images\": [", f);
	return 0;
}

void cmd_out_json_end(FILE *f, size_t n)
{
	(void)n;
	fputs("\n    ]\n}\n", f);
}

/*
 * The "device" object as the lines of the image object that hold it
 * (4-space indentation, a comma after it: "path" comes before it and the
 * library's facts after it), malloc'ed; NULL for none.
 */
static char *device_lines(const struct img_device *d)
{
	json_object *o;
	char *buf, *inner, *end;

	if (!d || dlopen_jsonc("JSON output") < 0)
		return NULL;
	o = sym_json_object_new_object();
	if (!o)
		return NULL;
	img_json_add_device(o, d);
	/* {"device": {...}} written as the document writes an object */
	buf = img_json_object_text(o, true, "", NULL);
	sym_json_object_put(o);
	if (!buf)
		return NULL;
	/* the lines between "{" and "}", the last one followed by a comma */
	inner = strchr(buf, '\n');
	end = strrchr(buf, '\n');
	if (!inner || end <= inner) {
		free(buf);
		return NULL;
	}
	*end = ',';
	end[1] = '\0';
	memmove(buf, inner + 1, (size_t)(end - inner) + 1);
	return buf;
}

char *cmd_json_item_text(const struct img_view *v)
{
	const char *lib, *eol;
	char *dev, *out;
	size_t head, dl, tl;

	if (imgscan_probe_get_json(v->pr, &lib) < 0)
		return NULL;
	dev = device_lines(v->dev);
	/* "path" is the object's first member: the device follows it */
	eol = strchr(lib, '\n');
	eol = eol ? strchr(eol + 1, '\n') : NULL;
	if (!dev || !eol) {
		free(dev);
		return strdup(lib);
	}
	head = (size_t)(eol - lib) + 1;
	dl = strlen(dev);
	tl = strlen(eol + 1);
	out = malloc(head + dl + 1 + tl + 1);
	if (out) {
		memcpy(out, lib, head);
		memcpy(out + head, dev, dl);
		out[head + dl] = '\n';
		memcpy(out + head + dl + 1, eol + 1, tl + 1);
	}
	free(dev);
	return out;
}

/*
 * Pretty JSON text on one line: every space and newline outside a string
 * dropped (what json-c leaves out when it writes plain), in place.  Inside
 * a string json-c escapes every control byte, so a newline or space there
 * is the string's own.
 */
static void json_one_line(char *text)
{
	bool in_str = false;
	char *o = text;

	for (const char *p = text; *p; p++) {
		if (in_str) {
			*o++ = *p;
			if (*p == '\\' && p[1])
				*o++ = *++p;
			else if (*p == '"')
				in_str = false;
		} else if (*p != ' ' && *p != '\n') {
			in_str = *p == '"';
			*o++ = *p;
		}
	}
	*o = '\0';
}

char *cmd_json_item_line(const struct img_view *v)
{
	char *text = cmd_json_item_text(v);

	if (text)
		json_one_line(text);
	return text;
}

void cmd_out_json_item(FILE *f, const struct img_view *v, bool first)
{
	char *text = cmd_json_item_text(v);

	if (!text)
		return;
	fputs(first ? "\n" : ",\n", f);
	/* inside the document's "images" array: every line 8 spaces further in */
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) + 1 : strlen(p);

		fputs("        ", f);
		fwrite(p, 1, len, f);
		p += len;
	}
	free(text);
}

/* ---- stderr ---------------------------------------------------------------------- */

void cmd_report_error(const struct img_view *v)
{
	const char *msg = imgscan_probe_strerror(v->pr);

	if (msg) {
		fprintf(stderr, "imgscan: %s\n", msg);
	} else {
		char *ep = img_esc_dup(v->path);

		fprintf(stderr, "imgscan: %s: cannot probe: %s\n", ESC_SHOWN(ep), strerror(-v->rc));
		free(ep);
	}
}

void cmd_say_read(const struct img_view *v)
{
	uint64_t reads = 0, bytes = 0;
	int mode = imgscan_probe_get_read_mode(v->pr);
	int crc = imgscan_probe_get_content_error(v->pr);
	char *ep;

	if (v->rc < 0)
		return;
	ep = img_esc_dup(v->path);
	if (mode > 0 && imgscan_probe_get_io(v->pr, &reads, &bytes) == 0)
		fprintf(stderr, "imgscan: %s: %" PRIu64 " read(s), %" PRIu64 " bytes, %s%s\n",
		        ESC_SHOWN(ep), reads, bytes, mode == IMGSCAN_READ_DIRECT ? "O_DIRECT" : "buffered",
		        mode == IMGSCAN_READ_DIRECT_REFUSED
		                ? " (O_DIRECT refused, fell back to buffered reads)"
		                : "");
	if (crc < 0)
		fprintf(stderr, "imgscan: %s: content not probed: %s\n", ESC_SHOWN(ep), strerror(-crc));
	free(ep);
}
