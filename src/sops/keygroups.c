/* sops' key groups (sops.go GetDataKeyWithKeyServices / UpdateMasterKeysWithKeyServices):
 * one group wraps the data key for each of its keys; several split the data key with
 * Shamir secret sharing, one share per group, so that keys from shamir_threshold groups
 * are needed. fleet wraps for age keys only: other key types are read past and kept
 * while the data key stays the same, and refused wherever fleet would have to write
 * them. */
#include "fleet/error.h"
#include "fleet/sops.h"
#include "sops/internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHARE_LEN (FL_SOPS_KEY_LEN + 1)

void fl_sops_key_spec_free(struct fl_sops_key_spec *s)
{
	for (size_t g = 0; g < s->ngroups; g++) {
		for (size_t i = 0; i < s->groups[g].nage; i++)
			free(s->groups[g].age[i]);
		free(s->groups[g].age);
	}
	free(s->groups);
	free(s->foreign);
	memset(s, 0, sizeof(*s));
}

int fl_sops_key_spec_add(struct fl_sops_key_spec *s, size_t group, const char *recipient)
{
	if (group >= s->ngroups) {
		struct fl_sops_group_spec *v = realloc(s->groups, (group + 1) * sizeof(*v));
		if (!v)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		memset(v + s->ngroups, 0, (group + 1 - s->ngroups) * sizeof(*v));
		s->groups = v;
		s->ngroups = group + 1;
	}
	if (!recipient)
		return 0;
	struct fl_sops_group_spec *g = &s->groups[group];
	char **v = realloc(g->age, (g->nage + 1) * sizeof(*v));
	if (!v)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	g->age = v;
	if (!(g->age[g->nage] = strdup(recipient)))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	g->nage++;
	return 0;
}

int fl_sops_key_spec_add_foreign(struct fl_sops_key_spec *s, const char *kind, const char *name)
{
	size_t old = s->foreign ? strlen(s->foreign) : 0;
	size_t add = strlen(kind) + (name ? strlen(name) + 1 : 0) + 3;
	char *v = realloc(s->foreign, old + add);
	if (!v)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	snprintf(v + old, add, "%s%s%s%s", old ? ", " : "", kind, name ? " " : "",
	         name ? name : "");
	s->foreign = v;
	return 0;
}

/* What identifies a key of another type (as sops' ToString names it). */
static void describe_entry(const char *type, const struct fl_doc *e, char *out, size_t cap)
{
#define FIELD(k) (fl_doc_get(e, k) && fl_doc_get(e, k)->text ? fl_doc_get(e, k)->text : "?")
	if (e->type != FL_DOC_MAP)
		snprintf(out, cap, "?");
	else if (!strcmp(type, "pgp"))
		snprintf(out, cap, "%s", FIELD("fp"));
	else if (!strcmp(type, "kms"))
		snprintf(out, cap, "%s", FIELD("arn"));
	else if (!strcmp(type, "gcp_kms"))
		snprintf(out, cap, "%s", FIELD("resource_id"));
	else if (!strcmp(type, "hckms"))
		snprintf(out, cap, "%s", FIELD("key_id"));
	else if (!strcmp(type, "azure_kv"))
		snprintf(out, cap, "%s/keys/%s/%s", FIELD("vault_url"), FIELD("name"),
		         FIELD("version"));
	else if (!strcmp(type, "hc_vault"))
		snprintf(out, cap, "%s/v1/%s/keys/%s", FIELD("vault_address"), FIELD("engine_path"),
		         FIELD("key_name"));
	else
		snprintf(out, cap, "?");
#undef FIELD
}

/* Adds the group's other key types to the spec's foreign list. */
static int note_other(struct fl_sops_key_spec *s, const struct fl_sops_key_group *g)
{
	for (size_t t = 0; g->other && t < g->other->n; t++) {
		const struct fl_doc *list = g->other->items[t].value;
		for (size_t i = 0; i < list->n; i++) {
			char name[512];
			if (list->items[i].value->type == FL_DOC_COMMENT)
				continue;
			describe_entry(g->other->items[t].key, list->items[i].value, name,
			               sizeof(name));
			if (fl_sops_key_spec_add_foreign(s, g->other->items[t].key, name) < 0)
				return -1;
		}
	}
	return 0;
}

