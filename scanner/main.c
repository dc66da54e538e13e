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

#include "cmd/run.h"
#include "lib/imgscan.h"
#include "output/table.h"
#include "text/encode.h"

#define IMG_STR_(x) #x
#define IMG_STRINGIFY(x) IMG_STR_(x)
#define MAX_JOBS CMD_MAX_JOBS
/* --timeout: how long a read of a bulk scan may take before it is left behind */
#define DEFAULT_TIMEOUT_SEC 10
#define MAX_TIMEOUT_SEC 86400

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
	        "      --max-virtual-size BYTES  a larger virtual size fails virtual-size (0: no limit)\n"
	        "      --allow LIST     waive these checks (see Checks below)\n"
	        "\n"
	        "  -h, --help           this help\n"
	        "  -V, --version        version\n"
	        "\n"
	        "Checks (--check, --allow):\n");
	for (unsigned i = 0; imgscan_check_name(i); i++)
		fprintf(f, "  %-18s %s\n", imgscan_check_name(i), imgscan_check_summary(i));
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

/* a policy setter of the library: imgscan_policy_allow, _deny_formats ... */
typedef int (*policy_set_fn)(struct imgscan_policy *pol, const char *list);

/*
 * The first non-empty token of the comma-separated list that set refuses
 * (tried alone on a scratch policy): *bad and *bad_len, and true; false
 * when every token is known.  Messages quote the very token.
 */
static bool list_bad(const char *list, policy_set_fn set, const char **bad, size_t *bad_len)
{
	struct imgscan_policy *scratch = imgscan_policy_new();
	char tok[256];

	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);

		if (l) {
			if (l < sizeof(tok))
				memcpy(tok, p, l);
			tok[l < sizeof(tok) ? l : 0] = '\0';
			if (!scratch || l >= sizeof(tok) || set(scratch, tok) < 0) {
				*bad = p;
				*bad_len = l;
				imgscan_policy_free(scratch);
				return true;
			}
		}
		p = comma ? comma + 1 : NULL;
	}
	imgscan_policy_free(scratch);
	return false;
}

/* the one non-empty token of list into tok; false when there are none or several */
static bool list_one(const char *list, char *tok, size_t len)
{
	size_t n = 0;

	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);

		if (l) {
			if (n++ || l >= len)
				return false;
			memcpy(tok, p, l);
			tok[l] = '\0';
		}
		p = comma ? comma + 1 : NULL;
	}
	return n == 1;
}

/* the --check options as given, turned into the library's policy once all are read */
struct policy_args {
	char *allow; /* every --allow LIST, joined by commas (malloc'ed) */
	const char *deny;
	const char *vmdk_types;
	char expect[32];
	bool expect_set;
	uint64_t max_virtual_size;
	bool max_virtual_size_set;
};

/* --allow LIST adds to the lists given before */
static int add_allow(struct policy_args *pa, const char *list)
{
	size_t old = pa->allow ? strlen(pa->allow) : 0, l = strlen(list);
	char *p = realloc(pa->allow, old + l + 2);

	if (!p)
		return -ENOMEM;
	if (old)
		p[old++] = ',';
	memcpy(p + old, list, l + 1);
	pa->allow = p;
	return 0;
}

/* pa as the library's policy into *ret; the lists were checked token by token when given */
static int make_policy(const struct policy_args *pa, struct imgscan_policy **ret)
{
	struct imgscan_policy *pol = imgscan_policy_new();

	*ret = pol;
	if (!pol)
		return -ENOMEM;
	if ((pa->allow && imgscan_policy_allow(pol, pa->allow) < 0) ||
	    (pa->deny && imgscan_policy_deny_formats(pol, pa->deny) < 0) ||
	    (pa->vmdk_types && imgscan_policy_vmdk_types(pol, pa->vmdk_types) < 0) ||
	    (pa->expect_set && imgscan_policy_expect_format(pol, pa->expect) < 0) ||
	    (pa->max_virtual_size_set && imgscan_policy_max_virtual_size(pol, pa->max_virtual_size) < 0))
		return -EINVAL;
	return 0;
}

/*
 * The options into *o; the operands stay at argv[optind...].  Returns an
 * exit status (a usage error said, --help, --version, --list-columns), or
 * -1 to go on.
 */
