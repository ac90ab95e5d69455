/* fleet sops: sops' everyday verbs on age-encrypted files. */
#include "cli/cli.h"
#include "cli/commands.h"
#include "fleet/error.h"
#include "fleet/fileio.h"
#include "fleet/privdir.h"
#include "fleet/process.h"
#include "fleet/shlex.h"
#include "fleet/sops.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SOPS_FILE_MAX (256u << 20)

extern char **environ;

enum {
	OPT_AGE = 256,
	OPT_INPUT_TYPE,
	OPT_OUTPUT_TYPE,
	OPT_EXTRACT,
	OPT_IGNORE_MAC,
	OPT_UNENC_SUFFIX,
	OPT_ENC_SUFFIX,
	OPT_UNENC_REGEX,
	OPT_ENC_REGEX,
	OPT_MAC_ONLY,
	OPT_VALUE_FILE,
	OPT_VALUE_STDIN,
	OPT_IDEMPOTENT,
	OPT_ADD_AGE,
	OPT_RM_AGE,
	OPT_PRISTINE,
	OPT_SAME_PROCESS,
	OPT_USER,
	OPT_NO_FIFO,
	OPT_FILENAME,
	OPT_SHAMIR,
};

#define FLAG_INPUT_TYPE                                                                            \
	{                                                                                          \
		"input-type", OPT_INPUT_TYPE, "TYPE",                                              \
		    "yaml, json, dotenv, ini or binary (default: from the file name)"              \
	}
#define FLAG_OUTPUT_TYPE                                                                           \
	{                                                                                          \
		"output-type", OPT_OUTPUT_TYPE, "TYPE",                                            \
		    "format to write (default: the input type)"                                    \
	}
#define FLAG_IN_PLACE                                                                              \
	{                                                                                          \
		"in-place", 'i', NULL, "rewrite FILE (atomically) instead of printing"             \
	}
#define FLAG_OUTPUT                                                                                \
	{                                                                                          \
		"output", 'o', "OUT", "write to OUT (atomically) instead of standard output"       \
	}
#define FLAG_AGE                                                                                   \
	{                                                                                          \
		"age", OPT_AGE, "RECIPIENTS",                                                      \
		    "comma-separated age or SSH recipients (default: SOPS_AGE_RECIPIENTS, then "   \
		    ".sops.yaml)"                                                                  \
	}
#define FLAG_IGNORE_MAC                                                                            \
	{                                                                                          \
		"ignore-mac", OPT_IGNORE_MAC, NULL, "decrypt even if the MAC does not verify"      \
	}
#define FLAG_SHAMIR                                                                                \
	{                                                                                          \
		"shamir-secret-sharing-threshold", OPT_SHAMIR, "N",                                \
		    "key groups needed to decrypt (default: .sops.yaml's shamir_threshold, else "  \
		    "all)"                                                                         \
	}
#define FLAGS_END                                                                                  \
	{                                                                                          \
		NULL, 0, NULL, NULL                                                                \
	}

static const struct cli_flag encrypt_flags[] = {
    FLAG_AGE,
    FLAG_INPUT_TYPE,
    FLAG_OUTPUT_TYPE,
    FLAG_IN_PLACE,
    FLAG_OUTPUT,
    {"unencrypted-suffix", OPT_UNENC_SUFFIX, "S", "leave keys ending in S in the clear"},
    {"encrypted-suffix", OPT_ENC_SUFFIX, "S", "encrypt only keys ending in S"},
    {"unencrypted-regex", OPT_UNENC_REGEX, "RE", "leave keys matching RE in the clear"},
    {"encrypted-regex", OPT_ENC_REGEX, "RE", "encrypt only keys matching RE"},
    {"mac-only-encrypted", OPT_MAC_ONLY, NULL, "compute the MAC over encrypted values only"},
    FLAG_SHAMIR,
    FLAGS_END,
};
static const struct cli_flag decrypt_flags[] = {
    {"extract", OPT_EXTRACT, "PATH", "print only the value at PATH, e.g. '[\"db\"][\"password\"]'"},
    FLAG_IGNORE_MAC,
    FLAG_INPUT_TYPE,
    FLAG_OUTPUT_TYPE,
    FLAG_IN_PLACE,
    FLAG_OUTPUT,
    FLAGS_END,
};
static const struct cli_flag edit_flags[] = {FLAG_AGE, FLAG_INPUT_TYPE, FLAG_IGNORE_MAC,
                                             FLAG_SHAMIR, FLAGS_END};
static const struct cli_flag keys_flags[] = {
    {"yes", 'y', NULL, "do not ask for confirmation"},
    FLAG_AGE,
    FLAG_INPUT_TYPE,
    FLAG_SHAMIR,
    FLAGS_END,
};
static const struct cli_flag rotate_flags[] = {
    {"add-age", OPT_ADD_AGE, "RECIPIENTS", "also encrypt to these (comma-separated) recipients"},
    {"rm-age", OPT_RM_AGE, "RECIPIENTS", "stop encrypting to these (comma-separated) recipients"},
    FLAG_INPUT_TYPE,
    FLAG_IN_PLACE,
    FLAG_OUTPUT,
    FLAGS_END,
};
static const struct cli_flag set_flags[] = {
    {"value-stdin", OPT_VALUE_STDIN, NULL,
     "read VALUE from standard input (keeps the secret out of argv and shell history)"},
    {"value-file", OPT_VALUE_FILE, NULL, "VALUE names a file to read the value from"},
    {"idempotent", OPT_IDEMPOTENT, NULL,
     "write nothing if PATH already holds VALUE (as sops set --idempotent)"},
    FLAG_INPUT_TYPE,
    FLAG_IGNORE_MAC,
    FLAGS_END,
};
static const struct cli_flag unset_flags[] = {
    {"idempotent", OPT_IDEMPOTENT, NULL, "succeed without writing if PATH is not there"},
    FLAG_INPUT_TYPE,
    FLAG_IGNORE_MAC,
    FLAGS_END,
};

static const struct cli_flag exec_env_flags[] = {
    {"pristine", OPT_PRISTINE, NULL, "only the decrypted values in the environment, nothing else"},
    {"same-process", OPT_SAME_PROCESS, NULL, "replace fleet with the command (no child process)"},
    {"user", OPT_USER, "USER", "not supported: run fleet as that user instead"},
    FLAG_IGNORE_MAC,
    FLAG_INPUT_TYPE,
    FLAGS_END,
};
static const struct cli_flag exec_file_flags[] = {
    {"no-fifo", OPT_NO_FIFO, NULL, "a regular file instead of a named pipe"},
    {"filename", OPT_FILENAME, "NAME", "the temporary file's name (default: tmp-file)"},
    {"user", OPT_USER, "USER", "not supported: run fleet as that user instead"},
    FLAG_IGNORE_MAC,
    FLAG_INPUT_TYPE,
    FLAG_OUTPUT_TYPE,
    FLAGS_END,
};
static const struct cli_flag filestatus_flags[] = {FLAG_INPUT_TYPE, FLAGS_END};

static const struct cli_command encrypt_cmd = {
    "sops encrypt", "[--age R,…] [-i | -o OUT] [options] FILE",
    "Encrypt FILE's values to age recipients (sops format, readable by sops and sops-nix).",
    "Recipients come from --age, else SOPS_AGE_RECIPIENTS, else the first creation rule of\n"
    "the nearest .sops.yaml whose path_regex matches FILE.",
    encrypt_flags};
static const struct cli_command decrypt_cmd = {
    "sops decrypt", "[--extract PATH] [-i | -o OUT] [options] FILE",
    "Decrypt a sops file after checking its MAC.",
    "Identities are found as sops finds them: SOPS_AGE_KEY, SOPS_AGE_KEY_FILE,\n"
    "SOPS_AGE_KEY_CMD, ~/.config/sops/age/keys.txt, SOPS_AGE_SSH_PRIVATE_KEY_FILE and\n"
    "~/.ssh/id_ed25519 (or id_rsa).",
    decrypt_flags};
