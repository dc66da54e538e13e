/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Outputs and their escaping: img_enc/img_safe against libblkid's
 * blkid_encode_string/blkid_safe_string byte for byte, golden --udev,
 * --export and --json strings, and hostile names (docs/udev.md, "Property
 * names and how values are encoded"; docs/security.md, rule 4): every
 * --udev line must match
 * ^[A-Z_]+=[^\x00-\x1f\x7f]*$, every --export document must survive `eval` in
 * /bin/sh without running anything and give back the exact bytes after one
 * \xHH decoding pass, and JSON must parse back with json-c and be valid UTF-8.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <json-c/json.h>

#include "dl/dl-jsonc.h"
#include "output/out-json.h"
#include "output/output.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

/*
 * malloc, wrapped (-Wl,--wrap=malloc in tests/Makefile-tests.am), so that a
 * test can make every allocation above malloc_fail_over bytes fail (0: none
 * fails); malloc_failed counts the refusals.
 */
void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
static size_t malloc_fail_over;
static unsigned malloc_failed;

void *__wrap_malloc(size_t size)
{
	if (malloc_fail_over && size > malloc_fail_over) {
		malloc_failed++;
		return NULL;
	}
	return __real_malloc(size);
}

struct mem {
	char *buf;
	size_t len;
	FILE *f;
};

static FILE *mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	return m->f;
}

static char *mem_close(struct mem *m, size_t *len)
{
	assert_int_equal(fclose(m->f), 0);
	if (len)
		*len = m->len;
	return m->buf;
}

static char *udev_str(const struct img_scan *s, size_t *len)
{
	struct mem m;

	img_out_udev(mem_open(&m), s);
	return mem_close(&m, len);
}

static char *export_str(const struct img_scan *s, bool first)
{
	struct mem m;

	img_out_export(mem_open(&m), s, first);
	return mem_close(&m, NULL);
}

static char *json_str(const struct img_scan *const *scans, size_t n)
{
	struct mem m;

	img_out_json(mem_open(&m), scans, n);
	return mem_close(&m, NULL);
}

/* decode \xHH (the only escape our outputs write) */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static size_t unhex(const char *s, size_t len, char *out)
{
	size_t i = 0, j = 0;

	while (i < len) {
		if (s[i] == '\\' && len - i >= 4 && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 &&
		    hexval(s[i + 3]) >= 0) {
			out[j++] = (char)(hexval(s[i + 2]) << 4 | hexval(s[i + 3]));
			i += 4;
		} else {
			out[j++] = s[i++];
		}
	}
	return j;
}

/* strict RFC 3629 check */
static bool valid_utf8(const char *str, size_t len)
{
	const uint8_t *s = (const uint8_t *)str;

	for (size_t i = 0; i < len;) {
		uint8_t c = s[i];
		size_t n;
		uint32_t u, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 2, u = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			n = 3, u = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4, u = c & 0x07, min = 0x10000;
		else
			return false;
		if (n > len - i)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			u = u << 6 | (s[i + k] & 0x3fu);
		}
		if (u < min || u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff))
			return false;
		i += n;
	}
	return true;
}

/* a qcow2 result with every field set */
static struct img_result *full_result(void)
{
	struct img_result *res = t_result_new();
	struct img_feature *f;

	img_result_init(res, IMG_FMT_QCOW2);
	res->has_version = true;
	res->version = 3;
	res->has_virtual_size = true;
	res->virtual_size = 1073741824;
	res->cluster_size = 65536;
	res->header_length = 112;
	res->compat = "1.1";
	img_add_feature(res, IMG_FEAT_INCOMPATIBLE, 0, "dirty");
	img_add_feature(res, IMG_FEAT_COMPATIBLE, 0, "lazy_refcounts");
	img_add_feature(res, IMG_FEAT_INCOMPATIBLE, 7, NULL);
	f = img_find_feature(res, IMG_FEAT_INCOMPATIBLE, 7);
	assert_non_null(f);
	memcpy(f->table_name, "x\n$(id)\xff", 8);
	f->table_name_len = 8;
	img_add_feature(res, IMG_FEAT_AUTOCLEAR, 63, NULL);
	img_bytes_set(&res->backing_file, "base image.qcow2", 16);
	img_bytes_set(&res->backing_format, "qcow2", 5);
	img_bytes_set(&res->data_file, "data.raw", 8);
	res->encryption = IMG_ENC_LUKS;
	res->dirty = true;
	res->has_snapshots = true;
	res->snapshots = 2;
	res->has_bitmaps = true;
	res->bitmaps = 1;
	img_set_damaged(res, "Unsupported cluster size");
	res->n_candidates = 2;
	res->candidates[0] = IMG_FMT_QCOW2;
	res->candidates[1] = IMG_FMT_VMDK;
	img_spec_begin(res, "qcow2");
	img_spec_cstr(res, "compat", "1.1");
	img_spec_cstr(res, "compression-type", "zlib");
	img_spec_bool(res, "lazy-refcounts", true);
	img_spec_uint(res, "refcount-bits", 16);
	img_spec_arr(res, "bitmaps");
	img_spec_obj(res, NULL);
	img_spec_str(res, "name", "b\x01\xff", 3);
	img_spec_int(res, "granularity", -1);
	img_spec_end(res);
	img_spec_end(res);
	img_spec_bool(res, "corrupt", false);
	img_spec_str(res, "data-file", "data.raw", 8);
	return res;
}

static void scan_init(struct img_scan *s, const char *path, struct img_result *res)
{
	memset(s, 0, sizeof(*s));
	s->path = path;
	s->size = 2147483648u;
	s->res = res;
}

/* ---- encoders against libblkid -------------------------------------------- */

static bool is_c1(const char *p)
{
	return (unsigned char)p[0] == 0xc2 && (unsigned char)p[1] >= 0x80 && (unsigned char)p[1] <= 0x9f;
}

/*
 * blkid_safe_string, with the documented differences: control bytes -> '_',
 * a C1 control (c2 80..c2 9f, kept by libblkid as valid UTF-8) -> one '_'
 */
static void blkid_safe_ref(const char *in, char *out, size_t outlen)
{
	char *w = out;

	assert_int_equal(blkid_safe_string(in, out, outlen), 0);
	for (char *p = out; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*w++ = '_';
		} else if (is_c1(p)) {
			*w++ = '_';
			p++;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
}

/* blkid_encode_string, with the documented difference: a C1 control -> \xc2\xNN */
static void blkid_enc_ref(const char *in, char *out, size_t outlen)
{
	char tmp[8192];
	size_t j = 0;

	assert_int_equal(blkid_encode_string(in, tmp, sizeof(tmp)), 0);
	for (const char *p = tmp; *p; p++) {
		assert_true(j + 9 < outlen);
		if (is_c1(p)) {
			j += (size_t)sprintf(out + j, "\\xc2\\x%02x", (unsigned char)p[1]);
			p++;
		} else {
			out[j++] = *p;
		}
	}
	out[j] = '\0';
}

static void check_against_blkid(const char *in)
{
	size_t len = strlen(in);
	char ours[8192], theirs[8192];
	int n;

	assert_true(len < 1024);
	n = img_enc(in, len, ours, sizeof(ours));
	blkid_enc_ref(in, theirs, sizeof(theirs));
	assert_int_equal(n, (int)strlen(theirs));
	assert_string_equal(ours, theirs);

	n = img_safe(in, len, ours, sizeof(ours));
	blkid_safe_ref(in, theirs, sizeof(theirs));
	assert_int_equal(n, (int)strlen(theirs));
	assert_string_equal(ours, theirs);
}

static const char *const fixed_inputs[] = {
	"",
	"plain",
	"My Disk",
	"  lead  and   trail  ",
	" \t\n\v\f\r ",
	"a\tb\nc\rd",
	"a\x01" "b\x1b" "c\x7f" "d",
	"\\x41",
	"\\",
	"\xff\xfe",
	"\xc3",
	"\xc3\xa9",
	"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	"\xe2\x82",
	"\xf0\x9f\x98",
	"\xc0\xaf",
	"\xe0\x80\xaf",
	"\xed\xa0\x80",
	"\xef\xbf\xbf",
	"\xef\xbf\xbe",
	"\xef\xb7\x90",
	"\xf4\x90\x80\x80",
	"\xf8\x88\x80\x80\x80",
	"\xfc\x84\x80\x80\x80\x80",
	"\x80\xbf",
	"\"'$`;|&$(id)`id`<>*?[]{}()!~^%,/",
	"#+-.:=@_",
	"../../etc/passwd",
	"json:{\"file.filename\":\"/etc/shadow\"}",
	"x\xc3 \xa9y",
	"\xc3  \xa9",
	"LVM2 001",
	"csi\xc2\x9b" "31m nel\xc2\x85x \xc2\x80\xc2\x9f\xc2\xa0",
	"\xc2",
	"a\xc2\x9b",
};

static void test_enc_safe_fixed(void **state)
{
	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(fixed_inputs); i++)
		check_against_blkid(fixed_inputs[i]);
}

