/*
 * The dotenv store as sops reads and writes it (sops stores/dotenv/store.go): one
 * KEY=VALUE per line, '#' lines are comments, no quoting, "\n" stands for a newline.
 */
#include "doc/value_string.h"
#include "fleet/doc.h"
#include "fleet/error.h"

#include <stdlib.h>
#include <string.h>

/* sops: the value's two-character sequence \n becomes a newline, nothing else is escaped. */
static struct fl_doc *dotenv_value(const char *v, size_t len)
{
	struct fl_buf b = FL_BUF_SECRET;
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\\' && i + 1 < len && v[i + 1] == 'n') {
			if (fl_buf_putc(&b, '\n') < 0)
				goto fail;
			i++;
		} else if (fl_buf_putc(&b, v[i]) < 0) {
			goto fail;
		}
	}
	struct fl_doc *d = fl_doc_new_scalar(FL_DOC_STR, b.ptr, b.len);
	fl_buf_free(&b);
	return d;
fail:
	fl_buf_free(&b);
	return NULL;
}

int fl_doc_parse_dotenv(const char *in, size_t len, struct fl_docs *out)
{
	if (!in)
		in = "";
	struct fl_doc *map = fl_doc_new(FL_DOC_MAP);
	if (!map)
		return -1;
	size_t line_no = 0;
	size_t pos = 0;
	while (pos <= len) {
		/* sops splits on "\n" alone: a '\r' stays part of the line. */
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - in) : len;
		const char *line = in + pos;
		size_t n = end - pos;
		line_no++;
		pos = end + 1;
		if (n == 0)
			continue;
		struct fl_doc *v;
		const char *key = NULL;
		char *key_copy = NULL;
		if (line[0] == '#') {
			v = fl_doc_new_scalar(FL_DOC_COMMENT, line + 1, n - 1);
		} else {
			const char *eq = memchr(line, '=', n);
			if (!eq) {
				fl_doc_free(map);
				return fl_error_set(
				    FL_E_INVALID,
				    "dotenv: line %zu has no '=' (expected KEY=VALUE "
				    "or a '#' comment)",
				    line_no);
			}
			if (memchr(line, '\0', (size_t)(eq - line))) {
				fl_doc_free(map);
				return fl_error_set(FL_E_INVALID,
				                    "dotenv: line %zu: the key contains a NUL byte",
				                    line_no);
			}
			if (!(key_copy = strndup(line, (size_t)(eq - line)))) {
				fl_doc_free(map);
				return fl_error_set(FL_E_NOMEM, "out of memory");
			}
			key = key_copy;
			v = dotenv_value(eq + 1, n - (size_t)(eq - line) - 1);
		}
		int rc = v ? fl_doc_append(map, key, v) : -1;
		free(key_copy);
		if (rc < 0) {
			fl_doc_free(map);
			return -1;
		}
	}
	return fl_docs_append(out, map);
}

static int emit_entry(const struct fl_doc_entry *e, struct fl_buf *out)
{
	const struct fl_doc *v = e->value;
	if (!e->key || v->type == FL_DOC_COMMENT) {
		/* A newline in a comment would start a line sops reads as data. */
		if (memchr(v->text, '\n', v->len))
			return fl_error_set(FL_E_INVALID,
			                    "dotenv: a comment contains a newline; split it into "
			                    "one comment per line");
		if (fl_buf_putc(out, '#') < 0 || fl_buf_put(out, v->text, v->len) < 0)
			return -1;
		return fl_buf_putc(out, '\n');
	}
	if (v->type == FL_DOC_MAP || v->type == FL_DOC_LIST)
		return fl_error_set(FL_E_INVALID, "dotenv cannot hold nested values (key %s)",
		                    e->key);
	/* The line must split back at the first '=' into this same key. */
	if (strchr(e->key, '=') || strchr(e->key, '\n') || e->key[0] == '#')
		return fl_error_set(FL_E_INVALID,
		                    "dotenv: key %s cannot be written: keys must not contain '=' "
		                    "or a newline, nor start with '#'",
		                    e->key);
	struct fl_buf val = FL_BUF_SECRET;
	int rc = fl_doc_value_string(v, e->key, &val);
	for (size_t i = 0; rc == 0 && i + 1 < val.len; i++)
		/* sops would write this unchanged and read it back as a newline. */
		if (val.ptr[i] == '\\' && val.ptr[i + 1] == 'n')
			rc = fl_error_set(FL_E_INVALID,
			                  "dotenv: the value of %s contains a literal \\n, which "
			                  "dotenv reads back as a newline",
			                  e->key);
	if (rc == 0 && (fl_buf_puts(out, e->key) < 0 || fl_buf_putc(out, '=') < 0))
		rc = -1;
	for (size_t i = 0; rc == 0 && i < val.len; i++)
		rc = val.ptr[i] == '\n' ? fl_buf_puts(out, "\\n") : fl_buf_putc(out, val.ptr[i]);
	if (rc == 0)
		rc = fl_buf_putc(out, '\n');
	fl_buf_free(&val);
	return rc;
}

int fl_doc_emit_dotenv(const struct fl_docs *docs, struct fl_buf *out)
{
	if (docs->n != 1)
		return fl_error_set(FL_E_INVALID,
		                    "dotenv holds exactly one document, not %zu; split the input",
		                    docs->n);
	const struct fl_doc *map = docs->v[0];
	if (map->type != FL_DOC_MAP)
		return fl_error_set(FL_E_INVALID,
		                    "dotenv holds a map of KEY=VALUE entries, not a single value "
		                    "or list");
	for (size_t i = 0; i < map->n; i++)
		if (emit_entry(&map->items[i], out) < 0)
			return -1;
	return 0;
}
