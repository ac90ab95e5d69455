/* fleet machines: list and create (build, update, status, rollback, diff follow). */
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/flake.h"
#include "fleet/error.h"
#include "fleet/fileio.h"
#include "fleet/git.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_CLASS = 500, OPT_SYSTEM, OPT_TAGS, OPT_TARGET };

static const struct cli_flag list_flags[] = {CLI_FLAKE_FLAGS, CLI_JSON_FLAG, {NULL, 0, NULL, NULL}};
static const struct cli_flag create_flags[] = {
    {"class", OPT_CLASS, "nixos|darwin", "the machine class (required)"},
    {"system", OPT_SYSTEM, "SYSTEM", "e.g. x86_64-linux, aarch64-darwin (required)"},
    {"tags", OPT_TAGS, "a,b", "comma-separated tags"},
    {"target-host", OPT_TARGET, "USER@HOST", "where deployments go"},
    CLI_FLAKE_FLAGS,
    {NULL, 0, NULL, NULL}};

static const struct cli_command list_cmd = {
    "machines list", "[SELECTOR…] [--json]", "List machines (all, or those selected).",
    "SELECTOR: a machine name, @tag, or a shell glob (web*).", list_flags};
static const struct cli_command create_cmd = {
    "machines create", "NAME --class nixos|darwin --system SYSTEM [--tags a,b] [--target-host H]",
    "Add a machine to inventory.json at the flake root and scaffold modules/hosts/NAME.",
    "Both files are added to git so Nix sees them. An existing machine is never overwritten.",
    create_flags};

static int machines_list(int argc, char **argv)
{
	struct cli_flake ctx = {0};
	struct cli_parser p;
	int c, rc = CLI_EXIT_USAGE;
	cli_parser_init(&p, &list_cmd, argc, argv);
	while ((c = cli_next_flag(&p)) != -1) {
		if (c == CLI_HELP) {
			rc = CLI_EXIT_OK;
			goto out;
		}
		int r =
		    c == CLI_BAD ? CLI_EXIT_USAGE : cli_flake_flag(&ctx, &list_cmd, c, p.optarg);
		if (r != 1) {
			rc = r ? r : CLI_EXIT_USAGE;
			cli_parser_free(&p);
			goto out;
		}
	}
	if ((rc = cli_flake_load(&ctx, CLI_PROBLEMS_WARN)) != 0)
		goto out;
	size_t *idx = NULL, n = 0;
	if (fl_inventory_select(&ctx.inv, (const char *const *)p.argv + p.optind,
	                        (size_t)(p.argc - p.optind), &idx, &n) < 0) {
		rc = cli_fail_lib();
		goto out;
	}
	rc = cli_machines_table(&ctx.inv, idx, n, ctx.json);
	free(idx);
out:
	cli_flake_free(&ctx);
	return rc;
}

