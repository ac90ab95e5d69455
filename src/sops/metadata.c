/* The "sops" metadata block: read tolerantly (any key order, null or empty lists for
 * key types), written as current sops writes it (keys sorted; one key group at the top
 * level, several as key_groups with shamir_threshold). */
#include "fleet/error.h"
#include "fleet/sops.h"
#include "sops/internal.h"

#include <stdio.h>
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

static void group_free(struct fl_sops_key_group *g)
{
	for (size_t i = 0; i < g->nage; i++) {
		free(g->age[i].recipient);
		free(g->age[i].enc);
	}
	free(g->age);
	fl_doc_free(g->other);
	memset(g, 0, sizeof(*g));
}

void sops_key_groups_free(struct fl_sops_key_group *groups, size_t n)
{
	for (size_t i = 0; i < n; i++)
		group_free(&groups[i]);
	free(groups);
}

void sops_metadata_free(struct fl_sops_metadata *md)
{
	sops_key_groups_free(md->groups, md->ngroups);
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

static int read_age_list(struct fl_sops_key_group *g, const struct fl_doc *list)
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
		struct fl_sops_age_entry *v = realloc(g->age, (g->nage + 1) * sizeof(*v));
		if (!v)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		g->age = v;
		struct fl_sops_age_entry *a = &g->age[g->nage++];
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

/* sops' key types other than age, in a file's metadata (stores/stores.go). */
static const char *const other_types[] = {"azure_kv", "gcp_kms", "hc_vault", "hckms", "kms", "pgp"};
#define N_OTHER_TYPES (sizeof(other_types) / sizeof(other_types[0]))

static int nonempty_list(const struct fl_doc *l)
{
	return l && l->type == FL_DOC_LIST && l->n > 0;
}

/* Does this map hold keys itself (sops: then key_groups is ignored)? */
static int holds_keys(const struct fl_doc *map)
{
	if (nonempty_list(fl_doc_get(map, "age")))
		return 1;
	for (size_t i = 0; i < N_OTHER_TYPES; i++)
		if (nonempty_list(fl_doc_get(map, other_types[i])))
			return 1;
	return 0;
}

static int read_group(struct fl_sops_metadata *md, const struct fl_doc *map)
{
	struct fl_sops_key_group *v = realloc(md->groups, (md->ngroups + 1) * sizeof(*v));
	if (!v)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	md->groups = v;
	struct fl_sops_key_group *g = &md->groups[md->ngroups++];
	memset(g, 0, sizeof(*g));
	if (read_age_list(g, fl_doc_get(map, "age")) < 0)
		return -1;
	for (size_t i = 0; i < N_OTHER_TYPES; i++) {
		const struct fl_doc *l = fl_doc_get(map, other_types[i]);
		if (!nonempty_list(l))
			continue;
		/* Kept as read: re-written unchanged while the data key stays the same. */
		if (!g->other && !(g->other = fl_doc_new(FL_DOC_MAP)))
			return -1;
		struct fl_doc *copy = fl_doc_clone(l);
		if (!copy || fl_doc_append(g->other, other_types[i], copy) < 0)
			return -1;
	}
	return 0;
}

static int read_threshold(struct fl_sops_metadata *md, const struct fl_doc *v)
{
	if (!v || v->type == FL_DOC_NULL)
		return 0;
	/* An int in YAML and JSON; a string in dotenv and INI (sops decodes it weakly). */
	long n = -1;
	if ((v->type == FL_DOC_INT || v->type == FL_DOC_STR) && v->text && v->len > 0 &&
	    v->len < 4 && strspn(v->text, "0123456789") == v->len)
		n = strtol(v->text, NULL, 10);
	if (n < 0 || n > 255)
		return fl_error_set(FL_E_INVALID,
		                    "sops metadata: shamir_threshold must be a number from 0 to "
		                    "255");
	md->shamir_threshold = (int)n;
	return 0;
}

int sops_metadata_from_doc(struct fl_sops_metadata *md, const struct fl_doc *map)
{
	memset(md, 0, sizeof(*md));
	if (map->type != FL_DOC_MAP)
		return fl_error_set(FL_E_INVALID, "sops metadata: \"sops\" must be a mapping");
	const struct fl_doc *groups = fl_doc_get(map, "key_groups");
	int rc = 0;
	/* sops (metadata.internalKeygroups): keys at the top level form the one group;
	 * only without them is key_groups read. */
	if (holds_keys(map) || !groups || groups->type == FL_DOC_NULL) {
		rc = read_group(md, map);
	} else if (groups->type != FL_DOC_LIST) {
		rc = fl_error_set(FL_E_INVALID, "sops metadata: \"key_groups\" must be a list");
	} else {
		for (size_t i = 0; rc == 0 && i < groups->n; i++) {
			const struct fl_doc *g = groups->items[i].value;
			if (g->type == FL_DOC_COMMENT)
				continue;
			rc = g->type == FL_DOC_MAP
			         ? read_group(md, g)
			         : fl_error_set(FL_E_INVALID,
			                        "sops metadata: key group %zu is not a mapping", i);
		}
	}
	if (rc == 0)
		rc = read_threshold(md, fl_doc_get(map, "shamir_threshold"));
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

/* Entries collected for a map sops writes with its keys sorted by name. */
struct sorted_map {
	struct fl_doc_entry v[32];
	size_t n;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct fl_doc_entry *)a)->key, ((const struct fl_doc_entry *)b)->key);
}

