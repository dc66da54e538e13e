/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ELF dlopen note of the library the command needs only through
 * libimgscan.so.1: libblkid names a raw volume's content (the table's
 * CONTENT, -J's "content", --export) and is loaded by the library, whose
 * own note names it too.  The command carries the note as well, so that a
 * package tool reading the command's notes sees every optional library its
 * outputs depend on (dl/dl.h, IMG_ELF_NOTE_DLOPEN).
 */
#include "dl/dl.h"

IMG_ELF_NOTE_DLOPEN("blkid", "naming what a raw volume holds (table, -J, --export)", "recommended", BLKID_SONAME);
