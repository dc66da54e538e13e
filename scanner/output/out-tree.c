/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * -T: backing chains as a tree, resolved only among the scanned targets.
 *
 * A backing name is a string from a hostile header (docs/security.md,
 * rule 1: never open or follow a path named inside a header).  It is
 * matched here as a string only: nothing is opened, stat()ed or
 * realpath()ed.  Names qemu would use (qemu's
 * bdrv_get_full_backing_filename: a relative name is relative to the
 * directory of the image) are compared after a purely textual
 * normalisation ("//", "." and ".." folded; symlinks not followed):
 *
 *  - an absolute name, or a relative one joined to the image's directory
 *    (a relative PATH is made absolute with getcwd()), against the scanned
 *    PATHs, normalised the same way;
 *  - /dev/mapper/NAME against the device-mapper names of scanned devices,
 *    and /dev/VG/LV against their LVM VG and LV names (docs/udev.md);
 *  - oVirt/vdsm block storage writes "../IMAGE/VOLUME" (older vdsm) or the
 *    bare "VOLUME" into qcow2 images on LVs, the volume being the LV named
 *    VOLUME in the same VG (docs/udev.md, "oVirt/vdsm block storage"): on
 *    an LV, a relative name of exactly one of these two shapes is first
 *    matched against the LVs of the image's own VG.  Any other relative
 *    name ("../../x/VOLUME", "a/VOLUME") names no LV by its last element;
 *  - on an LV, a relative name is also resolved against /dev/VG, the
 *    directory of the LV's own name /dev/VG/LV, where qemu opening the LV by
 *    that name would look ("./LV2" is /dev/VG/LV2, "../VG2/LV2" is
 *    /dev/VG2/LV2), after the name relative to the scanned PATH.
 *
 * Loops (A backed by B backed by A, or A by itself) are found with a
 * visited-state walk and broken, so a chain is never followed forever.
 *
 * Names are looked up in sorted indexes (binary search), so resolving n
 * targets costs O(n log n), not a comparison with every other target.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output/table.h"

/* textual normalisation of an absolute path; malloc'ed */
static char *normalize(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *in, *out, *tok, *save = NULL;
	size_t o = 0;

	in = malloc(la + lb + lc + 3);
	out = malloc(la + lb + lc + 3);
	if (!in || !out) {
		free(in);
		free(out);
		return NULL;
	}
	memcpy(in, a, la);
	in[la] = '/';
	memcpy(in + la + 1, b, lb);
	in[la + 1 + lb] = '/';
	memcpy(in + la + lb + 2, c, lc + 1);

	for (tok = strtok_r(in, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* the '/' before the dropped element */
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, tok, strlen(tok));
		o += strlen(tok);
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	free(in);
	return out;
}

/* the absolute, normalised form of a scanned PATH */
static char *path_key(const char *cwd, const char *path)
{
	return normalize(path[0] == '/' ? "" : cwd, "", path);
}

/* what a backing name of the image at key (normalised) designates */
static char *backing_key(const char *key, const char *backing)
{
	const char *slash;
	char *dir, *r;

	if (backing[0] == '/')
		return normalize("", "", backing);
	slash = strrchr(key, '/');
	dir = strndup(key, slash ? (size_t)(slash - key) : 0);
	if (!dir)
		return NULL;
	r = normalize(dir, "", backing);
	free(dir);
	return r;
}

/* a sorted index of names: (a, b) pairs with the node they belong to */
struct name_ix {
	const char *a, *b;
	size_t i;
};

struct names {
	struct name_ix *v;
	size_t n;
};

static int ix_cmp(const void *x, const void *y)
{
	const struct name_ix *p = x, *q = y;
	int c = strcmp(p->a, q->a);

	if (!c)
		c = strcmp(p->b, q->b);
	if (!c)
		c = p->i < q->i ? -1 : p->i > q->i;
	return c;
}

static void ix_sort(struct names *ns)
{
	if (ns->n > 1)
		qsort(ns->v, ns->n, sizeof(*ns->v), ix_cmp);
}

/* the lowest node index named (a, b), or -1: the first match in input order */
static long ix_find(const struct names *ns, const char *a, const char *b)
{
	size_t lo = 0, hi = ns->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct name_ix *m = &ns->v[mid];
		int c = strcmp(m->a, a);

		if (!c)
			c = strcmp(m->b, b);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ns->n && strcmp(ns->v[lo].a, a) == 0 && strcmp(ns->v[lo].b, b) == 0)
		return (long)ns->v[lo].i;
	return -1;
}

