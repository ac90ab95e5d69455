#include "fleet/jsonread.h"
#include "fleet/error.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512

struct block {
	struct block *next;
	size_t used, cap;
	char data[];
};

struct parser {
	const char *s, *p, *end;
	struct block *arena;
	int depth;
	/* scratch stacks for the children of open containers */
	struct fl_jv *vals;
	const char **keys;
	size_t nvals, capvals;
};

static void *arena_alloc(struct parser *ps, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct block *b = ps->arena;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > (1u << 20) ? n : (1u << 20);
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = ps->arena;
		b->used = 0;
		b->cap = cap;
		ps->arena = b;
	}
	void *p = b->data + b->used;
	b->used += n;
	return p;
}

static int fail(struct parser *ps, const char *what)
{
	size_t line = 1, col = 1;
	for (const char *q = ps->s; q < ps->p && q < ps->end; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return fl_error_set(FL_E_INVALID, "JSON: %s at line %zu, column %zu", what, line, col);
}

static void skip_ws(struct parser *ps)
{
	/* RFC 8259 §2: whitespace is space, tab, LF and CR. */
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
		ps->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xC0 | (cp >> 6));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xE0 | (cp >> 12));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (char)(0xF0 | (cp >> 18));
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* RFC 8259 §7: a string; decoded into the arena. */
static int parse_string(struct parser *ps, const char **out, size_t *outlen)
{
	const char *start = ++ps->p, *q = start;
	int escapes = 0;
	while (q < ps->end && *q != '"') {
		if ((unsigned char)*q < 0x20) {
			ps->p = q;
			return fail(ps, "control character in a string");
		}
		if (*q == '\\') {
			escapes = 1;
			q++;
		}
		q++;
	}
	if (q >= ps->end) {
		ps->p = ps->end;
		return fail(ps, "unterminated string");
	}
	size_t n = (size_t)(q - start);
	char *o = arena_alloc(ps, n + 1), *w = o;
	if (!o)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	if (!escapes) {
		memcpy(o, start, n);
		w = o + n;
	} else {
		for (const char *r = start; r < q; r++) {
			if (*r != '\\') {
				*w++ = *r;
				continue;
			}
			r++;
			switch (*r) {
			case '"':
			case '\\':
			case '/':
				*w++ = *r;
				break;
			case 'b':
				*w++ = '\b';
				break;
			case 'f':
				*w++ = '\f';
				break;
			case 'n':
				*w++ = '\n';
				break;
			case 'r':
				*w++ = '\r';
				break;
			case 't':
				*w++ = '\t';
				break;
			case 'u': {
				unsigned cp, lo;
				if (q - r < 5 || hex4(r + 1, &cp) < 0) {
					ps->p = r;
					return fail(ps, "bad \\u escape");
				}
				r += 4;
				/* RFC 8259 §7: characters outside the BMP are surrogate pairs. */
				if (cp >= 0xD800 && cp < 0xDC00) {
					if (q - r < 7 || r[1] != '\\' || r[2] != 'u' ||
					    hex4(r + 3, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
						ps->p = r;
						return fail(ps, "unpaired surrogate");
					}
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					r += 6;
				} else if (cp >= 0xDC00 && cp < 0xE000) {
					ps->p = r;
					return fail(ps, "unpaired surrogate");
				}
				w = put_utf8(w, cp);
				break;
			}
			default:
				ps->p = r;
				return fail(ps, "bad escape");
			}
		}
	}
	*w = '\0';
	*out = o;
	*outlen = (size_t)(w - o);
	ps->p = q + 1;
	return 0;
}

static int parse_number(struct parser *ps, struct fl_jv *v)
{
	/* RFC 8259 §6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
	const char *q = ps->p;
	int frac = 0;
	if (q < ps->end && *q == '-')
		q++;
	if (q >= ps->end || !(*q >= '0' && *q <= '9'))
		return fail(ps, "bad number");
	if (*q == '0')
		q++;
	else
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	if (q < ps->end && *q == '.') {
		frac = 1;
		q++;
		if (q >= ps->end || !(*q >= '0' && *q <= '9'))
			return fail(ps, "bad number");
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		frac = 1;
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= ps->end || !(*q >= '0' && *q <= '9'))
			return fail(ps, "bad number");
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	char tmp[64];
	size_t n = (size_t)(q - ps->p);
	if (n >= sizeof(tmp))
		return fail(ps, "number too long");
	memcpy(tmp, ps->p, n);
	tmp[n] = '\0';
	v->type = FL_JV_NUM;
	v->number = strtod(tmp, NULL);
	if (!frac) {
		errno = 0;
		v->integer = strtoll(tmp, NULL, 10);
		v->is_int = errno == 0;
	}
	ps->p = q;
	return 0;
}

static int push(struct parser *ps, const char *key, const struct fl_jv *v)
{
	if (ps->nvals == ps->capvals) {
		size_t cap = ps->capvals ? ps->capvals * 2 : 256;
		struct fl_jv *nv = realloc(ps->vals, cap * sizeof(*nv));
		const char **nk = realloc(ps->keys, cap * sizeof(*nk));
		if (nv)
			ps->vals = nv;
		if (nk)
			ps->keys = nk;
		if (!nv || !nk)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		ps->capvals = cap;
	}
	ps->vals[ps->nvals] = *v;
	ps->keys[ps->nvals] = key;
	ps->nvals++;
	return 0;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int duplicate_key(struct parser *ps, const char **keys, size_t n, const char **dup)
{
	if (n < 2)
		return 0;
	if (n <= 16) {
		/* Small objects, the common case: pairwise is cheaper than sorting. */
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (strcmp(keys[i], keys[j]) == 0) {
					*dup = keys[i];
					return 1;
				}
		return 0;
	}
	const char **sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	memcpy(sorted, keys, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_keys);
	int found = 0;
	for (size_t i = 1; i < n && !found; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0) {
			*dup = sorted[i];
			found = 1;
		}
	free(sorted);
	(void)ps;
	return found;
}

