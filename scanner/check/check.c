/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The safety checks: one table, one pure function per check.  A check reads
 * the probe result (header facts), what is known of the volume's content and
 * the policy, and says whether it fails and why in one line.  Adding a check
 * is one enum value in check.h and one entry here (and its man page entry).
 *
 * The attacks each check stops are documented in imgscan(8) and
 * docs/safety.md: a header naming a host file qemu would open (backing
 * file, external data file, vmdk extents), a header qemu would read
 * differently from what was inspected (unknown incompatible features, a
 * stream-optimized footer that disagrees with the header, two formats in one
 * volume), and a volume that does not hold what its owner declared (a
 * "raw" volume whose guest wrote an image header into its first sector).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "probe/bytes.h"

const char *const img_vmdk_create_types[] = {
	"monolithicSparse",     "streamOptimized",    "vmfsSparse",
	"monolithicFlat",       "vmfs",               "seSparse",
	"twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
};
const unsigned img_n_vmdk_create_types = IMG_ARRAY_SIZE(img_vmdk_create_types);

/* what a check sees */
struct check_ctx {
	const struct img_result *res;
	const struct img_content *content; /* never NULL here */
	const struct img_policy *pol;
};

struct img_check {
	const char *name;
	const char *summary;
	/* true when the volume fails; why gets one line */
	bool (*run)(const struct check_ctx *c, char *why, size_t len);
};

static bool say(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return true;
}

static bool is_image(const struct img_result *res)
{
	return res->format != IMG_FMT_RAW;
}

/* ---- the checks ------------------------------------------------------------ */

static bool check_backing_file(const struct check_ctx *c, char *why, size_t len)
{
	const struct img_result *res = c->res;

	if (res->backing_file.present)
		return say(why, len, "the %s header names a backing file",
		           img_format_name(res->format));
	if (res->format == IMG_FMT_VMDK && (res->vmdk_flags & IMG_VMDK_PARENT_CID))
		return say(why, len, "the vmdk descriptor gives a parentCID: a delta of another image");
	if (res->subformat && strcmp(res->subformat, "differencing") == 0)
		return say(why, len, "a differencing %s image: it needs its parent",
		           img_format_name(res->format));
	if (img_has_feature(res, "has_parent"))
		return say(why, len, "the %s metadata says the image has a parent",
		           img_format_name(res->format));
	return false;
}

static bool check_data_file(const struct check_ctx *c, char *why, size_t len)
{
	const struct img_result *res = c->res;

	if (res->data_file.present)
		return say(why, len, "the qcow2 header names an external data file");
	if (img_has_feature(res, "external_data_file"))
		return say(why, len, "the qcow2 external data file bit is set");
	if (img_has_feature(res, "raw_external_data"))
		return say(why, len, "the qcow2 raw external data bit is set");
	return false;
}

/*
 * The versions imgscan's probes understand, for the formats whose version
 * field can change the layout (the qcow2 specification, qemu's vmdk.c,
 * the VHDX specification, VirtualBox's 1.1 header); other formats have
 * one fixed version the probe checks as part of its magic.
 */
struct known_version {
	enum img_format_id format;
	uint32_t min, max;
};
static const struct known_version known_versions[] = {
	{ IMG_FMT_QCOW2, 2, 3 },
	{ IMG_FMT_VMDK, 1, 3 },
	{ IMG_FMT_VHDX, 1, 1 },
	{ IMG_FMT_VDI, 0x00010001, 0x00010001 },
};

static bool check_unknown_features(const struct check_ctx *c, char *why, size_t len)
{
	const struct img_result *res = c->res;
	unsigned n = res->n_features < IMG_MAX_FEATURES ? res->n_features : IMG_MAX_FEATURES;

	for (unsigned i = 0; i < n; i++) {
		const struct img_feature *f = &res->features[i];

		if (f->name || (f->kind != IMG_FEAT_INCOMPATIBLE && f->kind != IMG_FEAT_OTHER))
			continue;
		return say(why, len, "%s feature bit %u is unknown to imgscan",
		           f->kind == IMG_FEAT_INCOMPATIBLE ? "incompatible" : "a", f->bit);
	}
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(known_versions); i++) {
		const struct known_version *k = &known_versions[i];

		if (res->format == k->format && res->has_version &&
		    (res->version < k->min || res->version > k->max))
			return say(why, len, "%s version %u is unknown to imgscan",
			           img_format_name(res->format), res->version);
	}
	return false;
}

