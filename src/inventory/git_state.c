#include "fleet/error.h"
#include "fleet/fileio.h"
#include "fleet/git.h"

#include <git2.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t git_once = PTHREAD_ONCE_INIT;

static void git_init_once(void)
{
	git_libgit2_init();
}

static int hash_file(crypto_hash_sha256_state *h, const char *path)
{
	struct fl_buf data = FL_BUF_INIT;
	if (fl_read_file(path, &data, 64u << 20) < 0) {
		/* Unreadable or vanished: record that, not a stale digest. */
		fl_error_clear();
		crypto_hash_sha256_update(h, (const uint8_t *)"<unreadable>", 12);
		return 0;
	}
	uint8_t d[32];
	crypto_hash_sha256((uint8_t *)d, (const uint8_t *)(data.ptr ? data.ptr : ""), data.len);
	crypto_hash_sha256_update(h, d, sizeof(d));
	fl_buf_free(&data);
	return 0;
}

int fl_git_state_digest(const char *dir, uint8_t digest[32])
{
	pthread_once(&git_once, git_init_once);
	git_repository *repo = NULL;
	if (git_repository_open_ext(&repo, dir, 0, NULL) != 0)
		return 1;
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	int rc = -1;
	const char *workdir = git_repository_workdir(repo);
	if (!workdir) {
		rc = fl_error_set(FL_E_INVALID, "%s is in a bare git repository", dir);
		goto out;
	}
	git_reference *head = NULL;
	git_commit *commit = NULL;
	if (git_repository_head(&head, repo) == 0 &&
	    git_reference_peel((git_object **)&commit, head, GIT_OBJECT_COMMIT) == 0) {
		const git_oid *tree = git_commit_tree_id(commit);
		crypto_hash_sha256_update(&h, (const uint8_t *)"tree", 4);
		crypto_hash_sha256_update(&h, tree->id, GIT_OID_RAWSZ);
	} else {
		crypto_hash_sha256_update(&h, (const uint8_t *)"unborn", 6);
	}
	git_commit_free(commit);
	git_reference_free(head);

	git_status_options opts;
	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
	             GIT_STATUS_OPT_SORT_CASE_SENSITIVELY | GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	git_status_list *list = NULL;
	if (git_status_list_new(&list, repo, &opts) != 0) {
		const git_error *e = git_error_last();
		rc = fl_error_set(FL_E_INVALID, "git status of %s failed: %s", workdir,
		                  e ? e->message : "unknown error");
		goto out;
	}
	size_t n = git_status_list_entrycount(list);
	for (size_t i = 0; i < n; i++) {
		const git_status_entry *e = git_status_byindex(list, i);
		const git_diff_delta *d =
		    e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
		if (!d)
			continue;
		const char *rel = d->new_file.path ? d->new_file.path : d->old_file.path;
		char status[16];
		snprintf(status, sizeof(status), "%u", (unsigned)e->status);
		crypto_hash_sha256_update(&h, (const uint8_t *)rel, strlen(rel) + 1);
		crypto_hash_sha256_update(&h, (const uint8_t *)status, strlen(status) + 1);
		if (e->status & (GIT_STATUS_WT_DELETED | GIT_STATUS_INDEX_DELETED))
			continue;
		char path[8192];
		snprintf(path, sizeof(path), "%s%s", workdir, rel);
		hash_file(&h, path);
	}
	git_status_list_free(list);
	crypto_hash_sha256_final(&h, digest);
	rc = 0;
out:
	git_repository_free(repo);
	return rc;
}

int fl_git_add(const char *const *paths, size_t n)
{
	pthread_once(&git_once, git_init_once);
	if (n == 0)
		return 0;
	git_repository *repo = NULL;
	git_index *index = NULL;
	if (git_repository_open_ext(&repo, paths[0], 0, NULL) != 0)
		return 1;
	int rc = -1;
	const char *workdir = git_repository_workdir(repo);
	if (!workdir || git_repository_index(&index, repo) != 0)
		goto fail;
	size_t wl = strlen(workdir);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(paths[i], workdir, wl) != 0) {
			rc = fl_error_set(FL_E_INVALID, "%s is outside the repository %s", paths[i],
					  workdir);
			goto out;
		}
		if (git_index_add_bypath(index, paths[i] + wl) != 0)
			goto fail;
	}
	if (git_index_write(index) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	{
		const git_error *e = git_error_last();
		rc = fl_error_set(FL_E_INVALID, "git add failed: %s", e ? e->message : "unknown error");
	}
out:
	git_index_free(index);
	git_repository_free(repo);
	return rc;
}
