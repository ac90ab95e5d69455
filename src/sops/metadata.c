/* The "sops" metadata block: read tolerantly (any key order, null or empty lists for
 * other key types, one key group), written as current sops writes it (keys sorted). */
#include "fleet/error.h"
#include "fleet/sops.h"
#include "sops/internal.h"

#include <stdlib.h>
#include <string.h>

void fl_sops_rules_free(struct fl_sops_rules *r)
{
	free(r->unencrypted_suffix);
	free(r->encrypted_suffix);
	free(r->unencrypted_regex);
	free(r->encrypted_regex);
	free(r->unencrypted_comment_regex);
	free(r->encrypted_comment_regex);
	memset(r, 0, sizeof(*r));
}

static void rule_slots(struct fl_sops_rules *r, char **slots[6])
{
	slots[0] = &r->unencrypted_suffix;
	slots[1] = &r->encrypted_suffix;
	slots[2] = &r->unencrypted_regex;
	slots[3] = &r->encrypted_regex;
	slots[4] = &r->unencrypted_comment_regex;
	slots[5] = &r->encrypted_comment_regex;
}

int fl_sops_rules_finish(struct fl_sops_rules *r)
{
	char **slots[6];
	int set = 0;
	rule_slots(r, slots);
	for (int i = 0; i < 6; i++) {
		/* sops: a rule is in play when it is not "" (and it is written omitempty). */
		if (*slots[i] && !**slots[i]) {
			free(*slots[i]);
			*slots[i] = NULL;
		}
		set += *slots[i] != NULL;
	}
	if (set > 1)
		return fl_error_set(
		    FL_E_INVALID,
		    "cannot use more than one of encrypted_suffix, unencrypted_suffix, "
		    "encrypted_regex, unencrypted_regex, encrypted_comment_regex, or "
		    "unencrypted_comment_regex in the same file");
	/* sops: with no rule, keys ending in "_unencrypted" stay in clear. */
	if (set == 0 && !(r->unencrypted_suffix = strdup(FL_SOPS_DEFAULT_UNENCRYPTED_SUFFIX)))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	return 0;
}

int fl_sops_rules_resolve(struct fl_sops_rules *cli, struct fl_sops_rules *config)
{
	char **mine[6], **theirs[6];
	rule_slots(cli, mine);
	rule_slots(config, theirs);
	for (int i = 0; i < 6; i++)
		if (!*mine[i] || !**mine[i]) {
			free(*mine[i]);
			*mine[i] = *theirs[i];
			*theirs[i] = NULL;
		}
	cli->mac_only_encrypted |= config->mac_only_encrypted;
	return fl_sops_rules_finish(cli);
}

void sops_metadata_free(struct fl_sops_metadata *md)
{
	for (size_t i = 0; i < md->nage; i++) {
		free(md->age[i].recipient);
		free(md->age[i].enc);
	}
	free(md->age);
	free(md->other_keys);
	free(md->lastmodified);
	free(md->mac);
	free(md->version);
	fl_sops_rules_free(&md->rules);
	memset(md, 0, sizeof(*md));
}

static int scalar_text(const struct fl_doc *v, const char *name, char **out)
{
	if (!v || v->type == FL_DOC_NULL)
		return 0;
	if (v->type == FL_DOC_MAP || v->type == FL_DOC_LIST)
		return fl_error_set(FL_E_INVALID, "sops metadata: \"%s\" must be a string", name);
	free(*out);
	*out = strndup(v->text ? v->text : "", v->len);
	return *out ? 0 : fl_error_set(FL_E_NOMEM, "out of memory");
}

static int add_other(struct fl_sops_metadata *md, const char *name)
{
	size_t old = md->other_keys ? strlen(md->other_keys) : 0;
	char *s = realloc(md->other_keys, old + strlen(name) + 3);
	if (!s)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	if (old)
		strcpy(s + old, ", ");
	else
		s[0] = '\0';
	strcat(s, name);
	md->other_keys = s;
	return 0;
}

static int read_age_list(struct fl_sops_metadata *md, const struct fl_doc *list)
{
	if (!list || list->type == FL_DOC_NULL)
		return 0;
	if (list->type != FL_DOC_LIST)
		return fl_error_set(FL_E_INVALID, "sops metadata: \"age\" must be a list");
	for (size_t i = 0; i < list->n; i++) {
		const struct fl_doc *e = list->items[i].value;
		if (e->type == FL_DOC_COMMENT)
			continue;
		if (e->type != FL_DOC_MAP)
			return fl_error_set(FL_E_INVALID,
			                    "sops metadata: age entry %zu is not a mapping", i);
		struct fl_sops_age_entry *v = realloc(md->age, (md->nage + 1) * sizeof(*v));
		if (!v)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		md->age = v;
		struct fl_sops_age_entry *a = &md->age[md->nage++];
		memset(a, 0, sizeof(*a));
		if (scalar_text(fl_doc_get(e, "recipient"), "recipient", &a->recipient) < 0 ||
		    scalar_text(fl_doc_get(e, "enc"), "enc", &a->enc) < 0)
			return -1;
		if (!a->enc || !a->recipient)
			return fl_error_set(FL_E_INVALID,
			                    "sops metadata: age entry %zu lacks \"recipient\" or "
			                    "\"enc\"",
			                    i);
	}
	return 0;
}

static const char *const other_types[] = {"pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms"};