/* the scanned PATHs' keys, dm names and (VG, LV) names, indexed */
struct tree_ix {
	struct names keys, dm, lv;
};

static long find_lv(const struct tree_ix *ix, const char *vg, const char *lv)
{
	if (!vg || !vg[0] || !lv || !lv[0])
		return -1;
	return ix_find(&ix->lv, vg, lv);
}

/* a path element other than "", "." and ".." */
static int is_element(const char *s, size_t len)
{
	return len > 0 && !(len == 1 && s[0] == '.') && !(len == 2 && s[0] == '.' && s[1] == '.');
}

/* vdsm's shapes, "VOLUME" and "../IMAGE/VOLUME": VOLUME, else NULL */
static const char *vdsm_volume(const char *b)
{
	const char *img, *vol;

	if (!strchr(b, '/'))
		return is_element(b, strlen(b)) ? b : NULL;
	if (strncmp(b, "../", 3) != 0)
		return NULL;
	img = b + 3;
	vol = strchr(img, '/');
	if (!vol || !is_element(img, (size_t)(vol - img)))
		return NULL;
	vol++;
	if (strchr(vol, '/') || !is_element(vol, strlen(vol)))
		return NULL;
	return vol;
}

/*
 * The node a normalised absolute name designates: a scanned PATH, a
 * /dev/mapper/NAME dm name, or /dev/VG/LV.  want is modified.
 */
static long match_name(const struct tree_ix *ix, char *want)
{
	long found = ix_find(&ix->keys, want, "");

	if (found < 0 && strncmp(want, "/dev/mapper/", 12) == 0 && want[12] &&
	    !strchr(want + 12, '/'))
		found = ix_find(&ix->dm, want + 12, "");
	if (found < 0 && strncmp(want, "/dev/", 5) == 0) {
		/* /dev/VG/LV: exactly two elements below /dev */
		char *vg = want + 5, *lv = strchr(vg, '/');

		if (lv && !strchr(lv + 1, '/')) {
			*lv++ = '\0';
			found = find_lv(ix, vg, lv);
		}
	}
	return found;
}

static long resolve_one(const struct img_tree_node *nodes, const struct tree_ix *ix,
                        char *const *keys, size_t i)
{
	const struct img_tree_node *nd = &nodes[i];
	const char *b = nd->backing;
	int on_lv = nd->vg && nd->vg[0] && nd->lv && nd->lv[0];
	char *want;
	long found = -1;

	/* oVirt: VOLUME or ../IMAGE/VOLUME on an LV is the LV VOLUME of the same VG */
	if (b[0] != '/' && on_lv) {
		const char *vol = vdsm_volume(b);

		if (vol) {
			found = find_lv(ix, nd->vg, vol);
			if (found >= 0)
				return found;
		}
	}
	/* relative to the image's PATH as scanned */
	want = backing_key(keys[i], b);
	if (!want)
		return -ENOMEM;
	found = match_name(ix, want);
	free(want);
	/* an LV: relative to /dev/VG, the directory of its name /dev/VG/LV */
	if (found < 0 && b[0] != '/' && on_lv) {
		size_t lvg = strlen(nd->vg);
		char *dir = malloc(lvg + 6);

		if (!dir)
			return -ENOMEM;
		memcpy(dir, "/dev/", 5);
		memcpy(dir + 5, nd->vg, lvg + 1);
		want = normalize(dir, "", b);
		free(dir);
		if (!want)
			return -ENOMEM;
		found = match_name(ix, want);
		free(want);
	}
	return found < 0 ? IMG_TREE_NOT_FOUND : found;
}

