/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * imgscan probe core: bytes in, facts out.
 *
 * The core includes no I/O, no libudev and allocates nothing: a volume is
 * seen through a struct img_reader (read N bytes at an offset, total size,
 * logical block size) and every fact lands in a caller-provided, fixed-size
 * struct img_result.  Every header byte is hostile: probes check each
 * offset, length and count against the volume size and a fixed limit before
 * use (docs/security.md, rule 3).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Probe order is the enum order.  IMG_FMT_RAW is the fallback and has no probe. */
enum img_format_id {
	IMG_FMT_RAW = 0,
	IMG_FMT_QCOW2,
	IMG_FMT_QCOW,
	IMG_FMT_QED,
	IMG_FMT_VMDK,
	IMG_FMT_VPC,
	IMG_FMT_VHDX,
	IMG_FMT_VDI,
	IMG_FMT_PARALLELS,
	IMG_FMT_BOCHS,
	IMG_FMT_CLOOP,
	IMG_FMT_DMG,
	IMG_FMT_LUKS,
	IMG_FMT_ISO, /* content only: a candidate in polyglots, else the volume is raw */
	IMG_FMT_UDF, /* content only, as ISO */
	_IMG_FMT_MAX,
};

/* ---- reader ------------------------------------------------------------ */

/* Largest single request a probe may make; the I/O layer caps the total. */
#define IMG_READ_MAX (4u * 1024 * 1024)

/* img_reader.flags */
#define IMG_PROBE_DEEP 0x1u /* --deep: probes may read tables past the header (bounded) */
/*
 * Skip content-only signatures (ISO 9660): the caller knows from elsewhere
 * that none is there (under udev, whose blkid found no filesystem).
 */
#define IMG_PROBE_NO_CONTENT 0x2u

struct img_reader {
	void *ctx;
	uint64_t size;       /* bytes of the volume, counted from the probe offset */
	uint32_t block_size; /* logical block size (informational for probes) */
	unsigned flags;      /* IMG_PROBE_* */
	/*
	 * Make [off, off+len) available and point *ret at it.  The caller
	 * (img_get) guarantees off+len <= size and len <= IMG_READ_MAX.  The
	 * pointer stays valid until the reader is torn down.  Returns 0 or a
	 * negative errno.
	 */
	int (*get)(void *ctx, uint64_t off, size_t len, const uint8_t **ret);
	/*
	 * Optional probe tracing (IMGSCAN_DEBUG=probe), NULL when off: called
	 * with one line per step of the probe (each magic tried and whether
	 * it was there, each check that refused the volume, the outcome).
	 * The line has no newline and only printable ASCII: the core writes
	 * header bytes in it as \xHH.  Off, it costs one test of this pointer
	 * per step; the core never does I/O itself.
	 */
	void (*trace)(void *trace_ctx, const char *line);
	void *trace_ctx;
};

/*
 * A trace line: the strings given, joined (static text, or bytes passed
 * through img_trace_bytes first).  Call it through IMG_TRACE(r, "a", "b"),
 * which does nothing, at the cost of one test, when tracing is off.
 */
void img_trace_join(const struct img_reader *r, const char *const *parts);
#define IMG_TRACE(r, ...)                                                          \
	do {                                                                       \
		if (__builtin_expect((r)->trace != NULL, 0))                       \
			img_trace_join((r), (const char *const[]){ __VA_ARGS__, NULL }); \
	} while (0)
/*
 * bytes as a trace shows them: printable ASCII as is, anything else and
 * '"' and '\\' as \xHH; always NUL-terminated (truncated to fit)
 */
void img_trace_bytes(const void *bytes, size_t len, char *out, size_t outlen);
/* the same, returning out: a part of an IMG_TRACE line (IMG_TBYTES) */
const char *img_trace_esc(const void *bytes, size_t len, char *out, size_t outlen);
/* header bytes a trace line shows at most (each up to 4 characters escaped) */
#define IMG_TBYTES_MAX 64
#define IMG_TBYTES(p, len)                                                         \
	img_trace_esc((p), (len), (char[4 * IMG_TBYTES_MAX + 1]){ 0 }, 4 * IMG_TBYTES_MAX + 1)

