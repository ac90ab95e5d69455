/* Internal to src/inventory: the evaluation cache's directory, trusted only when it is
 * private to the user, and its files, each sealed with a MAC under a key only the user
 * can read (docs/cache.md). */
#ifndef FLEET_INVENTORY_CACHE_DIR_H
#define FLEET_INVENTORY_CACHE_DIR_H

#include "fleet/buf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define CACHE_MAC_BYTES 32

struct cache_dir {
	int fd; /* the eval directory, -1 when none */
	char path[3000];
	uint8_t mac_key[32];
};

/* Opens $XDG_CACHE_HOME/fleet/eval (else ~/.cache/fleet/eval), creating what is missing
 * with mode 0700. fleet/ and fleet/eval/ are opened without following a symbolic link
 * and must belong to the user and be writable by nobody else. Returns 0, or 1 with the
 * reason in why (naming the directory) when the cache cannot be used; never -1. */
int cache_dir_open(struct cache_dir *d, char *why, size_t whylen);
void cache_dir_close(struct cache_dir *d);

/* Reads NAME from the directory (never through a symbolic link), at most max bytes,
 * and checks its MAC: out gets the content without the MAC (NUL-terminated). A missing,
 * foreign or tampered file is a miss: returns 1; 0 on success. */
int cache_file_read(const struct cache_dir *d, const char *name, struct fl_buf *out, size_t max);
/* Writes NAME from pieces, sealed with its MAC: a new file (openat, O_EXCL, 0600)
 * renamed over NAME, so nothing is ever written through what NAME was. -1 on failure. */
int cache_file_write(const struct cache_dir *d, const char *name, const struct iovec *parts,
                     int nparts);

/* BLAKE2b-256 of a file's bytes, read in pieces (any size; libsodium's BLAKE2b is many
 * times faster than its SHA-256), or of a symbolic link's target (never followed); -1
 * if it cannot be read. */
int cache_hash_file(const char *path, uint8_t out[32]);

#endif
