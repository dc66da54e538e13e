/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libimgscan's public API, linked against the shared library itself (only
 * what imgscan.h exports): a path, a descriptor and a memory buffer give
 * the same facts; the ID_IMAGE_* properties and the JSON object are the
 * bytes `imgscan --udev` and `imgscan --json` print for the same fixture
 * (fixtures/expected/); policies, errors and the encoders.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/imgscan.h"

static char tmpdir[] = "/tmp/test-lib.XXXXXX";

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static char *fixture(const char *name, size_t *len)
{
	char path[2 * PATH_MAX]; /* FIXTURES_DIR and a name of up to PATH_MAX */

	snprintf(path, sizeof(path), "%s/%s", FIXTURES_DIR, name);
	return slurp(path, len);
}

/* fixtures/<dir>/<name>.head and .size as a sparse file tmpdir/<name>.img; its size */
static uint64_t make_image(const char *dir, const char *name, char *path, size_t pathlen)
{
	char fx[PATH_MAX];
	size_t hl, sl;
	char *head, *size;
	uint64_t sz;
	int fd;

	snprintf(fx, sizeof(fx), "%s%s%s.head", dir, *dir ? "/" : "", name);
	head = fixture(fx, &hl);
	snprintf(fx, sizeof(fx), "%s%s%s.size", dir, *dir ? "/" : "", name);
	size = fixture(fx, &sl);
	sz = strtoull(size, NULL, 10);
	snprintf(path, pathlen, "%s/%s.img", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, head, hl), (ssize_t)hl);
	assert_int_equal(ftruncate(fd, (off_t)sz), 0);
	close(fd);
	free(head);
	free(size);
	return sz;
}

/* the properties as `imgscan --udev` prints them (values have no quote to wrap here) */
static char *props_text(const struct imgscan_probe *pr)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	for (unsigned i = 0; i < imgscan_probe_get_property_count(pr); i++) {
		const char *k, *v;
		size_t vl;

		assert_int_equal(imgscan_probe_get_property(pr, i, &k, &v, &vl), 0);
		assert_int_equal(strlen(v), vl);
		fprintf(f, "%s=%s\n", k, v);
	}
	fclose(f);
	return text;
}

static void test_errors(void **state)
{
	struct imgscan_probe *pr = imgscan_probe_new();
	char path[PATH_MAX];
	const char *e;

	assert_non_null(pr);
	assert_null(imgscan_probe_strerror(pr));
	assert_int_equal(imgscan_probe_run(pr), -EINVAL);
	assert_non_null(strstr(imgscan_probe_strerror(pr), "no volume"));
	assert_int_equal(imgscan_probe_set_flags(pr, 1u << 20), -EINVAL);
	assert_null(imgscan_probe_get_format(pr));

	snprintf(path, sizeof(path), "%s/missing.img", tmpdir);
	assert_int_equal(imgscan_probe_set_path(pr, path, 0), 0);
	assert_int_equal(imgscan_probe_run(pr), -ENOENT);
	e = imgscan_probe_strerror(pr);
	/* the volume, the cause, what to do */
	assert_non_null(strstr(e, path));
	assert_non_null(strstr(e, "cannot open"));
	assert_non_null(strstr(e, "check that the path exists"));
	assert_null(imgscan_probe_get_format(pr));

	/* a directory is never opened */
	assert_int_equal(imgscan_probe_set_path(pr, tmpdir, 0), 0);
	assert_int_equal(imgscan_probe_run(pr), -ENOTBLK);
	/* an offset past the end */
	make_image("bad", "qcow2-bad-backing-inject", path, sizeof(path));
	assert_int_equal(imgscan_probe_set_path(pr, path, 1ull << 40), 0);
	assert_int_equal(imgscan_probe_run(pr), -EINVAL);
	assert_int_equal(imgscan_probe_set_fd(pr, -1, 0, 0), -EINVAL);
	imgscan_probe_free(pr);
	imgscan_probe_free(NULL);
}

