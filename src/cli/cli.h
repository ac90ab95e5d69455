/*
 * The CLI layer: commands are described by data (after tmux's cmd_entry) so usage,
 * help and the rejection of unknown flags are the same everywhere and can never drift
 * from what exists.
 */
#ifndef FLEET_CLI_H
#define FLEET_CLI_H

#include <stdio.h>

#include "fleet/buf.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* One flag of a command. `id` is what cli_next_flag returns: the short option
 * character, or a value >= 256 for long-only flags. */
struct cli_flag {
	const char *name; /* long name, without "--" */
	int id;
	const char *arg; /* argument name for help, NULL if the flag takes none */
	const char *help;
};

struct cli_command {
	const char *path;  /* "age", "age keygen" */
	const char *usage; /* what follows the path in the synopsis */
	const char *summary;
	const char *details;          /* optional paragraph(s) after the flags */
	const struct cli_flag *flags; /* terminated by an entry with name == NULL */
};

/* A family's verbs (after wireguard-tools' subcommand table). */
struct cli_verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const struct cli_command *cmd; /* its usage and flags: help, completion, man page */
};

/* A command family (src/cli/main.c's table): `fleet <name> …`. */
struct cli_family {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const struct cli_verb *verbs;  /* NULL-terminated, or NULL when it has none */
	const struct cli_command *cmd; /* set when the family itself takes flags (age, man) */
};

/* The families, terminated by an entry with name == NULL (defined in main.c). */
extern const struct cli_family cli_families[];

/* Options that may stand anywhere before the verb (`fleet --flake X inventory list`,
 * `fleet inventory --json list`), as git's -C and nix's --option do. They are handed on
 * to the verb, whose own flag table decides whether it takes them. Long names only;
 * terminated by an entry with name == NULL (defined in flake.c). */
extern const struct cli_flag cli_global_flags[];
/* The length of the global option at argv[i] with its value (1 or 2), or 0 if argv[i]
 * is not one; -1 after a usage error when its value is missing (`fleet --flake`). */
int cli_global_option_len(int argc, char **argv, int i);
/* Moves the global options at argv[from..at) behind argv[at]: the word they preceded
 * comes first, so argv + from is [word, options…, rest…]. */
void cli_hand_on_globals(char **argv, int from, int at);

struct cli_parser {
	const struct cli_command *cmd;
	int argc;
	char **argv;
	int optind;
	const char *optarg;
	int cluster; /* position inside a cluster of short flags (-ad) */
	char **pos;  /* positionals seen so far */
	int npos;
	int done;
};

void cli_parser_init(struct cli_parser *p, const struct cli_command *cmd, int argc, char **argv);
/* Returns the next flag's id; -1 when flags are over (positionals start at p->optind);
 * CLI_HELP after printing help; CLI_BAD after printing a usage error. */
#define CLI_HELP (-2)
#define CLI_BAD (-3)
int cli_next_flag(struct cli_parser *p);
/* For a caller that stops before cli_next_flag returned -1, CLI_HELP or CLI_BAD (a flag
 * value it rejects): frees what the parser holds. */
void cli_parser_free(struct cli_parser *p);

void cli_print_help(FILE *f, const struct cli_command *cmd);
void cli_print_verbs(FILE *f, const char *family, const char *summary,
                     const struct cli_verb *verbs);
/* Dispatches argv[1] among verbs (argv[0] is the family name); handles --help. */
int cli_dispatch(const char *family, const char *summary, const struct cli_verb *verbs, int argc,
                 char **argv);

/* "fleet: <message>" on stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* s as it may be shown on a terminal (fl_buf_put_printable): s itself when it has nothing
 * to escape, else a copy valid for the next 7 calls. Every value from a flake in a human
 * table or listing goes through it. NULL stays NULL. */
const char *cli_printable(const char *s);
/* Prints the library's last error; returns CLI_EXIT_FAIL. */
int cli_fail_lib(void);
/* A usage error with a pointer to --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads a passphrase from the controlling terminal with echo off (or from an inherited
 * file descriptor when fd >= 0). `confirm` asks twice. Fills a FL_BUF_SECRET buffer. */
int cli_read_passphrase(const char *prompt, int confirm, int fd, struct fl_buf *out);

/* While set, a fatal signal (INT, TERM, HUP, QUIT) removes `path` before the process
 * dies, so an interrupted command leaves no temporary file behind. NULL disarms. */
void cli_remove_on_signal(const char *path);

/* Holds back INT, QUIT, TERM and HUP (they stay pending) until cli_signals_release,
 * which delivers them: plaintext in a private directory is wiped before fleet dies. */
void cli_signals_hold(void);
void cli_signals_release(void);
/* The held-back signal waiting to be delivered, or 0. */
int cli_signals_pending(void);
/* Prints `message` and waits for Enter on standard input, a terminal. Ctrl-C, end of
 * input or no terminal: FL_E_CANCELLED. */
int cli_wait_enter(const char *message);

#endif