static const struct cli_command edit_cmd = {
    "sops edit", "[--age R,…] FILE",
    "Open a plaintext copy of FILE in $SOPS_EDITOR or $EDITOR (in a private tmpfs directory)\n"
    "and re-encrypt it.",
    "Unchanged values keep their exact ciphertext, so a git diff shows only what changed.\n"
    "An edit that does not parse returns to the editor; one that changes nothing exits 200\n"
    "(as sops). The directory is wiped when the editor is done, whatever happens.\n"
    "A FILE that does not exist yet is created.",
    edit_flags};
static const struct cli_command updatekeys_cmd = {
    "sops updatekeys", "[-y] [--age R,…] FILE",
    "Re-wrap FILE's data key for the recipients .sops.yaml (or --age) names now.",
    "The changes are shown and confirmed (y/n on standard input) unless -y is given, as\n"
    "sops asks; a file whose recipients already match is left alone.",
    keys_flags};
static const struct cli_command rotate_cmd = {
    "sops rotate", "[--add-age R,…] [--rm-age R,…] [-i | -o OUT] FILE",
    "Re-encrypt every value of FILE under a new data key, for its recipients plus --add-age\n"
    "minus --rm-age.",
    NULL, rotate_flags};
static const struct cli_command set_cmd = {
    "sops set", "[--value-stdin | --value-file] FILE PATH [VALUE]",
    "Set the value at PATH (e.g. '[\"db\"][\"password\"]') to VALUE, a JSON value, in place.",
    "Only the touched value gets a new ciphertext. With --value-stdin the JSON value is read\n"
    "from standard input and VALUE is left out; with --value-file VALUE is a file holding it:\n"
    "  printf '\"%s\"' \"$pw\" | fleet sops set --value-stdin secrets.yaml '[\"db\"][\"pw\"]'",
    set_flags};
static const struct cli_command exec_env_cmd = {
    "sops exec-env", "[--pristine] [--same-process] FILE COMMAND",
    "Run COMMAND (with /bin/sh -c, as sops) with FILE's top-level values in its environment.",
    "Values that are maps or lists, and keys holding '=', are refused, as in sops. The\n"
    "exit status is COMMAND's. Example: fleet sops exec-env secrets.env 'psql \"$DB_URL\"'",
    exec_env_flags};
static const struct cli_command exec_file_cmd = {
    "sops exec-file", "[--no-fifo] [--filename NAME] FILE COMMAND",
    "Run COMMAND (with /bin/sh -c, as sops) with FILE decrypted into a temporary file, whose\n"
    "path replaces every {} in COMMAND.",
    "The file is a named pipe (readable once) unless --no-fifo, in a private 0700 directory\n"
    "on tmpfs, wiped and removed when COMMAND ends. The exit status is COMMAND's.\n"
    "Example: fleet sops exec-file --no-fifo cert.yaml 'openssl x509 -in {} -noout'",
    exec_file_flags};
static const struct cli_command filestatus_cmd = {
    "sops filestatus", "FILE",
    "Print whether FILE is sops-encrypted, as sops does: {\"encrypted\":true} or false.", NULL,
    filestatus_flags};
static const struct cli_command unset_cmd = {
    "sops unset", "FILE PATH", "Remove the value at PATH, in place.", NULL, unset_flags};

struct sops_args {
	const char *file, *age, *extract, *output;
	const char *input_type, *output_type;
	const char *add_age, *rm_age, *user, *filename;
	int pristine, same_process, no_fifo;
	int in_place, ignore_mac, value_file, value_stdin, idempotent, yes;
	int shamir_threshold;
	struct fl_sops_rules rules;
	int npos;
	char **pos;
};

/* Flag values that can be judged without the file are usage errors (exit 2). */
static int check_flag_values(const struct cli_command *cmd, const struct sops_args *a)
{
	enum fl_sops_format fmt;
	struct fl_sops_path path;
	if (a->input_type && fl_sops_format_parse(a->input_type, &fmt) < 0)
		return cli_usage_error(cmd, "--input-type: %s", fl_error_last()->message);
	if (a->output_type && fl_sops_format_parse(a->output_type, &fmt) < 0)
		return cli_usage_error(cmd, "--output-type: %s", fl_error_last()->message);
	if (a->extract && fl_sops_path_parse(a->extract, &path) < 0)
		return cli_usage_error(cmd, "--extract: %s", fl_error_last()->message);
	if (a->extract)
		fl_sops_path_free(&path);
	return -1;
}

static int parse_args(const struct cli_command *cmd, int argc, char **argv, struct sops_args *a,
                      int want_pos)
{
	struct cli_parser p;
	int c;
	memset(a, 0, sizeof(*a));
	cli_parser_init(&p, cmd, argc, argv);
	while ((c = cli_next_flag(&p)) != -1) {
		switch (c) {
		case OPT_AGE:
			a->age = p.optarg;
			break;
		case OPT_INPUT_TYPE:
			a->input_type = p.optarg;
			break;
		case OPT_OUTPUT_TYPE:
			a->output_type = p.optarg;
			break;
		case OPT_EXTRACT:
			a->extract = p.optarg;
			break;
		case OPT_IGNORE_MAC:
			a->ignore_mac = 1;
			break;
		case 'i':
			a->in_place = 1;
			break;
		case 'o':
			a->output = p.optarg;
			break;
		case OPT_UNENC_SUFFIX:
			a->rules.unencrypted_suffix = strdup(p.optarg);
			break;
		case OPT_ENC_SUFFIX:
			a->rules.encrypted_suffix = strdup(p.optarg);
			break;
		case OPT_UNENC_REGEX:
			a->rules.unencrypted_regex = strdup(p.optarg);
			break;
		case OPT_ENC_REGEX:
			a->rules.encrypted_regex = strdup(p.optarg);
			break;
		case OPT_MAC_ONLY:
			a->rules.mac_only_encrypted = 1;
			break;
		case OPT_VALUE_FILE:
			a->value_file = 1;
			break;
		case OPT_VALUE_STDIN:
			a->value_stdin = 1;
			break;
		case OPT_IDEMPOTENT:
			a->idempotent = 1;
			break;
		case 'y':
			a->yes = 1;
			break;
		case OPT_ADD_AGE:
			a->add_age = p.optarg;
			break;
		case OPT_RM_AGE:
			a->rm_age = p.optarg;
			break;
		case OPT_PRISTINE:
			a->pristine = 1;
			break;
		case OPT_SAME_PROCESS:
			a->same_process = 1;
			break;
		case OPT_USER:
			a->user = p.optarg;
			break;
		case OPT_NO_FIFO:
			a->no_fifo = 1;
			break;
		case OPT_FILENAME:
			a->filename = p.optarg;
			break;
		case OPT_SHAMIR: {
			char *end;
			long v = strtol(p.optarg, &end, 10);
			if (end == p.optarg || *end || v < 1 || v > 255) {
				fl_sops_rules_free(&a->rules);
				return cli_usage_error(cmd,
				                       "--shamir-secret-sharing-threshold needs a "
				                       "number from 1 to 255");
			}
			a->shamir_threshold = (int)v;
			break;
		}
		case CLI_HELP:
			fl_sops_rules_free(&a->rules);
			return CLI_EXIT_OK;
		default:
			fl_sops_rules_free(&a->rules);
			return CLI_EXIT_USAGE;
		}
	}
	a->npos = p.argc - p.optind;
	a->pos = p.argv + p.optind;
	int rc = -1;
	/* sops set: VALUE is left out when it comes from standard input. */
	if (a->value_stdin)
		want_pos--;
	if (a->value_stdin && a->value_file)
		rc = cli_usage_error(cmd, "--value-stdin and --value-file are mutually exclusive");
	else if (a->npos != want_pos)
		rc = cli_usage_error(cmd, a->npos < want_pos ? "missing arguments"
		                                             : "too many arguments");
	else if (a->in_place && a->output)
		rc = cli_usage_error(cmd, "-i and -o are mutually exclusive");
	else if (a->user)
		/* sops switches to USER (setuid, as root); fleet does not change users. */
		rc = cli_usage_error(cmd,
		                     "--user is not supported: run fleet as %s instead "
		                     "(sudo -u %s fleet ...)",
		                     a->user, a->user);
	else
		rc = check_flag_values(cmd, a);
	if (rc >= 0) {
		fl_sops_rules_free(&a->rules);
		return rc;
	}
	a->file = a->pos[0];
	return -1;
}

