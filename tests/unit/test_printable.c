/* Text for a terminal: control characters and bytes that are not UTF-8 are shown escaped,
 * everything else passes unchanged. Expectations written by hand from the rules: C0
 * (0x00-0x1f), DEL and C1 (U+0080-U+009F) are controls; ESC, CSI and OSC start the
 * sequences a terminal obeys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleet/buf.h"

#include <string.h>

static const struct {
	const char *in;
	int message;
	const char *out;
} cases[] = {
    {"web1", 0, "web1"},
    {"", 0, ""},
    {"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", 0, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"},
    {"a\x1b[31mred", 0, "a\\x1b[31mred"},
    {"\x1b]0;title\x07", 0, "\\x1b]0;title\\x07"},
    {"x\x7fy", 0, "x\\x7fy"},
    {"\xc2\x9b"
     "2J",
     0, "\\u009b2J"}, /* C1 CSI */
    {"\xc2\x9d"
     "0;t",
     0, "\\u009d0;t"},                               /* C1 OSC */
    {"\xc2\xa0", 0, "\xc2\xa0"},                     /* U+00A0 is not a control */
    {"\xff", 0, "\\xff"},                            /* never valid in UTF-8 */
    {"\x9b", 0, "\\x9b"},                            /* a raw 8-bit CSI */
    {"\xc3", 0, "\\xc3"},                            /* cut short */
    {"\xc0\xaf", 0, "\\xc0\\xaf"},                   /* overlong */
    {"\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf"},          /* overlong */
    {"\xed\xa0\x80", 0, "\\xed\\xa0\\x80"},          /* a surrogate */
    {"\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80"}, /* above U+10FFFF */
    {"a\\b", 0, "a\\\\b"},
    {"l1\nl2\tx\r", 0, "l1\\x0al2\\x09x\\x0d"},
    {"l1\nl2\tx\r", 1, "l1\nl2\tx\\x0d"},
    {"\x1b\n", 1, "\\x1b\n"},
    {"a literal \\n in C:\\dir", 1, "a literal \\n in C:\\dir"},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fl_buf b = FL_BUF_INIT;
		assert_int_equal(
		    fl_buf_put_printable(&b, cases[i].in, strlen(cases[i].in), cases[i].message),
		    0);
		const char *got = b.ptr ? b.ptr : "";
		if (strcmp(got, cases[i].out) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, got, cases[i].out);
		fl_buf_free(&b);
	}
}

static void test_embedded_nul(void **state)
{
	(void)state;
	struct fl_buf b = FL_BUF_INIT;
	assert_int_equal(fl_buf_put_printable(&b, "a\0b", 3, 0), 0);
	assert_string_equal(b.ptr, "a\\x00b");
	fl_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_embedded_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
