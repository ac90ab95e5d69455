/* Entry points of the command families, one file each (src/cli/cmd_<family>.c), and their
 * tables: main.c's family table points at them, and so do the help, the completion
 * scripts and the man page, which are generated from them. */
#ifndef FLEET_CLI_COMMANDS_H
#define FLEET_CLI_COMMANDS_H

#include "cli/cli.h"

int cmd_age_main(int argc, char **argv);
int cmd_sops_main(int argc, char **argv);
int cmd_inventory_main(int argc, char **argv);
int cmd_machines_main(int argc, char **argv);
int cmd_completion_main(int argc, char **argv);
int cmd_man_main(int argc, char **argv);

extern const struct cli_command cmd_age_command;
extern const struct cli_verb cmd_age_verbs[];
extern const struct cli_verb cmd_sops_verbs[];
extern const struct cli_verb cmd_inventory_verbs[];
extern const struct cli_verb cmd_machines_verbs[];
extern const struct cli_verb cmd_completion_verbs[];
extern const struct cli_command cmd_man_command;

#endif
