/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * imgscan: identify VM disk images (qcow2, vmdk, vhd, ...) on block devices
 * and files, without opening anything a header names.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check/check.h"
#include "content.h"
#include "enum/device.h"
#include "enum/guard.h"
#include "io/source.h"
#include "monitor.h"
#include "output/output.h"
#include "output/table.h"
#include "probe/probe.h"
#include "scan/scan.h"
#include "targets.h"
#include "trace.h"
#include "output/write-file.h"

enum mode {
	MODE_TABLE,
	MODE_JSON,
	MODE_UDEV,
	MODE_EXPORT,
	MODE_PROM,
};

enum {
	EXIT_OK = 0,
	EXIT_SOME_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_UNSAFE = 3,
};

#define IMG_STR_(x) #x
#define IMG_STRINGIFY(x) IMG_STR_(x)
#define MAX_JOBS IMG_SCAN_MAX_JOBS
/* --udev finishes well inside udev's event budget (180 s by default) */
#define UDEV_DEADLINE_SEC 30
/* --timeout: how long a read of a bulk scan may take before it is left behind */
#define DEFAULT_TIMEOUT_SEC 10
#define MAX_TIMEOUT_SEC 86400

struct opts {
	enum mode mode;
	struct img_scan_opts scan; /* what the scan engine needs */
	bool monitor;
	bool cached;
	const char *write_path; /* --write FILE */
	struct img_select sel; /* --lvm, --vg */
	struct img_table_opts table;
};


static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: imgscan [options] [PATH...]\n"
	        "       imgscan --udev PATH\n"
	        "\n"
	        "Identify VM disk images (qcow2, qcow, qed, vmdk, vpc, vhdx, vdi, parallels, bochs,\n"
	        "cloop, dmg, luks) on block devices and regular files.  PATH is opened read-only;\n"
	        "no file named inside a header (backing file, data file, extent) is ever opened.\n"
	        "Without PATH, every block device is scanned (disks, partitions, loop devices with\n"
	        "a backing file, device-mapper devices and LVs); devices the device-mapper/LVM\n"
	        "flags protect, LVM internal layers, suspended and empty devices are skipped\n"
	        "(listed with -v).\n"
	        "\n"
	        "Output:\n"
	        "  (default)            a table, one line per PATH\n"
	        "  -J, --json           one JSON document {\"images\": [...]}, fields named as\n"
	        "                       qemu-img info --output=json names them\n"
	        "      --udev           KEY=value lines for udev IMPORT{program} (one PATH);\n"
	        "                       nothing for a volume that holds no image\n"
	        "      --export         eval-safe DEVNAME=\"...\" / ID_IMAGE_*=\"...\" blocks\n"
	        "      --prometheus     metrics in the Prometheus text format (node_exporter's\n"
	        "                       textfile collector): imgscan_image_info and more\n"
	        "      --write FILE     write the output into FILE atomically (a temporary file\n"
	        "                       in FILE's directory, renamed over FILE when complete)\n"
	        "  -n, --noheadings     table without headings\n"
	        "  -b, --bytes          sizes in bytes in the table\n"
	        "  -r, --raw            raw table (no alignment)\n"
	        "  -o, --output LIST    table columns, comma-separated; +LIST adds to the defaults\n"
	        "  -O, --output-all     every column\n"
	        "  -P, --pairs          NAME=\"value\" pairs, eval-safe (escaped like --export)\n"
	        "  -T, --tree           backing chains as a tree, resolved among the PATHs only\n"
	        "      --list-columns   the columns and what they show\n"
	        "      --monitor        one JSON line per block device add/change/remove event\n"
	        "                       (udev monitor), until SIGINT or SIGTERM\n"
	        "\n"
	        "      --cached         what the udev database holds (the ID_IMAGE_* values the\n"
	        "                       rule set), without opening any device: no root needed;\n"
	        "                       export lines, or JSON with -J\n"
	        "\n"
	        "Selecting (without PATH):\n"
	        "      --vg NAME        only LVs of this volume group (repeatable)\n"
	        "      --lvm            only LVs\n"
	        "\n"
	        "Probing:\n"
	        "      --offset BYTES   the image starts at this byte offset inside each PATH\n"
	        "      --deep           also read past the header, within a 64 MiB budget per\n"
	        "                       volume: qcow2 snapshots, bitmaps, encryption details and\n"
	        "                       image-end-offset (never with --udev)\n"
	        "      --no-direct      buffered reads instead of O_DIRECT\n"
	        "      --stats          per-volume I/O counters (JSON \"scan\" object, table columns)\n"
	        "  -j, --jobs N         N threads, each reading and probing 16 volumes at a\n"
	        "                       time (default 4)\n"
	        "      --timeout SECONDS\n"
	        "                       a read that takes longer is left behind and its\n"
	        "                       volume reported \"timed out\"; the others are still\n"
	        "                       scanned (default 10, 0: no limit; not for --udev)\n"
	        "  -v, --verbose        say on stderr how each PATH was read, and what was skipped\n"
	        "\n"
	        "Safety (--check; any option below implies it):\n"
	        "      --check          a verdict per volume: may qemu open it as its format\n"
	        "                       without reading other files or misreading it?\n"
	        "                       (JSON \"safety\", SAFE and FAILED columns, ID_IMAGE_SAFE)\n"
	        "      --expect-format FMT  the format the volume is declared as (raw included):\n"
	        "                       another one fails format-mismatch\n"
	        "      --deny-formats LIST  formats that fail format-denied (e.g. qed)\n"
	        "      --vmdk-types LIST    vmdk createTypes allowed (default\n"
	        "                       monolithicSparse,streamOptimized)\n"
	        "      --max-virtual-size BYTES  a larger virtual size fails virtual-size\n"
	        "      --allow LIST     waive these checks (see Checks below)\n"
	        "\n"
	        "  -h, --help           this help\n"
	        "  -V, --version        version\n"
	        "\n"
	        "Checks (--check, --allow):\n");
	for (unsigned i = 0; i < _IMG_CHECK_MAX; i++)
		fprintf(f, "  %-18s %s\n", img_check_name((enum img_check_id)i),
		        img_check_summary((enum img_check_id)i));
	fprintf(f,
	        "\n"
	        "Exit status:\n"
	        "  0  every PATH was probed (holding an image or not)\n"
	        "  1  at least one PATH could not be probed; the others were still reported\n"
	        "  2  usage error, or two options that do not go together (both are named;\n"
	        "     the list is in imgscan(8))\n"
	        "  3  --check: every PATH was probed and at least one failed a check\n"
	        "     (never with --udev: udev would import nothing; ID_IMAGE_SAFE says it)\n");
}

