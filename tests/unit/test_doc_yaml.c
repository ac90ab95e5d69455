/*
 * Unit tests for src/doc/yaml.c: scalar resolution as yaml.v3 (and so sops) sees it,
 * comment placement, the emitter's layout (byte-identical to sops on a real file),
 * the parse -> emit -> parse round trip, and failure on malformed or hostile input.
 *
 * Real sops files are read from $FLEET_SHARED/vectors, else ../../shared/vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleet/doc.h"
#include "fleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_vector(const char *rel, size_t *len)
{
	const char *base = getenv("FLEET_SHARED");
	char path[1024];
	snprintf(path, sizeof(path), "%s/vectors/%s", base ? base : "../../shared", rel);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void parse_ok(const char *in, struct fl_docs *docs)
{
	memset(docs, 0, sizeof(*docs));
	if (fl_doc_parse_yaml(in, strlen(in), docs) < 0)
		fail_msg("parse failed: %s\ninput:\n%s", fl_error_last()->message, in);
}

static char *emit_ok(const struct fl_docs *docs)
{
	struct fl_buf out = FL_BUF_INIT;
	assert_int_equal(fl_doc_emit_yaml(docs, &out), 0);
	if (!out.ptr)
		return strdup("");
	return fl_buf_detach(&out);
}

/* parse -> emit -> parse gives the same tree, and emitting again gives the same text. */
static char *round_trip(const char *in)
{
	struct fl_docs a, b, c;
	parse_ok(in, &a);
	char *t1 = emit_ok(&a);
	parse_ok(t1, &b);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++)
		if (!fl_doc_equal(a.v[i], b.v[i], 0))
			fail_msg("round trip differs in document %zu\ninput:\n%s\nemitted:\n%s", i,
			         in, t1);
	char *t2 = emit_ok(&b);
	assert_string_equal(t1, t2);
	parse_ok(t2, &c);
	fl_docs_free(&a);
	fl_docs_free(&b);
	fl_docs_free(&c);
	free(t2);
	return t1;
}

static const struct fl_doc *root_get(const struct fl_docs *docs, const char *key)
{
	assert_true(docs->n >= 1);
	const struct fl_doc *v = fl_doc_get(docs->v[0], key);
	if (!v)
		fail_msg("no key %s", key);
	return v;
}

static void test_sops_nix_vector(void **state)
{
	(void)state;
	size_t len;
	char *in = read_vector("sops-nix/secrets.yaml", &len);
	struct fl_docs docs = {0};
	assert_int_equal(fl_doc_parse_yaml(in, len, &docs), 0);
	assert_int_equal(docs.n, 1);
	const struct fl_doc *sops = root_get(&docs, "sops");
	assert_int_equal(sops->type, FL_DOC_MAP);
	const struct fl_doc *age = fl_doc_get(sops, "age");
	assert_int_equal(age->type, FL_DOC_LIST);
	assert_int_equal(age->n, 2);
	const struct fl_doc *enc = fl_doc_get(age->items[0].value, "enc");
	assert_int_equal(enc->type, FL_DOC_STR);
	assert_int_equal(enc->style, FL_DOC_STYLE_LITERAL);
	assert_true(strncmp(enc->text, "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl", 39) == 0);
	const char *tail = "TwhUG7Qlggod2xCWTC4cpjb+THip2u31tFoSPQZKEG8gDcGNIz2HOw==\n"
	                   "-----END AGE ENCRYPTED FILE-----\n";
	assert_true(enc->len > strlen(tail));
	assert_string_equal(enc->text + enc->len - strlen(tail), tail);
	const struct fl_doc *lm = fl_doc_get(sops, "lastmodified");
	assert_int_equal(lm->type, FL_DOC_STR);
	assert_string_equal(lm->text, "2021-09-30T19:49:41Z");
	assert_int_equal(fl_doc_get(sops, "kms")->type, FL_DOC_LIST);
	assert_string_equal(fl_doc_get(sops, "version")->text, "3.7.1");
	assert_int_equal(fl_doc_get(sops, "version")->type, FL_DOC_STR);
	/* Re-emitted exactly as sops wrote it. */
	char *out = emit_ok(&docs);
	assert_string_equal(out, in);
	free(out);
	fl_docs_free(&docs);
	free(round_trip(in));
	free(in);
}

