/* Where sops looks for age identities (age/keysource.go), in the same places. */
#include "fleet/error.h"
#include "fleet/fileio.h"
#include "fleet/process.h"
#include "fleet/sops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static int load_text(struct fl_age_identities *ids, const char *text, size_t len,
                     const char *source, int split_spaces)
{
	struct fl_buf data = FL_BUF_SECRET;
	int rc = fl_buf_put(&data, text, len);
	/* sops: SOPS_AGE_KEY may hold several keys on one line. */
	for (size_t i = 0; rc == 0 && split_spaces && i < data.len; i++)
		if (data.ptr[i] == ' ' || data.ptr[i] == '\t' || data.ptr[i] == ',')
			data.ptr[i] = '\n';
	if (rc == 0)
		rc = fl_age_identities_parse_file(ids, data.ptr ? data.ptr : "", data.len, source,
		                                  NULL);
	fl_buf_free(&data);
	return rc;
}

static void note(struct fl_buf *searched, const char *what)
{
	if (searched)
		fl_buf_printf(searched, "%s%s", searched->len ? ", " : "", what);
}

int fl_sops_find_identities(struct fl_age_identities *ids, const struct fl_age_prompt *prompt,
                            struct fl_buf *searched)
{
	const char *home = getenv("HOME");
	char path[4096];
	const char *v;

	if ((v = getenv("SOPS_AGE_SSH_PRIVATE_KEY_FILE"))) {
		note(searched, v);
		if (fl_age_identities_load(ids, v, prompt) < 0)
			return fl_error_prefix("SOPS_AGE_SSH_PRIVATE_KEY_FILE: ");
	} else {
		note(searched, "SOPS_AGE_SSH_PRIVATE_KEY_FILE (unset)");
	}
	static const char *const ssh_keys[] = {"id_ed25519", "id_rsa"};
	for (size_t i = 0; home && i < 2; i++) {
		snprintf(path, sizeof(path), "%s/.ssh/%s", home, ssh_keys[i]);
		note(searched, path);
		if (exists(path) && fl_age_identities_load(ids, path, prompt) < 0)
			return -1;
	}
	if ((v = getenv("SOPS_AGE_KEY"))) {
		note(searched, "SOPS_AGE_KEY");
		if (load_text(ids, v, strlen(v), "SOPS_AGE_KEY", 1) < 0)
			return -1;
	} else {
		note(searched, "SOPS_AGE_KEY (unset)");
	}
	if ((v = getenv("SOPS_AGE_KEY_FILE"))) {
		note(searched, v);
		if (fl_age_identities_load(ids, v, NULL) < 0)
			return fl_error_prefix("SOPS_AGE_KEY_FILE: ");
	} else {
		note(searched, "SOPS_AGE_KEY_FILE (unset)");
	}
	if ((v = getenv("SOPS_AGE_KEY_CMD"))) {
		note(searched, "SOPS_AGE_KEY_CMD");
		char **argv = fl_argv_split(v);
		struct fl_buf out = FL_BUF_SECRET;
		int status = 0;
		int rc = argv ? fl_run_capture(argv, &out, NULL, &status) : -1;
		fl_argv_free(argv);
		if (rc == 0 && status != 0)
			rc = fl_error_set(FL_E_INVALID, "SOPS_AGE_KEY_CMD exited with status %d",
			                  status);
		if (rc == 0)
			rc = load_text(ids, out.ptr ? out.ptr : "", out.len, "SOPS_AGE_KEY_CMD", 0);
		fl_buf_free(&out);
		if (rc < 0)
			return -1;
	} else {
		note(searched, "SOPS_AGE_KEY_CMD (unset)");
	}
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (xdg && *xdg)
		snprintf(path, sizeof(path), "%s/sops/age/keys.txt", xdg);
	else if (home)
		snprintf(path, sizeof(path), "%s/.config/sops/age/keys.txt", home);
	else
		path[0] = '\0';
	if (path[0]) {
		note(searched, path);
		if (exists(path) && fl_age_identities_load(ids, path, NULL) < 0)
			return -1;
	}
	if (ids->n == 0)
		return fl_error_set(FL_E_NOTFOUND, "no age identity found; looked in: %s",
		                    searched && searched->ptr ? searched->ptr : "the usual places");
	return 0;
}
