/* Command lines from environment variables split the way sops splits them
 * (github.com/google/shlex), so SOPS_EDITOR, EDITOR and SOPS_AGE_KEY_CMD mean the
 * same to fleet as to sops. No expansion of any kind: the words become an argv. */
#ifndef FLEET_SHLEX_H
#define FLEET_SHLEX_H

/* Splits `s` into a NULL-terminated argv (free with fl_argv_free from process.h):
 * words separated by space, tab, CR or LF; '…' literal; "…" with backslash taking
 * the next character literally; a backslash outside quotes likewise; '#' at the start
 * of a word comments out the rest of the line. An unclosed quote, a trailing
 * backslash or no word at all is FL_E_INVALID naming `what`. */
char **fl_shlex_split(const char *s, const char *what);

#endif