static void test_sops_clan_vector(void **state)
{
	(void)state;
	size_t len;
	char *in = read_vector("sops-clan/secrets.yaml", &len);
	struct fl_docs docs = {0};
	assert_int_equal(fl_doc_parse_yaml(in, len, &docs), 0);
	const struct fl_doc *sops = root_get(&docs, "sops");
	const struct fl_doc *age = fl_doc_get(sops, "age");
	assert_int_equal(age->n, 1);
	assert_string_equal(fl_doc_get(age->items[0].value, "recipient")->text,
	                    "age14tva0txcrl0zes05x7gkx56qd6wd9q3nwecjac74xxzz4l47r44sv3fz62");
	const struct fl_doc *enc = fl_doc_get(age->items[0].value, "enc");
	const char *end = "-----END AGE ENCRYPTED FILE-----\n";
	assert_string_equal(enc->text + enc->len - strlen(end), end);
	assert_int_equal(fl_doc_get(sops, "pgp")->n, 0);
	assert_int_equal(root_get(&docs, "nested")->type, FL_DOC_MAP);
	fl_docs_free(&docs);
	free(round_trip(in));
	free(in);
}

struct scalar_case {
	const char *yaml;
	enum fl_doc_type type;
	const char *text; /* NULL: no text (FL_DOC_NULL) */
};

/* yaml.v3 resolve.go semantics, as sops decodes into interface{}. */
static const struct scalar_case scalar_cases[] = {
    {"~", FL_DOC_NULL, NULL},
    {"null", FL_DOC_NULL, NULL},
    {"Null", FL_DOC_NULL, NULL},
    {"NULL", FL_DOC_NULL, NULL},
    {"", FL_DOC_NULL, NULL},
    {"nULL", FL_DOC_STR, "nULL"},
    {"true", FL_DOC_BOOL, "true"},
    {"True", FL_DOC_BOOL, "true"},
    {"FALSE", FL_DOC_BOOL, "false"},
    {"yes", FL_DOC_STR, "yes"},
    {"off", FL_DOC_STR, "off"},
    {"tRUE", FL_DOC_STR, "tRUE"},
    {"0", FL_DOC_INT, "0"},
    {"-0", FL_DOC_INT, "0"},
    {"+12", FL_DOC_INT, "12"},
    {"0x1f", FL_DOC_INT, "31"},
    {"-0x10", FL_DOC_INT, "-16"},
    {"0o17", FL_DOC_INT, "15"},
    {"0b101", FL_DOC_INT, "5"},
    {"-0b101", FL_DOC_INT, "-5"},
    {"017", FL_DOC_INT, "15"},     /* yaml.v3 keeps YAML 1.1 octals */
    {"1_000", FL_DOC_INT, "1000"}, /* yaml.v3 drops underscores */
    {"9223372036854775807", FL_DOC_INT, "9223372036854775807"},
    {"-9223372036854775808", FL_DOC_INT, "-9223372036854775808"},
    {"18446744073709551615", FL_DOC_INT, "18446744073709551615"},
    {"18446744073709551616", FL_DOC_FLOAT, "18446744073709552000"},
    {"-9223372036854775809", FL_DOC_FLOAT, "-9223372036854776000"},
    {"0x", FL_DOC_STR, "0x"},
    {"08", FL_DOC_FLOAT, "8"},
    {"1.5", FL_DOC_FLOAT, "1.5"},
    {"-1.25e2", FL_DOC_FLOAT, "-125"},
    {".5", FL_DOC_FLOAT, "0.5"},
    {"1.", FL_DOC_FLOAT, "1"},
    {"1e400", FL_DOC_STR, "1e400"},
    {".inf", FL_DOC_FLOAT, "+Inf"},
    {"-.INF", FL_DOC_FLOAT, "-Inf"},
    {".NaN", FL_DOC_FLOAT, "NaN"},
    {".nAn", FL_DOC_STR, ".nAn"},
    {"-.nan", FL_DOC_STR, "-.nan"},
    {"1.2.3", FL_DOC_STR, "1.2.3"},
    {"2001-12-14", FL_DOC_STR, "2001-12-14"},
    {"2001-12-14T21:59:43.10-05:00", FL_DOC_STR, "2001-12-14T21:59:43.10-05:00"},
    {"'123'", FL_DOC_STR, "123"},
    {"\"true\"", FL_DOC_STR, "true"},
    {"!!str 123", FL_DOC_STR, "123"},
    {"!!int \"42\"", FL_DOC_INT, "42"},
    {"!!float 3", FL_DOC_FLOAT, "3"},
    {"!!bool true", FL_DOC_BOOL, "true"},
    {"!!null ~", FL_DOC_NULL, NULL},
    {"!!timestamp 2001-12-14", FL_DOC_STR, "2001-12-14"},
    {"!!binary aGVsbG8=", FL_DOC_BYTES, "hello"},
    {"!custom 12", FL_DOC_STR, "12"},
    {"! 12", FL_DOC_STR, "12"},
    {"<<", FL_DOC_STR, "<<"},
    {"ENC[AES256_GCM,data:oOQ=,type:str]", FL_DOC_STR, "ENC[AES256_GCM,data:oOQ=,type:str]"},
};

