/* sops' regexes are Go's regexp (RE2). The expectations are Go's documented semantics
 * (pkg.go.dev/regexp/syntax), worked out by hand, not taken from the engine under test:
 * each row is a place where POSIX ERE, PCRE or a naive translation answers differently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleet/error.h"
#include "sops/regex.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *pattern, *subject;
	int match;
} cases[] = {
    /* The case: \d and an unanchored search. */
    {"host\\d+\\.yaml$", "hosts/host12.yaml", 1},
    {"host\\d+\\.yaml$", "hosts/hostx.yaml", 0},
    /* \d, \w, \s and \b are ASCII; \s has no \v. */
    {"^\\d$", "\xd9\xa3", 0}, /* U+0663 ARABIC-INDIC DIGIT THREE */
    {"^\\w$", "\xc3\xa9", 0}, /* é */
    {"\\s", "\v", 0},
    {"\\s", "\f", 1},
    {"\\bfoo\\b", "a foo b", 1},
    {"\\bfoo\\b", "afoob", 0},
    /* $ is the end of the text only (not before a final newline); (?m) changes that. */
    {"^a$", "a\n", 0},
    {"(?m)^a$", "b\na\nc", 1},
    {"^a$", "b\na\nc", 0},
    /* . does not match a newline unless (?s). */
    {"a.b", "a\nb", 0},
    {"(?s)a.b", "a\nb", 1},
    /* UTF-8: . is one character, \pL and \p{Greek} are Unicode classes. */
    {"^.$", "\xc3\xa9", 1},
    {"^\\pL+$", "\xc3\xa9t\xc3\xa9", 1},
    {"^\\p{Greek}$", "\xce\xbb", 1},
    {"^\\PL$", "1", 1},
    /* Invalid UTF-8 reads as Go reads it: each bad byte is one U+FFFD (RE2 alone would
     * match none of them, and would take an encoded surrogate as one character). */
    {"^.$", "\xff", 1},
    {"^\\x{FFFD}$", "\xff", 1},
    {"^a.b$",
     "a\xff"
     "b",
     1},
    {"^...$", "\xed\xa0\x80", 1},
    {"^.$", "\xed\xa0\x80", 0},
    {"^..$", "\xc3", 0},
    {"^.$", "\xc3", 1},
    {"^DB_.*$", "DB_\xc0\xaf", 1},
    /* (?i) folds Unicode simply: K matches the Kelvin sign, ß does not match SS. */
    {"(?i)^password$", "PassWord", 1},
    {"(?i)^k$", "\xe2\x84\xaa", 1},
    {"(?i)^stra\xc3\x9f"
     "e$",
     "STRASSE", 0},
    /* \A and \z are the text's ends. */
    {"\\Aab\\z", "ab", 1},
    {"\\Aab\\z", "ab\n", 0},
    {"\\Ab", "ab", 0},
    /* \Q...\E is literal text; POSIX classes; counted repetition; non-greedy. */
    {"^\\Q.*\\E$", ".*", 1},
    {"^\\Q.*\\E$", "ab", 0},
    {"^[[:alpha:]]+$", "abc", 1},
    {"^x{2,3}$", "xxxx", 0},
    {"^a+?$", "aaa", 1},
    /* Pathological for backtracking engines; linear here. */
    {"(a+)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 0},
    {"(a+)+$", "baaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1},
    /* The empty expression matches everything. */
    {"", "anything", 1},
};

/* What Go's regexp refuses (and so sops): each must be an error naming the expression. */
static const char *const refused[] = {
    "(a)\\1",         /* backreference */
    "(?P<n>a)(?P=n)", /* named backreference */
    "(?=a)",          /* lookahead */
    "(?!a)",          /* negative lookahead */
    "(?<=a)b",        /* lookbehind */
    "(?<!a)b",        /* negative lookbehind */
    "(?>a)",          /* atomic group */
    "a++",            /* possessive repetition */
    "a**",            /* nested repetition */
    "a\\Z",           /* PCRE's end-or-before-newline */
    "a\\C",           /* RE2's any byte, which Go lacks */
    "x{1001}",        /* Go caps counts at 1000 */
    "[a",             /* unclosed class */
    "(a",             /* unclosed group */
    "\\pX",           /* unknown class */
    "\xff",           /* invalid UTF-8 */
};

static void test_go_semantics(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sops_regex *re;
		if (sops_regex_compile(&re, cases[i].pattern, "encrypted_regex") < 0)
			fail_msg("/%s/ does not compile: %s", cases[i].pattern,
			         fl_error_last()->message);
		int got = sops_regex_match(re, cases[i].subject);
		sops_regex_free(re);
		if (got != cases[i].match)
			fail_msg("/%s/ on \"%s\": got %d, Go gives %d", cases[i].pattern,
			         cases[i].subject, got, cases[i].match);
	}
}

static void test_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct sops_regex *re = NULL;
		if (sops_regex_compile(&re, refused[i], "unencrypted_regex") == 0) {
			sops_regex_free(re);
			fail_msg("/%s/ compiled; Go's regexp refuses it", refused[i]);
		}
		assert_null(re);
		assert_int_equal(fl_error_last()->klass, FL_E_INVALID);
		const char *msg = fl_error_last()->message;
		if (!strstr(msg, "unencrypted_regex") || !strstr(msg, refused[i]))
			fail_msg("the error for /%s/ does not name it: %s", refused[i], msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_go_semantics),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
