/* fleet inventory: machines, tags, service instances and roles, from one evaluation. */
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/flake.h"
#include "fleet/error.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_FORMAT = 400 };

static const struct cli_flag list_flags[] = {CLI_FLAKE_FLAGS, CLI_JSON_FLAG, {NULL, 0, NULL, NULL}};
static const struct cli_flag graph_flags[] = {
    CLI_FLAKE_FLAGS,
    {"format", OPT_FORMAT, "dot|mermaid", "graph language (default: dot)"},
    {NULL, 0, NULL, NULL}};

static const struct cli_command list_cmd = {
    "inventory list", "[SELECTOR…] [--json]",
    "List machines: class, system, tags and deploy target.",
    "SELECTOR: a machine name, @tag, or a shell glob (web*).", list_flags};
static const struct cli_command show_cmd = {
    "inventory show", "MACHINE [--json]",
    "Show one machine: deploy settings, generators, and the roles it has.", NULL, list_flags};
static const struct cli_command tags_cmd = {
    "inventory tags", "[--json]", "List tags and the machines that have them.", NULL, list_flags};
static const struct cli_command instances_cmd = {"inventory instances", "[--json]",
                                                 "List service instances, their module and roles.",
                                                 NULL, list_flags};
static const struct cli_command roles_cmd = {
    "inventory roles", "INSTANCE [--json]",
    "List an instance's roles, the machines resolved into them and their settings.", NULL,
    list_flags};
static const struct cli_command validate_cmd = {
    "inventory validate", "[--json]",
    "Check the fleet configuration, generators included; exit 1 listing every problem found.", NULL,
    list_flags};
static const struct cli_command graph_cmd = {
    "inventory graph", "[--format dot|mermaid]",
    "Draw instances → roles → machines as Graphviz dot or Mermaid.", NULL, graph_flags};

json_t *cli_strv_json(const struct fl_strv *v)
{
	json_t *a = json_array();
	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *cli_machine_json(const struct fl_machine *m, int full)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(m->name));
	json_object_set_new(o, "machineClass", json_string(m->machine_class));
	json_object_set_new(o, "system", str_or_null(m->system));
	json_object_set_new(o, "tags", cli_strv_json(&m->tags));
	json_object_set_new(o, "targetHost", str_or_null(m->target_host));
	if (!full)
		return o;
	json_t *d = json_object();
	json_object_set_new(d, "targetHost", str_or_null(m->target_host));
	json_object_set_new(d, "buildHost", str_or_null(m->build_host));
	json_object_set_new(d, "wave", json_integer(m->wave));
	json_object_set_new(d, "sshOptions", cli_strv_json(&m->ssh_options));
	json_object_set_new(o, "deploy", d);
	json_object_set_new(o, "toplevel", str_or_null(m->toplevel));
	json_t *gens = json_object();
	for (size_t g = 0; g < m->ngenerators; g++) {
		const struct fl_generator *gen = &m->generators[g];
		json_t *jg = json_object();
		json_object_set_new(jg, "share", json_boolean(gen->share));
		json_object_set_new(jg, "dependencies", cli_strv_json(&gen->dependencies));
		json_t *files = json_array(), *prompts = json_array();
		for (size_t f = 0; f < gen->nfiles; f++)
			json_array_append_new(files, json_string(gen->files[f].name));
		for (size_t p = 0; p < gen->nprompts; p++)
			json_array_append_new(prompts, json_string(gen->prompts[p].name));
		json_object_set_new(jg, "files", files);
		json_object_set_new(jg, "prompts", prompts);
		json_object_set_new(gens, gen->name, jg);
	}
	json_object_set_new(o, "generators", gens);
	return o;
}

static char *join(const struct fl_strv *v, const char *sep)
{
	struct fl_buf b = FL_BUF_INIT;
	for (size_t i = 0; i < v->n; i++)
		fl_buf_printf(&b, "%s%s", i ? sep : "", v->v[i]);
	return fl_buf_detach(&b);
}

