/* .sops.yaml creation rules: the first rule whose path_regex matches the file's path
 * (relative to the config's directory) gives the age recipients and the rules. */
#include "fleet/error.h"
#include "fleet/fileio.h"
#include "fleet/sops.h"
#include "sops/regex.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fl_sops_creation_rule_free(struct fl_sops_creation_rule *r)
{
	fl_sops_key_spec_free(&r->keys);
	fl_sops_rules_free(&r->rules);
	free(r->config_path);
	free(r->warning);
	memset(r, 0, sizeof(*r));
}

static char *absolute(const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	size_t n = strlen(cwd) + strlen(path) + 2;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s/%s", cwd, path);
	return s;
}

/* Calls add(ctx, entry) for each entry of a comma-separated list (sops splits "age",
 * "pgp", "kms", … strings on commas; whitespace around entries is ignored). */
static int each_listed(const char *list, int (*add)(void *, const char *), void *ctx)
{
	const char *p = list;
	while (*p) {
		while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n')
			p++;
		const char *s = p;
		while (*p && *p != ',' && *p != '\n')
			p++;
		const char *e = p;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e == s)
			continue;
		char *one = strndup(s, (size_t)(e - s));
		int rc = one ? add(ctx, one) : fl_error_set(FL_E_NOMEM, "out of memory");
		free(one);
		if (rc < 0)
			return -1;
	}
	return 0;
}

struct add_ctx {
	struct fl_sops_key_spec *spec;
	size_t group;
	const char *kind;
};

static int add_age_one(void *ctx, const char *r)
{
	struct add_ctx *c = ctx;
	return fl_sops_key_spec_add(c->spec, c->group, r);
}

static int add_foreign_one(void *ctx, const char *name)
{
	struct add_ctx *c = ctx;
	return fl_sops_key_spec_add_foreign(c->spec, c->kind, name);
}

/* A string (comma-separated) or a list of strings or of maps naming keys. */
static int add_keys_value(struct add_ctx *c, const struct fl_doc *v, int age)
{
	if (!v || v->type == FL_DOC_NULL)
		return 0;
	int (*add)(void *, const char *) = age ? add_age_one : add_foreign_one;
	if (v->type != FL_DOC_LIST)
		return v->text ? each_listed(v->text, add, c) : 0;
	for (size_t i = 0; i < v->n; i++) {
		const struct fl_doc *e = v->items[i].value;
		if (e->type == FL_DOC_COMMENT || e->type == FL_DOC_NULL)
			continue;
		if (e->type != FL_DOC_MAP) {
			if (e->text && each_listed(e->text, add, c) < 0)
				return -1;
			continue;
		}
		if (age)
			return fl_error_set(FL_E_INVALID,
			                    "an age key in .sops.yaml must be a string");
		/* kms: arn, gcp_kms: resource_id, hckms: key_id, azure_keyvault: vaultUrl+key. */
		static const char *const ids[] = {"arn", "resource_id", "key_id", "vaultUrl"};
		const struct fl_doc *id = NULL;
		for (size_t k = 0; !id && k < sizeof(ids) / sizeof(ids[0]); k++)
			id = fl_doc_get(e, ids[k]);
		if (fl_sops_key_spec_add_foreign(c->spec, c->kind,
		                                 id && id->text ? id->text : "?") < 0)
			return -1;
	}
	return 0;
}

/* sops (config.go extractMasterKeys): a key group's keys, with "merge" folding nested
 * groups into this one. */
static int add_group(struct fl_sops_key_spec *spec, size_t group, const struct fl_doc *g, int depth)
{
	static const char *const foreign[] = {
	    "pgp", "kms", "gcp_kms", "hckms", "azure_keyvault", "hc_vault"};
	if (depth > 16)
		return fl_error_set(FL_E_INVALID, "key group \"merge\" nested too deeply");
	if (g->type != FL_DOC_MAP)
		return fl_error_set(FL_E_INVALID, "key group %zu is not a mapping", group + 1);
	struct add_ctx c = {spec, group, "age"};
	if (fl_sops_key_spec_add(spec, group, NULL) < 0 ||
	    add_keys_value(&c, fl_doc_get(g, "age"), 1) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		c.kind = foreign[i];
		if (add_keys_value(&c, fl_doc_get(g, foreign[i]), 0) < 0)
			return -1;
	}
	const struct fl_doc *merge = fl_doc_get(g, "merge");
	for (size_t i = 0; merge && merge->type == FL_DOC_LIST && i < merge->n; i++)
		if (merge->items[i].value->type != FL_DOC_COMMENT &&
		    add_group(spec, group, merge->items[i].value, depth + 1) < 0)
			return -1;
	return 0;
}

/* sops (config.go getKeyGroupsFromCreationRule): key_groups when the rule has any,
 * else one group of the rule's own keys. */
