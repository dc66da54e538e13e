/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --prometheus (output/out-prom.c): the metrics of volumes the library
 * probed (libimgscan.so.1's getters) and the command's facts about them:
 * a golden text for an image on an LV, a vmdk, a polyglot, a raw volume
 * and a volume that could not be probed; and every hostile header name as
 * a backing file: each sample line parses, no byte raw.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "output/prom.h"
#include "testutil.h"

struct mem {
	char *buf;
	size_t len;
	FILE *f;
};

/* fixture NAME, NUL-terminated (testutil's t_fixture) */
static char *slurp(const char *name, size_t *len)
{
	return (char *)t_fixture(name, len);
}

/* a probe handle run on fixture NAME's .head (and .size) as a memory volume */
static struct imgscan_probe *probe_fixture(const char *name, int *rc, char **keep)
{
	struct imgscan_probe *pr = imgscan_probe_new();
	char fn[256], *sz;
	size_t hl, sl;

	assert_non_null(pr);
	snprintf(fn, sizeof(fn), "%s.head", name);
	*keep = slurp(fn, &hl);
	snprintf(fn, sizeof(fn), "%s.size", name);
	sz = slurp(fn, &sl);
	assert_int_equal(imgscan_probe_set_flags(pr, IMGSCAN_PROBE_NO_CONTENT_SIGNATURES), 0);
	assert_int_equal(imgscan_probe_set_buffer(pr, *keep, hl, NULL, 0, strtoull(sz, NULL, 10)), 0);
	free(sz);
	*rc = imgscan_probe_run(pr);
	return pr;
}

/*
 * A real qcow2 header (qemu-img's, fixtures/qcow2-v3-backing) whose backing
 * file name is replaced by name (len bytes, any bytes, at most 1023)
 */
static struct imgscan_probe *probe_backing(const char *name, size_t len, int *rc, char **keep)
{
	struct imgscan_probe *pr = imgscan_probe_new();
	size_t hl, sl;
	char *sz;
	unsigned char *h;
	uint64_t off = 0;

	assert_non_null(pr);
	*keep = slurp("qcow2-v3-backing.head", &hl);
	sz = slurp("qcow2-v3-backing.size", &sl);
	h = (unsigned char *)*keep;
	for (int i = 8; i < 16; i++)
		off = off << 8 | h[i];
	assert_true(off + len <= hl);
	memset(h + off, 0, hl - off);
	memcpy(h + off, name, len);
	h[16] = (unsigned char)(len >> 24);
	h[17] = (unsigned char)(len >> 16);
	h[18] = (unsigned char)(len >> 8);
	h[19] = (unsigned char)len;
	assert_int_equal(imgscan_probe_set_flags(pr, IMGSCAN_PROBE_NO_CONTENT_SIGNATURES), 0);
	assert_int_equal(imgscan_probe_set_buffer(pr, *keep, hl, NULL, 0, strtoull(sz, NULL, 10)), 0);
	free(sz);
	*rc = imgscan_probe_run(pr);
	return pr;
}

static char *prom_text(const struct img_view *v, size_t n)
{
	struct img_prom *p = img_prom_new();
	struct mem m = { 0 };

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		img_prom_add(p, &v[i]);
	m.f = open_memstream(&m.buf, &m.len);
	assert_non_null(m.f);
	assert_int_equal(img_prom_print(p, m.f, 0.25), 0);
	img_prom_free(p);
	assert_int_equal(fclose(m.f), 0);
	return m.buf;
}

static void test_prom_golden(void **state)
{
	struct img_device dev = { 0 };
	struct img_view v[5] = { { 0 } };
	char *keep[4], *out;
	char zero[4096] = { 0 }, gone[PATH_MAX];
	struct imgscan_probe *raw = imgscan_probe_new(), *err = imgscan_probe_new();

	(void)state;
	strcpy(dev.name, "dm-3");
	strcpy(dev.vg, "vg0");
	strcpy(dev.lv, "disk\"1");
	v[0].pr = probe_backing("base\n\"x\"\\\xff", 10, &v[0].rc, &keep[0]);
	v[0].path = "/dev/vg0/disk\"1";
	v[0].dev = &dev;
	v[1].pr = probe_fixture("vmdk-compat6-100M", &v[1].rc, &keep[1]);
	v[1].path = "/srv/a.vmdk";
	assert_int_equal(imgscan_probe_set_buffer(raw, zero, sizeof(zero), NULL, 0, sizeof(zero)), 0);
	v[2].pr = raw;
	v[2].rc = imgscan_probe_run(raw);
	v[2].path = "/srv/raw";
	/* a polyglot (ISO 9660 and qcow2): no format, "ambiguous" */
	{
		struct imgscan_probe *pr = imgscan_probe_new();
		size_t hl, sl;
		char *sz;

		keep[2] = slurp("iso-qcow2-polyglot.head", &hl);
		sz = slurp("iso-qcow2-polyglot.size", &sl);
		assert_int_equal(imgscan_probe_set_buffer(pr, keep[2], hl, NULL, 0,
		                                          strtoull(sz, NULL, 10)), 0);
		free(sz);
		v[3].rc = imgscan_probe_run(pr);
		v[3].pr = pr;
		v[3].path = "/srv/poly";
		v[3].offset = 512;
	}
	snprintf(gone, sizeof(gone), "%s/gone", FIXTURES_DIR);
	assert_int_equal(imgscan_probe_set_path(err, gone, 0), 0);
	v[4].rc = imgscan_probe_run(err);
	v[4].pr = err;
	v[4].path = "/srv/gone";
	keep[3] = NULL;
	assert_int_equal(v[0].rc, 1);
	assert_int_equal(v[1].rc, 1);
	assert_int_equal(v[2].rc, 0);
	assert_int_equal(v[3].rc, 1);
	assert_int_equal(v[4].rc, -ENOENT);

	out = prom_text(v, 5);
	assert_string_equal(
	        out,
	        "# HELP imgscan_image_info A disk image imgscan found; its labels say what the header declares.\n"
	        "# TYPE imgscan_image_info gauge\n"
	        "imgscan_image_info{path=\"/dev/vg0/disk\\\"1\",device=\"dm-3\",format=\"qcow2\","
	        "format_version=\"3\",backing=\"base\\n\\\"x\\\"\\\\\\\\xff\",backing_format=\"raw\","
	        "vg=\"vg0\",lv=\"disk\\\"1\"} 1\n"
	        "imgscan_image_info{path=\"/srv/a.vmdk\",format=\"vmdk\",format_version=\"1\","
	        "subformat=\"monolithicSparse\"} 1\n"
	        "imgscan_image_info{path=\"/srv/poly\",ambiguous=\"qcow2,iso\",offset=\"512\"} 1\n"
	        "# HELP imgscan_image_virtual_size_bytes The disk size the guest sees, in bytes.\n"
	        "# TYPE imgscan_image_virtual_size_bytes gauge\n"
	        "imgscan_image_virtual_size_bytes{path=\"/dev/vg0/disk\\\"1\",device=\"dm-3\"} 67108864\n"
	        "imgscan_image_virtual_size_bytes{path=\"/srv/a.vmdk\"} 104857600\n"
	        "# HELP imgscan_image_dirty 1 when the image's dirty flag is set (not closed cleanly).\n"
	        "# TYPE imgscan_image_dirty gauge\n"
	        "imgscan_image_dirty{path=\"/dev/vg0/disk\\\"1\",device=\"dm-3\"} 0\n"
	        "imgscan_image_dirty{path=\"/srv/a.vmdk\"} 0\n"
	        "# HELP imgscan_image_corrupt 1 when the image's corrupt bit is set (qcow2).\n"
	        "# TYPE imgscan_image_corrupt gauge\n"
	        "imgscan_image_corrupt{path=\"/dev/vg0/disk\\\"1\",device=\"dm-3\"} 0\n"
	        "# HELP imgscan_scan_volumes Volumes this scan looked at.\n"
	        "# TYPE imgscan_scan_volumes gauge\n"
	        "imgscan_scan_volumes 5\n"
	        "# HELP imgscan_scan_errors_total Volumes this scan could not probe (imgscan -v and its stderr say why).\n"
	        "# TYPE imgscan_scan_errors_total counter\n"
	        "imgscan_scan_errors_total 1\n"
	        "# HELP imgscan_scan_duration_seconds How long the scan took, in seconds.\n"
	        "# TYPE imgscan_scan_duration_seconds gauge\n"
	        "imgscan_scan_duration_seconds 0.250000\n");
	free(out);

	/* --check: every probed volume gets imgscan_image_unsafe, raw ones too */
	{
		struct imgscan_policy *pol = imgscan_policy_new();

		assert_int_equal(imgscan_policy_expect_format(pol, "qcow2"), 0);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(imgscan_probe_set_policy((struct imgscan_probe *)v[i].pr, pol), 0);
			assert_int_equal(imgscan_probe_run((struct imgscan_probe *)v[i].pr), v[i].rc);
		}
		imgscan_policy_free(pol);
		out = prom_text(v, 3);
		assert_non_null(strstr(out, "imgscan_image_unsafe{path=\"/dev/vg0/disk\\\"1\",device=\"dm-3\","
		                            "failed=\"backing-file\"} 1\n"));
		assert_non_null(strstr(out, "imgscan_image_unsafe{path=\"/srv/a.vmdk\","
		                            "failed=\"format-mismatch\"} 1\n"));
		assert_non_null(strstr(out, "imgscan_image_unsafe{path=\"/srv/raw\",failed=\"format-mismatch\"} 1\n"));
		free(out);
	}
	for (int i = 0; i < 5; i++)
		imgscan_probe_free((struct imgscan_probe *)v[i].pr);
	for (int i = 0; i < 4; i++)
		free(keep[i]);
}