/*
 * A number of bytes or jobs: decimal digits, or 0x and hexadecimal digits.
 * A leading 0 is not octal ("010" is ten), and no sign or space is taken.
 */
static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	int base = 10;

	if (!s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!(base == 16 ? isxdigit((unsigned char)*s) : isdigit((unsigned char)*s)))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

/*
 * A path or argument for a message on stderr: its control characters and
 * invalid UTF-8 as \xNN (img_esc), as the table shows a NAME.  Free it with
 * free(); on ENOMEM a fixed text stands in (never the raw bytes).
 */
#define ESC_SHOWN(e) ((e) ? (e) : "(out of memory)")

#define esc_argn img_esc_dupn
#define esc_arg img_esc_dup

/* "imgscan: OPT: 'ARG' WHY": a usage error quoting (part of) an argument, escaped */
static int usage_arg(const char *opt, const char *arg, size_t len, const char *why)
{
	char *ep = esc_argn(arg, len > 256 ? 256 : len);

	fprintf(stderr, "imgscan: %s: '%s' %s\n", opt, ESC_SHOWN(ep), why);
	free(ep);
	return EXIT_USAGE;
}

/*
 * getopt_long (opterr = 0) returned c, ':' or '?', for the option at arg: say
 * what is wrong, the option escaped like any argument
 */
