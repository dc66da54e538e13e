/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IMGSCAN_DEBUG: the command's debug traces on stderr (trace.h) */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"
#include "trace.h"

static pthread_once_t debug_once = PTHREAD_ONCE_INIT;
static bool debug_probe;

/* does the comma-separated list v name word (or "all")? */
static bool names(const char *v, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = v; *p;) {
		size_t n = strcspn(p, ",");

		if ((n == len && strncmp(p, word, len) == 0) || (n == 3 && strncmp(p, "all", 3) == 0))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static void debug_read(void)
{
	const char *v = getenv("IMGSCAN_DEBUG");

	debug_probe = v && names(v, "probe");
}

bool img_debug_probe(void)
{
	pthread_once(&debug_once, debug_read);
	return debug_probe;
}

/* one line, written with one call: lines of volumes probed in parallel do not mix */
static void probe_line(void *ctx, const char *line)
{
	const char *path = ctx;
	size_t len = strlen(path);
	char shown[4 * 256 + 1];

	/* a path is at most PATH_MAX; its first 256 bytes name it in a trace */
	img_esc(path, len > 256 ? 256 : len, shown, sizeof(shown));
	fprintf(stderr, "imgscan: probe: %s%s: %s\n", shown, len > 256 ? "..." : "", line);
}

void img_trace_attach(struct img_source *src, const char *path)
{
	if (img_debug_probe() && path)
		img_source_set_trace(src, probe_line, (void *)path);
}