/*
 * A number as a part of a trace line, written into buf (IMG_TNUM_MAX bytes,
 * the 20 digits of UINT64_MAX or "0x" and 16 hex digits, and the NUL);
 * returns buf.  img_trace_hex writes at least digits hex digits (at most 16),
 * more when v needs them.  Through IMG_TDEC(v) / IMG_THEX(v, digits) inside
 * an IMG_TRACE, the text lives in a block of the traced branch only: off,
 * nothing is formatted.
 */
#define IMG_TNUM_MAX 21
const char *img_trace_dec(uint64_t v, char *buf);
const char *img_trace_hex(uint64_t v, unsigned digits, char *buf);
#define IMG_TDEC(v) img_trace_dec((uint64_t)(v), (char[IMG_TNUM_MAX]){ 0 })
#define IMG_THEX(v, digits) img_trace_hex((uint64_t)(v), (digits), (char[IMG_TNUM_MAX]){ 0 })

/*
 * A probe's refusal after its magic matched, naming the field and its
 * value: "qcow: no match: version 7 (qcow is version 1)".  The probe loop
 * prints its generic line only for a probe that says nothing itself.
 */
#define IMG_REFUSE(r, res, ...)                                                    \
	IMG_TRACE((r), img_format_name((res)->format), ": no match: ", __VA_ARGS__)

/* 0 and *ret on success; -ERANGE when the range is not inside the volume. */
int img_get(const struct img_reader *r, uint64_t off, size_t len, const uint8_t **ret);
/* The same, with the offset counted back from the end of the volume. */
int img_get_end(const struct img_reader *r, uint64_t from_end, size_t len, const uint8_t **ret);
/*
 * Up to want bytes from off (fewer at the end of the volume).  *ret_len is
 * the number available (0 when off >= size).
 */
int img_get_upto(const struct img_reader *r, uint64_t off, size_t want, const uint8_t **ret,
                 size_t *ret_len);

/* ---- result ------------------------------------------------------------ */

#define IMG_STR_MAX 1024 /* untrusted byte strings: at most 1023 bytes + NUL */

/*
 * An untrusted byte string from a header: any bytes, including NUL and
 * control characters.  data[len] is always 0 for convenience, but outputs
 * must use len and escape.
 */
struct img_bytes {
	bool present;
	uint16_t len;
	char data[IMG_STR_MAX];
};

enum img_encryption {
	IMG_ENC_NONE = 0,
	IMG_ENC_AES,
	IMG_ENC_LUKS,
};

enum img_feature_kind {
	IMG_FEAT_INCOMPATIBLE = 0,
	IMG_FEAT_COMPATIBLE,
	IMG_FEAT_AUTOCLEAR,
	IMG_FEAT_OTHER, /* not a qcow2-style bitmap: flags of other formats */
};

#define IMG_FEATURE_NAME_MAX 47 /* qcow2 feature table names are 46 bytes */
#define IMG_MAX_FEATURES 200    /* 3 x 64 bits plus a few */

struct img_feature {
	enum img_feature_kind kind;
	uint8_t bit;
	/* canonical token ("lazy_refcounts"); NULL for an unknown bit */
	const char *name;
	/* for unknown bits: the name the image's own feature table gives, untrusted */
	uint8_t table_name_len;
	char table_name[IMG_FEATURE_NAME_MAX];
};

/*
 * Format-specific data, the tree qemu-img prints under
 * "format-specific": {"type": ..., "data": {...}}.  A flat list of typed
 * entries with begin/end markers; keys are static strings chosen by the
 * probe (never header bytes), string values are copied into a bounded pool
 * and are untrusted.
 */
