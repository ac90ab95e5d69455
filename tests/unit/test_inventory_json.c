/* Unit tests for inventory.json editing (fl_inventory_json_add_machine) and the machine
 * name rule of docs/contract.md. Expected texts are written out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleet/error.h"
#include "fleet/inventory.h"

#include <string.h>

static const char *const vps[] = {"vps", "edge"};
static const struct fl_inventory_json_machine web7 = {"web7", "nixos", "x86_64-linux",
                                                      NULL,   vps,     2};

static void expect_edit(const char *in, const struct fl_inventory_json_machine *m, const char *want)
{
	struct fl_buf out = FL_BUF_INIT;
	assert_int_equal(fl_inventory_json_add_machine(in, strlen(in), m, &out), 0);
	assert_non_null(out.ptr);
	assert_string_equal(out.ptr, want);
	fl_buf_free(&out);
}

static void test_layouts(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
	    /* a new file */
	    {"",
	     "{\n  \"machines\": {\n    \"web7\": {\n      \"machineClass\": \"nixos\",\n      "
	     "\"system\": \"x86_64-linux\",\n      \"tags\": [\"vps\", \"edge\"]\n    }\n  }\n}\n"},
	    /* two-space, the machine after its sibling, the rest untouched */
	    {"{\n  \"machines\": {\n    \"a\": {}\n  },\n  \"z\": 1\n}\n",
	     "{\n  \"machines\": {\n    \"a\": {},\n    \"web7\": {\n      \"machineClass\": "
	     "\"nixos\",\n      \"system\": \"x86_64-linux\",\n      \"tags\": [\"vps\", "
	     "\"edge\"]\n    }\n  },\n  \"z\": 1\n}\n"},
	    /* tabs */
	    {"{\n\t\"machines\": {\n\t\t\"a\": {}\n\t}\n}",
	     "{\n\t\"machines\": {\n\t\t\"a\": {},\n\t\t\"web7\": {\n\t\t\t\"machineClass\": "
	     "\"nixos\",\n\t\t\t\"system\": \"x86_64-linux\",\n\t\t\t\"tags\": [\"vps\", "
	     "\"edge\"]\n\t\t}\n\t}\n}"},
	    /* one line stays one line */
	    {"{\"machines\": {\"a\": {}}}",
	     "{\"machines\": {\"a\": {}, \"web7\": { \"machineClass\": \"nixos\", \"system\": "
	     "\"x86_64-linux\", \"tags\": [\"vps\", \"edge\"] }}}"},
	    /* an empty machines object, three spaces */
	    {"{\n   \"machines\": {}\n}\n",
	     "{\n   \"machines\": {\n      \"web7\": {\n         \"machineClass\": \"nixos\",\n"
	     "         \"system\": \"x86_64-linux\",\n         \"tags\": [\"vps\", \"edge\"]\n"
	     "      }\n   }\n}\n"},
	    /* no machines: added after the last key, in the file's step */
	    {"{\n    \"v\": 1\n}\n",
	     "{\n    \"v\": 1,\n    \"machines\": {\n        \"web7\": {\n            "
	     "\"machineClass\": \"nixos\",\n            \"system\": \"x86_64-linux\",\n       "
	     "     \"tags\": [\"vps\", \"edge\"]\n        }\n    }\n}\n"},
	    /* CRLF */
	    {"{\r\n  \"machines\": {\r\n    \"a\": {}\r\n  }\r\n}\r\n",
	     "{\r\n  \"machines\": {\r\n    \"a\": {},\r\n    \"web7\": {\r\n      "
	     "\"machineClass\": \"nixos\",\r\n      \"system\": \"x86_64-linux\",\r\n      "
	     "\"tags\": [\"vps\", \"edge\"]\r\n    }\r\n  }\r\n}\r\n"},
	    /* a member whose value spans lines, keys with escapes before it */
	    {"{\n  \"machines\": {\n    \"q\\\"x\": {\n      \"tags\": [\n        \"a\"\n      "
	     "]\n    }\n  }\n}\n",
	     "{\n  \"machines\": {\n    \"q\\\"x\": {\n      \"tags\": [\n        \"a\"\n      "
	     "]\n    },\n    \"web7\": {\n      \"machineClass\": \"nixos\",\n      \"system\": "
	     "\"x86_64-linux\",\n      \"tags\": [\"vps\", \"edge\"]\n    }\n  }\n}\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_edit(cases[i].in, &web7, cases[i].want);
}

static void test_only_what_is_given(void **state)
{
	(void)state;
	struct fl_inventory_json_machine bare = {"b", NULL, NULL, NULL, NULL, 0};
	expect_edit("{\"machines\": {}}", &bare, "{\"machines\": {\"b\": {}}}");
	struct fl_inventory_json_machine target = {"t", "darwin", NULL, "me@\"host\"\\", NULL, 0};
	expect_edit(
	    "{\n  \"machines\": {}\n}", &target,
	    "{\n  \"machines\": {\n    \"t\": {\n      \"machineClass\": \"darwin\",\n      "
	    "\"deploy\": { \"targetHost\": \"me@\\\"host\\\"\\\\\" }\n    }\n  }\n}");
}

static void test_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		enum fl_error_class klass;
		const char *says;
	} cases[] = {
	    {"{\"machines\": {\"web7\": {}}}", FL_E_EXISTS, "\"web7\" is already there"},
	    {"{\"machines\": []}", FL_E_INVALID, "\"machines\" is an object"},
	    {"[]", FL_E_INVALID, "an object whose"},
	    {"{\"machines\": {}", FL_E_INVALID, "JSON"},
	    {"{\"machines\": {}} x", FL_E_INVALID, "JSON"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fl_buf out = FL_BUF_INIT;
		assert_int_equal(
		    fl_inventory_json_add_machine(cases[i].in, strlen(cases[i].in), &web7, &out),
		    -1);
		assert_int_equal(fl_error_last()->klass, cases[i].klass);
		assert_non_null(strstr(fl_error_last()->message, cases[i].says));
		fl_buf_free(&out);
	}
}

static void test_names(void **state)
{
	(void)state;
	static const char *const good[] = {"web1", "W", "0", "a_b-c", "Web_2", "a--", "9_"};
	static const char *const bad[] = {"", "-web", "_web", "web.1", "web 1", "wéb", "a/b", "."};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(fl_inventory_machine_name_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(fl_inventory_machine_name_valid(bad[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layouts),
	    cmocka_unit_test(test_only_what_is_given),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
