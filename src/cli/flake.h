/* What every flake-reading command shares: --flake, --no-cache, --option, --json, and
 * loading the inventory once. */
#ifndef FLEET_CLI_FLAKE_H
#define FLEET_CLI_FLAKE_H

#include <jansson.h>

#include "cli/cli.h"
#include "fleet/inventory.h"

enum { CLI_OPT_FLAKE = 300, CLI_OPT_NO_CACHE, CLI_OPT_OPTION, CLI_OPT_JSON };

#define CLI_FLAKE_FLAGS                                                                            \
	{"flake", CLI_OPT_FLAKE, "PATH",                                                           \
	 "the flake (default: $FLEET_FLAKE, else the nearest flake.nix upwards)"},                 \
	    {"no-cache", CLI_OPT_NO_CACHE, NULL, "evaluate even if the cache has the answer"},     \
	{                                                                                          \
		"option", CLI_OPT_OPTION, "NAME=VALUE",                                            \
		    "pass --option NAME VALUE to nix (repeatable)"                                 \
	}

#define CLI_JSON_FLAG                                                                              \
	{                                                                                          \
		"json", CLI_OPT_JSON, NULL, "print JSON instead of a table"                        \
	}

struct cli_flake {
	const char *flake_arg;
	int no_cache, json;
	int want_generators;  /* set before cli_flake_load by commands that show generators */
	const char **options; /* name, value pairs for nix */
	size_t noptions;
	struct fl_nix nix;
	struct fl_buf flake;
	struct fl_inventory inv;
	int loaded;
};

/* Handles the shared flags; returns 1 if the flag was one of them, 0 if not, or
 * CLI_EXIT_USAGE on a bad value. */
int cli_flake_flag(struct cli_flake *ctx, const struct cli_command *cmd, int id, const char *arg);
/* What a command does when the fleet declares problems (docs/contract.md, "Reading it"). */
enum cli_problems {
	CLI_PROBLEMS_REFUSE, /* generating, deploying: list them and exit 1 */
	CLI_PROBLEMS_WARN,   /* reading: answer, with a warning on stderr naming their count */
	CLI_PROBLEMS_REPORT, /* validate: the command reports them itself */
};

/* Finds the flake and loads its inventory. */
int cli_flake_load(struct cli_flake *ctx, enum cli_problems problems);
void cli_flake_free(struct cli_flake *ctx);

/* Prints JSON (indented) on stdout and frees it. */
int cli_print_json(json_t *j);

/* Machines as a table (or a JSON list): name, class, system, tags, target. */
int cli_machines_table(const struct fl_inventory *inv, const size_t *idx, size_t n, int json);
json_t *cli_machine_json(const struct fl_machine *m, int full);
json_t *cli_strv_json(const struct fl_strv *v);

/* A plain text table: header and rows of columns, padded to the widest cell. */
struct cli_table {
	size_t ncols, nrows, cap;
	char **cells; /* row-major, nrows * ncols, header first */
};
void cli_table_init(struct cli_table *t, size_t ncols, const char *const *header);
void cli_table_row(struct cli_table *t, const char *const *cols);
void cli_table_print(struct cli_table *t);

#endif
