#include "fleet/error.h"
#include "fleet/git.h"
#include "fleet/inventory.h"
#include "inventory/cache_dir.h"

#include <git2.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The libgit2 functions fleet uses. Where the build knows libgit2's soname they are
 * looked up on first use (dlopen), so commands that never need git never load it. */
#define GIT_FUNCTIONS(X)                                                                           \
	X(int, libgit2_init, (void))                                                               \
	X(const git_error *, error_last, (void))                                                   \
	X(int, repository_open_ext, (git_repository **, const char *, unsigned int, const char *)) \
	X(const char *, repository_workdir, (const git_repository *))                              \
	X(const char *, repository_path, (const git_repository *))                                 \
	X(void, repository_free, (git_repository *))                                               \
	X(int, repository_head, (git_reference **, git_repository *))                              \
	X(const char *, reference_name, (const git_reference *))                                   \
	X(int, reference_peel, (git_object **, const git_reference *, git_object_t))               \
	X(void, reference_free, (git_reference *))                                                 \
	X(const git_oid *, commit_tree_id, (const git_commit *))                                   \
	X(void, commit_free, (git_commit *))                                                       \
	X(int, status_options_init, (git_status_options *, unsigned int))                          \
	X(int, status_list_new,                                                                    \
	  (git_status_list **, git_repository *, const git_status_options *))                      \
	X(size_t, status_list_entrycount, (git_status_list *))                                     \
	X(const git_status_entry *, status_byindex, (git_status_list *, size_t))                   \
	X(void, status_list_free, (git_status_list *))                                             \
	X(int, repository_index, (git_index **, git_repository *))                                 \
	X(size_t, index_entrycount, (const git_index *))                                           \
	X(const git_index_entry *, index_get_byindex, (git_index *, size_t))                       \
	X(int, index_add_bypath, (git_index *, const char *))                                      \
	X(int, index_write, (git_index *))                                                         \
	X(void, index_free, (git_index *))

#ifdef FLEET_LIBGIT2_SONAME
#include <dlfcn.h>
static struct {
#define X(ret, name, args) ret(*name) args;
	GIT_FUNCTIONS(X)
#undef X
} api;
#define G(name) api.name
#else
#define G(name) git_##name
#endif

#if defined(FLEET_LIBGIT2_SONAME) && defined(__linux__)
/* Debian's libgit2 is built with mbedTLS and, when it starts (git_libgit2_init), parses
 * every system CA certificate: 10-30 ms, for HTTPS that fleet never does (it reads a
 * local repository's status and index), paid before Nix starts on every cache miss. The
 * fleet binary exports these two names (CMakeLists.txt), so the libgit2 it loads finds
 * them before mbedTLS's own and loads no certificate. Were libgit2 ever asked for an
 * HTTPS remote, verification would fail for want of a CA: closed, not open. */
int mbedtls_x509_crt_parse_file(void *chain, const char *path);
int mbedtls_x509_crt_parse_path(void *chain, const char *path);
int mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	(void)chain;
	(void)path;
	return 0;
}
int mbedtls_x509_crt_parse_path(void *chain, const char *path)
{
	(void)chain;
	(void)path;
	return 0;
}
#endif

static pthread_once_t git_once = PTHREAD_ONCE_INIT;
static int git_ready;
static char git_load_error[512];