static int sm_add(struct sorted_map *m, const char *key, struct fl_doc *value)
{
	if (!value)
		return -1;
	if (m->n == sizeof(m->v) / sizeof(m->v[0])) {
		fl_doc_free(value);
		return fl_error_set(FL_E_INVALID, "sops metadata: too many entries");
	}
	m->v[m->n].key = (char *)key;
	m->v[m->n++].value = value;
	return 0;
}

static int sm_add_str(struct sorted_map *m, const char *key, const char *value)
{
	return value ? sm_add(m, key, fl_doc_new_scalar(FL_DOC_STR, value, strlen(value))) : 0;
}

/* Moves the entries into a new MAP, sorted; frees them on failure. */
static struct fl_doc *sm_finish(struct sorted_map *m)
{
	qsort(m->v, m->n, sizeof(m->v[0]), cmp_entry);
	struct fl_doc *map = fl_doc_new(FL_DOC_MAP);
	int ok = map != NULL;
	for (size_t i = 0; i < m->n; i++) {
		if (ok)
			ok = fl_doc_append(map, m->v[i].key, m->v[i].value) == 0;
		else
			fl_doc_free(m->v[i].value);
	}
	m->n = 0;
	if (!ok) {
		fl_doc_free(map);
		return NULL;
	}
	return map;
}

static void sm_drop(struct sorted_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		fl_doc_free(m->v[i].value);
	m->n = 0;
}

static struct fl_doc *age_list(const struct fl_sops_key_group *g)
{
	struct fl_doc *list = fl_doc_new(FL_DOC_LIST);
	for (size_t i = 0; list && i < g->nage; i++) {
		/* sops writes each entry's keys sorted too: enc, recipient. */
		struct fl_doc *e = fl_doc_new(FL_DOC_MAP), *enc;
		if (!e || fl_doc_append(list, NULL, e) < 0 ||
		    !(enc = fl_doc_new_scalar(FL_DOC_STR, g->age[i].enc, strlen(g->age[i].enc)))) {
			fl_doc_free(list);
			return NULL;
		}
		enc->style = FL_DOC_STYLE_LITERAL;
		if (fl_doc_append(e, "enc", enc) < 0 ||
		    put_str(e, "recipient", g->age[i].recipient) < 0) {
			fl_doc_free(list);
			return NULL;
		}
	}
	return list;
}

/* A group's keys into m: the age list (always when `all`, as sops writes every key
 * group's age and hc_vault lists even when empty) and the other key types as read. */
static int group_entries(struct sorted_map *m, const struct fl_sops_key_group *g, int all)
{
	if ((all || g->nage) && sm_add(m, "age", age_list(g)) < 0)
		return -1;
	for (size_t i = 0; g->other && i < g->other->n; i++)
		if (sm_add(m, g->other->items[i].key, fl_doc_clone(g->other->items[i].value)) < 0)
			return -1;
	if (all && !(g->other && fl_doc_get(g->other, "hc_vault")) &&
	    sm_add(m, "hc_vault", fl_doc_new(FL_DOC_LIST)) < 0)
		return -1;
	return 0;
}

struct fl_doc *sops_metadata_to_doc(const struct fl_sops_metadata *md)
{
	/* sops (stores/metadata.go) writes the metadata keys sorted by name; one key group
	 * at the top level, several as key_groups. */
	struct sorted_map m = {0};
	const struct fl_sops_rules *r = &md->rules;
	if (md->ngroups == 1 && group_entries(&m, &md->groups[0], 0) < 0)
		goto fail;
	if (md->ngroups > 1) {
		struct fl_doc *list = fl_doc_new(FL_DOC_LIST);
		if (sm_add(&m, "key_groups", list) < 0)
			goto fail;
		for (size_t i = 0; i < md->ngroups; i++) {
			struct sorted_map gm = {0};
			if (group_entries(&gm, &md->groups[i], 1) < 0) {
				sm_drop(&gm);
				goto fail;
			}
			struct fl_doc *gd = sm_finish(&gm);
			if (!gd || fl_doc_append(list, NULL, gd) < 0)
				goto fail;
		}
	}
	if (md->shamir_threshold > 0) {
		char t[16];
		snprintf(t, sizeof(t), "%d", md->shamir_threshold);
		if (sm_add(&m, "shamir_threshold", fl_doc_new_scalar(FL_DOC_INT, t, strlen(t))) < 0)
			goto fail;
	}
	if (sm_add_str(&m, "encrypted_comment_regex", r->encrypted_comment_regex) < 0 ||
	    sm_add_str(&m, "encrypted_regex", r->encrypted_regex) < 0 ||
	    sm_add_str(&m, "encrypted_suffix", r->encrypted_suffix) < 0 ||
	    sm_add_str(&m, "lastmodified", md->lastmodified) < 0 ||
	    sm_add_str(&m, "mac", md->mac) < 0 ||
	    (r->mac_only_encrypted &&
	     sm_add(&m, "mac_only_encrypted", fl_doc_new_scalar(FL_DOC_BOOL, "true", 4)) < 0) ||
	    sm_add_str(&m, "unencrypted_comment_regex", r->unencrypted_comment_regex) < 0 ||
	    sm_add_str(&m, "unencrypted_regex", r->unencrypted_regex) < 0 ||
	    sm_add_str(&m, "unencrypted_suffix", r->unencrypted_suffix) < 0 ||
	    sm_add_str(&m, "version", md->version ? md->version : FL_SOPS_VERSION) < 0)
		goto fail;
	return sm_finish(&m);
fail:
	sm_drop(&m);
	return NULL;
}
