#include "cli/cli.h"
#include "fleet/error.h"
#include "fleet/process.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

static const struct cli_flag help_flag = {"help", 'h', NULL, "show this help"};

static const struct cli_flag *find_long(const struct cli_command *cmd, const char *name, size_t len)
{
	for (const struct cli_flag *f = cmd->flags; f && f->name; f++)
		if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
			return f;
	if (len == 4 && strncmp(name, "help", 4) == 0)
		return &help_flag;
	return NULL;
}

static const struct cli_flag *find_short(const struct cli_command *cmd, int c)
{
	for (const struct cli_flag *f = cmd->flags; f && f->name; f++)
		if (f->id == c && c < 256)
			return f;
	if (c == 'h')
		return &help_flag;
	return NULL;
}

void cli_parser_init(struct cli_parser *p, const struct cli_command *cmd, int argc, char **argv)
{
	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->argc = argc;
	p->argv = argv;
	p->optind = 1;
}

/* All flags are parsed wherever they stand; positionals keep their order and end up in
 * argv[optind…argc) once the flags are over (everything after "--" is positional). */
static int finish_positionals(struct cli_parser *p)
{
	for (int i = 0; i < p->npos; i++)
		p->argv[1 + i] = p->pos[i];
	p->optind = 1;
	p->argc = 1 + p->npos;
	free(p->pos);
	p->pos = NULL;
	p->done = 1;
	return -1;
}

void cli_parser_free(struct cli_parser *p)
{
	free(p->pos);
	p->pos = NULL;
	p->done = 1;
}

static int bail(struct cli_parser *p, int rc)
{
	free(p->pos);
	p->pos = NULL;
	p->done = 1;
	return rc;
}

int cli_next_flag(struct cli_parser *p)
{
	p->optarg = NULL;
	if (p->done)
		return -1;
	if (!p->pos && !(p->pos = calloc((size_t)p->argc + 1, sizeof(char *))))
		return cli_usage_error(p->cmd, "out of memory"), CLI_BAD;
	while (p->optind < p->argc) {
		char *a = p->argv[p->optind];
		if (p->cluster == 0 && strcmp(a, "--") == 0) {
			for (int i = p->optind + 1; i < p->argc; i++)
				p->pos[p->npos++] = p->argv[i];
			p->optind = p->argc;
			break;
		}
		if (p->cluster == 0 && (a[0] != '-' || a[1] == '\0')) {
			p->pos[p->npos++] = a;
			p->optind++;
			continue;
		}
		const struct cli_flag *f;
		if (a[1] == '-' && p->cluster == 0) {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			f = find_long(p->cmd, name, len);
			if (!f) {
				cli_usage_error(p->cmd, "unknown option --%.*s", (int)len, name);
				return bail(p, CLI_BAD);
			}
			p->optind++;
			if (f->arg) {
				if (eq) {
					p->optarg = eq + 1;
				} else if (p->optind < p->argc) {
					p->optarg = p->argv[p->optind++];
				} else {
					cli_usage_error(p->cmd, "option --%s needs %s", f->name,
					                f->arg);
					return bail(p, CLI_BAD);
				}
			} else if (eq) {
				cli_usage_error(p->cmd, "option --%s takes no value", f->name);
				return bail(p, CLI_BAD);
			}
		} else {
			int pos = p->cluster ? p->cluster : 1;
			int c = (unsigned char)a[pos];
			f = find_short(p->cmd, c);
			if (!f) {
				p->cluster = 0;
				p->optind++;
				cli_usage_error(p->cmd, "unknown option -%c", c);
				return bail(p, CLI_BAD);
			}
			if (f->arg) {
				p->cluster = 0;
				p->optind++;
				if (a[pos + 1]) {
					p->optarg = a + pos + 1;
				} else if (p->optind < p->argc) {
					p->optarg = p->argv[p->optind++];
				} else {
					cli_usage_error(p->cmd, "option -%c needs %s", c, f->arg);
					return bail(p, CLI_BAD);
				}
			} else if (a[pos + 1]) {
				p->cluster = pos + 1;
			} else {
				p->cluster = 0;
				p->optind++;
			}
		}
		if (f == &help_flag) {
			cli_print_help(stdout, p->cmd);
			return bail(p, CLI_HELP);
		}
		return f->id;
	}
	return finish_positionals(p);
}