static int formats(const struct sops_args *a, enum fl_sops_format *in, enum fl_sops_format *out)
{
	*in = fl_sops_format_for_path(a->file);
	if (a->input_type && fl_sops_format_parse(a->input_type, in) < 0)
		return -1;
	*out = *in;
	if (a->output_type && fl_sops_format_parse(a->output_type, out) < 0)
		return -1;
	return 0;
}

static mode_t file_mode(const char *path, mode_t fallback)
{
	struct stat st;
	return stat(path, &st) == 0 ? (st.st_mode & 07777) : fallback;
}

/* Writes to -o OUT, to FILE with -i, else to standard output. */
static int write_result(const struct sops_args *a, const struct fl_buf *data, int plaintext)
{
	const char *target = a->output ? a->output : a->in_place ? a->file : NULL;
	if (!target || !strcmp(target, "-")) {
		if (data->len && fwrite(data->ptr, 1, data->len, stdout) != data->len)
			return fl_error_set_os("cannot write to standard output");
		return fflush(stdout) == 0 ? 0 : fl_error_set_os("cannot write to standard output");
	}
	/* Plaintext is private; an encrypted file keeps the mode of the file it replaces. */
	mode_t mode = plaintext ? 0600 : file_mode(target, 0644);
	return fl_write_file_atomic(target, data->ptr ? data->ptr : "", data->len, mode, 0);
}

static int read_input(const char *path, struct fl_buf *out)
{
	return fl_read_file(path, out, SOPS_FILE_MAX);
}

/* A passphrase-protected SSH key is asked for on the terminal, as sops asks. */
static int ask_passphrase(void *ctx, const char *what, struct fl_buf *out)
{
	(void)ctx;
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (tty < 0)
		return fl_error_set(FL_E_INVALID,
		                    "a %s is needed but there is no terminal to ask on", what);
	close(tty);
	char prompt[600];
	snprintf(prompt, sizeof(prompt), "Enter %s", what);
	return cli_read_passphrase(prompt, 0, -1, out);
}

static const struct fl_age_prompt sops_prompt = {ask_passphrase, NULL};

static int unlock(const struct fl_sops_file *f, uint8_t key[FL_SOPS_KEY_LEN])
{
	struct fl_age_identities ids = {0};
	struct fl_buf searched = FL_BUF_INIT;
	int rc = fl_sops_find_identities(&ids, f, &sops_prompt, &searched);
	if (rc == 0)
		rc = fl_sops_data_key(f, &ids, key);
	int has_age = 0;
	for (size_t g = 0; g < f->md.ngroups; g++)
		has_age |= f->md.groups[g].nage > 0;
	if (rc < 0 && fl_error_last()->klass == FL_E_AGE_NOMATCH && has_age) {
		/* The message is rebuilt from a copy: it cannot be its own format argument. */
		char msg[sizeof(fl_error_last()->message)];
		snprintf(msg, sizeof(msg), "%s", fl_error_last()->message);
		rc = fl_error_set(FL_E_AGE_NOMATCH, "%s (identities looked for in: %s)", msg,
		                  searched.ptr ? searched.ptr : "");
	}
	fl_buf_free(&searched);
	fl_age_identities_free(&ids);
	return rc;
}

/* Loads and decrypts FILE; stash (optional) records IVs for re-encryption. */
static int open_decrypted(const struct sops_args *a, enum fl_sops_format fmt,
                          struct fl_sops_file *f, uint8_t key[FL_SOPS_KEY_LEN],
                          struct fl_sops_stash *stash)
{
	struct fl_buf data = FL_BUF_INIT;
	int rc = read_input(a->file, &data);
	if (rc == 0)
		rc = fl_sops_load(f, data.ptr ? data.ptr : "", data.len, fmt);
	fl_buf_free(&data);
	if (rc < 0)
		return fl_error_prefix("%s: ", a->file);
	if (unlock(f, key) < 0 || fl_sops_decrypt(f, key, a->ignore_mac, stash) < 0) {
		fl_sops_file_free(f);
		return fl_error_prefix("%s: ", a->file);
	}
	return 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Appends the comma-separated recipients of `list` to v (deduplicated later). */
static int split_recipients(const char *list, char ***v, size_t *n)
{
	char *copy = strdup(list);
	if (!copy)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
		while (*tok == ' ' || *tok == '\t' || *tok == '\n')
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
			*--end = '\0';
		if (!*tok)
			continue;
		char **nv = realloc(*v, (*n + 1) * sizeof(char *));
		if (!nv || !(nv[*n] = strdup(tok))) {
			if (nv)
				*v = nv;
			free(copy);
			return fl_error_set(FL_E_NOMEM, "out of memory");
		}
		*v = nv;
		(*n)++;
	}
	free(copy);
	return 0;
}

/* Recipients: --age, then SOPS_AGE_RECIPIENTS, then .sops.yaml (whose rule may hold
 * several key groups); --shamir-secret-sharing-threshold wins over the rule's. */
static int resolve_recipients(const struct sops_args *a, struct fl_sops_creation_rule *rule)
{
	memset(rule, 0, sizeof(*rule));
	const char *list = a->age ? a->age : getenv("SOPS_AGE_RECIPIENTS");
	if (list) {
		char **v = NULL;
		size_t n = 0;
		int rc = split_recipients(list, &v, &n);
		if (rc == 0)
			rc = fl_sops_key_spec_add(&rule->keys, 0, NULL);
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = fl_sops_key_spec_add(&rule->keys, 0, v[i]);
		strv_free(v, n);
		if (rc < 0)
			return -1;
	} else {
		int rc = fl_sops_config_find(a->file, rule);
		if (rule->warning)
			fprintf(stderr, "fleet: warning: %s\n", rule->warning);
		if (rc < 0)
			return -1;
		size_t nage = 0;
		for (size_t g = 0; g < rule->keys.ngroups; g++)
			nage += rule->keys.groups[g].nage;
		if (rc == 1 || (nage == 0 && !rule->keys.foreign))
			return fl_error_set(
			    FL_E_INVALID,
			    "no recipients for %s: pass --age, set SOPS_AGE_RECIPIENTS, or add "
			    "a creation rule with age keys to .sops.yaml%s%s%s",
			    a->file, rule->config_path ? " (found " : "",
			    rule->config_path ? rule->config_path : "",
			    rule->config_path ? ")" : "");
	}
	if (a->shamir_threshold)
		rule->keys.shamir_threshold = a->shamir_threshold;
	return 0;
}

