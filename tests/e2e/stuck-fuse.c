/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stuck-fuse: a FUSE filesystem of one read-only file, /disk, whose reads
 * are served from BACKING until the server gets SIGUSR1; from then on every
 * read of /disk never returns (the thread that took it sleeps until the
 * server dies).  Built and run by tests/e2e/timeout.sh: a loop device over
 * /disk is a device whose reads hang, as a dead SAN path or a stuck NFS
 * mount makes them.  Killing the server (SIGKILL) aborts the connection:
 * every pending read then fails with an error, and the loop device can be
 * detached.
 *
 * Usage: stuck-fuse BACKING MARKER MOUNTPOINT
 * MARKER is created the first time a read is held (the test checks that
 * the scan really met a stuck read).  The server never outlives the test:
 * it dies with its parent (the test's shell, even killed with SIGKILL) and
 * after LIFETIME seconds at most, and its held reads then fail.  Files are opened with direct_io, so
 * no read is served from the kernel's page cache: each one reaches here.
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIFETIME 900

static int backing_fd = -1;
static off_t backing_size;
static const char *marker;
static volatile sig_atomic_t hang;

static void on_usr1(int sig)
{
	(void)sig;
	hang = 1;
}

static int sf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, "/disk") == 0) {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = backing_size;
		return 0;
	}
	return -ENOENT;
}

static int sf_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/") != 0)
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "disk", NULL, 0, 0);
	return 0;
}

static int sf_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/disk") != 0)
		return -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	fi->direct_io = 1;
	return 0;
}

static int sf_read(const char *path, char *buf, size_t len, off_t off, struct fuse_file_info *fi)
{
	ssize_t n;

	(void)path;
	(void)fi;
	if (hang) {
		int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd >= 0)
			close(fd);
		/* never answer: only the death of this process ends the read */
		for (;;)
			pause();
	}
	n = pread(backing_fd, buf, len, off);
	return n < 0 ? -errno : (int)n;
}

static const struct fuse_operations ops = {
	.getattr = sf_getattr,
	.readdir = sf_readdir,
	.open = sf_open,
	.read = sf_read,
};

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct stat st;
	char *fargv[] = { argv[0], "-f", "-o", "ro,fsname=imgscan-stuck", NULL, NULL };

	if (argc != 4) {
		fprintf(stderr, "usage: stuck-fuse BACKING MARKER MOUNTPOINT\n");
		return 2;
	}
	backing_fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (backing_fd < 0 || fstat(backing_fd, &st) < 0) {
		perror(argv[1]);
		return 1;
	}
	backing_size = st.st_size;
	marker = argv[2];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0) {
		perror("sigaction");
		return 1;
	}
	fargv[4] = argv[3];
	/* a stuck device must not outlive the test, whatever happens to it */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
		return 1;
	alarm(LIFETIME);
	return fuse_main(5, fargv, &ops, NULL);
}
