/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-probe: a libFuzzer target over the whole probe core and every output
 * writer (docs/security.md, rule 10; the layout of
 * util-linux libblkid/src/fuzz.c and systemd src/fuzz/fuzz-main.c).
 *
 * Each input is probed four ways:
 *   - as the whole volume, through img_mem_reader (an exact-size heap copy,
 *     so ASan sees any read past the end);
 *   - as the LAST bytes of a larger sparse volume (zeros before it), so the
 *     tail formats (fixed vpc footer, dmg koly) are fuzzed too;
 * each with and without IMG_PROBE_DEEP.  Every result is then rendered by
 * img_out_udev, img_out_export and img_out_json into a memory stream (the
 * JSON object also on one line, as --monitor prints it), and its header
 * strings as Prometheus label values (img_prom_label, what the command's
 * --prometheus writer puts them through) into a sample line; the udev,
 * export and Prometheus grammars and the JSON texts' lack of raw control
 * characters are checked (docs/security.md,
 * rule 4): a violation aborts, so the fuzzer reports it like a crash.
 *
 * Built with -fsanitize=fuzzer (and -DFUZZING_ENGINE) it is a libFuzzer
 * target (tools/fuzz.sh).  Without, main() replays every file of the
 * directories and files given as arguments; without arguments it replays
 * $FIXTURES and $FIXTURES/bad (make check runs it that way).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dl/dl-jsonc.h"
#include "io/source.h"
#include "output/out-json.h"
#include "output/output.h"
#include "probe/probe.h"

/* inputs above this are cut (the probes read at most a few MiB anyway) */
#define FUZZ_MAX_INPUT (1u << 20)
/* zeros put before the input in the tail-placed volume */
#define FUZZ_TAIL_PAD (8u << 20)
/* the real source's read budgets (source.h) */
#define FUZZ_MAX_BUFS 4096

/*
 * A sparse volume: zeros, then data[0..len) ending at size.  Every get()
 * returns its own exact-size heap buffer (ASan sees over-reads) and the
 * total is capped like the fd source caps it.
 */
struct fuzz_sparse {
	const uint8_t *data;
	size_t len;
	uint64_t size;
	uint64_t bytes;
	uint64_t cap;
	unsigned n;
	void *bufs[FUZZ_MAX_BUFS];
};

static int sparse_get(void *ctx, uint64_t off, size_t len, const uint8_t **ret)
{
	struct fuzz_sparse *s = ctx;
	uint64_t start = s->size - s->len;
	uint8_t *b;

	if (off > s->size || len > s->size - off)
		return -ERANGE;
	if (len > s->cap - s->bytes || s->n >= FUZZ_MAX_BUFS)
		return -E2BIG;
	b = malloc(len ? len : 1);
	if (!b)
		return -ENOMEM;
	s->bytes += len;
	if (off + len <= start) {
		memset(b, 0, len);
	} else if (off >= start) {
		memcpy(b, s->data + (off - start), len);
	} else {
		size_t z = (size_t)(start - off);

		memset(b, 0, z);
		memcpy(b + z, s->data, len - z);
	}
	s->bufs[s->n++] = b;
	*ret = b;
	return 0;
}

static void sparse_free(struct fuzz_sparse *s)
{
	for (unsigned i = 0; i < s->n; i++)
		free(s->bufs[i]);
	s->n = 0;
}

static void check_fail(const char *what, const char *out, size_t len)
{
	fprintf(stderr, "fuzz-probe: %s output grammar violated:\n%.*s\n", what,
	        (int)(len > 4096 ? 4096 : len), out);
	abort();
}

/* --udev: every line ^ID_IMAGE_[A-Z0-9_]+=[[:print:]]*$ */
static void check_udev(const char *out, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t k = i;

		if (len - i < 9 || memcmp(out + i, "ID_IMAGE_", 9))
			check_fail("udev", out, len);
		k += 9;
		while (k < len && ((out[k] >= 'A' && out[k] <= 'Z') || (out[k] >= '0' && out[k] <= '9') ||
		                   out[k] == '_'))
			k++;
		if (k == i + 9 || k >= len || out[k] != '=')
			check_fail("udev", out, len);
		for (k++; k < len && out[k] != '\n'; k++) {
			unsigned char c = (unsigned char)out[k];

			if (c < 0x20 || c == 0x7f)
				check_fail("udev", out, len);
		}
		if (k >= len)
			check_fail("udev (no final newline)", out, len);
		i = k + 1;
	}
}

/* --export: NAME="v" lines, v printable ASCII with no " \ ` $ except \xHH */
static void check_export(const char *out, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t k = i;

		if (out[k] == '\n') {
			i++;
			continue;
		}
		while (k < len && ((out[k] >= 'A' && out[k] <= 'Z') || (out[k] >= '0' && out[k] <= '9') ||
		                   out[k] == '_'))
			k++;
		if (k == i || len - k < 3 || out[k] != '=' || out[k + 1] != '"')
			check_fail("export", out, len);
		for (k += 2; k < len && out[k] != '"'; k++) {
			unsigned char c = (unsigned char)out[k];

			if (c < 0x20 || c >= 0x7f || c == '`' || c == '$')
				check_fail("export", out, len);
			if (c == '\\') {
				if (len - k < 4 || out[k + 1] != 'x')
					check_fail("export", out, len);
				k += 3;
			}
		}
		if (k + 1 >= len || out[k] != '"' || out[k + 1] != '\n')
			check_fail("export", out, len);
		i = k + 2;
	}
}

