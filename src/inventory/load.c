/* One evaluation of FLAKE#fleet per flake state: the result is cached under a key made
 * of the flake's content, the Nix binary and the schema version (docs/cache.md). */
#include "fleet/error.h"
#include "fleet/fileio.h"
#include "fleet/git.h"
#include "fleet/inventory.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_VERSION "fleet-eval-cache-1"
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

/* A flake outside git: every file's path and content (bounded). */
static int hash_tree(crypto_hash_sha256_state *h, const char *dir, size_t *count)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return fl_error_set_os("cannot read %s", dir);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char path[PATH_MAX];
		struct stat st;
		if (rc == 0 && strcmp(name, ".") && strcmp(name, "..") && strcmp(name, ".git") &&
		    strncmp(name, "result", 6) != 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			if (lstat(path, &st) == 0) {
				if (++*count > MAX_PLAIN_FILES) {
					rc = 1;
				} else if (S_ISDIR(st.st_mode)) {
					feed(h, name);
					rc = hash_tree(h, path, count);
				} else if (S_ISREG(st.st_mode)) {
					struct fl_buf data = FL_BUF_INIT;
					feed(h, name);
					if (fl_read_file(path, &data, 64u << 20) == 0)
						crypto_hash_sha256_update(
						    h, (const uint8_t *)(data.ptr ? data.ptr : ""),
						    data.len);
					fl_error_clear();
					fl_buf_free(&data);
				}
			}
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int fl_inventory_cache_key(const char *flake, const struct fl_nix *nix, char hex[65])
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
	int rc = fl_git_state_digest(flake, digest);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		feed(&h, "git");
		crypto_hash_sha256_update(&h, digest, sizeof(digest));
	} else {
		size_t count = 0;
		feed(&h, "tree");
		rc = hash_tree(&h, flake, &count);
		if (rc != 0)
			return rc < 0 ? -1 : 1; /* too large to hash: no caching */
	}
	/* flake.lock pins the inputs: covered by the tree, but spelled out for clarity. */
	char lock[PATH_MAX + 16];
	struct fl_buf data = FL_BUF_INIT;
	snprintf(lock, sizeof(lock), "%s/flake.lock", flake);
	if (fl_read_file(lock, &data, 16u << 20) == 0)
		crypto_hash_sha256_update(&h, (const uint8_t *)(data.ptr ? data.ptr : ""),
		                          data.len);
	fl_error_clear();
	fl_buf_free(&data);
	crypto_hash_sha256_final(&h, digest);
	sodium_bin2hex(hex, 65, digest, sizeof(digest));
	return 0;
}

static int cache_dir(char *out, size_t cap)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(out, cap, "%s/fleet/eval", xdg);
	else if (home && *home)
		snprintf(out, cap, "%s/.cache/fleet/eval", home);
	else
		return -1;
	/* mkdir -p, 0700: evaluation results may name hosts and users. */
	for (char *p = out + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(out, 0700);
		*p = '/';
	}
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int fl_inventory_load(struct fl_inventory_load *ld, struct fl_inventory *out)
{
	char hex[65], dir[3000];
	ld->cache_hit = 0;
	ld->cache_path[0] = '\0';
	int cacheable = !ld->no_cache && cache_dir(dir, sizeof(dir)) == 0;
	if (cacheable) {
		int rc = fl_inventory_cache_key(ld->flake, ld->nix, hex);
		if (rc < 0)
			return -1;
		cacheable = rc == 0;
	}
	if (cacheable) {
		snprintf(ld->cache_path, sizeof(ld->cache_path), "%s/%s.json", dir, hex);
		struct fl_buf data = FL_BUF_INIT;
		if (fl_read_file(ld->cache_path, &data, 1u << 30) == 0 &&
		    fl_inventory_parse(data.ptr ? data.ptr : "", data.len, out) == 0) {
			fl_buf_free(&data);
			ld->cache_hit = 1;
			return 0;
		}
		/* A missing or unreadable entry is a miss. */
		fl_error_clear();
		fl_buf_free(&data);
	}
	struct fl_buf json = FL_BUF_INIT;
	if (fl_nix_eval_json(ld->nix, ld->flake, "fleet", &json) < 0) {
		fl_buf_free(&json);
		return -1;
	}
	if (fl_inventory_parse(json.ptr ? json.ptr : "", json.len, out) < 0) {
		fl_buf_free(&json);
		return -1;
	}
	if (cacheable && fl_write_file_atomic(ld->cache_path, json.ptr, json.len, 0600, 0) < 0)
		fl_error_clear(); /* a cache that cannot be written is only slower */
	fl_buf_free(&json);
	return 0;
}
