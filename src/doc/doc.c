#include "fleet/doc.h"
#include "fleet/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fl_doc *fl_doc_new(enum fl_doc_type type)
{
	struct fl_doc *d = calloc(1, sizeof(*d));
	if (!d) {
		fl_error_set(FL_E_NOMEM, "out of memory");
		return NULL;
	}
	d->type = type;
	return d;
}

int fl_doc_set_text(struct fl_doc *d, const char *text, size_t len)
{
	char *t = malloc(len + 1);
	if (!t)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	if (len)
		memcpy(t, text, len);
	t[len] = '\0';
	if (d->text) {
		fl_memzero(d->text, d->len);
		free(d->text);
	}
	d->text = t;
	d->len = len;
	return 0;
}

struct fl_doc *fl_doc_new_scalar(enum fl_doc_type type, const char *text, size_t len)
{
	struct fl_doc *d = fl_doc_new(type);
	if (d && fl_doc_set_text(d, text ? text : "", text ? len : 0) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

void fl_doc_free(struct fl_doc *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].key);
		fl_doc_free(d->items[i].value);
	}
	free(d->items);
	if (d->text) {
		/* Trees hold decrypted secrets: wipe scalars on the way out. */
		fl_memzero(d->text, d->len);
		free(d->text);
	}
	free(d);
}

int fl_doc_append(struct fl_doc *parent, const char *key, struct fl_doc *value)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct fl_doc_entry *v = realloc(parent->items, cap * sizeof(*v));
		if (!v) {
			fl_doc_free(value);
			return fl_error_set(FL_E_NOMEM, "out of memory");
		}
		parent->items = v;
		parent->cap = cap;
	}
	char *k = NULL;
	if (key && !(k = strdup(key))) {
		fl_doc_free(value);
		return fl_error_set(FL_E_NOMEM, "out of memory");
	}
	parent->items[parent->n].key = k;
	parent->items[parent->n].value = value;
	parent->n++;
	return 0;
}

long fl_doc_index(const struct fl_doc *map, const char *key)
{
	if (!map || map->type != FL_DOC_MAP)
		return -1;
	for (size_t i = 0; i < map->n; i++)
		if (map->items[i].key && strcmp(map->items[i].key, key) == 0)
			return (long)i;
	return -1;
}

struct fl_doc *fl_doc_get(const struct fl_doc *map, const char *key)
{
	long i = fl_doc_index(map, key);
	return i < 0 ? NULL : map->items[i].value;
}

void fl_doc_remove(struct fl_doc *parent, size_t i)
{
	if (i >= parent->n)
		return;
	free(parent->items[i].key);
	fl_doc_free(parent->items[i].value);
	memmove(&parent->items[i], &parent->items[i + 1],
	        (parent->n - i - 1) * sizeof(parent->items[0]));
	parent->n--;
}

struct fl_doc *fl_doc_clone(const struct fl_doc *d)
{
	struct fl_doc *c = fl_doc_new(d->type);
	if (!c)
		return NULL;
	c->style = d->style;
	c->inline_comment = d->inline_comment;
	if (d->text && fl_doc_set_text(c, d->text, d->len) < 0)
		goto fail;
	for (size_t i = 0; i < d->n; i++) {
		struct fl_doc *v = fl_doc_clone(d->items[i].value);
		if (!v || fl_doc_append(c, d->items[i].key, v) < 0)
			goto fail;
	}
	return c;
fail:
	fl_doc_free(c);
	return NULL;
}

int fl_doc_equal(const struct fl_doc *a, const struct fl_doc *b, int ignore_comments)
{
	if (a->type != b->type)
		return 0;
	if (a->type == FL_DOC_COMMENT && a->inline_comment != b->inline_comment)
		return 0;
	size_t la = a->text ? a->len : 0, lb = b->text ? b->len : 0;
	if (la != lb || (la && memcmp(a->text, b->text, la) != 0))
		return 0;
	size_t i = 0, j = 0;
	for (;;) {
		while (ignore_comments && i < a->n && a->items[i].value->type == FL_DOC_COMMENT)
			i++;
		while (ignore_comments && j < b->n && b->items[j].value->type == FL_DOC_COMMENT)
			j++;
		if (i == a->n || j == b->n)
			return i == a->n && j == b->n;
		const char *ka = a->items[i].key, *kb = b->items[j].key;
		if ((ka == NULL) != (kb == NULL) || (ka && strcmp(ka, kb) != 0))
			return 0;
		if (!fl_doc_equal(a->items[i].value, b->items[j].value, ignore_comments))
			return 0;
		i++;
		j++;
	}
}

int fl_docs_append(struct fl_docs *docs, struct fl_doc *d)
{
	if (docs->n == docs->cap) {
		size_t cap = docs->cap ? docs->cap * 2 : 2;
		struct fl_doc **v = realloc(docs->v, cap * sizeof(*v));
		if (!v) {
			fl_doc_free(d);
			return fl_error_set(FL_E_NOMEM, "out of memory");
		}
		docs->v = v;
		docs->cap = cap;
	}
	docs->v[docs->n++] = d;
	return 0;
}

void fl_docs_free(struct fl_docs *docs)
{
	for (size_t i = 0; i < docs->n; i++)
		fl_doc_free(docs->v[i]);
	free(docs->v);
	memset(docs, 0, sizeof(*docs));
}

int fl_doc_format_float(double v, struct fl_buf *out)
{
	if (isnan(v))
		return fl_buf_puts(out, "NaN");
	if (isinf(v))
		return fl_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
	/* Shortest round-tripping digits: the smallest %.*e precision that reads back. */
	char digits[40];
	int prec;
	for (prec = 0; prec < 17; prec++) {
		snprintf(digits, sizeof(digits), "%.*e", prec, v);
		if (strtod(digits, NULL) == v)
			break;
	}
	snprintf(digits, sizeof(digits), "%.*e", prec, v);
	/* digits is [-]D[.DDD]e[+-]XX: lay the mantissa out without an exponent. */
	const char *p = digits;
	int neg = *p == '-';
	if (neg)
		p++;
	char mant[24];
	size_t m = 0;
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			mant[m++] = *p;
	mant[m] = '\0';
	int exp = atoi(p + 1);
	/* Strip trailing zeros of the mantissa (keep one digit). */
	while (m > 1 && mant[m - 1] == '0')
		mant[--m] = '\0';
	if (neg && fl_buf_putc(out, '-') < 0)
		return -1;
	int point = exp + 1; /* digits before the decimal point */
	if (point <= 0) {
		if (fl_buf_puts(out, "0.") < 0)
			return -1;
		for (int i = 0; i < -point; i++)
			if (fl_buf_putc(out, '0') < 0)
				return -1;
		return fl_buf_puts(out, mant);
	}
	for (int i = 0; i < point; i++)
		if (fl_buf_putc(out, i < (int)m ? mant[i] : '0') < 0)
			return -1;
	if ((size_t)point < m) {
		if (fl_buf_putc(out, '.') < 0 || fl_buf_puts(out, mant + point) < 0)
			return -1;
	}
	return 0;
}
