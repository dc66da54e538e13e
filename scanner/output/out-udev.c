/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --udev: KEY=value lines for udev's IMPORT{program} (docs/udev.md;
 * docs/security.md, rule 4).  udev takes everything after '=' up to the
 * newline as the value, with no unescaping, so a value may hold neither a
 * newline nor any other control byte: names from headers are given twice, as
 * blkid_safe_string (plain) and blkid_encode_string (_ENC) would, like
 * ID_FS_LABEL / ID_FS_LABEL_ENC.  Property names are fixed strings.  A volume
 * without an image (raw) or one that could not be read prints nothing, so
 * stale values vanish on the next event.
 *
 * img_udev_props() is the one list of properties; --export prints the same
 * list with its own quoting (out-export.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "output/output.h"

static const char *const kind_names[] = {
	[IMG_FEAT_INCOMPATIBLE] = "incompatible",
	[IMG_FEAT_COMPATIBLE] = "compatible",
	[IMG_FEAT_AUTOCLEAR] = "autoclear",
	[IMG_FEAT_OTHER] = "other",
};

/* a canonical token is a static lowercase word; anything else is not trusted */
static bool token_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return false;
		if (n >= IMG_FEATURE_NAME_MAX)
			return false;
	}
	return n > 0;
}

int img_feature_token(const struct img_feature *f, char *out, size_t outlen)
{
	int n;

	if (f->name && token_ok(f->name)) {
		n = snprintf(out, outlen, "%s", f->name);
	} else {
		unsigned k = (unsigned)f->kind;

		n = snprintf(out, outlen, "%s_bit_%u",
		             k < IMG_ARRAY_SIZE(kind_names) ? kind_names[k] : "other", f->bit);
	}
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return n;
}

int img_version_text(const struct img_result *res, char *out, size_t outlen)
{
	int n;

	if (res->version_dotted)
		n = snprintf(out, outlen, "%" PRIu32 ".%" PRIu32, res->version >> 16,
		             res->version & 0xffffu);
	else
		n = snprintf(out, outlen, "%" PRIu32, res->version);
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

/* 4 bytes per input byte (\xHH) plus the NUL */
#define ENC_BUF (4 * IMG_STR_MAX + 1)
#define TOKEN_MAX (IMG_FEATURE_NAME_MAX + 24)
#define LIST_BUF (IMG_MAX_FEATURES * (TOKEN_MAX + 1) + 1)

static void prop_u64(img_prop_fn fn, void *ctx, const char *key, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);

	fn(ctx, key, buf, (size_t)n);
}

static void prop_str(img_prop_fn fn, void *ctx, const char *key, const char *v)
{
	if (v && v[0])
		fn(ctx, key, v, strlen(v));
}

/* a name from a header: plain (safe or raw) and _ENC */
static void prop_name(img_prop_fn fn, void *ctx, const char *key, const char *enc_key,
                      const struct img_bytes *b, bool raw_strings, char *buf)
{
	size_t len;
	int n;

	if (!b->present)
		return;
	len = b->len < IMG_STR_MAX ? b->len : IMG_STR_MAX - 1;
	if (len == 0)
		return;
	if (raw_strings) {
		fn(ctx, key, b->data, len);
	} else {
		n = img_safe(b->data, len, buf, ENC_BUF);
		if (n > 0)
			fn(ctx, key, buf, (size_t)n);
	}
	if (enc_key) {
		n = img_enc(b->data, len, buf, ENC_BUF);
		if (n > 0)
			fn(ctx, enc_key, buf, (size_t)n);
	}
}

size_t img_feature_list(const struct img_result *res, char *buf, size_t buflen)
{
	unsigned n = res->n_features < IMG_MAX_FEATURES ? res->n_features : IMG_MAX_FEATURES;
	size_t used = 0;

	for (unsigned i = 0; i < n; i++) {
		char tok[TOKEN_MAX];
		int len = img_feature_token(&res->features[i], tok, sizeof(tok));

		if (len <= 0 || (size_t)len + 2 > buflen - used)
			continue;
		if (used)
			buf[used++] = ',';
		memcpy(buf + used, tok, (size_t)len);
		used += (size_t)len;
	}
	if (buflen)
		buf[used < buflen ? used : buflen - 1] = '\0';
	return used;
}

/*
 * A polyglot: every candidate.  When two formats claim the start of the
 * volume it is the only property (with the offset): like blkid's ambivalent
 * result (ID_FS_AMBIVALENT, no ID_FS_TYPE), no ID_IMAGE_FORMAT is set, so a
 * rule matching on it never acts on a volume two formats claim
 * (docs/security.md, rule 2).  A
 * footer-only candidate (res->footer_only_others) is listed beside the
 * start format's properties: a guest's last blocks never hide its host's
 * header.
 */