int fl_sops_foreign_keys(const struct fl_sops_file *f, struct fl_buf *out)
{
	struct fl_sops_key_spec s = {0};
	int n = 0;
	for (size_t g = 0; g < f->md.ngroups; g++)
		if (note_other(&s, &f->md.groups[g]) < 0) {
			fl_sops_key_spec_free(&s);
			return -1;
		}
	if (s.foreign) {
		for (const char *p = s.foreign; p; p = strstr(p + 1, ", "))
			n++;
		if (out && fl_buf_puts(out, s.foreign) < 0)
			n = -1;
	}
	fl_sops_key_spec_free(&s);
	return n;
}

int fl_sops_key_spec_from_file(const struct fl_sops_file *f, struct fl_sops_key_spec *out)
{
	memset(out, 0, sizeof(*out));
	out->shamir_threshold = f->md.shamir_threshold;
	for (size_t g = 0; g < f->md.ngroups; g++) {
		const struct fl_sops_key_group *kg = &f->md.groups[g];
		int rc = fl_sops_key_spec_add(out, g, NULL);
		for (size_t i = 0; rc == 0 && i < kg->nage; i++)
			rc = fl_sops_key_spec_add(out, g, kg->age[i].recipient);
		if (rc == 0)
			rc = note_other(out, kg);
		if (rc < 0) {
			fl_sops_key_spec_free(out);
			return -1;
		}
	}
	return 0;
}

/* Opens one group: the secret (data key or share, `want` bytes) from the first age
 * entry an identity opens. Returns 0, 1 when no identity matched (recipients tried are
 * appended to `tried`), or -1 on any other failure. */
static int open_group(const struct fl_sops_key_group *g, const struct fl_age_identities *ids,
                      uint8_t *secret, size_t want, struct fl_buf *tried)
{
	for (size_t i = 0; i < g->nage; i++) {
		struct fl_buf out = FL_BUF_SECRET;
		const char *enc = g->age[i].enc;
		if (fl_age_decrypt_mem(ids, enc, strlen(enc), &out) == 0) {
			int ok = out.len == want;
			if (ok)
				memcpy(secret, out.ptr, want);
			fl_buf_free(&out);
			if (!ok)
				return fl_error_set(FL_E_INVALID,
				                    "the data key %sfor %s is %zu bytes, not %zu",
				                    want == FL_SOPS_KEY_LEN ? "" : "share ",
				                    g->age[i].recipient, out.len, want);
			return 0;
		}
		fl_buf_free(&out);
		if (fl_error_last()->klass != FL_E_AGE_NOMATCH)
			return fl_error_prefix("the data key for %s: ", g->age[i].recipient);
		fl_buf_printf(tried, "%s%s", tried->len ? ", " : "", g->age[i].recipient);
	}
	return 1;
}

static int data_key_one_group(const struct fl_sops_file *f, const struct fl_age_identities *ids,
                              uint8_t key[FL_SOPS_KEY_LEN])
{
	const struct fl_sops_key_group *g = &f->md.groups[0];
	if (g->nage == 0) {
		struct fl_buf other = FL_BUF_INIT;
		int n = fl_sops_foreign_keys(f, &other);
		fl_error_set(FL_E_AGE_NOMATCH, "the file has no age recipient%s%s%s",
		             n > 0 ? " (it is encrypted only to: " : "",
		             n > 0 && other.ptr ? other.ptr : "", n > 0 ? ")" : "");
		fl_buf_free(&other);
		return -1;
	}
	struct fl_buf tried = FL_BUF_INIT;
	int rc = open_group(g, ids, key, FL_SOPS_KEY_LEN, &tried);
	if (rc == 1)
		rc = fl_error_set(
		    FL_E_AGE_NOMATCH,
		    "no identity can decrypt the data key; the file is encrypted to: %s",
		    tried.ptr ? tried.ptr : "");
	fl_buf_free(&tried);
	return rc;
}

