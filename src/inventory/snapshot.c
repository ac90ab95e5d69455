#include "inventory/snapshot.h"
#include "fleet/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "fleet-inventory-snapshot 4\n"
#define GEN_MAGIC "fleet-generators-snapshot 4\n"
#define NONE UINT32_MAX

static int put_u32(struct fl_buf *b, uint32_t v)
{
	return fl_buf_put(b, &v, sizeof(v));
}

static int put_str(struct fl_buf *b, const char *s)
{
	if (!s)
		return put_u32(b, NONE);
	/* With its NUL, so a reader can point into the snapshot instead of copying. */
	size_t n = strlen(s);
	return put_u32(b, (uint32_t)n) < 0 ? -1 : fl_buf_put(b, s, n + 1);
}

static int put_strv(struct fl_buf *b, const struct fl_strv *v)
{
	if (put_u32(b, (uint32_t)v->n) < 0)
		return -1;
	for (size_t i = 0; i < v->n; i++)
		if (put_str(b, v->v[i]) < 0)
			return -1;
	return 0;
}

void inventory_snapshot_generators(const struct fl_inventory *inv, struct iovec parts[2])
{
	const struct fl_jv *machines = inv->doc ? fl_jv_get(inv->doc->root, "machines") : NULL;
	parts[0].iov_base = (void *)GEN_MAGIC;
	parts[0].iov_len = sizeof(GEN_MAGIC) - 1;
	parts[1].iov_base = (void *)(machines ? machines->raw : "null");
	parts[1].iov_len = machines ? machines->raw_len : 4;
}

int inventory_snapshot_write(const struct fl_inventory *inv, struct fl_buf *b)
{
	int rc = fl_buf_grow(b, 256 * inv->nmachines + 4096) | fl_buf_puts(b, MAGIC) |
	         put_u32(b, (uint32_t)inv->schema) | put_str(b, inv->name) |
	         put_strv(b, &inv->problems) | put_u32(b, (uint32_t)inv->nmachines);
	for (size_t i = 0; i < inv->nmachines; i++) {
		const struct fl_machine *m = &inv->machines[i];
		rc |= put_str(b, m->name) | put_str(b, m->machine_class) | put_str(b, m->system) |
		      put_str(b, m->toplevel) | put_strv(b, &m->tags) | put_str(b, m->target_host) |
		      put_str(b, m->build_host) | put_u32(b, (uint32_t)m->wave) |
		      put_strv(b, &m->ssh_options);
	}
	rc |= put_u32(b, (uint32_t)inv->ninstances);
	for (size_t i = 0; i < inv->ninstances; i++) {
		const struct fl_instance *in = &inv->instances[i];
		rc |= put_str(b, in->name) | put_str(b, in->module_name) |
		      put_str(b, in->module_input) | put_u32(b, (uint32_t)in->nroles);
		for (size_t r = 0; r < in->nroles; r++)
			rc |= put_str(b, in->roles[r].name) | put_strv(b, &in->roles[r].machines) |
			      put_str(b, in->roles[r].settings_json);
	}
	return rc ? -1 : 0;
}

struct cursor {
	const char *p, *end;
	int bad;
};

static uint32_t get_u32(struct cursor *c)
{
	uint32_t v = 0;
	if (c->bad || (size_t)(c->end - c->p) < sizeof(v)) {
		c->bad = 1;
		return 0;
	}
	memcpy(&v, c->p, sizeof(v));
	c->p += sizeof(v);
	return v;
}

static char *get_str(struct cursor *c)
{
	uint32_t n = get_u32(c);
	if (c->bad || n == NONE)
		return NULL;
	/* NUL-terminated and holding no other NUL: what put_str wrote. */
	if ((size_t)(c->end - c->p) <= n || c->p[n] != '\0' || memchr(c->p, '\0', n)) {
		c->bad = 1;
		return NULL;
	}
	char *s = (char *)c->p;
	c->p += (size_t)n + 1;
	return s;
}

/* Counts are bounded by what is left: each element takes at least 4 bytes. */
static void *get_array(struct cursor *c, size_t *n, size_t size)
{
	*n = get_u32(c);
	if (c->bad || *n > (size_t)(c->end - c->p) / 4) {
		c->bad = 1;
		*n = 0;
		return NULL;
	}
	void *v = calloc(*n + 1, size);
	if (!v) {
		c->bad = 1;
		*n = 0;
	}
	return v;
}

