/* Reading the `fleet` flake output (schema 1): every field checked for its type, with
 * the JSON path of anything wrong in the message. */
#include "fleet/error.h"
#include "fleet/inventory.h"
#include "inventory/snapshot.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_strv_free(struct fl_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static int bad(const char *path, const char *what)
{
	return fl_error_set(FL_E_INVALID, "fleet output: %s: expected %s", path, what);
}

static int get_str(json_t *obj, const char *key, const char *path, int required, char **out)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		if (required)
			return fl_error_set(FL_E_INVALID, "fleet output: %s.%s is missing", path,
			                    key);
		return 0;
	}
	if (!json_is_string(v)) {
		char p[2048];
		snprintf(p, sizeof(p), "%s.%s", path, key);
		return bad(p, "a string");
	}
	*out = strdup(json_string_value(v));
	return *out ? 0 : fl_error_set(FL_E_NOMEM, "out of memory");
}

static int get_bool(json_t *obj, const char *key, const char *path, int dflt, int *out)
{
	json_t *v = json_object_get(obj, key);
	*out = dflt;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		char p[2048];
		snprintf(p, sizeof(p), "%s.%s", path, key);
		return bad(p, "true or false");
	}
	*out = json_is_true(v);
	return 0;
}

static int get_strv(json_t *obj, const char *key, const char *path, struct fl_strv *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	char p[2048];
	snprintf(p, sizeof(p), "%s.%s", path, key);
	if (!json_is_array(v))
		return bad(p, "a list of strings");
	out->v = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!out->v)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e)) {
			char q[2100];
			snprintf(q, sizeof(q), "%s[%zu]", p, i);
			return bad(q, "a string");
		}
		if (!(out->v[out->n++] = strdup(json_string_value(e))))
			return fl_error_set(FL_E_NOMEM, "out of memory");
	}
	return 0;
}

static json_t *get_obj(json_t *obj, const char *key, const char *path, int *err)
{
	json_t *v = json_object_get(obj, key);
	*err = 0;
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_object(v)) {
		char p[2048];
		snprintf(p, sizeof(p), "%s.%s", path, key);
		*err = bad(p, "an attribute set");
		return NULL;
	}
	return v;
}

static int parse_generator(struct fl_generator *g, const char *name, json_t *obj, const char *mpath)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s.generators.%s", mpath, name);
	if (!json_is_object(obj))
		return bad(path, "an attribute set");
	if (!(g->name = strdup(name)))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	int err;
	if (get_bool(obj, "share", path, 0, &g->share) < 0 ||
	    get_strv(obj, "dependencies", path, &g->dependencies) < 0 ||
	    get_str(obj, "validationHash", path, 0, &g->validation_hash) < 0)
		return -1;
	json_t *script = get_obj(obj, "script", path, &err);
	if (err)
		return -1;
	if (script && (get_str(script, "drv", path, 0, &g->script_drv) < 0 ||
	               get_str(script, "path", path, 0, &g->script_path) < 0))
		return -1;
	json_t *prompts = get_obj(obj, "prompts", path, &err);
	if (err)
		return -1;
	if (prompts) {
		g->prompts = calloc(json_object_size(prompts) + 1, sizeof(*g->prompts));
		if (!g->prompts)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		const char *k;
		json_t *v;
		json_object_foreach(prompts, k, v)
		{
			struct fl_prompt *p = &g->prompts[g->nprompts++];
			char pp[1200];
			snprintf(pp, sizeof(pp), "%s.prompts.%s", path, k);
			if (!json_is_object(v))
				return bad(pp, "an attribute set");
			p->name = strdup(k);
			if (get_str(v, "description", pp, 0, &p->description) < 0 ||
			    get_str(v, "type", pp, 0, &p->type) < 0 ||
			    get_bool(v, "persist", pp, 0, &p->persist) < 0)
				return -1;
			if (!p->type)
				p->type = strdup("line");
		}
	}
	json_t *files = get_obj(obj, "files", path, &err);
	if (err)
		return -1;
	if (files) {
		g->files = calloc(json_object_size(files) + 1, sizeof(*g->files));
		if (!g->files)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		const char *k;
		json_t *v;
		json_object_foreach(files, k, v)
		{
			struct fl_gen_file *f = &g->files[g->nfiles++];
			char fp[1200];
			snprintf(fp, sizeof(fp), "%s.files.%s", path, k);
			if (!json_is_object(v))
				return bad(fp, "an attribute set");
			f->name = strdup(k);
			if (get_bool(v, "secret", fp, 1, &f->secret) < 0 ||
			    get_bool(v, "deploy", fp, 1, &f->deploy) < 0 ||
			    get_str(v, "owner", fp, 0, &f->owner) < 0 ||
			    get_str(v, "group", fp, 0, &f->group) < 0 ||
			    get_str(v, "mode", fp, 0, &f->mode) < 0 ||
			    get_str(v, "neededFor", fp, 0, &f->needed_for) < 0)
				return -1;
		}
	}
	return 0;
}

