/* Entry points of the command families, one file each (src/cli/cmd_<family>.c). */
#ifndef FLEET_CLI_COMMANDS_H
#define FLEET_CLI_COMMANDS_H

int cmd_age_main(int argc, char **argv);
int cmd_sops_main(int argc, char **argv);
int cmd_inventory_main(int argc, char **argv);
int cmd_machines_main(int argc, char **argv);

#endif
