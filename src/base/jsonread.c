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
	const char *s, *p, *end; /* end: the input available so far */
	const struct fl_jsource *src;
	int src_done, src_failed;
	struct block *arena;
	int depth;
	int skipping; /* inside a skipped value: check, build nothing */
	const char *const *skip_path;
	char *scratch; /* escapes of skipped strings are decoded here, to be checked */
	size_t scratch_cap;
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

/* Whether q is within the input, asking the source for more when it is not. */
static int more_input(struct parser *ps, const char *q)
{
	while (q >= ps->end) {
		if (!ps->src || ps->src_done)
			return 0;
		int r = ps->src->more(ps->src->ctx, &ps->end);
		if (r <= 0) {
			ps->src_done = 1;
			ps->src_failed = r < 0;
			return 0;
		}
	}
	return 1;
}
#define AVAIL(ps, q) ((q) < (ps)->end || more_input((ps), (q)))

static int fail(struct parser *ps, const char *what)
{
	if (ps->src_failed)
		return -1; /* the source said what went wrong */
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
	while (AVAIL(ps, ps->p) &&
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
	while (AVAIL(ps, q) && *q != '"') {
		if ((unsigned char)*q < 0x20) {
			ps->p = q;
			return fail(ps, "control character in a string");
		}
		if (*q == '\\') {
			escapes = 1;
			q++;
			if (!AVAIL(ps, q))
				break; /* unterminated */
		}
		q++;
	}
	if (!AVAIL(ps, q)) {
		ps->p = ps->end;
		return fail(ps, "unterminated string");
	}
	size_t n = (size_t)(q - start);
	if (ps->skipping && !escapes) {
		*out = NULL;
		*outlen = n;
		ps->p = q + 1;
		return 0;
	}
	char *o, *w;
	if (ps->skipping) {
		if (ps->scratch_cap < n + 1) {
			char *nb = realloc(ps->scratch, n + 1);
			if (!nb)
				return fl_error_set(FL_E_NOMEM, "out of memory");
			ps->scratch = nb;
			ps->scratch_cap = n + 1;
		}
		o = ps->scratch;
	} else {
		o = arena_alloc(ps, n + 1);
	}
	w = o;
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
	if (AVAIL(ps, q) && *q == '-')
		q++;
	if (!AVAIL(ps, q) || !(*q >= '0' && *q <= '9'))
		return fail(ps, "bad number");
	if (*q == '0')
		q++;
	else
		while (AVAIL(ps, q) && *q >= '0' && *q <= '9')
			q++;
	if (AVAIL(ps, q) && *q == '.') {
		frac = 1;
		q++;
		if (!AVAIL(ps, q) || !(*q >= '0' && *q <= '9'))
			return fail(ps, "bad number");
		while (AVAIL(ps, q) && *q >= '0' && *q <= '9')
			q++;
	}
	if (AVAIL(ps, q) && (*q == 'e' || *q == 'E')) {
		frac = 1;
		q++;
		if (AVAIL(ps, q) && (*q == '+' || *q == '-'))
			q++;
		if (!AVAIL(ps, q) || !(*q >= '0' && *q <= '9'))
			return fail(ps, "bad number");
		while (AVAIL(ps, q) && *q >= '0' && *q <= '9')
			q++;
	}
	char tmp[64];
	size_t n = (size_t)(q - ps->p);
	if (n >= sizeof(tmp))
		return fail(ps, "number too long");
	v->type = FL_JV_NUM;
	if (ps->skipping) {
		ps->p = q;
		return 0;
	}
	memcpy(tmp, ps->p, n);
	tmp[n] = '\0';
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

static int parse_value(struct parser *ps, struct fl_jv *v, int match);

/* Whether a member (or item) of a container whose path matched match components of
 * the skip pattern matches one more: the new count, or -1. */
static int match_member(const struct parser *ps, int match, const char *key)
{
	if (match < 0 || !ps->skip_path[match])
		return -1;
	const char *want = ps->skip_path[match];
	if (strcmp(want, "*") == 0 || (key && strcmp(want, key) == 0))
		return match + 1;
	return -1;
}

static int parse_container(struct parser *ps, struct fl_jv *v, int object, int match)
{
	if (++ps->depth > MAX_DEPTH)
		return fail(ps, "nested too deeply");
	size_t base = ps->nvals;
	v->type = object ? FL_JV_OBJ : FL_JV_ARR;
	ps->p++;
	skip_ws(ps);
	if (AVAIL(ps, ps->p) && *ps->p == (object ? '}' : ']')) {
		ps->p++;
	} else {
		for (;;) {
			const char *key = NULL;
			size_t klen;
			skip_ws(ps);
			if (object) {
				if (!AVAIL(ps, ps->p) || *ps->p != '"')
					return fail(ps, "expected a member name");
				if (parse_string(ps, &key, &klen) < 0)
					return -1;
				skip_ws(ps);
				if (!AVAIL(ps, ps->p) || *ps->p != ':')
					return fail(ps, "expected ':'");
				ps->p++;
			}
			struct fl_jv child;
			if (ps->skipping) {
				if (parse_value(ps, &child, -1) < 0)
					return -1;
			} else {
				int m = match_member(ps, match, key);
				int skip = m >= 0 && !ps->skip_path[m];
				ps->skipping += skip;
				int rc = parse_value(ps, &child, skip ? -1 : m);
				ps->skipping -= skip;
				if (rc < 0)
					return -1;
				if (skip)
					child.type = FL_JV_SKIPPED;
				if (push(ps, key, &child) < 0)
					return -1;
			}
			skip_ws(ps);
			if (AVAIL(ps, ps->p) && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (AVAIL(ps, ps->p) && *ps->p == (object ? '}' : ']')) {
				ps->p++;
				break;
			}
			return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
		}
	}
	if (ps->skipping) {
		ps->depth--;
		return 0;
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
	while ((size_t)(ps->end - ps->p) < n && more_input(ps, ps->end))
		; /* until the word's length is there, or the input has ended */
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, "unexpected character");
	ps->p += n;
	return 0;
}

static int parse_value(struct parser *ps, struct fl_jv *v, int match)
{
	memset(v, 0, sizeof(*v));
	skip_ws(ps);
	if (!AVAIL(ps, ps->p))
		return fail(ps, "unexpected end of input");
	const char *start = ps->p;
	int rc;
	switch (*ps->p) {
	case '{':
		rc = parse_container(ps, v, 1, match);
		break;
	case '[':
		rc = parse_container(ps, v, 0, match);
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

/* Parses into the arena `arena` (extended; on failure too, so nothing leaks). */
static int parse_text(const char *in, size_t len, const struct fl_jsource *src,
                      const char *const *skip_path, struct block **arena, struct fl_jv **out)
{
	static const char *const none[] = {NULL};
	struct parser ps = {
	    .s = in, .p = in, .end = in + len, .src = src, .skip_path = skip_path, .arena = *arena};
	struct fl_jv *root = arena_alloc(&ps, sizeof(*root));
	/* An empty pattern would skip the root: nothing is skipped instead. */
	if (!skip_path || !skip_path[0])
		ps.skip_path = none;
	int rc = root ? parse_value(&ps, root, ps.skip_path == none ? -1 : 0)
	              : fl_error_set(FL_E_NOMEM, "out of memory");
	if (rc == 0) {
		skip_ws(&ps);
		if (AVAIL(&ps, ps.p))
			rc = fail(&ps, "trailing data after the value");
		else if (ps.src_failed)
			rc = -1;
	}
	free(ps.vals);
	free(ps.keys);
	free(ps.scratch);
	*arena = ps.arena;
	*out = rc == 0 ? root : NULL;
	return rc;
}

int fl_jdoc_parse_stream(const char *in, size_t len, const struct fl_jsource *src,
                         const char *const *skip_path, struct fl_jdoc *out)
{
	struct block *arena = NULL;
	struct fl_jv *root;
	memset(out, 0, sizeof(*out));
	if (parse_text(in, len, src, skip_path, &arena, &root) < 0) {
		arena_free(arena);
		return -1;
	}
	out->root = root;
	out->arena = arena;
	return 0;
}

int fl_jdoc_parse_more(struct fl_jdoc *d, const char *in, size_t len, const struct fl_jv **out)
{
	struct block *arena = d->arena;
	struct fl_jv *v;
	int rc = parse_text(in, len, NULL, NULL, &arena, &v);
	d->arena = arena;
	*out = v;
	return rc;
}

int fl_jdoc_parse_ex(const char *in, size_t len, const char *const *skip_path, struct fl_jdoc *out)
{
	return fl_jdoc_parse_stream(in, len, NULL, skip_path, out);
}

int fl_jdoc_parse(const char *in, size_t len, struct fl_jdoc *out)
{
	return fl_jdoc_parse_stream(in, len, NULL, NULL, out);
}

void fl_jdoc_free(struct fl_jdoc *d)
{
	arena_free(d->arena);
	free(d->input);
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

int fl_jv_equal(const struct fl_jv *a, const struct fl_jv *b)
{
	if (a->type == FL_JV_SKIPPED || b->type == FL_JV_SKIPPED)
		return a->raw_len == b->raw_len && memcmp(a->raw, b->raw, a->raw_len) == 0;
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case FL_JV_NULL:
		return 1;
	case FL_JV_BOOL:
		return a->boolean == b->boolean;
	case FL_JV_NUM:
		return a->is_int == b->is_int &&
		       (a->is_int ? a->integer == b->integer : a->number == b->number);
	case FL_JV_STR:
		return a->n == b->n && memcmp(a->str, b->str, a->n) == 0;
	default:
		if (a->n != b->n)
			return 0;
		for (size_t i = 0; i < a->n; i++)
			if ((a->type == FL_JV_OBJ && strcmp(a->keys[i], b->keys[i]) != 0) ||
			    !fl_jv_equal(&a->items[i], &b->items[i]))
				return 0;
		return 1;
	}
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