/*
 * The Prometheus text format as imgscan writes it: "# HELP"/"# TYPE" lines
 * and samples NAME[{LABEL="VALUE",...}] VALUE; inside a value only \\, \"
 * and \n follow a backslash; no control byte but the line ends, no byte
 * that is not valid UTF-8 (a C1 control neither).
 */
static void check_prom(const char *out, size_t len)
{
	const unsigned char *s = (const unsigned char *)out;
	size_t i = 0;

	if (len == 0 || out[len - 1] != '\n')
		check_fail("prometheus", out, len);
	for (size_t k = 0; k < len;) {
		unsigned c = s[k], n;

		if ((c < 0x20 && c != '\n') || c == 0x7f)
			check_fail("prometheus", out, len);
		if (c < 0x80) {
			k++;
			continue;
		}
		n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (c < 0xc2 || c > 0xf4 || k + n > len || (c == 0xc2 && s[k + 1] < 0xa0))
			check_fail("prometheus", out, len);
		for (unsigned j = 1; j < n; j++)
			if ((s[k + j] & 0xc0) != 0x80)
				check_fail("prometheus", out, len);
		k += n;
	}
	while (i < len) {
		size_t k = i;

		if (out[k] == '#') {
			if (strncmp(out + k, "# HELP imgscan_", 15) != 0 &&
			    strncmp(out + k, "# TYPE imgscan_", 15) != 0)
				check_fail("prometheus", out, len);
			while (out[k] != '\n')
				k++;
			i = k + 1;
			continue;
		}
		while ((out[k] >= 'a' && out[k] <= 'z') || out[k] == '_')
			k++;
		if (k == i)
			check_fail("prometheus", out, len);
		if (out[k] == '{') {
			k++;
			while (out[k] != '}') {
				while ((out[k] >= 'a' && out[k] <= 'z') || out[k] == '_')
					k++;
				if (out[k] != '=' || out[k + 1] != '"')
					check_fail("prometheus", out, len);
				k += 2;
				while (out[k] != '"') {
					if (out[k] == '\n')
						check_fail("prometheus", out, len);
					if (out[k] == '\\') {
						if (!strchr("\\\"n", out[k + 1]) || out[k + 1] == '\0')
							check_fail("prometheus", out, len);
						k++;
					}
					k++;
				}
				k++;
				if (out[k] == ',')
					k++;
				else if (out[k] != '}')
					check_fail("prometheus", out, len);
			}
			k++;
		}
		if (out[k] != ' ')
			check_fail("prometheus", out, len);
		for (k++; out[k] != '\n'; k++)
			if (!strchr("0123456789.", out[k]))
				check_fail("prometheus", out, len);
		i = k + 1;
	}
}

/*
 * JSON text: no raw control character (C0, DEL, C1) but the pretty
 * printer's newlines, and none at all in a one-line text (--monitor).
 */
static void check_json(const char *what, const char *out, size_t len, bool one_line)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if ((c < 0x20 && (c != '\n' || one_line)) || c == 0x7f ||
		    (c == 0xc2 && i + 1 < len && (unsigned char)out[i + 1] >= 0x80 &&
		     (unsigned char)out[i + 1] <= 0x9f))
			check_fail(what, out, len);
	}
}