static void bad_option(int c, const char *arg)
{
	char one[2] = { (char)optopt, '\0' };
	bool is_long = arg && arg[0] == '-' && arg[1] == '-';
	char *ep = esc_arg(is_long || !optopt ? arg : one);

	if (c == ':')
		fprintf(stderr, "imgscan: option '%s%s' requires an argument\n",
		        is_long || !optopt ? "" : "-", ESC_SHOWN(ep));
	else if (is_long)
		fprintf(stderr, "imgscan: unrecognized option '%s', or it takes no argument\n",
		        ESC_SHOWN(ep));
	else
		fprintf(stderr, "imgscan: invalid option -- '%s'\n", ESC_SHOWN(ep));
	free(ep);
}

/*
 * --udev runs from IMPORT{program}: the environment holds what the rules
 * before ours found (the database is not written yet).  Nothing is printed
 * for a device the guard table says never to open (enum/guard.c: the dm/LVM
 * flags); sysfs is checked again before open().
 */
static const char *env_prop(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static bool udev_env_forbids(void)
{
	struct img_guard_facts f;

	img_guard_facts_init(&f);
	img_guard_facts_from_props(&f, env_prop, NULL);
	return img_guard_eval(&f, IMG_GUARD_FOR_OPEN) != NULL;
}

/* --cached: the udev database only; no device is opened */
static int run_cached(const struct opts *o)
{
	struct img_device *devs;
	size_t ndev, k = 0;
	int r = img_enum_devices(true, true, &devs, &ndev);

	if (r < 0) {
		fprintf(stderr, "imgscan: cannot list block devices: %s\n", strerror(-r));
		return EXIT_SOME_FAILED;
	}
	if (o->mode == MODE_JSON)
		img_out_json_begin(stdout);
	for (size_t i = 0; i < ndev; i++) {
		const struct img_device *d = &devs[i];

		if (!img_select_device(&o->sel, d) || d->n_props == 0)
			continue;
		if (o->mode == MODE_JSON)
			img_out_json_cached_item(stdout, d, k == 0);
		else
			img_out_export_cached(stdout, d, k == 0);
		k++;
	}
	if (o->mode == MODE_JSON)
		img_out_json_end(stdout, k);
	img_select_vg_unmatched(&o->sel, devs, ndev);
	img_devices_free(devs, ndev);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_SOME_FAILED;
}

/* --monitor: a device an event names, probed like a PATH operand */
static void monitor_scan(void *ctx, const char *devnode, struct img_scan *s)
{
	struct img_target t = { .path = devnode };

	t.dev = img_target_stat(&t, true);

	img_scan_one(&t, ctx, s);
}

static void monitor_release(void *ctx, struct img_scan *s)
{
	(void)ctx;
	free(s->res);
	s->res = NULL;
	free((struct img_device *)s->dev);
	s->dev = NULL;
}

/*
 * Run from a udev rule after udev's blkid builtin, which found no filesystem
 * (no ID_FS_TYPE in the environment): an ISO 9660 signature cannot be there,
 * so the read of its block is saved.  With ID_FS_TYPE set (a rule without
 * the blkid guard) the check is made as everywhere else.
 */
static bool udev_env_no_filesystem(void)
{
	const char *sub = getenv("SUBSYSTEM"), *devpath = getenv("DEVPATH");

	return sub && strcmp(sub, "block") == 0 && devpath && *devpath && !getenv("ID_FS_TYPE");
}

/* run from a udev rule for a device an admin opted in to verdicts (--check) */
static bool udev_env_check(void)
{
	const char *sub = getenv("SUBSYSTEM"), *v = getenv("IMGSCAN_CHECK");

	return sub && strcmp(sub, "block") == 0 && v && strcmp(v, "1") == 0;
}

enum {
	OPT_UDEV = 0x100,
	OPT_EXPORT,
	OPT_OFFSET,
	OPT_STATS,
	OPT_NO_DIRECT,
	OPT_VG,
	OPT_LVM,
	OPT_DEEP,
	OPT_LIST_COLUMNS,
	OPT_MONITOR,
	OPT_CACHED,
	OPT_CHECK,
	OPT_EXPECT_FORMAT,
	OPT_DENY_FORMATS,
	OPT_VMDK_TYPES,
	OPT_MAX_VIRTUAL_SIZE,
	OPT_ALLOW,
	OPT_PROMETHEUS,
	OPT_WRITE,
	OPT_TIMEOUT,
	/* not options: the operands, for the table of exclusive options */
	ARG_PATH,  /* a PATH */
	ARG_PATH2, /* a second PATH */
	ARG_MAX,
};

static const struct option longopts[] = {
	{ "json", no_argument, NULL, 'J' },
	{ "udev", no_argument, NULL, OPT_UDEV },
	{ "export", no_argument, NULL, OPT_EXPORT },
	{ "prometheus", no_argument, NULL, OPT_PROMETHEUS },
	{ "write", required_argument, NULL, OPT_WRITE },
	{ "offset", required_argument, NULL, OPT_OFFSET },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "no-direct", no_argument, NULL, OPT_NO_DIRECT },
	{ "vg", required_argument, NULL, OPT_VG },
	{ "lvm", no_argument, NULL, OPT_LVM },
	{ "deep", no_argument, NULL, OPT_DEEP },
	{ "cached", no_argument, NULL, OPT_CACHED },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "expect-format", required_argument, NULL, OPT_EXPECT_FORMAT },
	{ "deny-formats", required_argument, NULL, OPT_DENY_FORMATS },
	{ "vmdk-types", required_argument, NULL, OPT_VMDK_TYPES },
	{ "max-virtual-size", required_argument, NULL, OPT_MAX_VIRTUAL_SIZE },
	{ "allow", required_argument, NULL, OPT_ALLOW },
	{ "jobs", required_argument, NULL, 'j' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "noheadings", no_argument, NULL, 'n' },
	{ "bytes", no_argument, NULL, 'b' },
	{ "raw", no_argument, NULL, 'r' },
	{ "output", required_argument, NULL, 'o' },
	{ "output-all", no_argument, NULL, 'O' },
	{ "pairs", no_argument, NULL, 'P' },
	{ "tree", no_argument, NULL, 'T' },
	{ "list-columns", no_argument, NULL, OPT_LIST_COLUMNS },
	{ "monitor", no_argument, NULL, OPT_MONITOR },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/*
 * Options that contradict each other, in one table (as util-linux's
 * ul_excl_t): no option of a row's a[] goes with one of its b[]; a row
 * without b[] is a group of which at most one may be given.  Each is refused
 * (exit 2) with both options named and the row's reason, instead of one of
 * them being silently ignored.  Lists end at 0.
 */