static int parse_value(struct parser *ps, struct fl_jv *v);

static int parse_container(struct parser *ps, struct fl_jv *v, int object)
{
	if (++ps->depth > MAX_DEPTH)
		return fail(ps, "nested too deeply");
	size_t base = ps->nvals;
	v->type = object ? FL_JV_OBJ : FL_JV_ARR;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
		ps->p++;
	} else {
		for (;;) {
			const char *key = NULL;
			size_t klen;
			skip_ws(ps);
			if (object) {
				if (ps->p >= ps->end || *ps->p != '"')
					return fail(ps, "expected a member name");
				if (parse_string(ps, &key, &klen) < 0)
					return -1;
				skip_ws(ps);
				if (ps->p >= ps->end || *ps->p != ':')
					return fail(ps, "expected ':'");
				ps->p++;
			}
			struct fl_jv child;
			if (parse_value(ps, &child) < 0 || push(ps, key, &child) < 0)
				return -1;
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
				ps->p++;
				break;
			}
			return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
		}
	}
	size_t n = ps->nvals - base;
	v->n = n;
	v->items = n ? arena_alloc(ps, n * sizeof(*v->items)) : NULL;
	if (n && !v->items)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	if (n)
		memcpy(v->items, ps->vals + base, n * sizeof(*v->items));
	if (object && n) {
		v->keys = arena_alloc(ps, n * sizeof(*v->keys));
		if (!v->keys)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		memcpy(v->keys, ps->keys + base, n * sizeof(*v->keys));
		const char *dup = NULL;
		int d = duplicate_key(ps, v->keys, n, &dup);
		if (d < 0)
			return -1;
		if (d)
			return fl_error_set(FL_E_INVALID, "JSON: duplicate key \"%.100s\"", dup);
	}
	ps->nvals = base;
	ps->depth--;
	return 0;
}

static int literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, "unexpected character");
	ps->p += n;
	return 0;
}

static int parse_value(struct parser *ps, struct fl_jv *v)
{
	memset(v, 0, sizeof(*v));
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end of input");
	const char *start = ps->p;
	int rc;
	switch (*ps->p) {
	case '{':
		rc = parse_container(ps, v, 1);
		break;
	case '[':
		rc = parse_container(ps, v, 0);
		break;
	case '"':
		v->type = FL_JV_STR;
		rc = parse_string(ps, &v->str, &v->n);
		break;
	case 't':
		v->type = FL_JV_BOOL;
		v->boolean = 1;
		rc = literal(ps, "true");
		break;
	case 'f':
		v->type = FL_JV_BOOL;
		rc = literal(ps, "false");
		break;
	case 'n':
		v->type = FL_JV_NULL;
		rc = literal(ps, "null");
		break;
	default:
		rc = parse_number(ps, v);
	}
	v->raw = start;
	v->raw_len = (size_t)(ps->p - start);
	return rc;
}

static void arena_free(struct block *b)
{
	while (b) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
}

int fl_jdoc_parse(const char *in, size_t len, struct fl_jdoc *out)
{
	struct parser ps = {.s = in, .p = in, .end = in + len};
	memset(out, 0, sizeof(*out));
	struct fl_jv *root = arena_alloc(&ps, sizeof(*root));
	int rc = root ? parse_value(&ps, root) : fl_error_set(FL_E_NOMEM, "out of memory");
	if (rc == 0) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			rc = fail(&ps, "trailing data after the value");
	}
	free(ps.vals);
	free(ps.keys);
	if (rc < 0) {
		arena_free(ps.arena);
		return -1;
	}
	out->root = root;
	out->arena = ps.arena;
	return 0;
}

void fl_jdoc_free(struct fl_jdoc *d)
{
	arena_free(d->arena);
	memset(d, 0, sizeof(*d));
}

const struct fl_jv *fl_jv_get(const struct fl_jv *obj, const char *key)
{
	if (!obj || obj->type != FL_JV_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return &obj->items[i];
	return NULL;
}

char *fl_jdoc_strndup(struct fl_jdoc *d, const char *s, size_t n)
{
	struct parser ps = {.arena = d->arena};
	char *o = arena_alloc(&ps, n + 1);
	d->arena = ps.arena;
	if (!o) {
		fl_error_set(FL_E_NOMEM, "out of memory");
		return NULL;
	}
	memcpy(o, s, n);
	o[n] = '\0';
	return o;
}