int img_tree_resolve(const struct img_tree_node *nodes, size_t n, long *parent, long *loop)
{
	char cwdbuf[4096];
	const char *cwd = getcwd(cwdbuf, sizeof(cwdbuf)) ? cwdbuf : "";
	char **keys;
	unsigned char *state;
	size_t *stack;
	struct tree_ix ix;
	int rc = -ENOMEM;

	memset(&ix, 0, sizeof(ix));
	keys = calloc(n ? n : 1, sizeof(*keys));
	state = calloc(n ? n : 1, 1);
	stack = calloc(n ? n : 1, sizeof(*stack));
	ix.keys.v = calloc(n ? n : 1, sizeof(*ix.keys.v));
	ix.dm.v = calloc(n ? n : 1, sizeof(*ix.dm.v));
	ix.lv.v = calloc(n ? n : 1, sizeof(*ix.lv.v));
	if (!keys || !state || !stack || !ix.keys.v || !ix.dm.v || !ix.lv.v)
		goto out;
	for (size_t i = 0; i < n; i++) {
		keys[i] = path_key(cwd, nodes[i].path ? nodes[i].path : "");
		if (!keys[i])
			goto out;
		ix.keys.v[ix.keys.n++] = (struct name_ix){ keys[i], "", i };
		if (nodes[i].dm_name)
			ix.dm.v[ix.dm.n++] = (struct name_ix){ nodes[i].dm_name, "", i };
		if (nodes[i].vg && nodes[i].lv)
			ix.lv.v[ix.lv.n++] = (struct name_ix){ nodes[i].vg, nodes[i].lv, i };
	}
	ix_sort(&ix.keys);
	ix_sort(&ix.dm);
	ix_sort(&ix.lv);
	for (size_t i = 0; i < n; i++) {
		loop[i] = -1;
		parent[i] = IMG_TREE_ROOT;
		if (nodes[i].backing && nodes[i].backing[0]) {
			long p = resolve_one(nodes, &ix, keys, i);

			if (p == -ENOMEM)
				goto out;
			parent[i] = p;
		}
	}
	/*
	 * Loops: walk each chain marking nodes 1 (on this walk); reaching a node
	 * marked 1 closes a loop, broken at that node.  Every walked node is then
	 * marked 2 (done), so each node is walked once: O(n) in all.
	 */
	for (size_t i = 0; i < n; i++) {
		size_t sp = 0;
		long x = (long)i;

		while (x >= 0 && state[x] == 0) {
			state[x] = 1;
			stack[sp++] = (size_t)x;
			x = parent[x];
		}
		if (x >= 0 && state[x] == 1) {
			loop[x] = parent[x];
			parent[x] = IMG_TREE_ROOT;
		}
		while (sp)
			state[stack[--sp]] = 2;
	}
	rc = 0;
out:
	if (keys)
		for (size_t i = 0; i < n; i++)
			free(keys[i]);
	free(keys);
	free(state);
	free(stack);
	free(ix.keys.v);
	free(ix.dm.v);
	free(ix.lv.v);
	return rc;
}

int img_tree_order(const long *parent, size_t n, size_t *order, size_t *depth)
{
	long *first, *last, *next, *cur;
	size_t *stack;
	size_t k = 0;
	unsigned char *done;
	int rc = -ENOMEM;

	first = malloc((n ? n : 1) * sizeof(*first));
	last = malloc((n ? n : 1) * sizeof(*last));
	next = malloc((n ? n : 1) * sizeof(*next));
	cur = malloc((n ? n : 1) * sizeof(*cur));
	stack = malloc((n ? n : 1) * sizeof(*stack));
	done = calloc(n ? n : 1, 1);
	if (!first || !last || !next || !cur || !stack || !done)
		goto out;
	for (size_t i = 0; i < n; i++)
		first[i] = last[i] = next[i] = -1;
	/* children lists in input order */
	for (size_t i = 0; i < n; i++) {
		long p = parent[i];

		if (p < 0 || (size_t)p >= n)
			continue;
		if (last[p] < 0)
			first[p] = (long)i;
		else
			next[last[p]] = (long)i;
		last[p] = (long)i;
	}
	for (size_t r = 0; r < n; r++) {
		size_t sp = 0;

		/* roots; a node left unreached (it cannot be, loops are broken) too */
		if (done[r] || (parent[r] >= 0 && (size_t)parent[r] < n))
			continue;
		order[k] = r;
		depth[k++] = 0;
		done[r] = 1;
		cur[r] = first[r];
		stack[sp++] = r;
		while (sp) {
			size_t top = stack[sp - 1];
			long c = cur[top];

			if (c < 0 || done[c] || sp >= n) {
				sp--;
				continue;
			}
			cur[top] = next[c];
			order[k] = (size_t)c;
			depth[k++] = sp;
			done[c] = 1;
			cur[c] = first[c];
			stack[sp++] = (size_t)c;
		}
	}
	for (size_t i = 0; i < n && k < n; i++) {
		if (!done[i]) {
			order[k] = i;
			depth[k++] = 0;
		}
	}
	rc = 0;
out:
	free(first);
	free(last);
	free(next);
	free(cur);
	free(stack);
	free(done);
	return rc;
}