static void get_strv(struct cursor *c, struct fl_strv *v)
{
	size_t n;
	v->v = get_array(c, &n, sizeof(char *));
	/* Every allocated slot is counted, so a failed read frees what it got. */
	v->n = v->v ? n : 0;
	for (size_t i = 0; i < v->n && !c->bad; i++)
		if (!(v->v[i] = get_str(c)))
			c->bad = 1; /* a list holds strings only */
}

int inventory_snapshot_read(char *data, size_t len, struct fl_inventory *out)
{
	memset(out, 0, sizeof(*out));
	/* The strings stay in data, which the inventory now owns. */
	out->arena = data;
	size_t ml = sizeof(MAGIC) - 1;
	if (len < ml || memcmp(data, MAGIC, ml) != 0) {
		out->arena = NULL;
		return fl_error_set(FL_E_INVALID, "not an inventory snapshot");
	}
	struct cursor c = {data + ml, data + len, 0};
	size_t n;
	out->schema = (int)get_u32(&c);
	out->name = get_str(&c);
	get_strv(&c, &out->problems);
	out->machines = get_array(&c, &n, sizeof(*out->machines));
	out->nmachines = out->machines ? n : 0;
	for (size_t i = 0; i < out->nmachines && !c.bad; i++) {
		struct fl_machine *m = &out->machines[i];
		m->name = get_str(&c);
		m->machine_class = get_str(&c);
		m->system = get_str(&c);
		m->toplevel = get_str(&c);
		get_strv(&c, &m->tags);
		m->target_host = get_str(&c);
		m->build_host = get_str(&c);
		m->wave = (long)(int32_t)get_u32(&c);
		get_strv(&c, &m->ssh_options);
		/* Lookups bisect: names must come sorted, each once. */
		if (!m->name || !m->machine_class ||
		    (i && !c.bad && strcmp(out->machines[i - 1].name, m->name) >= 0))
			c.bad = 1;
	}
	out->instances = get_array(&c, &n, sizeof(*out->instances));
	out->ninstances = out->instances ? n : 0;
	for (size_t i = 0; i < out->ninstances && !c.bad; i++) {
		struct fl_instance *in = &out->instances[i];
		in->name = get_str(&c);
		in->module_name = get_str(&c);
		in->module_input = get_str(&c);
		size_t nr;
		in->roles = get_array(&c, &nr, sizeof(*in->roles));
		in->nroles = in->roles ? nr : 0;
		for (size_t k = 0; k < in->nroles && !c.bad; k++) {
			struct fl_role *r = &in->roles[k];
			r->name = get_str(&c);
			get_strv(&c, &r->machines);
			r->settings_json = get_str(&c);
			if (!r->name || !r->settings_json)
				c.bad = 1;
		}
		if (!in->name)
			c.bad = 1;
	}
	if (c.bad || c.p != c.end || out->schema != FL_SCHEMA_VERSION) {
		out->arena = NULL; /* the caller still owns data */
		fl_inventory_free(out);
		return fl_error_set(FL_E_INVALID, "damaged inventory snapshot");
	}
	return 0;
}

int inventory_snapshot_read_generators(char *data, size_t len, struct fl_inventory *inv)
{
	size_t ml = sizeof(GEN_MAGIC) - 1;
	if (len < ml || memcmp(data, GEN_MAGIC, ml) != 0)
		return fl_error_set(FL_E_INVALID, "not a generators snapshot");
	struct fl_jdoc *d = malloc(sizeof(*d));
	if (!d)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	/* Checked whole, built only to each machine: the machines a command asks about are
	 * parsed then (fl_inventory_load_generators). */
	static const char *const skip[] = {"*", NULL};
	if (fl_jdoc_parse_ex(data + ml, len - ml, skip, d) < 0) {
		free(d);
		return fl_error_set(FL_E_INVALID, "damaged generators snapshot");
	}
	if (d->root->type != FL_JV_OBJ && !(d->root->type == FL_JV_NULL && !inv->nmachines)) {
		fl_jdoc_free(d);
		free(d);
		return fl_error_set(FL_E_INVALID, "damaged generators snapshot");
	}
	inventory_release_generators(inv);
	d->input = data;
	inv->gen_doc = d;
	return 0;
}
