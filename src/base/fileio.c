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

/* Devices and pipes (-o /dev/null, -o /dev/stdout) cannot be replaced: write to them. */
static int open_special(struct fl_atomic_file *f, const char *path)
{
	f->path = strdup(path);
	if (!f->path)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	f->fd = open(path, O_WRONLY | O_CLOEXEC);
	if (f->fd < 0) {
		fl_error_set_os("cannot open %s", path);
		fl_atomic_abort(f);
		return -1;
	}
	return 0;
}

int fl_atomic_open(struct fl_atomic_file *f, const char *path, mode_t mode)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->mode = mode;
	struct stat st, lst;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return fl_error_set(FL_E_INVALID, "%s is a directory", path);
		return open_special(f, path);
	}
	/* Replace a symlink's target, not the symlink. */
	char *resolved = NULL;
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && (resolved = realpath(path, NULL)))
		path = resolved;
	int rc = atomic_open_regular(f, path);
	free(resolved);
	return rc;
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
	if (fl_atomic_open(&f, path, mode) < 0)
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