int cli_machines_table(const struct fl_inventory *inv, const size_t *idx, size_t n, int json)
{
	if (json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, cli_machine_json(&inv->machines[idx[i]], 0));
		return cli_print_json(a);
	}
	/* Straight to stdio: with a thousand machines, per-cell allocations would show. */
	static const char *const header[] = {"MACHINE", "CLASS", "SYSTEM", "TAGS", "TARGET"};
	size_t w[4] = {strlen(header[0]), strlen(header[1]), strlen(header[2]), strlen(header[3])};
	for (size_t i = 0; i < n; i++) {
		const struct fl_machine *m = &inv->machines[idx[i]];
		size_t tl = m->tags.n ? m->tags.n - 1 : 1;
		for (size_t t = 0; t < m->tags.n; t++)
			tl += strlen(cli_printable(m->tags.v[t]));
		size_t cols[4] = {strlen(cli_printable(m->name)),
		                  strlen(cli_printable(m->machine_class)),
		                  m->system ? strlen(cli_printable(m->system)) : 1, tl};
		for (int c = 0; c < 4; c++)
			if (cols[c] > w[c])
				w[c] = cols[c];
	}
	printf("%-*s  %-*s  %-*s  %-*s  %s\n", (int)w[0], header[0], (int)w[1], header[1],
	       (int)w[2], header[2], (int)w[3], header[3], header[4]);
	for (size_t i = 0; i < n; i++) {
		const struct fl_machine *m = &inv->machines[idx[i]];
		printf("%-*s  %-*s  %-*s  ", (int)w[0], cli_printable(m->name), (int)w[1],
		       cli_printable(m->machine_class), (int)w[2],
		       m->system ? cli_printable(m->system) : "-");
		size_t tl = 0;
		for (size_t t = 0; t < m->tags.n; t++) {
			const char *tag = cli_printable(m->tags.v[t]);
			if (t)
				putchar(',');
			fputs(tag, stdout);
			tl += strlen(tag) + (t ? 1 : 0);
		}
		if (!m->tags.n) {
			putchar('-');
			tl = 1;
		}
		printf("%*s  %s\n", (int)(w[3] - tl), "",
		       m->target_host ? cli_printable(m->target_host) : "-");
	}
	return CLI_EXIT_OK;
}

/* Parses flags; positionals stay in *pos and npos. Returns -1 to go on, else an exit code. */
static int parse(const struct cli_command *cmd, int argc, char **argv, struct cli_flake *ctx,
                 char ***pos, int *npos, const char **format)
{
	struct cli_parser p;
	int c;
	cli_parser_init(&p, cmd, argc, argv);
	while ((c = cli_next_flag(&p)) != -1) {
		if (c == CLI_HELP)
			return CLI_EXIT_OK;
		if (c == CLI_BAD)
			return CLI_EXIT_USAGE;
		if (c == OPT_FORMAT && format) {
			*format = p.optarg;
			continue;
		}
		int r = cli_flake_flag(ctx, cmd, c, p.optarg);
		if (r == 1)
			continue;
		cli_parser_free(&p);
		return r ? r : CLI_EXIT_USAGE;
	}
	*pos = p.argv + p.optind;
	*npos = p.argc - p.optind;
	return -1;
}

/* Names what is missing (the usage's first word, MACHINE) or the first extra argument. */
static int wrong_count(const struct cli_command *cmd, char **pos, int npos, int max)
{
	if (npos > max)
		return cli_usage_error(cmd, "unexpected argument '%s'", pos[max]);
	return cli_usage_error(cmd, "missing %.*s", (int)strcspn(cmd->usage, " "), cmd->usage);
}

#define SETUP(cmd, min, max, problems) SETUP_(cmd, min, max, problems, 0)
#define SETUP_GENERATORS(cmd, min, max, problems) SETUP_(cmd, min, max, problems, 1)
#define SETUP_(cmd, min, max, problems, generators)                                                \
	struct cli_flake ctx = {.want_generators = (generators)};                                  \
	char **pos = NULL;                                                                         \
	int npos = 0, rc = parse(&(cmd), argc, argv, &ctx, &pos, &npos, NULL);                     \
	if (rc >= 0)                                                                               \
		goto out;                                                                          \
	if (npos < (min) || npos > (max)) {                                                        \
		rc = wrong_count(&(cmd), pos, npos, max);                                          \
		goto out;                                                                          \
	}                                                                                          \
	if ((rc = cli_flake_load(&ctx, problems)) != 0)                                            \
		goto out;                                                                          \
	const struct fl_inventory *inv = &ctx.inv

