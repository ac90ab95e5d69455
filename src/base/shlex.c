/* sops splits SOPS_EDITOR, EDITOR and SOPS_AGE_KEY_CMD with google/shlex (the version
 * sops pins, e7afc7f); this is its state machine, behaviour for behaviour. */
#include "fleet/shlex.h"
#include "fleet/buf.h"
#include "fleet/error.h"
#include "fleet/process.h"

#include <stdlib.h>
#include <string.h>

enum state { START, WORD, ESCAPE, QUOTED_ESCAPE, DOUBLE, SINGLE, COMMENT };

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int push(char ***v, size_t *n, struct fl_buf *word)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	*v = nv;
	nv[*n] = strndup(word->ptr ? word->ptr : "", word->len);
	if (!nv[*n])
		return fl_error_set(FL_E_NOMEM, "out of memory");
	nv[++*n] = NULL;
	fl_buf_clear(word);
	return 0;
}

/* One step of the machine; returns the next state, or -1 with *bad set. */
static int step(enum state st, char c, struct fl_buf *word, const char **bad)
{
	switch (st) {
	case START:
	case WORD:
		/* shlex: '#' opens a comment only where a word could start. */
		if (st == START && c == '#')
			return COMMENT;
		if (c == '"')
			return DOUBLE;
		if (c == '\'')
			return SINGLE;
		if (c == '\\')
			return ESCAPE;
		return fl_buf_putc(word, c) < 0 ? -1 : WORD;
	case ESCAPE:
	case QUOTED_ESCAPE:
		if (!c) {
			*bad = "ends in a backslash";
			return -1;
		}
		if (fl_buf_putc(word, c) < 0)
			return -1;
		return st == ESCAPE ? WORD : DOUBLE;
	case DOUBLE:
		if (!c) {
			*bad = "has an unclosed double quote";
			return -1;
		}
		if (c == '"')
			return WORD;
		if (c == '\\')
			return QUOTED_ESCAPE;
		return fl_buf_putc(word, c) < 0 ? -1 : DOUBLE;
	case SINGLE:
		if (!c) {
			*bad = "has an unclosed single quote";
			return -1;
		}
		if (c == '\'')
			return WORD;
		return fl_buf_putc(word, c) < 0 ? -1 : SINGLE;
	case COMMENT:
		return c == '\n' ? START : COMMENT;
	}
	return -1;
}

char **fl_shlex_split(const char *s, const char *what)
{
	char **v = calloc(1, sizeof(char *));
	size_t n = 0;
	struct fl_buf word = FL_BUF_INIT;
	const char *bad = NULL;
	int st = START, failed = !v;
	for (const char *p = s; v && !failed; p++) {
		char c = *p;
		if ((st == START || st == COMMENT) && !c)
			break;
		if (st == START && is_space(c))
			continue;
		if (st == WORD && (!c || is_space(c))) {
			failed = push(&v, &n, &word) < 0;
			st = START;
			if (!c)
				break;
			continue;
		}
		st = step((enum state)st, c, &word, &bad);
		failed = st < 0;
	}
	fl_buf_free(&word);
	if (!failed && n == 0) {
		bad = "names no command";
		failed = 1;
	}
	if (failed) {
		fl_argv_free(v);
		if (!v)
			fl_error_set(FL_E_NOMEM, "out of memory");
		else if (bad)
			fl_error_set(FL_E_INVALID, "%s %s", what, bad);
		return NULL;
	}
	return v;
}