static int sops_encrypt_main(int argc, char **argv)
{
	struct sops_args a;
	int rc = parse_args(&encrypt_cmd, argc, argv, &a, 1);
	if (rc >= 0)
		return rc;
	enum fl_sops_format in, out;
	struct fl_sops_creation_rule rule = {0};
	struct fl_sops_file f = {0};
	struct fl_buf data = FL_BUF_SECRET, result = FL_BUF_INIT;
	uint8_t key[FL_SOPS_KEY_LEN];
	rc = CLI_EXIT_FAIL;
	if (formats(&a, &in, &out) < 0 || resolve_recipients(&a, &rule) < 0 ||
	    fl_sops_rules_resolve(&a.rules, &rule.rules) < 0 || read_input(a.file, &data) < 0 ||
	    fl_sops_load_plain(&f, data.ptr ? data.ptr : "", data.len, in) < 0) {
		fl_error_prefix("%s: ", a.file);
		cli_fail_lib();
		goto out;
	}
	f.md.rules = a.rules;
	memset(&a.rules, 0, sizeof(a.rules));
	randombytes_buf(key, sizeof(key));
	if (fl_sops_set_keys(&f, key, &rule.keys) < 0 || fl_sops_encrypt(&f, key, NULL) < 0 ||
	    fl_sops_emit(&f, out, &result) < 0 || write_result(&a, &result, 0) < 0) {
		fl_error_prefix("%s: ", a.file);
		cli_fail_lib();
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	sodium_memzero(key, sizeof(key));
	fl_sops_rules_free(&a.rules);
	fl_sops_creation_rule_free(&rule);
	fl_sops_file_free(&f);
	fl_buf_free(&data);
	fl_buf_free(&result);
	return rc;
}

static int emit_extract(struct fl_sops_file *f, const char *path, enum fl_sops_format out,
                        struct fl_buf *result)
{
	struct fl_sops_path p;
	if (fl_sops_path_parse(path, &p) < 0)
		return -1;
	struct fl_doc *v = fl_sops_path_get(f, &p);
	fl_sops_path_free(&p);
	if (!v)
		return fl_error_set(FL_E_NOTFOUND, "%s is not in the file", path);
	if (v->type != FL_DOC_MAP && v->type != FL_DOC_LIST)
		return v->type == FL_DOC_NULL ? 0 : fl_buf_put(result, v->text, v->len);
	struct fl_docs one = {0};
	struct fl_doc *copy = fl_doc_clone(v);
	int rc = copy ? fl_docs_append(&one, copy) : -1;
	struct fl_sops_file tmp = {.format = out, .docs = one, .decrypted = 1};
	if (rc == 0)
		rc = fl_sops_emit(&tmp, out == FL_SOPS_BINARY ? FL_SOPS_JSON : out, result);
	fl_docs_free(&one);
	return rc;
}

static int sops_decrypt_main(int argc, char **argv)
{
	struct sops_args a;
	int rc = parse_args(&decrypt_cmd, argc, argv, &a, 1);
	if (rc >= 0)
		return rc;
	enum fl_sops_format in, out;
	struct fl_sops_file f = {0};
	struct fl_buf result = FL_BUF_SECRET;
	uint8_t key[FL_SOPS_KEY_LEN];
	rc = CLI_EXIT_FAIL;
	if (formats(&a, &in, &out) < 0 || open_decrypted(&a, in, &f, key, NULL) < 0) {
		cli_fail_lib();
		goto out;
	}
	int erc =
	    a.extract ? emit_extract(&f, a.extract, out, &result) : fl_sops_emit(&f, out, &result);
	if (erc < 0 && a.extract)
		fl_error_prefix("%s: ", a.file);
	if (erc < 0 || write_result(&a, &result, 1) < 0) {
		cli_fail_lib();
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	sodium_memzero(key, sizeof(key));
	fl_sops_rules_free(&a.rules);
	fl_sops_file_free(&f);
	fl_buf_free(&result);
	return rc;
}

/* Re-encrypts a decrypted file under its data key, keeping unchanged ciphertexts. */
static int reencrypt_and_write(struct sops_args *a, struct fl_sops_file *f, enum fl_sops_format fmt,
                               const uint8_t key[FL_SOPS_KEY_LEN],
                               const struct fl_sops_stash *stash)
{
	struct fl_buf result = FL_BUF_INIT;
	int rc = fl_sops_encrypt(f, key, stash);
	if (rc == 0)
		rc = fl_sops_emit(f, fmt, &result);
	if (rc == 0) {
		a->in_place = 1;
		rc = write_result(a, &result, 0);
	}
	fl_buf_free(&result);
	return rc;
}

/* The JSON value for set: the argument, the file it names, or standard input. A parse
 * error says where, never what: the value is a secret. */
static int read_set_value(const struct sops_args *a, struct fl_docs *value)
{
	struct fl_buf data = FL_BUF_SECRET;
	const char *what = "VALUE";
	int rc;
	if (a->value_stdin) {
		what = "the value on standard input";
		rc = fl_read_file("-", &data, SOPS_FILE_MAX);
	} else if (a->value_file) {
		what = "the value in --value-file";
		rc = fl_read_file(a->pos[2], &data, SOPS_FILE_MAX);
	} else {
		rc = fl_buf_puts(&data, a->pos[2]);
	}
	if (rc == 0 && fl_doc_parse_json(data.ptr ? data.ptr : "", data.len, value) < 0) {
		const char *at = strstr(fl_error_last()->message, "line ");
		char where[64] = "";
		if (at)
			snprintf(where, sizeof(where), " (%.60s)", at);
		rc = fl_error_set(FL_E_INVALID,
		                  "%s is not JSON%s; a string needs quotes: '\"text\"'", what,
		                  where);
	} else if (rc == 0 && value->n != 1) {
		rc = fl_error_set(FL_E_INVALID, "%s must be one JSON value", what);
	}
	fl_buf_free(&data);
	return rc;
}

static int sops_set_common(int argc, char **argv, int unset)
{
	struct sops_args a;
	const struct cli_command *cmd = unset ? &unset_cmd : &set_cmd;
	int rc = parse_args(cmd, argc, argv, &a, unset ? 2 : 3);
	if (rc >= 0)
		return rc;
	enum fl_sops_format in, out;
	struct fl_sops_file f = {0};
	struct fl_sops_path path = {0};
	struct fl_sops_stash *stash = fl_sops_stash_new();
	struct fl_docs value = {0};
	uint8_t key[FL_SOPS_KEY_LEN];
	rc = CLI_EXIT_FAIL;
	if (!stash || formats(&a, &in, &out) < 0) {
		cli_fail_lib();
		goto out;
	}
	if (fl_sops_path_parse(a.pos[1], &path) < 0 || (!unset && read_set_value(&a, &value) < 0)) {
		rc = cli_usage_error(cmd, "%s", fl_error_last()->message);
		goto out;
	}
	if (open_decrypted(&a, in, &f, key, stash) < 0) {
		cli_fail_lib();
		goto out;
	}
	if (a.idempotent) {
		/* sops: set --idempotent writes nothing when PATH holds the value already;
		 * unset --idempotent succeeds when PATH is not there. */
		struct fl_doc *now = fl_sops_path_get(&f, &path);
		if (unset ? !now : now && fl_doc_equal(now, value.v[0], 0)) {
			fprintf(stderr, "fleet: %s: not written, %s\n", a.file,
			        unset ? "the path is not there" : "the value is unchanged");
			rc = CLI_EXIT_OK;
			goto out;
		}
	}
	if (unset) {
		rc = fl_sops_path_unset(&f, &path);
	} else {
		struct fl_doc *v = value.v[0];
		value.v[0] = NULL;
		value.n = 0;
		rc = fl_sops_path_set(&f, &path, v);
	}
	if (rc < 0)
		fl_error_prefix("%s: ", a.pos[1]);
	if (rc < 0 || reencrypt_and_write(&a, &f, in, key, stash) < 0) {
		fl_error_prefix("%s: ", a.file);
		rc = cli_fail_lib();
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	sodium_memzero(key, sizeof(key));
	fl_docs_free(&value);
	fl_sops_path_free(&path);
	fl_sops_stash_free(stash);
	fl_sops_file_free(&f);
	return rc;
}

static int sops_set_main(int argc, char **argv)
{
	return sops_set_common(argc, argv, 0);
}

static int sops_unset_main(int argc, char **argv)
{
	return sops_set_common(argc, argv, 1);
}

static int has_recipient(char *const *list, size_t n, const char *r)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], r))
			return 1;
	return 0;
}