static void test_scalar_resolution(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(scalar_cases) / sizeof(scalar_cases[0]); i++) {
		const struct scalar_case *c = &scalar_cases[i];
		char in[256];
		struct fl_docs docs;
		snprintf(in, sizeof(in), "k: %s\n", c->yaml);
		parse_ok(in, &docs);
		const struct fl_doc *v = root_get(&docs, "k");
		if (v->type != c->type)
			fail_msg("%s: type %d, want %d", c->yaml, v->type, c->type);
		if (c->text && (!v->text || strcmp(v->text, c->text) != 0))
			fail_msg("%s: text '%s', want '%s'", c->yaml, v->text ? v->text : "(null)",
			         c->text);
		fl_docs_free(&docs);
		free(round_trip(in));
	}
}

static void test_styles(void **state)
{
	(void)state;
	struct fl_docs docs;
	parse_ok("a: plain\nb: 'single'\nc: \"double\"\nd: |\n  lit\ne: >\n  fold\n  ed\n"
	         "f: [x]\ng: {x: 1}\nh:\n  - z\n",
	         &docs);
	assert_int_equal(root_get(&docs, "a")->style, FL_DOC_STYLE_PLAIN);
	assert_int_equal(root_get(&docs, "b")->style, FL_DOC_STYLE_SINGLE);
	assert_int_equal(root_get(&docs, "c")->style, FL_DOC_STYLE_DOUBLE);
	assert_int_equal(root_get(&docs, "d")->style, FL_DOC_STYLE_LITERAL);
	assert_int_equal(root_get(&docs, "e")->style, FL_DOC_STYLE_FOLDED);
	assert_string_equal(root_get(&docs, "e")->text, "fold ed\n");
	assert_int_equal(root_get(&docs, "f")->style, FL_DOC_STYLE_FLOW);
	assert_int_equal(root_get(&docs, "g")->style, FL_DOC_STYLE_FLOW);
	assert_int_not_equal(root_get(&docs, "h")->style, FL_DOC_STYLE_FLOW);
	char *out = emit_ok(&docs);
	assert_string_equal(out, "a: plain\nb: 'single'\nc: \"double\"\nd: |\n    lit\n"
	                         "e: |\n    fold ed\nf: [x]\ng: {x: 1}\nh:\n    - z\n");
	free(out);
	fl_docs_free(&docs);
}

