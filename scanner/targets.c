/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The targets of a scan: every block device (filtered by --lvm and --vg),
 * or a PATH with the facts sysfs and the udev database hold about it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "targets.h"
#include "text/encode.h"

/* a name escaped by img_esc_dup for stderr, or a fixed text */
#define ESC_SHOWN(e) ((e) ? (e) : "(out of memory)")

static bool is_lv(const struct img_device *d)
{
	return strncmp(d->dm_uuid, "LVM-", 4) == 0;
}

bool img_select_device(const struct img_select *sel, const struct img_device *d)
{
	if (!sel->lvm_only && sel->n_vg == 0)
		return true;
	if (!is_lv(d))
		return false;
	if (sel->n_vg == 0)
		return true;
	for (unsigned i = 0; i < sel->n_vg; i++)
		if (strcmp(sel->vg[i], d->vg) == 0)
			return true;
	return false;
}

/*
 * Each --vg NAME that no LV among devs belongs to is said on stderr: a typo
 * would otherwise look like an empty volume group.  Not a failure: a VG
 * whose LVs are all inactive on this host (oVirt activates a storage
 * domain's LVs only where they are used) is a normal state.
 */
void img_select_vg_unmatched(const struct img_select *sel, const struct img_device *devs, size_t ndev)
{
	for (unsigned v = 0; v < sel->n_vg; v++) {
		size_t i;

		for (i = 0; i < ndev; i++)
			if (is_lv(&devs[i]) && strcmp(sel->vg[v], devs[i].vg) == 0)
				break;
		if (i < ndev)
			continue;
		char *ep = img_esc_dup(sel->vg[v]);

		fprintf(stderr,
		        "imgscan: --vg %s: no active logical volume of that volume group here "
		        "(check the name with vgs; an inactive LV has no device to read)\n",
		        ESC_SHOWN(ep));
		free(ep);
	}
}

/* every block device, filtered; skipped ones are listed with -v */
int img_targets_enumerate(const struct img_select *sel, bool verbose, struct img_device **ret_devs,
                          size_t *ret_ndev, struct img_target **ret, size_t *ret_n)
{
	struct img_device *devs;
	struct img_target *t;
	size_t ndev, n = 0;
	int r;

	r = img_enum_devices(true, false, &devs, &ndev);
	if (r < 0) {
		fprintf(stderr, "imgscan: cannot list block devices: %s\n", strerror(-r));
		return r;
	}
	t = calloc(ndev ? ndev : 1, sizeof(*t));
	if (!t) {
		img_devices_free(devs, ndev);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ndev; i++) {
		const struct img_device *d = &devs[i];

		if (!img_select_device(sel, d))
			continue;
		if (d->skip) {
			if (verbose) {
				char *ep = img_esc_dup(d->node);

				fprintf(stderr, "imgscan: %s: skipped: %s\n", ESC_SHOWN(ep), d->skip);
				free(ep);
			}
			continue;
		}
		t[n].path = d->node;
		t[n].dev = &devs[i];
		t[n].skip = d->skip;
		n++;
	}
	*ret_devs = devs;
	*ret_ndev = ndev;
	*ret = t;
	*ret_n = n;
	return 0;
}

const struct img_device *img_target_device(void *ctx, dev_t rdev, const char **skip)
{
	struct img_device *d = calloc(1, sizeof(*d));

	(void)ctx;
	*skip = NULL;
	if (!d)
		return NULL;
	if (img_device_from_devnum(rdev, true, d) < 0) {
		free(d);
		return NULL;
	}
	*skip = d->skip;
	return d;
}

void img_target_device_free(void *ctx, const struct img_device *d)
{
	(void)ctx;
	free((struct img_device *)d);
}

struct img_device *img_target_stat(struct img_target *t, bool use_udev)
{
	struct img_device *d;
	struct stat *st = &t->st;

	t->have_st = stat(t->path, st) == 0;
	if (!t->have_st || !S_ISBLK(st->st_mode))
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	if (img_device_from_devnum(st->st_rdev, use_udev, d) < 0) {
		free(d);
		return NULL;
	}
	t->skip = d->skip;
	return d;
}
