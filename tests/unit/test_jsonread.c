/* The JSON reader: a parse fed in pieces (as a child's output arrives) gives exactly
 * what a parse of the whole gives, values can be skipped (checked, not built), and a
 * failing source fails the parse with its own error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleet/error.h"
#include "fleet/jsonread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reveals a complete text `step` bytes at a time; fails after `fail_at` if set. */
struct trickle {
	const char *text;
	size_t len, shown, step, fail_at;
};

static int trickle_more(void *ctx, const char **end)
{
	struct trickle *t = ctx;
	if (t->fail_at && t->shown >= t->fail_at)
		return fl_error_set(FL_E_OS, "the source broke");
	if (t->shown >= t->len)
		return 0;
	t->shown = t->shown + t->step < t->len ? t->shown + t->step : t->len;
	*end = t->text + t->shown;
	return 1;
}

static const char *const docs[] = {
    "{}",
    "[]",
    "  {\"a\" : [1, -2.5e+3, 0, true, false, null, \"x\"] }  ",
    "{\"esc\":\"q\\\"b\\\\s\\/n\\n\\u00e9\\ud83d\\ude00\",\"e\":\"\\\\\"}",
    ("{\"machines\":{\"web1\":{\"generators\":{\"g\":{\"files\":[1,{\"k\":\"v\\n\"}]}},"
     "\"tags\":[\"a\"]},\"web2\":{\"generators\":null}},\"n\":123456789012}"),
    "[[[[[[\"deep\"]]]]],{\"\":{}},12.0e-1,-0,1e5]",
    /* invalid ones: the same error whole or in pieces */
    "{\"a\":tru}",
    "{\"a\":\"unterminated}",
    "{\"a\":\"bad \\x escape\"}",
    "{\"a\":1,}",
    "{\"a\":1} trailing",
    "{\"a\":-}",
    "{\"a\":\"\\ud800\"}",
    "{\"dup\":1,\"dup\":2}",
    "{\"a\":\"back\\",
    "",
};

static void test_pieces_equal_whole(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		const char *text = docs[i];
		size_t len = strlen(text);
		struct fl_jdoc whole;
		int want = fl_jdoc_parse(text, len, &whole);
		char want_msg[1024];
		snprintf(want_msg, sizeof(want_msg), "%s", fl_error_last()->message);
		for (size_t step = 1; step <= len + 1; step++) {
			struct trickle t = {text, len, 0, step, 0};
			struct fl_jsource src = {trickle_more, &t};
			struct fl_jdoc got;
			int rc = fl_jdoc_parse_stream(text, 0, &src, NULL, &got);
			if (rc != want)
				fail_msg("%s in pieces of %zu: %d, whole: %d", text, step, rc,
				         want);
			if (rc == 0) {
				if (!fl_jv_equal(whole.root, got.root))
					fail_msg("%s in pieces of %zu: another value", text, step);
				fl_jdoc_free(&got);
			} else if (strcmp(fl_error_last()->message, want_msg) != 0) {
				fail_msg("%s in pieces of %zu: \"%s\", whole: \"%s\"", text, step,
				         fl_error_last()->message, want_msg);
			}
		}
		if (want == 0)
			fl_jdoc_free(&whole);
	}
}

