#include "fleet/fileio.h"
#include "fleet/error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int fsync_parent(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (dfd < 0)
		return 0; /* best effort: the rename itself already happened */
	fsync(dfd);
	close(dfd);
	return 0;
}

static int atomic_open_regular(struct fl_atomic_file *f, const char *path);

/* "-o /dev/stdout" and "-o /dev/fd/N" (bash's >(...)) name a descriptor fleet already
 * holds: write to a copy of it, whatever it points at. Returns the descriptor or -1. */
static int std_stream_fd(const char *path)
{
	static const char *const names[] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
	for (int i = 0; i < 3; i++)
		if (!strcmp(path, names[i]))
			return i;
	if (strncmp(path, "/dev/fd/", 8) != 0 || !path[8])
		return -1;
	char *end;
	long n = strtol(path + 8, &end, 10);
	return *end || n < 0 || n > 65535 ? -1 : (int)n;
}

/* A file another user owns must not receive what fleet writes: a FIFO hands it to them, a
 * symlink redirects it. root is trusted (it can read everything anyway). */
static int owned_by_us(const struct stat *st)
{
	return st->st_uid == geteuid() || st->st_uid == 0;
}

/* Whether the directory holding `path` is writable by every user (like /tmp): whatever
 * is found there may have been planted, or may be swapped, by another user. */
static int in_world_writable_dir(const char *path, char *dir_out, size_t cap)
{
	char *copy = strdup(path);
	if (!copy)
		return 1; /* fail closed */
	struct stat st;
	const char *dir = dirname(copy);
	int ww = stat(dir, &st) == 0 && (st.st_mode & S_IWOTH);
	snprintf(dir_out, cap, "%s", dir);
	free(copy);
	return ww;
}

static const char *kind_name(mode_t m)
{
	return S_ISFIFO(m)   ? "a FIFO"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISDIR(m)  ? "a directory"
	       : S_ISLNK(m)  ? "a symbolic link"
	       : S_ISREG(m)  ? "a regular file"
	                     : "an unknown kind of file";
}

/* Devices and pipes (-o /dev/null, a FIFO of the user's) cannot be replaced: write to
 * them in place, but only after fstat on what was actually opened shows it is the user's
 * (or root's): O_NOFOLLOW so a symlink swapped in is not followed, O_NONBLOCK so a FIFO
 * with no reader does not hold fleet before the check. */
static int open_special(struct fl_atomic_file *f, const char *path)
{
	f->path = strdup(path);
	if (!f->path)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	f->fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (f->fd < 0 && errno == ENXIO) /* a FIFO with no reader yet: wait for one */
		f->fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f->fd < 0) {
		fl_error_set_os("cannot open %s", path);
		fl_atomic_abort(f);
		return -1;
	}
	struct stat st;
	if (fstat(f->fd, &st) < 0) {
		fl_error_set_os("cannot inspect %s", path);
		fl_atomic_abort(f);
		return -1;
	}
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || !owned_by_us(&st)) {
		fl_error_set(
		    FL_E_INVALID,
		    "%s is %s owned by another user (uid %u) or was swapped while it was "
		    "opened; refusing to write to it: its owner could read what is written",
		    path, kind_name(st.st_mode), (unsigned)st.st_uid);
		fl_atomic_abort(f);
		return -1;
	}
	int flags = fcntl(f->fd, F_GETFL);
	if (flags < 0 || fcntl(f->fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		fl_error_set_os("cannot open %s", path);
		fl_atomic_abort(f);
		return -1;
	}
	return 0;
}

/* A symlink's target as a path: relative targets are taken from the link's directory. */
static char *link_target(const char *path)
{
	char target[4096];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		fl_error_set_os("cannot read the symbolic link %s", path);
		return NULL;
	}
	target[n] = '\0';
	char *copy = strdup(path), *out = NULL;
	if (copy) {
		const char *dir = dirname(copy);
		size_t need = strlen(dir) + (size_t)n + 2;
		if (target[0] == '/')
			out = strdup(target);
		else if ((out = malloc(need)))
			snprintf(out, need, "%s/%s", dir, target);
	}
	free(copy);
	if (!out)
		fl_error_set(FL_E_NOMEM, "out of memory");
	return out;
}

