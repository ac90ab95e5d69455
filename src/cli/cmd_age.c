/* fleet age: age(1) and age-keygen(1), so habits transfer. */
#include "cli/cli.h"
#include "cli/commands.h"
#include "fleet/age.h"
#include "fleet/error.h"
#include "fleet/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { OPT_THREADS = 256, OPT_PASSPHRASE_FD };

static const struct cli_flag age_flags[] = {
    {"encrypt", 'e', NULL, "encrypt the input (the default)"},
    {"decrypt", 'd', NULL, "decrypt the input"},
    {"recipient", 'r', "RECIPIENT", "encrypt to age1…, ssh-ed25519 … or ssh-rsa … (repeatable)"},
    {"recipients-file", 'R', "FILE", "encrypt to the recipients listed in FILE (repeatable)"},
    {"identity", 'i', "FILE", "decrypt with the identities in FILE; with -e, encrypt to them"},
    {"passphrase", 'p', NULL, "encrypt with a passphrase (asked on the terminal)"},
    {"armor", 'a', NULL, "write PEM-style ASCII armor instead of binary"},
    {"output", 'o', "FILE", "write to FILE (atomically) instead of standard output"},
    {"threads", OPT_THREADS, "N", "worker threads for the payload (default: one per CPU)"},
    {"passphrase-fd", OPT_PASSPHRASE_FD, "N",
     "read passphrases from file descriptor N instead of the terminal"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_age_command = {
    "age",
    "[-e] (-r RECIPIENT | -R FILE | -i FILE | -p)… [-a] [-o OUT] [IN]\n"
    "       fleet age -d [-i FILE]… [-o OUT] [IN]\n"
    "       fleet age keygen [-o FILE] | keygen -y [FILE]",
    "Encrypt or decrypt IN (default: standard input) with age v1, interoperable with age(1).",
    "Armored input is detected when decrypting. A passphrase-encrypted file asks for its\n"
    "passphrase; so does a passphrase-protected SSH identity, only when it is needed.\n"
    "With -o, nothing is left behind if decryption fails.",
    age_flags,
};

static const struct cli_flag keygen_flags[] = {
    {"output", 'o', "FILE", "write the identity to FILE (mode 0600, never overwritten)"},
    {"convert", 'y', NULL, "print the recipients of the identities in FILE (or stdin)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_command keygen_cmd = {
    "age keygen",
    "[-o FILE] | -y [FILE]",
    "Generate an X25519 age identity, or derive recipients from identities (-y).",
    NULL,
    keygen_flags,
};

struct prompt_ctx {
	int fd;
};

static int prompt_passphrase(void *ctx, const char *what, struct fl_buf *out)
{
	struct prompt_ctx *p = ctx;
	char prompt[600];
	snprintf(prompt, sizeof(prompt), "Enter %s", what);
	return cli_read_passphrase(prompt, 0, p->fd, out);
}

static int parse_fd(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > 1 << 20)
		return -1;
	*out = (int)v;
	return 0;
}

struct age_args {
	int decrypt, encrypt, passphrase, armor, passphrase_fd;
	unsigned threads;
	const char *output, *input;
	const char **recipients, **recipient_files, **identity_files;
	size_t nr, nrf, ni;
};

static int run_encrypt(struct age_args *a, struct fl_age_recipients *rs,
                       const struct fl_age_prompt *prompt)
{
	for (size_t i = 0; i < a->nr; i++) {
		struct fl_age_recipient *r;
		if (fl_age_recipient_parse(&r, a->recipients[i]) < 0 ||
		    fl_age_recipients_add(rs, r) < 0)
			return -1;
	}
	for (size_t i = 0; i < a->nrf; i++)
		if (fl_age_recipients_load(rs, a->recipient_files[i]) < 0)
			return -1;
	for (size_t i = 0; i < a->ni; i++) {
		/* -e -i: encrypt to the identity's own recipient. */
		struct fl_age_identities ids = {0};
		int rc = fl_age_identities_load(&ids, a->identity_files[i], prompt);
		for (size_t j = 0; rc == 0 && j < ids.n; j++) {
			struct fl_buf s = FL_BUF_INIT;
			struct fl_age_recipient *r;
			rc = fl_age_identity_to_recipient(ids.v[j], &s);
			if (rc == 0)
				rc = fl_age_recipient_parse(&r, s.ptr);
			if (rc == 0)
				rc = fl_age_recipients_add(rs, r);
			fl_buf_free(&s);
		}
		fl_age_identities_free(&ids);
		if (rc < 0)
			return -1;
	}
	if (a->passphrase) {
		struct fl_buf pass = FL_BUF_SECRET;
		struct fl_age_recipient *r = NULL;
		int rc = cli_read_passphrase("Enter passphrase", a->passphrase_fd < 0,
		                             a->passphrase_fd, &pass);
		if (rc == 0 && pass.len == 0)
			rc = fl_error_set(FL_E_CANCELLED, "the passphrase is empty");
		if (rc == 0)
			rc = fl_age_recipient_scrypt(&r, pass.ptr, pass.len,
			                             FL_AGE_SCRYPT_DEFAULT_LOG_N);
		fl_buf_free(&pass);
		if (rc < 0 || fl_age_recipients_add(rs, r) < 0)
			return -1;
	}
	return 0;
}

static int age_run(struct age_args *a)
{
	struct prompt_ctx pctx = {a->passphrase_fd};
	struct fl_age_prompt prompt = {prompt_passphrase, &pctx};
	struct fl_age_recipients rs = {0};
	struct fl_age_identities ids = {0};
	struct fl_atomic_file out = {.fd = -1};
	int in_fd = STDIN_FILENO, out_fd = STDOUT_FILENO, rc = CLI_EXIT_FAIL;
	const char *in_name = a->input && strcmp(a->input, "-") ? a->input : "standard input";

	if (a->decrypt) {
		for (size_t i = 0; i < a->ni; i++)
			if (fl_age_identities_load(&ids, a->identity_files[i], &prompt) < 0) {
				rc = cli_fail_lib();
				goto out;
			}
	} else if (run_encrypt(a, &rs, &prompt) < 0) {
		rc = cli_fail_lib();
		goto out;
	}
	if (a->input && strcmp(a->input, "-") != 0) {
		in_fd = open(a->input, O_RDONLY | O_CLOEXEC);
		if (in_fd < 0) {
			rc = cli_fail("cannot open %s: %s", a->input, strerror(errno));
			goto out;
		}
	}
	if (a->output && strcmp(a->output, "-") != 0) {
		/* Plaintext is private by default; ciphertext follows the umask. */
		if (fl_atomic_open(&out, a->output, a->decrypt ? 0600 : 0666) < 0) {
			rc = cli_fail_lib();
			goto out;
		}
		out_fd = out.fd;
		cli_remove_on_signal(out.tmp_path);
	} else if (!a->decrypt && !a->armor && isatty(STDOUT_FILENO)) {
		rc = cli_fail("refusing to write binary ciphertext to a terminal; use -a for "
		              "armor or -o FILE");
		goto out;
	}

	int r;
	if (a->decrypt) {
		struct fl_age_decrypt_opts o = {.threads = a->threads, .prompt = &prompt};
		r = fl_age_decrypt(&ids, &o, fl_age_reader_fd(&in_fd), fl_age_writer_fd(&out_fd));
	} else {
		struct fl_age_encrypt_opts o = {.armor = a->armor, .threads = a->threads};
		r = fl_age_encrypt(&rs, &o, fl_age_reader_fd(&in_fd), fl_age_writer_fd(&out_fd));
	}
	if (r < 0) {
		if (a->decrypt)
			fl_error_prefix("%s: ", in_name);
		if (a->decrypt && !a->ni && fl_error_last()->klass == FL_E_AGE_NOMATCH)
			rc = cli_fail("%s; no identity was given (use -i FILE)",
			              fl_error_last()->message);
		else
			rc = cli_fail_lib();
		goto out;
	}
	if (out.path && fl_atomic_commit(&out, 0) < 0) {
		rc = cli_fail_lib();
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	cli_remove_on_signal(NULL);
	fl_atomic_abort(&out);
	if (in_fd != STDIN_FILENO)
		close(in_fd);
	fl_age_recipients_free(&rs);
	fl_age_identities_free(&ids);
	return rc;
}

static int push(const char ***v, size_t *n, const char *s)
{
	const char **nv = realloc(*v, (*n + 1) * sizeof(char *));
	if (!nv)
		return -1;
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

static int keygen_main(int argc, char **argv)
{
	struct cli_parser p;
	const char *output = NULL;
	int convert = 0, c;
	cli_parser_init(&p, &keygen_cmd, argc, argv);
	while ((c = cli_next_flag(&p)) != -1) {
		switch (c) {
		case 'o':
			output = p.optarg;
			break;
		case 'y':
			convert = 1;
			break;
		case CLI_HELP:
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	int npos = p.argc - p.optind;
	if (npos > (convert ? 1 : 0))
		return cli_usage_error(&keygen_cmd, "unexpected argument '%s'",
		                       p.argv[p.optind + (convert ? 1 : 0)]);

	if (convert) {
		const char *in = npos ? p.argv[p.optind] : "-";
		struct fl_age_identities ids = {0};
		struct fl_buf outbuf = FL_BUF_INIT;
		int rc = fl_age_identities_load(&ids, in, NULL);
		for (size_t i = 0; rc == 0 && i < ids.n; i++) {
			rc = fl_age_identity_to_recipient(ids.v[i], &outbuf);
			if (rc == 0)
				rc = fl_buf_putc(&outbuf, '\n');
		}
		fl_age_identities_free(&ids);
		if (rc == 0) {
			if (output)
				rc = fl_write_file_atomic(output, outbuf.ptr, outbuf.len, 0644, 0);
			else
				fwrite(outbuf.ptr, 1, outbuf.len, stdout);
		}
		fl_buf_free(&outbuf);
		return rc < 0 ? cli_fail_lib() : CLI_EXIT_OK;
	}

	struct fl_buf secret = FL_BUF_SECRET, recipient = FL_BUF_INIT, file = FL_BUF_SECRET;
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	int rc = fl_age_keygen(&secret, &recipient);
	if (rc == 0)
		rc = fl_buf_printf(&file, "# created: %s\n# public key: %s\n%s\n", when,
		                   recipient.ptr, secret.ptr);
	if (rc == 0) {
		if (output) {
			rc = fl_write_file_atomic(output, file.ptr, file.len, 0600, 1);
			if (rc == 0)
				fprintf(stderr, "Public key: %s\n", recipient.ptr);
		} else {
			if (!isatty(STDOUT_FILENO))
				fprintf(stderr, "Public key: %s\n", recipient.ptr);
			fwrite(file.ptr, 1, file.len, stdout);
		}
	}
	fl_buf_free(&secret);
	fl_buf_free(&recipient);
	fl_buf_free(&file);
	return rc < 0 ? cli_fail_lib() : CLI_EXIT_OK;
}

const struct cli_verb cmd_age_verbs[] = {
    {"keygen", keygen_main, "generate an identity, or derive recipients (-y)", &keygen_cmd},
    {NULL, NULL, NULL, NULL},
};

int cmd_age_main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "keygen"))
		return keygen_main(argc - 1, argv + 1);

	struct age_args a = {.passphrase_fd = -1};
	struct cli_parser p;
	int c, rc = CLI_EXIT_USAGE;
	cli_parser_init(&p, &cmd_age_command, argc, argv);
	while ((c = cli_next_flag(&p)) != -1) {
		switch (c) {
		case 'e':
			a.encrypt = 1;
			break;
		case 'd':
			a.decrypt = 1;
			break;
		case 'r':
			push(&a.recipients, &a.nr, p.optarg);
			break;
		case 'R':
			push(&a.recipient_files, &a.nrf, p.optarg);
			break;
		case 'i':
			push(&a.identity_files, &a.ni, p.optarg);
			break;
		case 'p':
			a.passphrase = 1;
			break;
		case 'a':
			a.armor = 1;
			break;
		case 'o':
			a.output = p.optarg;
			break;
		case OPT_THREADS: {
			int n;
			if (parse_fd(p.optarg, &n) < 0 || n < 1 || n > 64) {
				rc = cli_usage_error(&cmd_age_command,
				                     "--threads wants 1 to 64, not '%s'", p.optarg);
				goto out;
			}
			a.threads = (unsigned)n;
			break;
		}
		case OPT_PASSPHRASE_FD:
			if (parse_fd(p.optarg, &a.passphrase_fd) < 0) {
				rc = cli_usage_error(&cmd_age_command,
				                     "--passphrase-fd wants a number");
				goto out;
			}
			break;
		case CLI_HELP:
			rc = CLI_EXIT_OK;
			goto out;
		default:
			goto out;
		}
	}
	if (p.argc - p.optind > 1) {
		rc = cli_usage_error(&cmd_age_command, "too many arguments: only one input file");
		goto out;
	}
	a.input = p.optind < p.argc ? p.argv[p.optind] : NULL;
	if (a.decrypt && a.encrypt) {
		rc = cli_usage_error(&cmd_age_command, "-e and -d are mutually exclusive");
		goto out;
	}
	if (a.decrypt && (a.nr || a.nrf || a.passphrase || a.armor)) {
		rc = cli_usage_error(&cmd_age_command,
		                     "-r, -R, -p and -a are for encryption; decryption "
		                     "detects armor and asks for passphrases");
		goto out;
	}
	if (!a.decrypt && !a.nr && !a.nrf && !a.ni && !a.passphrase) {
		rc = cli_usage_error(&cmd_age_command, "missing recipients: give -r, -R, -i or -p");
		goto out;
	}
	if (!a.decrypt && a.passphrase && (a.nr || a.nrf || a.ni)) {
		rc = cli_usage_error(&cmd_age_command,
		                     "-p cannot be combined with other recipients");
		goto out;
	}
	rc = age_run(&a);
out:
	cli_parser_free(&p);
	free(a.recipients);
	free(a.recipient_files);
	free(a.identity_files);
	return rc;
}