#define CHECK_OPTS OPT_CHECK, OPT_EXPECT_FORMAT, OPT_DENY_FORMATS, OPT_VMDK_TYPES, \
	OPT_MAX_VIRTUAL_SIZE, OPT_ALLOW
#define TABLE_OPTS 'n', 'b', 'r', 'o', 'O'

struct excl_rule {
	int a[8];
	int b[24];
	const char *why;
};

static const struct excl_rule excl_rules[] = {
	{ { 'J', 'P', OPT_UDEV, OPT_EXPORT, OPT_PROMETHEUS, OPT_MONITOR },
	  { 0 },
	  "one output at a time" },
	{ { 'T' },
	  { 'J', OPT_UDEV, OPT_EXPORT, OPT_PROMETHEUS, OPT_MONITOR, OPT_CACHED },
	  "--tree is a table view" },
	{ { TABLE_OPTS },
	  { 'J', OPT_UDEV, OPT_EXPORT, OPT_PROMETHEUS, OPT_MONITOR, OPT_CACHED },
	  "the table's options shape the table only" },
	{ { 'P' }, { 'n', 'r' }, "--pairs prints no headings and aligns nothing" },
	{ { OPT_STATS },
	  { OPT_UDEV, OPT_EXPORT, OPT_PROMETHEUS, OPT_CACHED },
	  "the I/O counters show in the table and the JSON document only" },
	{ { OPT_CACHED },
	  { 'P', OPT_UDEV, OPT_PROMETHEUS, OPT_MONITOR, OPT_OFFSET, OPT_DEEP, OPT_NO_DIRECT, 'j',
	    OPT_TIMEOUT, OPT_WRITE, ARG_PATH, CHECK_OPTS },
	  "--cached lists the udev database and opens no device" },
	{ { OPT_MONITOR },
	  { ARG_PATH, OPT_TIMEOUT, 'j', OPT_VG, OPT_LVM, OPT_WRITE, CHECK_OPTS },
	  "--monitor probes the device each event names, one at a time, until stopped" },
	{ { OPT_UDEV },
	  { ARG_PATH2, 'j', OPT_DEEP, OPT_TIMEOUT, OPT_WRITE, OPT_VG, OPT_LVM },
	  "--udev reads one PATH for a udev rule, header facts only, within "
	  IMG_STRINGIFY(UDEV_DEADLINE_SEC) " s" },
	{ { OPT_VG, OPT_LVM }, { ARG_PATH }, "--vg and --lvm select devices when no PATH is given" },
};