static int read_group(struct fl_sops_metadata *md, const struct fl_doc *g)
{
	if (read_age_list(md, fl_doc_get(g, "age")) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(other_types) / sizeof(other_types[0]); i++) {
		const struct fl_doc *l = fl_doc_get(g, other_types[i]);
		if (l && l->type == FL_DOC_LIST && l->n > 0 && add_other(md, other_types[i]) < 0)
			return -1;
	}
	return 0;
}

int sops_metadata_from_doc(struct fl_sops_metadata *md, const struct fl_doc *map)
{
	memset(md, 0, sizeof(*md));
	if (map->type != FL_DOC_MAP)
		return fl_error_set(FL_E_INVALID, "sops metadata: \"sops\" must be a mapping");
	const struct fl_doc *groups = fl_doc_get(map, "key_groups");
	int rc = 0;
	if (groups && groups->type == FL_DOC_LIST) {
		for (size_t i = 0; rc == 0 && i < groups->n; i++) {
			if (groups->items[i].value->type != FL_DOC_MAP)
				continue;
			md->key_groups++;
			rc = read_group(md, groups->items[i].value);
		}
	} else {
		md->key_groups = 1;
		rc = read_group(md, map);
	}
	const struct fl_doc *moe = fl_doc_get(map, "mac_only_encrypted");
	if (rc == 0 && moe)
		md->rules.mac_only_encrypted = moe->text && (strcmp(moe->text, "true") == 0);
	if (rc == 0)
		rc =
		    scalar_text(fl_doc_get(map, "lastmodified"), "lastmodified", &md->lastmodified);
	if (rc == 0)
		rc = scalar_text(fl_doc_get(map, "mac"), "mac", &md->mac);
	if (rc == 0)
		rc = scalar_text(fl_doc_get(map, "version"), "version", &md->version);
	struct {
		const char *name;
		char **dst;
	} rules[] = {
	    {"unencrypted_suffix", &md->rules.unencrypted_suffix},
	    {"encrypted_suffix", &md->rules.encrypted_suffix},
	    {"unencrypted_regex", &md->rules.unencrypted_regex},
	    {"encrypted_regex", &md->rules.encrypted_regex},
	    {"unencrypted_comment_regex", &md->rules.unencrypted_comment_regex},
	    {"encrypted_comment_regex", &md->rules.encrypted_comment_regex},
	};
	for (size_t i = 0; rc == 0 && i < sizeof(rules) / sizeof(rules[0]); i++)
		rc = scalar_text(fl_doc_get(map, rules[i].name), rules[i].name, rules[i].dst);
	/* sops' Metadata.ToInternal: the same one-rule check and default when reading. */
	if (rc == 0 && fl_sops_rules_finish(&md->rules) < 0)
		rc = fl_error_prefix("sops metadata: ");
	if (rc < 0) {
		sops_metadata_free(md);
		return -1;
	}
	return 0;
}

static int put_str(struct fl_doc *map, const char *key, const char *value)
{
	if (!value)
		return 0;
	struct fl_doc *v = fl_doc_new_scalar(FL_DOC_STR, value, strlen(value));
	return v ? fl_doc_append(map, key, v) : -1;
}

struct fl_doc *sops_metadata_to_doc(const struct fl_sops_metadata *md)
{
	struct fl_doc *map = fl_doc_new(FL_DOC_MAP), *list = fl_doc_new(FL_DOC_LIST);
	if (!map || !list)
		goto fail;
	/* sops writes the metadata keys sorted by name. */
	for (size_t i = 0; i < md->nage; i++) {
		struct fl_doc *e = fl_doc_new(FL_DOC_MAP);
		if (!e)
			goto fail;
		struct fl_doc *enc =
		    fl_doc_new_scalar(FL_DOC_STR, md->age[i].enc, strlen(md->age[i].enc));
		if (!enc || fl_doc_append(e, "enc", enc) < 0 ||
		    put_str(e, "recipient", md->age[i].recipient) < 0) {
			fl_doc_free(e);
			goto fail;
		}
		enc->style = FL_DOC_STYLE_LITERAL;
		if (fl_doc_append(list, NULL, e) < 0)
			goto fail;
	}
	if (fl_doc_append(map, "age", list) < 0) {
		list = NULL;
		goto fail;
	}
	list = NULL;
	const struct fl_sops_rules *r = &md->rules;
	if (put_str(map, "encrypted_comment_regex", r->encrypted_comment_regex) < 0 ||
	    put_str(map, "encrypted_regex", r->encrypted_regex) < 0 ||
	    put_str(map, "encrypted_suffix", r->encrypted_suffix) < 0 ||
	    put_str(map, "lastmodified", md->lastmodified) < 0 || put_str(map, "mac", md->mac) < 0)
		goto fail;
	if (r->mac_only_encrypted) {
		struct fl_doc *b = fl_doc_new_scalar(FL_DOC_BOOL, "true", 4);
		if (!b || fl_doc_append(map, "mac_only_encrypted", b) < 0)
			goto fail;
	}
	if (put_str(map, "unencrypted_comment_regex", r->unencrypted_comment_regex) < 0 ||
	    put_str(map, "unencrypted_regex", r->unencrypted_regex) < 0 ||
	    put_str(map, "unencrypted_suffix", r->unencrypted_suffix) < 0 ||
	    put_str(map, "version", md->version ? md->version : FL_SOPS_VERSION) < 0)
		goto fail;
	return map;
fail:
	fl_doc_free(list);
	fl_doc_free(map);
	return NULL;
}