#define H(s) { s, sizeof(s) - 1 }
static const struct {
	const char *bytes;
	size_t len;
} hostile_names[] = {
	H("evil\nID_IMAGE_FORMAT=raw"), H("a\rb\tc"), H("\"quoted\""), H("$(touch PWNED)"),
	H("back\\slash\\x41\\"), H("\xff\xfe"), H("trunc\xc3"), H("caf\xc3\xa9"),
	H("nul\0inside"), H("\x1b]0;title\x07\x7f"), H("csi\xc2\x9b" "31m"),
	H("\xc2\x80\xc2\x9f\x7f"), H("surrogate\xed\xa0\x80"), H("overlong\xc0\xaf\xe0\x80\xaf"),
};

/* a label value: from after its opening quote to the closing one; only \\, \" and \n escaped */
static size_t value_len(const char *v)
{
	size_t i = 0;

	while (v[i] && v[i] != '"') {
		if (v[i] == '\\') {
			assert_non_null(strchr("\\\"n", v[i + 1]));
			assert_true(v[i + 1] != '\0');
			i += 2;
		} else {
			i++;
		}
	}
	assert_int_equal(v[i], '"');
	return i;
}

/* every hostile name as a backing file: every sample line parses, no control byte, valid UTF-8 */
static void test_prom_hostile(void **state)
{
	(void)state;
	for (size_t h = 0; h < sizeof(hostile_names) / sizeof(hostile_names[0]); h++) {
		struct img_view v = { .path = "/dev/x" };
		char *keep, *out, *line, *save = NULL;
		unsigned samples = 0;

		v.pr = probe_backing(hostile_names[h].bytes, hostile_names[h].len, &v.rc, &keep);
		assert_int_equal(v.rc, 1);
		out = prom_text(&v, 1);
		for (const unsigned char *p = (const unsigned char *)out; *p; p++)
			assert_true(*p >= 0x20 || *p == '\n');
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *p;

			assert_null(strstr(line, "\xc2\x80"));
			assert_null(strstr(line, "\x7f"));
			if (line[0] == '#')
				continue;
			samples++;
			p = strchr(line, '{');
			if (!p)
				continue;
			p++;
			while (*p != '}') {
				while ((*p >= 'a' && *p <= 'z') || *p == '_')
					p++;
				assert_int_equal(*p, '=');
				assert_int_equal(p[1], '"');
				p += 2;
				p += value_len(p) + 1;
				if (*p == ',')
					p++;
			}
			assert_true(strcmp(p, "} 1") == 0 || strcmp(p, "} 0") == 0 ||
			            strcmp(p, "} 67108864") == 0);
		}
		/* info, virtual size, dirty, corrupt, and the three scan series */
		assert_int_equal(samples, 7);
		free(out);
		free(keep);
		imgscan_probe_free((struct imgscan_probe *)v.pr);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prom_golden),
		cmocka_unit_test(test_prom_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
