/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libblkid (BLKID_SONAME), loaded with dlopen when a mode first needs
 * it (dl.h): the symbols content.c call, each typed from
 * <blkid.h> so that a prototype change is a compile error.
 */
#pragma once

#include <blkid.h>

extern __typeof__(&blkid_new_probe) sym_blkid_new_probe;
extern __typeof__(&blkid_free_probe) sym_blkid_free_probe;
extern __typeof__(&blkid_probe_set_device) sym_blkid_probe_set_device;
extern __typeof__(&blkid_probe_enable_superblocks) sym_blkid_probe_enable_superblocks;
extern __typeof__(&blkid_probe_set_superblocks_flags) sym_blkid_probe_set_superblocks_flags;
extern __typeof__(&blkid_probe_filter_superblocks_type) sym_blkid_probe_filter_superblocks_type;
extern __typeof__(&blkid_probe_enable_partitions) sym_blkid_probe_enable_partitions;
extern __typeof__(&blkid_do_safeprobe) sym_blkid_do_safeprobe;
extern __typeof__(&blkid_probe_lookup_value) sym_blkid_probe_lookup_value;

/*
 * Load the library and all the symbols above, once per process (img_dl_load):
 * 0, or a negative errno after printing, the first time only, that FEATURE
 * needs it (nothing is printed when feature is NULL or inside libimgscan).
 */
int dlopen_blkid(const char *feature);
