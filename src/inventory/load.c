/* One evaluation of FLAKE#fleet per flake state: the result is cached under a key made
 * of the flake's content, the Nix binary and the schema version (docs/cache.md). */
#include "fleet/error.h"
#include "fleet/fileio.h"
#include "fleet/git.h"
#include "fleet/inventory.h"
#include "inventory/snapshot.h"

#include <dirent.h>
#include <pthread.h>
#include <time.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
	return fl_buf_printf(b, "%lld %ld %lld %llu %s\n", (long long)st.st_mtim.tv_sec,
	                     (long)st.st_mtim.tv_nsec, (long long)st.st_size,
	                     (unsigned long long)st.st_ino, path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void stamp_write(const char *path, const char *key, struct fl_strv *watch)
{
	struct fl_buf b = FL_BUF_INIT;
	qsort(watch->v, watch->n, sizeof(char *), cmp_str);
	fl_buf_printf(&b, "fleet-stamp 1\nkey %s\nwritten %lld\n", key, (long long)time(NULL));
	for (size_t i = 0; i < watch->n; i++) {
		if (i && strcmp(watch->v[i], watch->v[i - 1]) == 0)
			continue;
		if (stat_line(&b, watch->v[i]) < 0) {
			fl_buf_free(&b);
			return;
		}
	}
	if (fl_write_cache_file(path, b.ptr, b.len) < 0)
		fl_error_clear();
	fl_buf_free(&b);
}

/* Returns 1 and the key if every watched file is as the stamp says; 2 if they are but
 * some changed too close to the stamp to be trusted; 0 if there is no stamp or a file
 * changed (a miss is then likely). */
static int stamp_check(const char *path, char key[65])
{
	struct fl_buf b = FL_BUF_INIT, want = FL_BUF_INIT;
	long long written = 0;
	int ok = 0, racy = 0;
	if (fl_read_file(path, &b, 64u << 20) < 0) {
		fl_error_clear();
		return 0;
	}
	char *line = b.ptr;
	if (!line || strncmp(line, "fleet-stamp 1\n", 14) != 0 ||
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
		/* Racy: a file changed within a second of the stamp may change again unseen. */
		if (line[0] != '-' && atoll(line) >= written - 1)
			racy = 1;
		line = nl + 1;
	}
	ok = racy ? 2 : 1;
out:
	fl_buf_free(&want);
	fl_buf_free(&b);
	return ok;
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

/* path is the core part; path with ".gen" appended holds the generators. */
static int read_snapshot(const char *path, int want_generators, struct fl_inventory *out)
{
	struct fl_buf data = FL_BUF_INIT, gens = FL_BUF_INIT;
	char gpath[4200];
	int rc = fl_read_file(path, &data, 1u << 30);
	if (rc == 0 && data.ptr) {
		rc = inventory_snapshot_read(data.ptr, data.len, out);
		if (rc == 0)
			data.ptr = NULL; /* now the inventory's arena */
	} else {
		rc = -1;
	}
	if (rc == 0 && want_generators) {
		snprintf(gpath, sizeof(gpath), "%s.gen", path);
		rc = fl_read_file(gpath, &gens, 1u << 30);
		if (rc == 0 && gens.ptr &&
		    inventory_snapshot_read_generators(gens.ptr, gens.len, out) == 0)
			gens.ptr = NULL;
		else {
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

struct key_job {
	const char *flake;
	const struct fl_nix *nix;
	char key[65];
	struct fl_strv watch;
	int rc;
	struct fl_error err;
};

static void *key_job_run(void *arg)
{
	struct key_job *j = arg;
	j->rc = cache_key(j->flake, j->nix, j->key, &j->watch);
	if (j->rc < 0)
		j->err = *fl_error_last();
	return NULL;
}

/* The fingerprint beside Nix, in a thread of its own that waits its turn: it has the
 * whole evaluation to finish in, and Nix's time is the user's. */
static void *key_job_thread(void *arg)
{
#ifdef __linux__
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19); /* this thread only */
#endif
	return key_job_run(arg);
}

static void store(const char *cache_path, const struct fl_inventory *inv)
{
	struct fl_buf snap = FL_BUF_INIT;
	struct iovec gens[2];
	char gpath[4200];
	snprintf(gpath, sizeof(gpath), "%s.gen", cache_path);
	inventory_snapshot_generators(inv, gens);
	/* Generators first: a core part is only trusted with its generators beside it. */
	if (inventory_snapshot_write(inv, &snap) < 0 || fl_write_cache_filev(gpath, gens, 2) < 0 ||
	    fl_write_cache_file(cache_path, snap.ptr, snap.len) < 0)
		fl_error_clear(); /* a cache that cannot be written is only slower */
	fl_buf_free(&snap);
}

int fl_inventory_load(struct fl_inventory_load *ld, struct fl_inventory *out)
{
	char dir[3000], stamp[3200], id[65];
	struct key_job job = {.flake = ld->flake, .nix = ld->nix};
	ld->cache_hit = 0;
	ld->cache_path[0] = '\0';
	if (ld->no_cache || cache_dir(dir, sizeof(dir)) < 0 || stamp_id(ld->flake, ld->nix, id) < 0)
		return evaluate(ld, out);
	snprintf(stamp, sizeof(stamp), "%s/%s.stamp", dir, id);
	/* Quick path: nothing the key depends on moved since the last run. */
	int st = stamp_check(stamp, job.key);
	if (st == 1) {
		snprintf(ld->cache_path, sizeof(ld->cache_path), "%s/%s.snap", dir, job.key);
		if (read_snapshot(ld->cache_path, ld->want_generators, out) == 0) {
			ld->cache_hit = 1;
			return 0;
		}
	}
	int rc;
	if (st == 0) {
		/* A file changed (or this flake is new here): the answer is almost surely not
		 * cached, so fingerprint the flake while Nix evaluates it. */
		pthread_t t;
		int threaded = pthread_create(&t, NULL, key_job_thread, &job) == 0;
		if (!threaded)
			key_job_run(&job);
		rc = evaluate(ld, out);
		if (threaded)
			pthread_join(t, NULL);
		if (rc < 0) {
			fl_strv_free(&job.watch);
			return -1;
		}
		if (job.rc == 0) {
			snprintf(ld->cache_path, sizeof(ld->cache_path), "%s/%s.snap", dir,
			         job.key);
			store(ld->cache_path, out);
		}
	} else {
		/* The files look unchanged: fingerprint first, Nix only if needed. */
		key_job_run(&job);
		if (job.rc < 0) {
			fl_error_set(job.err.klass, "%s", job.err.message);
			fl_strv_free(&job.watch);
			return -1;
		}
		if (job.rc == 0) {
			snprintf(ld->cache_path, sizeof(ld->cache_path), "%s/%s.snap", dir,
			         job.key);
			if (read_snapshot(ld->cache_path, ld->want_generators, out) == 0) {
				ld->cache_hit = 1;
			} else {
				if (evaluate(ld, out) < 0) {
					fl_strv_free(&job.watch);
					return -1;
				}
				store(ld->cache_path, out);
			}
		} else if (evaluate(ld, out) < 0) { /* 1: too large to fingerprint */
			fl_strv_free(&job.watch);
			return -1;
		}
	}
	if (job.rc == 0 && job.watch.n)
		stamp_write(stamp, job.key, &job.watch);
	fl_strv_free(&job.watch);
	return 0;
}