static void test_skip(void **state)
{
	(void)state;
	static const char *const gens[] = {"machines", "*", "generators", NULL};
	const char *text = docs[4];
	struct fl_jdoc d;
	assert_int_equal(fl_jdoc_parse_ex(text, strlen(text), gens, &d), 0);
	const struct fl_jv *web1 = fl_jv_get(fl_jv_get(d.root, "machines"), "web1");
	const struct fl_jv *g = fl_jv_get(web1, "generators");
	assert_int_equal(g->type, FL_JV_SKIPPED);
	assert_int_equal(g->raw_len, strlen("{\"g\":{\"files\":[1,{\"k\":\"v\\n\"}]}}"));
	assert_memory_equal(g->raw, "{\"g\":{\"files\"", 13);
	/* Not skipped: siblings, and a null that matched the pattern is still only text. */
	assert_int_equal(fl_jv_get(web1, "tags")->type, FL_JV_ARR);
	const struct fl_jv *g2 =
	    fl_jv_get(fl_jv_get(fl_jv_get(d.root, "machines"), "web2"), "generators");
	assert_int_equal(g2->type, FL_JV_SKIPPED);
	assert_int_equal(g2->raw_len, 4);
	/* The skipped text parses to what a full parse built. */
	struct fl_jdoc full, part;
	assert_int_equal(fl_jdoc_parse(text, strlen(text), &full), 0);
	assert_int_equal(fl_jdoc_parse(g->raw, g->raw_len, &part), 0);
	assert_true(
	    fl_jv_equal(part.root, fl_jv_get(fl_jv_get(fl_jv_get(full.root, "machines"), "web1"),
	                                     "generators")));
	assert_true(fl_jv_equal(full.root, d.root)); /* skipped equals same text */
	fl_jdoc_free(&part);
	fl_jdoc_free(&full);
	fl_jdoc_free(&d);
	/* Skipped values are still checked, in pieces too. */
	static const char *const bad[] = {
	    "{\"machines\":{\"a\":{\"generators\":{\"x\":tru}}}}",
	    "{\"machines\":{\"a\":{\"generators\":{\"x\":\"\\q\"}}}}",
	    "{\"machines\":{\"a\":{\"generators\":{\"x\":\"\x01\"}}}}",
	    "{\"machines\":{\"a\":{\"generators\":{\"x\":[1,2}}}}",
	    "{\"machines\":{\"a\":{\"generators\":{\"x\":\"\\ud800x\"}}}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (fl_jdoc_parse_ex(bad[i], strlen(bad[i]), gens, &d) == 0)
			fail_msg("%s: skipped but not checked", bad[i]);
		struct trickle t = {bad[i], strlen(bad[i]), 0, 3, 0};
		struct fl_jsource src = {trickle_more, &t};
		if (fl_jdoc_parse_stream(bad[i], 0, &src, gens, &d) == 0)
			fail_msg("%s: skipped in pieces but not checked", bad[i]);
	}
	/* Duplicate keys are not looked for inside a skipped value (they are when it is
	 * parsed), but are everywhere else. */
	const char *dup = "{\"machines\":{\"a\":{\"generators\":{\"x\":1,\"x\":2}}}}";
	assert_int_equal(fl_jdoc_parse_ex(dup, strlen(dup), gens, &d), 0);
	fl_jdoc_free(&d);
	const char *dup2 = "{\"machines\":{\"a\":{},\"a\":{}}}";
	assert_int_equal(fl_jdoc_parse_ex(dup2, strlen(dup2), gens, &d), -1);
	/* An empty pattern skips nothing. */
	static const char *const none[] = {NULL};
	assert_int_equal(fl_jdoc_parse_ex("[1]", 3, none, &d), 0);
	assert_int_equal(d.root->type, FL_JV_ARR);
	fl_jdoc_free(&d);
}

/* RFC 8259, which the reader implements, and what it adds (duplicate keys, a depth
 * limit): every one of these must be refused, whole, in one-byte pieces, and inside a
 * skipped value (checked, not built). Written by hand from the RFC's grammar. */