static void render(const struct img_result *res, uint64_t size, const uint8_t *head, size_t headlen)
{
	static struct img_scan scan;
	const struct img_scan *sp = &scan;
	struct img_policy pol;
	json_object *obj;
	char *buf = NULL;
	size_t blen = 0;
	FILE *f;

	memset(&scan, 0, sizeof(scan));
	scan.path = "/dev/fuzz";
	scan.size = size;
	scan.res = (struct img_result *)res;
	/* the verdict with every check armed (--check --expect-format raw ...) */
	img_policy_init(&pol);
	pol.expect_set = true;
	pol.deny = ~0u;
	pol.max_virtual_size_set = true;
	img_mbr_parse(head, headlen, &scan.content.mbr);
	img_verdict_compute(res, &scan.content, &pol, &scan.verdict);
	scan.checked = true;
	for (unsigned i = 0; i < _IMG_CHECK_MAX; i++)
		for (const char *c = scan.verdict.reason[i]; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				abort(); /* a reason is printable ASCII */

	f = open_memstream(&buf, &blen);
	if (!f)
		abort();
	img_out_udev(f, &scan);
	fclose(f);
	check_udev(buf, blen);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &blen);
	if (!f)
		abort();
	img_out_export(f, &scan, true);
	fclose(f);
	check_export(buf, blen);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &blen);
	if (!f)
		abort();
	img_out_json(f, &sp, 1);
	fclose(f);
	check_json("json", buf, blen, false);
	free(buf);

	/* the object as --monitor embeds it, on one line */
	obj = img_json_item_object(&scan);
	if (!obj)
		abort();
	buf = img_json_object_text(obj, false, "", &blen);
	if (!buf)
		abort();
	check_json("json one line", buf, blen, true);
	sym_json_object_put(obj);
	free(buf);

	/* the header strings as the --prometheus writer labels them */
	buf = NULL;
	f = open_memstream(&buf, &blen);
	if (!f)
		abort();
	{
		static char label[5 * IMG_STR_MAX + 1];
		const struct img_bytes *b[] = { &res->backing_file, &res->backing_format, &res->data_file };
		bool first = true;

		fputs("imgscan_image_info{", f);
		for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
			if (!b[i]->present || !b[i]->len)
				continue;
			if (img_prom_label(b[i]->data, b[i]->len, label, sizeof(label)) < 0)
				abort(); /* 5 bytes a byte always fit */
			fprintf(f, "%sname=\"%s\"", first ? "" : ",", label);
			first = false;
		}
		fputs("} 1\n", f);
	}
	fclose(f);
	check_prom(buf, blen);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct img_result *res;
	static struct fuzz_sparse *sp;
	uint8_t *copy;

	if (size > FUZZ_MAX_INPUT)
		size = FUZZ_MAX_INPUT;
	if (!res)
		res = malloc(sizeof(*res));
	if (!sp)
		sp = malloc(sizeof(*sp));
	if (!res || !sp)
		abort();

	/* an exact-size copy: libFuzzer's buffer may have slack after it */
	copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	if (size)
		memcpy(copy, data, size);

	for (unsigned deep = 0; deep < 2; deep++) {
		struct img_mem_source m;
		struct img_reader r;

		/* 1. the input is the whole volume */
		img_mem_reader(&m, copy, size, &r);
		r.flags = deep ? IMG_PROBE_DEEP : 0;
		(void)img_probe(&r, res);
		render(res, r.size, copy, size);

		/* 2. the input ends a larger volume */
		memset(sp, 0, sizeof(*sp));
		sp->data = copy;
		sp->len = size;
		sp->size = (uint64_t)size + FUZZ_TAIL_PAD;
		sp->cap = deep ? IMG_SOURCE_DEEP_CAP : IMG_SOURCE_BYTE_CAP;
		r.ctx = sp;
		r.size = sp->size;
		r.block_size = 512;
		r.flags = deep ? IMG_PROBE_DEEP : 0;
		r.get = sparse_get;
		r.trace = NULL;
		(void)img_probe(&r, res);
		render(res, r.size, copy, size);
		sparse_free(sp);
	}
	free(copy);
	return 0;
}

#ifndef FUZZING_ENGINE
/* Standalone replay: every regular file named, or found in a named directory. */

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t len;

	if (!f) {
		fprintf(stderr, "fuzz-probe: %s: %s\n", path, strerror(errno));
		return 1;
	}
	buf = malloc(FUZZ_MAX_INPUT);
	if (!buf) {
		fclose(f);
		return 1;
	}
	len = fread(buf, 1, FUZZ_MAX_INPUT, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int replay(const char *path, unsigned *count)
{
	struct stat st;
	int bad = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "fuzz-probe: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (S_ISDIR(st.st_mode)) {
		struct dirent **ents;
		int n = scandir(path, &ents, NULL, alphasort);

		if (n < 0) {
			fprintf(stderr, "fuzz-probe: %s: %s\n", path, strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			char *sub;

			if (ents[i]->d_name[0] != '.') {
				sub = malloc(strlen(path) + strlen(ents[i]->d_name) + 2);
				if (!sub)
					abort();
				sprintf(sub, "%s/%s", path, ents[i]->d_name);
				/* one level: fixtures/ then fixtures/bad/ as named */
				if (stat(sub, &st) == 0 && S_ISREG(st.st_mode)) {
					bad |= replay_file(sub);
					(*count)++;
				}
				free(sub);
			}
			free(ents[i]);
		}
		free(ents);
		return bad;
	}
	bad = replay_file(path);
	(*count)++;
	return bad;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int bad = 0;

	if (argc < 2) {
		/* under make check: $FIXTURES and $FIXTURES/bad (AM_TESTS_ENVIRONMENT) */
		const char *dir = getenv("FIXTURES");
		char *sub;

		if (!dir || !*dir) {
			fprintf(stderr, "usage: %s FILE|DIR... (or FIXTURES=DIR in the environment)\n",
			        argv[0]);
			return 2;
		}
		sub = malloc(strlen(dir) + sizeof("/bad"));
		if (!sub)
			return 1;
		sprintf(sub, "%s/bad", dir);
		bad |= replay(dir, &count);
		bad |= replay(sub, &count);
		free(sub);
	}
	for (int i = 1; i < argc; i++)
		bad |= replay(argv[i], &count);
	printf("fuzz-probe: %u inputs replayed\n", count);
	return bad;
}
#endif