static void expect_comment(const struct fl_doc *d, size_t i, const char *text, int inline_c)
{
	assert_true(i < d->n);
	const struct fl_doc *c = d->items[i].value;
	assert_null(d->items[i].key);
	assert_int_equal(c->type, FL_DOC_COMMENT);
	assert_string_equal(c->text, text);
	assert_int_equal(c->inline_comment, inline_c);
}

static void test_comment_placement(void **state)
{
	(void)state;
	struct fl_docs docs;
	const char *in = "# top\n"
	                 "a: 1 # after a\n"
	                 "# before b\n"
	                 "b:\n"
	                 "    # first in b\n"
	                 "    c: 'x # not a comment'\n"
	                 "    list:\n"
	                 "        - 1 # after 1\n"
	                 "        # before 2\n"
	                 "        - 2\n"
	                 "        # end of list\n"
	                 "    # end of b\n"
	                 "#ENC[AES256_GCM,data:Zm9v,iv:aXY=,tag:dGFn,type:comment]\n"
	                 "d: \"#x\" # after d\n"
	                 "e: [1, {f: 2}] # after e\n"
	                 "# end of root\n";
	parse_ok(in, &docs);
	const struct fl_doc *r = docs.v[0];
	expect_comment(r, 0, " top", 0);
	assert_string_equal(r->items[1].key, "a");
	expect_comment(r, 2, " after a", 1);
	expect_comment(r, 3, " before b", 0);
	const struct fl_doc *b = fl_doc_get(r, "b");
	expect_comment(b, 0, " first in b", 0);
	assert_string_equal(fl_doc_get(b, "c")->text, "x # not a comment");
	const struct fl_doc *list = fl_doc_get(b, "list");
	assert_int_equal(list->n, 5);
	expect_comment(list, 1, " after 1", 1);
	expect_comment(list, 2, " before 2", 0);
	expect_comment(list, 4, " end of list", 0);
	expect_comment(b, b->n - 1, " end of b", 0);
	expect_comment(r, 5, "ENC[AES256_GCM,data:Zm9v,iv:aXY=,tag:dGFn,type:comment]", 0);
	assert_string_equal(r->items[6].key, "d");
	assert_string_equal(r->items[6].value->text, "#x");
	expect_comment(r, 7, " after d", 1);
	expect_comment(r, 9, " after e", 1);
	expect_comment(r, 10, " end of root", 0);
	char *out = emit_ok(&docs);
	assert_string_equal(out, in);
	free(out);
	fl_docs_free(&docs);
	free(round_trip(in));
}

