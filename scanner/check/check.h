/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Safety verdicts: may this volume be handed to qemu as format X without it
 * reading host files or being misread?
 *
 * A verdict is a pure function of the probe result, what is known of the
 * volume's content (content-facts.h) and a policy: no I/O, no allocation.
 * Every check is one entry of the table in check.c, named by a stable
 * lowercase token (the man page documents each one).  This layer sits on
 * the probe core and below the outputs: any output may render a verdict.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check/content-facts.h"
#include "probe/probe.h"

/* The checks, in the order outputs list them. */
enum img_check_id {
	IMG_CHECK_BACKING_FILE = 0,
	IMG_CHECK_DATA_FILE,
	IMG_CHECK_UNKNOWN_FEATURES,
	IMG_CHECK_VMDK_EXTENT,
	IMG_CHECK_VMDK_CREATE_TYPE,
	IMG_CHECK_VMDK_FOOTER,
	IMG_CHECK_AMBIGUOUS,
	IMG_CHECK_DAMAGED,
	IMG_CHECK_FORMAT_MISMATCH,
	IMG_CHECK_FORMAT_DENIED,
	IMG_CHECK_VIRTUAL_SIZE,
	IMG_CHECK_PARTITION_TABLE,
	_IMG_CHECK_MAX,
};

/* VMDK createType values imgscan knows (qemu's), for --vmdk-types */
extern const char *const img_vmdk_create_types[];
extern const unsigned img_n_vmdk_create_types;

struct img_policy {
	uint32_t allow;              /* waived checks: bit (1u << enum img_check_id) */
	bool expect_set;             /* --expect-format given */
	enum img_format_id expect;   /* IMG_FMT_RAW is a format here */
	uint32_t deny;               /* denied formats: bit (1u << enum img_format_id) */
	uint32_t vmdk_types;         /* allowed createTypes: bit (1u << index in img_vmdk_create_types) */
	bool max_virtual_size_set;
	uint64_t max_virtual_size;
};

#define IMG_CHECK_REASON_MAX 160

struct img_verdict {
	bool safe;
	uint32_t failed; /* bit (1u << enum img_check_id) per failed, unwaived check */
	/*
	 * One line per failed check, printable ASCII (any other byte a check
	 * quotes from the volume is replaced by '?'); outputs still escape it
	 * for their grammar.
	 */
	char reason[_IMG_CHECK_MAX][IMG_CHECK_REASON_MAX];
};

/* defaults: nothing waived or denied, no expected format, createTypes monolithicSparse,streamOptimized */
void img_policy_init(struct img_policy *p);

/*
 * The verdict on one probed volume.  content may be NULL (nothing known
 * beyond the header).  Reads nothing, allocates nothing.
 */
void img_verdict_compute(const struct img_result *res, const struct img_content *content,
                         const struct img_policy *p, struct img_verdict *v);

/* the stable token of a check ("backing-file"), NULL for an unknown id */
const char *img_check_name(enum img_check_id id);
/* the id of a token, or -1 */
int img_check_by_name(const char *name, size_t len);
/* what a check rejects, one line (--help, tests) */
const char *img_check_summary(enum img_check_id id);

/*
 * Comma-separated lists for the CLI: every token must be known.  On error,
 * -EINVAL, and *bad and *bad_len give the first unknown token.
 */
int img_check_parse_list(const char *list, uint32_t *ret, const char **bad, size_t *bad_len);
int img_format_parse_list(const char *list, uint32_t *ret, const char **bad, size_t *bad_len);
int img_vmdk_types_parse_list(const char *list, uint32_t *ret, const char **bad, size_t *bad_len);

/* room for every check's token, comma-separated, and the NUL */
#define IMG_CHECK_LIST_MAX 256

/* The failed checks' tokens, comma-separated and NUL-terminated; returns the length. */
size_t img_verdict_list(const struct img_verdict *v, char *buf, size_t buflen);

/* Fill mbr from the first len bytes of a volume (nothing present when len < 512). */
void img_mbr_parse(const uint8_t *sector, size_t len, struct img_mbr *mbr);