static int inventory_list(int argc, char **argv)
{
	SETUP(list_cmd, 0, 1 << 20, CLI_PROBLEMS_WARN);
	size_t *idx = NULL, n = 0;
	if (fl_inventory_select(inv, (const char *const *)pos, (size_t)npos, &idx, &n) < 0) {
		rc = cli_fail_lib();
		goto out;
	}
	rc = cli_machines_table(inv, idx, n, ctx.json);
	free(idx);
out:
	cli_flake_free(&ctx);
	return rc;
}

static int inventory_show(int argc, char **argv)
{
	SETUP_GENERATORS(show_cmd, 1, 1, CLI_PROBLEMS_WARN);
	const struct fl_machine *m = fl_inventory_machine(inv, pos[0]);
	if (!m) {
		rc = cli_fail("no machine named \"%s\" (see fleet inventory list)", pos[0]);
		goto out;
	}
	size_t at = (size_t)(m - inv->machines);
	if (fl_inventory_load_generators(&ctx.inv, &at, 1) < 0) {
		fl_error_prefix("%s: ", ctx.flake.ptr);
		rc = cli_fail_lib();
		goto out;
	}
	json_t *roles = json_array();
	for (size_t i = 0; i < inv->ninstances; i++)
		for (size_t r = 0; r < inv->instances[i].nroles; r++) {
			const struct fl_role *role = &inv->instances[i].roles[r];
			for (size_t k = 0; k < role->machines.n; k++)
				if (!strcmp(role->machines.v[k], m->name)) {
					json_t *o = json_object();
					json_object_set_new(o, "instance",
					                    json_string(inv->instances[i].name));
					json_object_set_new(o, "role", json_string(role->name));
					json_array_append_new(roles, o);
				}
		}
	if (ctx.json) {
		json_t *o = cli_machine_json(m, 1);
		json_object_set_new(o, "roles", roles);
		rc = cli_print_json(o);
		goto out;
	}
	char *tags = join(&m->tags, ", ");
	printf("machine:   %s\nclass:     %s\nsystem:    %s\ntags:      %s\n",
	       cli_printable(m->name), cli_printable(m->machine_class),
	       m->system ? cli_printable(m->system) : "-",
	       tags && *tags ? cli_printable(tags) : "-");
	printf("target:    %s\nbuild on:  %s\nwave:      %ld\ntoplevel:  %s\n",
	       m->target_host ? cli_printable(m->target_host) : "-",
	       m->build_host ? cli_printable(m->build_host) : "(local)", m->wave,
	       m->toplevel ? cli_printable(m->toplevel) : "-");
	free(tags);
	printf("roles:     ");
	size_t i;
	json_t *o;
	json_array_foreach(roles, i, o)
	{
		printf("%s%s/%s", i ? ", " : "",
		       cli_printable(json_string_value(json_object_get(o, "instance"))),
		       cli_printable(json_string_value(json_object_get(o, "role"))));
	}
	printf("%s\n", json_array_size(roles) ? "" : "-");
	json_decref(roles);
	printf("generators:%s\n", m->ngenerators ? "" : " -");
	for (size_t g = 0; g < m->ngenerators; g++) {
		const struct fl_generator *gen = &m->generators[g];
		char *deps = join(&gen->dependencies, ", ");
		printf("  %s%s: %zu file%s, %zu prompt%s%s%s\n", cli_printable(gen->name),
		       gen->share ? " (shared)" : "", gen->nfiles, gen->nfiles == 1 ? "" : "s",
		       gen->nprompts, gen->nprompts == 1 ? "" : "s",
		       deps && *deps ? "; needs " : "", deps && *deps ? cli_printable(deps) : "");
		free(deps);
	}
	rc = CLI_EXIT_OK;
out:
	cli_flake_free(&ctx);
	return rc;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Tags in byte order, each with its machines in the inventory's (name) order. */
static json_t *tags_json(const struct fl_inventory *inv)
{
	json_t *seen = json_object(), *tags = json_object();
	for (size_t i = 0; i < inv->nmachines; i++)
		for (size_t t = 0; t < inv->machines[i].tags.n; t++) {
			const char *tag = inv->machines[i].tags.v[t];
			json_t *a = json_object_get(seen, tag);
			if (!a)
				json_object_set_new(seen, tag, a = json_array());
			json_array_append_new(a, json_string(inv->machines[i].name));
		}
	size_t n = 0;
	const char **keys = calloc(json_object_size(seen) + 1, sizeof(char *)), *k;
	json_t *v;
	json_object_foreach(seen, k, v)
	{
		if (keys)
			keys[n++] = k;
	}
	if (keys)
		qsort(keys, n, sizeof(char *), compare_strings);
	for (size_t i = 0; i < n; i++)
		json_object_set(tags, keys[i], json_object_get(seen, keys[i]));
	free(keys);
	json_decref(seen);
	return tags;
}

static int inventory_tags(int argc, char **argv)
{
	SETUP(tags_cmd, 0, 0, CLI_PROBLEMS_WARN);
	json_t *tags = tags_json(inv);
	if (ctx.json) {
		rc = cli_print_json(tags);
		goto out;
	}
	static const char *const header[] = {"TAG", "MACHINES"};
	struct cli_table t;
	cli_table_init(&t, 2, header);
	const char *k;
	json_t *v;
	json_object_foreach(tags, k, v)
	{
		struct fl_buf b = FL_BUF_INIT;
		for (size_t i = 0; i < json_array_size(v); i++)
			fl_buf_printf(&b, "%s%s", i ? "," : "",
			              json_string_value(json_array_get(v, i)));
		const char *row[] = {k, b.ptr};
		cli_table_row(&t, row);
		fl_buf_free(&b);
	}
	cli_table_print(&t);
	json_decref(tags);
	rc = CLI_EXIT_OK;
out:
	cli_flake_free(&ctx);
	return rc;
}

static json_t *instance_json(const struct fl_instance *in, int with_settings)
{
	json_t *o = json_object(), *roles = json_object();
	json_object_set_new(o, "name", json_string(in->name));
	json_object_set_new(o, "module", str_or_null(in->module_name));
	json_object_set_new(o, "input", str_or_null(in->module_input));
	for (size_t r = 0; r < in->nroles; r++) {
		json_t *ro = json_object();
		json_object_set_new(ro, "machines", cli_strv_json(&in->roles[r].machines));
		if (with_settings)
			json_object_set_new(
			    ro, "settings",
			    json_loads(in->roles[r].settings_json, JSON_DECODE_ANY, NULL));
		json_object_set_new(roles, in->roles[r].name, ro);
	}
	json_object_set_new(o, "roles", roles);
	return o;
}

static int inventory_instances(int argc, char **argv)
{
	SETUP(instances_cmd, 0, 0, CLI_PROBLEMS_WARN);
	if (ctx.json) {
		json_t *a = json_array();
		for (size_t i = 0; i < inv->ninstances; i++)
			json_array_append_new(a, instance_json(&inv->instances[i], 0));
		rc = cli_print_json(a);
		goto out;
	}
	static const char *const header[] = {"INSTANCE", "MODULE", "ROLES"};
	struct cli_table t;
	cli_table_init(&t, 3, header);
	for (size_t i = 0; i < inv->ninstances; i++) {
		const struct fl_instance *in = &inv->instances[i];
		struct fl_buf roles = FL_BUF_INIT, mod = FL_BUF_INIT;
		for (size_t r = 0; r < in->nroles; r++)
			fl_buf_printf(&roles, "%s%s (%zu)", r ? ", " : "", in->roles[r].name,
			              in->roles[r].machines.n);
		fl_buf_printf(&mod, "%s%s%s", in->module_name ? in->module_name : "-",
		              in->module_input ? " from " : "",
		              in->module_input ? in->module_input : "");
		const char *row[] = {in->name, mod.ptr, roles.ptr ? roles.ptr : "-"};
		cli_table_row(&t, row);
		fl_buf_free(&roles);
		fl_buf_free(&mod);
	}
	cli_table_print(&t);
	rc = CLI_EXIT_OK;
out:
	cli_flake_free(&ctx);
	return rc;
}

static const struct fl_instance *find_instance(const struct fl_inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->ninstances; i++)
		if (!strcmp(inv->instances[i].name, name))
			return &inv->instances[i];
	return NULL;
}

