/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Name what a raw volume holds (filesystem, partition table, LUKS2, ISO 9660)
 * through libblkid.  Only for raw results and never in --udev mode: udev's own
 * blkid builtin already sets ID_FS_* there.  libblkid reads (buffered) through
 * the descriptor the probe used, so it names the very volume that was probed,
 * limited to the volume from the probe offset on.
 *
 * libblkid is loaded with dlopen when the first raw volume is named (dl/dl.h):
 * --udev never loads it.
 */
#include <blkid.h>
#include <errno.h>
#include <string.h>

#include "content.h"
#include "dl/dl-blkid.h"

static void copy_value(blkid_probe pr, const char *name, char *dst, size_t dstlen)
{
	const char *data = NULL;
	size_t len = 0;

	if (sym_blkid_probe_lookup_value(pr, name, &data, &len) != 0 || !data)
		return;
	/* len counts the terminating NUL */
	if (len && data[len - 1] == '\0')
		len--;
	if (len > dstlen - 1)
		len = dstlen - 1;
	memcpy(dst, data, len);
	dst[len] = '\0';
}

int img_content_probe(int fd, uint64_t offset, uint64_t size, struct img_content *ret)
{
	blkid_probe pr;
	int rc;

	memset(ret, 0, sizeof(*ret));
	/* the message is printed once; each raw volume then shows no content */
	rc = dlopen_blkid("naming what a raw volume holds");
	if (rc < 0)
		return rc;
	pr = sym_blkid_new_probe();
	if (!pr)
		return -ENOMEM;
	if (sym_blkid_probe_set_device(pr, fd, (blkid_loff_t)offset, (blkid_loff_t)size) != 0) {
		sym_blkid_free_probe(pr);
		return -EIO;
	}
	sym_blkid_probe_enable_superblocks(pr, 1);
	sym_blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE |
	                                          BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID |
	                                          BLKID_SUBLKS_VERSION);
	/*
	 * libblkid's ZFS prober reads four 256 KiB labels: it alone made a raw
	 * volume's content probe ten times slower (800 us against 90 us per
	 * volume, measured).  ZFS pool members are not named.
	 */
	{
		static char *slow[] = { "zfs_member", NULL };

		sym_blkid_probe_filter_superblocks_type(pr, BLKID_FLTR_NOTIN, slow);
	}
	sym_blkid_probe_enable_partitions(pr, 1);
	rc = sym_blkid_do_safeprobe(pr);
	if (rc == 0) {
		copy_value(pr, "TYPE", ret->type, sizeof(ret->type));
		copy_value(pr, "USAGE", ret->usage, sizeof(ret->usage));
		copy_value(pr, "VERSION", ret->version, sizeof(ret->version));
		copy_value(pr, "LABEL", ret->label, sizeof(ret->label));
		copy_value(pr, "UUID", ret->uuid, sizeof(ret->uuid));
		copy_value(pr, "PTTYPE", ret->pttype, sizeof(ret->pttype));
		copy_value(pr, "PTUUID", ret->ptuuid, sizeof(ret->ptuuid));
		ret->present = ret->type[0] || ret->pttype[0];
	} else if (rc == -2) {
		/* several signatures: say so rather than pick one */
		strcpy(ret->type, "ambivalent");
		ret->present = true;
	}
	sym_blkid_free_probe(pr);
	return rc == -1 ? -EIO : 0;
}