/* "--json", or "a PATH": how a message names option id */
static const char *opt_name(int id, char *buf, size_t len)
{
	if (id == ARG_PATH)
		return "a PATH";
	if (id == ARG_PATH2)
		return "a second PATH";
	for (const struct option *lo = longopts; lo->name; lo++)
		if (lo->val == id) {
			snprintf(buf, len, "--%s", lo->name);
			return buf;
		}
	snprintf(buf, len, "-%c", id);
	return buf;
}

static size_t list_len(const int *l, size_t max)
{
	size_t n = 0;

	while (n < max && l[n])
		n++;
	return n;
}

/* the first pair of given[] options that excl_rules refuses: said, and EXIT_USAGE; or 0 */
static int excl_check(const bool *given)
{
	for (size_t r = 0; r < sizeof(excl_rules) / sizeof(excl_rules[0]); r++) {
		const struct excl_rule *e = &excl_rules[r];
		size_t na = list_len(e->a, sizeof(e->a) / sizeof(e->a[0]));
		size_t nb = list_len(e->b, sizeof(e->b) / sizeof(e->b[0]));
		/* a group: each member against those after it */
		bool group = nb == 0;

		for (size_t i = 0; i < na; i++) {
			const int *other = group ? e->a + i + 1 : e->b;
			size_t no = group ? na - i - 1 : nb;

			if (!given[e->a[i]])
				continue;
			for (size_t j = 0; j < no; j++) {
				char n1[32], n2[32];

				if (!given[other[j]])
					continue;
				fprintf(stderr, "imgscan: %s and %s cannot be given together: %s\n",
				        opt_name(e->a[i], n1, sizeof(n1)), opt_name(other[j], n2, sizeof(n2)),
				        e->why);
				return EXIT_USAGE;
			}
		}
	}
	return 0;
}

/*
 * The options into *o; the operands stay at argv[optind...].  Returns an
 * exit status (a usage error said, --help, --version, --list-columns), or
 * -1 to go on.
 */