void cli_print_help(FILE *out, const struct cli_command *cmd)
{
	fprintf(out, "Usage: fleet %s %s\n\n%s\n", cmd->path, cmd->usage, cmd->summary);
	fprintf(out, "\nOptions:\n");
	for (const struct cli_flag *f = cmd->flags; f && f->name; f++) {
		char left[64];
		if (f->id < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", f->id, f->name,
			         f->arg ? " " : "", f->arg ? f->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", f->name, f->arg ? " " : "",
			         f->arg ? f->arg : "");
		fprintf(out, "  %-28s %s\n", left, f->help);
	}
	fprintf(out, "  %-28s %s\n", "-h, --help", help_flag.help);
	if (cmd->details)
		fprintf(out, "\n%s\n", cmd->details);
}

void cli_print_verbs(FILE *out, const char *family, const char *summary,
                     const struct cli_verb *verbs)
{
	fprintf(out, "Usage: fleet %s <command> [options]\n\n%s\n\nCommands:\n", family, summary);
	for (const struct cli_verb *v = verbs; v->name; v++)
		fprintf(out, "  %-14s %s\n", v->name, v->summary);
	fprintf(out, "\nRun 'fleet %s <command> --help' for a command's options.\n", family);
}

int cli_global_option_len(int argc, char **argv, int i)
{
	const char *a = argv[i];
	if (strncmp(a, "--", 2) != 0)
		return 0;
	const char *eq = strchr(a + 2, '=');
	size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
	for (const struct cli_flag *f = cli_global_flags; f->name; f++) {
		if (strlen(f->name) != len || strncmp(f->name, a + 2, len) != 0)
			continue;
		if (!f->arg || eq)
			return 1;
		if (i + 1 < argc)
			return 2;
		fprintf(stderr,
		        "fleet: option --%s needs %s\nRun 'fleet --help' for the global options.\n",
		        f->name, f->arg);
		return -1;
	}
	return 0;
}

void cli_hand_on_globals(char **argv, int from, int at)
{
	char *word = argv[at];
	memmove(argv + from + 1, argv + from, (size_t)(at - from) * sizeof(char *));
	argv[from] = word;
}

static int is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

int cli_dispatch(const char *family, const char *summary, const struct cli_verb *verbs, int argc,
                 char **argv)
{
	int i = 1, n = 0;
	while (i < argc && !is_help(argv[i]) && (n = cli_global_option_len(argc, argv, i)) > 0)
		i += n;
	if (i < argc && n < 0)
		return CLI_EXIT_USAGE;
	if (i >= argc) {
		cli_print_verbs(stderr, family, summary, verbs);
		return CLI_EXIT_USAGE;
	}
	if (is_help(argv[i]) || (!strcmp(argv[i], "help") && i + 1 >= argc)) {
		cli_print_verbs(stdout, family, summary, verbs);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[i], "help")) {
		/* fleet FAMILY help VERB = fleet FAMILY VERB --help */
		char *help_argv[] = {argv[i + 1], "--help", NULL};
		for (const struct cli_verb *v = verbs; v->name; v++)
			if (!strcmp(argv[i + 1], v->name))
				return v->run(2, help_argv);
	} else if (argv[i][0] == '-') {
		fprintf(stderr,
		        "fleet %s: unknown option %s before the command\n"
		        "Options here are only the global ones:",
		        family, argv[i]);
		for (const struct cli_flag *f = cli_global_flags; f->name; f++)
			fprintf(stderr, " --%s", f->name);
		fprintf(stderr, ".\nRun 'fleet %s --help' for the commands.\n", family);
		return CLI_EXIT_USAGE;
	} else {
		for (const struct cli_verb *v = verbs; v->name; v++)
			if (!strcmp(argv[i], v->name)) {
				cli_hand_on_globals(argv, 1, i);
				return v->run(argc - 1, argv + 1);
			}
	}
	const char *name = !strcmp(argv[i], "help") ? argv[i + 1] : argv[i];
	fprintf(stderr, "fleet %s: unknown command '%s'\nRun 'fleet %s --help' for the list.\n",
	        family, name, family);
	return CLI_EXIT_USAGE;
}

/* Pass-through when there is nothing to escape: tables of a thousand machines print
 * without a copy per cell. */
static int needs_escape(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '\\' || *p >= 0x80)
			return 1;
	return 0;
}

