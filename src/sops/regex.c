/* sops' regexes: Go's regexp package is RE2, so fleet uses RE2 itself (src/sops/re2_shim.cc)
 * rather than translating to another dialect. docs/sops.md explains the choice. */
#include "sops/regex.h"

#include "fleet/buf.h"
#include "fleet/error.h"
#include "sops/re2_shim.h"

#include <stdlib.h>
#include <string.h>

struct sops_regex {
	void *re2;
};

/* Go's syntax lacks RE2's \C (any byte): refuse it as Go does. Text between \Q and \E is
 * literal in both. */
static int has_any_byte_escape(const char *p)
{
	int literal = 0;
	for (; *p; p++) {
		if (p[0] != '\\' || !p[1])
			continue;
		if (literal) {
			literal = p[1] != 'E';
		} else if (p[1] == 'Q') {
			literal = 1;
		} else if (p[1] == 'C') {
			return 1;
		}
		p++;
	}
	return 0;
}

int sops_regex_compile(struct sops_regex **out, const char *pattern, const char *what)
{
	char err[256] = "";
	*out = NULL;
	if (has_any_byte_escape(pattern))
		return fl_error_set(FL_E_INVALID,
		                    "%s \"%s\" is not a valid regular expression: invalid escape "
		                    "sequence \\C (Go's regexp, which sops uses, has none)",
		                    what, pattern);
	struct sops_regex *re = calloc(1, sizeof(*re));
	if (!re)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	if (sops_re2_compile(pattern, strlen(pattern), &re->re2, err, sizeof(err)) < 0) {
		free(re);
		return fl_error_set(FL_E_INVALID,
		                    "%s \"%s\" is not a valid regular expression for sops (Go's "
		                    "RE2 syntax: no backreferences or lookaround): %s",
		                    what, pattern, err);
	}
	*out = re;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (Go's utf8.DecodeRune: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 if it is not one. */
static size_t utf8_valid_at(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

int sops_regex_match(const struct sops_regex *re, const char *s)
{
	size_t len = strlen(s), i = 0, step;
	while (i < len && (step = utf8_valid_at((const unsigned char *)s + i)) > 0)
		i += step;
	if (i == len)
		return sops_re2_search(re->re2, s, len);
	/* Go reads each byte of invalid UTF-8 as U+FFFD; RE2 would match none of them. */
	struct fl_buf text = FL_BUF_INIT;
	int rc = fl_buf_put(&text, s, i);
	while (rc == 0 && i < len) {
		step = utf8_valid_at((const unsigned char *)s + i);
		rc = step ? fl_buf_put(&text, s + i, step) : fl_buf_puts(&text, "\xef\xbf\xbd");
		i += step ? step : 1;
	}
	int hit = rc == 0 ? sops_re2_search(re->re2, text.ptr, text.len) : -1;
	fl_buf_free(&text);
	return hit;
}

void sops_regex_free(struct sops_regex *re)
{
	if (!re)
		return;
	sops_re2_free(re->re2);
	free(re);
}