static int group_has(const struct fl_sops_key_group *g, const char *r)
{
	for (size_t i = 0; g && i < g->nage; i++)
		if (!strcmp(g->age[i].recipient, r))
			return 1;
	return 0;
}

/* sops' common.PrettyPrintDiffs for one group (have: the file's, want: the new one,
 * either may be missing): kept recipients indented, then "+++ added", then "--- removed"
 * (written to out unless NULL). Returns the number of recipients added or removed. */
static size_t group_diff(const struct fl_sops_key_group *have,
                         const struct fl_sops_group_spec *want, FILE *out)
{
	static const struct fl_sops_group_spec none = {0};
	if (!want)
		want = &none;
	size_t changes = 0;
	for (size_t j = 0; have && j < have->nage; j++)
		if (out && has_recipient(want->age, want->nage, have->age[j].recipient))
			fprintf(out, "    %s\n", have->age[j].recipient);
	for (size_t i = 0; i < want->nage; i++)
		if (!group_has(have, want->age[i]) && !has_recipient(want->age, i, want->age[i])) {
			changes++;
			if (out)
				fprintf(out, "+++ %s\n", want->age[i]);
		}
	for (size_t j = 0; have && j < have->nage; j++)
		if (!has_recipient(want->age, want->nage, have->age[j].recipient)) {
			changes++;
			if (out)
				fprintf(out, "--- %s\n", have->age[j].recipient);
		}
	return changes;
}

/* sops updatekeys: every group's difference (DiffKeyGroups pairs groups by position),
 * after the shamir_threshold's (PrettyPrintShamirDiff). Returns the number of changes. */
static size_t keys_diff(const struct fl_sops_file *f, const struct fl_sops_key_spec *want,
                        FILE *out)
{
	int old_t = f->md.shamir_threshold, new_t = want->shamir_threshold;
	size_t changes = old_t != new_t;
	if (out && old_t > 0 && old_t == new_t)
		fprintf(out, "shamir_threshold: %d\n", new_t);
	if (out && old_t != new_t && new_t > 0)
		fprintf(out, "+++ shamir_threshold: %d\n", new_t);
	if (out && old_t != new_t && old_t > 0)
		fprintf(out, "--- shamir_threshold: %d\n", old_t);
	size_t n = f->md.ngroups > want->ngroups ? f->md.ngroups : want->ngroups;
	for (size_t g = 0; g < n; g++) {
		if (out)
			fprintf(out, "Group %zu\n", g + 1);
		changes += group_diff(g < f->md.ngroups ? &f->md.groups[g] : NULL,
		                      g < want->ngroups ? &want->groups[g] : NULL, out);
	}
	return changes;
}

/* A new data key, or new Shamir shares, would have to be wrapped for every key of the
 * file: fleet cannot do that for key types other than age, so it refuses rather than
 * write a file those teammates could no longer open. */
static int refuse_foreign(const struct fl_sops_file *f, const char *verb)
{
	struct fl_buf other = FL_BUF_INIT;
	int n = fl_sops_foreign_keys(f, &other);
	if (n > 0)
		fl_error_set(FL_E_UNSUPPORTED,
		             "the file is also encrypted to %s, which fleet cannot encrypt to; %s "
		             "would have to re-wrap the data key for %s (use sops %s)",
		             other.ptr, verb, n == 1 ? "it" : "them", verb);
	fl_buf_free(&other);
	return n != 0 ? -1 : 0;
}

/* sops updatekeys: "Is this okay? (y/n):" until the answer is y or n. */
static int confirm(void)
{
	char line[64];
	for (;;) {
		fputs("Is this okay? (y/n):", stdout);
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return fl_error_set(FL_E_CANCELLED,
			                    "no answer to the confirmation (pass -y to update "
			                    "without asking)");
		line[strcspn(line, "\r\n")] = '\0';
		if (!strcmp(line, "y"))
			return 1;
		if (!strcmp(line, "n"))
			return 0;
	}
}

static int sops_updatekeys_main(int argc, char **argv)
{
	struct sops_args a;
	int rc = parse_args(&updatekeys_cmd, argc, argv, &a, 1);
	if (rc >= 0)
		return rc;
	enum fl_sops_format in, out;
	struct fl_sops_file f = {0};
	struct fl_sops_creation_rule rule = {0};
	struct fl_buf data = FL_BUF_INIT, result = FL_BUF_INIT;
	uint8_t key[FL_SOPS_KEY_LEN];
	rc = CLI_EXIT_FAIL;
	if (formats(&a, &in, &out) < 0 || read_input(a.file, &data) < 0 ||
	    fl_sops_load(&f, data.ptr ? data.ptr : "", data.len, in) < 0 ||
	    resolve_recipients(&a, &rule) < 0) {
		fl_error_prefix("%s: ", a.file);
		cli_fail_lib();
		goto out;
	}
	/* sops: the file's shamir_threshold (or the flag's), at most the number of groups. */
	rule.keys.shamir_threshold =
	    a.shamir_threshold ? a.shamir_threshold : f.md.shamir_threshold;
	if ((size_t)rule.keys.shamir_threshold > rule.keys.ngroups)
		rule.keys.shamir_threshold = (int)rule.keys.ngroups;
	if (refuse_foreign(&f, "updatekeys") < 0 || fl_sops_key_spec_check(&rule.keys) < 0) {
		fl_error_prefix("%s: ", a.file);
		cli_fail_lib();
		goto out;
	}
	/* sops prints the groups' difference and asks, unless nothing changes. */
	if (keys_diff(&f, &rule.keys, NULL) == 0) {
		fprintf(stderr, "fleet: %s: already up to date\n", a.file);
		rc = CLI_EXIT_OK;
		goto out;
	}
	printf("The following changes will be made to the file's groups:\n");
	keys_diff(&f, &rule.keys, stdout);
	fflush(stdout);
	int ok = a.yes ? 1 : confirm();
	if (ok <= 0) {
		if (ok < 0) {
			cli_fail_lib();
		} else {
			fprintf(stderr, "fleet: %s left unchanged\n", a.file);
			rc = CLI_EXIT_OK;
		}
		goto out;
	}
	/* Values, MAC and lastmodified stay as they are: only the wrapping changes. */
	a.in_place = 1;
	if (unlock(&f, key) < 0 || fl_sops_set_keys(&f, key, &rule.keys) < 0 ||
	    fl_sops_emit(&f, in, &result) < 0 || write_result(&a, &result, 0) < 0) {
		fl_error_prefix("%s: ", a.file);
		cli_fail_lib();
		goto out;
	}
	fprintf(stderr, "fleet: %s synced with new keys\n", a.file);
	rc = CLI_EXIT_OK;
out:
	sodium_memzero(key, sizeof(key));
	fl_sops_creation_rule_free(&rule);
	fl_sops_file_free(&f);
	fl_buf_free(&data);
	fl_buf_free(&result);
	return rc;
}