static uint32_t rng_state = 0x12345678;

static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static void test_enc_safe_random(void **state)
{
	/* bytes chosen to hit whitespace, controls, escapes and UTF-8 edges */
	static const uint8_t pick[] = { ' ',  '\t', '\n', '\r', 0x0b, 0x0c, 0x01, 0x1f, 0x7f, '\\',
		                        'x',  'A',  '0',  '_',  '#',  '/',  '"',  '$',  0x80, 0xbf,
		                        0xc2, 0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5,
		                        0xf8, 0xfc, 0xfe, 0xff, 0xa0, 0xb7, 0x9f, 0x8f, 0x90 };
	char in[256];

	(void)state;
	for (unsigned iter = 0; iter < 50000; iter++) {
		size_t len = rng() % 48;

		for (size_t i = 0; i < len; i++) {
			uint32_t r = rng();

			if (r & 1)
				in[i] = (char)pick[(r >> 1) % sizeof(pick)];
			else
				in[i] = (char)(1 + (r >> 1) % 255);
		}
		in[len] = '\0';
		check_against_blkid(in);
	}
}

static void test_enc_safe_nul_and_limits(void **state)
{
	char out[16];
	char big[4 * IMG_STR_MAX + 1];
	char name[1023];

	(void)state;
	/* embedded NUL is data */
	assert_int_equal(img_enc("a\0b", 3, out, sizeof(out)), 6);
	assert_string_equal(out, "a\\x00b");
	assert_int_equal(img_safe("a\0b", 3, out, sizeof(out)), 3);
	assert_string_equal(out, "a_b");
	assert_int_equal(img_enc(NULL, 5, out, sizeof(out)), 0);
	assert_int_equal(img_enc("a", 1, out, 0), -1);

	/* exact fit works; one byte less fails with a clean prefix */
	assert_int_equal(img_enc("a\n", 2, out, 6), 5);
	assert_string_equal(out, "a\\x0a");
	assert_int_equal(img_enc("a\n", 2, out, 5), -1);
	assert_string_equal(out, "a");
	assert_int_equal(img_enc("\xc3\xa9", 2, out, 3), 2);
	assert_int_equal(img_enc("\xc3\xa9", 2, out, 2), -1);
	assert_string_equal(out, "");
	assert_int_equal(img_safe("abc def", 7, out, 8), 7);
	assert_string_equal(out, "abc_def");
	assert_int_equal(img_safe("abc def", 7, out, 4), -1);
	assert_string_equal(out, "abc");
	assert_int_equal(img_safe("abc   ", 6, out, 4), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(img_safe("abc d", 5, out, 5), -1);
	assert_string_equal(out, "abc_");

	/* the largest name: 1023 bytes that all need escaping fit in 4*1023+1 */
	memset(name, '\n', sizeof(name));
	assert_int_equal(img_enc(name, sizeof(name), big, 4 * sizeof(name) + 1), 4 * 1023);
	assert_int_equal(img_enc(name, sizeof(name), big, 4 * sizeof(name)), -1);
	assert_int_equal(strlen(big) % 4, 0);
	memset(name, 0xff, sizeof(name));
	assert_int_equal(img_safe(name, sizeof(name), big, sizeof(big)), 1023);
	assert_int_equal(strspn(big, "_"), 1023);
}

/* ---- --udev ------------------------------------------------------------- */

static void test_udev_golden(void **state)
{
	struct img_result *res = full_result();
	struct img_scan s;
	char *out;

	(void)state;
	scan_init(&s, "/dev/vg/lv", res);
	s.offset = 4096;
	/* a polyglot says only that it is one: no ID_IMAGE_FORMAT to match on */
	out = udev_str(&s, NULL);
	assert_string_equal(out, "ID_IMAGE_AMBIGUOUS=qcow2,vmdk\n"
	                         "ID_IMAGE_OFFSET=4096\n");
	free(out);
	res->n_candidates = 0;
	out = udev_str(&s, NULL);
	assert_string_equal(out, "ID_IMAGE_FORMAT=qcow2\n"
	                         "ID_IMAGE_FORMAT_VERSION=3\n"
	                         "ID_IMAGE_VIRTUAL_SIZE=1073741824\n"
	                         "ID_IMAGE_CLUSTER_SIZE=65536\n"
	                         "ID_IMAGE_COMPAT=1.1\n"
	                         "ID_IMAGE_FEATURES=dirty,lazy_refcounts,incompatible_bit_7,"
	                         "autoclear_bit_63\n"
	                         "ID_IMAGE_BACKING_FILE=base_image.qcow2\n"
	                         "ID_IMAGE_BACKING_FILE_ENC=base\\x20image.qcow2\n"
	                         "ID_IMAGE_BACKING_FORMAT=qcow2\n"
	                         "ID_IMAGE_DATA_FILE=data.raw\n"
	                         "ID_IMAGE_DATA_FILE_ENC=data.raw\n"
	                         "ID_IMAGE_ENCRYPTION=luks\n"
	                         "ID_IMAGE_DIRTY=1\n"
	                         "ID_IMAGE_CORRUPT=0\n"
	                         "ID_IMAGE_SNAPSHOTS=2\n"
	                         "ID_IMAGE_BITMAPS=1\n"
	                         "ID_IMAGE_DAMAGED=1\n"
	                         "ID_IMAGE_OFFSET=4096\n");
	free(out);

	/*
	 * a footer-only candidate (a VHD footer in a qcow2's last block): the
	 * start format's properties stand, the candidates are listed, and a
	 * limit of imgscan's own is said
	 */
	res->n_candidates = 2;
	res->candidates[1] = IMG_FMT_VPC;
	res->footer_only_others = true;
	res->limit = "test";
	res->damaged = NULL;
	out = udev_str(&s, NULL);
	assert_non_null(strstr(out, "ID_IMAGE_FORMAT=qcow2\n"));
	assert_non_null(strstr(out, "ID_IMAGE_BACKING_FILE=base_image.qcow2\n"));
	assert_non_null(strstr(out, "ID_IMAGE_BITMAPS=1\n"
	                            "ID_IMAGE_LIMIT=1\n"
	                            "ID_IMAGE_AMBIGUOUS=qcow2,vpc\n"
	                            "ID_IMAGE_OFFSET=4096\n"));
	free(out);

	/* a minimal vmdk: no corrupt bit, no optional lines */
	img_result_init(res, IMG_FMT_VMDK);
	res->has_virtual_size = true;
	res->virtual_size = 1048576;
	res->subformat = "monolithicSparse";
	res->encryption = IMG_ENC_AES;
	s.offset = 0;
	out = udev_str(&s, NULL);
	assert_string_equal(out, "ID_IMAGE_FORMAT=vmdk\n"
	                         "ID_IMAGE_SUBFORMAT=monolithicSparse\n"
	                         "ID_IMAGE_VIRTUAL_SIZE=1048576\n"
	                         "ID_IMAGE_ENCRYPTION=aes\n"
	                         "ID_IMAGE_DIRTY=0\n");
	free(out);
	free(res);
}

static void test_udev_silent(void **state)
{
	struct img_result *res = t_result_new();
	struct img_scan s;
	size_t len;
	char *out;

	(void)state;
	img_result_init(res, IMG_FMT_RAW);
	scan_init(&s, "/dev/sda", res);
	out = udev_str(&s, &len);
	assert_int_equal(len, 0);
	free(out);

	img_result_init(res, IMG_FMT_QCOW2);
	s.error = -EIO;
	s.error_op = "read";
	out = udev_str(&s, &len);
	assert_int_equal(len, 0);
	free(out);

	s.error = 0;
	s.res = NULL;
	out = udev_str(&s, &len);
	assert_int_equal(len, 0);
	free(out);

	/* a format id out of range is not trusted */
	s.res = res;
	res->format = (enum img_format_id)200;
	out = udev_str(&s, &len);
	assert_int_equal(len, 0);
	free(out);
	free(res);
}

/* the hostile names every output is run over */
struct hostile {
	const char *bytes;
	size_t len;
};

#define H(s) { s, sizeof(s) - 1 }
static const struct hostile hostile_names[] = {
	H("evil\nID_IMAGE_FORMAT=raw"),
	H("a\rb\tc"),
	H("\"quoted\""),
	H("'single'"),
	H("$HOME"),
	H("`touch PWNED`"),
	H("; touch PWNED"),
	H("| touch PWNED"),
	H("& touch PWNED &"),
	H("$(touch PWNED)"),
	H("back\\slash\\x41\\"),
	H("\xff\xfe"),
	H("trunc\xc3"),
	H("trunc\xe2\x82"),
	H("caf\xc3\xa9"),
	H("nul\0inside"),
	H("\x1b]0;title\x07\x7f"),
	H("  spaced   out  "),
	H("\"; touch PWNED; echo \""),
	H("\\\"$(touch PWNED)\\\""),
	H("csi\xc2\x9b" "31m"),
	H("nel\xc2\x85line"),
	H("\xc2\x80\xc2\x9f\x7f"),
	H("surrogate\xed\xa0\x80"),
	H("overlong\xc0\xaf\xe0\x80\xaf"),
};

static void check_udev_lines(const char *out, size_t len)
{
	size_t i = 0;

	assert_true(len > 0);
	assert_int_equal(out[len - 1], '\n');
	while (i < len) {
		size_t start = i, k;

		while (i < len && out[i] != '\n') {
			unsigned char c = (unsigned char)out[i];

			assert_false(c < 0x20 || c == 0x7f);
			assert_false(i + 1 < len && is_c1(out + i));
			i++;
		}
		for (k = start; k < i && out[k] != '='; k++)
			assert_true((out[k] >= 'A' && out[k] <= 'Z') || out[k] == '_');
		assert_true(k > start && k < i);
		i++; /* the newline */
	}
}

/* the value of KEY in udev output, or NULL */
static char *udev_value(const char *out, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			const char *e = strchr(p, '\n');
			const char *v = p + kl + 1;
			size_t len = (size_t)(e - v);

			/* as udev reads it: a value that starts with a quote must end with it */
			if (len && (v[0] == '"' || v[0] == '\'')) {
				assert_true(len >= 2 && v[len - 1] == v[0]);
				v++;
				len -= 2;
			}
			return strndup(v, len);
		}
	}
	return NULL;
}

