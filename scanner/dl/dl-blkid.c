/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libblkid: the symbol table and the ELF dlopen note (dl-blkid.h, dl.h) */
#include "dl/dl-blkid.h"
#include "dl/dl.h"

IMG_ELF_NOTE_DLOPEN("blkid", "naming what a raw volume holds (table, -J, --export)", "recommended", BLKID_SONAME);

__typeof__(&blkid_new_probe) sym_blkid_new_probe;
__typeof__(&blkid_free_probe) sym_blkid_free_probe;
__typeof__(&blkid_probe_set_device) sym_blkid_probe_set_device;
__typeof__(&blkid_probe_enable_superblocks) sym_blkid_probe_enable_superblocks;
__typeof__(&blkid_probe_set_superblocks_flags) sym_blkid_probe_set_superblocks_flags;
__typeof__(&blkid_probe_filter_superblocks_type) sym_blkid_probe_filter_superblocks_type;
__typeof__(&blkid_probe_enable_partitions) sym_blkid_probe_enable_partitions;
__typeof__(&blkid_do_safeprobe) sym_blkid_do_safeprobe;
__typeof__(&blkid_probe_lookup_value) sym_blkid_probe_lookup_value;

static const struct img_dl_sym blkid_syms[] = {
	IMG_DL_SYM(blkid_new_probe),
	IMG_DL_SYM(blkid_free_probe),
	IMG_DL_SYM(blkid_probe_set_device),
	IMG_DL_SYM(blkid_probe_enable_superblocks),
	IMG_DL_SYM(blkid_probe_set_superblocks_flags),
	IMG_DL_SYM(blkid_probe_filter_superblocks_type),
	IMG_DL_SYM(blkid_probe_enable_partitions),
	IMG_DL_SYM(blkid_do_safeprobe),
	IMG_DL_SYM(blkid_probe_lookup_value),
};

static struct img_dl_lib blkid_lib = IMG_DL_LIB(BLKID_SONAME, BLKID_PACKAGE, blkid_syms);

int dlopen_blkid(const char *feature)
{
	return img_dl_load(&blkid_lib, feature);
}