const char *cli_printable(const char *s)
{
	/* A few results live at once (several in one printf); each is reused later. */
	static struct fl_buf ring[8];
	static unsigned next;
	if (!s || !needs_escape(s))
		return s;
	struct fl_buf *b = &ring[next++ % 8];
	fl_buf_clear(b);
	if (fl_buf_put_printable(b, s, strlen(s), 0) < 0)
		return "(out of memory)";
	return b->ptr;
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct fl_buf msg = FL_BUF_INIT, shown = FL_BUF_INIT;
	/* Messages name machines, files and values from a flake: never raw escapes. */
	if (fl_buf_vprintf(&msg, fmt, ap) == 0 &&
	    fl_buf_put_printable(&shown, msg.ptr, msg.len, 1) == 0)
		fprintf(stderr, "fleet: %s\n", shown.ptr);
	else
		fputs("fleet: out of memory\n", stderr);
	va_end(ap);
	fl_buf_free(&msg);
	fl_buf_free(&shown);
	return CLI_EXIT_FAIL;
}

int cli_fail_lib(void)
{
	const struct fl_error *e = fl_error_last();
	const char *msg = e->message[0] ? e->message : "unknown error";
	/* Each thing said once: "a.yaml: cannot open a.yaml: …" loses the prefix that the
	 * rest of the message repeats (a caller prefixed what the library already named). */
	const char *colon = strstr(msg, ": ");
	if (colon && colon > msg) {
		size_t n = (size_t)(colon - msg);
		for (const char *p = colon + 2; (p = memmem(p, strlen(p), msg, n)) != NULL; p++)
			if (strchr(": \"'", p[n])) /* the whole name, not a longer one ('\0' too) */
				return cli_fail("%s", colon + 2);
	}
	return cli_fail("%s", msg);
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fleet %s: ", cmd->path);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nUsage: fleet %s %s\nRun 'fleet %s --help' for details.\n", cmd->path,
	        cmd->usage, cmd->path);
	va_end(ap);
	return CLI_EXIT_USAGE;
}

static int read_line_fd(int fd, struct fl_buf *out)
{
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fl_error_set_os("cannot read the passphrase");
		if (r == 0 || c == '\n')
			break;
		if (fl_buf_putc(out, c) < 0)
			return -1;
	}
	if (out->len && out->ptr[out->len - 1] == '\r')
		fl_buf_truncate(out, out->len - 1);
	return 0;
}

static int prompt_tty(int tty, const char *prompt, struct fl_buf *out)
{
	struct termios old, quiet;
	int have_termios = tcgetattr(tty, &old) == 0;
	/* Echo goes off before the prompt shows: TCSAFLUSH would otherwise drop what was
	 * typed in answer to a prompt already on the screen. */
	if (have_termios) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tcsetattr(tty, TCSAFLUSH, &quiet);
	}
	int rc = write(tty, prompt, strlen(prompt)) < 0
	             ? fl_error_set_os("cannot write to the terminal")
	             : read_line_fd(tty, out);
	if (have_termios)
		tcsetattr(tty, TCSAFLUSH, &old);
	if (write(tty, "\n", 1) < 0) {
		/* the passphrase was read; a missing newline is cosmetic */
	}
	return rc;
}

int cli_read_passphrase(const char *prompt, int confirm, int fd, struct fl_buf *out)
{
	fl_buf_clear(out);
	if (fd >= 0)
		return read_line_fd(fd, out);
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (tty < 0)
		return fl_error_set(FL_E_INVALID,
		                    "a passphrase is needed but there is no terminal to ask on "
		                    "(use --passphrase-fd N to pass it on a file descriptor)");
	char line[600];
	snprintf(line, sizeof(line), "%s: ", prompt);
	int rc = prompt_tty(tty, line, out);
	if (rc == 0 && confirm) {
		struct fl_buf again = FL_BUF_SECRET;
		rc = prompt_tty(tty, "Confirm passphrase: ", &again);
		if (rc == 0 && (again.len != out->len ||
		                (out->len && memcmp(again.ptr, out->ptr, out->len) != 0)))
			rc = fl_error_set(FL_E_INVALID, "the passphrases do not match");
		fl_buf_free(&again);
	}
	close(tty);
	return rc;
}

static char cleanup_path[4096];
static volatile sig_atomic_t cleanup_armed;

static void remove_and_die(int sig)
{
	if (cleanup_armed)
		unlink(cleanup_path);
	fl_proc_signal_all(sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

void cli_remove_on_signal(const char *path)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	cleanup_armed = 0;
	if (!path || strlen(path) >= sizeof(cleanup_path))
		return;
	memcpy(cleanup_path, path, strlen(path) + 1);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = remove_and_die;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	cleanup_armed = 1;
}
