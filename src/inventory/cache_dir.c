/* The evaluation cache's directory and files. Another local user must not be able to
 * choose what fleet reads from the cache nor where it writes: the directory is used only
 * when it is the user's and nobody else can write to it, every file is opened relative
 * to it without following a symbolic link, and every file carries a MAC under a key
 * that only the user can read (docs/cache.md). */
#include "inventory/cache_dir.h"
#include "fleet/error.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAC_KEY_FILE "mac-key"
#define MAC_DOMAIN "fleet-cache-mac 1"

static int refuse(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* parent/name as a directory of the user's that nobody else may write to, created
 * (0700) if missing. Returns its descriptor, or -1 with the reason in why. */
static int open_private(int parent, const char *parent_path, const char *name, char *why, size_t n)
{
	if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
		return refuse(why, n, "cannot create %s/%s: %s", parent_path, name,
		              strerror(errno));
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		int e = errno;
		if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			return refuse(why, n, "%s/%s is a symbolic link", parent_path, name);
		return refuse(why, n, "cannot open %s/%s: %s", parent_path, name, strerror(e));
	}
	const char *reason = NULL;
	char detail[160];
	if (fstat(fd, &st) < 0) {
		snprintf(detail, sizeof(detail), "cannot be examined: %s", strerror(errno));
		reason = detail;
	} else if (st.st_uid != geteuid()) {
		snprintf(detail, sizeof(detail), "belongs to uid %lu, not to you (uid %lu)",
		         (unsigned long)st.st_uid, (unsigned long)geteuid());
		reason = detail;
	} else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(detail, sizeof(detail), "is writable by %s (mode %04o)",
		         (st.st_mode & S_IWOTH) ? "every user" : "its group",
		         (unsigned)(st.st_mode & 07777));
		reason = detail;
	}
	if (reason) {
		close(fd);
		return refuse(why, n, "%s/%s %s", parent_path, name, reason);
	}
	return fd;
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf = (const char *)buf + w;
		len -= (size_t)w;
	}
	return 0;
}

/* The key, if NAME is a 32-byte file of the user's that nobody else can read. */
static int read_key(int dir, uint8_t key[32])
{
	int fd = openat(dir, MAC_KEY_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	int rc = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	                 !(st.st_mode & 077) && st.st_size == 32 && read_full(fd, key, 32) == 0
	             ? 0
	             : -1;
	close(fd);
	return rc;
}

/* A new file beside NAME, O_EXCL so that nothing that was there is followed. */
static int create_temp(int dir, const char *name, char *tmp, size_t n)
{
	for (int tries = 0; tries < 8; tries++) {
		snprintf(tmp, n, ".%s.tmp-%08x%08x", name, randombytes_random(),
		         randombytes_random());
		int fd =
		    openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* The user's MAC key: read, or made once (linkat never replaces a key another fleet
 * made meanwhile); a key file that is not private is replaced. */
static int load_key(struct cache_dir *d, char *why, size_t n)
{
	if (read_key(d->fd, d->mac_key) == 0)
		return 0;
	uint8_t key[32];
	char tmp[128];
	randombytes_buf(key, sizeof(key));
	int fd = create_temp(d->fd, MAC_KEY_FILE, tmp, sizeof(tmp));
	if (fd < 0)
		return refuse(why, n, "cannot create a file in %s: %s", d->path, strerror(errno));
	int ok = write_full(fd, key, sizeof(key)) == 0;
	ok = close(fd) == 0 && ok;
	if (ok && linkat(d->fd, tmp, d->fd, MAC_KEY_FILE, 0) < 0) {
		if (errno == EEXIST && read_key(d->fd, d->mac_key) == 0) {
			unlinkat(d->fd, tmp, 0);
			sodium_memzero(key, sizeof(key));
			return 0; /* another fleet made it first */
		}
		ok = renameat(d->fd, tmp, d->fd, MAC_KEY_FILE) == 0;
	}
	int e = errno;
	unlinkat(d->fd, tmp, 0);
	if (ok)
		memcpy(d->mac_key, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	if (!ok)
		return refuse(why, n, "cannot write %s/%s: %s", d->path, MAC_KEY_FILE, strerror(e));
	return 0;
}

/* mkdir -p, each missing directory 0700 (the user's own base directory). */
static int make_base(char *path, char *why, size_t n)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0700);
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return refuse(why, n, "cannot create %s: %s", path, strerror(errno));
	return 0;
}

int cache_dir_open(struct cache_dir *d, char *why, size_t whylen)
{
	char base[2900];
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	why[0] = '\0';
	/* XDG: a relative XDG_CACHE_HOME is invalid and is ignored. */
	if (xdg && xdg[0] == '/')
		snprintf(base, sizeof(base), "%s", xdg);
	else if (home && *home)
		snprintf(base, sizeof(base), "%s/.cache", home);
	else
		return 1; /* nowhere to cache: quietly without */
	if (sodium_init() < 0) {
		snprintf(why, whylen, "libsodium failed to initialise");
		return 1;
	}
	if (make_base(base, why, whylen) < 0)
		return 1;
	/* The base is the user's choice (a symbolic link there is theirs); below it, fleet
	 * trusts only what is the user's alone. */
	int b = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b < 0) {
		snprintf(why, whylen, "cannot open %s: %s", base, strerror(errno));
		return 1;
	}
	char fleet[2920];
	snprintf(fleet, sizeof(fleet), "%s/fleet", base);
	int f = open_private(b, base, "fleet", why, whylen);
	close(b);
	if (f < 0)
		return 1;
	d->fd = open_private(f, fleet, "eval", why, whylen);
	close(f);
	if (d->fd < 0)
		return 1;
	snprintf(d->path, sizeof(d->path), "%s/eval", fleet);
	if (load_key(d, why, whylen) < 0) {
		cache_dir_close(d);
		return 1;
	}
	return 0;
}