static bool check_vmdk_extent(const struct check_ctx *c, char *why, size_t len)
{
	unsigned fl = c->res->vmdk_flags;

	if (c->res->format != IMG_FMT_VMDK)
		return false;
	if (fl & IMG_VMDK_DEVICE_EXTENT)
		return say(why, len, "a vmdk extent is a device");
	if (fl & IMG_VMDK_DESC_EXTENTS)
		return say(why, len, "a vmdk descriptor: its extents are other files");
	if (fl & IMG_VMDK_EMBEDDED_OTHER)
		return say(why, len, "the embedded vmdk descriptor names a file other than the image");
	/* the extents past imgscan's parse limit were never looked at */
	if (c->res->limit)
		return say(why, len, "the vmdk descriptor is longer than imgscan parses: "
		                     "its extents were not all checked");
	return false;
}

static bool check_vmdk_create_type(const struct check_ctx *c, char *why, size_t len)
{
	const char *ct = c->res->subformat;

	if (c->res->format != IMG_FMT_VMDK)
		return false;
	if (!ct)
		return say(why, len, "the vmdk createType is not one qemu knows");
	for (unsigned i = 0; i < img_n_vmdk_create_types; i++)
		if (strcmp(ct, img_vmdk_create_types[i]) == 0 && (c->pol->vmdk_types & (1u << i)))
			return false;
	return say(why, len, "vmdk createType %s is not allowed (--vmdk-types)", ct);
}

static bool check_vmdk_footer(const struct check_ctx *c, char *why, size_t len)
{
	if (c->res->format == IMG_FMT_VMDK && (c->res->vmdk_flags & IMG_VMDK_FOOTER_MISMATCH))
		return say(why, len, "the stream-optimized footer disagrees with the first header");
	return false;
}

static bool check_ambiguous(const struct check_ctx *c, char *why, size_t len)
{
	const struct img_result *res = c->res;
	const struct img_content *ct = c->content;

	if (res->n_candidates > 1) {
		char list[128] = "";
		size_t l = 0;

		for (unsigned i = 0; i < res->n_candidates && i < _IMG_FMT_MAX; i++) {
			int k = snprintf(list + l, sizeof(list) - l, "%s%s", i ? "," : "",
			                 img_format_name(res->candidates[i]));

			if (k < 0 || (size_t)k >= sizeof(list) - l)
				break;
			l += (size_t)k;
		}
		return say(why, len, "several formats match: %s", list);
	}
	/* an image header beside a filesystem libblkid (or udev's blkid) found */
	if (is_image(res) && ct->present && ct->type[0])
		return say(why, len, "a %s header on a volume that also holds %.*s",
		           img_format_name(res->format),
		           (int)img_strnlen((const uint8_t *)ct->type, sizeof(ct->type)), ct->type);
	return false;
}

static bool check_damaged(const struct check_ctx *c, char *why, size_t len)
{
	if (c->res->damaged)
		return say(why, len, "%s", c->res->damaged);
	return false;
}

static bool check_format_mismatch(const struct check_ctx *c, char *why, size_t len)
{
	const struct img_result *res = c->res;

	if (!c->pol->expect_set || res->format == c->pol->expect)
		return false;
	if (c->pol->expect == IMG_FMT_RAW)
		return say(why, len, "declared raw, but the volume holds a %s header",
		           img_format_name(res->format));
	return say(why, len, "expected %s, the volume holds %s", img_format_name(c->pol->expect),
	           res->format == IMG_FMT_RAW ? "no image header (raw)" : img_format_name(res->format));
}

static bool check_format_denied(const struct check_ctx *c, char *why, size_t len)
{
	const struct img_result *res = c->res;

	if (c->pol->deny & (1u << res->format))
		return say(why, len, "format %s is denied (--deny-formats)", img_format_name(res->format));
	for (unsigned i = 0; i < res->n_candidates && i < _IMG_FMT_MAX; i++)
		if (c->pol->deny & (1u << res->candidates[i]))
			return say(why, len, "a %s header is denied (--deny-formats)",
			           img_format_name(res->candidates[i]));
	return false;
}