static int parse_args(int argc, char **argv, struct opts *o)
{
	bool given[ARG_MAX] = { false }; /* options seen, for excl_rules */
	uint64_t v;
	const char *bad;
	size_t bad_len;
	uint32_t set;
	int c;

	img_policy_init(&o->scan.policy);
	/* getopt's own messages would echo an argument's bytes raw: ours escape them */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":Jj:nbrvhVo:OPT", longopts, NULL)) != -1) {
		if (c > 0 && c < ARG_MAX)
			given[c] = true;
		switch (c) {
		case OPT_CHECK:
			o->scan.check = true;
			break;
		case OPT_EXPECT_FORMAT:
			if (img_format_parse_list(optarg, &set, &bad, &bad_len) < 0 || !set ||
			    (set & (set - 1))) {
				return usage_arg("--expect-format", optarg, strlen(optarg),
				                 "is not one format qemu opens (raw, qcow2, vmdk ...)");
			}
			o->scan.policy.expect_set = true;
			o->scan.policy.expect = (enum img_format_id)__builtin_ctz(set);
			o->scan.check = true;
			break;
		case OPT_DENY_FORMATS:
			if (img_format_parse_list(optarg, &o->scan.policy.deny, &bad, &bad_len) < 0) {
				return usage_arg("--deny-formats", bad, bad_len, "is not a format imgscan knows");
			}
			o->scan.check = true;
			break;
		case OPT_VMDK_TYPES:
			if (img_vmdk_types_parse_list(optarg, &o->scan.policy.vmdk_types, &bad, &bad_len) < 0) {
				return usage_arg("--vmdk-types", bad, bad_len,
				                 "is not a createType qemu knows (names are case-sensitive, "
				                 "as in the descriptor)");
			}
			o->scan.check = true;
			break;
		case OPT_MAX_VIRTUAL_SIZE:
			if (parse_u64(optarg, &o->scan.policy.max_virtual_size) < 0) {
				return usage_arg("--max-virtual-size", optarg, strlen(optarg),
				                 "is not a byte count");
			}
			o->scan.policy.max_virtual_size_set = true;
			o->scan.check = true;
			break;
		case OPT_ALLOW:
			if (img_check_parse_list(optarg, &set, &bad, &bad_len) < 0) {
				return usage_arg("--allow", bad, bad_len,
				                 "is not a check imgscan knows (see imgscan --help)");
			}
			o->scan.policy.allow |= set;
			o->scan.check = true;
			break;
		case 'J':
			o->mode = MODE_JSON;
			break;
		case OPT_UDEV:
			o->mode = MODE_UDEV;
			break;
		case OPT_EXPORT:
			o->mode = MODE_EXPORT;
			break;
		case OPT_PROMETHEUS:
			o->mode = MODE_PROM;
			break;
		case OPT_WRITE:
			if (!*optarg) {
				fprintf(stderr, "imgscan: --write needs a file name\n");
				return EXIT_USAGE;
			}
			o->write_path = optarg;
			break;
		case OPT_OFFSET:
			if (parse_u64(optarg, &o->scan.offset) < 0) {
				char *ep = esc_arg(optarg);

				fprintf(stderr, "imgscan: --offset: '%s' is not a byte count\n", ESC_SHOWN(ep));
				free(ep);
				return EXIT_USAGE;
			}
			break;
		case OPT_STATS:
			o->scan.stats = true;
			break;
		case OPT_NO_DIRECT:
			o->scan.no_direct = true;
			break;
		case OPT_VG:
			if (o->sel.n_vg >= IMG_MAX_VG_FILTERS) {
				fprintf(stderr, "imgscan: at most %d --vg options\n", IMG_MAX_VG_FILTERS);
				return EXIT_USAGE;
			}
			o->sel.vg[o->sel.n_vg++] = optarg;
			break;
		case OPT_LVM:
			o->sel.lvm_only = true;
			break;
		case OPT_DEEP:
			o->scan.deep = true;
			/*
			 * --deep reads tables 1 MiB at a time, up to 64 MiB a
			 * volume: such buffers go back to the kernel when freed,
			 * so one worker's big volume is not kept by its arena.
			 */
			mallopt(M_MMAP_THRESHOLD, 256 << 10);
			break;
		case OPT_CACHED:
			o->cached = true;
			break;
		case 'j':
			if (parse_u64(optarg, &v) < 0 || v < 1 || v > MAX_JOBS)
				return usage_arg("--jobs", optarg, strlen(optarg),
				                 "is not a number from 1 to " IMG_STRINGIFY(MAX_JOBS));
			o->scan.jobs = (unsigned)v;
			break;
		case OPT_TIMEOUT:
			if (parse_u64(optarg, &v) < 0 || v > MAX_TIMEOUT_SEC)
				return usage_arg("--timeout", optarg, strlen(optarg),
				                 "is not a number of seconds from 0 (no limit) to "
				                 IMG_STRINGIFY(MAX_TIMEOUT_SEC));
			o->scan.timeout = (unsigned)v;
			break;
		case 'n':
			o->table.noheadings = true;
			break;
		case 'b':
			o->table.bytes = true;
			break;
		case 'r':
			o->table.raw = true;
			break;
		case 'o':
			o->table.columns = optarg;
			break;
		case 'O':
			o->table.all_columns = true;
			break;
		case 'P':
			o->mode = MODE_TABLE;
			o->table.pairs = true;
			break;
		case 'T':
			o->table.tree = true;
			break;
		case OPT_LIST_COLUMNS:
			img_table_list_columns(stdout);
			return EXIT_OK;
		case OPT_MONITOR:
			o->monitor = true;
			break;
		case 'v':
			o->scan.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("imgscan %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			bad_option(c, argv[optind - 1 < argc ? optind - 1 : argc - 1]);
			fprintf(stderr, "Try 'imgscan --help' for more information.\n");
			return EXIT_USAGE;
		}
	}
	given[ARG_PATH] = optind < argc;
	given[ARG_PATH2] = argc - optind > 1;
	if (excl_check(given))
		return EXIT_USAGE;
	o->table.stats = o->scan.stats;
	o->table.check = o->scan.check;
	{
		char err[128];

		if (img_table_check_columns(&o->table, err, sizeof(err)) < 0) {
			char *ep = esc_arg(err);

			fprintf(stderr, "imgscan: %s (see --list-columns)\n", ESC_SHOWN(ep));
			free(ep);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/*
 * Scan targets[n] and write each result, in input order, in the output *o
 * chose (into --write's file when given).  Returns an exit status.
 */
static int run_scan(struct opts *o, const struct img_target *targets, size_t n,
                    const struct timespec *t_start)
{
	struct img_scanner *sw;
	struct img_progress *progress = NULL;
	bool out_tty;
	struct img_table *table = NULL;
	struct img_prom *prom = NULL;
	char write_tmp[4096] = "";
	int failed = 0;
	size_t unsafe = 0;

	if (o->write_path && img_write_begin(o->write_path, write_tmp, sizeof(write_tmp)) < 0)
		return EXIT_SOME_FAILED;
	if (o->mode == MODE_PROM) {
		prom = img_prom_new();
		if (!prom) {
			fprintf(stderr, "imgscan: out of memory\n");
			img_write_abort(write_tmp);
			return EXIT_SOME_FAILED;
		}
	}
	if (o->mode == MODE_TABLE) {
		table = img_table_new(&o->table);
		if (!table) {
			fprintf(stderr, "imgscan: cannot make the table\n");
			img_write_abort(write_tmp);
			return EXIT_SOME_FAILED;
		}
	} else if (o->mode == MODE_JSON) {
		img_out_json_begin(stdout);
	}
	if (o->mode != MODE_UDEV)
		progress = img_progress_new(n);
	out_tty = progress && isatty(STDOUT_FILENO);
	o->scan.udev = o->mode == MODE_UDEV;
	/* the metrics name no content: libblkid is not loaded */
	o->scan.no_content = o->mode == MODE_PROM;
	sw = img_scanner_new(targets, n, &o->scan);
	if (!sw) {
		fprintf(stderr, "imgscan: out of memory\n");
		img_write_abort(write_tmp);
		return EXIT_SOME_FAILED;
	}
	for (size_t i = 0; i < n; i++) {
		struct img_scan *sc = img_scanner_get(sw, i);

		img_progress_tick(progress);
		/* off the terminal before a line goes there (a table is printed at the end) */
		if (sc->error || (out_tty && o->mode != MODE_TABLE))
			img_progress_clear(progress);
		if (sc->error) {
			img_scan_report_error(sc);
			failed++;
		} else if (sc->checked && !sc->verdict.safe) {
			unsafe++;
		}
		switch (o->mode) {
		case MODE_JSON:
			img_out_json_item(stdout, sc, i == 0);
			break;
		case MODE_UDEV:
			img_out_udev(stdout, sc);
			break;
		case MODE_EXPORT:
			img_out_export(stdout, sc, i == 0);
			break;
		case MODE_PROM:
			img_prom_add(prom, sc);
			break;
		case MODE_TABLE:
			img_table_add(table, sc);
			break;
		}
		img_scanner_release(sw, i);
	}
	img_scanner_free(sw);
	img_progress_free(progress);
	progress = NULL;
	if (o->mode == MODE_JSON)
		img_out_json_end(stdout, n);
	if (prom) {
		struct timespec t_end;

		clock_gettime(CLOCK_MONOTONIC, &t_end);
		if (img_prom_print(prom, stdout,
		                   (double)(t_end.tv_sec - t_start->tv_sec) +
		                           (double)(t_end.tv_nsec - t_start->tv_nsec) / 1e9) < 0) {
			fprintf(stderr, "imgscan: --prometheus: cannot write the metrics: %s\n",
			        strerror(errno));
			failed++;
		}
		img_prom_free(prom);
	}
	if (table) {
		if (img_table_print(table, stdout) < 0) {
			fprintf(stderr, "imgscan: cannot print the table\n");
			failed++;
		}
		img_table_free(table);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (o->write_path)
			fprintf(stderr, "imgscan: %s: write error: %s (%s is left as it was)\n", write_tmp,
			        strerror(errno), o->write_path);
		else
			fprintf(stderr, "imgscan: write error on standard output\n");
		img_write_abort(write_tmp);
		failed++;
	} else if (o->write_path && img_write_commit(o->write_path, write_tmp) < 0) {
		failed++;
	}
	if (img_scan_content_lib_missing())
		failed++;
	if (failed)
		return EXIT_SOME_FAILED;
	/* udev imports nothing from a program that exits non-zero: ID_IMAGE_SAFE says it */
	return unsafe && o->mode != MODE_UDEV ? EXIT_UNSAFE : EXIT_OK;
}

int main(int argc, char **argv)
{
	struct opts o = { .mode = MODE_TABLE, .scan = { .jobs = 4, .timeout = DEFAULT_TIMEOUT_SEC, .on_open = img_trace_attach } };
	struct img_device *devs = NULL;
	size_t ndev = 0, n;
	struct img_target *targets;
	struct timespec t_start;
	int rc;

	/*
	 * Every volume allocates and frees the same few buffers: keep the freed
	 * memory instead of returning it to the kernel each time (page faults
	 * were a third of a big scan's CPU).
	 */
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 16 << 20);
	mallopt(M_MMAP_THRESHOLD, 8 << 20);

	rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (o.table.tree)
		setlocale(LC_CTYPE, ""); /* tree art and the arrow in UTF-8, as lsblk */
	if (o.monitor) {
		static const struct img_monitor_ops ops = {
			.scan = monitor_scan,
			.release = monitor_release,
		};

		rc = img_monitor_run(&ops, &o.scan, stdout);
		if (rc < 0) {
			fprintf(stderr, "imgscan: --monitor: %s\n", strerror(-rc));
			return EXIT_SOME_FAILED;
		}
		return EXIT_OK;
	}

	if (o.cached)
		return run_cached(&o);
	if (o.mode == MODE_UDEV) {
		struct img_device *d;

		/* a second PATH is refused by excl_rules */
		if (optind == argc) {
			fprintf(stderr, "imgscan: --udev needs the PATH of the device udev runs it for\n");
			return EXIT_USAGE;
		}
		if (udev_env_forbids())
			return EXIT_OK;
		o.scan.no_content_sigs = udev_env_no_filesystem();
		/* an earlier rule opted the device in: ENV{IMGSCAN_CHECK}="1" */
		if (udev_env_check())
			o.scan.check = true;
		/* bounded time: when the deadline passes, udev imports nothing */
		alarm(UDEV_DEADLINE_SEC);
		targets = calloc(1, sizeof(*targets));
		if (!targets)
			return EXIT_SOME_FAILED;
		targets[0].path = argv[optind];
		d = img_target_stat(&targets[0], false);
		if (d && d->skip) {
			free(d);
			free(targets);
			return EXIT_OK;
		}
		targets[0].dev = d;
		n = 1;
	} else if (optind == argc) {
		if (img_targets_enumerate(&o.sel, o.scan.verbose, &devs, &ndev, &targets, &n) < 0)
			return EXIT_SOME_FAILED;
		img_select_vg_unmatched(&o.sel, devs, ndev);
	} else {
		n = (size_t)(argc - optind);
		targets = calloc(n, sizeof(*targets));
		if (!targets)
			return EXIT_SOME_FAILED;
		/*
		 * Each PATH is stat'ed by the worker that reads it, just before
		 * open(), and a block device's facts are asked of us then: on a
		 * cold cache the lookups overlap the reads instead of running
		 * one after another before the first read.
		 */
		for (size_t i = 0; i < n; i++)
			targets[i].path = argv[optind + (int)i];
		o.scan.device_facts = img_target_device;
		o.scan.device_free = img_target_device_free;
	}

	rc = run_scan(&o, targets, n, &t_start);
	for (size_t i = 0; i < n; i++) {
		if (!devs)
			free((struct img_device *)targets[i].dev);
	}
	free(targets);
	img_devices_free(devs, ndev);
	return rc;
}