static const char rich[] =
    "# head\n"
    "name: fleet # eol\n"
    "ints: [1, -2, 0x1F, 0o17, 0b101, 017, +5, 1_000, 18446744073709551615]\n"
    "floats: [1.5, -0.0, .5, 1e3, .inf, -.Inf, .NaN, 08, 1.0, 1e20]\n"
    "bools: [true, False, yes, on]\n"
    "nulls: [~, null, ]\n"
    "times: [2001-12-14, 2001-12-14T21:59:43.10-05:00, 2001-12-14 21:59:43.10 -5]\n"
    "tagged: [!!str 12, !!int \"12\", !!float 3, !!binary aGVsbG8=, !foo bar]\n"
    "quoted:\n"
    "  - 'single # not comment'\n"
    "  - \"tab\\there\"\n"
    "  - \": colon\"\n"
    "  - \"- dash\"\n"
    "  - -dash\n"
    "  - \"\"\n"
    "  - \" lead\"\n"
    "  - \"trail \"\n"
    "  - \"a #b\"\n"
    "  - \"nul\\0 bell\\a esc\\e nel\\N ls\\L bom\\uFEFF\"\n"
    "  - \"日本語 ünïcödé 🎉\"\n"
    "  - '123'\n"
    "  - \"null\"\n"
    "  - \"2001-12-14\"\n"
    "  - \"1:20\"\n"
    "  - \"<<\"\n"
    "  - \"---\"\n"
    "  - \"key: value\"\n"
    "  - \"[x]\"\n"
    "  - \"{x}\"\n"
    "  - \"multi\\nline with trailing space \\n\"\n"
    "\"quoted key\": 1\n"
    "\"\": empty key\n"
    "\"123\": numeric key\n"
    "? |\n"
    "  block key\n"
    ": v\n"
    "nested:\n"
    "  # own line\n"
    "  a:\n"
    "    b: 1 # eol b\n"
    "    # trailing a\n"
    "  list:\n"
    "    - x # eol x\n"
    "    # between\n"
    "    - k: v\n"
    "      k2: v2 # eol k2\n"
    "    - - inner\n"
    "      - inner2\n"
    "    - []\n"
    "    - {}\n"
    "    - [a, {b: c}, [d]]\n"
    "  flow_with_comments: [a, # c1\n"
    "     b]\n"
    "  flow_map: { # c2\n"
    "     k: v }\n"
    "  seq_item_flow:\n"
    "    - [ # c3\n"
    "       z]\n"
    "  only_comments: [ # c4\n"
    "     ]\n"
    "multi: |\n"
    "  line one\n"
    "  line two\n"
    "strip: |-\n"
    "  no newline\n"
    "keep: |+\n"
    "  kept\n"
    "\n"
    "folded: >\n"
    "  folded\n"
    "  text\n"
    "lead: |2\n"
    "    indented first\n"
    "  second\n"
    "hdr: | # header comment\n"
    "  body\n"
    "anchored: &anc {x: 1, y: [2, 3]}\n"
    "alias: *anc\n"
    "empty_map: {}\n"
    "empty_list: [] # eol empty\n"
    "# footer\n"
    "---\n"
    "# second document\n"
    "- just\n"
    "- a list\n"
    "---\n"
    "plain scalar document\n"
    "---\n"
    "...\n";

static void test_rich_round_trip(void **state)
{
	(void)state;
	struct fl_docs docs;
	parse_ok(rich, &docs);
	assert_int_equal(docs.n, 4);
	assert_int_equal(docs.v[1]->type, FL_DOC_LIST);
	expect_comment(docs.v[1], 0, " second document", 0);
	assert_int_equal(docs.v[2]->type, FL_DOC_STR);
	assert_int_equal(docs.v[3]->type, FL_DOC_NULL);
	const struct fl_doc *alias = root_get(&docs, "alias");
	assert_int_equal(alias->type, FL_DOC_MAP);
	assert_string_equal(fl_doc_get(alias, "x")->text, "1");
	assert_string_equal(root_get(&docs, "block key\n")->text, "v");
	assert_string_equal(root_get(&docs, "keep")->text, "kept\n\n");
	assert_string_equal(root_get(&docs, "lead")->text, "  indented first\nsecond\n");
	const struct fl_doc *q = root_get(&docs, "quoted");
	assert_int_equal(q->items[9].value->len,
	                 strlen("nul") + 1 +
	                     strlen(" bell\a esc\x1b nel\xc2\x85 ls\xe2\x80\xa8 bom\xef\xbb\xbf"));
	fl_docs_free(&docs);
	char *out = round_trip(rich);
	assert_non_null(strstr(out, "\n---\n# second document\n- just\n"));
	free(out);
}

