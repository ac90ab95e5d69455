#include "fleet/nix.h"
#include "fleet/error.h"
#include "fleet/process.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fl_nix_init(struct fl_nix *nx)
{
	memset(nx, 0, sizeof(*nx));
	const char *bin = getenv("FLEET_NIX");
	nx->bin = bin && *bin ? bin : "nix";
}

static int is_noise(const char *line, size_t n)
{
	/* Nix warnings and progress lines say nothing about the failure. */
	static const char *const prefixes[] = {"warning:", "building '",      "copying path",
	                                       "these ",   "this derivation", "evaluating",
	                                       "unpacking"};
	while (n && (*line == ' ' || *line == '\t'))
		line++, n--;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (n >= strlen(prefixes[i]) &&
		    strncmp(line, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

void fl_nix_trim_error(const char *text, struct fl_buf *out)
{
	const char *start = strstr(text, "error:");
	if (!start) {
		/* No error line: keep the tail, minus noise. */
		start = text;
	} else {
		while (start > text && start[-1] != '\n')
			start--;
	}
	size_t kept = 0;
	for (const char *p = start; *p && kept < 40;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n && !is_noise(p, n)) {
			fl_buf_put(out, p, n);
			fl_buf_putc(out, '\n');
			kept++;
		}
		p = nl ? nl + 1 : p + n;
	}
	while (out->len && out->ptr[out->len - 1] == '\n')
		fl_buf_truncate(out, out->len - 1);
}

static const char **nix_argv(const struct fl_nix *nx, const char *const *args)
{
	size_t nargs = 0;
	while (args[nargs])
		nargs++;
	const char **argv = calloc(nargs + nx->noptions * 3 / 2 + 8, sizeof(char *));
	if (!argv) {
		fl_error_set(FL_E_NOMEM, "out of memory");
		return NULL;
	}
	size_t i = 0;
	argv[i++] = nx->bin;
	argv[i++] = "--extra-experimental-features";
	argv[i++] = "nix-command flakes";
	for (size_t o = 0; o + 1 < nx->noptions; o += 2) {
		argv[i++] = "--option";
		argv[i++] = nx->options[o];
		argv[i++] = nx->options[o + 1];
	}
	for (size_t a = 0; a < nargs; a++)
		argv[i++] = args[a];
	argv[i] = NULL;
	return argv;
}

/* The error of a nix run: rc and status as the run left them, err its stderr. */
static int nix_outcome(const struct fl_nix *nx, const char *verb, int rc, int status,
                       const struct fl_buf *err)
{
	if (rc == 0 && status != 0) {
		struct fl_buf trimmed = FL_BUF_INIT;
		int v[3], lix = 0;
		fl_nix_trim_error(err->ptr ? err->ptr : "", &trimmed);
		/* Flakes and the nix command need Nix 2.4: say so rather than show its usage. */
		if (fl_nix_version(nx, v, &lix) == 0 && !lix && v[0] == 2 && v[1] < 4)
			rc = fl_error_set(FL_E_UNSUPPORTED,
			                  "Nix %d.%d.%d is too old: fleet needs Nix 2.4 or newer "
			                  "(flakes and the nix command)",
			                  v[0], v[1], v[2]);
		else
			rc = fl_error_set(FL_E_INVALID, "nix %s failed (exit %d):\n%s", verb,
			                  status, trimmed.ptr ? trimmed.ptr : "(no output)");
		fl_buf_free(&trimmed);
	} else if (rc < 0 && strstr(fl_error_last()->message, "cannot run")) {
		fl_error_set(
		    FL_E_NOTFOUND,
		    "cannot run %s: is Nix installed and on PATH? (FLEET_NIX names another "
		    "binary)",
		    nx->bin);
	}
	return rc;
}

int fl_nix_run(const struct fl_nix *nx, const char *const *args, struct fl_buf *out)
{
	const char **argv = nix_argv(nx, args);
	if (!argv)
		return -1;
	struct fl_buf err = FL_BUF_INIT;
	int status = 0;
	int rc =
	    fl_run_capture_ex((char *const *)argv, NULL, 0, nx->timeout_sec, out, &err, &status);
	rc = nix_outcome(nx, args[0], rc, status, &err);
	fl_buf_free(&err);
	free(argv);
	return rc;
}

static int proc_more(void *ctx, const char **end)
{
	struct fl_proc *p = ctx;
	int rc = fl_proc_more(p);
	*end = p->out->ptr + p->out->len;
	return rc;
}

static int no_more(void *ctx, const char **end)
{
	(void)ctx;
	(void)end;
	return 0;
}

int fl_nix_eval_json_stream(const struct fl_nix *nx, const char *flake, const char *attr,
                            fl_nix_consumer consume, void *ctx, struct fl_buf *out)
{
	struct fl_buf ref = FL_BUF_INIT;
	if (fl_buf_printf(&ref, "%s#%s", flake, attr) < 0)
		return -1;
	const char *args[] = {"eval", "--json", ref.ptr, NULL};
	const char **argv = nix_argv(nx, args);
	if (!argv) {
		fl_buf_free(&ref);
		return -1;
	}
	struct fl_buf err = FL_BUF_INIT;
	struct fl_proc proc;
	int status = 0, consumed = 0;
	int rc = fl_proc_start(&proc, (char *const *)argv, NULL, 0, nx->timeout_sec, out,
	                       FL_NIX_STREAM_MAX, &err);
	if (rc < 0 && fl_error_last()->klass == FL_E_NOMEM) {
		/* No room to reserve (a small machine): read it all first, then consume. */
		fl_buf_free(&err);
		free(argv);
		rc = fl_nix_run(nx, args, out);
		fl_buf_free(&ref);
		if (rc < 0 || fl_buf_grow(out, 0) < 0)
			return -1;
		struct fl_jsource none = {no_more, NULL};
		return consume(ctx, out->ptr, out->len, &none);
	}
	if (rc == 0) {
		struct fl_jsource src = {proc_more, &proc};
		consumed = consume(ctx, out->ptr, out->len, &src);
		struct fl_error saved = *fl_error_last();
		rc = fl_proc_finish(&proc, &status);
		if (rc == 0 && status == 0 && consumed < 0)
			rc = fl_error_set(saved.klass, "%s", saved.message);
	}
	rc = nix_outcome(nx, args[0], rc, status, &err);
	fl_buf_free(&err);
	fl_buf_free(&ref);
	free(argv);
	return rc;
}

int fl_nix_version(const struct fl_nix *nx, int v[3], int *is_lix)
{
	/* Plain `nix --version`: old versions know no experimental-features flag. */
	char *argv[] = {(char *)nx->bin, "--version", NULL};
	struct fl_buf out = FL_BUF_INIT;
	int status = 0;
	int rc = fl_run_capture_ex(argv, NULL, 0, 30, &out, NULL, &status);
	if (rc == 0 && status != 0)
		rc = fl_error_set(FL_E_INVALID, "%s --version failed (exit %d)", nx->bin, status);
	if (rc == 0)
		rc = fl_nix_parse_version(out.ptr ? out.ptr : "", v, is_lix);
	fl_buf_free(&out);
	return rc;
}

int fl_nix_parse_version(const char *text, int v[3], int *is_lix)
{
	/* "nix (Nix) 2.8.0", "nix (Nix) 2.26.3", "nix (Lix, like Nix) 2.91.1" */
	const char *p = strchr(text, ')');
	if (strncmp(text, "nix (", 5) != 0 || !p)
		return fl_error_set(FL_E_INVALID, "unrecognised nix --version output: %.60s", text);
	if (is_lix)
		*is_lix = strstr(text, "Lix") != NULL && strstr(text, "Lix") < p;
	v[0] = v[1] = v[2] = 0;
	if (sscanf(p + 1, " %d.%d.%d", &v[0], &v[1], &v[2]) < 2)
		return fl_error_set(FL_E_INVALID, "unrecognised nix version: %.60s", text);
	return 0;
}

static int path_info_entry(struct fl_nix_path_info *e, const char *path, json_t *obj)
{
	memset(e, 0, sizeof(*e));
	json_t *refs = json_object_get(obj, "references");
	const char *nh = json_string_value(json_object_get(obj, "narHash"));
	if (!path || !json_is_object(obj))
		return fl_error_set(FL_E_INVALID, "nix path-info: an entry without a path");
	e->path = strdup(path);
	e->nar_hash = nh ? strdup(nh) : NULL;
	json_t *ns = json_object_get(obj, "narSize");
	e->nar_size = json_is_integer(ns) ? (unsigned long long)json_integer_value(ns) : 0;
	if (json_is_array(refs)) {
		e->references = calloc(json_array_size(refs) + 1, sizeof(char *));
		if (!e->references)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		size_t i;
		json_t *r;
		json_array_foreach(refs, i, r)
		{
			if (json_is_string(r))
				e->references[e->nrefs++] = strdup(json_string_value(r));
		}
	}
	return e->path ? 0 : fl_error_set(FL_E_NOMEM, "out of memory");
}

int fl_nix_parse_path_info(const char *json, size_t len, struct fl_nix_path_info **out, size_t *n)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr);
	if (!root)
		return fl_error_set(FL_E_INVALID, "nix path-info: bad JSON: %s", jerr.text);
	size_t count = json_is_array(root)    ? json_array_size(root)
	               : json_is_object(root) ? json_object_size(root)
	                                      : 0;
	if (!json_is_array(root) && !json_is_object(root)) {
		json_decref(root);
		return fl_error_set(FL_E_INVALID, "nix path-info: expected a list or an object");
	}
	struct fl_nix_path_info *v = calloc(count ? count : 1, sizeof(*v));
	size_t k = 0;
	int rc = v ? 0 : fl_error_set(FL_E_NOMEM, "out of memory");
	if (rc == 0 && json_is_array(root)) {
		/* Nix < 2.19: [{"path": …, …}, …] */
		size_t i;
		json_t *e;
		json_array_foreach(root, i, e)
		{
			if (rc == 0)
				rc = path_info_entry(
				    &v[k++], json_string_value(json_object_get(e, "path")), e);
		}
	} else if (rc == 0) {
		/* Nix >= 2.19: {"/nix/store/…": {…}, …} */
		const char *key;
		json_t *e;
		json_object_foreach(root, key, e)
		{
			if ((rc = path_info_entry(&v[k++], key, e)) < 0)
				break;
		}
	}
	json_decref(root);
	if (rc < 0) {
		fl_nix_path_info_free(v, k);
		return -1;
	}
	*out = v;
	*n = k;
	return 0;
}