static bool check_virtual_size(const struct check_ctx *c, char *why, size_t len)
{
	const struct img_result *res = c->res;

	if (!c->pol->max_virtual_size_set || !is_image(res) || !res->has_virtual_size ||
	    res->virtual_size <= c->pol->max_virtual_size)
		return false;
	return say(why, len, "virtual size %llu is above --max-virtual-size %llu",
	           (unsigned long long)res->virtual_size,
	           (unsigned long long)c->pol->max_virtual_size);
}

static bool check_partition_table(const struct check_ctx *c, char *why, size_t len)
{
	const struct img_content *ct = c->content;
	const struct img_mbr *m = &ct->mbr;
	unsigned used = 0, protective = 0;

	if (is_image(c->res) || !m->present)
		return false;
	/* a filesystem boot sector also ends in 55 AA: its bytes 446-509 are code, not entries */
	if (ct->present && strcmp(ct->usage, "filesystem") == 0 && !ct->pttype[0])
		return false;
	for (unsigned i = 0; i < 4; i++) {
		if (m->boot[i] != 0x00 && m->boot[i] != 0x80)
			return say(why, len, "MBR entry %u has boot flag 0x%02x (not 0x00 or 0x80)", i + 1,
			           m->boot[i]);
		if (m->type[i])
			used++;
		if (m->type[i] == 0xee)
			protective++;
	}
	if (protective && used > 1)
		return say(why, len, "a GPT protective MBR entry beside %u other entries", used - 1);
	if (protective && ct->probed && strcmp(ct->pttype, "gpt") != 0)
		return say(why, len, "a GPT protective MBR without a valid GPT");
	if (ct->probed && strcmp(ct->pttype, "gpt") == 0 && !protective)
		return say(why, len, "a GPT whose MBR is not protective");
	return false;
}

static const struct img_check checks[_IMG_CHECK_MAX] = {
	[IMG_CHECK_BACKING_FILE] = {
		.name = "backing-file",
		.summary = "a backing file or parent image (any format)",
		.run = check_backing_file,
	},
	[IMG_CHECK_DATA_FILE] = {
		.name = "data-file",
		.summary = "a qcow2 external data file (the bit or the name)",
		.run = check_data_file,
	},
	[IMG_CHECK_UNKNOWN_FEATURES] = {
		.name = "unknown-features",
		.summary = "an unknown version or incompatible feature bit",
		.run = check_unknown_features,
	},
	[IMG_CHECK_VMDK_EXTENT] = {
		.name = "vmdk-extent",
		.summary = "vmdk extents in other files or devices",
		.run = check_vmdk_extent,
	},
	[IMG_CHECK_VMDK_CREATE_TYPE] = {
		.name = "vmdk-create-type",
		.summary = "a vmdk createType outside --vmdk-types",
		.run = check_vmdk_create_type,
	},
	[IMG_CHECK_VMDK_FOOTER] = {
		.name = "vmdk-footer",
		.summary = "a vmdk footer that disagrees with the first header",
		.run = check_vmdk_footer,
	},
	[IMG_CHECK_AMBIGUOUS] = {
		.name = "ambiguous",
		.summary = "more than one format matches (a polyglot)",
		.run = check_ambiguous,
	},
	[IMG_CHECK_DAMAGED] = {
		.name = "damaged",
		.summary = "a header qemu would refuse to open",
		.run = check_damaged,
	},
	[IMG_CHECK_FORMAT_MISMATCH] = {
		.name = "format-mismatch",
		.summary = "another format than --expect-format (raw included)",
		.run = check_format_mismatch,
	},
	[IMG_CHECK_FORMAT_DENIED] = {
		.name = "format-denied",
		.summary = "a format listed in --deny-formats",
		.run = check_format_denied,
	},
	[IMG_CHECK_VIRTUAL_SIZE] = {
		.name = "virtual-size",
		.summary = "a virtual size above --max-virtual-size",
		.run = check_virtual_size,
	},
	[IMG_CHECK_PARTITION_TABLE] = {
		.name = "partition-table",
		.summary = "a raw volume's MBR/GPT that is not sane",
		.run = check_partition_table,
	},
};

/* ---- the verdict ------------------------------------------------------------- */

void img_policy_init(struct img_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->expect = IMG_FMT_RAW;
	p->vmdk_types = (1u << 0) | (1u << 1); /* monolithicSparse, streamOptimized */
}