static int parse_machine(struct fl_machine *m, const char *name, json_t *obj)
{
	char path[512];
	snprintf(path, sizeof(path), "machines.%s", name);
	if (!json_is_object(obj))
		return bad(path, "an attribute set");
	if (!(m->name = strdup(name)))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	int err;
	if (get_str(obj, "machineClass", path, 1, &m->machine_class) < 0 ||
	    get_str(obj, "system", path, 0, &m->system) < 0 ||
	    get_str(obj, "toplevel", path, 0, &m->toplevel) < 0 ||
	    get_strv(obj, "tags", path, &m->tags) < 0)
		return -1;
	json_t *deploy = get_obj(obj, "deploy", path, &err);
	if (err)
		return -1;
	if (deploy) {
		char dp[600];
		snprintf(dp, sizeof(dp), "%s.deploy", path);
		if (get_str(deploy, "targetHost", dp, 0, &m->target_host) < 0 ||
		    get_str(deploy, "buildHost", dp, 0, &m->build_host) < 0 ||
		    get_strv(deploy, "sshOptions", dp, &m->ssh_options) < 0)
			return -1;
		json_t *w = json_object_get(deploy, "wave");
		if (w && !json_is_null(w)) {
			if (!json_is_integer(w))
				return bad(dp, "an integer wave");
			m->wave = (long)json_integer_value(w);
		}
	}
	json_t *gens = get_obj(obj, "generators", path, &err);
	if (err)
		return -1;
	if (gens) {
		m->generators = calloc(json_object_size(gens) + 1, sizeof(*m->generators));
		if (!m->generators)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		const char *k;
		json_t *v;
		json_object_foreach(gens, k, v)
		{
			if (parse_generator(&m->generators[m->ngenerators++], k, v, path) < 0)
				return -1;
		}
	}
	return 0;
}

static int parse_instance(struct fl_instance *in, const char *name, json_t *obj)
{
	char path[512];
	snprintf(path, sizeof(path), "instances.%s", name);
	if (!json_is_object(obj))
		return bad(path, "an attribute set");
	if (!(in->name = strdup(name)))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	int err;
	json_t *mod = get_obj(obj, "module", path, &err);
	if (err)
		return -1;
	if (mod && (get_str(mod, "name", path, 0, &in->module_name) < 0 ||
	            get_str(mod, "input", path, 0, &in->module_input) < 0))
		return -1;
	json_t *roles = get_obj(obj, "roles", path, &err);
	if (err)
		return -1;
	if (!roles)
		return 0;
	in->roles = calloc(json_object_size(roles) + 1, sizeof(*in->roles));
	if (!in->roles)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	const char *k;
	json_t *v;
	json_object_foreach(roles, k, v)
	{
		struct fl_role *r = &in->roles[in->nroles++];
		char rp[800];
		snprintf(rp, sizeof(rp), "%s.roles.%s", path, k);
		if (!json_is_object(v))
			return bad(rp, "an attribute set");
		r->name = strdup(k);
		if (get_strv(v, "machines", rp, &r->machines) < 0)
			return -1;
		json_t *s = json_object_get(v, "settings");
		/* A role without settings has empty ones. */
		r->settings_json = s ? json_dumps(s, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
		if (!r->name || !r->settings_json)
			return fl_error_set(FL_E_NOMEM, "out of memory");
	}
	return 0;
}

static int add_problem(struct fl_strv *v, const char *fmt, const char *a, const char *b)
{
	char msg[1024];
	snprintf(msg, sizeof(msg), fmt, a, b);
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], msg) == 0)
			return 0;
	char **nv = realloc(v->v, (v->n + 2) * sizeof(char *));
	if (!nv)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	v->v = nv;
	if (!(v->v[v->n] = strdup(msg)))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	v->n++;
	return 0;
}