static void test_emit_layout(void **state)
{
	(void)state;
	struct fl_docs docs = {0};
	struct fl_doc *root = fl_doc_new(FL_DOC_MAP), *list = fl_doc_new(FL_DOC_LIST),
	              *item = fl_doc_new(FL_DOC_MAP);
	assert_int_equal(fl_doc_append(item, "k", fl_doc_new_scalar(FL_DOC_STR, "v", 1)), 0);
	assert_int_equal(fl_doc_append(item, "k2", fl_doc_new_scalar(FL_DOC_INT, "2", 1)), 0);
	assert_int_equal(fl_doc_append(list, NULL, fl_doc_new_scalar(FL_DOC_STR, "a", 1)), 0);
	assert_int_equal(fl_doc_append(list, NULL, item), 0);
	assert_int_equal(fl_doc_append(root, "key", list), 0);
	assert_int_equal(fl_doc_append(root, "empty", fl_doc_new(FL_DOC_MAP)), 0);
	assert_int_equal(fl_doc_append(root, "nil", fl_doc_new(FL_DOC_NULL)), 0);
	assert_int_equal(fl_doc_append(root, "f", fl_doc_new_scalar(FL_DOC_FLOAT, "2", 1)), 0);
	assert_int_equal(fl_doc_append(root, "t", fl_doc_new_scalar(FL_DOC_BOOL, "true", 4)), 0);
	assert_int_equal(fl_doc_append(root, "s", fl_doc_new_scalar(FL_DOC_STR, "true", 4)), 0);
	assert_int_equal(fl_doc_append(root, "m", fl_doc_new_scalar(FL_DOC_STR, "a\nb", 3)), 0);
	assert_int_equal(fl_doc_append(root, "bin", fl_doc_new_scalar(FL_DOC_BYTES, "\0\1", 2)), 0);
	assert_int_equal(fl_doc_append(root, "bad", fl_doc_new_scalar(FL_DOC_STR, "\xff", 1)), 0);
	assert_int_equal(fl_docs_append(&docs, root), 0);
	assert_int_equal(fl_docs_append(&docs, fl_doc_new(FL_DOC_LIST)), 0);
	char *out = emit_ok(&docs);
	assert_string_equal(out, "key:\n"
	                         "    - a\n"
	                         "    - k: v\n"
	                         "      k2: 2\n"
	                         "empty: {}\n"
	                         "nil: null\n"
	                         "f: 2.0\n"
	                         "t: true\n"
	                         "s: \"true\"\n"
	                         "m: |-\n"
	                         "    a\n"
	                         "    b\n"
	                         "bin: !!binary AAE=\n"
	                         "bad: !!binary /w==\n"
	                         "---\n"
	                         "[]\n");
	free(out);
	fl_docs_free(&docs);
}

static void test_thousand_keys(void **state)
{
	(void)state;
	struct fl_buf in = FL_BUF_INIT;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(fl_buf_printf(&in, "key_%04d: value %d\n", i, i), 0);
	struct fl_docs docs;
	parse_ok(in.ptr, &docs);
	assert_int_equal(docs.v[0]->n, 1000);
	char *out = emit_ok(&docs);
	assert_string_equal(out, in.ptr);
	free(out);
	fl_docs_free(&docs);
	fl_buf_free(&in);
}

struct bad_case {
	const char *yaml;
	const char *needle; /* in the message */
};

static const struct bad_case bad_cases[] = {
    {"a: \"unclosed\n", "line"},
    {"a: 'unclosed\n", "line"},
    {"a:\n  b: 1\n c: 2\n", "line 3"},
    {"a:\n\tb: 1\n", "line 2"},
    {"a: 1\nb: 2\na: 3\n", "duplicate mapping key \"a\" (first defined at line 1) at line 3"},
    {"x:\n  '1': a\n  1: b\n", "duplicate mapping key"},
    {"? [a]\n: b\n", "mapping keys must be scalars"},
    {"{[a]: b}\n", "mapping keys must be scalars"},
    {"a: *nope\n", "unknown anchor 'nope'"},
    {"a: &x [*x]\n", "unknown anchor"},
    {"a: !!int abc\n", "cannot decode a !!str value as a !!int"},
    {"a: !!bool yes\n", "as a !!bool"},
    {"a: !!binary '%%%'\n", "!!binary"},
    {"a: [1, 2\n", "line"},
    {"- a\nb: c\n", "line 2"},
    {"a: b: c\n", "line 1"},
    {"\xff\xfe", "line 1"},
    {"a: \x01\n", "control characters"},
};