static int sops_rotate_main(int argc, char **argv)
{
	struct sops_args a;
	int rc = parse_args(&rotate_cmd, argc, argv, &a, 1);
	if (rc >= 0)
		return rc;
	enum fl_sops_format in, out;
	struct fl_sops_file f = {0};
	struct fl_buf result = FL_BUF_INIT;
	uint8_t key[FL_SOPS_KEY_LEN], fresh[FL_SOPS_KEY_LEN];
	struct fl_sops_key_spec keys = {0};
	char **added = NULL, **removed = NULL;
	size_t nadded = 0, nremoved = 0;
	rc = CLI_EXIT_FAIL;
	if ((a.add_age || a.rm_age) && access(a.file, F_OK) != 0) {
		/* sops: keys cannot be added to or removed from a file that does not exist. */
		cli_fail("%s does not exist: cannot add or remove keys (use 'fleet sops edit' to "
		         "create it)",
		         a.file);
		goto out;
	}
	if (formats(&a, &in, &out) < 0 || open_decrypted(&a, in, &f, key, NULL) < 0) {
		cli_fail_lib();
		goto out;
	}
	/* sops rotate: the file's key groups, --add-age joining the first group, --rm-age
	 * taken out of every group; then a new data key for them all. */
	if (refuse_foreign(&f, "rotate") < 0 || fl_sops_key_spec_from_file(&f, &keys) < 0 ||
	    (a.add_age && split_recipients(a.add_age, &added, &nadded) < 0) ||
	    (a.rm_age && split_recipients(a.rm_age, &removed, &nremoved) < 0)) {
		fl_error_prefix("%s: ", a.file);
		cli_fail_lib();
		goto out;
	}
	for (size_t i = 0; i < nadded; i++)
		if (fl_sops_key_spec_add(&keys, 0, added[i]) < 0) {
			cli_fail_lib();
			goto out;
		}
	for (size_t g = 0; g < keys.ngroups; g++) {
		struct fl_sops_group_spec *gs = &keys.groups[g];
		size_t kept = 0;
		for (size_t i = 0; i < gs->nage; i++) {
			if (has_recipient(removed, nremoved, gs->age[i]))
				free(gs->age[i]);
			else
				gs->age[kept++] = gs->age[i];
		}
		gs->nage = kept;
	}
	randombytes_buf(fresh, sizeof(fresh));
	if (fl_sops_set_keys(&f, fresh, &keys) < 0 || fl_sops_encrypt(&f, fresh, NULL) < 0 ||
	    fl_sops_emit(&f, in, &result) < 0 || write_result(&a, &result, 0) < 0) {
		fl_error_prefix("%s: ", a.file);
		cli_fail_lib();
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(fresh, sizeof(fresh));
	fl_sops_key_spec_free(&keys);
	strv_free(added, nadded);
	strv_free(removed, nremoved);
	fl_sops_file_free(&f);
	fl_buf_free(&result);
	return rc;
}

/* sops: with neither SOPS_EDITOR nor EDITOR set, the first of vim, nano, vi on PATH. */
static int find_on_path(const char *name, char *out, size_t cap)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/bin:/bin";
	for (const char *p = path; *p;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		if (n && (size_t)snprintf(out, cap, "%.*s/%s", (int)n, p, name) < cap &&
		    access(out, X_OK) == 0)
			return 0;
		p += n + (colon ? 1 : 0);
	}
	return -1;
}

static char **editor_argv(const char *path)
{
	const char *var = "SOPS_EDITOR", *ed = getenv(var);
	if (!ed || !*ed)
		ed = getenv(var = "EDITOR");
	char **argv = NULL;
	if (ed && *ed) {
		/* sops splits the variable with shlex: EDITOR="code --wait" works. */
		argv = fl_shlex_split(ed, var);
	} else {
		static const char *const fallback[] = {"vim", "nano", "vi"};
		char found[4096];
		for (size_t i = 0; !argv && i < 3; i++)
			if (find_on_path(fallback[i], found, sizeof(found)) == 0 &&
			    (argv = calloc(2, sizeof(char *))) && !(argv[0] = strdup(found))) {
				fl_argv_free(argv);
				argv = NULL;
			}
		if (!argv) {
			fl_error_set(FL_E_NOTFOUND, "no editor: set SOPS_EDITOR or EDITOR (vim, "
			                            "nano and vi are not on PATH either)");
			return NULL;
		}
	}
	if (!argv)
		return NULL;
	size_t n = 0;
	while (argv[n])
		n++;
	char **full = realloc(argv, (n + 2) * sizeof(char *));
	if (!full || !(full[n] = strdup(path))) {
		fl_argv_free(full ? full : argv);
		fl_error_set(FL_E_NOMEM, "out of memory");
		return NULL;
	}
	full[n + 1] = NULL;
	return full;
}

static int run_editor(const char *path)
{
	char **argv = editor_argv(path);
	if (!argv)
		return -1;
	int status = 0;
	int rc = fl_run_interactive(argv, NULL, &status);
	if (rc == 0 && status != 0)
		rc = fl_error_set(FL_E_CANCELLED, "the editor (%s) exited with status %d", argv[0],
		                  status);
	fl_argv_free(argv);
	return rc;
}

/* sops' exit status when an edit changed nothing (codes.FileHasNotBeenModified). */
#define EXIT_NOT_MODIFIED 200

/* Runs the editor on `tmp` until what it leaves parses (sops: "Press enter to return
 * to the editor"); without a terminal to ask on, a broken edit fails. Returns 0 with
 * `edited` loaded, 1 if nothing changed, -1 on failure. */
static int edit_until_valid(const struct sops_args *a, enum fl_sops_format in, const char *tmp,
                            const struct fl_buf *plain, int is_new, struct fl_sops_file *edited)
{
	struct fl_buf back = FL_BUF_SECRET;
	int rc;
	for (;;) {
		fl_buf_clear(&back);
		if (run_editor(tmp) < 0 || fl_read_file(tmp, &back, SOPS_FILE_MAX) < 0) {
			rc = -1;
			break;
		}
		if (!is_new && back.len == plain->len &&
		    (plain->len == 0 || memcmp(back.ptr, plain->ptr, plain->len) == 0)) {
			rc = 1;
			break;
		}
		if (fl_sops_load_plain(edited, back.ptr ? back.ptr : "", back.len, in) == 0) {
			rc = 0;
			break;
		}
		if (!isatty(STDIN_FILENO)) {
			fl_error_prefix("%s: your edit is not valid %s; nothing was saved (no "
			                "terminal to return to the editor on): ",
			                a->file, fl_sops_format_name(in));
			rc = -1;
			break;
		}
		fl_error_prefix("%s: your edit is not valid %s: ", a->file,
		                fl_sops_format_name(in));
		cli_fail_lib();
		if (cli_wait_enter("Press Enter to return to the editor, or Ctrl+C to exit.") < 0) {
			fl_error_set(FL_E_CANCELLED,
			             "%s: the edit was abandoned; the file is unchanged", a->file);
			rc = -1;
			break;
		}
	}
	fl_buf_free(&back);
	return rc;
}