static int valid_tag(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

static int valid_system(const char *s)
{
	/* <arch>-<os>: x86_64-linux, aarch64-darwin, riscv64-linux, … */
	const char *dash = strchr(s, '-');
	if (!dash || dash == s || !dash[1])
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

static char *scaffold(const char *name, const char *cls)
{
	struct fl_buf b = FL_BUF_INIT;
	int darwin = !strcmp(cls, "darwin");
	/* The seed fleet's deferred-module style: the host is a flake.modules entry that
	 * imports the shared base modules. */
	fl_buf_printf(
	    &b,
	    "# %s: created by `fleet machines create`. The machine itself (class, system,\n"
	    "# tags, deploy target) is declared in inventory.json at the flake root.\n"
	    "{ config, ... }:\n"
	    "{\n"
	    "  flake.modules.%s.\"hosts/%s\" = {\n"
	    "    imports = [ config.flake.modules.%s.base ];\n"
	    "\n"
	    "    networking.hostName = \"%s\";\n"
	    "    system.stateVersion = %s;\n"
	    "  };\n"
	    "}\n",
	    name, cls, name, cls, name, darwin ? "5" : "\"25.05\"");
	return fl_buf_detach(&b);
}

/* Adds the machine to inventory.json, editing the file's text: the rest stays as it was. */
static int write_inventory_json(const char *path, const struct fl_inventory_json_machine *m)
{
	struct fl_buf in = FL_BUF_INIT, out = FL_BUF_INIT;
	struct stat st;
	int exists = stat(path, &st) == 0;
	int rc = exists ? fl_read_file(path, &in, 64u << 20) : 0;
	if (rc == 0)
		rc = fl_inventory_json_add_machine(in.ptr ? in.ptr : "", in.len, m, &out);
	if (rc == 0)
		rc = fl_write_file_atomic(path, out.ptr, out.len, exists ? st.st_mode & 0777 : 0644,
		                          0);
	if (rc < 0)
		fl_error_prefix("%s: ", path);
	fl_buf_free(&in);
	fl_buf_free(&out);
	return rc;
}

static int mkdirs(const char *dir)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return fl_error_set_os("cannot create %s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return fl_error_set_os("cannot create %s", tmp);
	return 0;
}

static int machines_create(int argc, char **argv)
{
	struct cli_flake ctx = {0};
	struct cli_parser p;
	const char *cls = NULL, *system = NULL, *tags = NULL, *target = NULL;
	int c, rc = CLI_EXIT_USAGE;
	cli_parser_init(&p, &create_cmd, argc, argv);
	while ((c = cli_next_flag(&p)) != -1) {
		switch (c) {
		case OPT_CLASS:
			cls = p.optarg;
			continue;
		case OPT_SYSTEM:
			system = p.optarg;
			continue;
		case OPT_TAGS:
			tags = p.optarg;
			continue;
		case OPT_TARGET:
			target = p.optarg;
			continue;
		case CLI_HELP:
			rc = CLI_EXIT_OK;
			goto out;
		case CLI_BAD:
			goto out;
		}
		int r = cli_flake_flag(&ctx, &create_cmd, c, p.optarg);
		if (r != 1) {
			rc = r ? r : CLI_EXIT_USAGE;
			cli_parser_free(&p);
			goto out;
		}
	}
	if (p.argc - p.optind != 1) {
		rc = cli_usage_error(&create_cmd, "give exactly one machine NAME");
		goto out;
	}
	const char *name = p.argv[p.optind];
	if (!fl_inventory_machine_name_valid(name)) {
		rc = cli_usage_error(&create_cmd,
		                     "\"%s\" is not a valid machine name: a letter or digit, then "
		                     "letters, digits, '_' and '-' (^[A-Za-z0-9][A-Za-z0-9_-]*$)",
		                     name);
		goto out;
	}
	if (!cls || (strcmp(cls, "nixos") && strcmp(cls, "darwin"))) {
		rc = cli_usage_error(&create_cmd,
		                     cls ? "--class is nixos or darwin, not '%s'"
		                         : "missing --class%s: nixos or darwin",
		                     cls ? cls : "");
		goto out;
	}
	if (!system || !valid_system(system)) {
		rc = cli_usage_error(
		    &create_cmd,
		    system ? "--system looks like x86_64-linux or aarch64-darwin "
		             "(<arch>-<os>), not '%s'"
		           : "missing --system%s: e.g. x86_64-linux or aarch64-darwin",
		    system ? system : "");
		goto out;
	}
	if (tags) {
		char *copy = strdup(tags);
		int ok = copy != NULL;
		for (char *tok = copy ? strtok(copy, ",") : NULL; tok; tok = strtok(NULL, ","))
			ok &= valid_tag(tok);
		free(copy);
		if (!ok) {
			rc = cli_usage_error(&create_cmd,
			                     "--tags: tags are letters, digits, '-', '_' and '.', "
			                     "separated by commas");
			goto out;
		}
	}
	if ((rc = cli_flake_load(&ctx, CLI_PROBLEMS_WARN)) != 0)
		goto out;
	rc = CLI_EXIT_FAIL;
	if (fl_inventory_machine(&ctx.inv, name)) {
		cli_fail("machine \"%s\" already exists in %s; nothing was changed", name,
		         ctx.flake.ptr);
		goto out;
	}
	char hostdir[4096], hostfile[4200], invfile[4200];
	snprintf(hostdir, sizeof(hostdir), "%s/modules/hosts/%s", ctx.flake.ptr, name);
	snprintf(hostfile, sizeof(hostfile), "%s/default.nix", hostdir);
	snprintf(invfile, sizeof(invfile), "%s/inventory.json", ctx.flake.ptr);
	struct stat st;
	if (stat(hostfile, &st) == 0) {
		cli_fail("%s already exists; nothing was changed", hostfile);
		goto out;
	}
	char *text = scaffold(name, cls);
	if (!text || mkdirs(hostdir) < 0 ||
	    fl_write_file_atomic(hostfile, text, strlen(text), 0644, 1) < 0) {
		free(text);
		cli_fail_lib();
		goto out;
	}
	free(text);
	struct fl_inventory_json_machine m = {name, cls, system, target, NULL, 0};
	char *tag_copy = tags ? strdup(tags) : NULL;
	const char **tag_v = calloc(tags ? strlen(tags) + 1 : 1, sizeof(char *));
	for (char *tok = tag_copy && tag_v ? strtok(tag_copy, ",") : NULL; tok;
	     tok = strtok(NULL, ","))
		tag_v[m.ntags++] = tok;
	m.tags = tag_v;
	int written = (tags && (!tag_copy || !tag_v)) ? fl_error_set(FL_E_NOMEM, "out of memory")
	                                              : write_inventory_json(invfile, &m);
	free(tag_copy);
	free(tag_v);
	if (written < 0) {
		unlink(hostfile);
		rmdir(hostdir);
		cli_fail_lib();
		goto out;
	}
	const char *added[] = {invfile, hostfile};
	int git = fl_git_add(added, 2);
	if (git < 0) {
		cli_fail_lib();
		goto out;
	}
	printf("created machine %s (%s, %s)\n  %s\n  %s%s\n", name, cls, system, invfile, hostfile,
	       git == 0 ? "\n(both added to git, so Nix sees them)" : "");
	rc = CLI_EXIT_OK;
out:
	cli_flake_free(&ctx);
	return rc;
}

const struct cli_verb cmd_machines_verbs[] = {
    {"list", machines_list, "list machines", &list_cmd},
    {"create", machines_create, "add a machine to the inventory and scaffold its module",
     &create_cmd},
    {NULL, NULL, NULL, NULL},
};

int cmd_machines_main(int argc, char **argv)
{
	return cli_dispatch("machines", "The fleet's machines.", cmd_machines_verbs, argc, argv);
}
