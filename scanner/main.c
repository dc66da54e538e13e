/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * imgscan: identify VM disk images (qcow2, vmdk, vhd, ...) on block devices
 * and files, without opening anything a header names.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "io/source.h"
#include "output/output.h"
#include "output/table.h"
#include "probe/probe.h"

enum mode {
	MODE_TABLE,
	MODE_JSON,
	MODE_UDEV,
	MODE_EXPORT,
};

enum {
	EXIT_OK = 0,
	EXIT_SOME_FAILED = 1,
	EXIT_USAGE = 2,
};

struct opts {
	enum mode mode;
	uint64_t offset;
	bool stats;
	bool no_direct;
	bool verbose;
	struct img_table_opts table;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: imgscan [options] PATH...\n"
	        "       imgscan --udev PATH\n"
	        "\n"
	        "Identify VM disk images (qcow2, qcow, qed, vmdk, vpc, vhdx, vdi, parallels, bochs,\n"
	        "cloop, dmg, luks) on block devices and regular files.  PATH is opened read-only;\n"
	        "no file named inside a header (backing file, data file, extent) is ever opened.\n"
	        "\n"
	        "Output:\n"
	        "  (default)            a table, one line per PATH\n"
	        "  -J, --json           one JSON document {\"images\": [...]}, fields named as\n"
	        "                       qemu-img info --output=json names them\n"
	        "      --udev           KEY=value lines for udev IMPORT{program} (one PATH);\n"
	        "                       nothing for a volume that holds no image\n"
	        "      --export         eval-safe DEVNAME=\"...\" / ID_IMAGE_*=\"...\" blocks\n"
	        "  -n, --noheadings     table without headings\n"
	        "  -b, --bytes          sizes in bytes in the table\n"
	        "  -r, --raw            raw table (no alignment)\n"
	        "\n"
	        "Probing:\n"
	        "      --offset BYTES   the image starts at this byte offset inside each PATH\n"
	        "      --no-direct      buffered reads instead of O_DIRECT\n"
	        "      --stats          per-volume I/O counters (JSON \"scan\" object, table columns)\n"
	        "  -v, --verbose        say on stderr how each PATH was read\n"
	        "\n"
	        "  -h, --help           this help\n"
	        "  -V, --version        version\n"
	        "\n"
	        "Exit status:\n"
	        "  0  every PATH was probed (holding an image or not)\n"
	        "  1  at least one PATH could not be probed; the others were still reported\n"
	        "  2  usage error\n");
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static const char *error_hint(int err)
{
	switch (-err) {
	case ENOENT:
	case ENXIO:
	case ENODEV:
		return "check that the path exists";
	case EACCES:
	case EPERM:
		return "run as root, or read the udev database instead";
	case ENOTBLK:
		return "give a block device or a regular file";
	case EIO:
		return "the device failed or shrank while being read; see the kernel log";
	case EINVAL:
		return "check --offset against the size of the volume";
	case E2BIG:
		return "the header points further than imgscan reads; the image is damaged or hostile";
	case ENOMEDIUM:
		return "insert a medium";
	default:
		return NULL;
	}
}

static const char *error_text(int err)
{
	if (err == -ENOTBLK)
		return "not a regular file or block device";
	return strerror(-err);
}