/* path, descriptor and buffer: the same facts, and the bytes --udev and --json print */
static void test_path_fd_buffer(void **state)
{
	struct imgscan_probe *pr = imgscan_probe_new();
	char path[PATH_MAX], *udev, *json, *head, *p, *expect;
	const char *s, *j;
	size_t len, hl;
	uint64_t sz, v;
	uint32_t u;
	int fd, fl;
	off_t pos;

	sz = make_image("bad", "qcow2-bad-backing-inject", path, sizeof(path));
	udev = fixture("expected/qcow2-bad-backing-inject.udev", &len);
	json = fixture("expected/qcow2-bad-backing-inject.json", &len);

	/* a relative path, as the expected document names it */
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(imgscan_probe_set_path(pr, "qcow2-bad-backing-inject.img", 0), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_null(imgscan_probe_strerror(pr));
	assert_string_equal(imgscan_probe_get_format(pr), "qcow2");
	assert_int_equal(imgscan_probe_get_version(pr, &u), 0);
	assert_int_equal(u, 3);
	assert_int_equal(imgscan_probe_get_virtual_size(pr, &v), 0);
	assert_int_equal(v, 1073741824);
	assert_int_equal(imgscan_probe_get_cluster_size(pr, &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(imgscan_probe_get_size(pr, &v), 0);
	assert_int_equal(v, sz);
	assert_string_equal(imgscan_probe_get_compat(pr), "1.1");
	assert_int_equal(imgscan_probe_get_backing_file(pr, &s, &len), 0);
	assert_int_equal(len, 88);
	assert_memory_equal(s, "evil\nID_IMAGE_FORMAT=raw\n", 25);
	assert_int_equal(imgscan_probe_get_backing_format(pr, &s, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "raw", 3);
	assert_int_equal(imgscan_probe_get_data_file(pr, &s, &len), -ENODATA);
	assert_null(imgscan_probe_get_encryption(pr));
	assert_int_equal(imgscan_probe_is_dirty(pr), 0);
	assert_int_equal(imgscan_probe_is_corrupt(pr), 0);
	assert_int_equal(imgscan_probe_get_snapshot_count(pr, &u), 0);
	assert_int_equal(u, 0);
	assert_int_equal(imgscan_probe_get_bitmap_count(pr, &u), -ENODATA);
	assert_null(imgscan_probe_get_damaged(pr));
	assert_int_equal(imgscan_probe_is_ambiguous(pr), 0);
	assert_int_equal(imgscan_probe_get_candidate_count(pr), 0);
	assert_int_equal(imgscan_probe_is_safe(pr), -ENODATA);
	{
		uint64_t reads = 0, bytes = 0;

		/* the head window and the tail window of a 192 KiB file */
		assert_int_equal(imgscan_probe_get_io(pr, &reads, &bytes), 0);
		assert_int_equal(reads, 2);
		assert_true(bytes >= 36 * 1024 && bytes <= 64 * 1024 + 4096);
	}

	/* the --udev lines, byte for byte */
	p = props_text(pr);
	assert_string_equal(p, udev);
	free(p);

	/* the --json object: the document's lines without its 8-space prefix */
	assert_int_equal(imgscan_probe_get_json(pr, &j), 0);
	expect = calloc(1, strlen(json) + 1);
	assert_non_null(expect);
	{
		const char *b = strstr(json, "        {"), *e = strstr(json, "\n        }");
		size_t o = 0;

		assert_non_null(b);
		assert_non_null(e);
		e += strlen("\n        }");
		while (b < e) {
			const char *nl = memchr(b, '\n', (size_t)(e - b));
			size_t l = nl ? (size_t)(nl - b) + 1 : (size_t)(e - b);

			assert_memory_equal(b, "        ", 8);
			memcpy(expect + o, b + 8, l - 8);
			o += l - 8;
			b += l;
		}
	}
	assert_string_equal(j, expect);
	free(expect);

	/* the same volume through a descriptor: same facts; fd's flags and offset untouched */
	fd = open("qcow2-bad-backing-inject.img", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 100, SEEK_SET), 100);
	fl = fcntl(fd, F_GETFL);
	assert_int_equal(imgscan_probe_set_fd(pr, fd, 0, 0), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	p = props_text(pr);
	assert_string_equal(p, udev);
	free(p);
	pos = lseek(fd, 0, SEEK_CUR);
	assert_int_equal(pos, 100);
	assert_int_equal(fcntl(fd, F_GETFL), fl);
	/* a size past the end is refused; within it, the volume is that long */
	assert_int_equal(imgscan_probe_set_fd(pr, fd, 0, sz + 1), 0);
	assert_int_equal(imgscan_probe_run(pr), -EINVAL);
	assert_int_equal(imgscan_probe_set_fd(pr, fd, 0, 65536), 0);
	assert_true(imgscan_probe_run(pr) >= 0);
	assert_int_equal(imgscan_probe_get_size(pr, &v), 0);
	assert_int_equal(v, 65536);
	close(fd);

	/* the same volume from memory: its first 64 KiB (the fixture, then zeros) and its size */
	head = fixture("bad/qcow2-bad-backing-inject.head", &hl);
	{
		char *h64 = calloc(1, 65536);

		assert_non_null(h64);
		memcpy(h64, head, hl);
		assert_int_equal(imgscan_probe_set_buffer(pr, h64, 65536, NULL, 0, sz), 0);
		assert_int_equal(imgscan_probe_run(pr), 1);
		p = props_text(pr);
		assert_string_equal(p, udev);
		free(p);
		free(h64);
		assert_int_equal(imgscan_probe_get_io(pr, NULL, NULL), -ENODATA);
	}
	/* 4 KiB only: the ISO 9660 block at 32 KiB (a polyglot's) is missing */
	assert_int_equal(imgscan_probe_set_buffer(pr, head, hl, NULL, 0, sz), 0);
	assert_int_equal(imgscan_probe_run(pr), -ENODATA);
	assert_non_null(strstr(imgscan_probe_strerror(pr), "needs the bytes at offset 32769"));
	/* ... which the caller may say is not there */
	assert_int_equal(imgscan_probe_set_flags(pr, IMGSCAN_PROBE_NO_CONTENT_SIGNATURES), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	p = props_text(pr);
	assert_string_equal(p, udev);
	free(p);
	assert_int_equal(imgscan_probe_set_flags(pr, 0), 0);
	assert_int_equal(imgscan_probe_set_buffer(pr, head, 48, NULL, 0, sz), 0);
	assert_int_equal(imgscan_probe_run(pr), -ENODATA);
	assert_int_equal(imgscan_probe_set_buffer(pr, head, hl, NULL, 0, hl - 1), -EINVAL);
	free(head);
	free(udev);
	free(json);
	imgscan_probe_free(pr);
}

/* a raw volume: run says 0 */
static void test_raw(void **state)
{
	static const uint8_t zero[4096];
	struct imgscan_probe *pr = imgscan_probe_new();

	assert_int_equal(imgscan_probe_set_buffer(pr, zero, sizeof(zero), NULL, 0, sizeof(zero)), 0);
	assert_int_equal(imgscan_probe_run(pr), 0);
	assert_string_equal(imgscan_probe_get_format(pr), "raw");
	assert_int_equal(imgscan_probe_get_property_count(pr), 0);
	assert_int_equal(imgscan_probe_is_dirty(pr), 0);
	imgscan_probe_free(pr);
}

/* a polyglot: ambiguous, every candidate, and --udev's single property */
static void test_ambiguous(void **state)
{
	struct imgscan_probe *pr = imgscan_probe_new();
	char path[PATH_MAX];
	const char *k, *v;
	size_t len;

	make_image("", "iso-qcow2-polyglot", path, sizeof(path));
	assert_int_equal(imgscan_probe_set_path(pr, path, 0), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_int_equal(imgscan_probe_is_ambiguous(pr), 1);
	assert_int_equal(imgscan_probe_get_candidate_count(pr), 2);
	assert_string_equal(imgscan_probe_get_candidate(pr, 0), "qcow2");
	assert_string_equal(imgscan_probe_get_candidate(pr, 1), "iso");
	assert_null(imgscan_probe_get_candidate(pr, 2));
	assert_int_equal(imgscan_probe_get_property_count(pr), 1);
	assert_int_equal(imgscan_probe_get_property(pr, 0, &k, &v, &len), 0);
	assert_string_equal(k, "ID_IMAGE_AMBIGUOUS");
	assert_string_equal(v, "qcow2,iso");
	assert_int_equal(imgscan_probe_get_property(pr, 1, &k, &v, &len), -ERANGE);
	/* without content signatures (udev found no filesystem) it is qcow2 alone */
	assert_int_equal(imgscan_probe_set_flags(pr, IMGSCAN_PROBE_NO_CONTENT_SIGNATURES), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_int_equal(imgscan_probe_is_ambiguous(pr), 0);
	imgscan_probe_free(pr);
}

/* the verdict: the checks by the command's names, reasons, waivers */
static void test_policy(void **state)
{
	struct imgscan_probe *pr = imgscan_probe_new();
	struct imgscan_policy *pol = imgscan_policy_new();
	char path[PATH_MAX];
	const char *reason = NULL;
	unsigned n = 0, i;
	int safe_seen = 0;

	assert_non_null(pol);
	for (; imgscan_check_name(n); n++)
		;
	assert_true(n >= 10);
	assert_string_equal(imgscan_check_name(0), "backing-file");
	assert_int_equal(imgscan_policy_allow(pol, "no-such-check"), -EINVAL);
	assert_int_equal(imgscan_policy_deny_formats(pol, "qcow9"), -EINVAL);
	assert_int_equal(imgscan_policy_expect_format(pol, "nonsense"), -EINVAL);
	assert_int_equal(imgscan_probe_check_failed(pr, "nonsense", NULL), -EINVAL);

	make_image("bad", "qcow2-bad-backing-inject", path, sizeof(path));
	assert_int_equal(imgscan_probe_set_path(pr, path, 0), 0);
	assert_int_equal(imgscan_probe_set_policy(pr, pol), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_int_equal(imgscan_probe_is_safe(pr), 0);
	assert_int_equal(imgscan_probe_check_failed(pr, "backing-file", &reason), 1);
	assert_non_null(reason);
	for (const char *c = reason; *c; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);
	assert_int_equal(imgscan_probe_check_failed(pr, "damaged", NULL), 0);
	/* --udev's ID_IMAGE_SAFE and ID_IMAGE_UNSAFE come first */
	for (i = 0; i < imgscan_probe_get_property_count(pr); i++) {
		const char *k, *v;

		imgscan_probe_get_property(pr, i, &k, &v, NULL);
		if (!strcmp(k, "ID_IMAGE_SAFE")) {
			assert_int_equal(i, 0);
			assert_string_equal(v, "0");
			safe_seen = 1;
		}
		if (!strcmp(k, "ID_IMAGE_UNSAFE"))
			assert_string_equal(v, "backing-file");
	}
	assert_true(safe_seen);

	/* waived: safe; the policy was copied, so changing it needs set_policy again */
	assert_int_equal(imgscan_policy_allow(pol, "backing-file"), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_int_equal(imgscan_probe_is_safe(pr), 0);
	assert_int_equal(imgscan_probe_set_policy(pr, pol), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_int_equal(imgscan_probe_is_safe(pr), 1);
	/* an expected format */
	assert_int_equal(imgscan_policy_expect_format(pol, "raw"), 0);
	assert_int_equal(imgscan_probe_set_policy(pr, pol), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_int_equal(imgscan_probe_check_failed(pr, "format-mismatch", NULL), 1);
	/* no policy: no verdict */
	assert_int_equal(imgscan_probe_set_policy(pr, NULL), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_int_equal(imgscan_probe_is_safe(pr), -ENODATA);
	imgscan_policy_free(pol);
	imgscan_probe_free(pr);
}

static void test_encoders(void **state)
{
	static const char in[] = "a b\n\"$`\\\xff";
	char out[64];

	assert_int_equal(imgscan_encode_udev(in, sizeof(in) - 1, out, sizeof(out)), 30);
	assert_string_equal(out, "a\\x20b\\x0a\\x22\\x24\\x60\\x5c\\xff");
	assert_true(imgscan_encode_udev_safe(in, sizeof(in) - 1, out, sizeof(out)) > 0);
	assert_null(strchr(out, '\n'));
	assert_null(strchr(out, ' '));
	assert_int_equal(imgscan_encode_shell(in, sizeof(in) - 1, out, sizeof(out)), 29);
	assert_string_equal(out, "\"a b\\x0a\\x22\\x24\\x60\\x5c\\xff\"");
	assert_int_equal(imgscan_encode_json(in, sizeof(in) - 1, out, sizeof(out)), 16);
	assert_string_equal(out, "\"a b\\n\\\"$`\\\\\xef\xbf\xbd\"");
	/* too small: -ENOSPC and a NUL-terminated prefix */
	assert_int_equal(imgscan_encode_shell(in, sizeof(in) - 1, out, 5), -ENOSPC);
	assert_int_equal(strlen(out), 4);
	assert_int_equal(imgscan_encode_udev(in, sizeof(in) - 1, out, 5), -ENOSPC);
	assert_true(strlen(out) < 5);
	assert_int_equal(imgscan_encode_json(in, sizeof(in) - 1, out, 3), -ENOSPC);
	assert_int_equal(imgscan_encode_udev(NULL, 1, out, sizeof(out)), -EINVAL);
	assert_string_equal(imgscan_version(), PACKAGE_VERSION);
}

/* features (an unknown bit with a hostile table name), the typed trees */
static void test_features_trees(void **state)
{
	struct imgscan_probe *pr = imgscan_probe_new();
	char path[PATH_MAX];
	const char *tok, *name, *key, *str;
	int kind, unknown, type;
	unsigned bit, n;
	size_t len;
	uint64_t u;
	int64_t i;

	make_image("bad", "qcow2-bad-unknown-feature", path, sizeof(path));
	assert_int_equal(imgscan_probe_set_path(pr, path, 0), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_int_equal(imgscan_probe_get_feature_count(pr), 1);
	assert_int_equal(imgscan_probe_get_feature(pr, 0, &tok, &kind, &bit, &unknown), 0);
	assert_string_equal(tok, "incompatible_bit_9");
	assert_int_equal(kind, IMGSCAN_FEATURE_INCOMPATIBLE);
	assert_int_equal(bit, 9);
	assert_int_equal(unknown, 1);
	assert_int_equal(imgscan_probe_get_feature(pr, 1, &tok, NULL, NULL, NULL), -ERANGE);
	/* the image's own name for the bit: untrusted bytes, with their length */
	assert_int_equal(imgscan_probe_get_feature_table_name(pr, 0, &name, &len), 0);
	assert_true(len > 5);
	assert_memory_equal(name, "evil\n$(touch PWNED)", 19);

	/* format-specific: the qcow2 "data" object, its first key compat */
	assert_string_equal(imgscan_probe_get_specific_type(pr), "qcow2");
	n = imgscan_probe_get_tree_count(pr, IMGSCAN_TREE_FORMAT_SPECIFIC);
	assert_true(n >= 5);
	assert_int_equal(imgscan_probe_get_tree_entry(pr, IMGSCAN_TREE_FORMAT_SPECIFIC, 0, &type,
	                                              &key, &str, &len, &u, &i), 0);
	assert_int_equal(type, IMGSCAN_ENTRY_STRING);
	assert_string_equal(key, "compat");
	assert_int_equal(len, 3);
	assert_memory_equal(str, "1.1", 3);
	for (unsigned k = 0; k < n; k++) {
		assert_int_equal(imgscan_probe_get_tree_entry(pr, IMGSCAN_TREE_FORMAT_SPECIFIC, k,
		                                              &type, &key, NULL, NULL, &u, NULL), 0);
		if (type == IMGSCAN_ENTRY_UINT && !strcmp(key, "refcount-bits"))
			assert_int_equal(u, 16);
	}
	assert_int_equal(imgscan_probe_get_tree_entry(pr, IMGSCAN_TREE_FORMAT_SPECIFIC, n, NULL,
	                                              NULL, NULL, NULL, NULL, NULL), -ERANGE);
	assert_int_equal(imgscan_probe_get_tree_entry(pr, 7, 0, NULL, NULL, NULL, NULL, NULL, NULL),
	                 -EINVAL);
	/* no --deep: the deep tree is empty */
	assert_int_equal(imgscan_probe_get_tree_count(pr, IMGSCAN_TREE_DEEP), 0);
	imgscan_probe_free(pr);
}

struct collected {
	size_t n;
	size_t idx[512];
	int rc[512];
	char props[512][8192];
	size_t stop_at;
};

static int collect(const struct imgscan_probe *pr, int rc, size_t idx, void *userdata)
{
	struct collected *c = userdata;
	char *p;

	assert_true(c->n < 512);
	c->idx[c->n] = idx;
	c->rc[c->n] = rc;
	if (rc >= 0) {
		p = props_text(pr);
		snprintf(c->props[c->n], sizeof(c->props[0]), "%s", p);
		free(p);
		assert_null(imgscan_probe_strerror(pr));
	} else {
		snprintf(c->props[c->n], sizeof(c->props[0]), "%s", imgscan_probe_strerror(pr));
	}
	c->n++;
	return c->stop_at && c->n == c->stop_at;
}

/* many volumes, four workers: the results in input order, each as a single probe says */
static void test_batch(void **state)
{
	static const char *const names[] = {
		"qcow2-bad-backing-inject", "qcow2-bad-backing-utf8", "qcow2-bad-backing-1023",
	};
	struct imgscan_batch *b = imgscan_batch_new();
	struct imgscan_probe *pr = imgscan_probe_new();
	struct collected *c = calloc(1, sizeof(*c));
	char path[3][PATH_MAX], missing[PATH_MAX];
	size_t n = 0;
	int fd;

	assert_non_null(b);
	assert_non_null(c);
	for (unsigned i = 0; i < 3; i++)
		make_image("bad", names[i], path[i], sizeof(path[i]));
	snprintf(missing, sizeof(missing), "%s/missing.img", tmpdir);
	fd = open(path[1], O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(imgscan_batch_set_jobs(b, 0), -EINVAL);
	assert_int_equal(imgscan_batch_set_jobs(b, 65), -EINVAL);
	assert_int_equal(imgscan_batch_set_jobs(b, 64), 0);
	assert_int_equal(imgscan_batch_set_jobs(b, 4), 0);
	assert_int_equal(imgscan_batch_set_flags(b, 1u << 20), -EINVAL);
	assert_int_equal(imgscan_batch_run(b, NULL, c), -EINVAL);
	/* 300 volumes: several chunks per worker, the window wraps */
	for (; n < 300; n++) {
		ssize_t r;

		if (n % 50 == 7)
			r = imgscan_batch_add_path(b, missing, 0);
		else if (n % 50 == 8)
			r = imgscan_batch_add_fd(b, fd, 0, 0);
		else
			r = imgscan_batch_add_path(b, path[n % 3], 0);
		assert_int_equal(r, (ssize_t)n);
	}
	assert_int_equal(imgscan_batch_run(b, collect, c), 0);
	assert_int_equal(c->n, n);
	for (size_t i = 0; i < n; i++) {
		const char *want = i % 50 == 8 ? path[1] : path[i % 3];
		char *p;

		assert_int_equal(c->idx[i], i);
		if (i % 50 == 7) {
			assert_int_equal(c->rc[i], -ENOENT);
			assert_non_null(strstr(c->props[i], missing));
			continue;
		}
		assert_int_equal(c->rc[i], 1);
		assert_int_equal(imgscan_probe_set_path(pr, want, 0), 0);
		assert_int_equal(imgscan_probe_run(pr), 1);
		p = props_text(pr);
		assert_string_equal(c->props[i], p);
		free(p);
	}
	/* the callback stops it: no further call */
	memset(c, 0, sizeof(*c));
	c->stop_at = 40;
	assert_int_equal(imgscan_batch_run(b, collect, c), -ECANCELED);
	assert_int_equal(c->n, 40);
	/* one worker, and a policy for every volume */
	{
		struct imgscan_policy *pol = imgscan_policy_new();

		memset(c, 0, sizeof(*c));
		assert_int_equal(imgscan_batch_set_jobs(b, 1), 0);
		assert_int_equal(imgscan_batch_set_policy(b, pol), 0);
		imgscan_policy_free(pol);
		assert_int_equal(imgscan_batch_run(b, collect, c), 0);
		assert_int_equal(c->n, n);
		assert_non_null(strstr(c->props[0], "ID_IMAGE_SAFE=0\nID_IMAGE_UNSAFE=backing-file\n"));
	}
	close(fd);
	free(c);
	imgscan_probe_free(pr);
	imgscan_batch_free(b);
	imgscan_batch_free(NULL);
}

/* ---- IMGSCAN_0.2 ------------------------------------------------------------------ */

/* head, and tail (NULL: none) at the end, as a sparse file tmpdir/<name>.img of size bytes */
static void write_image(const char *name, const char *head, size_t hl, const char *tail,
                        size_t tl, uint64_t size, char *path, size_t pathlen)
{
	int fd;

	snprintf(path, pathlen, "%s/%s.img", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	if (hl)
		assert_int_equal(pwrite(fd, head, hl, 0), (ssize_t)hl);
	if (tl)
		assert_int_equal(pwrite(fd, tail, tl, (off_t)(size - tl)), (ssize_t)tl);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

/* a failure as (errno, operation, text), and the error object --json prints for it */
static void test_error_parts(void **state)
{
	struct imgscan_probe *pr = imgscan_probe_new();
	char path[PATH_MAX];
	const char *op = NULL, *text = "x", *json;
	int err = 0;

	assert_int_equal(imgscan_probe_get_error(pr, &err, &op, &text), -ENODATA);
	assert_int_equal(imgscan_probe_get_json(pr, &json), -ENODATA);
	/* every check has its summary, as imgscan --help lists them */
	for (unsigned i = 0; imgscan_check_name(i); i++)
		assert_true(imgscan_check_summary(i) && *imgscan_check_summary(i));
	assert_null(imgscan_check_summary(1000));
	snprintf(path, sizeof(path), "%s/missing.img", tmpdir);
	assert_int_equal(imgscan_probe_set_path(pr, path, 0), 0);
	assert_int_equal(imgscan_probe_run(pr), -ENOENT);
	assert_int_equal(imgscan_probe_get_error(pr, &err, &op, &text), 0);
	assert_int_equal(err, -ENOENT);
	assert_string_equal(op, "open");
	assert_null(text);
	{
		uint64_t reads = 7, bytes = 7;

		/* not opened: no read */
		assert_int_equal(imgscan_probe_get_io(pr, &reads, &bytes), 0);
		assert_int_equal(reads, 0);
		assert_int_equal(bytes, 0);
	}
	assert_int_equal(imgscan_probe_get_json(pr, &json), 0);
	assert_non_null(strstr(json, "\"error\": \"No such file or directory\""));
	assert_non_null(strstr(json, "\"error-op\": \"open\""));
	assert_null(strstr(json, "\"format\""));
	/* a success clears it */
	make_image("bad", "qcow2-bad-backing-inject", path, sizeof(path));
	assert_int_equal(imgscan_probe_set_path(pr, path, 0), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_int_equal(imgscan_probe_get_error(pr, NULL, NULL, NULL), -ENODATA);
	/* a buffer's failure has no error object (there is no path to name) */
	assert_int_equal(imgscan_probe_set_buffer(pr, "x", 1, NULL, 0, 1ull << 30), 0);
	assert_int_equal(imgscan_probe_run(pr), -ENODATA);
	assert_int_equal(imgscan_probe_get_error(pr, &err, &op, NULL), 0);
	assert_int_equal(err, -ENODATA);
	assert_string_equal(op, "read");
	assert_int_equal(imgscan_probe_get_json(pr, &json), -ENODATA);
	imgscan_probe_free(pr);
}

/* image-end-offset (--deep), a footer-only candidate, the read mode, content errors */
static void test_more_facts(void **state)
{
	struct imgscan_probe *pr = imgscan_probe_new();
	char path[PATH_MAX], *head, *tail, *sz;
	size_t hl, tl, sl;
	uint64_t v = 0;
	int m;

	/* qemu-img check says image-end-offset 69632 (fixtures/README) */
	head = fixture("qcow2-deep-snap.head", &hl);
	tail = fixture("qcow2-deep-snap.tail", &tl);
	sz = fixture("qcow2-deep-snap.size", &sl);
	write_image("deep-snap", head, hl, tail, tl, strtoull(sz, NULL, 10), path, sizeof(path));
	free(head);
	free(tail);
	free(sz);
	assert_int_equal(imgscan_probe_set_path(pr, path, 0), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_int_equal(imgscan_probe_get_image_end_offset(pr, &v), -ENODATA);
	assert_int_equal(imgscan_probe_set_flags(pr, IMGSCAN_PROBE_DEEP), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_int_equal(imgscan_probe_get_image_end_offset(pr, &v), 0);
	assert_int_equal(v, 69632);
	assert_string_equal(imgscan_probe_get_version_text(pr), "3");
	assert_int_equal(imgscan_probe_has_footer_candidates(pr), 0);
	m = imgscan_probe_get_read_mode(pr);
	assert_true(m == IMGSCAN_READ_DIRECT || m == IMGSCAN_READ_DIRECT_REFUSED);
	assert_int_equal(imgscan_probe_get_content_error(pr), 0);
	assert_int_equal(imgscan_probe_set_flags(pr, IMGSCAN_PROBE_NO_DIRECT), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_int_equal(imgscan_probe_get_read_mode(pr), IMGSCAN_READ_BUFFERED);

	/* a qcow2 header at the start and a fixed VHD's footer at the end: qcow2 stands */
	head = fixture("qcow2-v3.head", &hl);
	tail = fixture("vpc-fixed-64M.tail", &tl);
	sz = fixture("vpc-fixed-64M.size", &sl);
	assert_int_equal(imgscan_probe_set_flags(pr, 0), 0);
	write_image("qcow2-vhd", head, hl, tail, tl, strtoull(sz, NULL, 10), path, sizeof(path));
	assert_int_equal(imgscan_probe_set_path(pr, path, 0), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_string_equal(imgscan_probe_get_format(pr), "qcow2");
	assert_int_equal(imgscan_probe_is_ambiguous(pr), 0);
	assert_int_equal(imgscan_probe_has_footer_candidates(pr), 1);
	assert_int_equal(imgscan_probe_get_candidate_count(pr), 2);
	assert_string_equal(imgscan_probe_get_candidate(pr, 1), "vpc");
	/* without the footer: no candidate */
	write_image("qcow2-vhd", head, hl, NULL, 0, strtoull(sz, NULL, 10), path, sizeof(path));
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_int_equal(imgscan_probe_has_footer_candidates(pr), 0);
	assert_int_equal(imgscan_probe_get_candidate_count(pr), 0);
	/* vpc writes its version major.minor */
	assert_int_equal(imgscan_probe_set_buffer(pr, tail, tl, tail, tl, tl), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	assert_string_equal(imgscan_probe_get_format(pr), "vpc");
	assert_string_equal(imgscan_probe_get_version_text(pr), "1.0");
	/* a memory volume was not read */
	assert_int_equal(imgscan_probe_set_buffer(pr, head, 512, NULL, 0, 4096), 0);
	assert_true(imgscan_probe_run(pr) >= 0);
	assert_int_equal(imgscan_probe_get_read_mode(pr), -ENODATA);
	free(head);
	free(tail);
	free(sz);
	imgscan_probe_free(pr);
}

/* --export's properties: the header's bytes; --udev's: udev-safe */
static void test_raw_properties(void **state)
{
	struct imgscan_probe *pr = imgscan_probe_new();
	char path[PATH_MAX];
	const char *k, *v, *rk, *rv;
	size_t len, rlen;
	unsigned n, differ = 0;

	assert_int_equal(imgscan_probe_get_raw_property_count(pr), 0);
	make_image("bad", "qcow2-bad-backing-inject", path, sizeof(path));
	assert_int_equal(imgscan_probe_set_path(pr, path, 0), 0);
	assert_int_equal(imgscan_probe_run(pr), 1);
	n = imgscan_probe_get_property_count(pr);
	assert_true(n > 0);
	assert_int_equal(imgscan_probe_get_raw_property_count(pr), n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(imgscan_probe_get_property(pr, i, &k, &v, &len), 0);
		assert_int_equal(imgscan_probe_get_raw_property(pr, i, &rk, &rv, &rlen), 0);
		assert_string_equal(k, rk);
		if (len != rlen || memcmp(v, rv, len)) {
			/* only the names read from the header differ, and only by their bytes */
			assert_string_equal(k, "ID_IMAGE_BACKING_FILE");
			assert_non_null(memchr(rv, '\n', rlen));
			assert_null(memchr(v, '\n', len));
			differ++;
		}
	}
	assert_int_equal(differ, 1);
	assert_int_equal(imgscan_probe_get_raw_property(pr, n, &rk, &rv, &rlen), -ERANGE);
	imgscan_probe_free(pr);
}

/* udev's blkid named the content: the verdict sees it, libblkid is not asked */
static void test_udev_content(void **state)
{
	static const char zero[65536];
	struct imgscan_probe *pr = imgscan_probe_new();
	struct imgscan_policy *pol = imgscan_policy_new();
	char path[PATH_MAX];

	write_image("zero", zero, sizeof(zero), NULL, 0, sizeof(zero), path, sizeof(path));
	assert_int_equal(imgscan_probe_set_path(pr, path, 0), 0);
	assert_int_equal(imgscan_probe_set_policy(pr, pol), 0);
	assert_int_equal(imgscan_probe_run(pr), 0);
	assert_null(imgscan_probe_get_content(pr, "type"));
	assert_int_equal(imgscan_probe_set_udev_content(pr, "ext4", "filesystem"), 0);
	assert_int_equal(imgscan_probe_run(pr), 0);
	assert_string_equal(imgscan_probe_get_content(pr, "type"), "ext4");
	assert_string_equal(imgscan_probe_get_content(pr, "usage"), "filesystem");
	/* nothing found by udev: no content */
	assert_int_equal(imgscan_probe_set_udev_content(pr, "", NULL), 0);
	assert_int_equal(imgscan_probe_run(pr), 0);
	assert_null(imgscan_probe_get_content(pr, "type"));
	assert_int_equal(imgscan_probe_set_udev_content(NULL, "ext4", NULL), -EINVAL);
	imgscan_policy_free(pol);
	imgscan_probe_free(pr);
}

struct checked {
	size_t calls;
	size_t idx;
	dev_t rdev;
	int rc[4];
	char err[4][256];
};

static const char *check_skip(size_t idx, const char *path, dev_t rdev, void *userdata)
{
	struct checked *c = userdata;

	(void)path;
	c->calls++;
	c->idx = idx;
	c->rdev = rdev;
	return "a device the test says not to open";
}

static int check_collect(const struct imgscan_probe *pr, int rc, size_t idx, void *userdata)
{
	struct checked *c = userdata;
	const char *text = NULL, *op = NULL;
	int err = 0;

	c->rc[idx] = rc;
	if (rc < 0 && imgscan_probe_get_error(pr, &err, &op, &text) == 0)
		snprintf(c->err[idx], sizeof(c->err[idx]), "%d %s %s", err, op, text ? text : "-");
	return 0;
}

/* the check hook: asked about block devices only, before open; a skip is never opened */
static void test_batch_check(void **state)
{
	struct imgscan_batch *b = imgscan_batch_new();
	struct checked c;
	char file[PATH_MAX], node[PATH_MAX + 8];

	make_image("bad", "qcow2-bad-backing-utf8", file, sizeof(file));
	assert_int_equal(imgscan_batch_set_check(NULL, check_skip, &c), -EINVAL);
	assert_int_equal(imgscan_batch_set_timeout(NULL, 1), -EINVAL);
	assert_int_equal(imgscan_batch_set_timeout(b, 10), 0);
	assert_int_equal(imgscan_batch_set_check(b, check_skip, &c), 0);
	assert_int_equal(imgscan_batch_add_path(b, file, 0), 0);
	snprintf(node, sizeof(node), "%s/blk", tmpdir);
	/* a block device node of a major no driver has: opening it would fail with ENXIO */
	if (mknod(node, S_IFBLK | 0600, makedev(240, 77)) == 0)
		assert_int_equal(imgscan_batch_add_path(b, node, 0), 1);
	for (unsigned jobs = 1; jobs <= 2; jobs++) {
		memset(&c, 0, sizeof(c));
		assert_int_equal(imgscan_batch_set_jobs(b, jobs), 0);
		assert_int_equal(imgscan_batch_run(b, check_collect, &c), 0);
		assert_int_equal(c.rc[0], 1); /* a file: the hook is not asked */
		if (access(node, F_OK) != 0) {
			assert_int_equal(c.calls, 0);
			continue;
		}
		assert_int_equal(c.calls, 1);
		assert_int_equal(c.idx, 1);
		assert_true(c.rdev == makedev(240, 77));
		assert_int_equal(c.rc[1], -EBUSY);
		assert_string_equal(c.err[1], "-16 open a device the test says not to open");
	}
	/* without the hook the node is opened: the driver is missing */
	if (access(node, F_OK) == 0) {
		memset(&c, 0, sizeof(c));
		assert_int_equal(imgscan_batch_set_check(b, NULL, NULL), 0);
		assert_int_equal(imgscan_batch_run(b, check_collect, &c), 0);
		assert_int_equal(c.calls, 0);
		assert_true(c.rc[1] == -ENXIO || c.rc[1] == -ENODEV);
	}
	imgscan_batch_free(b);
}

/* IMGSCAN_DEBUG=probe, read by the library itself: its trace on stderr (a child process) */
static void test_debug_trace(void **state)
{
	char path[PATH_MAX], out[PATH_MAX], *text;
	size_t len;
	pid_t pid;
	int st;

	make_image("bad", "qcow2-bad-backing-inject", path, sizeof(path));
	snprintf(out, sizeof(out), "%s/trace.err", tmpdir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		/* the variable is read once per process: a new one (main, trace_child) */
		setenv("IMGSCAN_DEBUG", "probe", 1);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(2);
		execl("/proc/self/exe", "test-lib", "--trace-child", path, (char *)NULL);
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	text = slurp(out, &len);
	assert_non_null(strstr(text, "imgscan: probe: "));
	assert_non_null(strstr(text, ": qcow2: magic \"QFI\\xfb\" at offset 0: found"));
	free(text);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* test_debug_trace's child: one probe of path, with IMGSCAN_DEBUG from the environment */
static int trace_child(const char *path)
{
	struct imgscan_probe *pr = imgscan_probe_new();
	int rc = 2;

	/* freed before the exit: LeakSanitizer would fail the child otherwise */
	if (pr && imgscan_probe_set_path(pr, path, 0) == 0)
		rc = imgscan_probe_run(pr) == 1 ? 0 : 3;
	imgscan_probe_free(pr);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--trace-child") == 0)
		return trace_child(argv[2]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),   cmocka_unit_test(test_path_fd_buffer),
		cmocka_unit_test(test_raw),      cmocka_unit_test(test_ambiguous),
		cmocka_unit_test(test_policy),   cmocka_unit_test(test_encoders),
		cmocka_unit_test(test_batch),    cmocka_unit_test(test_features_trees),
		cmocka_unit_test(test_error_parts), cmocka_unit_test(test_more_facts),
		cmocka_unit_test(test_raw_properties), cmocka_unit_test(test_udev_content),
		cmocka_unit_test(test_batch_check), cmocka_unit_test(test_debug_trace),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