static void test_udev_hostile(void **state)
{
	struct img_result *res = t_result_new();
	struct img_scan s;

	(void)state;
	for (size_t h = 0; h < IMG_ARRAY_SIZE(hostile_names); h++) {
		const struct hostile *n = &hostile_names[h];
		char dec[IMG_STR_MAX], safe[IMG_STR_MAX];
		char *out, *v;
		size_t len;

		img_result_init(res, IMG_FMT_QCOW2);
		img_bytes_set(&res->backing_file, n->bytes, n->len);
		img_bytes_set(&res->backing_format, n->bytes, n->len);
		img_bytes_set(&res->data_file, n->bytes, n->len);
		scan_init(&s, "/dev/x", res);
		out = udev_str(&s, &len);
		check_udev_lines(out, len);
		assert_int_equal(strlen(out), len);

		/* exactly one FORMAT line: a newline in a name cannot add a property */
		assert_ptr_equal(strstr(out, "ID_IMAGE_FORMAT="), out);
		assert_null(strstr(out + 1, "\nID_IMAGE_FORMAT="));

		/* _ENC decodes back to the bytes */
		v = udev_value(out, "ID_IMAGE_BACKING_FILE_ENC");
		assert_non_null(v);
		assert_int_equal(unhex(v, strlen(v), dec), n->len);
		assert_memory_equal(dec, n->bytes, n->len);
		free(v);
		v = udev_value(out, "ID_IMAGE_DATA_FILE_ENC");
		assert_non_null(v);
		free(v);

		/* the plain value is img_safe's */
		assert_true(img_safe(n->bytes, n->len, safe, sizeof(safe)) > 0);
		v = udev_value(out, "ID_IMAGE_BACKING_FILE");
		assert_non_null(v);
		assert_string_equal(v, safe);
		free(v);
		free(out);
	}

	/* the longest name, every byte escaped */
	{
		char name[IMG_STR_MAX - 1];
		char *out, *v;
		size_t len;

		memset(name, '\n', sizeof(name));
		img_result_init(res, IMG_FMT_QCOW2);
		img_bytes_set(&res->backing_file, name, sizeof(name));
		scan_init(&s, "/dev/x", res);
		out = udev_str(&s, &len);
		check_udev_lines(out, len);
		v = udev_value(out, "ID_IMAGE_BACKING_FILE_ENC");
		assert_non_null(v);
		assert_int_equal(strlen(v), 4 * sizeof(name));
		free(v);
		/* all whitespace: the plain value is empty and so not printed */
		assert_null(udev_value(out, "ID_IMAGE_BACKING_FILE"));
		free(out);
	}
	free(res);
}

/* ---- --export ------------------------------------------------------------ */

static void test_export_golden(void **state)
{
	struct img_result *res = full_result();
	struct img_scan s;
	char *out;

	(void)state;
	img_bytes_set(&res->backing_file, "a \"$x\" `y` \\ \xc3\xa9\n", 16);
	scan_init(&s, "/dev/vg/l$v", res);
	out = export_str(&s, true);
	assert_string_equal(out, "DEVNAME=\"/dev/vg/l\\x24v\"\n"
	                         "ID_IMAGE_AMBIGUOUS=\"qcow2,vmdk\"\n");
	free(out);
	res->n_candidates = 0;
	out = export_str(&s, true);
	assert_string_equal(out, "DEVNAME=\"/dev/vg/l\\x24v\"\n"
	                         "ID_IMAGE_FORMAT=\"qcow2\"\n"
	                         "ID_IMAGE_FORMAT_VERSION=\"3\"\n"
	                         "ID_IMAGE_VIRTUAL_SIZE=\"1073741824\"\n"
	                         "ID_IMAGE_CLUSTER_SIZE=\"65536\"\n"
	                         "ID_IMAGE_COMPAT=\"1.1\"\n"
	                         "ID_IMAGE_FEATURES=\"dirty,lazy_refcounts,incompatible_bit_7,"
	                         "autoclear_bit_63\"\n"
	                         "ID_IMAGE_BACKING_FILE=\"a \\x22\\x24x\\x22 \\x60y\\x60 \\x5c "
	                         "\\xc3\\xa9\\x0a\"\n"
	                         "ID_IMAGE_BACKING_FILE_ENC=\"a\\x5cx20\\x5cx22\\x5cx24x\\x5cx22"
	                         "\\x5cx20\\x5cx60y\\x5cx60\\x5cx20\\x5cx5c\\x5cx20\\xc3\\xa9"
	                         "\\x5cx0a\"\n"
	                         "ID_IMAGE_BACKING_FORMAT=\"qcow2\"\n"
	                         "ID_IMAGE_DATA_FILE=\"data.raw\"\n"
	                         "ID_IMAGE_DATA_FILE_ENC=\"data.raw\"\n"
	                         "ID_IMAGE_ENCRYPTION=\"luks\"\n"
	                         "ID_IMAGE_DIRTY=\"1\"\n"
	                         "ID_IMAGE_CORRUPT=\"0\"\n"
	                         "ID_IMAGE_SNAPSHOTS=\"2\"\n"
	                         "ID_IMAGE_BITMAPS=\"1\"\n"
	                         "ID_IMAGE_DAMAGED=\"1\"\n");
	free(out);

	img_result_init(res, IMG_FMT_RAW);
	out = export_str(&s, false);
	assert_string_equal(out, "\nDEVNAME=\"/dev/vg/l\\x24v\"\nID_IMAGE_FORMAT=\"raw\"\n");
	free(out);

	s.error = -EACCES;
	s.error_op = "open";
	out = export_str(&s, true);
	assert_string_equal(out, "DEVNAME=\"/dev/vg/l\\x24v\"\nID_IMAGE_ERROR=\"Permission denied\"\n");
	free(out);
	free(res);
}