static void report_error(const struct img_scan *s)
{
	const char *hint = error_hint(s->error);

	fprintf(stderr, "imgscan: %s: cannot %s: %s%s%s%s\n", s->path, s->error_op,
	        error_text(s->error), hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
}

static void scan_one(const char *path, const struct opts *o, struct img_scan *s)
{
	struct img_source *src = NULL;
	struct img_reader r;
	int rc;

	memset(s, 0, sizeof(*s));
	s->path = path;
	s->offset = o->offset;

	rc = img_source_open(path, o->offset, o->no_direct, &src);
	if (rc < 0) {
		s->error = rc;
		s->error_op = "open";
		return;
	}
	img_source_reader(src, &r);
	s->size = r.size;
	s->res = malloc(sizeof(*s->res));
	if (!s->res) {
		img_source_free(src);
		s->error = -ENOMEM;
		s->error_op = "probe";
		return;
	}
	rc = img_probe(&r, s->res);
	/* close at once: an open fd makes a device-mapper remove fail with EBUSY */
	img_source_close(src);
	s->stats = *img_source_stats(src);
	s->have_stats = o->stats;
	img_source_free(src);
	if (rc < 0) {
		s->error = rc;
		s->error_op = "read";
		free(s->res);
		s->res = NULL;
		return;
	}
	if (o->verbose)
		fprintf(stderr, "imgscan: %s: %u read(s), %" PRIu64 " bytes, %s%s\n", path,
		        s->stats.reads, s->stats.bytes, s->stats.direct ? "O_DIRECT" : "buffered",
		        s->stats.direct_refused ? " (O_DIRECT refused, fell back to buffered reads)" : "");

	if (s->res->format == IMG_FMT_RAW && o->mode != MODE_UDEV) {
		rc = img_content_probe(path, o->offset, s->size, &s->content);
		if (rc < 0 && o->verbose)
			fprintf(stderr, "imgscan: %s: content not probed: %s\n", path, strerror(-rc));
	}
}

int main(int argc, char **argv)
{
	enum {
		OPT_UDEV = 0x100,
		OPT_EXPORT,
		OPT_OFFSET,
		OPT_STATS,
		OPT_NO_DIRECT,
	};
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "udev", no_argument, NULL, OPT_UDEV },
		{ "export", no_argument, NULL, OPT_EXPORT },
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "no-direct", no_argument, NULL, OPT_NO_DIRECT },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "raw", no_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .mode = MODE_TABLE };
	struct img_scan *scans;
	const struct img_scan **ptrs;
	int c, n, failed = 0;

	while ((c = getopt_long(argc, argv, "JnbrvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'J':
			o.mode = MODE_JSON;
			break;
		case OPT_UDEV:
			o.mode = MODE_UDEV;
			break;
		case OPT_EXPORT:
			o.mode = MODE_EXPORT;
			break;
		case OPT_OFFSET:
			if (parse_u64(optarg, &o.offset) < 0) {
				fprintf(stderr, "imgscan: --offset: '%s' is not a byte count\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_STATS:
			o.stats = true;
			break;
		case OPT_NO_DIRECT:
			o.no_direct = true;
			break;
		case 'n':
			o.table.noheadings = true;
			break;
		case 'b':
			o.table.bytes = true;
			break;
		case 'r':
			o.table.raw = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("imgscan %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'imgscan --help' for more information.\n");
			return EXIT_USAGE;
		}
	}
	n = argc - optind;
	if (n < 1) {
		fprintf(stderr, "imgscan: no PATH given\nTry 'imgscan --help' for more information.\n");
		return EXIT_USAGE;
	}
	if (o.mode == MODE_UDEV && n != 1) {
		fprintf(stderr, "imgscan: --udev takes exactly one PATH\n");
		return EXIT_USAGE;
	}
	o.table.stats = o.stats;

	scans = calloc((size_t)n, sizeof(*scans));
	ptrs = calloc((size_t)n, sizeof(*ptrs));
	if (!scans || !ptrs) {
		fprintf(stderr, "imgscan: out of memory\n");
		return EXIT_SOME_FAILED;
	}
	for (int i = 0; i < n; i++) {
		scan_one(argv[optind + i], &o, &scans[i]);
		ptrs[i] = &scans[i];
		if (scans[i].error) {
			report_error(&scans[i]);
			failed++;
		}
	}

	switch (o.mode) {
	case MODE_JSON:
		img_out_json(stdout, ptrs, (size_t)n);
		break;
	case MODE_UDEV:
		img_out_udev(stdout, &scans[0]);
		break;
	case MODE_EXPORT:
		for (int i = 0; i < n; i++)
			img_out_export(stdout, &scans[i], i == 0);
		break;
	case MODE_TABLE:
		if (img_out_table(stdout, ptrs, (size_t)n, &o.table) < 0) {
			fprintf(stderr, "imgscan: cannot print the table\n");
			failed++;
		}
		break;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "imgscan: write error on standard output\n");
		failed++;
	}
	for (int i = 0; i < n; i++)
		free(scans[i].res);
	free(scans);
	free(ptrs);
	return failed ? EXIT_SOME_FAILED : EXIT_OK;
}
