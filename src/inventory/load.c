/* One evaluation of FLAKE#fleet per flake state: the result is cached under a key made
 * of the flake's content, the Nix binary and the schema version (docs/cache.md). The
 * key is taken before Nix starts and taken again after it exits; the result is stored
 * only when both agree, so a file changed while Nix read the flake is never cached
 * under a key that does not describe what Nix read. */
#include "fleet/error.h"
#include "fleet/git.h"
#include "fleet/inventory.h"
#include "inventory/cache_dir.h"
#include "inventory/snapshot.h"

#include <dirent.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Nanosecond timestamps: POSIX names them st_mtim, macOS st_mtimespec. */
#ifdef __APPLE__
#define ST_MTIM(st) ((st).st_mtimespec)
#define ST_CTIM(st) ((st).st_ctimespec)
#else
#define ST_MTIM(st) ((st).st_mtim)
#define ST_CTIM(st) ((st).st_ctim)
#endif

#define CACHE_VERSION "fleet-eval-cache-2"
#define MAX_PLAIN_FILES 20000

static void feed(crypto_hash_sha256_state *h, const char *s)
{
	crypto_hash_sha256_update(h, (const uint8_t *)s, strlen(s) + 1);
}

/* The Nix that would run, identified without running it (a cache hit runs no nix). */
static int nix_identity(const struct fl_nix *nx, crypto_hash_sha256_state *h)
{
	char found[PATH_MAX] = "";
	if (strchr(nx->bin, '/')) {
		snprintf(found, sizeof(found), "%s", nx->bin);
	} else {
		const char *path = getenv("PATH");
		char *copy = strdup(path ? path : "/usr/bin:/bin");
		if (!copy)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		for (char *dir = strtok(copy, ":"); dir && !found[0]; dir = strtok(NULL, ":")) {
			char cand[PATH_MAX];
			snprintf(cand, sizeof(cand), "%s/%s", *dir ? dir : ".", nx->bin);
			if (access(cand, X_OK) == 0)
				snprintf(found, sizeof(found), "%s", cand);
		}
		free(copy);
	}
	char real[PATH_MAX];
	struct stat st;
	if (!found[0] || !realpath(found, real) || stat(real, &st) != 0) {
		feed(h, "nix-not-found");
		return 0;
	}
	char id[PATH_MAX + 128];
	snprintf(id, sizeof(id), "%s|%lld|%lld|%lld", real, (long long)st.st_size,
	         (long long)st.st_mtime, (long long)st.st_ino);
	feed(h, id);
	/* The options passed to nix change what it evaluates. */
	for (size_t i = 0; i < nx->noptions; i++)
		feed(h, nx->options[i]);
	feed(h, getenv("NIX_CONFIG") ? getenv("NIX_CONFIG") : "");
	return 0;
}

static int watch_add(struct fl_strv *w, const char *path)
{
	return w ? fl_strv_add(w, path, "") : 0;
}

/* Byte order, whatever the locale: the key must not depend on it. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* A flake outside git: Nix copies the whole directory, so every entry counts — its
 * type, name and content (a symbolic link by its target), depth first in name order.
 * Returns 1 when there are too many entries to fingerprint (no caching). watch gets
 * every path, for the stamp. */
