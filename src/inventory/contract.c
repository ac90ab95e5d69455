/* Reading the `fleet` flake output (schema 1): every field checked for its type, with
 * the JSON path of anything wrong in the message. */
#include "fleet/error.h"
#include "fleet/inventory.h"
#include "inventory/snapshot.h"

#include "fleet/jsonread.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is(const struct fl_jv *v, enum fl_jv_type t)
{
	return v && v->type == t;
}

static int is_integer(const struct fl_jv *v)
{
	return is(v, FL_JV_NUM) && v->is_int;
}

/* Members of an object and items of an array, in order. */
#define JV_OBJECT_FOREACH(obj, idx, key, val)                                                      \
	for (size_t idx = 0;                                                                       \
	     idx < (obj)->n && ((key) = (obj)->keys[idx], (val) = &(obj)->items[idx], 1); idx++)
#define JV_ARRAY_FOREACH(arr, idx, val)                                                            \
	for ((idx) = 0; (idx) < (arr)->n && ((val) = &(arr)->items[idx], 1); (idx)++)

int fl_strv_add(struct fl_strv *v, const char *a, const char *b)
{
	char **grown = realloc(v->v, (v->n + 1) * sizeof(char *));
	if (!grown)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	v->v = grown;
	size_t n = strlen(a) + strlen(b) + 1;
	if (!(v->v[v->n] = malloc(n)))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	snprintf(v->v[v->n++], n, "%s%s", a, b);
	return 0;
}

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

static int get_str(const struct fl_jv *obj, const char *key, const char *path, int required,
                   char **out)
{
	const struct fl_jv *v = fl_jv_get(obj, key);
	if (!v || v->type == FL_JV_NULL) {
		if (required)
			return fl_error_set(FL_E_INVALID, "fleet output: %s.%s is missing", path,
			                    key);
		return 0;
	}
	if (!is(v, FL_JV_STR)) {
		char p[2048];
		snprintf(p, sizeof(p), "%s.%s", path, key);
		return bad(p, "a string");
	}
	*out = (char *)v->str; /* lives in the document arena */
	return *out ? 0 : fl_error_set(FL_E_NOMEM, "out of memory");
}

static int get_bool(const struct fl_jv *obj, const char *key, const char *path, int dflt, int *out)
{
	const struct fl_jv *v = fl_jv_get(obj, key);
	*out = dflt;
	if (!v || v->type == FL_JV_NULL)
		return 0;
	if (!is(v, FL_JV_BOOL)) {
		char p[2048];
		snprintf(p, sizeof(p), "%s.%s", path, key);
		return bad(p, "true or false");
	}
	*out = v->boolean;
	return 0;
}

static int get_strv(const struct fl_jv *obj, const char *key, const char *path, struct fl_strv *out)
{
	const struct fl_jv *v = fl_jv_get(obj, key);
	if (!v || v->type == FL_JV_NULL)
		return 0;
	char p[2048];
	if (!is(v, FL_JV_ARR)) {
		snprintf(p, sizeof(p), "%s.%s", path, key);
		return bad(p, "a list of strings");
	}
	out->v = calloc(v->n + 1, sizeof(char *));
	if (!out->v)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	size_t i;
	const struct fl_jv *e;
	JV_ARRAY_FOREACH(v, i, e)
	{
		if (!is(e, FL_JV_STR)) {
			snprintf(p, sizeof(p), "%s.%s[%zu]", path, key, i);
			return bad(p, "a string");
		}
		out->v[out->n++] = (char *)e->str;
	}
	return 0;
}

static const struct fl_jv *get_obj(const struct fl_jv *obj, const char *key, const char *path,
                                   int *err)
{
	const struct fl_jv *v = fl_jv_get(obj, key);
	*err = 0;
	if (!v || v->type == FL_JV_NULL)
		return NULL;
	if (!is(v, FL_JV_OBJ)) {
		char p[2048];
		snprintf(p, sizeof(p), "%s.%s", path, key);
		*err = bad(p, "an attribute set");
		return NULL;
	}
	return v;
}