static void test_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct fl_docs docs = {0};
		const char *in = bad_cases[i].yaml;
		fl_error_clear();
		if (fl_doc_parse_yaml(in, strlen(in), &docs) != -1)
			fail_msg("accepted: %s", in);
		assert_int_equal(fl_error_last()->klass, FL_E_INVALID);
		if (!strstr(fl_error_last()->message, bad_cases[i].needle))
			fail_msg("%s: message '%s' lacks '%s'", in, fl_error_last()->message,
			         bad_cases[i].needle);
		assert_non_null(strstr(fl_error_last()->message, "YAML: "));
		assert_int_equal(docs.n, 0);
	}
}

static void test_error_position(void **state)
{
	(void)state;
	struct fl_docs docs = {0};
	const char *in = "a: 1\nb:\n  c: [1, 2\n";
	assert_int_equal(fl_doc_parse_yaml(in, strlen(in), &docs), -1);
	assert_non_null(strstr(fl_error_last()->message, "at line 4, column 1"));
}

static void test_alias_bomb(void **state)
{
	(void)state;
	struct fl_buf in = FL_BUF_INIT;
	assert_int_equal(fl_buf_puts(&in, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"), 0);
	for (int i = 1; i < 10; i++)
		assert_int_equal(fl_buf_printf(&in,
		                               "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
		                               "*a%d, *a%d, *a%d, *a%d]\n",
		                               i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
		                               i - 1, i - 1, i - 1, i - 1),
		                 0);
	struct fl_docs docs = {0};
	assert_int_equal(fl_doc_parse_yaml(in.ptr, in.len, &docs), -1);
	assert_int_equal(fl_error_last()->klass, FL_E_INVALID);
	assert_non_null(strstr(fl_error_last()->message, "alias"));
	fl_buf_free(&in);
	/* Small, legitimate reuse is expanded. */
	parse_ok("base: &b {k: v}\nx: *b\ny: [*b, *b]\n", &docs);
	assert_int_equal(fl_doc_get(root_get(&docs, "y")->items[1].value, "k")->type, FL_DOC_STR);
	fl_docs_free(&docs);
}

static void test_depth_limit(void **state)
{
	(void)state;
	struct fl_buf in = FL_BUF_INIT;
	struct fl_docs docs = {0};
	for (int i = 0; i < 5000; i++)
		assert_int_equal(fl_buf_putc(&in, '['), 0);
	assert_int_equal(fl_doc_parse_yaml(in.ptr, in.len, &docs), -1);
	assert_int_equal(fl_error_last()->klass, FL_E_INVALID);
	fl_buf_clear(&in);
	for (int i = 0; i < 900; i++)
		assert_int_equal(fl_buf_putc(&in, '['), 0);
	for (int i = 0; i < 900; i++)
		assert_int_equal(fl_buf_putc(&in, ']'), 0);
	free(round_trip(in.ptr));
	fl_buf_free(&in);
}

static void test_empty_input(void **state)
{
	(void)state;
	struct fl_docs docs = {0};
	assert_int_equal(fl_doc_parse_yaml("", 0, &docs), 0);
	assert_int_equal(docs.n, 0);
	assert_int_equal(fl_doc_parse_yaml("# only a comment\n", 17, &docs), 0);
	assert_int_equal(docs.n, 0);
	free(round_trip("---\n# c\n{}\n"));
	free(round_trip("\xef\xbb\xbf"
	                "a: 1 # bom\n"));
	free(round_trip("a: 1\r\nb: [x, # crlf\r\n  y]\r\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sops_nix_vector),   cmocka_unit_test(test_sops_clan_vector),
	    cmocka_unit_test(test_scalar_resolution), cmocka_unit_test(test_styles),
	    cmocka_unit_test(test_comment_placement), cmocka_unit_test(test_rich_round_trip),
	    cmocka_unit_test(test_emit_layout),       cmocka_unit_test(test_thousand_keys),
	    cmocka_unit_test(test_malformed),         cmocka_unit_test(test_error_position),
	    cmocka_unit_test(test_alias_bomb),        cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_empty_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
