/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * examples/probe.c: what libimgscan says about each file or block device
 * named on the command line.
 *
 *   cc -o probe probe.c $(pkg-config --cflags --libs imgscan)
 *   ./probe [--deep] [--check] PATH...
 *
 * Prints "PATH: FORMAT", then the facts as name=value lines, header strings
 * encoded with imgscan_encode_shell (they are untrusted bytes), then the
 * --udev properties.  Exits 0 when every path was probed, 1 otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <imgscan/imgscan.h>

static void put_name(const char *label, const char *s, size_t len)
{
	char buf[4 * 1024 + 3];

	if (imgscan_encode_shell(s, len, buf, sizeof(buf)) >= 0)
		printf("  %s=%s\n", label, buf);
}

static int probe_one(struct imgscan_probe *pr, const char *path)
{
	const char *s, *name, *value;
	uint64_t v;
	uint32_t u;
	size_t len;
	int r;

	r = imgscan_probe_set_path(pr, path, 0);
	if (r >= 0)
		r = imgscan_probe_run(pr);
	if (r < 0) {
		const char *why = imgscan_probe_strerror(pr);

		fprintf(stderr, "probe: %s\n", why ? why : strerror(-r));
		return -1;
	}
	printf("%s: %s%s\n", path, imgscan_probe_get_format(pr),
	       imgscan_probe_is_ambiguous(pr) ? " (ambiguous)" : "");
	if (imgscan_probe_get_virtual_size(pr, &v) == 0)
		printf("  virtual-size=%" PRIu64 "\n", v);
	if (imgscan_probe_get_version(pr, &u) == 0)
		printf("  format-version=%" PRIu32 "\n", u);
	if (imgscan_probe_get_backing_file(pr, &s, &len) == 0)
		put_name("backing-file", s, len);
	if (imgscan_probe_get_data_file(pr, &s, &len) == 0)
		put_name("data-file", s, len);
	if ((s = imgscan_probe_get_encryption(pr)))
		printf("  encryption=%s\n", s);
	if ((s = imgscan_probe_get_damaged(pr)))
		printf("  damaged=%s\n", s);
	for (unsigned i = 0; i < imgscan_probe_get_feature_count(pr); i++)
		if (imgscan_probe_get_feature(pr, i, &s, NULL, NULL, NULL) == 0)
			printf("  feature=%s\n", s);
	r = imgscan_probe_is_safe(pr);
	if (r >= 0)
		printf("  safe=%d\n", r);
	for (unsigned i = 0; i < imgscan_probe_get_property_count(pr); i++)
		if (imgscan_probe_get_property(pr, i, &name, &value, &len) == 0)
			printf("  %s=%s\n", name, value);
	return 0;
}

int main(int argc, char **argv)
{
	struct imgscan_probe *pr = imgscan_probe_new();
	struct imgscan_policy *pol = NULL;
	unsigned flags = 0;
	int status = 0, i = 1;

	if (!pr) {
		fprintf(stderr, "probe: out of memory\n");
		return 1;
	}
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--deep")) {
			flags |= IMGSCAN_PROBE_DEEP;
		} else if (!strcmp(argv[i], "--check") && !pol) {
			pol = imgscan_policy_new();
			if (!pol || imgscan_probe_set_policy(pr, pol) < 0)
				return 1;
		} else {
			fprintf(stderr, "usage: probe [--deep] [--check] PATH...\n");
			return 2;
		}
	}
	if (i == argc) {
		fprintf(stderr, "usage: probe [--deep] [--check] PATH...\n");
		return 2;
	}
	imgscan_probe_set_flags(pr, flags);
	for (; i < argc; i++)
		if (probe_one(pr, argv[i]) < 0)
			status = 1;
	imgscan_policy_free(pol);
	imgscan_probe_free(pr);
	return status;
}