static int parse_generator(struct fl_jdoc *d, struct fl_generator *g, const char *name,
                           const struct fl_jv *obj, const char *mname)
{
	char path[1024];
	snprintf(path, sizeof(path), "machines.%s.generators.%s", mname, name);
	if (!is(obj, FL_JV_OBJ))
		return bad(path, "an attribute set");
	g->name = (char *)name;
	int err;
	if (get_bool(obj, "share", path, 0, &g->share) < 0 ||
	    get_strv(obj, "dependencies", path, &g->dependencies) < 0 ||
	    get_str(obj, "validationHash", path, 0, &g->validation_hash) < 0)
		return -1;
	const struct fl_jv *script = get_obj(obj, "script", path, &err);
	if (err)
		return -1;
	if (script && (get_str(script, "id", path, 0, &g->script_id) < 0 ||
	               get_str(script, "drv", path, 0, &g->script_drv) < 0 ||
	               get_str(script, "path", path, 0, &g->script_path) < 0))
		return -1;
	const struct fl_jv *prompts = get_obj(obj, "prompts", path, &err);
	if (err)
		return -1;
	if (prompts) {
		g->prompts = calloc(prompts->n + 1, sizeof(*g->prompts));
		if (!g->prompts)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		const char *k;
		const struct fl_jv *v;
		JV_OBJECT_FOREACH(prompts, it1, k, v)
		{
			struct fl_prompt *p = &g->prompts[g->nprompts++];
			char pp[1200];
			snprintf(pp, sizeof(pp), "%s.prompts.%s", path, k);
			if (!is(v, FL_JV_OBJ))
				return bad(pp, "an attribute set");
			p->name = (char *)k;
			if (get_str(v, "description", pp, 0, &p->description) < 0 ||
			    get_str(v, "type", pp, 0, &p->type) < 0 ||
			    get_bool(v, "persist", pp, 0, &p->persist) < 0)
				return -1;
			if (!p->type)
				p->type = fl_jdoc_strndup(d, "line", 4);
		}
	}
	const struct fl_jv *files = get_obj(obj, "files", path, &err);
	if (err)
		return -1;
	if (files) {
		g->files = calloc(files->n + 1, sizeof(*g->files));
		if (!g->files)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		const char *k;
		const struct fl_jv *v;
		JV_OBJECT_FOREACH(files, it2, k, v)
		{
			struct fl_gen_file *f = &g->files[g->nfiles++];
			char fp[1200];
			snprintf(fp, sizeof(fp), "%s.files.%s", path, k);
			if (!is(v, FL_JV_OBJ))
				return bad(fp, "an attribute set");
			f->name = (char *)k;
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

int inventory_read_generators(struct fl_jdoc *d, struct fl_machine *m, const struct fl_jv *gens)
{
	if (!gens || gens->type == FL_JV_NULL)
		return 0;
	if (!is(gens, FL_JV_OBJ)) {
		char path[600];
		snprintf(path, sizeof(path), "machines.%s.generators", m->name);
		return bad(path, "an attribute set");
	}
	m->generators = calloc(gens->n + 1, sizeof(*m->generators));
	if (!m->generators)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	const char *k;
	const struct fl_jv *v;
	JV_OBJECT_FOREACH(gens, it3, k, v)
	{
		if (parse_generator(d, &m->generators[m->ngenerators++], k, v, m->name) < 0)
			return -1;
	}
	return 0;
}

static int parse_machine(struct fl_machine *m, const char *name, const struct fl_jv *obj)
{
	char path[512];
	snprintf(path, sizeof(path), "machines.%s", name);
	if (!is(obj, FL_JV_OBJ))
		return bad(path, "an attribute set");
	m->name = (char *)name;
	int err;
	if (get_str(obj, "machineClass", path, 1, &m->machine_class) < 0 ||
	    get_str(obj, "system", path, 0, &m->system) < 0 ||
	    get_str(obj, "toplevel", path, 0, &m->toplevel) < 0 ||
	    get_strv(obj, "tags", path, &m->tags) < 0)
		return -1;
	const struct fl_jv *deploy = get_obj(obj, "deploy", path, &err);
	if (err)
		return -1;
	if (deploy) {
		char dp[600];
		snprintf(dp, sizeof(dp), "%s.deploy", path);
		if (get_str(deploy, "targetHost", dp, 0, &m->target_host) < 0 ||
		    get_str(deploy, "buildHost", dp, 0, &m->build_host) < 0 ||
		    get_strv(deploy, "sshOptions", dp, &m->ssh_options) < 0)
			return -1;
		const struct fl_jv *w = fl_jv_get(deploy, "wave");
		if (w && w->type != FL_JV_NULL) {
			if (!is_integer(w))
				return bad(dp, "an integer wave");
			m->wave = (long)w->integer;
		}
	}
	/* Generators are read (types checked) when a command asks for them. */
	const struct fl_jv *gens = fl_jv_get(obj, "generators");
	if (gens && gens->type != FL_JV_NULL && gens->type != FL_JV_OBJ &&
	    !(gens->type == FL_JV_SKIPPED && gens->raw[0] == '{')) {
		snprintf(path, sizeof(path), "machines.%s.generators", name);
		return bad(path, "an attribute set");
	}
	return 0;
}

static int parse_instance(struct fl_jdoc *d, struct fl_instance *in, const char *name,
                          const struct fl_jv *obj)
{
	char path[512];
	snprintf(path, sizeof(path), "instances.%s", name);
	if (!is(obj, FL_JV_OBJ))
		return bad(path, "an attribute set");
	if (!(in->name = (char *)name))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	int err;
	const struct fl_jv *mod = get_obj(obj, "module", path, &err);
	if (err)
		return -1;
	if (mod && (get_str(mod, "name", path, 0, &in->module_name) < 0 ||
	            get_str(mod, "input", path, 0, &in->module_input) < 0))
		return -1;
	const struct fl_jv *roles = get_obj(obj, "roles", path, &err);
	if (err)
		return -1;
	if (!roles)
		return 0;
	in->roles = calloc(roles->n + 1, sizeof(*in->roles));
	if (!in->roles)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	const char *k;
	const struct fl_jv *v;
	JV_OBJECT_FOREACH(roles, it4, k, v)
	{
		struct fl_role *r = &in->roles[in->nroles++];
		char rp[800];
		snprintf(rp, sizeof(rp), "%s.roles.%s", path, k);
		if (!is(v, FL_JV_OBJ))
			return bad(rp, "an attribute set");
		r->name = (char *)k;
		if (get_strv(v, "machines", rp, &r->machines) < 0)
			return -1;
		const struct fl_jv *s = fl_jv_get(v, "settings");
		/* A role without settings has empty ones. */
		r->settings_json =
		    s ? fl_jdoc_strndup(d, s->raw, s->raw_len) : fl_jdoc_strndup(d, "{}", 2);
		if (!r->name || !r->settings_json)
			return fl_error_set(FL_E_NOMEM, "out of memory");
	}
	return 0;
}

static int add_problem(struct fl_jdoc *d, struct fl_strv *v, const char *fmt, const char *a,
                       const char *b)
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
	if (!(v->v[v->n] = fl_jdoc_strndup(d, msg, strlen(msg))))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	v->n++;
	return 0;
}

/* What the C side relies on, checked again whatever library produced the output; any
 * finding joins the problems the Nix library reported. */
static int check_semantics(struct fl_jdoc *d, struct fl_inventory *inv)
{
	if (inv->problems.n)
		return 0; /* the library found problems already; its words are better */
	for (size_t i = 0; i < inv->nmachines; i++) {
		const struct fl_machine *m = &inv->machines[i];
		if (strcmp(m->machine_class, "nixos") != 0 &&
		    strcmp(m->machine_class, "darwin") != 0 &&
		    add_problem(d, &inv->problems,
		                "machine %s: machineClass \"%s\" is neither nixos nor darwin",
		                m->name, m->machine_class) < 0)
			return -1;
	}
	for (size_t i = 0; i < inv->ninstances; i++)
		for (size_t r = 0; r < inv->instances[i].nroles; r++) {
			const struct fl_role *role = &inv->instances[i].roles[r];
			for (size_t k = 0; k < role->machines.n; k++)
				if (!fl_inventory_machine(inv, role->machines.v[k]) &&
				    add_problem(d, &inv->problems,
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

const char *const *inventory_skip_path(void)
{
	static const char *const generators[] = {"machines", "*", "generators", NULL};
	return generators;
}

int fl_inventory_parse_owned(char *json, size_t len, struct fl_inventory *out)
{
	memset(out, 0, sizeof(*out));
	struct fl_jdoc *d = malloc(sizeof(*d));
	if (!d) {
		free(json);
		return fl_error_set(FL_E_NOMEM, "out of memory");
	}
	if (fl_jdoc_parse_ex(json, len, inventory_skip_path(), d) < 0) {
		free(d);
		free(json);
		return fl_error_prefix("fleet output: bad ");
	}
	d->input = json;
	return inventory_read_doc(d, out);
}

int inventory_read_doc(struct fl_jdoc *d, struct fl_inventory *out)
{
	memset(out, 0, sizeof(*out));
	/* The inventory's strings point into the parsed document, which it keeps. */
	out->doc = d;
	const struct fl_jv *root = d->root;
	int rc = -1, err;
	if (!is(root, FL_JV_OBJ)) {
		bad("(top level)", "an attribute set");
		goto out;
	}
	const struct fl_jv *sv = fl_jv_get(root, "schemaVersion");
	if (!is_integer(sv)) {
		fl_error_set(FL_E_INVALID,
		             "fleet output: schemaVersion is missing: is this flake's "
		             "`fleet` output made by fleet's Nix library?");
		goto out;
	}
	out->schema = (int)sv->integer;
	if (out->schema != FL_SCHEMA_VERSION) {
		fl_error_set(FL_E_UNSUPPORTED,
		             "fleet output: schema version %d, but this fleet reads version %d: "
		             "update fleet or its Nix library so they match",
		             out->schema, FL_SCHEMA_VERSION);
		goto out;
	}
	const struct fl_jv *meta = get_obj(root, "meta", "", &err);
	if (err || (meta && get_str(meta, "name", "meta", 0, &out->name) < 0))
		goto out;
	if (get_strv(root, "problems", "", &out->problems) < 0)
		goto out;
	const struct fl_jv *machines = get_obj(root, "machines", "", &err);
	if (err)
		goto out;
	if (machines) {
		out->machines = calloc(machines->n + 1, sizeof(*out->machines));
		if (!out->machines) {
			fl_error_set(FL_E_NOMEM, "out of memory");
			goto out;
		}
		const char *k;
		const struct fl_jv *v;
		JV_OBJECT_FOREACH(machines, it5, k, v)
		{
			if (parse_machine(&out->machines[out->nmachines++], k, v) < 0)
				goto out;
		}
		qsort(out->machines, out->nmachines, sizeof(*out->machines), cmp_machine);
	}
	const struct fl_jv *instances = get_obj(root, "instances", "", &err);
	if (err)
		goto out;
	if (instances) {
		out->instances = calloc(instances->n + 1, sizeof(*out->instances));
		if (!out->instances) {
			fl_error_set(FL_E_NOMEM, "out of memory");
			goto out;
		}
		const char *k;
		const struct fl_jv *v;
		JV_OBJECT_FOREACH(instances, it6, k, v)
		{
			if (parse_instance(d, &out->instances[out->ninstances++], k, v) < 0)
				goto out;
		}
	}
	rc = check_semantics(d, out);
out:
	if (rc < 0)
		fl_inventory_free(out);
	return rc;
}

int fl_inventory_parse(const char *json, size_t len, struct fl_inventory *out)
{
	char *copy = malloc(len + 1);
	if (!copy) {
		memset(out, 0, sizeof(*out));
		return fl_error_set(FL_E_NOMEM, "out of memory");
	}
	memcpy(copy, json, len);
	copy[len] = '\0';
	if (fl_inventory_parse_owned(copy, len, out) < 0)
		return -1;
	if (fl_inventory_load_generators(out, NULL, 0) < 0) {
		fl_inventory_free(out);
		return -1;
	}
	return 0;
}

static void generators_release(struct fl_machine *m);

/* mv: the machine as the output has it, perhaps skipped whole (the cache's copy) or
 * with its generators skipped (a parsed output): those are parsed now. */
static int read_machine_generators(struct fl_jdoc *d, struct fl_machine *m, const struct fl_jv *mv)
{
	generators_release(m); /* what a failed read left */
	if (mv && mv->type == FL_JV_SKIPPED && fl_jdoc_parse_more(d, mv->raw, mv->raw_len, &mv) < 0)
		return fl_error_prefix("fleet output: machines.%s: bad ", m->name);
	const struct fl_jv *gens = fl_jv_get(mv, "generators");
	if (gens && gens->type == FL_JV_SKIPPED &&
	    fl_jdoc_parse_more(d, gens->raw, gens->raw_len, &gens) < 0)
		return fl_error_prefix("fleet output: machines.%s.generators: bad ", m->name);
	if (inventory_read_generators(d, m, gens) < 0)
		return -1;
	m->generators_read = 1;
	return 0;
}

int fl_inventory_load_generators(struct fl_inventory *inv, const size_t *idx, size_t n)
{
	/* The machines as Nix wrote them: the parsed output, or the cache's copy. */
	struct fl_jdoc *d = inv->doc ? inv->doc : inv->gen_doc;
	const struct fl_jv *machines = NULL;
	if (inv->doc)
		machines = fl_jv_get(inv->doc->root, "machines");
	else if (inv->gen_doc)
		machines = inv->gen_doc->root;
	else if (inv->nmachines)
		return fl_error_set(FL_E_INVALID, "internal: generators were not kept");
	if (!machines || machines->type != FL_JV_OBJ) {
		for (size_t i = 0; i < inv->nmachines; i++)
			inv->machines[i].generators_read = 1; /* none declared */
		return 0;
	}
	if (idx && n <= 8) {
		/* A few machines: look each up. */
		for (size_t i = 0; i < n; i++) {
			struct fl_machine *m = &inv->machines[idx[i]];
			if (!m->generators_read &&
			    read_machine_generators(d, m, fl_jv_get(machines, m->name)) < 0)
				return -1;
		}
		return 0;
	}
	/* Many: one walk over the output's machines, each found by bisection. */
	unsigned char *wanted = calloc(inv->nmachines + 1, 1);
	if (!wanted)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < (idx ? n : inv->nmachines); i++)
		wanted[idx ? idx[i] : i] = 1;
	int rc = 0;
	for (size_t k = 0; k < machines->n && rc == 0; k++) {
		const struct fl_machine *found = fl_inventory_machine(inv, machines->keys[k]);
		if (!found)
			continue;
		struct fl_machine *m = &inv->machines[found - inv->machines];
		if (wanted[found - inv->machines] && !m->generators_read)
			rc = read_machine_generators(d, m, &machines->items[k]);
	}
	/* Machines the output does not list with generators have none. */
	for (size_t i = 0; i < inv->nmachines && rc == 0; i++)
		if (wanted[i])
			inv->machines[i].generators_read = 1;
	free(wanted);
	return rc;
}

/* Every string lives in a document or snapshot the inventory keeps: only arrays are
 * freed one by one. */
static void generators_release(struct fl_machine *m)
{
	for (size_t g = 0; g < m->ngenerators; g++) {
		free(m->generators[g].dependencies.v);
		free(m->generators[g].prompts);
		free(m->generators[g].files);
	}
	free(m->generators);
	m->generators = NULL;
	m->ngenerators = 0;
}

void inventory_release_generators(struct fl_inventory *inv)
{
	for (size_t i = 0; i < inv->nmachines; i++) {
		generators_release(&inv->machines[i]);
		inv->machines[i].generators_read = 0;
	}
	if (inv->gen_doc) {
		fl_jdoc_free(inv->gen_doc);
		free(inv->gen_doc);
		inv->gen_doc = NULL;
	}
}

void fl_inventory_free(struct fl_inventory *inv)
{
	inventory_release_generators(inv);
	for (size_t i = 0; i < inv->nmachines; i++) {
		struct fl_machine *m = &inv->machines[i];
		free(m->tags.v);
		free(m->ssh_options.v);
	}
	free(inv->machines);
	for (size_t i = 0; i < inv->ninstances; i++) {
		struct fl_instance *in = &inv->instances[i];
		for (size_t r = 0; r < in->nroles; r++)
			free(in->roles[r].machines.v);
		free(in->roles);
	}
	free(inv->instances);
	free(inv->problems.v);
	free(inv->arena);
	if (inv->doc) {
		fl_jdoc_free(inv->doc);
		free(inv->doc);
	}
	memset(inv, 0, sizeof(*inv));
}

const struct fl_machine *fl_inventory_machine(const struct fl_inventory *inv, const char *name)
{
	/* Machines are kept sorted by name. */
	size_t lo = 0, hi = inv->nmachines;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, inv->machines[mid].name);
		if (c == 0)
			return &inv->machines[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int fl_machine_has_tag(const struct fl_machine *m, const char *tag)
{
	for (size_t i = 0; i < m->tags.n; i++)
		if (strcmp(m->tags.v[i], tag) == 0)
			return 1;
	return 0;
}
