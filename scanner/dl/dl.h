/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The optional shared libraries, loaded with dlopen(3) when a mode first
 * needs them, the way systemd loads its optional libraries
 * (src/shared/dlfcn-util.c dlopen_many_sym_or_warn, src/shared/{blkid,...}-util.c
 * "dlopen_*" with sym_ function pointers).  `imgscan --udev PATH`, run once
 * per block device by udev, needs none of them: each DT_NEEDED library cost
 * 30-90 us at every exec.
 *
 * Each library has one file, dl/dl-LIB.c (dl-blkid.c, dl-udev.c, dl-jsonc.c,
 * dl-smartcols.c), used by every caller, the command and libimgscan alike:
 * one img_dl_lib (its soname, found by configure, the Debian package that
 * ships it, and a table of {name, &sym_name}), its dlopen_LIB(feature)
 * and its ELF dlopen note.  dl/dl-LIB.h declares the sym_ pointers: every
 * sym_ pointer is declared with __typeof__(&name) from the library's own
 * header, so each call through it is checked against the real prototype.
 * The sonames and packages are listed in README.md ("Packaging").
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct img_dl_sym {
	const char *name;
	void **ptr;
};

/* one entry of a symbol table: IMG_DL_SYM(blkid_new_probe) fills sym_blkid_new_probe */
#define IMG_DL_SYM(fn) { #fn, (void **)&sym_##fn }

struct img_dl_lib {
	const char *soname;  /* "libblkid.so.1" */
	const char *package; /* the Debian package that ships it: "libblkid1" */
	const struct img_dl_sym *syms;
	size_t n_syms;
	/* set once under the loader's lock */
	int state;           /* 0: not tried yet, 1: loaded, < 0: failed (negative errno) */
	bool reported;       /* the failure was printed */
	char error[256];     /* dlerror() of the failure */
};

#define IMG_DL_LIB(soname_, package_, syms_)                                     \
	{                                                                         \
		.soname = (soname_), .package = (package_), .syms = (syms_),      \
		.n_syms = sizeof(syms_) / sizeof((syms_)[0]),                     \
	}

/*
 * Load lib and resolve all its symbols, once: later calls return the first
 * call's result at once.  Safe from any thread.  On failure the sym_
 * pointers of lib are all NULL again, and, the first time only, this is
 * printed to stderr when feature is not NULL:
 *   imgscan: FEATURE needs SONAME (Debian package PACKAGE): DLERROR
 * Returns 0, or -ELIBACC (library not found or not loadable) or -ELIBBAD
 * (a symbol is missing: an older version of the library).
 */
int img_dl_load(struct img_dl_lib *lib, const char *feature);

/*
 * The environment variable IMGSCAN_DLOPEN_FAIL, when set to a
 * comma-separated list of sonames (or "all"), makes loading them fail as if
 * the library were missing: the e2e tests check the message and the exit
 * status with it.  It never makes anything succeed.
 */
#define IMG_DL_FAIL_ENV "IMGSCAN_DLOPEN_FAIL"

/* ---- ELF dlopen metadata ------------------------------------------------------ */

/*
 * The "ELF dlopen metadata" note of the freedesktop.org packaging
 * specification (https://systemd.io/ELF_DLOPEN_METADATA/), which
 * `systemd-analyze dlopen-metadata` and package tools read: a note of type
 * 0x407c0c0a, owner "FDO", in the section .note.dlopen, whose descriptor is
 * a NUL-terminated JSON array of objects with "feature", "description",
 * "priority" ("required", "recommended" or "suggested") and "soname" (an
 * array).  A dlopen'ed library is invisible to dependency generators that
 * read DT_NEEDED; this note names it.  One note per library, in the file
 * that loads it (dl-*.c), so that a binary carries the notes of exactly
 * the libraries it can load.  The strings are literals: no escaping needed.
 */
#define IMG_ELF_NOTE_DLOPEN_OWNER "FDO"
#define IMG_ELF_NOTE_DLOPEN_TYPE 0x407c0c0aU

#define IMG_ELF_NOTE_DLOPEN(feature, description, priority, soname)                     \
	IMG_ELF_NOTE_DLOPEN_JSON("[{\"feature\":\"" feature "\",\"description\":\""     \
	                         description "\",\"priority\":\"" priority              \
	                         "\",\"soname\":[\"" soname "\"]}]")

#define IMG_ELF_NOTE_DLOPEN_JSON(json)                                                  \
	__attribute__((used, section(".note.dlopen"))) _Alignas(4) static const struct { \
		struct {                                                                \
			uint32_t n_namesz, n_descsz, n_type;                            \
		} nhdr;                                                                 \
		char name[sizeof(IMG_ELF_NOTE_DLOPEN_OWNER)];                           \
		_Alignas(4) char desc[sizeof(json)];                                    \
	} img_elf_note_dlopen = {                                                       \
		.nhdr = { .n_namesz = sizeof(IMG_ELF_NOTE_DLOPEN_OWNER),                \
		          .n_descsz = sizeof(json),                                     \
		          .n_type = IMG_ELF_NOTE_DLOPEN_TYPE },                         \
		.name = IMG_ELF_NOTE_DLOPEN_OWNER,                                      \
		.desc = json,                                                           \
	}