/* Links are followed one at a time, each checked as the name given was: a link of the
 * user's may point at one another user planted. */
#define MAX_LINKS 40

static int atomic_open(struct fl_atomic_file *f, const char *path, mode_t mode, int no_replace,
                       int links)
{
	struct stat lst;
	if (lstat(path, &lst) < 0) {
		if (errno != ENOENT)
			return fl_error_set_os("cannot inspect %s", path);
		/* A name planted after this check is never written through: the temporary file
		 * is created O_EXCL and renamed (or linked, with no_replace) over the name. */
		return atomic_open_regular(f, path);
	}
	if (no_replace)
		return fl_error_set(FL_E_EXISTS, "%s already exists (%s); refusing to overwrite it",
		                    path, S_ISREG(lst.st_mode) ? "a file" : kind_name(lst.st_mode));
	if (S_ISREG(lst.st_mode))
		return atomic_open_regular(f, path);
	if (S_ISDIR(lst.st_mode))
		return fl_error_set(FL_E_INVALID, "%s is a directory", path);
	char dir[4096];
	if (S_ISLNK(lst.st_mode)) {
		if (!owned_by_us(&lst))
			return fl_error_set(
			    FL_E_INVALID,
			    "%s is a symbolic link owned by another user (uid %u); "
			    "refusing to follow it: it could redirect the output onto "
			    "any file of yours",
			    path, (unsigned)lst.st_uid);
		if (in_world_writable_dir(path, dir, sizeof(dir)))
			return fl_error_set(
			    FL_E_INVALID,
			    "%s is a symbolic link in the world-writable directory "
			    "%s; refusing to follow it: another user could point it "
			    "elsewhere",
			    path, dir);
		if (links >= MAX_LINKS)
			return fl_error_set(FL_E_INVALID, "%s: too many levels of symbolic links",
			                    path);
		/* Replace the link's target, not the link. */
		char *target = link_target(path);
		if (!target)
			return -1;
		int rc = atomic_open(f, target, mode, 0, links + 1);
		free(target);
		return rc;
	}
	if (!owned_by_us(&lst))
		return fl_error_set(FL_E_INVALID,
		                    "%s is %s owned by another user (uid %u); refusing to write to "
		                    "it: its owner could read what is written",
		                    path, kind_name(lst.st_mode), (unsigned)lst.st_uid);
	return open_special(f, path);
}

int fl_atomic_open(struct fl_atomic_file *f, const char *path, mode_t mode)
{
	return fl_atomic_open_ex(f, path, mode, 0);
}

int fl_atomic_open_ex(struct fl_atomic_file *f, const char *path, mode_t mode, int no_replace)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->mode = mode;
	int std = std_stream_fd(path);
	if (std >= 0) {
		if (no_replace)
			return fl_error_set(FL_E_EXISTS,
			                    "%s already exists; refusing to write to it", path);
		f->path = strdup(path);
		if (!f->path)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		f->fd = fcntl(std, F_DUPFD_CLOEXEC, 3);
		if (f->fd < 0) {
			fl_error_set_os("cannot write to %s", path);
			fl_atomic_abort(f);
			return -1;
		}
		return 0;
	}
	return atomic_open(f, path, mode, no_replace, 0);
}

static int atomic_open_regular(struct fl_atomic_file *f, const char *path)
{
	mode_t mode = f->mode;
	char *copy = strdup(path);
	char *base = strdup(path);
	if (!copy || !base) {
		free(copy);
		free(base);
		return fl_error_set(FL_E_NOMEM, "out of memory");
	}
	size_t need = strlen(path) + 32;
	f->tmp_path = malloc(need);
	f->path = strdup(path);
	if (!f->tmp_path || !f->path) {
		free(copy);
		free(base);
		fl_atomic_abort(f);
		return fl_error_set(FL_E_NOMEM, "out of memory");
	}
	snprintf(f->tmp_path, need, "%s/.%s.tmp-XXXXXX", dirname(copy), basename(base));
	free(copy);
	free(base);
	f->fd = mkostemp(f->tmp_path, O_CLOEXEC);
	if (f->fd < 0) {
		fl_error_set_os("cannot create a file beside %s", path);
		free(f->tmp_path);
		f->tmp_path = NULL;
		fl_atomic_abort(f);
		return -1;
	}
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(f->fd, mode & ~mask) < 0) {
		fl_error_set_os("cannot set the mode of %s", f->tmp_path);
		fl_atomic_abort(f);
		return -1;
	}
	return 0;
}

