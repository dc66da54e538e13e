/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The probe core without any particular format: the registry's invariants,
 * the bounded reader helpers, the result helpers, the format-specific tree,
 * and the generic loop (raw fallback, end-relative magics, ambiguity).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void test_registry_invariants(void **state)
{
	(void)state;
	for (unsigned i = 0; i < _IMG_FMT_MAX; i++) {
		const struct img_format *f = img_formats[i];

		assert_non_null(f);
		assert_int_equal(f->id, i);
		assert_non_null(f->name);
		assert_true(strlen(f->name) > 0);
		for (const char *p = f->name; *p; p++)
			assert_true(islower((unsigned char)*p) || isdigit((unsigned char)*p));
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(f->name, img_formats[j]->name);
		if (i == IMG_FMT_RAW) {
			assert_null(f->probe);
			assert_int_equal(f->magics[0].len, 0);
			continue;
		}
		/* every real format can be found: a probe and a way to reach it */
		assert_non_null(f->probe);
		assert_true(f->probe_always || f->magics[0].len > 0);
		for (unsigned m = 0; m < IMG_MAX_MAGICS && f->magics[m].len; m++) {
			assert_true(f->magics[m].len <= IMG_MAGIC_MAX);
			assert_non_null(f->magics[m].bytes);
			if (f->magics[m].whence == IMG_FROM_END)
				assert_true(f->magics[m].offset >= f->magics[m].len);
		}
		assert_int_equal(img_format_by_name(f->name), i);
	}
	assert_string_equal(img_format_name(IMG_FMT_QCOW2), "qcow2");
	assert_string_equal(img_format_name(IMG_FMT_VPC), "vpc");
	assert_string_equal(img_format_name((enum img_format_id)999), "raw");
	assert_int_equal(img_format_by_name("nonsense"), IMG_FMT_RAW);
}