static void prop_ambiguous(const struct img_result *res, img_prop_fn fn, void *ctx, char *buf,
                           size_t buflen)
{
	size_t used = 0;
	unsigned n = res->n_candidates < _IMG_FMT_MAX ? res->n_candidates : _IMG_FMT_MAX;

	for (unsigned i = 0; i < n; i++) {
		const char *name = (unsigned)res->candidates[i] < _IMG_FMT_MAX ?
		                           img_format_name(res->candidates[i]) : NULL;
		size_t len = name ? strlen(name) : 0;

		if (!len || len + 2 > buflen - used)
			continue;
		if (used)
			buf[used++] = ',';
		memcpy(buf + used, name, len);
		used += len;
	}
	if (used)
		fn(ctx, "ID_IMAGE_AMBIGUOUS", buf, used);
}

void img_udev_props(const struct img_scan *s, bool raw_strings, img_prop_fn fn, void *ctx)
{
	char buf[LIST_BUF > ENC_BUF ? LIST_BUF : ENC_BUF];
	const struct img_result *res = s->res;
	size_t used;

	if (s->error || !res)
		return;
	/*
	 * --check: the verdict on every probed volume, raw ones included (a
	 * raw volume fails format-mismatch or partition-table); tokens only
	 */
	if (s->checked) {
		prop_str(fn, ctx, "ID_IMAGE_SAFE", s->verdict.safe ? "1" : "0");
		used = img_verdict_list(&s->verdict, buf, sizeof(buf));
		if (used)
			fn(ctx, "ID_IMAGE_UNSAFE", buf, used);
	}
	if (res->format == IMG_FMT_RAW || (unsigned)res->format >= _IMG_FMT_MAX)
		return;

	if (res->n_candidates > 1 && !res->footer_only_others) {
		prop_ambiguous(res, fn, ctx, buf, sizeof(buf));
		if (s->offset)
			prop_u64(fn, ctx, "ID_IMAGE_OFFSET", s->offset);
		return;
	}
	prop_str(fn, ctx, "ID_IMAGE_FORMAT", img_format_name(res->format));
	if (res->has_version) {
		char ver[24];
		int n = img_version_text(res, ver, sizeof(ver));

		if (n > 0)
			fn(ctx, "ID_IMAGE_FORMAT_VERSION", ver, (size_t)n);
	}
	prop_str(fn, ctx, "ID_IMAGE_SUBFORMAT", res->subformat);
	if (res->has_virtual_size)
		prop_u64(fn, ctx, "ID_IMAGE_VIRTUAL_SIZE", res->virtual_size);
	if (res->cluster_size)
		prop_u64(fn, ctx, "ID_IMAGE_CLUSTER_SIZE", res->cluster_size);
	prop_str(fn, ctx, "ID_IMAGE_COMPAT", res->compat);

	used = img_feature_list(res, buf, sizeof(buf));
	if (used)
		fn(ctx, "ID_IMAGE_FEATURES", buf, used);

	prop_name(fn, ctx, "ID_IMAGE_BACKING_FILE", "ID_IMAGE_BACKING_FILE_ENC", &res->backing_file,
	          raw_strings, buf);
	prop_name(fn, ctx, "ID_IMAGE_BACKING_FORMAT", NULL, &res->backing_format, raw_strings, buf);
	prop_name(fn, ctx, "ID_IMAGE_DATA_FILE", "ID_IMAGE_DATA_FILE_ENC", &res->data_file,
	          raw_strings, buf);

	if (res->encryption == IMG_ENC_AES)
		prop_str(fn, ctx, "ID_IMAGE_ENCRYPTION", "aes");
	else if (res->encryption == IMG_ENC_LUKS)
		prop_str(fn, ctx, "ID_IMAGE_ENCRYPTION", "luks");
	prop_str(fn, ctx, "ID_IMAGE_DIRTY", res->dirty ? "1" : "0");
	/* the corrupt bit exists in qcow2 only; elsewhere say it only when set */
	if (res->format == IMG_FMT_QCOW2 || res->corrupt)
		prop_str(fn, ctx, "ID_IMAGE_CORRUPT", res->corrupt ? "1" : "0");
	if (res->has_snapshots)
		prop_u64(fn, ctx, "ID_IMAGE_SNAPSHOTS", res->snapshots);
	if (res->has_bitmaps)
		prop_u64(fn, ctx, "ID_IMAGE_BITMAPS", res->bitmaps);
	if (res->damaged)
		prop_str(fn, ctx, "ID_IMAGE_DAMAGED", "1");
	if (res->limit)
		prop_str(fn, ctx, "ID_IMAGE_LIMIT", "1");
	if (res->n_candidates > 1)
		prop_ambiguous(res, fn, ctx, buf, sizeof(buf));

	if (s->offset)
		prop_u64(fn, ctx, "ID_IMAGE_OFFSET", s->offset);
}

static void udev_line(void *ctx, const char *key, const char *val, size_t len)
{
	img_put_udev_line(ctx, key, val, len);
}

void img_out_udev(FILE *f, const struct img_scan *s)
{
	img_udev_props(s, false, udev_line, f);
}