static int rule_keys(struct fl_sops_key_spec *spec, const struct fl_doc *rule)
{
	const struct fl_doc *groups = fl_doc_get(rule, "key_groups");
	if (groups && groups->type == FL_DOC_LIST && groups->n > 0) {
		size_t n = 0;
		for (size_t i = 0; i < groups->n; i++)
			if (groups->items[i].value->type != FL_DOC_COMMENT &&
			    add_group(spec, n++, groups->items[i].value, 0) < 0)
				return -1;
	} else {
		static const char *const foreign[] = {
		    "pgp", "kms", "gcp_kms", "hckms", "azure_keyvault", "hc_vault_transit_uri"};
		struct add_ctx c = {spec, 0, "age"};
		if (fl_sops_key_spec_add(spec, 0, NULL) < 0 ||
		    add_keys_value(&c, fl_doc_get(rule, "age"), 1) < 0)
			return -1;
		for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
			c.kind = foreign[i];
			if (add_keys_value(&c, fl_doc_get(rule, foreign[i]), 0) < 0)
				return -1;
		}
	}
	const struct fl_doc *t = fl_doc_get(rule, "shamir_threshold");
	if (t && t->type != FL_DOC_NULL) {
		char *end = NULL;
		long v = t->type == FL_DOC_INT ? strtol(t->text, &end, 10) : -1;
		if (v < 0 || v > 255 || !end || *end)
			return fl_error_set(FL_E_INVALID,
			                    "shamir_threshold must be a number from 0 "
			                    "to 255");
		spec->shamir_threshold = (int)v;
	}
	return 0;
}

static int copy_rule(const struct fl_doc *rule, const char *name, char **dst)
{
	const struct fl_doc *v = fl_doc_get(rule, name);
	if (!v || !v->text)
		return 0;
	*dst = strdup(v->text);
	return *dst ? 0 : fl_error_set(FL_E_NOMEM, "out of memory");
}

static int rule_from_doc(struct fl_sops_creation_rule *r, const struct fl_doc *rule)
{
	if (rule_keys(&r->keys, rule) < 0)
		return fl_error_prefix("%s: ", r->config_path);
	const struct fl_doc *moe = fl_doc_get(rule, "mac_only_encrypted");
	r->rules.mac_only_encrypted = moe && moe->text && !strcmp(moe->text, "true");
	if (copy_rule(rule, "unencrypted_suffix", &r->rules.unencrypted_suffix) < 0 ||
	    copy_rule(rule, "encrypted_suffix", &r->rules.encrypted_suffix) < 0 ||
	    copy_rule(rule, "unencrypted_regex", &r->rules.unencrypted_regex) < 0 ||
	    copy_rule(rule, "encrypted_regex", &r->rules.encrypted_regex) < 0 ||
	    copy_rule(rule, "unencrypted_comment_regex", &r->rules.unencrypted_comment_regex) < 0 ||
	    copy_rule(rule, "encrypted_comment_regex", &r->rules.encrypted_comment_regex) < 0)
		return -1;
	return 0;
}

static int match_rules(struct fl_sops_creation_rule *out, const struct fl_doc *root,
                       const char *rel)
{
	const struct fl_doc *rules = fl_doc_get(root, "creation_rules");
	if (!rules || rules->type != FL_DOC_LIST)
		return 1;
	for (size_t i = 0; i < rules->n; i++) {
		const struct fl_doc *rule = rules->items[i].value;
		if (rule->type != FL_DOC_MAP)
			continue;
		const struct fl_doc *re = fl_doc_get(rule, "path_regex");
		if (re && re->text && *re->text) {
			/* sops: Go's regexp.MatchString, unanchored. */
			struct sops_regex *rx;
			if (sops_regex_compile(&rx, re->text, "path_regex") < 0)
				return fl_error_prefix("%s: creation rule %zu: ", out->config_path,
				                       i + 1);
			int hit = sops_regex_match(rx, rel);
			sops_regex_free(rx);
			if (hit < 0)
				return -1;
			if (!hit)
				continue;
		}
		return rule_from_doc(out, rule) < 0 ? -1 : 0;
	}
	return 1;
}

/* Opens a candidate config: a regular file of the user's or root's. Another local user
 * may plant a .sops.yaml in a world-writable directory above the work tree; such a
 * file is skipped with a warning. Returns the fd, -1 if absent or skipped. */
static int open_trusted(const char *cand, struct fl_sops_creation_rule *out)
{
	int fd = open(cand, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != geteuid() && st.st_uid != 0)) {
		char w[PATH_MAX + 128];
		snprintf(w, sizeof(w), "%s%signored %s: %s", out->warning ? out->warning : "",
		         out->warning ? "; " : "", cand,
		         S_ISREG(st.st_mode) ? "it belongs to another user" : "not a regular file");
		free(out->warning);
		out->warning = strdup(w);
		close(fd);
		return -1;
	}
	return fd;
}

