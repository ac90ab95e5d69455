/* sops' regular expressions (path_regex and the four encryption-rule regexes) with Go's
 * regexp syntax and semantics: RE2, linear in the input whatever the expression. */
#ifndef FLEET_SOPS_REGEX_H
#define FLEET_SOPS_REGEX_H

#include <stddef.h>

struct sops_regex;

/* Compiles pattern as Go's regexp.Compile would. An expression Go would refuse
 * (backreferences, lookaround, ...) is an FL_E_INVALID error naming `what` and the
 * expression: sops could not use it, so fleet never treats it as "no match". */
int sops_regex_compile(struct sops_regex **out, const char *pattern, const char *what);
/* Whether the expression matches somewhere in s, as Go's MatchString: 1 or 0 (-1 when out
 * of memory). Invalid UTF-8 reads as Go reads it, each bad byte a U+FFFD. */
int sops_regex_match(const struct sops_regex *re, const char *s);
void sops_regex_free(struct sops_regex *re);

#endif