void cache_dir_close(struct cache_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	sodium_memzero(d->mac_key, sizeof(d->mac_key));
}

/* The MAC binds a file's content to its name: keyed BLAKE2b-256. */
static void mac_init(const struct cache_dir *d, crypto_generichash_state *st, const char *name)
{
	crypto_generichash_init(st, d->mac_key, sizeof(d->mac_key), CACHE_MAC_BYTES);
	crypto_generichash_update(st, (const uint8_t *)MAC_DOMAIN, sizeof(MAC_DOMAIN));
	crypto_generichash_update(st, (const uint8_t *)name, strlen(name) + 1);
}

int cache_file_read(const struct cache_dir *d, const char *name, struct fl_buf *out, size_t max)
{
	fl_buf_clear(out);
	int fd = openat(d->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_size < CACHE_MAC_BYTES || (size_t)st.st_size > max + CACHE_MAC_BYTES ||
	    fl_buf_grow(out, (size_t)st.st_size) < 0) {
		close(fd);
		fl_error_clear();
		return 1;
	}
	size_t want = (size_t)st.st_size;
	int rc = read_full(fd, out->ptr, want);
	close(fd);
	if (rc < 0)
		return 1;
	size_t len = want - CACHE_MAC_BYTES;
	uint8_t mac[CACHE_MAC_BYTES];
	crypto_generichash_state h;
	mac_init(d, &h, name);
	crypto_generichash_update(&h, (const uint8_t *)out->ptr, len);
	crypto_generichash_final(&h, mac, sizeof(mac));
	if (crypto_verify_32(mac, (const uint8_t *)out->ptr + len) != 0)
		return 1; /* not written by this user's fleet: a miss */
	out->len = len;
	out->ptr[len] = '\0';
	return 0;
}

int cache_file_write(const struct cache_dir *d, const char *name, const struct iovec *parts,
                     int nparts)
{
	char tmp[4200];
	int fd = create_temp(d->fd, name, tmp, sizeof(tmp));
	if (fd < 0)
		return fl_error_set_os("cannot create a file in %s", d->path);
	crypto_generichash_state h;
	uint8_t mac[CACHE_MAC_BYTES];
	mac_init(d, &h, name);
	int ok = 1;
	for (int i = 0; i < nparts && ok; i++) {
		crypto_generichash_update(&h, parts[i].iov_base, parts[i].iov_len);
		ok = write_full(fd, parts[i].iov_base, parts[i].iov_len) == 0;
	}
	crypto_generichash_final(&h, mac, sizeof(mac));
	ok = ok && write_full(fd, mac, sizeof(mac)) == 0;
	ok = close(fd) == 0 && ok;
	/* rename replaces NAME itself, whatever it is: nothing is written through it. */
	if (ok && renameat(d->fd, tmp, d->fd, name) == 0)
		return 0;
	int e = errno;
	unlinkat(d->fd, tmp, 0);
	errno = e;
	return fl_error_set_os("cannot write %s/%s", d->path, name);
}

int cache_hash_file(const char *path, uint8_t out[32])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 32);
	/* Never follow a link nor wait on a FIFO: a link is hashed as its target's name. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		char target[4096];
		ssize_t n = errno == ELOOP ? readlink(path, target, sizeof(target)) : -1;
		if (n < 0)
			return -1;
		crypto_generichash_update(&h, (const uint8_t *)"symlink", 8); /* with its NUL */
		crypto_generichash_update(&h, (const uint8_t *)target, (size_t)n);
		crypto_generichash_final(&h, out, 32);
		return 0;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	crypto_generichash_update(&h, (const uint8_t *)"file", 5);
	char chunk[16384];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		crypto_generichash_update(&h, (const uint8_t *)chunk, (size_t)r);
	}
	close(fd);
	crypto_generichash_final(&h, out, 32);
	return 0;
}
