/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text/encode.h"
#include "output/write-file.h"

/* a name escaped by img_esc_dup for stderr, or a fixed text */
#define ESC_SHOWN(e) ((e) ? (e) : "(out of memory)")

/*
 * --write FILE: the output goes to a temporary file beside FILE (same
 * directory, so the rename is atomic; its name starts with a dot and does
 * not end in .prom, so node_exporter's textfile collector ignores it), which
 * replaces FILE only once complete and on disk.  A reader sees the old
 * document or the new one, never a part.
 */
/* "imgscan: --write PATH: WHY" with PATH escaped as every path in a message */
static void write_error(const char *path, const char *why, int err)
{
	char *ep = img_esc_dup(path);

	fprintf(stderr, "imgscan: --write %s: %s%s%s\n", ESC_SHOWN(ep), why, err ? ": " : "",
	        err ? strerror(err) : "");
	free(ep);
}

int img_write_begin(const char *path, char *tmp, size_t len)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0;
	int fd, n;

	n = snprintf(tmp, len, "%.*s.%s.XXXXXX", dirlen, path, slash ? slash + 1 : path);
	if (n < 0 || (size_t)n >= len || (slash && !slash[1])) {
		write_error(path, "not a usable file name", 0);
		tmp[0] = '\0';
		return -1;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		write_error(path,
		            "cannot create a temporary file beside it (the directory must exist and "
		            "be writable)",
		            errno);
		tmp[0] = '\0';
		return -1;
	}
	/* mkstemp makes it 0600; the snapshot is as readable as a plain redirection's */
	if (fchmod(fd, 0644) < 0 || dup2(fd, STDOUT_FILENO) < 0) {
		write_error(path, "cannot set up the temporary file beside it", errno);
		close(fd);
		unlink(tmp);
		tmp[0] = '\0';
		return -1;
	}
	close(fd);
	return 0;
}

void img_write_abort(char *tmp)
{
	if (tmp[0])
		unlink(tmp);
	tmp[0] = '\0';
}

int img_write_commit(const char *path, char *tmp)
{
	if (fsync(STDOUT_FILENO) < 0) {
		write_error(path, "cannot write it to disk (the file is left as it was)", errno);
		img_write_abort(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		write_error(path, "cannot rename the temporary file over it (the file is left as it was)",
		            errno);
		img_write_abort(tmp);
		return -1;
	}
	tmp[0] = '\0';
	return 0;
}