static int data_key_shamir(const struct fl_sops_file *f, const struct fl_age_identities *ids,
                           uint8_t key[FL_SOPS_KEY_LEN])
{
	size_t ng = f->md.ngroups, opened = 0;
	/* sops writes the threshold it split with; without one every group was needed. */
	size_t need = f->md.shamir_threshold > 0 ? (size_t)f->md.shamir_threshold : ng;
	uint8_t *shares = calloc(ng, SHARE_LEN);
	const uint8_t **parts = calloc(ng, sizeof(*parts));
	struct fl_buf report = FL_BUF_INIT;
	int rc = -1;
	if (!shares || !parts) {
		fl_error_set(FL_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t g = 0; g < ng; g++) {
		struct fl_buf tried = FL_BUF_INIT;
		int r = open_group(&f->md.groups[g], ids, shares + opened * SHARE_LEN, SHARE_LEN,
		                   &tried);
		if (r < 0) {
			/* sops: a group that fails is one fewer share, not the end. */
			fl_buf_printf(&report, "%sgroup %zu (%s)", report.len ? ", " : "", g + 1,
			              fl_error_last()->message);
			fl_buf_free(&tried);
			continue;
		}
		if (r == 0) {
			parts[opened] = shares + opened * SHARE_LEN;
			opened++;
		} else {
			const struct fl_sops_key_group *kg = &f->md.groups[g];
			struct fl_sops_key_spec tmp = {0};
			note_other(&tmp, kg);
			fl_buf_printf(&report, "%sgroup %zu (%s%s%s)", report.len ? ", " : "",
			              g + 1, tried.ptr ? tried.ptr : "",
			              tried.len && tmp.foreign ? ", " : "",
			              tmp.foreign ? tmp.foreign : "");
			fl_sops_key_spec_free(&tmp);
		}
		fl_buf_free(&tried);
	}
	if (opened < need) {
		fl_error_set(FL_E_AGE_NOMATCH,
		             "the data key is split over %zu key groups (Shamir secret sharing, "
		             "threshold %zu): identities from %zu groups are needed, but only %zu "
		             "group%s could be opened; not opened: %s",
		             ng, need, need, opened, opened == 1 ? "" : "s",
		             report.ptr ? report.ptr : "");
		goto out;
	}
	/* sops combines every share it could open. */
	rc = fl_sops_shamir_combine(parts, opened, SHARE_LEN, key);
	if (rc < 0)
		fl_error_prefix("the data key cannot be rebuilt from its key groups: ");
out:
	if (shares)
		sodium_memzero(shares, ng * SHARE_LEN);
	free(shares);
	free(parts);
	fl_buf_free(&report);
	return rc;
}

int fl_sops_data_key(const struct fl_sops_file *f, const struct fl_age_identities *ids,
                     uint8_t key[FL_SOPS_KEY_LEN])
{
	if (f->md.ngroups == 0)
		return fl_error_set(FL_E_AGE_NOMATCH, "the file has no age recipient");
	if (f->md.ngroups == 1)
		return data_key_one_group(f, ids, key);
	return data_key_shamir(f, ids, key);
}

/* The secret wrapped for every recipient of one group. */
static int wrap_group(struct fl_sops_key_group *out, const struct fl_sops_group_spec *spec,
                      const uint8_t *secret, size_t len)
{
	out->age = calloc(spec->nage, sizeof(*out->age));
	if (!out->age)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < spec->nage; i++) {
		/* A recipient named twice (--age R,R; a .sops.yaml listing it again) gets one
		 * entry, as sops' key groups dedupe their keys. */
		int dup = 0;
		for (size_t j = 0; j < out->nage && !dup; j++)
			dup = !strcmp(out->age[j].recipient, spec->age[i]);
		if (dup)
			continue;
		struct fl_age_recipients rs = {0};
		struct fl_age_recipient *r;
		struct fl_buf enc = FL_BUF_INIT;
		struct fl_sops_age_entry *e = &out->age[out->nage++];
		/* sops: each recipient gets its own armored age file of the secret. */
		int rc = fl_age_recipient_parse(&r, spec->age[i]);
		if (rc == 0)
			rc = fl_age_recipients_add(&rs, r);
		if (rc == 0)
			rc = fl_age_encrypt_mem(&rs, 1, secret, len, &enc);
		fl_age_recipients_free(&rs);
		e->recipient = strdup(spec->age[i]);
		e->enc = fl_buf_detach(&enc);
		if (rc == 0 && (!e->recipient || !e->enc))
			rc = fl_error_set(FL_E_NOMEM, "out of memory");
		if (rc < 0)
			return -1;
	}
	return 0;
}

