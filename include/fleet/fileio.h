/*
 * Files written the safe way: every piece of state is written to a temporary file in
 * the same directory, fsync'd, and renamed into place, so a crash leaves the old file
 * or the new one, never half of either.
 */
#ifndef FLEET_FILEIO_H
#define FLEET_FILEIO_H

#include <stddef.h>
#include <sys/uio.h>
#include <sys/types.h>

#include "fleet/buf.h"

struct fl_atomic_file {
	int fd;
	char *path;
	char *tmp_path;
	mode_t mode;
};

/*
 * Creates a temporary file beside `path`, with permissions `mode` (umask applies). What
 * another user may have planted is never followed or written to: a symbolic link is
 * followed only when it is the user's and not in a world-writable directory (like /tmp);
 * a FIFO or device is written in place only when it is the user's or root's (checked on
 * the opened descriptor); /dev/stdout, /dev/stderr and /dev/fd/N write to that descriptor.
 */
int fl_atomic_open(struct fl_atomic_file *f, const char *path, mode_t mode);
/* The same; with no_replace, fails with FL_E_EXISTS if anything at all is at `path`. */
int fl_atomic_open_ex(struct fl_atomic_file *f, const char *path, mode_t mode, int no_replace);
/* fsyncs, then renames over `path` (or, with no_replace, fails with FL_E_EXISTS if
 * `path` exists), then fsyncs the directory. Closes the file in every case. */
int fl_atomic_commit(struct fl_atomic_file *f, int no_replace);
/* Removes the temporary file; safe to call after a commit or twice. */
void fl_atomic_abort(struct fl_atomic_file *f);

int fl_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         int no_replace);
/* For caches only: temporary file and rename (readers never see half a file), but no
 * fsync — a crash may lose the entry, and a lost cache entry is only a miss. */
int fl_write_cache_file(const char *path, const void *data, size_t len);
/* The same, written from several pieces one after the other. */
int fl_write_cache_filev(const char *path, const struct iovec *parts, int nparts);
/* Reads a whole file (or stdin for "-") into out, refusing files above max bytes. */
int fl_read_file(const char *path, struct fl_buf *out, size_t max);

#endif
