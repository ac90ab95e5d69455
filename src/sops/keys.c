/* Where sops looks for age identities (age/keysource.go), in the same places. */
#include "fleet/error.h"
#include "fleet/fileio.h"
#include "fleet/process.h"
#include "fleet/shlex.h"
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

/* One run of SOPS_AGE_KEY_CMD (or SOPS_AGE_SSH_PRIVATE_KEY_CMD: `var`), with
 * SOPS_AGE_RECIPIENT set when recipient is given. */
static int run_key_cmd_once(struct fl_age_identities *ids, char **argv, const char *recipient,
                            const char *var)
{
	/* sops passes the recipient in the environment of the command only; the library
	 * is single-threaded here, so it is set around the spawn and restored after. */
	char *saved = getenv("SOPS_AGE_RECIPIENT");
	saved = saved ? strdup(saved) : NULL;
	if (recipient)
		setenv("SOPS_AGE_RECIPIENT", recipient, 1);
	struct fl_buf out = FL_BUF_SECRET;
	int status = 0;
	int timeout = FL_SOPS_KEY_CMD_TIMEOUT;
	const char *t = getenv("FLEET_SOPS_KEY_CMD_TIMEOUT");
	if (t && atoi(t) > 0)
		timeout = atoi(t);
	/* sops lets the command use the terminal (age and pass ask for passphrases there). */
	int rc = fl_run_capture_tty(argv, timeout, &out, &status);
	if (saved)
		setenv("SOPS_AGE_RECIPIENT", saved, 1);
	else
		unsetenv("SOPS_AGE_RECIPIENT");
	free(saved);
	if (rc < 0)
		fl_error_prefix("%s: ", var);
	else if (status != 0)
		rc = fl_error_set(FL_E_INVALID, "%s (%s) exited with status %d", var, argv[0],
		                  status);
	/* sops: one identity per line (no several keys on a line, unlike SOPS_AGE_KEY); an
	 * SSH key from SOPS_AGE_SSH_PRIVATE_KEY_CMD cannot ask for a passphrase. */
	if (rc == 0)
		rc = load_text(ids, out.ptr ? out.ptr : "", out.len, var, 0);
	fl_buf_free(&out);
	return rc;
}

/* Whether an identity from index `from` on is one of group g's age recipients. */
static int opens_group(const struct fl_age_identities *ids, size_t from,
                       const struct fl_sops_key_group *g)
{
	int hit = 0;
	for (size_t i = from; !hit && i < ids->n; i++) {
		struct fl_buf r = FL_BUF_INIT;
		if (fl_age_identity_to_recipient(ids->v[i], &r) == 0)
			for (size_t j = 0; !hit && j < g->nage; j++)
				hit = !strcmp(r.ptr, g->age[j].recipient);
		fl_buf_free(&r);
	}
	return hit;
}

/* sops (age/keysource.go) splits the command with shlex, runs it without a shell,
 * once per age recipient of the file with SOPS_AGE_RECIPIENT naming it. */
static int run_key_cmd(struct fl_age_identities *ids, const char *cmd, const struct fl_sops_file *f,
                       const char *var)
{
	char **argv = fl_shlex_split(cmd, var);
	if (!argv)
		return -1;
	int rc = 0;
	size_t nage = 0, ng = f ? f->md.ngroups : 0;
	for (size_t g = 0; g < ng; g++)
		nage += f->md.groups[g].nage;
	if (nage == 0)
		rc = run_key_cmd_once(ids, argv, NULL, var);
	/* sops stops, in each key group, at the first recipient whose key it gets (one
	 * group opened is the data key; several are its Shamir shares): so do we. */
	for (size_t g = 0; rc == 0 && g < ng; g++) {
		const struct fl_sops_key_group *kg = &f->md.groups[g];
		for (size_t i = 0; rc == 0 && i < kg->nage; i++) {
			size_t before = ids->n;
			rc = run_key_cmd_once(ids, argv, kg->age[i].recipient, var);
			if (rc == 0 && opens_group(ids, before, kg))
				break;
		}
	}
	fl_argv_free(argv);
	return rc;
}

int fl_sops_find_identities(struct fl_age_identities *ids, const struct fl_sops_file *f,
                            const struct fl_age_prompt *prompt, struct fl_buf *searched)
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
	if ((v = getenv("SOPS_AGE_SSH_PRIVATE_KEY_CMD"))) {
		note(searched, "SOPS_AGE_SSH_PRIVATE_KEY_CMD");
		if (run_key_cmd(ids, v, f, "SOPS_AGE_SSH_PRIVATE_KEY_CMD") < 0)
			return -1;
	} else {
		note(searched, "SOPS_AGE_SSH_PRIVATE_KEY_CMD (unset)");
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
		if (run_key_cmd(ids, v, f, "SOPS_AGE_KEY_CMD") < 0)
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