enum img_spec_type {
	IMG_SPEC_STR = 1,
	IMG_SPEC_UINT,
	IMG_SPEC_INT,
	IMG_SPEC_BOOL,
	IMG_SPEC_OBJ, /* begins an object, closed by IMG_SPEC_END */
	IMG_SPEC_ARR, /* begins an array, closed by IMG_SPEC_END */
	IMG_SPEC_END,
	/*
	 * A string value the probe cannot know: the path of the volume being
	 * probed (a vmdk sparse image's extent is the image itself).  Outputs
	 * write the path they were given, as qemu-img prints the path it opened.
	 */
	IMG_SPEC_SELF,
};

#define IMG_SPEC_MAX 512
#define IMG_SPEC_POOL 16384

struct img_spec_entry {
	enum img_spec_type type;
	const char *key; /* NULL inside arrays */
	union {
		uint64_t u;
		int64_t i;
		bool b;
		struct {
			uint32_t off;
			uint32_t len;
		} str;
	} v;
};

struct img_spec {
	const char *type; /* "qcow2", "vmdk", "luks"; NULL: no format-specific data */
	unsigned n;
	unsigned depth;
	bool overflow; /* entries were dropped: limits reached */
	struct img_spec_entry e[IMG_SPEC_MAX];
	uint32_t pool_used;
	char pool[IMG_SPEC_POOL];
};

struct img_result {
	enum img_format_id format; /* IMG_FMT_RAW when no image format matched */

	bool has_version;
	uint32_t version;
	/*
	 * version is major << 16 | minor, written "major.minor" as the
	 * specification writes it (vpc 1.0, vdi 1.1, bochs 2.0)
	 */
	bool version_dotted;
	bool has_virtual_size;
	uint64_t virtual_size;
	uint64_t cluster_size; /* 0: the format has none */
	uint32_t header_length; /* bytes of the header proper, when the format says (qcow2) */
	/* a static token naming the variant: "fixed", "dynamic", "differencing" (vpc) ... */
	const char *subformat;

	enum img_encryption encryption;
	bool dirty;
	/* the format has no dirty state qemu-img reports (no "dirty-flag" key) */
	bool no_dirty_flag;
	bool corrupt;
	const char *compat; /* qcow2: "0.10" / "1.1" */

	bool has_snapshots;
	uint32_t snapshots;
	bool has_bitmaps;
	uint32_t bitmaps;

	unsigned n_features; /* of features[], below */

	/*
	 * The magic matched but the header is one qemu would refuse: a static
	 * description of the first problem ("Unsupported cluster size").
	 * Fields that could be read safely are still filled.
	 */
	const char *damaged;
	/*
	 * A fixed limit of imgscan's own (not one qemu has) cut the header
	 * short: a static description of what was not read.  The facts that
	 * depend on the rest are left out rather than reported wrong.
	 */
	const char *limit;

	/* more than one format matched (a polyglot): every candidate, format first */
	unsigned n_candidates;
	enum img_format_id candidates[_IMG_FMT_MAX];
	/*
	 * With n_candidates > 1: exactly one candidate (format) was found at
	 * the start of the volume, and every other one only by a footer or
	 * trailer at its end (a fixed VHD, a DMG).  The last blocks of a volume
	 * can be a guest's data, so a footer never hides a header at the start:
	 * format and its facts stand, the footer candidates are listed.  False:
	 * two start-of-volume matches, no format is chosen.
	 */
	bool footer_only_others;

	bool has_image_end_offset;
	uint64_t image_end_offset; /* qemu-img check's image-end-offset */
	/* what --deep could not compute within its read budget (static), NULL when complete */
	const char *deep_incomplete;

	/* VMDK facts the safety checks read (IMG_VMDK_*), 0 for other formats */
	unsigned vmdk_flags;