/* run `eval` on doc in /bin/sh inside dir and return what printf %s "$VAR" gives */
static char *sh_eval(const char *dir, const char *doc, const char *var, size_t *ret_len)
{
	char path[512], cmd[1024];
	char *buf = NULL;
	size_t cap = 0, len = 0, n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/doc", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(doc, f);
	assert_int_equal(fclose(f), 0);

	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && /bin/sh -c 'eval \"$(cat doc)\"; printf %%s \"$%s\"'", dir, var);
	f = popen(cmd, "r");
	assert_non_null(f);
	for (;;) {
		if (cap - len < 4096) {
			cap += 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	assert_int_equal(pclose(f), 0);
	*ret_len = len;
	return buf;
}

static void check_export_roundtrip(const char *dir, const struct img_scan *s, const char *var,
                                   const char *want, size_t want_len)
{
	char *doc = export_str(s, true);
	char pwned[600];
	char *got, *dec;
	size_t len, dlen;

	/* only printable ASCII and newlines */
	for (const char *p = doc; *p; p++)
		assert_true(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
	got = sh_eval(dir, doc, var, &len);
	dec = malloc(len + 1);
	assert_non_null(dec);
	dlen = unhex(got, len, dec);
	assert_int_equal(dlen, want_len);
	assert_memory_equal(dec, want, want_len);
	snprintf(pwned, sizeof(pwned), "%s/PWNED", dir);
	assert_int_equal(access(pwned, F_OK), -1);
	free(dec);
	free(got);
	free(doc);
}

static void test_export_eval(void **state)
{
	struct img_result *res = t_result_new();
	char dir[] = "/tmp/imgscan-test-output-XXXXXX";
	char path[600], big[IMG_STR_MAX - 1];
	struct img_scan s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (size_t h = 0; h < IMG_ARRAY_SIZE(hostile_names); h++) {
		const struct hostile *n = &hostile_names[h];
		char enc[4 * IMG_STR_MAX + 1];
		int el;

		img_result_init(res, IMG_FMT_QCOW2);
		img_bytes_set(&res->backing_file, n->bytes, n->len);
		img_bytes_set(&res->data_file, n->bytes, n->len);
		scan_init(&s, "/dev/x", res);
		check_export_roundtrip(dir, &s, "ID_IMAGE_BACKING_FILE", n->bytes, n->len);
		check_export_roundtrip(dir, &s, "ID_IMAGE_DATA_FILE", n->bytes, n->len);
		el = img_enc(n->bytes, n->len, enc, sizeof(enc));
		assert_true(el > 0);
		check_export_roundtrip(dir, &s, "ID_IMAGE_BACKING_FILE_ENC", enc, (size_t)el);

		/* a hostile device path too (NUL cannot be in a path) */
		if (!memchr(n->bytes, 0, n->len)) {
			snprintf(path, sizeof(path), "/dev/%s", n->bytes);
			s.path = path;
			check_export_roundtrip(dir, &s, "DEVNAME", path, strlen(path));
			s.error = -ENOENT;
			check_export_roundtrip(dir, &s, "DEVNAME", path, strlen(path));
		}
	}

	/* 1023 bytes of quotes */
	memset(big, '"', sizeof(big));
	img_result_init(res, IMG_FMT_QCOW2);
	img_bytes_set(&res->backing_file, big, sizeof(big));
	scan_init(&s, "/dev/x", res);
	check_export_roundtrip(dir, &s, "ID_IMAGE_BACKING_FILE", big, sizeof(big));

	snprintf(path, sizeof(path), "%s/doc", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
	free(res);
}

/* ---- --json -------------------------------------------------------------- */

static json_object *parse_json(const char *text)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;

	assert_non_null(tok);
	assert_true(valid_utf8(text, strlen(text)));
	o = json_tokener_parse_ex(tok, text, (int)strlen(text));
	assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
	assert_non_null(o);
	json_tokener_free(tok);
	return o;
}

static json_object *image0(json_object *doc)
{
	json_object *imgs, *img;

	assert_true(json_object_object_get_ex(doc, "images", &imgs));
	assert_true(json_object_is_type(imgs, json_type_array));
	img = json_object_array_get_idx(imgs, 0);
	assert_non_null(img);
	return img;
}

static const char *jget_str(json_object *o, const char *key, size_t *len)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_string));
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static void test_json_golden(void **state)
{
	struct img_result *res = full_result();
	struct img_result *raw = t_result_new();
	struct img_scan s[3];
	const struct img_scan *list[3] = { &s[0], &s[1], &s[2] };
	char *out;

	(void)state;
	scan_init(&s[0], "/dev/vg/lv", res);
	s[0].offset = 0;
	s[0].have_stats = true;
	s[0].stats.reads = 2;
	s[0].stats.bytes = 69632;
	s[0].stats.direct = true;
	s[0].stats.align = 512;
	img_result_init(raw, IMG_FMT_RAW);
	scan_init(&s[1], "/dev/sdb", raw);
	s[1].size = 1048576;
	s[1].content.present = true;
	strcpy(s[1].content.type, "ext4");
	strcpy(s[1].content.usage, "filesystem");
	strcpy(s[1].content.label, "bad\xff\n");
	scan_init(&s[2], "/dev/nope", NULL);
	s[2].error = -ENOENT;
	s[2].error_op = "open";

	out = json_str(list, 3);
	assert_string_equal(out,
		"{\n"
		"    \"images\": [\n"
		"        {\n"
		"            \"path\": \"/dev/vg/lv\",\n"
		"            \"format\": \"qcow2\",\n"
		"            \"virtual-size\": 1073741824,\n"
		"            \"cluster-size\": 65536,\n"
		"            \"backing-filename\": \"base image.qcow2\",\n"
		"            \"backing-filename-format\": \"qcow2\",\n"
		"            \"encrypted\": true,\n"
		"            \"dirty-flag\": true,\n"
		"            \"format-specific\": {\n"
		"                \"type\": \"qcow2\",\n"
		"                \"data\": {\n"
		"                    \"compat\": \"1.1\",\n"
		"                    \"compression-type\": \"zlib\",\n"
		"                    \"lazy-refcounts\": true,\n"
		"                    \"refcount-bits\": 16,\n"
		"                    \"bitmaps\": [\n"
		"                        {\n"
		"                            \"name\": \"b\\u0001\xef\xbf\xbd\",\n"
		"                            \"granularity\": -1\n"
		"                        }\n"
		"                    ],\n"
		"                    \"corrupt\": false,\n"
		"                    \"data-file\": \"data.raw\"\n"
		"                }\n"
		"            },\n"
		"            \"size\": 2147483648,\n"
		"            \"offset\": 0,\n"
		"            \"format-version\": 3,\n"
		"            \"header-length\": 112,\n"
		"            \"features\": [\n"
		"                \"dirty\",\n"
		"                \"lazy_refcounts\",\n"
		"                \"incompatible_bit_7\",\n"
		"                \"autoclear_bit_63\"\n"
		"            ],\n"
		"            \"unknown-features\": [\n"
		"                {\n"
		"                    \"type\": \"incompatible\",\n"
		"                    \"bit\": 7,\n"
		"                    \"name\": \"x\\n$(id)\xef\xbf\xbd\"\n"
		"                },\n"
		"                {\n"
		"                    \"type\": \"autoclear\",\n"
		"                    \"bit\": 63\n"
		"                }\n"
		"            ],\n"
		"            \"snapshot-count\": 2,\n"
		"            \"bitmap-count\": 1,\n"
		"            \"damaged\": \"Unsupported cluster size\",\n"
		"            \"ambiguous\": [\n"
		"                \"qcow2\",\n"
		"                \"vmdk\"\n"
		"            ],\n"
		"            \"scan\": {\n"
		"                \"reads\": 2,\n"
		"                \"bytes\": 69632,\n"
		"                \"direct\": true,\n"
		"                \"direct-refused\": false,\n"
		"                \"align\": 512\n"
		"            }\n"
		"        },\n"
		"        {\n"
		"            \"path\": \"/dev/sdb\",\n"
		"            \"format\": \"raw\",\n"
		"            \"virtual-size\": 1048576,\n"
		"            \"dirty-flag\": false,\n"
		"            \"size\": 1048576,\n"
		"            \"offset\": 0,\n"
		"            \"content\": {\n"
		"                \"type\": \"ext4\",\n"
		"                \"usage\": \"filesystem\",\n"
		"                \"label\": \"bad\xef\xbf\xbd\\n\"\n"
		"            }\n"
		"        },\n"
		"        {\n"
		"            \"path\": \"/dev/nope\",\n"
		"            \"error\": \"No such file or directory\",\n"
		"            \"error-op\": \"open\"\n"
		"        }\n"
		"    ]\n"
		"}\n");
	json_object_put(parse_json(out));
	free(out);

	/* no scans: an empty list */
	out = json_str(list, 0);
	json_object_put(parse_json(out));
	free(out);
	free(res);
	free(raw);
}

/* a valid k-byte sequence encoding U+FDD0..U+FDEF or U+xxFFFE/U+xxFFFF */
static bool noncharacter(const char *p, size_t k)
{
	const uint8_t *s = (const uint8_t *)p;
	uint32_t cp = k == 2 ? s[0] & 0x1fu : k == 3 ? s[0] & 0x0fu : s[0] & 0x07u;

	for (size_t i = 1; i < k; i++)
		cp = cp << 6 | (s[i] & 0x3fu);
	return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe;
}

/*
 * The bytes json-c gives back for a hostile name, written independently of
 * out-json.c: valid UTF-8 characters that qemu accepts stay; a lead byte and
 * the continuation bytes after it (at most as many as it announces) become
 * one U+FFFD when they do not form such a character.
 */
static size_t expect_json(const char *in, size_t len, char *out)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t j = 0;

	for (size_t i = 0; i < len;) {
		size_t want = s[i] < 0x80 ? 1 : s[i] < 0xc0 ? 0 : s[i] < 0xe0 ? 2 : s[i] < 0xf0 ? 3 :
		              s[i] < 0xf8 ? 4 : s[i] < 0xfc ? 5 : s[i] < 0xfe ? 6 : 0;
		size_t k = 1;

		while (k < want && i + k < len && (s[i + k] & 0xc0) == 0x80)
			k++;
		if (want && k == want && want <= 4 && valid_utf8(in + i, k) &&
		    !noncharacter(in + i, k)) {
			memcpy(out + j, in + i, k);
			j += k;
		} else {
			memcpy(out + j, "\xef\xbf\xbd", 3);
			j += 3;
		}
		i += k;
	}
	return j;
}

