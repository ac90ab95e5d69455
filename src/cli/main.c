/* fleet: a table of command families and a loop (after wireguard-tools' wg.c). */
#include "cli/cli.h"
#include "cli/commands.h"
#include "fleet/error.h"
#include "fleet/process.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

const struct cli_family cli_families[] = {
    {"age", cmd_age_main, "encrypt and decrypt files with age (age(1)-compatible)", cmd_age_verbs,
     &cmd_age_command},
    {"sops", cmd_sops_main, "read and write sops files with age (sops-compatible)", cmd_sops_verbs,
     NULL},
    {"inventory", cmd_inventory_main, "machines, tags, service instances and roles",
     cmd_inventory_verbs, NULL},
    {"machines", cmd_machines_main, "list and create machines", cmd_machines_verbs, NULL},
    {"completion", cmd_completion_main, "print a shell completion script (bash, zsh, fish)",
     cmd_completion_verbs, NULL},
    {"man", cmd_man_main, "print the fleet(1) manual page (roff)", NULL, &cmd_man_command},
    {NULL, NULL, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: fleet [global options] <command> [options]\n\n"
	             "Manage a fleet of NixOS and nix-darwin machines from one flake.\n\n"
	             "Commands:\n");
	for (const struct cli_family *f = cli_families; f->name; f++)
		fprintf(out, "  %-12s %s\n", f->name, f->summary);
	fprintf(out, "\nGlobal options (also after the command, before its verb):\n");
	for (const struct cli_flag *f = cli_global_flags; f->name; f++) {
		char left[64];
		snprintf(left, sizeof(left), "--%s%s%s", f->name, f->arg ? " " : "",
		         f->arg ? f->arg : "");
		fprintf(out, "  %-24s %s\n", left, f->help);
	}
	fprintf(out, "  %-24s %s\n  %-24s %s\n", "--version", "print the version", "-h, --help",
	        "show this help");
	fprintf(out, "\nRun 'fleet <command> --help' or 'fleet help <command> [verb]' for more.\n");
}

static int is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

static int run_family(int argc, char **argv);

/* fleet help FAMILY [VERB] = fleet FAMILY [VERB] --help */
static int help(int argc, char **argv)
{
	char *args[4] = {"fleet", NULL, NULL, NULL};
	if (argc < 2 || argc > 3) {
		usage(argc < 2 ? stdout : stderr);
		return argc < 2 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	args[1] = argv[1];
	args[2] = argc == 3 ? argv[2] : "--help";
	args[3] = argc == 3 ? "--help" : NULL;
	return run_family(argc + 1, args);
}

static int run_family(int argc, char **argv)
{
	int i = 1, n;
	for (; i < argc; i += n) {
		if (is_help(argv[i])) {
			usage(stdout);
			return CLI_EXIT_OK;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("fleet %s\n", FLEET_VERSION);
			return CLI_EXIT_OK;
		}
		if ((n = cli_global_option_len(argc, argv, i)) == 0)
			break;
		if (n < 0)
			return CLI_EXIT_USAGE;
	}
	if (i >= argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help"))
		return help(argc - i, argv + i);
	if (!strcmp(argv[i], "version")) {
		printf("fleet %s\n", FLEET_VERSION);
		return CLI_EXIT_OK;
	}
	for (const struct cli_family *f = cli_families; f->name; f++)
		if (!strcmp(argv[i], f->name)) {
			cli_hand_on_globals(argv, 1, i);
			return f->run(argc - 1, argv + 1);
		}
	if (argv[i][0] == '-')
		fprintf(stderr,
		        "fleet: unknown option %s\nRun 'fleet --help' for the global options.\n",
		        argv[i]);
	else
		fprintf(stderr, "fleet: unknown command '%s'\nRun 'fleet --help' for the list.\n",
		        argv[i]);
	return CLI_EXIT_USAGE;
}

/* Children run in process groups of their own (see fl_proc_signal_all): a signal that
 * ends fleet is passed on to them, then ends fleet as it would have. */
static void pass_on_and_die(int sig)
{
	fl_proc_signal_all(sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void pass_signals_to_children(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;
		/* A signal ignored by whoever started fleet (nohup, a background job) stays so. */
		if (sigaction(sigs[i], NULL, &old) < 0 || old.sa_handler == SIG_IGN)
			continue;
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = pass_on_and_die;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

int main(int argc, char **argv)
{
	/* Before any key or plaintext is in memory. */
	if (fl_core_dumps_disable() < 0)
		fprintf(stderr, "fleet: warning: %s\n", fl_error_last()->message);
	pass_signals_to_children();
	return run_family(argc, argv);
}
