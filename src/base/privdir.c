/* Private directories for plaintext; see include/fleet/privdir.h. Another local user
 * may plant anything in /dev/shm or /tmp: nothing here follows a symbolic link or
 * touches an entry that is not the user's own. */
#include "fleet/privdir.h"
#include "fleet/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BASES 4

/* A base fits when it is a directory the user may create in and nobody else can
 * tamper with: the user's own and private, or sticky (/dev/shm, /tmp). */
static int usable_base(const char *path, int must_be_private)
{
	struct stat st;
	if (!path || !*path || stat(path, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    access(path, W_OK | X_OK) != 0)
		return 0;
	if (must_be_private)
		return st.st_uid == geteuid() && (st.st_mode & 022) == 0;
	return (st.st_mode & S_ISVTX) || (st.st_mode & 022) == 0;
}

static size_t bases(const char *out[MAX_BASES])
{
	size_t n = 0;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (usable_base(xdg, 1))
		out[n++] = xdg;
#ifdef __APPLE__
	/* macOS has no tmpfs: its per-user $TMPDIR (/var/folders/…, 0700) is the private
	 * place, /tmp the last resort (the directory itself is created 0700). */
	const char *tmpdir = getenv("TMPDIR");
	if (usable_base(tmpdir, 1))
		out[n++] = tmpdir;
	if (usable_base("/tmp", 0))
		out[n++] = "/tmp";
#else
	if (usable_base("/dev/shm", 0))
		out[n++] = "/dev/shm";
#endif
	return n;
}

/* Zeros a regular file the directory holds (only its one name: a hard link to a
 * file elsewhere is removed, never overwritten). */
static void overwrite(int dfd, const char *name, const struct stat *st)
{
	if (st->st_nlink != 1 || st->st_size <= 0)
		return;
	int fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == EACCES) {
		/* An editor may have left it read-only: it is ours, make it writable. */
		int rfd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (rfd >= 0) {
			if (fchmod(rfd, 0600) == 0)
				fd = openat(dfd, name,
				            O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			close(rfd);
		}
	}
	if (fd < 0)
		return;
	struct stat now;
	if (fstat(fd, &now) == 0 && S_ISREG(now.st_mode) && now.st_ino == st->st_ino &&
	    now.st_dev == st->st_dev) {
		static const char zero[65536];
		off_t left = now.st_size;
		while (left > 0) {
			size_t n = left < (off_t)sizeof(zero) ? (size_t)left : sizeof(zero);
			ssize_t w = write(fd, zero, n);
			if (w <= 0 && errno != EINTR)
				break;
			if (w > 0)
				left -= w;
		}
		fsync(fd);
	}
	close(fd);
}

/* Empties a directory: files overwritten then unlinked, subdirectories likewise. */
static void wipe_dir(int dfd, int depth)
{
	/* Entries removed while reading may make readdir skip others: read again until a
	 * pass finds nothing left. */
	for (int pass = 0; pass < 4; pass++) {
		int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
		DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
		if (!d) {
			if (dup_fd >= 0)
				close(dup_fd);
			return;
		}
		rewinddir(d);
		int seen = 0;
		struct dirent *e;
		while ((e = readdir(d))) {
			const char *name = e->d_name;
			if (!strcmp(name, ".") || !strcmp(name, ".."))
				continue;
			seen++;
			struct stat st;
			if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			if (S_ISDIR(st.st_mode)) {
				int sub =
				    depth < 16
				        ? openat(dfd, name,
				                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
				        : -1;
				if (sub >= 0) {
					wipe_dir(sub, depth + 1);
					close(sub);
				}
				unlinkat(dfd, name, AT_REMOVEDIR);
				continue;
			}
			if (S_ISREG(st.st_mode))
				overwrite(dfd, name, &st);
			unlinkat(dfd, name, 0);
		}
		closedir(d);
		if (!seen)
			return;
	}
}

/* Opens a directory entry of `base` without following links, checks it is a directory
 * of the user's, and takes its lock without waiting. Returns the fd or -1. */
static int open_locked(int basefd, const char *name)
{
	int fd = openat(basefd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int fl_privdir_create(struct fl_privdir *d)
{
	const char *b[MAX_BASES];
	size_t n = bases(b);
	d->fd = -1;
	d->path[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		if ((size_t)snprintf(path, sizeof(path), "%s/" FL_PRIVDIR_PREFIX "XXXXXX", b[i]) >=
		        sizeof(path) ||
		    !mkdtemp(path))
			continue;
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		/* A sweep may have taken the fresh directory before the lock: then it is
		 * gone (no links left) and another name is tried. */
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
		    st.st_nlink > 0 && st.st_uid == geteuid() && (st.st_mode & 077) == 0) {
			memcpy(d->path, path, sizeof(path));
			d->fd = fd;
			return 0;
		}
		if (fd >= 0)
			close(fd);
		rmdir(path);
	}
#ifdef __APPLE__
	return fl_error_set(FL_E_OS, "no private directory for the plaintext (tried "
	                             "$XDG_RUNTIME_DIR, $TMPDIR and /tmp)");
#else
	return fl_error_set(FL_E_OS, "no private tmpfs directory for the plaintext (tried "
	                             "$XDG_RUNTIME_DIR and /dev/shm)");
#endif
}

void fl_privdir_remove(struct fl_privdir *d)
{
	if (d->fd < 0)
		return;
	wipe_dir(d->fd, 0);
	rmdir(d->path);
	close(d->fd);
	d->fd = -1;
	d->path[0] = '\0';
}

int fl_privdir_sweep(void)
{
	const char *b[MAX_BASES];
	size_t n = bases(b);
	int swept = 0;
	size_t plen = strlen(FL_PRIVDIR_PREFIX);
	for (size_t i = 0; i < n; i++) {
		int basefd = open(b[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *dir = basefd >= 0 ? fdopendir(basefd) : NULL;
		if (!dir) {
			if (basefd >= 0)
				close(basefd);
			continue;
		}
		struct dirent *e;
		while ((e = readdir(dir))) {
			if (strncmp(e->d_name, FL_PRIVDIR_PREFIX, plen) != 0 ||
			    strlen(e->d_name) != plen + 6)
				continue;
			/* open_locked checks the owner on what it opened (never a link). */
			int fd = open_locked(basefd, e->d_name);
			if (fd < 0)
				continue;
			wipe_dir(fd, 0);
			if (unlinkat(basefd, e->d_name, AT_REMOVEDIR) == 0)
				swept++;
			close(fd);
		}
		closedir(dir);
	}
	return swept;
}