void img_verdict_compute(const struct img_result *res, const struct img_content *content,
                         const struct img_policy *p, struct img_verdict *v)
{
	static const struct img_content none;
	struct check_ctx c = { res, content ? content : &none, p };

	v->safe = true;
	v->failed = 0;
	for (unsigned i = 0; i < _IMG_CHECK_MAX; i++) {
		v->reason[i][0] = '\0';
		if (p->allow & (1u << i))
			continue;
		if (checks[i].run(&c, v->reason[i], sizeof(v->reason[i]))) {
			/* printable ASCII only: a reason may quote bytes from the volume */
			for (char *q = v->reason[i]; *q; q++)
				if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
					*q = '?';
			v->failed |= 1u << i;
			v->safe = false;
		} else {
			v->reason[i][0] = '\0';
		}
	}
}

const char *img_check_name(enum img_check_id id)
{
	return (unsigned)id < _IMG_CHECK_MAX ? checks[id].name : NULL;
}

const char *img_check_summary(enum img_check_id id)
{
	return (unsigned)id < _IMG_CHECK_MAX ? checks[id].summary : NULL;
}

int img_check_by_name(const char *name, size_t len)
{
	for (unsigned i = 0; i < _IMG_CHECK_MAX; i++)
		if (strlen(checks[i].name) == len && memcmp(checks[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static int format_by_token(const char *name, size_t len)
{
	for (unsigned i = 0; i < _IMG_FMT_MAX; i++) {
		const char *n = img_format_name((enum img_format_id)i);

		/* content-only signatures (iso) are not formats qemu opens */
		if (i != IMG_FMT_RAW && (!img_formats[i] || img_formats[i]->content_only))
			continue;
		if (n && strlen(n) == len && memcmp(n, name, len) == 0)
			return (int)i;
	}
	return -1;
}

static int vmdk_type_by_token(const char *name, size_t len)
{
	for (unsigned i = 0; i < img_n_vmdk_create_types; i++)
		if (strlen(img_vmdk_create_types[i]) == len &&
		    memcmp(img_vmdk_create_types[i], name, len) == 0)
			return (int)i;
	return -1;
}

/* every comma-separated token of list through lookup, into a bit set; empty tokens are skipped */
static int parse_list(const char *list, int (*lookup)(const char *, size_t), uint32_t *ret,
                      const char **bad, size_t *bad_len)
{
	uint32_t set = 0;
	const char *p = list;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);

		if (l) {
			int id = lookup(p, l);

			if (id < 0 || id >= 32) {
				*bad = p;
				*bad_len = l;
				return -EINVAL;
			}
			set |= 1u << id;
		}
		p = comma ? comma + 1 : NULL;
	}
	*ret = set;
	return 0;
}

int img_check_parse_list(const char *list, uint32_t *ret, const char **bad, size_t *bad_len)
{
	return parse_list(list, img_check_by_name, ret, bad, bad_len);
}

int img_format_parse_list(const char *list, uint32_t *ret, const char **bad, size_t *bad_len)
{
	return parse_list(list, format_by_token, ret, bad, bad_len);
}

int img_vmdk_types_parse_list(const char *list, uint32_t *ret, const char **bad, size_t *bad_len)
{
	return parse_list(list, vmdk_type_by_token, ret, bad, bad_len);
}

size_t img_verdict_list(const struct img_verdict *v, char *buf, size_t buflen)
{
	size_t l = 0;

	if (!buflen)
		return 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < _IMG_CHECK_MAX; i++) {
		int k;

		if (!(v->failed & (1u << i)))
			continue;
		k = snprintf(buf + l, buflen - l, "%s%s", l ? "," : "", checks[i].name);
		if (k < 0 || (size_t)k >= buflen - l) {
			buf[l] = '\0';
			break;
		}
		l += (size_t)k;
	}
	return l;
}

void img_mbr_parse(const uint8_t *sector, size_t len, struct img_mbr *mbr)
{
	memset(mbr, 0, sizeof(*mbr));
	if (!sector || len < 512 || sector[510] != 0x55 || sector[511] != 0xaa)
		return;
	mbr->present = true;
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *e = sector + 446 + 16 * i;

		mbr->boot[i] = e[0];
		mbr->type[i] = e[4];
		mbr->start[i] = img_le32(e + 8);
		mbr->sectors[i] = img_le32(e + 12);
	}
}