/* What the C side relies on, checked again whatever library produced the output; any
 * finding joins the problems the Nix library reported. */
static int check_semantics(struct fl_inventory *inv)
{
	if (inv->problems.n)
		return 0; /* the library found problems already; its words are better */
	for (size_t i = 0; i < inv->nmachines; i++) {
		const struct fl_machine *m = &inv->machines[i];
		if (strcmp(m->machine_class, "nixos") != 0 &&
		    strcmp(m->machine_class, "darwin") != 0 &&
		    add_problem(&inv->problems,
		                "machine %s: machineClass \"%s\" is neither nixos nor darwin",
		                m->name, m->machine_class) < 0)
			return -1;
	}
	for (size_t i = 0; i < inv->ninstances; i++)
		for (size_t r = 0; r < inv->instances[i].nroles; r++) {
			const struct fl_role *role = &inv->instances[i].roles[r];
			for (size_t k = 0; k < role->machines.n; k++)
				if (!fl_inventory_machine(inv, role->machines.v[k]) &&
				    add_problem(&inv->problems,
				                "instance %s: a role names unknown machine %s",
				                inv->instances[i].name, role->machines.v[k]) < 0)
					return -1;
		}
	return 0;
}

static int cmp_machine(const void *a, const void *b)
{
	return strcmp(((const struct fl_machine *)a)->name, ((const struct fl_machine *)b)->name);
}

int fl_inventory_parse(const char *json, size_t len, struct fl_inventory *out)
{
	memset(out, 0, sizeof(*out));
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fl_error_set(FL_E_INVALID, "fleet output: bad JSON at line %d: %s",
		                    jerr.line, jerr.text);
	int rc = -1, err;
	if (!json_is_object(root)) {
		bad("(top level)", "an attribute set");
		goto out;
	}
	json_t *sv = json_object_get(root, "schemaVersion");
	if (!json_is_integer(sv)) {
		fl_error_set(FL_E_INVALID,
		             "fleet output: schemaVersion is missing: is this flake's "
		             "`fleet` output made by fleet's Nix library?");
		goto out;
	}
	out->schema = (int)json_integer_value(sv);
	if (out->schema != FL_SCHEMA_VERSION) {
		fl_error_set(FL_E_UNSUPPORTED,
		             "fleet output: schema version %d, but this fleet reads version %d: "
		             "update fleet or its Nix library so they match",
		             out->schema, FL_SCHEMA_VERSION);
		goto out;
	}
	json_t *meta = get_obj(root, "meta", "", &err);
	if (err || (meta && get_str(meta, "name", "meta", 0, &out->name) < 0))
		goto out;
	if (get_strv(root, "problems", "", &out->problems) < 0)
		goto out;
	json_t *machines = get_obj(root, "machines", "", &err);
	if (err)
		goto out;
	if (machines) {
		out->machines = calloc(json_object_size(machines) + 1, sizeof(*out->machines));
		if (!out->machines) {
			fl_error_set(FL_E_NOMEM, "out of memory");
			goto out;
		}
		const char *k;
		json_t *v;
		json_object_foreach(machines, k, v)
		{
			if (parse_machine(&out->machines[out->nmachines++], k, v) < 0)
				goto out;
		}
		qsort(out->machines, out->nmachines, sizeof(*out->machines), cmp_machine);
	}
	json_t *instances = get_obj(root, "instances", "", &err);
	if (err)
		goto out;
	if (instances) {
		out->instances = calloc(json_object_size(instances) + 1, sizeof(*out->instances));
		if (!out->instances) {
			fl_error_set(FL_E_NOMEM, "out of memory");
			goto out;
		}
		const char *k;
		json_t *v;
		json_object_foreach(instances, k, v)
		{
			if (parse_instance(&out->instances[out->ninstances++], k, v) < 0)
				goto out;
		}
	}
	rc = check_semantics(out);
	out->generators_loaded = 1;
out:
	json_decref(root);
	if (rc < 0)
		fl_inventory_free(out);
	return rc;
}