static int inventory_roles(int argc, char **argv)
{
	SETUP(roles_cmd, 1, 1, CLI_PROBLEMS_WARN);
	const struct fl_instance *in = find_instance(inv, pos[0]);
	if (!in) {
		rc = cli_fail("no instance named \"%s\" (see fleet inventory instances)", pos[0]);
		goto out;
	}
	if (ctx.json) {
		rc = cli_print_json(instance_json(in, 1));
		goto out;
	}
	static const char *const header[] = {"ROLE", "MACHINES", "SETTINGS"};
	struct cli_table t;
	cli_table_init(&t, 3, header);
	for (size_t r = 0; r < in->nroles; r++) {
		char *machines = join(&in->roles[r].machines, ",");
		const char *row[] = {in->roles[r].name, machines && *machines ? machines : "-",
		                     in->roles[r].settings_json};
		cli_table_row(&t, row);
		free(machines);
	}
	cli_table_print(&t);
	rc = CLI_EXIT_OK;
out:
	cli_flake_free(&ctx);
	return rc;
}

static int inventory_validate(int argc, char **argv)
{
	SETUP_GENERATORS(validate_cmd, 0, 0, CLI_PROBLEMS_REPORT);
	/* Generators are checked too: a type error in one is a problem like any other. */
	if (fl_inventory_load_generators(&ctx.inv, NULL, 0) < 0) {
		fl_error_prefix("%s: ", ctx.flake.ptr);
		rc = cli_fail_lib();
		goto out;
	}
	if (ctx.json) {
		json_t *o = json_object();
		json_object_set_new(o, "ok", json_boolean(inv->problems.n == 0));
		json_object_set_new(o, "problems", cli_strv_json(&inv->problems));
		cli_print_json(o);
	} else if (inv->problems.n) {
		fprintf(stderr, "%zu problem%s:\n", inv->problems.n,
		        inv->problems.n == 1 ? "" : "s");
		for (size_t i = 0; i < inv->problems.n; i++)
			fprintf(stderr, "  - %s\n", cli_printable(inv->problems.v[i]));
	} else {
		printf("ok: %zu machine%s, %zu instance%s, no problems\n", inv->nmachines,
		       inv->nmachines == 1 ? "" : "s", inv->ninstances,
		       inv->ninstances == 1 ? "" : "s");
	}
	rc = inv->problems.n ? CLI_EXIT_FAIL : CLI_EXIT_OK;
out:
	cli_flake_free(&ctx);
	return rc;
}

