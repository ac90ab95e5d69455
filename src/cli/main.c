/* fleet: a table of command families and a loop (after wireguard-tools' wg.c). */
#include "cli/cli.h"
#include "cli/commands.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} families[] = {
    {"age", cmd_age_main, "encrypt and decrypt files with age (age(1)-compatible)"},
    {"sops", cmd_sops_main, "read and write sops files with age (sops-compatible)"},
    {"inventory", cmd_inventory_main, "machines, tags, service instances and roles"},
    {"machines", cmd_machines_main, "list and create machines"},
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: fleet <command> [options]\n\n"
	             "Manage a fleet of NixOS and nix-darwin machines from one flake.\n\n"
	             "Commands:\n");
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		fprintf(out, "  %-10s %s\n", families[i].name, families[i].summary);
	fprintf(out, "\nRun 'fleet <command> --help' for more.\n"
	             "  --version  print the version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("fleet %s\n", FLEET_VERSION);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (!strcmp(argv[1], families[i].name))
			return families[i].run(argc - 1, argv + 1);
	fprintf(stderr, "fleet: unknown command '%s'\nRun 'fleet --help' for the list.\n", argv[1]);
	return CLI_EXIT_USAGE;
}