/* one name through --json, back through json-c */
static void check_json_name(const char *in, size_t len, const char *want, size_t want_len)
{
	struct img_result *res = t_result_new();
	struct img_scan s;
	const struct img_scan *list[1] = { &s };
	json_object *doc;
	const char *got;
	size_t gl;
	char *out;

	img_result_init(res, IMG_FMT_QCOW2);
	img_bytes_set(&res->backing_file, in, len);
	scan_init(&s, "/x", res);
	out = json_str(list, 1);
	doc = parse_json(out);
	got = jget_str(image0(doc), "backing-filename", &gl);
	assert_int_equal(gl, want_len);
	assert_memory_equal(got, want, want_len);
	json_object_put(doc);
	free(out);
	free(res);
}

#define CJ(in, want) check_json_name(in, sizeof(in) - 1, want, sizeof(want) - 1)

static void test_json_utf8_as_qemu(void **state)
{
	(void)state;
	CJ("caf\xc3\xa9", "caf\xc3\xa9");
	CJ("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	CJ("\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd");
	CJ("a\xc3", "a\xef\xbf\xbd");
	CJ("a\xe2\x82", "a\xef\xbf\xbd");
	CJ("\xe2\x82x", "\xef\xbf\xbdx");
	CJ("\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd");
	CJ("\xed\xa0\x80", "\xef\xbf\xbd");
	CJ("\xef\xbf\xbe", "\xef\xbf\xbd");
	CJ("\xef\xb7\x90", "\xef\xbf\xbd");
	CJ("\xe0\x80\xaf", "\xef\xbf\xbd");
	CJ("\xf4\x90\x80\x80", "\xef\xbf\xbd");
	CJ("\xf8\x88\x80\x80\x80z", "\xef\xbf\xbdz");
	CJ("\xc0\x80", "\0");
	CJ("\x1b[0m\x7f", "\x1b[0m\x7f");
}

static void test_json_hostile(void **state)
{
	struct img_result *res = t_result_new();
	struct img_scan s;
	const struct img_scan *list[1] = { &s };

	(void)state;
	for (size_t h = 0; h < IMG_ARRAY_SIZE(hostile_names); h++) {
		const struct hostile *n = &hostile_names[h];
		char want[3 * IMG_STR_MAX];
		size_t wl = expect_json(n->bytes, n->len, want), gl;
		json_object *doc, *img;
		const char *got;
		char *out;

		img_result_init(res, IMG_FMT_QCOW2);
		img_bytes_set(&res->backing_file, n->bytes, n->len);
		img_bytes_set(&res->backing_format, n->bytes, n->len);
		img_spec_begin(res, "qcow2");
		img_spec_str(res, "data-file", n->bytes, n->len);
		scan_init(&s, n->bytes, res);
		out = json_str(list, 1);
		/* no raw control character other than the pretty-printer's newlines */
		for (const char *p = out; *p; p++) {
			assert_true(*p == '\n' || ((unsigned char)*p >= 0x20 && *p != 0x7f));
			assert_false(is_c1(p));
		}
		doc = parse_json(out);
		img = image0(doc);
		got = jget_str(img, "backing-filename", &gl);
		assert_int_equal(gl, wl);
		assert_memory_equal(got, want, wl);
		got = jget_str(img, "backing-filename-format", &gl);
		assert_int_equal(gl, wl);
		assert_memory_equal(got, want, wl);
		{
			json_object *fs, *data;

			assert_true(json_object_object_get_ex(img, "format-specific", &fs));
			assert_true(json_object_object_get_ex(fs, "data", &data));
			got = jget_str(data, "data-file", &gl);
			assert_int_equal(gl, wl);
			assert_memory_equal(got, want, wl);
		}
		json_object_put(doc);
		free(out);
	}
	free(res);
}

static void test_json_spec_hostile(void **state)
{
	struct img_result *res = t_result_new();
	struct img_scan s;
	const struct img_scan *list[1] = { &s };
	json_object *doc, *img, *fs, *data, *v;
	char *out;

	(void)state;
	img_result_init(res, IMG_FMT_VMDK);
	img_spec_begin(res, "vmdk");
	/* entries as a broken builder could leave them */
	res->spec.n = 7;
	res->spec.pool_used = 4;
	memcpy(res->spec.pool, "okay", 4);
	res->spec.e[0] = (struct img_spec_entry){ .type = IMG_SPEC_END };
	res->spec.e[1] = (struct img_spec_entry){ .type = IMG_SPEC_STR, .key = "good",
		                                  .v.str = { .off = 0, .len = 4 } };
	res->spec.e[2] = (struct img_spec_entry){ .type = IMG_SPEC_STR, .key = "bad-off",
		                                  .v.str = { .off = 0xffffffffu, .len = 2 } };
	res->spec.e[3] = (struct img_spec_entry){ .type = IMG_SPEC_STR, .key = "bad-len",
		                                  .v.str = { .off = 2, .len = 0xffffffffu } };
	res->spec.e[4] = (struct img_spec_entry){ .type = (enum img_spec_type)99, .key = "junk" };
	res->spec.e[5] = (struct img_spec_entry){ .type = IMG_SPEC_ARR, .key = "open" };
	res->spec.e[6] = (struct img_spec_entry){ .type = IMG_SPEC_UINT, .v.u = UINT64_MAX };
	scan_init(&s, "/x", res);
	out = json_str(list, 1);
	doc = parse_json(out);
	img = image0(doc);
	assert_true(json_object_object_get_ex(img, "format-specific", &fs));
	assert_true(json_object_object_get_ex(fs, "data", &data));
	assert_string_equal(jget_str(data, "good", NULL), "okay");
	assert_false(json_object_object_get_ex(data, "bad-off", NULL));
	assert_false(json_object_object_get_ex(data, "bad-len", NULL));
	assert_false(json_object_object_get_ex(data, "junk", NULL));
	assert_true(json_object_object_get_ex(data, "open", &v));
	assert_int_equal(json_object_array_length(v), 1);
	assert_true(json_object_get_uint64(json_object_array_get_idx(v, 0)) == UINT64_MAX);
	json_object_put(doc);
	free(out);

	/* nesting far beyond any real tree: 500 arrays, no END */
	img_result_init(res, IMG_FMT_VMDK);
	img_spec_begin(res, "vmdk");
	res->spec.n = 500;
	for (unsigned i = 0; i < 500; i++)
		res->spec.e[i] = (struct img_spec_entry){ .type = IMG_SPEC_ARR, .key = "a" };
	out = json_str(list, 1);
	json_object_put(parse_json(out));
	free(out);

	/* a count past the array is clamped */
	res->spec.n = 100000;
	out = json_str(list, 1);
	json_object_put(parse_json(out));
	free(out);
	free(res);
}

/* ---- the object of one scan (out-json.h) ------------------------------------ */

/*
 * What the outputs print for a json-c text, written apart from out-json.c:
 * each line after prefix, its leading spaces doubled when pretty; DEL and
 * the C1 controls as \u007f, \u0080..\u009f; no newline after the last line.
 */
static char *expect_text(const char *text, bool pretty, const char *prefix)
{
	size_t tl = strlen(text), o = 0, lines = 1;
	char *out;

	for (size_t i = 0; i < tl; i++)
		lines += text[i] == '\n';
	out = malloc(lines * strlen(prefix) + 6 * tl + 1);
	assert_non_null(out);
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p), i = 0;

		o += (size_t)sprintf(out + o, "%s", prefix);
		for (; pretty && i < len && p[i] == ' '; i++)
			o += (size_t)sprintf(out + o, "  ");
		for (; i < len; i++) {
			const unsigned char c = (unsigned char)p[i];

			if (c == 0x7f)
				o += (size_t)sprintf(out + o, "\\u007f");
			else if (c == 0xc2 && i + 1 < len && (unsigned char)p[i + 1] >= 0x80 &&
			         (unsigned char)p[i + 1] <= 0x9f)
				o += (size_t)sprintf(out + o, "\\u00%02x", (unsigned char)p[++i]);
			else
				out[o++] = (char)c;
		}
		p += len;
		if (eol && *++p)
			out[o++] = '\n';
	}
	out[o] = 0;
	return out;
}