static int hash_tree(crypto_hash_sha256_state *h, const char *dir, size_t *count,
                     struct fl_strv *watch)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, by_name);
	if (n < 0)
		return fl_error_set_os("cannot read %s", dir);
	int rc = watch_add(watch, dir);
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char path[PATH_MAX];
		struct stat st;
		uint8_t d[32];
		if (rc != 0 || !strcmp(name, ".") || !strcmp(name, "..")) {
			free(ents[i]);
			continue;
		}
		if (++*count > MAX_PLAIN_FILES ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
			rc = 1;
		} else if (lstat(path, &st) < 0) {
			feed(h, "vanished");
			feed(h, name);
		} else if (S_ISDIR(st.st_mode)) {
			feed(h, "dir");
			feed(h, name);
			rc = hash_tree(h, path, count, watch);
			feed(h, "end");
		} else {
			feed(h, S_ISLNK(st.st_mode)                            ? "link"
			        : !S_ISREG(st.st_mode)                         ? "special"
			        : (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) ? "executable"
			                                                       : "file");
			feed(h, name);
			if ((S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) &&
			    cache_hash_file(path, d) == 0)
				crypto_hash_sha256_update(h, d, sizeof(d));
			else
				feed(h, "unread");
			rc = watch_add(watch, path);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

/* Returns 0 and the key, 1 if the flake is too large to fingerprint, -1 on error. */
static int cache_key(const char *flake, const struct fl_nix *nix, char hex[65],
                     struct fl_strv *watch)
{
	crypto_hash_sha256_state h;
	if (sodium_init() < 0)
		return fl_error_set(FL_E_CRYPTO, "libsodium failed to initialise");
	crypto_hash_sha256_init(&h);
	char schema[16];
	snprintf(schema, sizeof(schema), "%d", FL_SCHEMA_VERSION);
	feed(&h, CACHE_VERSION);
	feed(&h, schema);
	feed(&h, flake);
	if (nix_identity(nix, &h) < 0)
		return -1;
	uint8_t digest[32];
	int rc = fl_git_state_digest(flake, digest, watch);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		feed(&h, "git");
		crypto_hash_sha256_update(&h, digest, sizeof(digest));
	} else {
		size_t count = 0;
		feed(&h, "tree");
		rc = hash_tree(&h, flake, &count, watch);
		if (rc != 0)
			return rc;
	}
	/* flake.lock pins the inputs: covered by the tree, but spelled out for clarity. */
	char lock[PATH_MAX + 16];
	snprintf(lock, sizeof(lock), "%s/flake.lock", flake);
	if (cache_hash_file(lock, digest) == 0)
		crypto_hash_sha256_update(&h, digest, sizeof(digest));
	crypto_hash_sha256_final(&h, digest);
	sodium_bin2hex(hex, 65, digest, sizeof(digest));
	return 0;
}

/* The stamp of a flake: which content key its files had the last time, and the stat
 * data of every file that could change it. When none changed, the key is known without
 * loading libgit2 or reading a file. */
static int stamp_id(const char *flake, const struct fl_nix *nix, char hex[65])
{
	crypto_hash_sha256_state h;
	uint8_t d[32];
	crypto_hash_sha256_init(&h);
	feed(&h, CACHE_VERSION "-stamp");
	feed(&h, flake);
	if (nix_identity(nix, &h) < 0)
		return -1;
	crypto_hash_sha256_final(&h, d);
	sodium_bin2hex(hex, 65, d, sizeof(d));
	return 0;
}

