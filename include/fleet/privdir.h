/*
 * Private directories for plaintext (sops edit, exec-file): mode 0700, on tmpfs where
 * there is one, locked while in use, wiped (every file overwritten, then removed)
 * afterwards; directories a killed run left behind are swept by the next run.
 */
#ifndef FLEET_PRIVDIR_H
#define FLEET_PRIVDIR_H

#include <limits.h>

#define FL_PRIVDIR_PREFIX "fleet-sops-"

struct fl_privdir {
	char path[PATH_MAX];
	int fd; /* the directory, flock'ed while in use; -1 when none */
};

/* Creates <base>/fleet-sops-XXXXXX in the first usable base: $XDG_RUNTIME_DIR (when it
 * is the user's and private), /dev/shm; on macOS, which has neither, $TMPDIR (private
 * per user) and /tmp. Holds an exclusive lock on it so no sweep takes it. */
int fl_privdir_create(struct fl_privdir *d);
/* Overwrites every regular file inside (an editor's backups and swap files too) with
 * zeros, removes everything, removes the directory and drops the lock. Never follows a
 * symbolic link. Safe on a directory never created (fd -1). */
void fl_privdir_remove(struct fl_privdir *d);
/* Wipes and removes the fleet-sops-* directories in the bases that belong to the user
 * and that no running fleet holds (left by a run that was killed). Entries that are
 * symbolic links or another user's are left alone. Returns how many were removed. */
int fl_privdir_sweep(void);

#endif