int fl_sops_key_spec_check(const struct fl_sops_key_spec *spec)
{
	if (spec->foreign)
		return fl_error_set(
		    FL_E_UNSUPPORTED,
		    "the recipients include keys fleet cannot encrypt to: %s; fleet "
		    "writes age keys only, and will not write a file those "
		    "teammates cannot open (use sops for it, or remove them)",
		    spec->foreign);
	if (spec->ngroups == 0)
		return fl_error_set(FL_E_INVALID, "no age recipients to encrypt to");
	for (size_t g = 0; g < spec->ngroups; g++)
		if (spec->groups[g].nage == 0)
			return fl_error_set(FL_E_INVALID,
			                    spec->ngroups > 1 ? "key group %zu has no age recipient"
			                                      : "no age recipients to encrypt to",
			                    g + 1);
	size_t ng = spec->ngroups;
	size_t t = spec->shamir_threshold > 0 ? (size_t)spec->shamir_threshold : ng;
	/* sops (Vault's shamir.Split): 2 <= threshold <= groups. */
	if (ng > 1 && (t < 2 || t > ng))
		return fl_error_set(FL_E_INVALID,
		                    "shamir_threshold %zu does not fit %zu key groups: it must be "
		                    "from 2 to %zu",
		                    t, ng, ng);
	return 0;
}

int fl_sops_set_keys(struct fl_sops_file *f, const uint8_t key[FL_SOPS_KEY_LEN],
                     const struct fl_sops_key_spec *spec)
{
	if (fl_sops_key_spec_check(spec) < 0)
		return -1;
	size_t ng = spec->ngroups;
	/* sops: several groups split the data key; no threshold means all of them. */
	size_t threshold = spec->shamir_threshold > 0 ? (size_t)spec->shamir_threshold : ng;
	uint8_t *shares = NULL;
	struct fl_sops_key_group *groups = calloc(ng, sizeof(*groups));
	int rc = groups ? 0 : fl_error_set(FL_E_NOMEM, "out of memory");
	if (rc == 0 && ng > 1) {
		shares = calloc(ng, SHARE_LEN);
		rc = shares ? fl_sops_shamir_split(key, FL_SOPS_KEY_LEN, ng, threshold, shares)
		            : fl_error_set(FL_E_NOMEM, "out of memory");
		if (rc < 0)
			fl_error_prefix("shamir_threshold %zu with %zu key groups: ", threshold,
			                ng);
	}
	for (size_t g = 0; rc == 0 && g < ng; g++)
		rc = ng > 1 ? wrap_group(&groups[g], &spec->groups[g], shares + g * SHARE_LEN,
		                         SHARE_LEN)
		            : wrap_group(&groups[g], &spec->groups[g], key, FL_SOPS_KEY_LEN);
	if (shares)
		sodium_memzero(shares, ng * SHARE_LEN);
	free(shares);
	if (rc < 0) {
		sops_key_groups_free(groups, groups ? ng : 0);
		return -1;
	}
	sops_key_groups_free(f->md.groups, f->md.ngroups);
	f->md.groups = groups;
	f->md.ngroups = ng;
	/* sops records the threshold it split with (and a configured one even for a
	 * single group, where it has no effect). */
	f->md.shamir_threshold = ng > 1 ? (int)threshold : spec->shamir_threshold;
	return 0;
}

int fl_sops_set_recipients(struct fl_sops_file *f, const uint8_t key[FL_SOPS_KEY_LEN],
                           const char *const *recipients, size_t n)
{
	struct fl_sops_key_spec spec = {0};
	int rc = fl_sops_key_spec_add(&spec, 0, NULL);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = fl_sops_key_spec_add(&spec, 0, recipients[i]);
	if (rc == 0)
		rc = fl_sops_set_keys(f, key, &spec);
	fl_sops_key_spec_free(&spec);
	return rc;
}