static int sops_edit_main(int argc, char **argv)
{
	struct sops_args a;
	int rc = parse_args(&edit_cmd, argc, argv, &a, 1);
	if (rc >= 0)
		return rc;
	enum fl_sops_format in, out;
	struct fl_sops_file f = {0}, edited = {0};
	struct fl_sops_stash *stash = fl_sops_stash_new();
	struct fl_sops_creation_rule rule = {0};
	struct fl_buf plain = FL_BUF_SECRET;
	struct fl_privdir dir = {.fd = -1};
	uint8_t key[FL_SOPS_KEY_LEN];
	char tmp[PATH_MAX + 256];
	int is_new = access(a.file, F_OK) != 0, held = 0;
	rc = CLI_EXIT_FAIL;
	/* A run that was killed (SIGKILL, a crash) left its directory: wipe it now. */
	fl_privdir_sweep();
	if (!stash || formats(&a, &in, &out) < 0) {
		cli_fail_lib();
		goto out;
	}
	if (is_new) {
		/* Refused before the editor runs: nothing typed is thrown away. */
		if (resolve_recipients(&a, &rule) < 0 || fl_sops_key_spec_check(&rule.keys) < 0) {
			cli_fail_lib();
			goto out;
		}
		randombytes_buf(key, sizeof(key));
	} else if (open_decrypted(&a, in, &f, key, stash) < 0) {
		cli_fail_lib();
		goto out;
	}
	if (!is_new && fl_sops_emit(&f, in, &plain) < 0) {
		cli_fail_lib();
		goto out;
	}
	/* From here until the directory is wiped, no signal may end fleet. */
	cli_signals_hold();
	held = 1;
	char *base_copy = strdup(a.file);
	if (!base_copy || fl_privdir_create(&dir) < 0) {
		free(base_copy);
		cli_fail_lib();
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s/%s", dir.path, basename(base_copy));
	free(base_copy);
	if (fl_write_file_atomic(tmp, plain.ptr ? plain.ptr : "", plain.len, 0600, 0) < 0) {
		cli_fail_lib();
		goto out;
	}
	int erc = edit_until_valid(&a, in, tmp, &plain, is_new, &edited);
	if (erc >= 0 && cli_signals_pending()) {
		/* sops: a TERM or HUP cancels the edit; nothing is written. */
		fl_error_set(FL_E_CANCELLED, "%s: interrupted by signal %d; the file is unchanged",
		             a.file, cli_signals_pending());
		erc = -1;
	}
	if (erc < 0) {
		cli_fail_lib();
		goto out;
	}
	if (erc == 1) {
		/* sops: "File has not changed, exiting." with its own status. */
		fprintf(stderr, "fleet: %s: file has not changed\n", a.file);
		rc = EXIT_NOT_MODIFIED;
		goto out;
	}
	if (is_new) {
		if (fl_sops_rules_resolve(&a.rules, &rule.rules) < 0) {
			cli_fail_lib();
			goto out;
		}
		edited.md.rules = a.rules;
		memset(&a.rules, 0, sizeof(a.rules));
		if (fl_sops_set_keys(&edited, key, &rule.keys) < 0) {
			cli_fail_lib();
			goto out;
		}
	} else {
		/* Keep recipients and rules; take the edited documents. */
		edited.md = f.md;
		memset(&f.md, 0, sizeof(f.md));
	}
	if (reencrypt_and_write(&a, &edited, in, key, stash) < 0) {
		fl_error_prefix("%s: ", a.file);
		cli_fail_lib();
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	/* The editor's file and whatever it left beside it (backups, swap files). */
	fl_privdir_remove(&dir);
	if (held)
		cli_signals_release();
	sodium_memzero(key, sizeof(key));
	fl_sops_rules_free(&a.rules);
	fl_sops_creation_rule_free(&rule);
	fl_sops_stash_free(stash);
	fl_sops_file_free(&f);
	fl_sops_file_free(&edited);
	fl_buf_free(&plain);
	return rc;
}

/* --- exec-env, exec-file, filestatus --- */

/* Go's strconv.FormatFloat(v, 'G', -1, 64), then at least one decimal (sops'
 * stores.ValToString), from the shortest fixed form fleet keeps ("1234567", "0.00001"). */
static void float_to_env(const char *fixed, char *out, size_t cap)
{
	const char *p = fixed;
	int neg = *p == '-';
	p += neg;
	const char *dot = strchr(p, '.');
	size_t ilen = dot ? (size_t)(dot - p) : strlen(p);
	char digits[400];
	size_t nd = 0;
	int dp;
	if (!(ilen == 1 && p[0] == '0')) {
		for (size_t i = 0; i < ilen && nd < sizeof(digits) - 1; i++)
			digits[nd++] = p[i];
		for (const char *f = dot ? dot + 1 : ""; *f && nd < sizeof(digits) - 1; f++)
			digits[nd++] = *f;
		dp = (int)ilen;
	} else {
		const char *f = dot ? dot + 1 : "";
		int z = 0;
		while (f[z] == '0')
			z++;
		for (f += z; *f && nd < sizeof(digits) - 1; f++)
			digits[nd++] = *f;
		dp = nd ? -z : 0;
	}
	while (nd > 0 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	int exp = dp - 1;
	if (nd > 0 && (exp < -4 || exp >= 6)) {
		/* Go's %E: d.ddd, 'E', a sign, at least two exponent digits. */
		snprintf(out, cap, "%s%c%s%sE%c%02d", neg ? "-" : "", digits[0], nd > 1 ? "." : "",
		         nd > 1 ? digits + 1 : "", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
		return;
	}
	snprintf(out, cap, "%s%s", fixed, strchr(fixed, '.') ? "" : ".0");
}

static void strv_free_secret(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		fl_free_secret_str(v[i]);
	free(v);
}

/* KEY=VALUE for each top-level value of the first document, as sops exec-env makes them;
 * the environment (unless pristine) comes first and a decrypted value wins over it. */
static char **exec_environment(const struct fl_sops_file *f, int pristine)
{
	const struct fl_doc *root = f->docs.n ? f->docs.v[0] : NULL;
	size_t nenv = 0;
	while (!pristine && environ[nenv])
		nenv++;
	size_t nvals = root && root->type == FL_DOC_MAP ? root->n : 0;
	char **env = calloc(nenv + nvals + 1, sizeof(char *));
	if (!env) {
		fl_error_set(FL_E_NOMEM, "out of memory");
		return NULL;
	}
	size_t n = 0;
	for (size_t i = 0; i < nvals; i++) {
		const char *k = root->items[i].key;
		const struct fl_doc *v = root->items[i].value;
		if (!k || v->type == FL_DOC_COMMENT)
			continue;
		if (v->type == FL_DOC_MAP || v->type == FL_DOC_LIST) {
			fl_error_set(FL_E_INVALID,
			             "cannot use complex value in environment; offending key %s",
			             k);
			goto fail;
		}
		if (strchr(k, '=')) {
			fl_error_set(FL_E_INVALID, "cannot use keys with '=' in environment: %s",
			             k);
			goto fail;
		}
		char num[512];
		const char *text = v->text ? v->text : "";
		if (v->type == FL_DOC_NULL) {
			text = "<nil>"; /* Go's fmt of a nil value, which sops prints */
		} else if (v->type == FL_DOC_FLOAT) {
			float_to_env(text, num, sizeof(num));
			text = num;
		}
		size_t len = strlen(k) + strlen(text) + 2;
		if (!(env[n] = malloc(len))) {
			fl_error_set(FL_E_NOMEM, "out of memory");
			goto fail;
		}
		snprintf(env[n++], len, "%s=%s", k, text);
	}
	for (size_t i = 0; i < nenv; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t kl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		int shadowed = 0;
		for (size_t j = 0; j < n && !shadowed; j++)
			shadowed = !strncmp(env[j], environ[i], kl) && env[j][kl] == '=';
		if (!shadowed && !(env[n++] = strdup(environ[i]))) {
			fl_error_set(FL_E_NOMEM, "out of memory");
			goto fail;
		}
	}
	return env;
fail:
	strv_free_secret(env);
	return NULL;
}

/* COMMAND's exit status as fleet's: its code, or 128+N for a signal. */
static int run_shell(const char *command, char **envp)
{
	char *argv[] = {"/bin/sh", "-c", (char *)command, NULL};
	int status = 0;
	if (fl_run_interactive(argv, envp, &status) < 0)
		return cli_fail_lib();
	return status;
}

static int sops_exec_env_main(int argc, char **argv)
{
	struct sops_args a;
	int rc = parse_args(&exec_env_cmd, argc, argv, &a, 2);
	if (rc >= 0)
		return rc;
	enum fl_sops_format in, out;
	struct fl_sops_file f = {0};
	uint8_t key[FL_SOPS_KEY_LEN];
	char **env = NULL;
	rc = CLI_EXIT_FAIL;
	if (formats(&a, &in, &out) < 0 || open_decrypted(&a, in, &f, key, NULL) < 0) {
		cli_fail_lib();
		goto out;
	}
	sodium_memzero(key, sizeof(key));
	if (!(env = exec_environment(&f, a.pristine))) {
		fl_error_prefix("%s: ", a.file);
		cli_fail_lib();
		goto out;
	}
	fl_sops_file_free(&f);
	if (a.same_process) {
		fflush(NULL);
		char *sh[] = {"/bin/sh", "-c", a.pos[1], NULL};
		execve(sh[0], sh, env);
		cli_fail("cannot run /bin/sh: %s", strerror(errno));
		goto out;
	}
	rc = run_shell(a.pos[1], env);
out:
	sodium_memzero(key, sizeof(key));
	strv_free_secret(env);
	fl_sops_file_free(&f);
	return rc;
}

/* sops exec-file --filename: a plain local name (sops: filepath.IsLocal); it goes into
 * COMMAND unquoted, as in sops, so fleet also refuses what a shell would read apart. */
static int safe_name(const char *s)
{
	if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (!strchr(
		        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+,:@%",
		        *s))
			return 0;
	return 1;
}

/* Writes data into the fifo from a child process: opening a fifo blocks until COMMAND
 * opens it for reading, which it may never do. */
static pid_t fifo_writer(const char *path, const struct fl_buf *data)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	signal(SIGPIPE, SIG_DFL);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t off = 0;
	while (fd >= 0 && off < data->len) {
		ssize_t w = write(fd, data->ptr + off, data->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	_exit(fd >= 0 && off == data->len ? 0 : 1);
}

/* The plaintext's place in the private directory, as sops makes it: a named pipe
 * (--filename or "tmp-file"), or with --no-fifo a 0600 file (--filename, or
 * "tmp-file" and a random suffix as Go's os.CreateTemp names it). */
static int place_plaintext(const struct sops_args *a, const struct fl_privdir *dir,
                           const struct fl_buf *plain, char *path, size_t cap)
{
	if (a->filename)
		snprintf(path, cap, "%s/%s", dir->path, a->filename);
	else if (!a->no_fifo)
		snprintf(path, cap, "%s/tmp-file", dir->path);
	else
		snprintf(path, cap, "%s/tmp-file%u", dir->path, randombytes_random());
	if (!a->no_fifo)
		return mkfifo(path, 0600) == 0
		           ? 0
		           : fl_error_set_os("cannot create a named pipe in %s", dir->path);
	return fl_write_file_atomic(path, plain->ptr ? plain->ptr : "", plain->len, 0600, 1);
}

static int sops_exec_file_main(int argc, char **argv)
{
	struct sops_args a;
	int rc = parse_args(&exec_file_cmd, argc, argv, &a, 2);
	if (rc >= 0)
		return rc;
	if (a.filename && !safe_name(a.filename))
		return cli_usage_error(
		    &exec_file_cmd, "--filename must be a plain file name of letters, digits and "
		                    "._-+,:@%% (it is put into COMMAND as it is)");
	enum fl_sops_format in, out;
	struct fl_sops_file f = {0};
	struct fl_buf plain = FL_BUF_SECRET, cmd = FL_BUF_INIT;
	struct fl_privdir dir = {.fd = -1};
	uint8_t key[FL_SOPS_KEY_LEN];
	char path[PATH_MAX + 256];
	pid_t writer = -1;
	int held = 0;
	rc = CLI_EXIT_FAIL;
	fl_privdir_sweep();
	if (formats(&a, &in, &out) < 0 || open_decrypted(&a, in, &f, key, NULL) < 0 ||
	    fl_sops_emit(&f, out, &plain) < 0) {
		cli_fail_lib();
		goto out;
	}
	fl_sops_file_free(&f);
	cli_signals_hold();
	held = 1;
	if (fl_privdir_create(&dir) < 0) {
		cli_fail_lib();
		goto out;
	}
	if (place_plaintext(&a, &dir, &plain, path, sizeof(path)) < 0) {
		cli_fail_lib();
		goto out;
	}
	if (strpbrk(path, " \t\n'\"\\$`;&|<>()*?[]{}!#~")) {
		cli_fail(
		    "the private directory's path (%s) cannot go into a shell command unquoted",
		    dir.path);
		goto out;
	}
	if (!a.no_fifo && (writer = fifo_writer(path, &plain)) < 0) {
		cli_fail("cannot fork: %s", strerror(errno));
		goto out;
	}
	/* sops: every {} in COMMAND becomes the file's path. */
	for (const char *p = a.pos[1]; *p;) {
		const char *hole = strstr(p, "{}");
		size_t n = hole ? (size_t)(hole - p) : strlen(p);
		if (fl_buf_put(&cmd, p, n) < 0 || (hole && fl_buf_puts(&cmd, path) < 0)) {
			cli_fail_lib();
			goto out;
		}
		p += n + (hole ? 2 : 0);
	}
	rc = run_shell(cmd.ptr ? cmd.ptr : "", NULL);
out:
	if (writer > 0) {
		kill(writer, SIGKILL);
		while (waitpid(writer, NULL, 0) < 0 && errno == EINTR)
			;
	}
	fl_privdir_remove(&dir);
	if (held)
		cli_signals_release();
	sodium_memzero(key, sizeof(key));
	fl_sops_file_free(&f);
	fl_buf_free(&plain);
	fl_buf_free(&cmd);
	return rc;
}

static int sops_filestatus_main(int argc, char **argv)
{
	struct sops_args a;
	int rc = parse_args(&filestatus_cmd, argc, argv, &a, 1);
	if (rc >= 0)
		return rc;
	enum fl_sops_format in, out;
	struct fl_sops_file f = {0};
	struct fl_buf data = FL_BUF_INIT;
	rc = CLI_EXIT_FAIL;
	if (formats(&a, &in, &out) < 0 || read_input(a.file, &data) < 0) {
		cli_fail_lib();
		goto out;
	}
	/* sops: no metadata is "not encrypted"; metadata without a version or a MAC too;
	 * any other failure to load is an error. */
	int encrypted = 0;
	if (fl_sops_load(&f, data.ptr ? data.ptr : "", data.len, in) == 0)
		encrypted = f.md.version && *f.md.version && f.md.mac && *f.md.mac;
	else if (fl_error_last()->klass != FL_E_NOTFOUND) {
		fl_error_prefix("%s: cannot check file status: ", a.file);
		cli_fail_lib();
		goto out;
	}
	printf("{\"encrypted\":%s}\n", encrypted ? "true" : "false");
	rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
	fl_sops_file_free(&f);
	fl_buf_free(&data);
	return rc;
}

const struct cli_verb cmd_sops_verbs[] = {
    {"encrypt", sops_encrypt_main, "encrypt a file's values to age recipients", &encrypt_cmd},
    {"decrypt", sops_decrypt_main, "decrypt a file (MAC verified), or one value (--extract)",
     &decrypt_cmd},
    {"edit", sops_edit_main, "edit a file in $EDITOR and re-encrypt only what changed", &edit_cmd},
    {"set", sops_set_main, "set one value", &set_cmd},
    {"unset", sops_unset_main, "remove one value", &unset_cmd},
    {"updatekeys", sops_updatekeys_main, "re-wrap the data key for the current recipients",
     &updatekeys_cmd},
    {"rotate", sops_rotate_main, "re-encrypt everything under a new data key", &rotate_cmd},
    {"exec-env", sops_exec_env_main, "run a command with the values in its environment",
     &exec_env_cmd},
    {"exec-file", sops_exec_file_main, "run a command on a temporary plaintext copy",
     &exec_file_cmd},
    {"filestatus", sops_filestatus_main, "tell whether a file is sops-encrypted (JSON)",
     &filestatus_cmd},
    {NULL, NULL, NULL, NULL},
};

int cmd_sops_main(int argc, char **argv)
{
	return cli_dispatch("sops",
	                    "Read and write sops files (age), compatible with sops and sops-nix.",
	                    cmd_sops_verbs, argc, argv);
}
