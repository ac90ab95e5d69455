/*
 * The inventory: what a flake's `fleet` output (schema 1, docs/contract.md) declares —
 * machines, their generators, service instances and roles — read from one `nix eval`
 * that is cached by the flake's content.
 */
#ifndef FLEET_INVENTORY_H
#define FLEET_INVENTORY_H

#include <stddef.h>

#include "fleet/buf.h"
#include "fleet/nix.h"

struct fl_jdoc;

#define FL_SCHEMA_VERSION 1

struct fl_strv {
	char **v;
	size_t n;
};

struct fl_prompt {
	char *name, *description, *type;
	int persist;
};

struct fl_gen_file {
	char *name, *owner, *group, *mode, *needed_for;
	int secret, deploy;
};

struct fl_generator {
	char *name;
	int share;
	struct fl_strv dependencies;
	char *validation_hash;
	struct fl_prompt *prompts;
	size_t nprompts;
	struct fl_gen_file *files;
	size_t nfiles;
	/* script.id identifies the script whatever the system (drift); drv and path are
	 * null when the runtime is per-system (the scripts are in fleetScripts.<system>) */
	char *script_id, *script_drv, *script_path;
};

struct fl_machine {
	char *name, *machine_class, *system, *toplevel;
	struct fl_strv tags;
	char *target_host, *build_host;
	long wave;
	struct fl_strv ssh_options;
	struct fl_generator *generators; /* once fl_inventory_load_generators read them */
	size_t ngenerators;
	int generators_read;
};

struct fl_role {
	char *name;
	struct fl_strv machines;
	char *settings_json; /* the role's settings as compact JSON */
};

struct fl_instance {
	char *name, *module_name, *module_input;
	struct fl_role *roles;
	size_t nroles;
};

struct fl_inventory {
	int schema;
	char *name;
	struct fl_machine *machines; /* sorted by name */
	size_t nmachines;
	struct fl_instance *instances;
	size_t ninstances;
	struct fl_strv problems; /* validation problems the Nix library found */
	/* Strings are never owned one by one: they point into one of these. */
	char *arena;             /* a cache snapshot's core part */
	struct fl_jdoc *doc;     /* the parsed output */
	struct fl_jdoc *gen_doc; /* the cache's generators part */
};

/* Reads the contract's JSON. Strict about types ("machines.web1.tags[2]: expected a
 * string"), tolerant of unknown fields. Every machine's generators are read too. */
int fl_inventory_parse(const char *json, size_t len, struct fl_inventory *out);
/* The same, taking over json (malloc'd; freed with the inventory, or on failure), with
 * generators left unread: only their syntax is checked, which is much faster for a
 * large fleet. fl_inventory_load_generators reads (and type-checks) them. */
int fl_inventory_parse_owned(char *json, size_t len, struct fl_inventory *out);
/* Reads the generators of the machines at idx[0..n) (every machine if idx is NULL)
 * that are not read yet, into machine->generators; errors name the JSON path. The
 * inventory must come from a parse, or from fl_inventory_load with want_generators. */
int fl_inventory_load_generators(struct fl_inventory *inv, const size_t *idx, size_t n);
void fl_inventory_free(struct fl_inventory *inv);
const struct fl_machine *fl_inventory_machine(const struct fl_inventory *inv, const char *name);
int fl_machine_has_tag(const struct fl_machine *m, const char *tag);

/* Machine selection shared by every command: names, @tag, shell globs (web*). No
 * selectors selects every machine. A selector that matches nothing is an error naming
 * it. out gets indices into inv->machines, in inventory order, without duplicates. */
int fl_inventory_select(const struct fl_inventory *inv, const char *const *selectors, size_t n,
                        size_t **out, size_t *nout);

struct fl_inventory_load {
	const char *flake; /* absolute path */
	const struct fl_nix *nix;
	int no_cache;
	int want_generators;   /* keep what fl_inventory_load_generators needs */
	int cache_hit;         /* out */
	char cache_path[4096]; /* out: the cache file used, if any */
	/* out: why the cache was not used (it is not the user's alone, say), for the user
	 * to see; empty when it was, or when caching was simply not possible */
	char cache_warning[1400];
};
/* One evaluation of FLAKE#fleet, or none when the cache has it (docs/cache.md). */
int fl_inventory_load(struct fl_inventory_load *ld, struct fl_inventory *out);

/* Whether name is a machine name (docs/contract.md: ^[A-Za-z0-9][A-Za-z0-9_-]*$). */
int fl_inventory_machine_name_valid(const char *name);

/* A machine as `fleet machines create` declares it in inventory.json; NULL fields (and no
 * tags) are left out of the file. */
struct fl_inventory_json_machine {
	const char *name, *machine_class, *system, *target_host;
	const char *const *tags;
	size_t ntags;
};
/* Appends to out the inventory.json text `text` (len bytes; empty for a new file) with
 * machine m added to its "machines" object (made if missing). Everything else in the
 * text stays byte for byte; the new member is laid out as its siblings are (indentation,
 * line endings, one-line objects). Fails with FL_E_EXISTS if the machine is already
 * there, FL_E_INVALID if the text is not a JSON object whose "machines" is an object. */
int fl_inventory_json_add_machine(const char *text, size_t len,
                                  const struct fl_inventory_json_machine *m, struct fl_buf *out);

/* Appends a copy of a followed by b (b may be ""). */
int fl_strv_add(struct fl_strv *v, const char *a, const char *b);
void fl_strv_free(struct fl_strv *v);

#endif
