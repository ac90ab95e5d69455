/* The JSON store: jansson reads (object key order kept, duplicate keys rejected); the
 * emitter is ours so the output matches sops' layout (tab indentation). */
#include "fleet/doc.h"
#include "fleet/error.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define JSON_MAX_DEPTH 1000

static struct fl_doc *from_json(json_t *j, int depth)
{
	if (depth > JSON_MAX_DEPTH) {
		fl_error_set(FL_E_INVALID, "JSON: nested deeper than %d levels", JSON_MAX_DEPTH);
		return NULL;
	}
	struct fl_doc *d = NULL;
	char num[64];
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *v;
		if (!(d = fl_doc_new(FL_DOC_MAP)))
			return NULL;
		json_object_foreach(j, key, v)
		{
			struct fl_doc *c = from_json(v, depth + 1);
			if (!c || fl_doc_append(d, key, c) < 0) {
				fl_doc_free(d);
				return NULL;
			}
		}
		return d;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *v;
		if (!(d = fl_doc_new(FL_DOC_LIST)))
			return NULL;
		json_array_foreach(j, i, v)
		{
			struct fl_doc *c = from_json(v, depth + 1);
			if (!c || fl_doc_append(d, NULL, c) < 0) {
				fl_doc_free(d);
				return NULL;
			}
		}
		return d;
	}
	case JSON_STRING:
		return fl_doc_new_scalar(FL_DOC_STR, json_string_value(j), json_string_length(j));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return fl_doc_new_scalar(FL_DOC_INT, num, strlen(num));
	case JSON_REAL: {
		struct fl_buf b = FL_BUF_INIT;
		if (fl_doc_format_float(json_real_value(j), &b) < 0)
			return NULL;
		d = fl_doc_new_scalar(FL_DOC_FLOAT, b.ptr, b.len);
		fl_buf_free(&b);
		return d;
	}
	case JSON_TRUE:
		return fl_doc_new_scalar(FL_DOC_BOOL, "true", 4);
	case JSON_FALSE:
		return fl_doc_new_scalar(FL_DOC_BOOL, "false", 5);
	case JSON_NULL:
		return fl_doc_new(FL_DOC_NULL);
	}
	fl_error_set(FL_E_INVALID, "JSON: unknown value type");
	return NULL;
}

/* What went wrong, in words of our own: jansson's own text quotes the input around the
 * error ("near 'hunter2'"), and the input may be decrypted plaintext. */
static const char *json_problem(const json_error_t *err)
{
	switch (json_error_code(err)) {
	case json_error_out_of_memory:
		return "out of memory";
	case json_error_stack_overflow:
		return "nesting too deep";
	case json_error_invalid_utf8:
		return "invalid UTF-8";
	case json_error_premature_end_of_input:
		return "unexpected end of input";
	case json_error_end_of_input_expected:
		return "unexpected text after the value";
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return "a NUL character where none may be";
	case json_error_duplicate_key:
		return "a key appears twice in the same object";
	case json_error_numeric_overflow:
		return "a number out of range";
	default:
		return "invalid syntax";
	}
}

int fl_doc_parse_json(const char *in, size_t len, struct fl_docs *out)
{
	json_error_t err;
	json_t *j =
	    json_loadb(in, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!j)
		return fl_error_set(FL_E_INVALID, "JSON: %s at line %d, column %d",
		                    json_problem(&err), err.line, err.column);
	struct fl_doc *d = from_json(j, 0);
	json_decref(j);
	if (!d)
		return -1;
	return fl_docs_append(out, d);
}

static int put_indent(struct fl_buf *out, int depth)
{
	for (int i = 0; i < depth; i++)
		if (fl_buf_putc(out, '\t') < 0)
			return -1;
	return 0;
}

/* RFC 8259 §7: quotation mark, reverse solidus and control characters are escaped. */
static int put_json_string(struct fl_buf *out, const char *s, size_t len)
{
	if (fl_buf_putc(out, '"') < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int rc;
		switch (c) {
		case '"':
			rc = fl_buf_puts(out, "\\\"");
			break;
		case '\\':
			rc = fl_buf_puts(out, "\\\\");
			break;
		case '\n':
			rc = fl_buf_puts(out, "\\n");
			break;
		case '\r':
			rc = fl_buf_puts(out, "\\r");
			break;
		case '\t':
			rc = fl_buf_puts(out, "\\t");
			break;
		default:
			rc =
			    c < 0x20 ? fl_buf_printf(out, "\\u%04x", c) : fl_buf_putc(out, (char)c);
		}
		if (rc < 0)
			return -1;
	}
	return fl_buf_putc(out, '"');
}

static size_t visible_items(const struct fl_doc *d)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += d->items[i].value->type != FL_DOC_COMMENT;
	return n;
}

static int emit(const struct fl_doc *d, struct fl_buf *out, int depth)
{
	switch (d->type) {
	case FL_DOC_MAP:
	case FL_DOC_LIST: {
		int map = d->type == FL_DOC_MAP;
		if (visible_items(d) == 0)
			return fl_buf_puts(out, map ? "{}" : "[]");
		if (fl_buf_puts(out, map ? "{\n" : "[\n") < 0)
			return -1;
		size_t left = visible_items(d);
		for (size_t i = 0; i < d->n; i++) {
			const struct fl_doc_entry *e = &d->items[i];
			/* RFC 8259 has no comments: they are dropped. */
			if (e->value->type == FL_DOC_COMMENT)
				continue;
			if (put_indent(out, depth + 1) < 0)
				return -1;
			if (map && (put_json_string(out, e->key, strlen(e->key)) < 0 ||
			            fl_buf_puts(out, ": ") < 0))
				return -1;
			if (emit(e->value, out, depth + 1) < 0)
				return -1;
			if (fl_buf_puts(out, --left ? ",\n" : "\n") < 0)
				return -1;
		}
		if (put_indent(out, depth) < 0)
			return -1;
		return fl_buf_putc(out, map ? '}' : ']');
	}
	case FL_DOC_NULL:
		return fl_buf_puts(out, "null");
	case FL_DOC_BOOL:
	case FL_DOC_INT:
		return fl_buf_puts(out, d->text);
	case FL_DOC_FLOAT: {
		double v = strtod(d->text, NULL);
		if (isnan(v) || isinf(v))
			return fl_error_set(FL_E_INVALID, "JSON cannot hold the number %s",
			                    d->text);
		/* A float that prints as an integer keeps a fraction so it reads back a float. */
		if (!strpbrk(d->text, ".eE"))
			return fl_buf_printf(out, "%s.0", d->text);
		return fl_buf_puts(out, d->text);
	}
	case FL_DOC_STR:
	case FL_DOC_TIME:
	case FL_DOC_BYTES:
	case FL_DOC_COMMENT:
		return put_json_string(out, d->text, d->len);
	}
	return fl_error_set(FL_E_INVALID, "JSON: cannot write this value");
}

int fl_doc_emit_json(const struct fl_docs *docs, struct fl_buf *out)
{
	if (docs->n != 1)
		return fl_error_set(FL_E_INVALID, "JSON holds exactly one document, not %zu",
		                    docs->n);
	if (emit(docs->v[0], out, 0) < 0)
		return -1;
	return fl_buf_putc(out, '\n');
}