/* Strings of a snapshot live in its arena; strings of a parsed output are owned. */
#define SFREE(s)                                                                                   \
	do {                                                                                       \
		if (owned)                                                                         \
			free(s);                                                                   \
	} while (0)

static void strv_release(struct fl_strv *v, int owned)
{
	for (size_t i = 0; i < v->n; i++)
		SFREE(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static void generator_free(struct fl_generator *g, int owned)
{
	SFREE(g->name);
	strv_release(&g->dependencies, owned);
	SFREE(g->validation_hash);
	for (size_t i = 0; i < g->nprompts; i++) {
		SFREE(g->prompts[i].name);
		SFREE(g->prompts[i].description);
		SFREE(g->prompts[i].type);
	}
	free(g->prompts);
	for (size_t i = 0; i < g->nfiles; i++) {
		SFREE(g->files[i].name);
		SFREE(g->files[i].owner);
		SFREE(g->files[i].group);
		SFREE(g->files[i].mode);
		SFREE(g->files[i].needed_for);
	}
	free(g->files);
	SFREE(g->script_drv);
	SFREE(g->script_path);
}

void fl_inventory_free(struct fl_inventory *inv)
{
	inventory_release(inv, inv->arena == NULL);
}

void inventory_release(struct fl_inventory *inv, int owned)
{
	for (size_t i = 0; i < inv->nmachines; i++) {
		struct fl_machine *m = &inv->machines[i];
		SFREE(m->name);
		SFREE(m->machine_class);
		SFREE(m->system);
		SFREE(m->toplevel);
		strv_release(&m->tags, owned);
		SFREE(m->target_host);
		SFREE(m->build_host);
		strv_release(&m->ssh_options, owned);
		for (size_t g = 0; g < m->ngenerators; g++)
			generator_free(&m->generators[g], owned && !inv->gen_arena);
		free(m->generators);
	}
	free(inv->machines);
	for (size_t i = 0; i < inv->ninstances; i++) {
		struct fl_instance *in = &inv->instances[i];
		SFREE(in->name);
		SFREE(in->module_name);
		SFREE(in->module_input);
		for (size_t r = 0; r < in->nroles; r++) {
			SFREE(in->roles[r].name);
			strv_release(&in->roles[r].machines, owned);
			SFREE(in->roles[r].settings_json);
		}
		free(in->roles);
	}
	free(inv->instances);
	SFREE(inv->name);
	strv_release(&inv->problems, owned);
	free(inv->arena);
	free(inv->gen_arena);
	memset(inv, 0, sizeof(*inv));
}

const struct fl_machine *fl_inventory_machine(const struct fl_inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->nmachines; i++)
		if (strcmp(inv->machines[i].name, name) == 0)
			return &inv->machines[i];
	return NULL;
}

int fl_machine_has_tag(const struct fl_machine *m, const char *tag)
{
	for (size_t i = 0; i < m->tags.n; i++)
		if (strcmp(m->tags.v[i], tag) == 0)
			return 1;
	return 0;
}
