/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMDK: hosted sparse extents ("KDMV", VMDK4, versions 1-3, including
 * stream-optimized images whose real header is in the footer), ESX COWD
 * ("vmfsSparse", VMDK3) and text descriptor files (monolithicFlat,
 * twoGbMaxExtent*, vmfs*, seSparse).
 *
 * Follows docs/formats.md, "vmdk", and reproduces what qemu 7.2
 * (block/vmdk.c: vmdk_probe, vmdk_open, vmdk_open_vmdk4,
 * vmdk_open_vmfs_sparse, vmdk_parse_description, vmdk_parse_extents,
 * vmdk_parent_open, vmdk_read_cid, vmdk_get_specific_info) accepts and
 * prints with `qemu-img info --output=json`:
 *
 *   KDMV header, LE, after the 4-byte magic at 0:
 *     4 version, 8 flags, 12 capacity (sectors), 20 granularity (sectors),
 *     28 desc_offset, 36 desc_size, 44 num_gtes_per_gt, 48 rgd_offset,
 *     56 gd_offset (~0: header in the footer at end-1024), 64 grain_offset,
 *     72 filler, 73 check bytes, 77 compressAlgorithm (1 = deflate).
 *   COWD header, LE u32s: 4 version, 8 flags, 12 disk_sectors,
 *     16 granularity, 20 l1dir_offset, 24 l1dir_size.
 *   Embedded descriptor: qemu reads 20 sectors at 0x200 whatever the header
 *     says, and searches it (strstr) for "CID", "parentCID" and
 *     "parentFileNameHint".
 *
 * Reads past the end of the volume are zero-filled, as qemu's block layer
 * does.  Header text is hostile: every search and scan below is bounded by
 * the bytes actually read, extent reporting is capped and the sector sum is
 * overflow checked.  Extent files and parents are never opened
 * (docs/security.md, rule 1): their
 * names are reported as the descriptor gives them.  Differences from qemu
 * that follow from that:
 *  - the extent of a KDMV/COWD file is the file itself, whose path only
 *    the caller knows: its "filename" is an IMG_SPEC_SELF entry the outputs
 *    fill with the path they were given, as qemu-img prints the path it
 *    opened.  The embedded descriptor's extent lines, which qemu never
 *    reads, only feed the safety checks (IMG_VMDK_EMBEDDED_OTHER);
 *  - descriptor extents are reported with the descriptor's name (qemu prints
 *    it joined with the descriptor's directory) and the descriptor's sector
 *    count; for SPARSE/VMFSSPARSE/SESPARSE extents qemu takes size, grain
 *    ("cluster-size", also the top-level one) and "compressed" from the
 *    extent file's own header, which we do not read: those keys are omitted
 *    and the top-level cluster size is 0;
 *  - a descriptor is parsed over its first VMDK_DESC_MAX bytes (qemu: up to
 *    1 MiB - 1); a longer one is parsed up to its last whole line there, its
 *    virtual size (the sum over every extent) is left out and res->limit
 *    says so, rather than a sum over the first extents only;
 *  - qemu fails to open a descriptor whose extent files are missing; we
 *    cannot tell.
 */
#include <stdint.h>
#include <string.h>

#include "bytes.h"
#include "probe.h"

#define VMDK_SECTOR 512u
#define VMDK_PROBE_BUF 512u               /* qemu's BLOCK_PROBE_BUF_SIZE */
#define VMDK_DESC_WIN (20u * VMDK_SECTOR) /* qemu's DESC_SIZE */
#define VMDK_EMBEDDED_DESC 0x200u
#define VMDK_DESC_MAX (64u * 1024)        /* descriptor text we parse */
#define VMDK_MAX_EXTENTS 64               /* extents reported in format-specific */
#define VMDK_MAX_GRANULARITY 0x200000u
#define VMDK_MAX_L1 (32u * 1024 * 1024)
#define VMDK_MAX_NAME 4095u               /* sizeof(bs->auto_backing_file) - 1 */
#define VMDK_HDR_LEN 79u                  /* magic + VMDK4Header */
#define VMDK_GD_AT_END UINT64_MAX
#define VMDK_QEMU_DESC_MAX ((1u << 20) - 1) /* vmdk_read_desc() */
/* qemu's BDRV_MAX_LENGTH: INT64_MAX aligned down to 1 GiB */
#define VMDK_BDRV_MAX_LENGTH ((uint64_t)INT64_MAX & ~(((uint64_t)1 << 30) - 1))
#define VMDK_COMPRESSION_DEFLATE 1

#define VMDK4_FLAG_NL_DETECT (1u << 0)
#define VMDK4_FLAG_RGD (1u << 1)
#define VMDK4_FLAG_ZERO_GRAIN (1u << 2)
#define VMDK4_FLAG_COMPRESS (1u << 16)
#define VMDK4_FLAG_MARKER (1u << 17)

#define MARKER_END_OF_STREAM 0
#define MARKER_FOOTER 3

/* ---- bounded text helpers ------------------------------------------------ */

/*
 * A window of header text: bytes [0, len) are real, every byte from len on
 * reads as NUL (qemu zero-fills its buffers and reads past EOF).
 */
struct vtext {
	const uint8_t *p;
	size_t len;
};