static int parse_args(int argc, char **argv, struct cmd_opts *o, struct policy_args *pa)
{
	bool given[ARG_MAX] = { false }; /* options seen, for excl_rules */
	uint64_t v;
	const char *bad;
	size_t bad_len;
	int c;

	/* getopt's own messages would echo an argument's bytes raw: ours escape them */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":Jj:nbrvhVo:OPT", longopts, NULL)) != -1) {
		if (c > 0 && c < ARG_MAX)
			given[c] = true;
		switch (c) {
		case OPT_CHECK:
			o->check = true;
			break;
		case OPT_EXPECT_FORMAT:
			/* one format qemu opens: a token --deny-formats takes, alone */
			if (!list_one(optarg, pa->expect, sizeof(pa->expect)) ||
			    list_bad(pa->expect, imgscan_policy_deny_formats, &bad, &bad_len)) {
				return usage_arg("--expect-format", optarg, strlen(optarg),
				                 "is not one format qemu opens (raw, qcow2, vmdk ...)");
			}
			pa->expect_set = true;
			o->check = true;
			break;
		case OPT_DENY_FORMATS:
			if (list_bad(optarg, imgscan_policy_deny_formats, &bad, &bad_len)) {
				return usage_arg("--deny-formats", bad, bad_len, "is not a format imgscan knows");
			}
			pa->deny = optarg;
			o->check = true;
			break;
		case OPT_VMDK_TYPES:
			if (list_bad(optarg, imgscan_policy_vmdk_types, &bad, &bad_len)) {
				return usage_arg("--vmdk-types", bad, bad_len,
				                 "is not a createType qemu knows (names are case-sensitive, "
				                 "as in the descriptor)");
			}
			pa->vmdk_types = optarg;
			o->check = true;
			break;
		case OPT_MAX_VIRTUAL_SIZE:
			if (parse_u64(optarg, &pa->max_virtual_size) < 0) {
				return usage_arg("--max-virtual-size", optarg, strlen(optarg),
				                 "is not a byte count");
			}
			pa->max_virtual_size_set = true;
			o->check = true;
			break;
		case OPT_ALLOW:
			if (list_bad(optarg, imgscan_policy_allow, &bad, &bad_len)) {
				return usage_arg("--allow", bad, bad_len,
				                 "is not a check imgscan knows (see imgscan --help)");
			}
			if (add_allow(pa, optarg) < 0) {
				fprintf(stderr, "imgscan: out of memory\n");
				return EXIT_SOME_FAILED;
			}
			o->check = true;
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
			if (parse_u64(optarg, &o->offset) < 0) {
				char *ep = esc_arg(optarg);

				fprintf(stderr, "imgscan: --offset: '%s' is not a byte count\n", ESC_SHOWN(ep));
				free(ep);
				return EXIT_USAGE;
			}
			break;
		case OPT_STATS:
			o->stats = true;
			break;
		case OPT_NO_DIRECT:
			o->no_direct = true;
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
			o->deep = true;
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
			o->jobs = (unsigned)v;
			break;
		case OPT_TIMEOUT:
			if (parse_u64(optarg, &v) < 0 || v > MAX_TIMEOUT_SEC)
				return usage_arg("--timeout", optarg, strlen(optarg),
				                 "is not a number of seconds from 0 (no limit) to "
				                 IMG_STRINGIFY(MAX_TIMEOUT_SEC));
			o->timeout = (unsigned)v;
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
			o->verbose = true;
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
	o->table.stats = o->stats;
	o->table.check = o->check;
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

int main(int argc, char **argv)
{
	struct cmd_opts o = { .mode = MODE_TABLE, .jobs = 4, .timeout = DEFAULT_TIMEOUT_SEC };
	struct policy_args pa = { 0 };
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

	rc = parse_args(argc, argv, &o, &pa);
	if (rc < 0 && o.check && make_policy(&pa, &o.policy) < 0) {
		fprintf(stderr, "imgscan: out of memory\n");
		rc = EXIT_SOME_FAILED;
	}
	free(pa.allow);
	if (rc >= 0) {
		imgscan_policy_free(o.policy);
		return rc;
	}
	if (o.table.tree)
		setlocale(LC_CTYPE, ""); /* tree art and the arrow in UTF-8, as lsblk */
	if (o.monitor)
		rc = cmd_run_monitor(&o);
	else if (o.cached)
		rc = cmd_run_cached(&o);
	else if (o.mode == MODE_UDEV && optind == argc) {
		/* a second PATH is refused by excl_rules */
		fprintf(stderr, "imgscan: --udev needs the PATH of the device udev runs it for\n");
		rc = EXIT_USAGE;
	} else if (o.mode == MODE_UDEV)
		rc = cmd_run_udev(&o, argv[optind]);
	else
		rc = cmd_run_scan(&o, argv + optind, (size_t)(argc - optind), &t_start);
	imgscan_policy_free(o.policy);
	return rc;
}