static const char *const invalid_docs[] = {
    /* trailing, missing and doubled commas (§4, §5) */
    "{\"a\":1,}",
    "[1,]",
    "[,]",
    "{,}",
    "[1,,2]",
    "[1 2]",
    "{\"a\":1 \"b\":2}",
    "{\"a\" 1}",
    /* numbers (§6): leading zeros, signs, bare points, exponents, hex, non-numbers */
    "01",
    "-01",
    "[00]",
    "+1",
    ".5",
    "1.",
    "1.e5",
    "1e",
    "1e+",
    "-",
    "0x10",
    "NaN",
    "Infinity",
    "-Infinity",
    "1_000",
    "[1.5.5]",
    /* strings (§7): control characters unescaped, bad escapes, surrogates alone */
    "\"a\x01"
    "b\"",
    "\"tab\there\"",
    "\"new\nline\"",
    "\"\x1f\"",
    "\"bad \\x\"",
    "\"\\'\"",
    "\"\\u12\"",
    "\"\\u12G4\"",
    "\"\\U0041\"",
    "\"\\ud800\"",
    "\"\\udc00\"",
    "\"\\ud800\\u0041\"",
    "\"\\ud800x\"",
    "\"\\udbff\\ud800\"",
    "'single'",
    "\"unterminated",
    /* names must be strings (§4) */
    "{a:1}",
    "{1:1}",
    "{null:1}",
    /* literals (§3) are lowercase and whole */
    "tru",
    "True",
    "nul",
    "NULL",
    "falsey",
    "[truex]",
    /* no comments, no other whitespace (§2) */
    "[1 // c\n]",
    "[1 /* c */]",
    "[1,\f2]",
    "[1,\v2]",
    "[1,\xc2\xa0"
    "2]",
    /* one value only, complete (§2) */
    "",
    " ",
    "{} {}",
    "1 2",
    "{}x",
    "[",
    "{\"a\":",
    "{\"a\"",
    "[1",
    "{\"a\":1",
};

/* What the reader adds: duplicate keys, at any depth (not looked for inside a skipped
 * value, only once it is built). */
static const char *const duplicate_docs[] = {
    "{\"dup\":1,\"dup\":2}",
    "{\"x\":{\"a\":1,\"b\":2,\"a\":3}}",
};

static void test_invalid_documents(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid_docs) / sizeof(invalid_docs[0]); i++) {
		const char *text = invalid_docs[i];
		size_t len = strlen(text);
		struct fl_jdoc d;
		if (fl_jdoc_parse(text, len, &d) == 0)
			fail_msg("accepted: '%s'", text);
		assert_int_equal(fl_error_last()->klass, FL_E_INVALID);
		struct trickle t = {text, len, 0, 1, 0};
		struct fl_jsource src = {trickle_more, &t};
		if (fl_jdoc_parse_stream(text, 0, &src, NULL, &d) == 0)
			fail_msg("accepted in pieces: '%s'", text);
		/* Inside a skipped value: checked all the same. */
		char wrapped[256];
		snprintf(wrapped, sizeof(wrapped), "{\"machines\":{\"a\":{\"generators\":%s}}}",
		         text);
		static const char *const gens[] = {"machines", "*", "generators", NULL};
		if (len && fl_jdoc_parse_ex(wrapped, strlen(wrapped), gens, &d) == 0)
			fail_msg("accepted when skipped: '%s'", wrapped);
	}
	for (size_t i = 0; i < sizeof(duplicate_docs) / sizeof(duplicate_docs[0]); i++) {
		struct fl_jdoc d;
		if (fl_jdoc_parse(duplicate_docs[i], strlen(duplicate_docs[i]), &d) == 0)
			fail_msg("accepted: '%s'", duplicate_docs[i]);
		assert_non_null(strstr(fl_error_last()->message, "duplicate key"));
	}
	/* Nesting deeper than 512 levels. */
	char deep[1300];
	memset(deep, '[', 600);
	memset(deep + 600, ']', 600);
	struct fl_jdoc d;
	assert_int_equal(fl_jdoc_parse(deep, 1200, &d), -1);
	assert_non_null(strstr(fl_error_last()->message, "nested too deeply"));
	assert_int_equal(fl_jdoc_parse(deep + 100, 1000, &d), 0); /* 500 levels are fine */
	fl_jdoc_free(&d);
}

static void test_source_failure(void **state)
{
	(void)state;
	const char *text = docs[4];
	struct trickle t = {text, strlen(text), 0, 8, 40};
	struct fl_jsource src = {trickle_more, &t};
	struct fl_jdoc d;
	assert_int_equal(fl_jdoc_parse_stream(text, 0, &src, NULL, &d), -1);
	assert_string_equal(fl_error_last()->message, "the source broke");
	assert_null(d.root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pieces_equal_whole),
	    cmocka_unit_test(test_skip),
	    cmocka_unit_test(test_source_failure),
	    cmocka_unit_test(test_invalid_documents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