static int stat_line(struct fl_buf *b, const char *path)
{
	struct stat st;
	if (strchr(path, '\n'))
		return -1; /* cannot be written down: no stamp */
	if (lstat(path, &st) != 0)
		return fl_buf_printf(b, "- %s\n", path);
	/* ctime too: it cannot be set back (touch -d sets only mtime and atime). */
	return fl_buf_printf(b, "%lld %ld %lld %ld %lld %llu %s\n", (long long)ST_MTIM(st).tv_sec,
	                     (long)ST_MTIM(st).tv_nsec, (long long)ST_CTIM(st).tv_sec,
	                     (long)ST_CTIM(st).tv_nsec, (long long)st.st_size,
	                     (unsigned long long)st.st_ino, path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The stamp's text: the key and the stat data of the watched files as they are now,
 * taken when the key was (before Nix runs), so a later change shows. -1: no stamp. */
static int stamp_build(struct fl_buf *b, const char *key, struct fl_strv *watch)
{
	qsort(watch->v, watch->n, sizeof(char *), cmp_str);
	if (fl_buf_printf(b, "fleet-stamp 2\nkey %s\nwritten %lld\n", key, (long long)time(NULL)) <
	    0)
		return -1;
	for (size_t i = 0; i < watch->n; i++) {
		if (i && strcmp(watch->v[i], watch->v[i - 1]) == 0)
			continue;
		if (stat_line(b, watch->v[i]) < 0)
			return -1;
	}
	return 0;
}

/* Returns 1 and the key if every watched file is as the stamp says; 2 if they are but
 * some changed too close to the stamp to be trusted; 0 if there is no stamp or a file
 * changed (a miss is then likely). */
static int stamp_check(const struct cache_dir *dir, const char *name, char key[65])
{
	struct fl_buf b = FL_BUF_INIT, want = FL_BUF_INIT;
	long long written = 0;
	int ok = 0, racy = 0;
	if (cache_file_read(dir, name, &b, 64u << 20) != 0) {
		fl_buf_free(&b);
		return 0;
	}
	char *line = b.ptr;
	if (!line || strncmp(line, "fleet-stamp 2\n", 14) != 0 ||
	    sscanf(line + 14, "key %64s\nwritten %lld\n", key, &written) != 2 || strlen(key) != 64)
		goto out;
	for (int skip = 0; skip < 3 && line; skip++)
		line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL;
	while (line && *line) {
		char *nl = strchr(line, '\n');
		if (!nl)
			goto out;
		*nl = '\0';
		const char *p = line[0] == '-' ? line + 2 : strchr(line, '/');
		if (!p)
			goto out;
		fl_buf_clear(&want);
		if (stat_line(&want, p) < 0 || want.len != (size_t)(nl - line) + 1 ||
		    memcmp(want.ptr, line, want.len - 1) != 0)
			goto out; /* changed */
		/* Racy: a file changed within a second of the stamp may change again unseen
		 * (same size and timestamps): its content must be read again. */
		long long mtime = 0, ctime = 0;
		long ns = 0;
		if (line[0] != '-' && (sscanf(line, "%lld %ld %lld", &mtime, &ns, &ctime) != 3 ||
		                       mtime >= written - 1 || ctime >= written - 1))
			racy = 1;
		line = nl + 1;
	}
	ok = racy ? 2 : 1;
out:
	fl_buf_free(&want);
	fl_buf_free(&b);
	return ok;
}

/* <key>.snap is the core part; <key>.snap.gen holds the generators. */
static int read_snapshot(const struct cache_dir *dir, const char *key, int want_generators,
                         struct fl_inventory *out)
{
	struct fl_buf data = FL_BUF_INIT, gens = FL_BUF_INIT;
	char name[128];
	snprintf(name, sizeof(name), "%s.snap", key);
	int rc = -1;
	if (cache_file_read(dir, name, &data, 1u << 30) == 0) {
		rc = inventory_snapshot_read(data.ptr, data.len, out);
		if (rc == 0)
			data.ptr = NULL; /* now the inventory's arena */
	}
	if (rc == 0 && want_generators) {
		snprintf(name, sizeof(name), "%s.snap.gen", key);
		if (cache_file_read(dir, name, &gens, 1u << 30) == 0 &&
		    inventory_snapshot_read_generators(gens.ptr, gens.len, out) == 0) {
			gens.ptr = NULL;
		} else {
			rc = -1;
			fl_inventory_free(out);
		}
	}
	fl_buf_free(&data);
	fl_buf_free(&gens);
	if (rc < 0)
		fl_error_clear(); /* a missing or damaged entry is a miss */
	return rc;
}

static void store(const struct cache_dir *dir, const char *key, const struct fl_inventory *inv)
{
	struct fl_buf snap = FL_BUF_INIT;
	struct iovec gens[2], core;
	char name[128];
	inventory_snapshot_generators(inv, gens);
	/* Generators first: a core part is only trusted with its generators beside it. */
	snprintf(name, sizeof(name), "%s.snap.gen", key);
	if (inventory_snapshot_write(inv, &snap) < 0 || cache_file_write(dir, name, gens, 2) < 0) {
		fl_error_clear(); /* a cache that cannot be written is only slower */
		fl_buf_free(&snap);
		return;
	}
	snprintf(name, sizeof(name), "%s.snap", key);
	core.iov_base = snap.ptr;
	core.iov_len = snap.len;
	if (cache_file_write(dir, name, &core, 1) < 0)
		fl_error_clear();
	fl_buf_free(&snap);
}

static int parse_as_it_comes(void *ctx, const char *data, size_t len, const struct fl_jsource *rest)
{
	if (fl_jdoc_parse_stream(data, len, rest, inventory_skip_path(), ctx) < 0)
		return fl_error_prefix("fleet output: bad ");
	return 0;
}

/* Nix evaluates while its output is parsed: what is left when it exits is small. */
static int evaluate(struct fl_inventory_load *ld, struct fl_inventory *out)
{
	struct fl_buf json = FL_BUF_INIT;
	struct fl_jdoc doc = {0};
	if (fl_nix_eval_json_stream(ld->nix, ld->flake, "fleet", parse_as_it_comes, &doc, &json) <
	    0) {
		if (doc.root)
			fl_jdoc_free(&doc);
		fl_buf_free(&json);
		return -1;
	}
	struct fl_jdoc *d = malloc(sizeof(*d));
	if (!d) {
		fl_jdoc_free(&doc);
		fl_buf_free(&json);
		return fl_error_set(FL_E_NOMEM, "out of memory");
	}
	*d = doc;
	d->input = fl_buf_detach(&json);
	return inventory_read_doc(d, out);
}

/* The cached answer for key: 1 on a hit, 0 on a miss. */
static int hit(struct fl_inventory_load *ld, const struct cache_dir *dir, const char *key,
               struct fl_inventory *out)
{
	if (read_snapshot(dir, key, ld->want_generators, out) < 0)
		return 0;
	snprintf(ld->cache_path, sizeof(ld->cache_path), "%s/%s.snap", dir->path, key);
	ld->cache_hit = 1;
	return 1;
}

static void write_stamp(const struct cache_dir *dir, const char *name, const struct fl_buf *stamp)
{
	struct iovec part = {stamp->ptr, stamp->len};
	if (stamp->len && cache_file_write(dir, name, &part, 1) < 0)
		fl_error_clear();
}

int fl_inventory_load(struct fl_inventory_load *ld, struct fl_inventory *out)
{
	struct cache_dir dir;
	char stamp[128], id[65], key[65], after[65];
	struct fl_strv watch = {0};
	struct fl_buf stamp_text = FL_BUF_INIT;
	ld->cache_hit = 0;
	ld->cache_path[0] = '\0';
	ld->cache_warning[0] = '\0';
	if (ld->no_cache)
		return evaluate(ld, out);
	char why[1200];
	if (cache_dir_open(&dir, why, sizeof(why)) != 0) {
		if (why[0])
			snprintf(ld->cache_warning, sizeof(ld->cache_warning),
			         "not using the evaluation cache: %s", why);
		return evaluate(ld, out);
	}
	int rc = stamp_id(ld->flake, ld->nix, id);
	if (rc < 0)
		goto uncached;
	snprintf(stamp, sizeof(stamp), "%s.stamp", id);
	/* Quick path: nothing the key depends on moved since the last run. */
	if (stamp_check(&dir, stamp, key) == 1 && hit(ld, &dir, key, out))
		goto done;
	/* The key, taken before Nix starts: what Nix is about to read. */
	rc = cache_key(ld->flake, ld->nix, key, &watch);
	if (rc < 0) {
		snprintf(ld->cache_warning, sizeof(ld->cache_warning),
		         "cannot fingerprint the flake, so the evaluation cache is not used: %s",
		         fl_error_last()->message);
		fl_error_clear();
		goto uncached;
	}
	if (rc == 1)
		goto uncached; /* too large to fingerprint */
	if (stamp_build(&stamp_text, key, &watch) < 0)
		fl_buf_clear(&stamp_text);
	if (hit(ld, &dir, key, out)) {
		write_stamp(&dir, stamp, &stamp_text);
		goto done;
	}
	rc = evaluate(ld, out);
	if (rc < 0)
		goto done;
	/* The key again, after Nix exited: stored only if nothing moved meanwhile. */
	if (cache_key(ld->flake, ld->nix, after, NULL) == 0 && strcmp(key, after) == 0) {
		store(&dir, key, out);
		write_stamp(&dir, stamp, &stamp_text);
		snprintf(ld->cache_path, sizeof(ld->cache_path), "%s/%s.snap", dir.path, key);
	}
	fl_error_clear();
	goto done;
uncached:
	rc = evaluate(ld, out);
done:
	fl_strv_free(&watch);
	fl_buf_free(&stamp_text);
	cache_dir_close(&dir);
	return rc;
}