static uint8_t vt_at(const struct vtext *t, size_t i)
{
	return i < t->len ? t->p[i] : 0;
}

/* length of the C string at the start of the window (strlen) */
static size_t vt_strlen(const struct vtext *t)
{
	const uint8_t *nul = t->len ? memchr(t->p, 0, t->len) : NULL;

	return nul ? (size_t)(nul - t->p) : t->len;
}

/* strstr over the C string at the start of the window; SIZE_MAX when absent */
static size_t vt_strstr(const struct vtext *t, const char *needle)
{
	size_t n = strlen(needle), hay = vt_strlen(t);

	if (n == 0)
		return 0;
	/*
	 * the first byte before memcmp: a call per position cost what the
	 * needle's place in memory happened to make it (a libc memcmp takes
	 * its slow path near a page end), and most positions differ there
	 */
	for (size_t i = 0; n <= hay && i <= hay - n; i++)
		if (t->p[i] == (uint8_t)needle[0] && memcmp(t->p + i, needle, n) == 0)
			return i;
	return SIZE_MAX;
}

static bool vt_isspace(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * sscanf(p, "%" SCNx32) as glibc does it: blanks, a sign, an optional 0x,
 * hex digits through strtoul (saturating at ULONG_MAX, negated for '-'),
 * then truncated to 32 bits.  i never walks past limit.
 */
static bool scan_hex32(const struct vtext *t, size_t i, size_t limit, uint32_t *ret)
{
	uint64_t v = 0;
	bool neg = false, any = false, sat = false;

	while (i < limit && vt_isspace(vt_at(t, i)))
		i++;
	if (i < limit && (vt_at(t, i) == '+' || vt_at(t, i) == '-'))
		neg = vt_at(t, i++) == '-';
	if (i < limit && vt_at(t, i) == '0') {
		any = true;
		i++;
		if (i < limit && (vt_at(t, i) == 'x' || vt_at(t, i) == 'X'))
			i++;
	}
	for (; i < limit && hexval(vt_at(t, i)) >= 0; i++) {
		any = true;
		if (v > (UINT64_MAX >> 4))
			sat = true;
		v = v << 4 | (uint64_t)hexval(vt_at(t, i));
	}
	if (!any)
		return false;
	if (sat)
		v = UINT64_MAX;
	else if (neg)
		v = (uint64_t)0 - v;
	*ret = (uint32_t)v;
	return true;
}

/*
 * vmdk_read_cid(): strstr(desc, key) over the 20-sector window (last byte
 * forced to NUL), skip the key and one more byte, sscanf %x.
 */
static bool read_cid(const struct vtext *win, const char *key, uint32_t *ret)
{
	struct vtext w = { win->p, win->len < VMDK_DESC_WIN - 1 ? win->len : VMDK_DESC_WIN - 1 };
	size_t pos = vt_strstr(&w, key);

	if (pos == SIZE_MAX)
		return false;
	return scan_hex32(&w, pos + strlen(key) + 1, VMDK_DESC_WIN, ret);
}

/*
 * vmdk_parent_open(): strstr "parentFileNameHint", skip it plus `="`, the
 * name runs to the next '"' (the buffer is DESC_SIZE + 1, NUL-terminated).
 * Returns false when qemu refuses the image.
 */
static bool read_parent_hint(const struct vtext *win, struct img_result *res)
{
	static const char key[] = "parentFileNameHint";
	struct vtext w = { win->p, win->len < VMDK_DESC_WIN ? win->len : VMDK_DESC_WIN };
	size_t pos = vt_strstr(&w, key), start, end;

	if (pos == SIZE_MAX)
		return true;
	start = pos + sizeof(key) + 1;
	for (end = start; end < VMDK_DESC_WIN && vt_at(&w, end) != '"'; end++)
		if (vt_at(&w, end) == 0)
			return false; /* no closing quote */
	if (end >= VMDK_DESC_WIN)
		return false;
	if (end - start > VMDK_MAX_NAME)
		return false;
	if (end > start) {
		/* end <= w.len here: every byte before it is a real, non-NUL byte */
		img_bytes_set(&res->backing_file, w.p + start, end - start);
		img_bytes_set(&res->backing_format, "vmdk", 4);
	}
	return true;
}

/* ---- descriptor files ----------------------------------------------------- */

/* qemu's vmdk_probe text rule, over a 512-byte zero-padded buffer */
/*
 * Returns where the decision was made (the first line that is neither a
 * comment nor blank; n when there is none), for the probe trace; a match
 * sets *ret_version (left alone otherwise).
 */
static size_t text_probe(const uint8_t *b, size_t n, unsigned *ret_version)
{
	static const char *const v_lf[] = { "version=1\n", "version=2\n", "version=3\n" };
	static const char *const v_crlf[] = { "version=1\r\n", "version=2\r\n", "version=3\r\n" };
	size_t i = 0;

	while (i < n) {
		if (b[i] == '#') {
			while (i < n && b[i] != '\n')
				i++;
			i++;
			continue;
		}
		if (b[i] == ' ') {
			while (i < n && b[i] == ' ')
				i++;
			if (i < n && b[i] == '\r')
				i++;
			if (i == n || b[i] != '\n')
				return i;
			i++;
			continue;
		}
		for (unsigned v = 0; v < 3; v++) {
			if ((n - i >= 10 && memcmp(b + i, v_lf[v], 10) == 0) ||
			    (n - i >= 11 && memcmp(b + i, v_crlf[v], 11) == 0)) {
				*ret_version = v + 1;
				return i;
			}
		}
		return i;
	}
	return n;
}

/* createType values qemu accepts in a descriptor file, as static tokens */
static const char *const desc_create_types[] = {
	"monolithicFlat",      "vmfs",           "vmfsSparse",
	"seSparse",            "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
};

/*
 * vmdk_parse_description(desc, "createType"): strstr, skip the name and two
 * more bytes (`="`, unchecked), the value runs to the next '"' and must fit
 * 127 bytes.  Returns the accepted static token, or NULL with *ret_why.
 */
static const char *parse_create_type(const struct vtext *t, const char **ret_why)
{
	size_t end = vt_strlen(t), pos = vt_strstr(t, "createType"), q;

	*ret_why = "invalid VMDK image descriptor";
	if (pos == SIZE_MAX)
		return NULL;
	pos += strlen("createType") + 2;
	if (pos >= end)
		return NULL;
	for (q = pos; q < end && t->p[q] != '"'; q++)
		;
	if (q == end || q - pos + 1 > 128)
		return NULL;
	for (unsigned i = 0; i < IMG_ARRAY_SIZE(desc_create_types); i++) {
		const char *ct = desc_create_types[i];

		if (strlen(ct) == q - pos && memcmp(t->p + pos, ct, q - pos) == 0)
			return ct;
	}
	*ret_why = "Unsupported image type";
	return NULL;
}

/* a cursor over a C string of len bytes (a NUL at len) for the sscanf emulation */
struct cursor {
	const uint8_t *s;
	size_t len;
	size_t i;
};

static uint8_t cur(const struct cursor *c)
{
	return c->i < c->len ? c->s[c->i] : 0;
}

static void skip_ws(struct cursor *c)
{
	while (c->i < c->len && vt_isspace(c->s[c->i]))
		c->i++;
}

/* %<max>s: token [*ret_off, +*ret_len) */
static bool scan_s(struct cursor *c, size_t max, size_t *ret_off, size_t *ret_len)
{
	size_t n = 0;

	skip_ws(c);
	if (!cur(c))
		return false;
	*ret_off = c->i;
	while (n < max && cur(c) && !vt_isspace(cur(c)))
		c->i++, n++;
	*ret_len = n;
	return true;
}

/* %lld as glibc: sign, decimal digits, strtoll saturation */
static bool scan_lld(struct cursor *c, int64_t *ret)
{
	uint64_t v = 0;
	bool neg = false, sat = false, any = false;

	skip_ws(c);
	if (cur(c) == '+' || cur(c) == '-')
		neg = cur(c) == '-', c->i++;
	while (cur(c) >= '0' && cur(c) <= '9') {
		unsigned d = (unsigned)(cur(c) - '0');

		any = true;
		if (v > (UINT64_MAX - d) / 10)
			sat = true;
		else
			v = v * 10 + d;
		c->i++;
	}
	if (!any)
		return false;
	if (neg)
		*ret = sat || v > (uint64_t)INT64_MAX + 1 ? INT64_MIN : (int64_t)(0 - v);
	else
		*ret = sat || v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
	return true;
}

static bool tok_is(const struct cursor *c, size_t off, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(c->s + off, s, len) == 0;
}

struct vmdk_extent {
	const char *type; /* static token */
	int64_t sectors;
	size_t name_off, name_len;
};

struct vmdk_desc {
	const char *create_type;
	unsigned n_extents;       /* all extents qemu would open */
	unsigned n_stored;        /* the first VMDK_MAX_EXTENTS of them */
	struct vmdk_extent ext[VMDK_MAX_EXTENTS];
	uint64_t sectors;         /* sum */
	const uint8_t *text;
	size_t bad_at;            /* the extent line parse_extents refused (for the trace) */
};

static const char *const extent_types[] = { "FLAT", "SPARSE", "VMFS", "VMFSSPARSE", "SESPARSE" };

/* what one sscanf() of an extent line found */
struct line_scan {
	int matches;
	size_t a_off, a_len, t_off, t_len, f_off, f_len;
	int64_t sectors, flat_offset;
};

/*
 * sscanf(s + from, "%10s %lld %10s \"%511[^\n\r\"]\" %lld", ...), with the
 * string ending at len.
 */
static void scan_line(const uint8_t *s, size_t len, size_t from, struct line_scan *ls)
{
	struct cursor c = { s, len, from };

	memset(ls, 0, sizeof(*ls));
	ls->flat_offset = -1;
	if (!scan_s(&c, 10, &ls->a_off, &ls->a_len))
		return;
	ls->matches++;
	if (!scan_lld(&c, &ls->sectors))
		return;
	ls->matches++;
	if (!scan_s(&c, 10, &ls->t_off, &ls->t_len))
		return;
	ls->matches++;
	skip_ws(&c);
	if (cur(&c) != '"')
		return;
	c.i++;
	ls->f_off = c.i;
	while (c.i - ls->f_off < 511 && cur(&c) && cur(&c) != '\n' && cur(&c) != '\r' &&
	       cur(&c) != '"')
		c.i++;
	ls->f_len = c.i - ls->f_off;
	if (ls->f_len == 0)
		return;
	ls->matches++;
	if (cur(&c) != '"')
		return;
	c.i++;
	if (!scan_lld(&c, &ls->flat_offset))
		return;
	ls->matches++;
}

/* parse_extents' refusal of the extent line at byte at */
static const char *invalid_line(struct vmdk_desc *d, size_t at)
{
	d->bad_at = at;
	return "Invalid extent line";
}

/*
 * vmdk_parse_extents(): every line is run through
 *   sscanf(p, "%10s %lld %10s \"%511[^\n\r\"]\" %lld", ...)
 * which may read on across newlines; the next line starts after the next
 * '\n' whatever sscanf consumed.  Returns NULL or the reason qemu refuses.
 *
 * In linear time (qemu's loop is quadratic): sscanf first skips
 * whitespace, so every line that starts inside one run of whitespace
 * (empty lines) scans from the same first non-blank byte with the same
 * result.  The run's end and that result are remembered: a run is walked
 * once, and a scan from a new start covers at most the five fields of a
 * line, each of which a later start can only begin at a field boundary.
 */
static const char *parse_extents(const struct vtext *t, struct vmdk_desc *d)
{
	size_t len = vt_strlen(t);
	size_t line = 0;
	size_t ws_from = SIZE_MAX, ws_to = 0; /* [ws_from, ws_to) is blank; ws_to is not */
	size_t scanned_at = SIZE_MAX;         /* where ls was scanned from */
	struct line_scan ls;

	memset(&ls, 0, sizeof(ls));
	d->text = t->p;
	while (line < len) {
		struct cursor c = { t->p, len, 0 };
		const char *type = NULL;
		const uint8_t *nl = memchr(t->p + line, '\n', len - line);
		size_t next = nl ? (size_t)(nl - t->p) + 1 : len;
		size_t first;

		if (ws_from != SIZE_MAX && line >= ws_from && line <= ws_to) {
			first = ws_to;
		} else {
			for (first = line; first < len && vt_isspace(t->p[first]); first++)
				;
			ws_from = line;
			ws_to = first;
		}
		if (first != scanned_at) {
			scan_line(t->p, len, first, &ls);
			scanned_at = first;
		}

		line = next;
		if (ls.matches < 4 || !tok_is(&c, ls.a_off, ls.a_len, "RW"))
			continue;
		if (tok_is(&c, ls.t_off, ls.t_len, "FLAT")) {
			if (ls.matches != 5 || ls.flat_offset < 0)
				return invalid_line(d, first);
		} else if (tok_is(&c, ls.t_off, ls.t_len, "VMFS")) {
			if (ls.matches != 4)
				return invalid_line(d, first);
		} else if (ls.matches != 4) {
			return invalid_line(d, first);
		}
		for (unsigned i = 0; i < IMG_ARRAY_SIZE(extent_types); i++)
			if (tok_is(&c, ls.t_off, ls.t_len, extent_types[i]))
				type = extent_types[i];
		if (ls.sectors <= 0 || !type)
			continue;

		if (img_add_overflow(d->sectors, (uint64_t)ls.sectors, &d->sectors))
			return "Virtual size too large";
		if (d->n_stored < VMDK_MAX_EXTENTS) {
			struct vmdk_extent *e = &d->ext[d->n_stored++];

			e->type = type;
			e->sectors = ls.sectors;
			e->name_off = ls.f_off;
			e->name_len = ls.f_len;
		}
		d->n_extents++;
	}
	return NULL;
}

/* ---- results -------------------------------------------------------------- */

static void put_spec_head(struct img_result *res, uint32_t cid, uint32_t parent_cid,
                          const char *create_type)
{
	img_spec_begin(res, "vmdk");
	img_spec_uint(res, "cid", cid);
	img_spec_uint(res, "parent-cid", parent_cid);
	img_spec_cstr(res, "create-type", create_type);
	img_spec_arr(res, "extents");
}

/* a name with a directory part, or one that is no file name at all */
static bool name_leaves_dir(const uint8_t *name, size_t len)
{
	return memchr(name, '/', len) || (len == 1 && name[0] == '.') ||
	       (len == 2 && name[0] == '.' && name[1] == '.');
}

/*
 * The one extent of a KDMV/COWD file is the file itself: qemu never reads
 * the extent lines of the embedded descriptor.  Another tool that follows
 * them would open what they name, so the safety checks learn when they name
 * anything but one extent of the image's own kind under a bare file name.
 */
static void check_embedded_extents(const struct img_reader *r, const char *own_type,
                                   struct img_result *res)
{
	struct vmdk_desc d;
	struct vtext win = { NULL, 0 };
	bool other;

	if (img_get_upto(r, VMDK_EMBEDDED_DESC, VMDK_DESC_WIN, &win.p, &win.len) < 0)
		return;
	memset(&d, 0, sizeof(d));
	(void)parse_extents(&win, &d); /* extents before a bad line still count */
	other = d.n_extents > 1;
	for (unsigned i = 0; i < d.n_stored; i++) {
		const struct vmdk_extent *e = &d.ext[i];
		const uint8_t *name = win.p + e->name_off;

		if (strcmp(e->type, own_type) != 0 || name_leaves_dir(name, e->name_len))
			other = true;
		if (e->name_len >= 5 && memcmp(name, "/dev/", 5) == 0)
			res->vmdk_flags |= IMG_VMDK_DEVICE_EXTENT;
	}
	if (other)
		res->vmdk_flags |= IMG_VMDK_EMBEDDED_OTHER;
}

/*
 * key order as qemu-img 7.2 prints a VmdkExtentInfo; the filename is the
 * path qemu opened, which only the caller knows (IMG_SPEC_SELF)
 */
static void put_self_extent(const struct img_reader *r, struct img_result *res, uint64_t bytes,
                            bool compressed, uint64_t cluster_size, const char *own_type)
{
	check_embedded_extents(r, own_type, res);
	img_spec_obj(res, NULL);
	if (compressed)
		img_spec_bool(res, "compressed", true);
	img_spec_int(res, "virtual-size", (int64_t)bytes);
	img_spec_self(res, "filename");
	img_spec_int(res, "cluster-size", (int64_t)cluster_size);
	img_spec_cstr(res, "format", "");
	img_spec_end(res);
}

static void put_desc_extents(struct img_result *res, const struct vmdk_desc *d)
{
	for (unsigned i = 0; i < d->n_stored; i++) {
		const struct vmdk_extent *e = &d->ext[i];

		img_spec_obj(res, NULL);
		img_spec_int(res, "virtual-size", e->sectors * (int64_t)VMDK_SECTOR);
		img_spec_str(res, "filename", d->text + e->name_off, e->name_len);
		img_spec_cstr(res, "format", e->type);
		img_spec_end(res);
	}
	if (d->n_extents > d->n_stored)
		res->spec.overflow = true;
}

/* CID, parentCID and parentFileNameHint from the 20-sector window at off */
static int read_ids(const struct img_reader *r, uint64_t off, struct img_result *res,
                    uint32_t *ret_cid, uint32_t *ret_pcid)
{
	struct vtext win = { NULL, 0 };
	int rc = img_get_upto(r, off, VMDK_DESC_WIN, &win.p, &win.len);

	if (rc < 0)
		return rc;
	if (!read_parent_hint(&win, res))
		img_set_damaged(res, "Invalid parentFileNameHint");
	if (!read_cid(&win, "CID", ret_cid) || !read_cid(&win, "parentCID", ret_pcid))
		img_set_damaged(res, "Could not read CID from the descriptor");
	else if (*ret_pcid != UINT32_MAX)
		res->vmdk_flags |= IMG_VMDK_PARENT_CID;
	return 0;
}

/* parse_extents' refusal, for the trace: the line (its first 64 bytes) */
static __attribute__((noinline, cold)) void trace_extent_line(struct img_result *res,
                                                              const struct vtext *t,
                                                              const struct vmdk_desc *d,
                                                              const char *why)
{
	size_t end = vt_strlen(t), e = d->bad_at;

	if (strcmp(why, "Invalid extent line") != 0 || d->bad_at >= end) {
		img_set_damaged(res, why);
		return;
	}
	while (e < end && t->p[e] != '\n' && t->p[e] != '\r' && e - d->bad_at < IMG_TBYTES_MAX)
		e++;
	IMG_DAMAGED(res, why, "\"", IMG_TBYTES(t->p + d->bad_at, e - d->bad_at),
	            e < end && t->p[e] != '\n' && t->p[e] != '\r' ? "...\"" : "\"", " at byte ",
	            IMG_TDEC(d->bad_at));
}

/* parse_create_type's refusal, for the trace: the value it found, if any */
static __attribute__((noinline, cold)) void trace_create_type(struct img_result *res,
                                                              const struct vtext *t,
                                                              const char *why)
{
	size_t end = vt_strlen(t), pos = vt_strstr(t, "createType"), q;

	if (pos == SIZE_MAX) {
		IMG_DAMAGED(res, why, "no createType in the descriptor");
		return;
	}
	pos += strlen("createType") + 2;
	if (pos >= end) {
		IMG_DAMAGED(res, why, "the descriptor ends after createType");
		return;
	}
	for (q = pos; q < end && t->p[q] != '"' && q - pos < IMG_TBYTES_MAX; q++)
		;
	IMG_DAMAGED(res, why, "createType \"", IMG_TBYTES(t->p + pos, q - pos),
	            q < end && t->p[q] == '"' ? "\"" : "...", " at byte ", IMG_TDEC(pos));
}

/*
 * A descriptor file (or a KDMV header with capacity 0 pointing at one) at
 * desc_off; the CID window is at cid_off.
 */
static int probe_desc(const struct img_reader *r, uint64_t desc_off, uint64_t cid_off,
                      struct img_result *res)
{
	struct vmdk_desc d;
	struct vtext t = { NULL, 0 };
	const char *why = NULL, *ct;
	uint32_t cid = 0, pcid = 0;
	bool cut = false;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = img_get_upto(r, desc_off, VMDK_DESC_MAX, &t.p, &t.len);
	if (rc < 0)
		return rc;
	if (t.len == VMDK_DESC_MAX && r->size - desc_off > VMDK_DESC_MAX &&
	    !memchr(t.p, 0, t.len)) {
		/* the text goes on past what we parse: up to its last whole line only */
		size_t end = t.len;

		while (end > 0 && t.p[end - 1] != '\n')
			end--;
		t.len = end;
		cut = true;
	}
	ct = parse_create_type(&t, &why);
	if (!ct) {
		if (__builtin_expect(res->tracing != NULL, 0))
			trace_create_type(res, &t, why);
		else
			img_set_damaged(res, why);
		return IMG_MATCH;
	}
	res->subformat = ct;
	why = parse_extents(&t, &d);
	if (why) {
		if (__builtin_expect(res->tracing != NULL, 0))
			trace_extent_line(res, &t, &d, why);
		else
			img_set_damaged(res, why);
		return IMG_MATCH;
	}
	/* qemu opens every extent a descriptor names: other files, or devices */
	res->vmdk_flags |= IMG_VMDK_DESC_EXTENTS;
	for (unsigned i = 0; i < d.n_stored; i++)
		if ((d.ext[i].name_len >= 5 && memcmp(t.p + d.ext[i].name_off, "/dev/", 5) == 0) ||
		    strcmp(d.ext[i].type, "VMFS") == 0)
			res->vmdk_flags |= IMG_VMDK_DEVICE_EXTENT;
	if (d.sectors > (uint64_t)INT64_MAX / VMDK_SECTOR) {
		img_set_damaged(res, "Virtual size too large");
		return IMG_MATCH;
	}
	if (cut) {
		res->limit = "vmdk: the descriptor is longer than the 64 KiB imgscan parses; "
		             "extents past it are not listed and the virtual size is unknown";
	} else {
		res->has_virtual_size = true;
		res->virtual_size = d.sectors * VMDK_SECTOR;
	}
	rc = read_ids(r, cid_off, res, &cid, &pcid);
	if (rc < 0)
		return rc;
	if (d.n_extents == 0 && !cut)
		img_set_damaged(res, "No extents in the descriptor"); /* qemu 7.2 aborts */
	if (res->damaged)
		return IMG_MATCH;
	put_spec_head(res, cid, pcid, ct);
	put_desc_extents(res, &d);
	img_spec_end(res);
	return IMG_MATCH;
}

/* ---- binary extents ------------------------------------------------------- */

/* len bytes from off, zero-filled past the end of the volume */
static int read_zpad(const struct img_reader *r, uint64_t off, uint8_t *buf, size_t len)
{
	const uint8_t *p;
	size_t got;
	int rc = img_get_upto(r, off, len, &p, &got);

	if (rc < 0)
		return rc;
	if (got)
		memcpy(buf, p, got);
	memset(buf + got, 0, len - got);
	return 0;
}

/* the volume size in sectors, rounded up as qemu's total_sectors */
static uint64_t nb_sectors(const struct img_reader *r)
{
	return r->size / VMDK_SECTOR + (r->size % VMDK_SECTOR ? 1 : 0);
}

/* qemu's bdrv_check_qiov_request(): negative offsets and ends past BDRV_MAX_LENGTH fail */
static bool qemu_readable(uint64_t off, uint64_t bytes)
{
	return off <= VMDK_BDRV_MAX_LENGTH && bytes <= VMDK_BDRV_MAX_LENGTH - off;
}

static void add_kdmv_flags(struct img_result *res, uint32_t flags)
{
	if (flags & VMDK4_FLAG_NL_DETECT)
		img_add_feature(res, IMG_FEAT_OTHER, 0, "nl_detect");
	if (flags & VMDK4_FLAG_RGD)
		img_add_feature(res, IMG_FEAT_OTHER, 1, "redundant_gd");
	if (flags & VMDK4_FLAG_ZERO_GRAIN)
		img_add_feature(res, IMG_FEAT_OTHER, 2, "zeroed_grain");
	if (flags & VMDK4_FLAG_COMPRESS)
		img_add_feature(res, IMG_FEAT_OTHER, 16, "compressed");
	if (flags & VMDK4_FLAG_MARKER)
		img_add_feature(res, IMG_FEAT_OTHER, 17, "markers");
}

static int probe_kdmv(const struct img_reader *r, struct img_result *res)
{
	uint8_t head[VMDK_HDR_LEN];
	uint8_t footer[3 * VMDK_SECTOR];
	const uint8_t *h = head + 4;
	uint32_t version, flags, gtes, l1_entry_sectors, l1_size, cid = 0, pcid = 0;
	uint64_t capacity, granularity, gd_offset, rgd_offset, grain_offset;
	bool compressed;
	int rc;

	rc = read_zpad(r, 0, head, sizeof(head));
	if (rc < 0)
		return rc;
	capacity = img_le64(h + 8);
	if (capacity == 0 && img_le64(h + 24) != 0) {
		/* the header only points at a descriptor: qemu opens it as a descriptor file */
		uint64_t desc_off = img_le64(h + 24) << 9;

		res->has_version = true;
		res->version = img_le32(h);
		/* vmdk_read_desc reads min(size, 1 MiB - 1) bytes there */
		if (!qemu_readable(desc_off, r->size < VMDK_QEMU_DESC_MAX ? r->size : VMDK_QEMU_DESC_MAX)) {
			IMG_DAMAGED(res, "Could not read from file", "desc_offset ",
			            IMG_TDEC(img_le64(h + 24)), " sectors, past qemu's largest offset");
			return IMG_MATCH;
		}
		return probe_desc(r, desc_off, VMDK_EMBEDDED_DESC, res);
	}

	if (img_le64(h + 52) == VMDK_GD_AT_END) {
		/* footer marker, KDMV header, end-of-stream marker in the last 3 sectors */
		uint64_t total;

		if (img_mul_overflow(nb_sectors(r), VMDK_SECTOR, &total) || total < sizeof(footer)) {
			IMG_DAMAGED(res, "Failed to read footer", "gd_offset ", IMG_THEX(VMDK_GD_AT_END, 1),
			            " (a footer) in a volume of ", IMG_TDEC(r->size), " bytes");
			return IMG_MATCH;
		}
		rc = read_zpad(r, total - sizeof(footer), footer, sizeof(footer));
		if (rc < 0)
			return rc;
		if (memcmp(footer + 512, "KDMV", 4) != 0 || img_le32(footer + 8) != 0 ||
		    img_le32(footer + 12) != MARKER_FOOTER || img_le64(footer + 1024) != 0 ||
		    img_le32(footer + 1032) != 0 || img_le32(footer + 1036) != MARKER_END_OF_STREAM) {
			IMG_DAMAGED(res, "Invalid footer", "the last 3 sectors: \"",
			            IMG_TBYTES(footer + 512, 4), "\", marker types ",
			            IMG_TDEC(img_le32(footer + 12)), " and ", IMG_TDEC(img_le32(footer + 1036)),
			            " (\"KDMV\", 3 and 0)");
			return IMG_MATCH;
		}
		h = footer + 512 + 4;
		capacity = img_le64(h + 8);
		/*
		 * qemu reads the footer's header only; a tool that reads the
		 * first one sees another image.  They agree but for gd_offset.
		 */
		if (memcmp(head + 4, h, 52) != 0 || memcmp(head + 4 + 60, h + 60, VMDK_HDR_LEN - 4 - 60) != 0)
			res->vmdk_flags |= IMG_VMDK_FOOTER_MISMATCH;
	}

	version = img_le32(h);
	flags = img_le32(h + 4);
	granularity = img_le64(h + 16);
	gtes = img_le32(h + 40);
	rgd_offset = img_le64(h + 44);
	gd_offset = img_le64(h + 52);
	grain_offset = img_le64(h + 60);
	compressed = img_le16(h + 73) == VMDK_COMPRESSION_DEFLATE;

	res->has_version = true;
	res->version = version;
	res->subformat = compressed ? "streamOptimized" : "monolithicSparse";
	add_kdmv_flags(res, flags);
	if (capacity <= (uint64_t)INT64_MAX / VMDK_SECTOR) {
		res->has_virtual_size = true;
		res->virtual_size = capacity * VMDK_SECTOR;
	}
	if (granularity <= VMDK_MAX_GRANULARITY)
		res->cluster_size = granularity * VMDK_SECTOR;

	/* vmdk_open_vmdk4 and vmdk_add_extent, in qemu's order */
	if (version > 3) {
		IMG_DAMAGED(res, "Unsupported VMDK version", "version ", IMG_TDEC(version), ", 1..3");
		return IMG_MATCH;
	}
	if (gtes > 512) {
		IMG_DAMAGED(res, "L2 table size too big", "num_gtes_per_gt ", IMG_TDEC(gtes),
		            ", at most 512");
		return IMG_MATCH;
	}
	l1_entry_sectors = (uint32_t)(gtes * granularity); /* qemu keeps 32 bits */
	if (l1_entry_sectors == 0) {
		IMG_DAMAGED(res, "L1 entry size is invalid", "num_gtes_per_gt ", IMG_TDEC(gtes),
		            " x granularity ", IMG_TDEC(granularity), " is 0 in 32 bits");
		return IMG_MATCH;
	}
	/* u64 wrap-around and the truncation to 32 bits are qemu's */
	l1_size = (uint32_t)((capacity + l1_entry_sectors - 1) / l1_entry_sectors);
	if (nb_sectors(r) < grain_offset) {
		IMG_DAMAGED(res, "File truncated", "grain_offset ", IMG_TDEC(grain_offset),
		            " sectors, the volume ", IMG_TDEC(nb_sectors(r)));
		return IMG_MATCH;
	}
	if (granularity > VMDK_MAX_GRANULARITY) {
		IMG_DAMAGED(res, "Invalid granularity, image may be corrupt", "granularity ",
		            IMG_TDEC(granularity), ", at most ", IMG_TDEC(VMDK_MAX_GRANULARITY));
		return IMG_MATCH;
	}
	if (l1_size > VMDK_MAX_L1) {
		IMG_DAMAGED(res, "L1 size too big", "capacity ", IMG_TDEC(capacity), ": ",
		            IMG_TDEC(l1_size), " L1 entries, at most ", IMG_TDEC(VMDK_MAX_L1));
		return IMG_MATCH;
	}
	if (!qemu_readable(gd_offset << 9, (uint64_t)l1_size * 4) ||
	    ((flags & VMDK4_FLAG_RGD) && rgd_offset << 9 &&
	     !qemu_readable(rgd_offset << 9, (uint64_t)l1_size * 4))) {
		IMG_DAMAGED(res, "Could not read l1 table", "gd_offset ", IMG_TDEC(gd_offset),
		            ", rgd_offset ", IMG_TDEC(rgd_offset), " sectors, ", IMG_TDEC(l1_size),
		            " entries: past qemu's largest offset");
		return IMG_MATCH;
	}
	if (!res->has_virtual_size) {
		IMG_DAMAGED(res, "Virtual size too large", "capacity ", IMG_TDEC(capacity),
		            " sectors");
		return IMG_MATCH;
	}

	rc = read_ids(r, VMDK_EMBEDDED_DESC, res, &cid, &pcid);
	if (rc < 0)
		return rc;
	if (res->damaged)
		return IMG_MATCH;
	put_spec_head(res, cid, pcid, res->subformat);
	put_self_extent(r, res, res->virtual_size, compressed, res->cluster_size, "SPARSE");
	img_spec_end(res);
	return IMG_MATCH;
}

static int probe_cowd(const struct img_reader *r, struct img_result *res)
{
	uint8_t head[4 + 24];
	uint32_t disk_sectors, granularity, l1dir_size, cid = 0, pcid = 0;
	int rc;

	rc = read_zpad(r, 0, head, sizeof(head));
	if (rc < 0)
		return rc;
	disk_sectors = img_le32(head + 12);
	granularity = img_le32(head + 16);
	l1dir_size = img_le32(head + 24);

	res->has_version = true;
	res->version = img_le32(head + 4);
	res->subformat = "vmfsSparse";
	res->has_virtual_size = true;
	res->virtual_size = (uint64_t)disk_sectors * VMDK_SECTOR;
	if (granularity > VMDK_MAX_GRANULARITY) {
		IMG_DAMAGED(res, "Invalid granularity, image may be corrupt", "granularity ",
		            IMG_TDEC(granularity), ", at most ", IMG_TDEC(VMDK_MAX_GRANULARITY));
		return IMG_MATCH;
	}
	res->cluster_size = (uint64_t)granularity * VMDK_SECTOR;
	if (l1dir_size > VMDK_MAX_L1) {
		IMG_DAMAGED(res, "L1 size too big", "l1dir_size ", IMG_TDEC(l1dir_size), ", at most ",
		            IMG_TDEC(VMDK_MAX_L1));
		return IMG_MATCH;
	}
	rc = read_ids(r, VMDK_EMBEDDED_DESC, res, &cid, &pcid);
	if (rc < 0)
		return rc;
	if (res->damaged)
		return IMG_MATCH;
	/* qemu never sets a create type for a bare COWD file: it prints "" */
	put_spec_head(res, cid, pcid, "");
	put_self_extent(r, res, res->virtual_size, false, res->cluster_size, "VMFSSPARSE");
	img_spec_end(res);
	return IMG_MATCH;
}

/*
 * The text probe said no at stop: a descriptor of another version says so;
 * any other volume (vmdk has no magic) gets the probe loop's plain "no
 * match".  Out of line: every volume that is not a vmdk comes this way.
 */
static __attribute__((noinline, cold)) void trace_text_refusal(const struct img_reader *r,
                                                               struct img_result *res,
                                                               const uint8_t *buf, size_t n,
                                                               size_t stop)
{
	size_t e = stop;

	if (n - stop < 8 || memcmp(buf + stop, "version=", 8) != 0)
		return;
	while (e < n && e - stop < 32 && buf[e] != '\n' && buf[e] != '\r')
		e++;
	IMG_REFUSE(r, res, "descriptor line \"", IMG_TBYTES(buf + stop, e - stop), "\" at byte ",
	           IMG_TDEC(stop), " (version=1, 2 or 3)");
}

static int probe_vmdk(const struct img_reader *r, const struct img_magic *hit,
                      struct img_result *res)
{
	uint8_t buf[VMDK_PROBE_BUF];
	unsigned version = 0;
	size_t stop;
	int rc;

	(void)hit; /* probe_always: the magic is checked here, as qemu does */
	rc = read_zpad(r, 0, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	if (r->size >= 4 && memcmp(buf, "KDMV", 4) == 0)
		return probe_kdmv(r, res);
	if (r->size >= 4 && memcmp(buf, "COWD", 4) == 0)
		return probe_cowd(r, res);
	stop = text_probe(buf, sizeof(buf), &version);
	if (!version) {
		if (__builtin_expect(r->trace != NULL, 0))
			trace_text_refusal(r, res, buf, sizeof(buf), stop);
		return IMG_NOMATCH;
	}
	res->has_version = true;
	res->version = version;
	return probe_desc(r, 0, 0, res);
}

const struct img_format img_vmdk_format = {
	.id = IMG_FMT_VMDK,
	.name = "vmdk",
	/* documentation only: probe_always runs the probe on every volume */
	.magics = {
		{ .offset = 0, .whence = IMG_FROM_START, .bytes = "KDMV", .len = 4 },
		{ .offset = 0, .whence = IMG_FROM_START, .bytes = "COWD", .len = 4 },
	},
	.probe_always = true,
	.probe = probe_vmdk,
};