static void test_reader_bounds(void **state)
{
	static uint8_t buf[4096];
	struct img_mem_source m;
	struct img_reader r;
	const uint8_t *p;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	img_mem_reader(&m, buf, sizeof(buf), &r);

	assert_int_equal(img_get(&r, 0, 4096, &p), 0);
	assert_ptr_equal(p, buf);
	assert_int_equal(img_get(&r, 4095, 1, &p), 0);
	assert_int_equal(*p, 0xff);
	assert_int_equal(img_get(&r, 4096, 0, &p), 0);
	assert_int_equal(img_get(&r, 4096, 1, &p), -ERANGE);
	assert_int_equal(img_get(&r, 4095, 2, &p), -ERANGE);
	assert_int_equal(img_get(&r, UINT64_MAX, 2, &p), -ERANGE);
	assert_int_equal(img_get(&r, 2, SIZE_MAX, &p), -ERANGE);
	assert_int_equal(img_get(&r, UINT64_MAX - 1, 4, &p), -ERANGE);

	assert_int_equal(img_get_end(&r, 512, 512, &p), 0);
	assert_ptr_equal(p, buf + 4096 - 512);
	assert_int_equal(img_get_end(&r, 512, 513, &p), -ERANGE);
	assert_int_equal(img_get_end(&r, 4097, 1, &p), -ERANGE);
	assert_int_equal(img_get_end(&r, UINT64_MAX, 1, &p), -ERANGE);

	assert_int_equal(img_get_upto(&r, 4000, 512, &p, &n), 0);
	assert_int_equal(n, 96);
	assert_int_equal(img_get_upto(&r, 4096, 512, &p, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(img_get_upto(&r, UINT64_MAX, 512, &p, &n), 0);
	assert_int_equal(n, 0);
}

static void test_reader_cap(void **state)
{
	struct img_mem_source m;
	struct img_reader r;
	const uint8_t *p;
	uint8_t *big = calloc(1, IMG_READ_MAX + 1);

	(void)state;
	assert_non_null(big);
	img_mem_reader(&m, big, IMG_READ_MAX + 1, &r);
	assert_int_equal(img_get(&r, 0, IMG_READ_MAX, &p), 0);
	assert_int_equal(img_get(&r, 0, IMG_READ_MAX + 1, &p), -ERANGE);
	free(big);
}

static void test_result_helpers(void **state)
{
	struct img_result *res = t_result_new();
	char name[2000];

	(void)state;
	img_result_init(res, IMG_FMT_QCOW2);
	assert_int_equal(res->format, IMG_FMT_QCOW2);

	memset(name, 'a', sizeof(name));
	img_bytes_set(&res->backing_file, name, sizeof(name));
	assert_true(res->backing_file.present);
	assert_int_equal(res->backing_file.len, IMG_STR_MAX - 1);
	assert_int_equal(res->backing_file.data[IMG_STR_MAX - 1], '\0');

	img_bytes_set(&res->data_file, "x\0y", 3);
	assert_int_equal(res->data_file.len, 3);

	for (unsigned i = 0; i < IMG_MAX_FEATURES + 10; i++)
		img_add_feature(res, IMG_FEAT_OTHER, i % 64, "x");
	assert_int_equal(res->n_features, IMG_MAX_FEATURES);
	assert_true(img_has_feature(res, "x"));
	assert_false(img_has_feature(res, "y"));
	assert_non_null(img_find_feature(res, IMG_FEAT_OTHER, 3));
	assert_null(img_find_feature(res, IMG_FEAT_COMPATIBLE, 3));

	img_set_damaged(res, "first");
	img_set_damaged(res, "second");
	assert_string_equal(res->damaged, "first");

	/* init clears everything */
	img_result_init(res, IMG_FMT_RAW);
	assert_int_equal(res->n_features, 0);
	assert_null(res->damaged);
	assert_false(res->backing_file.present);
	free(res);
}

/* walk a spec list and check that containers balance */
static void assert_spec_balanced(const struct img_spec *s)
{
	int depth = 0;

	for (unsigned i = 0; i < s->n; i++) {
		if (s->e[i].type == IMG_SPEC_OBJ || s->e[i].type == IMG_SPEC_ARR)
			depth++;
		else if (s->e[i].type == IMG_SPEC_END)
			depth--;
		assert_true(depth >= 0);
	}
	assert_int_equal(depth, 0);
}

static void test_spec_tree(void **state)
{
	struct img_result *res = t_result_new();
	const struct img_spec *s = &res->spec;

	(void)state;
	img_result_init(res, IMG_FMT_QCOW2);
	img_spec_begin(res, "qcow2");
	img_spec_cstr(res, "compat", "1.1");
	img_spec_bool(res, "lazy-refcounts", true);
	img_spec_uint(res, "refcount-bits", 16);
	img_spec_obj(res, "encrypt");
	img_spec_cstr(res, "format", "luks");
	img_spec_arr(res, "slots");
	img_spec_int(res, NULL, -1);
	img_spec_end(res);
	img_spec_end(res);
	img_spec_end(res); /* one END too many is ignored */

	assert_string_equal(s->type, "qcow2");
	assert_int_equal(s->n, 9);
	assert_int_equal(s->e[0].type, IMG_SPEC_STR);
	assert_memory_equal(img_spec_strp(s, &s->e[0]), "1.1", 3);
	assert_int_equal(s->e[1].v.b, true);
	assert_int_equal(s->e[2].v.u, 16);
	assert_int_equal(s->e[3].type, IMG_SPEC_OBJ);
	assert_int_equal(s->e[6].v.i, -1);
	assert_false(s->overflow);
	assert_spec_balanced(s);
	free(res);
}

static void test_spec_overflow(void **state)
{
	struct img_result *res = t_result_new();
	static char big[IMG_SPEC_POOL + 1];

	(void)state;
	img_result_init(res, IMG_FMT_VMDK);
	img_spec_begin(res, "vmdk");
	img_spec_arr(res, "extents");
	for (unsigned i = 0; i < IMG_SPEC_MAX * 2; i++) {
		img_spec_obj(res, NULL);
		img_spec_uint(res, "virtual-size", i);
		img_spec_end(res);
	}
	img_spec_end(res);
	assert_true(res->spec.overflow);
	assert_true(res->spec.n <= IMG_SPEC_MAX);
	assert_spec_balanced(&res->spec);

	img_result_init(res, IMG_FMT_VMDK);
	img_spec_str(res, "x", big, sizeof(big));
	assert_true(res->spec.overflow);
	assert_int_equal(res->spec.n, 0);
	free(res);
}

static void test_raw_fallback(void **state)
{
	struct img_result *res = t_result_new();
	uint8_t *zero = calloc(1, 1 << 20);

	(void)state;
	assert_non_null(zero);
	/* empty, tiny and zeroed volumes are raw, never an error */
	assert_int_equal(t_probe_copy(zero, 0, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	assert_int_equal(t_probe_copy(zero, 1, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	assert_int_equal(t_probe_copy(zero, 1 << 20, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	assert_int_equal(res->n_candidates, 0);
	free(zero);
	free(res);
}

/* a reader that always fails: the error reaches the caller, the result is raw */
static int failing_get(void *ctx, uint64_t off, size_t len, const uint8_t **ret)
{
	(void)ctx;
	(void)off;
	(void)len;
	(void)ret;
	return -EIO;
}

static void test_read_error(void **state)
{
	struct img_result *res = t_result_new();
	struct img_reader r = { .size = 1 << 20, .block_size = 512, .get = failing_get };

	(void)state;
	assert_int_equal(img_probe(&r, res), -EIO);
	assert_int_equal(res->format, IMG_FMT_RAW);
	free(res);
}

/* A plausible qcow2 v3 header as qemu-img 7.2 writes it for a 1 GiB image. */
static void put_qcow2_v3(uint8_t *b)
{
	memcpy(b, "QFI\xfb", 4);
	t_put_be32(b + 4, 3);
	t_put_be32(b + 20, 16);
	t_put_be64(b + 24, 1ull << 30);
	t_put_be32(b + 36, 2);
	t_put_be64(b + 40, 0x30000);
	t_put_be64(b + 48, 0x10000);
	t_put_be32(b + 56, 1);
	t_put_be32(b + 96, 4);
	t_put_be32(b + 100, 112);
}

/* ---- probe tracing (IMGSCAN_DEBUG=probe) ---------------------------------- */

struct trace_log {
	unsigned lines;
	char text[16384];
	size_t used;
};

static void collect(void *ctx, const char *line)
{
	struct trace_log *t = ctx;
	size_t n = strlen(line);

	t->lines++;
	/* printable ASCII only, no newline: the callback writes it as one line */
	for (size_t i = 0; i < n; i++)
		assert_true(line[i] >= 0x20 && line[i] < 0x7f);
	if (t->used + n + 2 < sizeof(t->text)) {
		memcpy(t->text + t->used, line, n);
		t->used += n;
		t->text[t->used++] = '\n';
		t->text[t->used] = '\0';
	}
}

static void test_trace(void **state)
{
	struct img_result *res = t_result_new(), *plain = t_result_new();
	struct t_sparse sp;
	struct img_reader r;
	struct trace_log *log = calloc(1, sizeof(*log));
	uint8_t *b = calloc(1, 1 << 20);

	(void)state;
	assert_non_null(log);
	assert_non_null(b);
	put_qcow2_v3(b);
	t_put_be32(b + 20, 5); /* cluster_bits 5: qemu refuses "Unsupported cluster size" */

	/* off: the reader's trace is NULL, the result is the same */
	t_sparse_reader(&sp, b, 1 << 20, NULL, 0, 1 << 20, &r);
	assert_null(r.trace);
	assert_int_equal(img_probe(&r, plain), 0);
	t_sparse_free(&sp);

	t_sparse_reader(&sp, b, 1 << 20, NULL, 0, 1 << 20, &r);
	r.trace = collect;
	r.trace_ctx = log;
	assert_int_equal(img_probe(&r, res), 0);
	t_sparse_free(&sp);
	assert_int_equal(res->format, IMG_FMT_QCOW2);
	assert_string_equal(res->damaged, "Unsupported cluster size");
	assert_int_equal(plain->format, res->format);
	assert_ptr_equal(plain->damaged, res->damaged);
	assert_null(res->tracing); /* no pointer to the reader is left behind */
	assert_non_null(strstr(log->text, "qcow2: magic \"QFI\\xfb\" at offset 0: found\n"));
	/* the field and its value in the trace, qemu's words alone in res->damaged */
	assert_non_null(
	        strstr(log->text, "qcow2: check failed: Unsupported cluster size (cluster_bits 5, 9..21)\n"));
	assert_non_null(strstr(log->text, "qcow2: match, damaged: Unsupported cluster size\n"));
	assert_non_null(strstr(log->text, "vpc: magic \"conectix\" at end - 512: not there\n"));
	assert_non_null(strstr(log->text, "result: qcow2 (damaged)\n"));
	/* every registered magic is tried once: the line count is bounded */
	assert_true(log->lines > 10 && log->lines < 64);

	/* a raw volume: every format says no */
	memset(log, 0, sizeof(*log));
	memset(b, 0, 4096);
	t_sparse_reader(&sp, b, 1 << 20, NULL, 0, 1 << 20, &r);
	r.trace = collect;
	r.trace_ctx = log;
	assert_int_equal(img_probe(&r, res), 0);
	t_sparse_free(&sp);
	assert_int_equal(res->format, IMG_FMT_RAW);
	assert_non_null(strstr(log->text, "qcow2: magic \"QFI\\xfb\" at offset 0: not there\n"));
	assert_non_null(strstr(log->text, "result: raw (no format matched)\n"));
	assert_null(strstr(log->text, "check failed"));
	free(b);
	free(log);
	free(res);
	free(plain);
}

/* probe b (len bytes) with a trace; the lines in log */
static void trace_probe(uint8_t *b, size_t len, struct trace_log *log, struct img_result *res)
{
	struct t_sparse sp;
	struct img_reader r;

	memset(log, 0, sizeof(*log));
	t_sparse_reader(&sp, b, len, NULL, 0, len, &r);
	r.trace = collect;
	r.trace_ctx = log;
	assert_int_equal(img_probe(&r, res), 0);
	t_sparse_free(&sp);
}

static void test_trace_refusal(void **state)
{
	struct img_result *res = t_result_new();
	struct trace_log *log = calloc(1, sizeof(*log));
	uint8_t *b = calloc(1, 1 << 20);

	(void)state;
	assert_non_null(log);
	assert_non_null(b);

	/* qcow2 header, version 7: qcow refuses it by name, qcow2 calls it damaged */
	put_qcow2_v3(b);
	t_put_be32(b + 4, 7);
	trace_probe(b, 1 << 20, log, res);
	assert_int_equal(res->format, IMG_FMT_QCOW2);
	assert_string_equal(res->damaged, "Unsupported qcow2 version");
	assert_non_null(strstr(log->text, "qcow: no match: version 7 (qcow is version 1; 2 and 3 are qcow2)\n"));
	assert_non_null(strstr(log->text, "qcow2: check failed: Unsupported qcow2 version (version 7, 2 or 3)\n"));
	/* the probe said why: no generic line beside it */
	assert_null(strstr(log->text, "the magic is there"));

	/* version 1: qcow2 refuses it, naming the field */
	put_qcow2_v3(b);
	t_put_be32(b + 4, 1);
	trace_probe(b, 1 << 20, log, res);
	assert_non_null(strstr(log->text, "qcow2: no match: version 1 (qcow2 is version 2 or 3; 1 is qcow)\n"));
	assert_null(strstr(log->text, "the magic is there"));

	/*
	 * a bochs header whose type field is hostile: a newline, a quote and a
	 * backslash reach the trace as \xHH, never raw
	 */
	memset(b, 0, 4096);
	memcpy(b, "Bochs Virtual HD Image", 23);
	memcpy(b + 32, "Redo\nlog\"\\\x7f", 11);
	memcpy(b + 48, "Growing", 8);
	t_put_le32(b + 64, 0x00020000);
	trace_probe(b, 1 << 20, log, res);
	assert_int_equal(res->format, IMG_FMT_RAW);
	assert_non_null(strstr(log->text, "bochs: no match: type \"Redo\\x0alog\\x22\\x5c\\x7f\\x00\\x00\\x00\\x00\\x00\" (\"Redolog\")\n"));
	/* version */
	memcpy(b + 32, "Redolog", 8);
	t_put_le32(b + 64, 0x00030000);
	trace_probe(b, 1 << 20, log, res);
	assert_non_null(strstr(log->text, "bochs: no match: version 0x00030000 (0x00010000 or 0x00020000)\n"));

	free(b);
	free(log);
	free(res);
}

/* the numbers of a trace line: bounded, no allocation, every value of 64 bits */
static void test_trace_numbers(void **state)
{
	char buf[IMG_TNUM_MAX];

	(void)state;
	assert_string_equal(img_trace_dec(0, buf), "0");
	assert_string_equal(img_trace_dec(7, buf), "7");
	assert_string_equal(img_trace_dec(1000000, buf), "1000000");
	assert_string_equal(img_trace_dec(UINT64_MAX, buf), "18446744073709551615");
	assert_int_equal(strlen(buf) + 1, IMG_TNUM_MAX); /* the longest fills the buffer */
	assert_string_equal(img_trace_hex(0, 1, buf), "0x0");
	assert_string_equal(img_trace_hex(0, 0, buf), "0x0");
	assert_string_equal(img_trace_hex(0x20000, 8, buf), "0x00020000");
	assert_string_equal(img_trace_hex(0xbeda107f, 2, buf), "0xbeda107f"); /* more when needed */
	assert_string_equal(img_trace_hex(UINT64_MAX, 1, buf), "0xffffffffffffffff");
	assert_string_equal(img_trace_hex(5, 40, buf), "0x0000000000000005"); /* at most 16 digits */
	assert_int_equal(strlen(buf) + 1, 2 + 16 + 1);
	/* through the macros: each use has its own buffer */
	{
		const char *a = IMG_TDEC(12), *h = IMG_THEX(255, 4);

		assert_string_equal(a, "12");
		assert_string_equal(h, "0x00ff");
	}
	assert_string_equal(IMG_TBYTES("a\nb", 3), "a\\x0ab");
}

static void test_trace_bytes(void **state)
{
	char out[32];

	(void)state;
	img_trace_bytes("QFI\xfb", 4, out, sizeof(out));
	assert_string_equal(out, "QFI\\xfb");
	img_trace_bytes("a\"b\\c\n\0", 7, out, sizeof(out));
	assert_string_equal(out, "a\\x22b\\x5cc\\x0a\\x00");
	/* truncated to fit, never half an escape */
	img_trace_bytes("\x01\x02\x03", 3, out, 9);
	assert_string_equal(out, "\\x01\\x02");
	img_trace_bytes("abc", 3, out, 1);
	assert_string_equal(out, "");
}

/* A fixed-disk VHD footer as qemu-img writes it, with a valid checksum. */
static void put_vhd_footer(uint8_t *f, uint64_t size)
{
	uint32_t sum = 0;

	memset(f, 0, 512);
	memcpy(f, "conectix", 8);
	t_put_be32(f + 8, 2);
	t_put_be32(f + 12, 0x00010000);
	t_put_be64(f + 16, UINT64_MAX);
	memcpy(f + 28, "qem2", 4);
	t_put_be32(f + 32, 0x00050003);
	memcpy(f + 36, "Wi2k", 4);
	t_put_be64(f + 40, size);
	t_put_be64(f + 48, size);
	t_put_be16(f + 56, 0xffff);
	f[58] = 16;
	f[59] = 255;
	t_put_be32(f + 60, 2);
	for (unsigned i = 0; i < 512; i++)
		sum += f[i];
	t_put_be32(f + 64, ~sum);
}

static void test_end_magic_and_ambiguity(void **state)
{
	struct img_result *res = t_result_new();
	size_t len = 1 << 20;
	uint8_t *b = calloc(1, len);

	(void)state;
	assert_non_null(b);

	/* the VHD footer alone: found at the end of the volume */
	put_vhd_footer(b + len - 512, len - 512);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->format, IMG_FMT_VPC);
	assert_int_equal(res->n_candidates, 0);

	/* the qcow2 header alone */
	memset(b + len - 512, 0, 512);
	put_qcow2_v3(b);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->format, IMG_FMT_QCOW2);
	assert_int_equal(res->n_candidates, 0);

	/*
	 * a polyglot of a header at the start and a footer at the end: both
	 * listed, and the footer (a guest's last block can be one) never hides
	 * the header: qcow2 stands
	 */
	put_vhd_footer(b + len - 512, len - 512);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->format, IMG_FMT_QCOW2);
	assert_true(res->footer_only_others);
	assert_int_equal(res->n_candidates, 2);
	assert_int_equal(res->candidates[0], IMG_FMT_QCOW2);
	assert_int_equal(res->candidates[1], IMG_FMT_VPC);
	assert_int_equal(res->virtual_size, 1ull << 30);
	free(b);
	free(res);
}

/* ISO 9660 is content, not an image format: alone it is raw, beside a header it is a polyglot */
static void test_iso_polyglot(void **state)
{
	struct img_result *res = t_result_new();
	size_t len = 64 * 1024;
	uint8_t *b = calloc(1, len);

	(void)state;
	assert_non_null(b);
	b[32768] = 1;
	memcpy(b + 32769, "CD001", 5);
	b[32774] = 1;
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	assert_int_equal(res->n_candidates, 0);

	put_qcow2_v3(b);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->format, IMG_FMT_QCOW2);
	assert_int_equal(res->n_candidates, 2);
	assert_int_equal(res->candidates[0], IMG_FMT_QCOW2);
	assert_int_equal(res->candidates[1], IMG_FMT_ISO);
	assert_false(res->footer_only_others);

	/* two start-of-volume matches and a footer: still no format chosen */
	put_vhd_footer(b + len - 512, len - 512);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->n_candidates, 3);
	assert_false(res->footer_only_others);
	/* an ISO (content, not an image header) and a footer: not resolved either */
	memset(b, 0, 512);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->n_candidates, 2);
	assert_int_equal(res->candidates[0], IMG_FMT_VPC);
	assert_false(res->footer_only_others);
	memset(b + len - 512, 0, 512);
	put_qcow2_v3(b);

	/* a "CD001" with a wrong descriptor version is no ISO */
	b[32774] = 7;
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->n_candidates, 0);
	free(b);
	free(res);
}

/* UDF as well: "BEA01" then "NSR02"/"NSR03", 2048 bytes apart (or a 4096-byte block) */
static void test_udf_polyglot(void **state)
{
	struct img_result *res = t_result_new();
	size_t len = 64 * 1024;
	uint8_t *b = calloc(1, len);

	(void)state;
	assert_non_null(b);
	memcpy(b + 32769, "BEA01", 5);
	b[32774] = 1;
	memcpy(b + 34817, "NSR02", 5);
	b[34822] = 1;
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->format, IMG_FMT_RAW);
	assert_int_equal(res->n_candidates, 0);

	put_qcow2_v3(b);
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->format, IMG_FMT_QCOW2);
	assert_int_equal(res->n_candidates, 2);
	assert_int_equal(res->candidates[1], IMG_FMT_UDF);

	/* NSR03 a 4096-byte block on */
	memset(b + 34817, 0, 6);
	memcpy(b + 36865, "NSR03", 5);
	b[36870] = 1;
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->n_candidates, 2);
	assert_int_equal(res->candidates[1], IMG_FMT_UDF);

	/* BEA01 without an NSR descriptor: another ECMA-167 volume, not UDF */
	b[36870] = 0;
	assert_int_equal(t_probe_copy(b, len, res), 0);
	assert_int_equal(res->n_candidates, 0);
	/* the volume ends before the second descriptor */
	assert_int_equal(t_probe_copy(b, 34816, res), 0);
	assert_int_equal(res->n_candidates, 0);
	free(b);
	free(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_invariants),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_trace_bytes),
		cmocka_unit_test(test_trace_refusal),
		cmocka_unit_test(test_trace_numbers),
		cmocka_unit_test(test_udf_polyglot),
		cmocka_unit_test(test_reader_bounds),
		cmocka_unit_test(test_reader_cap),
		cmocka_unit_test(test_result_helpers),
		cmocka_unit_test(test_spec_tree),
		cmocka_unit_test(test_spec_overflow),
		cmocka_unit_test(test_raw_fallback),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_end_magic_and_ambiguity),
		cmocka_unit_test(test_iso_polyglot),
	};

	return T_RUN(tests);
}