int fl_atomic_commit(struct fl_atomic_file *f, int no_replace)
{
	int rc = 0;
	if (!f->tmp_path) {
		/* A device or pipe written in place. */
		if (close(f->fd) < 0)
			rc = fl_error_set_os("cannot write %s", f->path);
		f->fd = -1;
		fl_atomic_abort(f);
		return rc;
	}
	if (fsync(f->fd) < 0)
		rc = fl_error_set_os("cannot flush %s to disk", f->path);
	if (close(f->fd) < 0 && rc == 0)
		rc = fl_error_set_os("cannot write %s", f->path);
	f->fd = -1;
	if (rc == 0) {
		if (no_replace) {
			/* link() fails if the target exists: no window where it is replaced. */
			if (link(f->tmp_path, f->path) < 0) {
				if (errno == EEXIST)
					rc =
					    fl_error_set(FL_E_EXISTS,
					                 "%s already exists; refusing to overwrite "
					                 "it",
					                 f->path);
				else
					rc = fl_error_set_os("cannot create %s", f->path);
			}
			unlink(f->tmp_path);
		} else if (rename(f->tmp_path, f->path) < 0) {
			rc = fl_error_set_os("cannot replace %s", f->path);
		}
	}
	if (rc == 0) {
		free(f->tmp_path);
		f->tmp_path = NULL;
		fsync_parent(f->path);
	}
	fl_atomic_abort(f);
	return rc;
}

void fl_atomic_abort(struct fl_atomic_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp_path)
		unlink(f->tmp_path);
	free(f->tmp_path);
	free(f->path);
	f->tmp_path = f->path = NULL;
}

int fl_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         int no_replace)
{
	struct fl_atomic_file f;
	if (fl_atomic_open_ex(&f, path, mode, no_replace) < 0)
		return -1;
	const char *p = data;
	while (len) {
		ssize_t w = write(f.fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fl_error_set_os("cannot write %s", path);
			fl_atomic_abort(&f);
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return fl_atomic_commit(&f, no_replace);
}

int fl_read_file(const char *path, struct fl_buf *out, size_t max)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fl_error_set_os("cannot open %s", path);
	int rc = 0;
	for (;;) {
		if (fl_buf_grow(out, 65536) < 0) {
			rc = -1;
			break;
		}
		ssize_t r = read(fd, out->ptr + out->len, 65536);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = fl_error_set_os("cannot read %s", path);
			break;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
		out->ptr[out->len] = '\0';
		if (out->len > max) {
			rc = fl_error_set(FL_E_INVALID, "%s is larger than %zu bytes", path, max);
			break;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

int fl_write_cache_filev(const char *path, const struct iovec *parts, int nparts)
{
	struct fl_atomic_file f;
	if (fl_atomic_open(&f, path, 0600) < 0)
		return -1;
	int rc = 0;
	for (int i = 0; i < nparts && rc == 0; i++) {
		const char *p = parts[i].iov_base;
		size_t len = parts[i].iov_len;
		while (len && rc == 0) {
			ssize_t w = write(f.fd, p, len);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = fl_error_set_os("cannot write %s", path);
				break;
			}
			p += w;
			len -= (size_t)w;
		}
	}
	if (rc == 0 && close(f.fd) < 0)
		rc = fl_error_set_os("cannot write %s", path);
	f.fd = -1;
	if (rc == 0 && rename(f.tmp_path, f.path) < 0)
		rc = fl_error_set_os("cannot replace %s", path);
	if (rc == 0) {
		free(f.tmp_path);
		f.tmp_path = NULL;
	}
	fl_atomic_abort(&f);
	return rc;
}

int fl_write_cache_file(const char *path, const void *data, size_t len)
{
	struct iovec part = {(void *)data, len};
	return fl_write_cache_filev(path, &part, 1);
}