static void git_init_once(void)
{
#ifdef FLEET_LIBGIT2_SONAME
	void *h = dlopen(FLEET_LIBGIT2_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(git_load_error, sizeof(git_load_error), "cannot load %s: %s",
		         FLEET_LIBGIT2_SONAME, dlerror());
		return;
	}
#define X(ret, name, args)                                                                         \
	if (!(*(void **)&api.name = dlsym(h, "git_" #name))) {                                     \
		snprintf(git_load_error, sizeof(git_load_error), "%s lacks git_%s",                \
		         FLEET_LIBGIT2_SONAME, #name);                                             \
		return;                                                                            \
	}
	GIT_FUNCTIONS(X)
#undef X
#endif
	G(libgit2_init)();
	git_ready = 1;
}

static int git_load(void)
{
	pthread_once(&git_once, git_init_once);
	return git_ready ? 0 : fl_error_set(FL_E_UNSUPPORTED, "%s", git_load_error);
}

/* A watch list is optional: NULL when the caller keeps no stamp. */
static int watch_add(struct fl_strv *w, const char *a, const char *b)
{
	return w ? fl_strv_add(w, a, b) : 0;
}

/* A work-tree file and every directory above it up to the work tree's root: a new file
 * changes its directory's mtime. */
static int watch_file(struct fl_strv *w, const char *workdir, const char *rel)
{
	if (!w)
		return 0;
	if (watch_add(w, workdir, rel) < 0)
		return -1;
	char *dir = strdup(rel);
	if (!dir)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
		*slash = '\0';
		if (watch_add(w, workdir, dir) < 0) {
			free(dir);
			return -1;
		}
	}
	free(dir);
	return 0;
}

static void hash_file(crypto_hash_sha256_state *h, const char *path)
{
	uint8_t d[32];
	if (cache_hash_file(path, d) < 0) {
		/* Unreadable or vanished: record that, not a stale digest. */
		crypto_hash_sha256_update(h, (const uint8_t *)"<unreadable>", 12);
		return;
	}
	crypto_hash_sha256_update(h, d, sizeof(d));
}

static int git_fail(const char *what)
{
	const git_error *e = G(error_last)();
	return fl_error_set(FL_E_INVALID, "%s: %s", what, e ? e->message : "unknown error");
}

int fl_git_state_digest(const char *dir, uint8_t digest[32], struct fl_strv *watch)
{
	if (git_load() < 0)
		return -1;
	git_repository *repo = NULL;
	if (G(repository_open_ext)(&repo, dir, 0, NULL) != 0)
		return 1;
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	int rc = -1;
	git_index *index = NULL;
	git_status_list *list = NULL;
	const char *workdir = G(repository_workdir)(repo), *gitdir = G(repository_path)(repo);
	if (!workdir) {
		rc = fl_error_set(FL_E_INVALID, "%s is in a bare git repository", dir);
		goto out;
	}
	/* A commit, a checkout or staging moves these. */
	if (watch_add(watch, gitdir, "HEAD") < 0 || watch_add(watch, gitdir, "index") < 0 ||
	    watch_add(watch, gitdir, "packed-refs") < 0)
		goto out;
	git_reference *head = NULL;
	git_commit *commit = NULL;
	if (G(repository_head)(&head, repo) == 0 &&
	    G(reference_peel)((git_object **)&commit, head, GIT_OBJECT_COMMIT) == 0) {
		const git_oid *tree = G(commit_tree_id)(commit);
		crypto_hash_sha256_update(&h, (const uint8_t *)"tree", 4);
		crypto_hash_sha256_update(&h, tree->id, GIT_OID_RAWSZ);
		if (watch_add(watch, gitdir, G(reference_name)(head)) < 0) {
			G(commit_free)(commit);
			G(reference_free)(head);
			goto out;
		}
	} else {
		crypto_hash_sha256_update(&h, (const uint8_t *)"unborn", 6);
	}
	G(commit_free)(commit);
	G(reference_free)(head);

	if (watch && watch_add(watch, workdir, "") < 0)
		goto out;
	if (watch) {
		if (G(repository_index)(&index, repo) != 0) {
			git_fail("cannot read the git index");
			goto out;
		}
		size_t n = G(index_entrycount)(index);
		for (size_t i = 0; i < n; i++)
			if (watch_file(watch, workdir, G(index_get_byindex)(index, i)->path) < 0)
				goto out;
	}

	git_status_options opts;
	G(status_options_init)(&opts, GIT_STATUS_OPTIONS_VERSION);
	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
	             GIT_STATUS_OPT_SORT_CASE_SENSITIVELY | GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (G(status_list_new)(&list, repo, &opts) != 0) {
		git_fail("git status failed");
		goto out;
	}
	size_t n = G(status_list_entrycount)(list);
	for (size_t i = 0; i < n; i++) {
		const git_status_entry *e = G(status_byindex)(list, i);
		const git_diff_delta *d =
		    e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
		if (!d)
			continue;
		const char *rel = d->new_file.path ? d->new_file.path : d->old_file.path;
		char status[16];
		snprintf(status, sizeof(status), "%u", (unsigned)e->status);
		crypto_hash_sha256_update(&h, (const uint8_t *)rel, strlen(rel) + 1);
		crypto_hash_sha256_update(&h, (const uint8_t *)status, strlen(status) + 1);
		if ((e->status & GIT_STATUS_WT_NEW) && watch_file(watch, workdir, rel) < 0)
			goto out;
		if (e->status & (GIT_STATUS_WT_DELETED | GIT_STATUS_INDEX_DELETED))
			continue;
		char path[8192];
		snprintf(path, sizeof(path), "%s%s", workdir, rel);
		hash_file(&h, path);
	}
	crypto_hash_sha256_final(&h, digest);
	rc = 0;
out:
	G(status_list_free)(list);
	G(index_free)(index);
	G(repository_free)(repo);
	return rc;
}

int fl_git_add(const char *const *paths, size_t n)
{
	if (n == 0)
		return 0;
	if (git_load() < 0)
		return -1;
	git_repository *repo = NULL;
	git_index *index = NULL;
	if (G(repository_open_ext)(&repo, paths[0], 0, NULL) != 0)
		return 1;
	int rc = -1;
	const char *workdir = G(repository_workdir)(repo);
	if (!workdir || G(repository_index)(&index, repo) != 0) {
		git_fail("git add failed");
		goto out;
	}
	size_t wl = strlen(workdir);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(paths[i], workdir, wl) != 0) {
			fl_error_set(FL_E_INVALID, "%s is outside the repository %s", paths[i],
			             workdir);
			goto out;
		}
		if (G(index_add_bypath)(index, paths[i] + wl) != 0) {
			git_fail("git add failed");
			goto out;
		}
	}
	if (G(index_write)(index) != 0) {
		git_fail("git add failed");
		goto out;
	}
	rc = 0;
out:
	G(index_free)(index);
	G(repository_free)(repo);
	return rc;
}