/* no raw control character but the pretty-printer's newlines */
static void assert_no_raw_control(const char *text, bool newlines)
{
	for (const char *p = text; *p; p++) {
		assert_true((newlines && *p == '\n') || ((unsigned char)*p >= 0x20 && *p != 0x7f));
		assert_false(is_c1(p));
	}
}

/*
 * The object img_json_item_object builds is the one every JSON output
 * prints: --json's item (img_out_json_item) is its pretty text; the
 * library's text (img_json_item_text) is that item without the document's
 * indentation; and what --monitor embeds is what it once got by parsing
 * the item back (json_tokener_parse), member for member and byte for byte.
 */
static void check_object_is_item(const struct img_scan *s, const char *must_contain)
{
	const int pretty = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                   JSON_C_TO_STRING_NOSLASHESCAPE;
	const int plain = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
	struct mem m;
	json_object *o, *parsed;
	char *item, *want, *lib, *line, *unindented;
	size_t len = 0, j = 0;

	img_out_json_item(mem_open(&m), s, true);
	item = mem_close(&m, NULL);
	assert_true(item[0] == '\n');
	assert_no_raw_control(item, true);
	if (!strstr(item, must_contain))
		print_error("no %s in:\n%s\n", must_contain, item);
	assert_non_null(strstr(item, must_contain));

	o = img_json_item_object(s);
	assert_non_null(o);
	/* --json: the object's pretty text, each line after 8 spaces, indentation doubled */
	want = expect_text(json_object_to_json_string_ext(o, pretty), true, "        ");
	assert_string_equal(item + 1, want);
	free(want);

	/* --monitor: the object equals the item parsed back, as the monitor used to embed it */
	parsed = json_tokener_parse(item);
	assert_non_null(parsed);
	assert_true(json_object_equal(parsed, o));
	want = strdup(json_object_to_json_string_ext(parsed, plain));
	assert_non_null(want);
	assert_string_equal(json_object_to_json_string_ext(o, plain), want);
	free(want);
	json_object_put(parsed);

	/* the one-line text --monitor prints: the same, DEL and C1 escaped */
	line = img_json_object_text(o, false, "", &len);
	assert_non_null(line);
	assert_int_equal(len, strlen(line));
	assert_no_raw_control(line, false);
	want = expect_text(json_object_to_json_string_ext(o, plain), false, "");
	assert_string_equal(line, want);
	free(want);
	free(line);

	/* the library: the item without the document's 8 spaces of indentation */
	assert_int_equal(img_json_item_text(s, &lib), 0);
	unindented = malloc(strlen(item) + 1);
	assert_non_null(unindented);
	for (const char *p = item + 1; *p;) {
		assert_memory_equal(p, "        ", 8);
		p += 8;
		while (*p && *p != '\n')
			unindented[j++] = *p++;
		if (*p)
			unindented[j++] = *p++;
	}
	unindented[j] = 0;
	assert_string_equal(lib, unindented);
	free(unindented);
	free(lib);

	json_object_put(o);
	free(item);
}

