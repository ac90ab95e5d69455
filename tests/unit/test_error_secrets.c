/* Error messages never carry a secret: a secret key passed as a recipient, in any letter
 * case, is recognised and not echoed; a recipients file line that is not a public key is
 * not echoed (as age does); and the parsers of the four stores, which read decrypted plaintext
 * (sops edit, sops set, sops encrypt), say where the input is broken but never quote it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleet/age.h"
#include "fleet/doc.h"
#include "fleet/error.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Case-insensitive substring search (the oracle: no casing of the secret may appear). */
static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++) {
		size_t i = 0;
		while (i < n && hay[i] &&
		       tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

/* A valid X25519 identity (tests/data), and its body alone. */
#define KEY "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3290GQ"
#define KEY_BODY "QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3290GQ"

static void test_secret_key_as_recipient(void **state)
{
	(void)state;
	static const char *const cases[] = {
	    KEY,
	    "age-secret-key-1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq",
	    "Age-Secret-Key-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3290GQ",
	    "aGE-sECRET-kEY-1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fl_age_recipient *r = NULL;
		fl_error_clear();
		assert_int_equal(fl_age_recipient_parse(&r, cases[i]), -1);
		const char *msg = fl_error_last()->message;
		if (contains_ci(msg, KEY_BODY) || contains_ci(msg, "QYQSZQGP"))
			fail_msg("%s: the message echoes the key: %s", cases[i], msg);
		if (!strstr(msg, "that is an identity (a secret key)"))
			fail_msg("%s: not recognised as a secret key: %s", cases[i], msg);
	}
}

static void test_secrets_among_recipients_not_echoed(void **state)
{
	(void)state;
	/* A mangled secret key and a plugin identity given as a recipient. */
	static const char *const args[] = {
	    "AGE_SECRET_KEY_1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3290GQ",
	    "AGE-PLUGIN-YUBIKEY-1QYQSZQGPQYQSZQGPQYQSZQGP",
	};
	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		struct fl_age_recipient *r = NULL;
		fl_error_clear();
		assert_int_equal(fl_age_recipient_parse(&r, args[i]), -1);
		if (contains_ci(fl_error_last()->message, "QYQSZQGP"))
			fail_msg("%s: the message echoes it: %s", args[i],
			         fl_error_last()->message);
	}
	/* A recipients file line that is not a public key (age hides these): lines of a
	 * private key file, a key body. */
	static const char *const lines[] = {
	    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
	    "-----BEGIN OPENSSH PRIVATE KEY-----",
	    KEY_BODY,
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char file[256];
		snprintf(file, sizeof(file), "# keys\n%s\n", lines[i]);
		struct fl_age_recipients list = {0};
		fl_error_clear();
		assert_int_equal(fl_age_recipients_parse_file(&list, file, strlen(file), "r.txt"),
		                 -1);
		const char *msg = fl_error_last()->message;
		if (contains_ci(msg, "QYQSZQGP") || contains_ci(msg, "b3BlbnNza") ||
		    contains_ci(msg, "PRIVATE KEY"))
			fail_msg("%s: the message echoes it: %s", lines[i], msg);
		assert_non_null(strstr(msg, "r.txt line 2"));
		fl_age_recipients_free(&list);
	}
	/* A public key is still named, so a typo can be found. */
	struct fl_age_recipient *r = NULL;
	assert_int_equal(fl_age_recipient_parse(
	                     &r, "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gx"),
	                 -1);
	assert_non_null(strstr(fl_error_last()->message, "age1qyqszqgp"));
}

typedef int (*parse_fn)(const char *, size_t, struct fl_docs *);

static void test_parse_errors_quote_nothing(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		parse_fn parse;
		const char *in;
	} cases[] = {
	    /* jansson's own messages say "near 'hunter2'". */
	    {"json", fl_doc_parse_json, "{\"password\": hunter2}"},
	    {"json", fl_doc_parse_json, "{\"password\": \"hunter2\" hunter2}"},
	    {"json", fl_doc_parse_json, "{\"password\": \"hunter2\"} hunter2"},
	    {"json", fl_doc_parse_json, "{\"password\": \"hunter2"},
	    {"json", fl_doc_parse_json, "hunter2"},
	    {"json", fl_doc_parse_json, "[\"hunter2\", tru]"},
	    {"json", fl_doc_parse_json, "{\"a\": \"hunter2\\x\"}"},
	    {"json", fl_doc_parse_json, "{\"hunter2\": 1, \"hunter2\": 2}"},
	    {"json", fl_doc_parse_json, "{\"password\": \"hunter2\xff\"}"},
	    {"json", fl_doc_parse_json, "{\"password\": 1e99999hunter2}"},
	    {"yaml", fl_doc_parse_yaml, "password: !!int hunter2\n"},
	    {"yaml", fl_doc_parse_yaml, "password: !!float hunter2\n"},
	    {"yaml", fl_doc_parse_yaml, "password: !!bool hunter2\n"},
	    {"yaml", fl_doc_parse_yaml, "password: !!binary hunter2%%\n"},
	    {"yaml", fl_doc_parse_yaml, "password: [hunter2\n"},
	    {"yaml", fl_doc_parse_yaml, "password: \"hunter2\n"},
	    {"yaml", fl_doc_parse_yaml, "password: hunter2: x\n"},
	    {"yaml", fl_doc_parse_yaml, "password: hunter2\n\x01"},
	    {"dotenv", fl_doc_parse_dotenv, "A=1\nhunter2\n"},
	    {"ini", fl_doc_parse_ini, "[s]\npassword = hunter2\nhunter2\n"},
	    {"ini", fl_doc_parse_ini, "[s]\npassword = \"\"\"hunter2\n"},
	    {"ini", fl_doc_parse_ini, "[hunter2\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fl_docs docs = {0};
		fl_error_clear();
		if (cases[i].parse(cases[i].in, strlen(cases[i].in), &docs) != -1)
			fail_msg("%s accepted: %s", cases[i].name, cases[i].in);
		const char *msg = fl_error_last()->message;
		/* Lowercased fragments too: "hunter" and "nter2" cover a cut-off quote. */
		if (contains_ci(msg, "hunte") || contains_ci(msg, "nter2"))
			fail_msg("%s: the message quotes the input: %s", cases[i].name, msg);
		if (!strstr(msg, "line"))
			fail_msg("%s: the message does not say where: %s", cases[i].name, msg);
		fl_docs_free(&docs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secret_key_as_recipient),
	    cmocka_unit_test(test_secrets_among_recipients_not_echoed),
	    cmocka_unit_test(test_parse_errors_quote_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
