/* sops' regexes: Go's regexp package is RE2, so fleet uses RE2 itself (src/sops/re2_shim.cc)
 * rather than translating to another dialect. docs/sops.md explains the choice. */
#include "sops/regex.h"

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

int sops_regex_match(const struct sops_regex *re, const char *s)
{
	return sops_re2_search(re->re2, s, strlen(s));
}

void sops_regex_free(struct sops_regex *re)
{
	if (!re)
		return;
	sops_re2_free(re->re2);
	free(re);
}