void fl_nix_path_info_free(struct fl_nix_path_info *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].nar_hash);
		for (size_t r = 0; r < v[i].nrefs; r++)
			free(v[i].references[r]);
		free(v[i].references);
	}
	free(v);
}

int fl_nix_parse_build_out(const char *json, size_t len, struct fl_buf *out_path)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr);
	if (!root)
		return fl_error_set(FL_E_INVALID, "nix build: bad JSON: %s", jerr.text);
	json_t *first = json_is_array(root) ? json_array_get(root, 0) : NULL;
	const char *p =
	    json_string_value(json_object_get(json_object_get(first, "outputs"), "out"));
	int rc = p ? fl_buf_puts(out_path, p)
	           : fl_error_set(FL_E_INVALID, "nix build: no \"out\" output in its JSON");
	json_decref(root);
	return rc;
}

int fl_flake_find(const char *explicit_path, struct fl_buf *out)
{
	const char *given = explicit_path ? explicit_path : getenv("FLEET_FLAKE");
	char resolved[PATH_MAX];
	struct stat st;
	if (given && *given) {
		if (!realpath(given, resolved))
			return fl_error_set_os("flake %s", given);
		char nix[PATH_MAX + 16];
		snprintf(nix, sizeof(nix), "%s/flake.nix", resolved);
		if (stat(nix, &st) != 0)
			return fl_error_set(FL_E_NOTFOUND, "%s has no flake.nix", resolved);
		return fl_buf_puts(out, resolved);
	}
	if (!getcwd(resolved, sizeof(resolved)))
		return fl_error_set_os("cannot read the working directory");
	for (;;) {
		char nix[PATH_MAX + 16];
		snprintf(nix, sizeof(nix), "%s/flake.nix", resolved);
		if (stat(nix, &st) == 0)
			return fl_buf_puts(out, resolved);
		char *slash = strrchr(resolved, '/');
		if (!slash || slash == resolved) {
			if (strcmp(resolved, "/") != 0 && stat("/flake.nix", &st) == 0)
				return fl_buf_puts(out, "/");
			break;
		}
		*slash = '\0';
	}
	return fl_error_set(FL_E_NOTFOUND, "no flake.nix in this directory or any parent: pass "
	                                   "--flake PATH or set FLEET_FLAKE");
}