	/*
	 * The reader being traced while a probe fills this result (set by the
	 * probe loop only when r->trace is set, NULL otherwise and after the
	 * probe): img_set_damaged reports each refusal through it.
	 */
	const struct img_reader *tracing;

	/*
	 * The large members last: img_result_init() clears everything above
	 * and only the lengths and counts below (a probe runs per candidate
	 * format, and clearing ~20 KiB each time was a third of a scan's CPU).
	 */
	struct img_bytes backing_file;
	struct img_bytes backing_format;
	struct img_bytes data_file;
	struct img_feature features[IMG_MAX_FEATURES];
	struct img_spec spec;
	/*
	 * --deep facts (IMG_PROBE_DEEP): entries rendered at the top level of
	 * the JSON object, beside qemu-img's own ("snapshots": [...]).
	 */
	struct img_spec top;
};

/* img_result.vmdk_flags */
#define IMG_VMDK_PARENT_CID 0x1u     /* parentCID is not ffffffff: a delta of some parent */
#define IMG_VMDK_DESC_EXTENTS 0x2u   /* a descriptor: its extents are other files */
#define IMG_VMDK_DEVICE_EXTENT 0x4u  /* an extent names a device (/dev/...) or is VMFS raw */
#define IMG_VMDK_EMBEDDED_OTHER 0x8u /* a sparse image's embedded descriptor names another file */
#define IMG_VMDK_FOOTER_MISMATCH 0x10u /* a stream-optimized footer disagrees with the header */

/* ---- format registry ----------------------------------------------------- */

enum img_whence {
	IMG_FROM_START = 0,
	IMG_FROM_END, /* offset counts back from the end of the volume */
};

#define IMG_MAGIC_MAX 32
#define IMG_MAX_MAGICS 4

struct img_magic {
	uint64_t offset;
	enum img_whence whence;
	const char *bytes;
	size_t len; /* 0 terminates the list */
};

enum {
	IMG_NOMATCH = 0,
	IMG_MATCH = 1,
};

struct img_format {
	enum img_format_id id;
	const char *name; /* qemu-img's name */
	/*
	 * The probe runs when any magic matches.  A format without magics
	 * (text descriptors) sets probe_always: its probe decides from the head.
	 */
	struct img_magic magics[IMG_MAX_MAGICS];
	bool probe_always;
	/*
	 * Not an image format (qemu calls it raw): a match alone leaves the
	 * volume raw; beside an image format it makes the result ambiguous
	 * (an ISO 9660 with a qcow2 header in its system area).
	 */
	bool content_only;
	/*
	 * Fill res (already zeroed, format set) from the volume.  hit is the
	 * magic that matched (NULL for probe_always).  Returns IMG_MATCH,
	 * IMG_NOMATCH or a negative errno when the reader failed.
	 */
	int (*probe)(const struct img_reader *r, const struct img_magic *hit, struct img_result *res);
};

extern const struct img_format *const img_formats[_IMG_FMT_MAX];

const char *img_format_name(enum img_format_id id);
/* IMG_FMT_RAW when the name is unknown or "raw" */
enum img_format_id img_format_by_name(const char *name);

/*
 * Probe every registered format.  res is fully written.  Returns 0, or a
 * negative errno when the volume could not be read (res then says raw).
 */
int img_probe(const struct img_reader *r, struct img_result *res);

/* Probe one format only (tests, --format). */
int img_probe_format(const struct img_reader *r, enum img_format_id id, struct img_result *res);

/* ---- helpers for probes ------------------------------------------------- */

/*
 * A window over a region of the volume for walking a structure field by
 * field (an extension chain, a snapshot table): a miss fetches up to chunk
 * bytes from there, never past end (UINT64_MAX: the end of the volume).
 */