/* Graph node names: letters, digits and '_' only, so any instance or machine name works. */
static void node_id(struct fl_buf *b, const char *kind, const char *a, const char *c)
{
	fl_buf_puts(b, kind);
	for (const char *s = a; *s; s++)
		fl_buf_putc(b, (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		                       (*s >= '0' && *s <= '9')
		                   ? *s
		                   : '_');
	if (c) {
		fl_buf_puts(b, "__");
		for (const char *s = c; *s; s++)
			fl_buf_putc(b, (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			                       (*s >= '0' && *s <= '9')
			                   ? *s
			                   : '_');
	}
}

static int inventory_graph(int argc, char **argv)
{
	struct cli_flake ctx = {0};
	char **pos = NULL;
	int npos = 0;
	const char *format = "dot";
	int rc = parse(&graph_cmd, argc, argv, &ctx, &pos, &npos, &format);
	if (rc >= 0)
		goto out;
	int dot = !strcmp(format, "dot");
	if (!dot && strcmp(format, "mermaid") != 0) {
		rc = cli_usage_error(&graph_cmd, "--format is dot or mermaid, not '%s'", format);
		goto out;
	}
	if (npos) {
		rc = wrong_count(&graph_cmd, pos, npos, 0);
		goto out;
	}
	if ((rc = cli_flake_load(&ctx, CLI_PROBLEMS_WARN)) != 0)
		goto out;
	const struct fl_inventory *inv = &ctx.inv;
	struct fl_buf out = FL_BUF_INIT, id = FL_BUF_INIT, id2 = FL_BUF_INIT;
	fl_buf_puts(&out, dot ? "digraph fleet {\n  rankdir=LR;\n" : "flowchart LR\n");
	for (size_t i = 0; i < inv->nmachines; i++) {
		fl_buf_clear(&id);
		node_id(&id, "m_", inv->machines[i].name, NULL);
		if (dot)
			fl_buf_printf(&out, "  %s [label=\"%s\", shape=box];\n", id.ptr,
			              cli_printable(inv->machines[i].name));
		else
			fl_buf_printf(&out, "  %s[\"%s\"]\n", id.ptr,
			              cli_printable(inv->machines[i].name));
	}
	for (size_t i = 0; i < inv->ninstances; i++) {
		const struct fl_instance *in = &inv->instances[i];
		fl_buf_clear(&id);
		node_id(&id, "i_", in->name, NULL);
		if (dot)
			fl_buf_printf(&out, "  %s [label=\"%s\", shape=ellipse];\n", id.ptr,
			              cli_printable(in->name));
		else
			fl_buf_printf(&out, "  %s([\"%s\"])\n", id.ptr, cli_printable(in->name));
		for (size_t r = 0; r < in->nroles; r++) {
			fl_buf_clear(&id2);
			node_id(&id2, "r_", in->name, in->roles[r].name);
			if (dot)
				fl_buf_printf(
				    &out, "  %s [label=\"%s\", shape=diamond];\n  %s -> %s;\n",
				    id2.ptr, cli_printable(in->roles[r].name), id.ptr, id2.ptr);
			else
				fl_buf_printf(&out, "  %s{\"%s\"}\n  %s --> %s\n", id2.ptr,
				              cli_printable(in->roles[r].name), id.ptr, id2.ptr);
			for (size_t k = 0; k < in->roles[r].machines.n; k++) {
				struct fl_buf mid = FL_BUF_INIT;
				node_id(&mid, "m_", in->roles[r].machines.v[k], NULL);
				fl_buf_printf(&out, dot ? "  %s -> %s;\n" : "  %s --> %s\n",
				              id2.ptr, mid.ptr);
				fl_buf_free(&mid);
			}
		}
	}
	if (dot)
		fl_buf_puts(&out, "}\n");
	fwrite(out.ptr, 1, out.len, stdout);
	fl_buf_free(&out);
	fl_buf_free(&id);
	fl_buf_free(&id2);
	rc = CLI_EXIT_OK;
out:
	cli_flake_free(&ctx);
	return rc;
}

const struct cli_verb cmd_inventory_verbs[] = {
    {"list", inventory_list, "list machines (class, system, tags, target)", &list_cmd},
    {"show", inventory_show, "show one machine", &show_cmd},
    {"tags", inventory_tags, "list tags and their machines", &tags_cmd},
    {"instances", inventory_instances, "list service instances", &instances_cmd},
    {"roles", inventory_roles, "list an instance's roles and resolved machines", &roles_cmd},
    {"validate", inventory_validate, "check the configuration, listing every problem",
     &validate_cmd},
    {"graph", inventory_graph, "draw instances → roles → machines (dot, mermaid)", &graph_cmd},
    {NULL, NULL, NULL, NULL},
};

int cmd_inventory_main(int argc, char **argv)
{
	return cli_dispatch("inventory",
	                    "Machines, tags, service instances and roles of the flake.",
	                    cmd_inventory_verbs, argc, argv);
}