static int read_fd(int fd, struct fl_buf *data, size_t max)
{
	for (;;) {
		if (fl_buf_grow(data, 65536) < 0)
			return -1;
		ssize_t n = read(fd, data->ptr + data->len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fl_error_set_os("cannot read");
		if (n == 0)
			return 0;
		data->len += (size_t)n;
		data->ptr[data->len] = '\0';
		if (data->len > max)
			return fl_error_set(FL_E_INVALID, "larger than %zu bytes", max);
	}
}

/* The search ends at the repository's root (a directory holding .git) or at $HOME:
 * what lies above is not the project's and may be anyone's. */
static int is_boundary(const char *d)
{
	char git[PATH_MAX + 8];
	struct stat st;
	snprintf(git, sizeof(git), "%s/.git", strcmp(d, "/") ? d : "");
	if (lstat(git, &st) == 0)
		return 1;
	const char *home = getenv("HOME");
	if (!home || !*home)
		return 0;
	size_t hl = strlen(home);
	while (hl > 1 && home[hl - 1] == '/')
		hl--;
	return strlen(d) == hl && strncmp(d, home, hl) == 0;
}

int fl_sops_config_match(const char *data, size_t len, const char *config_path, const char *rel,
                         struct fl_sops_creation_rule *out)
{
	struct fl_docs docs = {0};
	free(out->config_path);
	if (!(out->config_path = strdup(config_path)))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	int rc = fl_doc_parse_yaml(data ? data : "", len, &docs);
	if (rc < 0)
		fl_error_prefix("%s: ", config_path);
	else
		rc = docs.n && docs.v[0]->type == FL_DOC_MAP ? match_rules(out, docs.v[0], rel) : 1;
	fl_docs_free(&docs);
	return rc;
}

int fl_sops_config_find(const char *path, struct fl_sops_creation_rule *out)
{
	memset(out, 0, sizeof(*out));
	char *abs = absolute(path);
	if (!abs)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	char *dir = strdup(abs);
	if (!dir) {
		free(abs);
		return fl_error_set(FL_E_NOMEM, "out of memory");
	}
	char *d = dirname(dir);
	char cand[PATH_MAX + 16], alternate[PATH_MAX + 16] = "";
	int rc = 1;
	for (;;) {
		for (int once = 1; once && rc == 1; once = 0) {
			snprintf(cand, sizeof(cand), "%s/.sops.yaml", strcmp(d, "/") ? d : "");
			int fd = open_trusted(cand, out);
			if (fd < 0) {
				/* sops 3.10 reads only .sops.yaml and warns about .sops.yml. */
				struct stat st;
				char alt[PATH_MAX + 16];
				snprintf(alt, sizeof(alt), "%s/.sops.yml", strcmp(d, "/") ? d : "");
				if (!alternate[0] && stat(alt, &st) == 0)
					memcpy(alternate, alt, sizeof(alt));
				continue;
			}
			struct fl_buf data = FL_BUF_INIT;
			size_t dl = strcmp(d, "/") ? strlen(d) : 0;
			const char *rel = abs;
			if (strncmp(abs, d, dl) == 0 && abs[dl] == '/')
				rel = abs + dl + 1;
			rc = read_fd(fd, &data, 1 << 20);
			close(fd);
			if (rc < 0) {
				fl_error_prefix("%s: ", cand);
				free(out->config_path);
				out->config_path = strdup(cand);
			} else {
				rc = fl_sops_config_match(data.ptr, data.len, cand, rel, out);
			}
			fl_buf_free(&data);
			if (rc <= 0)
				goto done;
			/* sops uses the nearest config only, matched or not. */
			rc = 2;
		}
		if (rc == 2 || strcmp(d, "/") == 0 || is_boundary(d))
			break;
		d = dirname(d);
	}
	rc = 1;
done:
	if (alternate[0]) {
		char w[3 * PATH_MAX];
		snprintf(w, sizeof(w),
		         "%s%signoring %s: the config file must be called .sops.yaml (as sops "
		         "requires)%s%s",
		         out->warning ? out->warning : "", out->warning ? "; " : "", alternate,
		         rc == 0 ? "; using " : "", rc == 0 ? out->config_path : "");
		free(out->warning);
		out->warning = strdup(w);
	}
	free(dir);
	free(abs);
	if (rc != 0) {
		/* Kept: the config that matched nothing (for the message) and any warning;
		 * after an error the config's path goes with the rest. */
		char *keep = rc == 1 ? out->config_path : NULL;
		char *warning = out->warning;
		if (keep)
			out->config_path = NULL;
		out->warning = NULL;
		fl_sops_creation_rule_free(out);
		out->config_path = keep;
		out->warning = warning;
	}
	return rc;
}
