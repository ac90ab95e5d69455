/* Command-line splitting as sops does it (google/shlex): expectations written by hand
 * from shlex's state machine, including where it differs from POSIX sh (a backslash
 * in double quotes takes any character; '#' inside a word is literal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleet/error.h"
#include "fleet/process.h"
#include "fleet/shlex.h"

#include <string.h>

struct split_case {
	const char *in;
	const char *want[5]; /* NULL-terminated */
};

static const struct split_case cases[] = {
    {"vim", {"vim"}},
    {"  code   --wait\t", {"code", "--wait"}},
    {"\"/Applications/Sublime Text.app/subl\" -w", {"/Applications/Sublime Text.app/subl", "-w"}},
    {"emacsclient -a '' -t", {"emacsclient", "-a", "", "-t"}},
    {"a\\ b c", {"a b", "c"}},
    {"\"a\\qb\" 'c\\d'", {"aqb", "c\\d"}},
    {"x\"y z\"w", {"xy zw"}},
    {"pass show age#1 # a comment\nnext", {"pass", "show", "age#1", "next"}},
    {"\"\"", {""}},
    {"a\r\nb", {"a", "b"}},
};

static void test_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char **v = fl_shlex_split(cases[i].in, "EDITOR");
		assert_non_null(v);
		size_t n = 0;
		for (; cases[i].want[n]; n++) {
			assert_non_null(v[n]);
			assert_string_equal(v[n], cases[i].want[n]);
		}
		assert_null(v[n]);
		fl_argv_free(v);
	}
}

static void test_errors(void **state)
{
	(void)state;
	static const char *const bad[][2] = {
	    {"vim 'unclosed", "EDITOR has an unclosed single quote"},
	    {"vim \"unclosed", "EDITOR has an unclosed double quote"},
	    {"vim trailing\\", "EDITOR ends in a backslash"},
	    {"   ", "EDITOR names no command"},
	    {"# only a comment", "EDITOR names no command"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(fl_shlex_split(bad[i][0], "EDITOR"));
		assert_int_equal(fl_error_last()->klass, FL_E_INVALID);
		assert_string_equal(fl_error_last()->message, bad[i][1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