struct img_window {
	const struct img_reader *r;
	uint64_t end;
	size_t chunk;
	uint64_t off;
	size_t len;
	const uint8_t *p;
};
/* the window misses [off, off+len): fetch a chunk from off (img_window_get's slow path) */
int img_window_fill(struct img_window *w, uint64_t off, size_t len, const uint8_t **ret);
/*
 * *ret = [off, off+len); 0, -ERANGE (outside end or the volume) or the
 * reader's error.  Inline: a walk over a long chain of small records (a
 * cluster of 8-byte qcow2 extensions) mostly hits the window.
 */
static inline int img_window_get(struct img_window *w, uint64_t off, size_t len,
                                 const uint8_t **ret)
{
	if (w->p && off >= w->off && off - w->off <= w->len && len <= w->len - (off - w->off)) {
		*ret = w->p + (off - w->off);
		return 0;
	}
	return img_window_fill(w, off, len, ret);
}
/* length of the C string a NUL-padded field of len bytes holds (qemu's view of a name) */
size_t img_strnlen(const uint8_t *p, size_t len);

void img_result_init(struct img_result *res, enum img_format_id id);
/* Copy an untrusted string (truncated at IMG_STR_MAX - 1). */
void img_bytes_set(struct img_bytes *b, const void *data, size_t len);
/* Add a feature; silently ignored past IMG_MAX_FEATURES. */
void img_add_feature(struct img_result *res, enum img_feature_kind kind, unsigned bit,
                     const char *name);
struct img_feature *img_find_feature(struct img_result *res, enum img_feature_kind kind,
                                     unsigned bit);
bool img_has_feature(const struct img_result *res, const char *name);
/* Record the first problem only. */
void img_set_damaged(struct img_result *res, const char *why);
/*
 * The same, the trace line naming the field and value the damaged text
 * does not ("Unsupported cluster size (cluster_bits 5)"): the parts after
 * why go into the trace only, never into res->damaged, which keeps qemu's
 * words.  Off, it costs what img_set_damaged costs.
 */
void img_trace_damaged(struct img_result *res, const char *why, const char *const *detail);
#define IMG_DAMAGED(res, why, ...)                                                 \
	do {                                                                       \
		struct img_result *dm_res_ = (res);                                \
		if (__builtin_expect(dm_res_->tracing != NULL, 0))                 \
			img_trace_damaged(dm_res_, (why),                          \
			                  (const char *const[]){ __VA_ARGS__, NULL });  \
		else if (!dm_res_->damaged)                                        \
			dm_res_->damaged = (why);                                  \
	} while (0)

void img_spec_begin(struct img_result *res, const char *type);
void img_spec_str(struct img_result *res, const char *key, const void *s, size_t len);
void img_spec_cstr(struct img_result *res, const char *key, const char *s);
void img_spec_uint(struct img_result *res, const char *key, uint64_t v);
void img_spec_int(struct img_result *res, const char *key, int64_t v);
void img_spec_bool(struct img_result *res, const char *key, bool v);
void img_spec_obj(struct img_result *res, const char *key);
void img_spec_arr(struct img_result *res, const char *key);
void img_spec_end(struct img_result *res);
/* an IMG_SPEC_SELF entry: the volume's own path, filled in by the outputs */
void img_spec_self(struct img_result *res, const char *key);
/* the same on any tree (res->top for the --deep top-level entries) */
void img_tree_str(struct img_spec *s, const char *key, const void *str, size_t len);
void img_tree_cstr(struct img_spec *s, const char *key, const char *str);
void img_tree_uint(struct img_spec *s, const char *key, uint64_t v);
void img_tree_int(struct img_spec *s, const char *key, int64_t v);
void img_tree_bool(struct img_spec *s, const char *key, bool v);
void img_tree_obj(struct img_spec *s, const char *key);
void img_tree_arr(struct img_spec *s, const char *key);
void img_tree_end(struct img_spec *s);
/* pointer to a string entry's bytes (not NUL-terminated) */
const char *img_spec_strp(const struct img_spec *s, const struct img_spec_entry *e);

#define IMG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