static void test_json_object_is_item(void **state)
{
	struct img_result *res = full_result();
	struct img_result *raw = t_result_new();
	struct img_scan s;

	(void)state;
	assert_int_equal(dlopen_jsonc(NULL), 0);

	/* an image whose backing file holds C0, DEL, C1, a NUL and invalid UTF-8 */
	img_bytes_set(&res->backing_file, "base\x1b[31m\x7f\xc2\x85\n\0x\xff", 16);
	img_bytes_set(&res->backing_format, "qcow2\xc2\x9b", 7);
	res->virtual_size = UINT64_MAX; /* past int64: the parse must keep it unsigned */
	scan_init(&s, "/dev/vg/lv\x7f", res);
	s.have_stats = true;
	s.stats.reads = 3;
	check_object_is_item(&s, "\"backing-filename\": "
	                         "\"base\\u001b[31m\\u007f\\u0085\\n\\u0000x\xef\xbf\xbd\"");

	/* an error target */
	scan_init(&s, "/dev/nope\x01", NULL);
	s.error = -EACCES;
	s.error_op = "open";
	check_object_is_item(&s, "\"error\": \"Permission denied\"");
	s.error_text = "refused: \x7f";
	check_object_is_item(&s, "\"error\": \"refused: \\u007f\"");

	/* a raw volume with content */
	img_result_init(raw, IMG_FMT_RAW);
	scan_init(&s, "/dev/sdb", raw);
	s.size = 1048577;
	s.offset = 4096;
	s.content.present = true;
	strcpy(s.content.type, "ext4");
	strcpy(s.content.usage, "filesystem");
	strcpy(s.content.label, "lab\x7f\xc2\x9b\t");
	strcpy(s.content.uuid, "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
	check_object_is_item(&s, "\"label\": \"lab\\u007f\\u009b\\t\"");

	free(res);
	free(raw);
}

/*
 * When memory runs out for the text of an item, --json writes it piece by
 * piece: the same bytes.  The texts that must be whole fail instead.
 */
static void test_json_item_out_of_memory(void **state)
{
	struct img_result *res = full_result();
	struct img_scan s;
	struct mem m;
	json_object *o;
	char *want, *got, *lib = (char *)"unset";

	(void)state;
	img_bytes_set(&res->backing_file, "b\x7f\xc2\x85\n", 5);
	scan_init(&s, "/dev/vg/lv", res);
	img_out_json_item(mem_open(&m), &s, false);
	want = mem_close(&m, NULL);
	assert_true(strlen(want) > 1000);

	/* the jstr copies of hostile names (3 bytes a byte) still fit */
	malloc_fail_over = 256;
	malloc_failed = 0;
	img_out_json_item(mem_open(&m), &s, false);
	assert_int_equal(malloc_failed, 1); /* the item's buffer, nothing else */
	malloc_fail_over = 0;
	got = mem_close(&m, NULL);
	assert_string_equal(got, want);
	assert_non_null(strstr(got, "\"backing-filename\": \"b\\u007f\\u0085\\n\""));
	free(got);
	free(want);

	malloc_fail_over = 256;
	assert_int_equal(img_json_item_text(&s, &lib), -ENOMEM);
	assert_null(lib);
	o = img_json_item_object(&s);
	malloc_fail_over = 0;
	assert_non_null(o);
	malloc_fail_over = 256;
	malloc_failed = 0;
	assert_null(img_json_object_text(o, false, "", NULL));
	assert_int_equal(malloc_failed, 1);
	malloc_fail_over = 0;
	json_object_put(o);
	free(res);
}

/* ---- --prometheus --------------------------------------------------------- */

struct prom_case {
	const char *in;
	size_t len;
	const char *out;
};
#define P(in, out) { in, sizeof(in) - 1, out }

/* golden label values: what goes between the double quotes */
static const struct prom_case prom_cases[] = {
	P("base.qcow2", "base.qcow2"),
	P("", ""),
	/* the three escapes of the exposition format */
	P("a\nb", "a\\nb"),
	P("\"quoted\"", "\\\"quoted\\\""),
	P("back\\slash\\", "back\\\\slash\\\\"),
	P("\\\"$(touch PWNED)\\\"", "\\\\\\\"$(touch PWNED)\\\\\\\""),
	/* a name that tries to close the label and add a sample */
	P("x\"} 1\nimgscan_image_dirty{path=\"y", "x\\\"} 1\\nimgscan_image_dirty{path=\\\"y"),
	/* C0 controls and DEL: the text \xHH, its backslash escaped */
	P("a\rb\tc", "a\\\\x0db\\\\x09c"),
	P("nul\0inside", "nul\\\\x00inside"),
	P("\x1b]0;title\x07\x7f", "\\\\x1b]0;title\\\\x07\\\\x7f"),
	/* C1 controls (valid UTF-8 for U+0085, U+009B, U+0080, U+009F): each byte */
	P("a\xc2\x85" "b", "a\\\\xc2\\\\x85b"),
	P("\xc2\x9b" "31m", "\\\\xc2\\\\x9b31m"),
	P("\xc2\x80\xc2\x9f", "\\\\xc2\\\\x80\\\\xc2\\\\x9f"),
	/* invalid UTF-8: stray bytes, truncated, overlong, surrogate, past U+10FFFF */
	P("\xff\xfe", "\\\\xff\\\\xfe"),
	P("trunc\xc3", "trunc\\\\xc3"),
	P("trunc\xe2\x82", "trunc\\\\xe2\\\\x82"),
	P("\xc0\xaf", "\\\\xc0\\\\xaf"),
	P("\xed\xa0\x80", "\\\\xed\\\\xa0\\\\x80"),
	P("\xf4\x90\x80\x80", "\\\\xf4\\\\x90\\\\x80\\\\x80"),
	/* valid UTF-8 stays, U+00A0 (just past C1) included */
	P("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0"),
	P("  spaced   out  ", "  spaced   out  "),
	P("$HOME `id` ; | & '", "$HOME `id` ; | & '"),
};

/* strict UTF-8 (no overlong, no surrogate, <= U+10FFFF) with no C0, DEL or C1 control */
static void check_prom_value_chars(const char *v, size_t len)
{
	const unsigned char *s = (const unsigned char *)v;

	for (size_t i = 0; i < len;) {
		unsigned c = s[i], n, u;

		assert_false(c < 0x20 || c == 0x7f);
		if (c < 0x80) {
			i++;
			continue;
		}
		n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		assert_true(c >= 0xc2 && c <= 0xf4);
		assert_true(i + n <= len);
		u = c & (0x7fu >> n);
		for (unsigned k = 1; k < n; k++) {
			assert_int_equal(s[i + k] & 0xc0, 0x80);
			u = u << 6 | (s[i + k] & 0x3fu);
		}
		assert_true(u >= (n == 2 ? 0xa0u : n == 3 ? 0x800u : 0x10000u));
		assert_true(u <= 0x10ffff && (u < 0xd800 || u > 0xdfff));
		i += n;
	}
}

/*
 * One label value as a Prometheus parser reads it: from after the opening
 * quote to the closing one; only \\, \" and \n may follow a backslash.
 * Returns the index of the closing quote.
 */
static size_t prom_scan_value(const char *v, size_t len)
{
	size_t i = 0;

	while (i < len && v[i] != '"') {
		if (v[i] == '\\') {
			assert_true(i + 1 < len);
			assert_non_null(strchr("\\\"n", v[i + 1]));
			i += 2;
		} else {
			i++;
		}
	}
	assert_true(i < len);
	return i;
}

static void test_prom_label_golden(void **state)
{
	char out[5 * IMG_STR_MAX + 1];

	(void)state;
	for (size_t i = 0; i < IMG_ARRAY_SIZE(prom_cases); i++) {
		const struct prom_case *c = &prom_cases[i];
		int n = img_prom_label(c->in, c->len, out, sizeof(out));

		assert_int_equal(n, strlen(c->out));
		assert_string_equal(out, c->out);
		check_prom_value_chars(out, (size_t)n);
	}
	/* every hostile name: one whole value, nothing raw */
	for (size_t h = 0; h < IMG_ARRAY_SIZE(hostile_names); h++) {
		char quoted[5 * IMG_STR_MAX + 2];
		int n = img_prom_label(hostile_names[h].bytes, hostile_names[h].len, out, sizeof(out));

		assert_true(n >= 0);
		check_prom_value_chars(out, (size_t)n);
		memcpy(quoted, out, (size_t)n);
		quoted[n] = '"';
		assert_int_equal(prom_scan_value(quoted, (size_t)n + 1), n);
	}
}

static void test_prom_label_limits(void **state)
{
	char name[IMG_STR_MAX - 1], big[5 * IMG_STR_MAX + 1], out[16];

	(void)state;
	/* the worst case: every byte of the longest name as \\xHH */
	memset(name, 0xff, sizeof(name));
	assert_int_equal(img_prom_label(name, sizeof(name), big, 5 * sizeof(name) + 1),
	                 5 * sizeof(name));
	assert_int_equal(img_prom_label(name, sizeof(name), big, 5 * sizeof(name)), -1);
	assert_int_equal(strlen(big) % 5, 0);
	/* too small: a prefix that ends on a whole escape or character */
	assert_int_equal(img_prom_label("ab\x01" "c", 4, out, 6), -1);
	assert_string_equal(out, "ab");
	assert_int_equal(img_prom_label("a\"b", 3, out, 3), -1);
	assert_string_equal(out, "a");
	assert_int_equal(img_prom_label("\xe2\x82\xac", 3, out, 3), -1);
	assert_string_equal(out, "");
	assert_int_equal(img_prom_label("\xe2\x82\xac", 3, out, 4), 3);
	assert_int_equal(img_prom_label(NULL, 5, out, sizeof(out)), 0);
	assert_int_equal(img_prom_label("a", 1, out, 0), -1);
	/* random bytes: always valid, never a raw control */
	for (unsigned r = 0; r < 2000; r++) {
		int n;

		for (size_t i = 0; i < 64; i++)
			name[i] = (char)(rng() >> 11);
		n = img_prom_label(name, 64, big, sizeof(big));
		assert_true(n >= 0);
		check_prom_value_chars(big, (size_t)n);
		big[n] = '"';
		assert_int_equal(prom_scan_value(big, (size_t)n + 1), n);
	}
}

/* ---- format versions written as the specifications write them ------------- */

static void test_version_text(void **state)
{
	struct img_result *res = t_result_new();
	struct img_scan s;
	const struct img_scan *list[1] = { &s };
	char buf[32], *out;

	(void)state;
	img_result_init(res, IMG_FMT_VDI);
	res->has_version = true;
	res->version = 0x00010001;
	res->version_dotted = true;
	assert_int_equal(img_version_text(res, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "1.1");
	scan_init(&s, "/x", res);
	out = json_str(list, 1);
	assert_non_null(strstr(out, "\"format-version\": \"1.1\""));
	free(out);
	out = udev_str(&s, NULL);
	assert_non_null(strstr(out, "\nID_IMAGE_FORMAT_VERSION=1.1\n"));
	free(out);
	res->version = 0xffffffffu;
	assert_int_equal(img_version_text(res, buf, sizeof(buf)), 11);
	assert_string_equal(buf, "65535.65535");
	assert_int_equal(img_version_text(res, buf, 11), -1);

	/* qcow2: a plain number, a JSON number */
	img_result_init(res, IMG_FMT_QCOW2);
	res->has_version = true;
	res->version = 3;
	assert_int_equal(img_version_text(res, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "3");
	out = json_str(list, 1);
	assert_non_null(strstr(out, "\"format-version\": 3"));
	free(out);
	free(res);
}

/* ---- control characters: one definition, every output --------------------- */

/*
 * C0, DEL, C1 (NEL, CSI), a valid é, an invalid byte, an overlong '/', a
 * surrogate: what each output writes for them, byte for byte.
 */
#define CTL_IN "a\x01" "b\x7f" "c\xc2\x9b" "d\xc2\x85" "e\xc3\xa9" "f\xff" "g\xc0\xaf" "h\xed\xa0\x80" "i"

static void test_controls_golden(void **state)
{
	static const char in[] = CTL_IN;
	struct img_result *res = t_result_new();
	struct img_scan s;
	const struct img_scan *list[1] = { &s };
	char out[512], *doc;

	(void)state;
	assert_int_equal(img_control_len("\x00", 1), 1);
	assert_int_equal(img_control_len("\x1f", 1), 1);
	assert_int_equal(img_control_len("\x7f", 1), 1);
	assert_int_equal(img_control_len("\xc2\x80", 2), 2);
	assert_int_equal(img_control_len("\xc2\x9f", 2), 2);
	assert_int_equal(img_control_len("\xc2\xa0", 2), 0);
	assert_int_equal(img_control_len("\xc2\x9b", 1), 0);
	assert_int_equal(img_control_len(" ", 1), 0);
	assert_int_equal(img_control_len("~", 1), 0);

	assert_true(img_enc(in, sizeof(in) - 1, out, sizeof(out)) > 0);
	assert_string_equal(out, "a\\x01b\\x7fc\\xc2\\x9bd\\xc2\\x85e\xc3\xa9" "f\\xffg\\xc0\\xafh"
	                         "\\xed\\xa0\\x80i");
	assert_true(img_safe(in, sizeof(in) - 1, out, sizeof(out)) > 0);
	assert_string_equal(out, "a_b_c_d_e\xc3\xa9" "f_g__h___i");
	assert_true(img_esc(in, sizeof(in) - 1, out, sizeof(out)) > 0);
	assert_string_equal(out, "a\\x01b\\x7fc\\xc2\\x9bd\\xc2\\x85e\xc3\xa9" "f\\xffg\\xc0\\xafh"
	                         "\\xed\\xa0\\x80i");
	/* img_esc: '\' too, so the text decodes back to the bytes */
	assert_int_equal(img_esc("a\\x41", 5, out, sizeof(out)), 8);
	assert_string_equal(out, "a\\x5cx41");
	/* img_esc: a C1 control that does not fit is not cut in half */
	assert_int_equal(img_esc("\xc2\x9b", 2, out, 8), -1);
	assert_string_equal(out, "");

	img_result_init(res, IMG_FMT_QCOW2);
	img_bytes_set(&res->backing_file, in, sizeof(in) - 1);
	img_spec_begin(res, "qcow2");
	img_spec_str(res, "data-file", in, sizeof(in) - 1);
	scan_init(&s, "/dev/x", res);

	doc = json_str(list, 1);
	assert_non_null(strstr(doc, "\"backing-filename\": \"a\\u0001b\\u007fc\\u009bd\\u0085e\xc3\xa9"
	                            "f\xef\xbf\xbdg\xef\xbf\xbdh\xef\xbf\xbdi\""));
	assert_non_null(strstr(doc, "\"data-file\": \"a\\u0001b\\u007fc\\u009bd\\u0085e"));
	free(doc);

	doc = udev_str(&s, NULL);
	assert_non_null(strstr(doc, "\nID_IMAGE_BACKING_FILE=a_b_c_d_e\xc3\xa9" "f_g__h___i\n"));
	assert_non_null(strstr(doc, "\nID_IMAGE_BACKING_FILE_ENC=a\\x01b\\x7fc\\xc2\\x9bd\\xc2\\x85e\xc3\xa9"
	                            "f\\xffg\\xc0\\xafh\\xed\\xa0\\x80i\n"));
	free(doc);

	doc = export_str(&s, true);
	assert_non_null(strstr(doc, "\nID_IMAGE_BACKING_FILE=\"a\\x01b\\x7fc\\xc2\\x9bd\\xc2\\x85e\\xc3\\xa9"
	                            "f\\xffg\\xc0\\xafh\\xed\\xa0\\x80i\"\n"));
	free(doc);
	free(res);
}

/*
 * img_feature_token: a feature's token in --udev, -P, -J and the table: the
 * canonical name, else "<kind>_bit_<n>"; never header bytes, so a name that
 * is not [a-z0-9_.-]{1,47} is replaced by its bit token.
 */
static void test_feature_token(void **state)
{
	static const struct {
		enum img_feature_kind kind;
		uint8_t bit;
		const char *name;
		const char *want;
	} cases[] = {
		{ IMG_FEAT_COMPATIBLE, 0, "lazy_refcounts", "lazy_refcounts" },
		{ IMG_FEAT_INCOMPATIBLE, 1, "corrupt", "corrupt" },
		{ IMG_FEAT_INCOMPATIBLE, 5, NULL, "incompatible_bit_5" },
		{ IMG_FEAT_COMPATIBLE, 63, NULL, "compatible_bit_63" },
		{ IMG_FEAT_AUTOCLEAR, 1, NULL, "autoclear_bit_1" },
		{ IMG_FEAT_OTHER, 7, NULL, "other_bit_7" },
		{ (enum img_feature_kind)9, 2, NULL, "other_bit_2" }, /* out of range: other */
		{ IMG_FEAT_INCOMPATIBLE, 9, "Bad Name", "incompatible_bit_9" },
		{ IMG_FEAT_INCOMPATIBLE, 9, "UPPER", "incompatible_bit_9" },
		{ IMG_FEAT_INCOMPATIBLE, 9, "", "incompatible_bit_9" },
		{ IMG_FEAT_INCOMPATIBLE, 9, "a\nb", "incompatible_bit_9" },
		{ IMG_FEAT_INCOMPATIBLE, 9, "x=1", "incompatible_bit_9" },
		{ IMG_FEAT_AUTOCLEAR, 0, "bitmaps-v1.2", "bitmaps-v1.2" },
		/* 47 bytes: the longest name kept; 48: replaced */
		{ IMG_FEAT_COMPATIBLE, 3, "abcdefghijklmnopqrstuvwxyz_abcdefghijklmnopqrst",
		  "abcdefghijklmnopqrstuvwxyz_abcdefghijklmnopqrst" },
		{ IMG_FEAT_COMPATIBLE, 3, "abcdefghijklmnopqrstuvwxyz_abcdefghijklmnopqrstu",
		  "compatible_bit_3" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct img_feature f;

		memset(&f, 0, sizeof(f));
		f.kind = cases[i].kind;
		f.bit = cases[i].bit;
		f.name = cases[i].name;
		print_message("%s\n", cases[i].want);
		assert_int_equal(img_feature_token(&f, out, sizeof(out)), (int)strlen(cases[i].want));
		assert_string_equal(out, cases[i].want);
	}
	/* a buffer that is too small: -1, never a cut token taken as whole */
	{
		struct img_feature f = { .kind = IMG_FEAT_COMPATIBLE, .name = "lazy_refcounts" };
		struct img_feature u = { .kind = IMG_FEAT_AUTOCLEAR, .bit = 12 };

		assert_int_equal(img_feature_token(&f, out, 15), 14);
		assert_int_equal(img_feature_token(&f, out, 14), -1);
		assert_int_equal(img_feature_token(&u, out, 17), 16); /* autoclear_bit_12 */
		assert_int_equal(img_feature_token(&u, out, 16), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enc_safe_fixed),
		cmocka_unit_test(test_controls_golden),
		cmocka_unit_test(test_version_text),
		cmocka_unit_test(test_feature_token),
		cmocka_unit_test(test_enc_safe_random),
		cmocka_unit_test(test_enc_safe_nul_and_limits),
		cmocka_unit_test(test_udev_golden),
		cmocka_unit_test(test_udev_silent),
		cmocka_unit_test(test_udev_hostile),
		cmocka_unit_test(test_export_golden),
		cmocka_unit_test(test_export_eval),
		cmocka_unit_test(test_json_golden),
		cmocka_unit_test(test_json_utf8_as_qemu),
		cmocka_unit_test(test_json_hostile),
		cmocka_unit_test(test_json_spec_hostile),
		cmocka_unit_test(test_json_object_is_item),
		cmocka_unit_test(test_json_item_out_of_memory),
		cmocka_unit_test(test_prom_label_golden),
		cmocka_unit_test(test_prom_label_limits),
	};

	return T_RUN(tests);
}
