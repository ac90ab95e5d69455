/*
 * The YAML store. Documents are read with libyaml's event parser and resolved the way
 * sops sees them (gopkg.in/yaml.v3 decoding into interface{}), and written back in the
 * layout sops writes (yaml.v3's encoder with an indent of 4).
 *
 * libyaml does not report comments, so they are recovered from the raw text between
 * events: everything between two events is syntax (indicators, whitespace, comments),
 * never scalar text, so every '#' found there starts a comment.
 */
#include "fleet/base64.h"
#include "fleet/doc.h"
#include "fleet/error.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Limits that keep hostile input (alias bombs, deep nesting) bounded. */
#define YAML_MAX_DEPTH 1000
#define YAML_MAX_NODES 1000000
/* Alias expansion cost: copied nodes weighted by their depth (what they cost to emit)
 * plus copied text bytes. */
#define YAML_MAX_ALIAS_COST ((size_t)64 << 20)
/* libyaml: a simple key is at most 1024 characters; longer keys are written as `? key`. */
#define YAML_MAX_SIMPLE_KEY 1000
#define YAML_INDENT 4

#define TAG_PREFIX "tag:yaml.org,2002:"

/* ---------------------------------------------------------------------------------- */
/* Scalar resolution (yaml.v3 resolve.go, YAML 1.2 core schema with yaml.v3's extras)  */

enum res_kind { RES_NULL, RES_BOOL, RES_INT, RES_FLOAT, RES_TIME, RES_STR, RES_MERGE };

struct resolved {
	enum res_kind kind;
	int boolean;
	int is_unsigned;
	int64_t i;
	uint64_t u;
	double f;
};

static int text_is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static int is_one_of(const char *s, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (text_is(s, n, *list))
			return 1;
	return 0;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/* Go strconv.ParseUint(s, base, 64); base 0 takes a 0b/0o/0x/0 prefix. */
static int go_parse_uint(const char *s, size_t n, int base, uint64_t *out)
{
	if (n == 0)
		return -1;
	if (base == 0) {
		base = 10;
		if (s[0] == '0') {
			char c1 = n >= 3 ? (char)(s[1] | 0x20) : 0;
			size_t skip = 2;
			if (c1 == 'b')
				base = 2;
			else if (c1 == 'o')
				base = 8;
			else if (c1 == 'x')
				base = 16;
			else
				base = 8, skip = 1;
			s += skip;
			n -= skip;
		}
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		int d = digit_value(s[i]);
		if (d >= base)
			return -1;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = v;
	return 0;
}

static int negate_u64(uint64_t u, int64_t *out)
{
	if (u > (uint64_t)INT64_MAX + 1)
		return -1;
	*out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	return 0;
}

/* Go strconv.ParseInt(s, base, 64). */
static int go_parse_int(const char *s, size_t n, int base, int64_t *out)
{
	uint64_t u;
	int neg = 0;
	if (n && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		s++;
		n--;
	}
	if (go_parse_uint(s, n, base, &u) < 0)
		return -1;
	if (neg)
		return negate_u64(u, out);
	if (u > INT64_MAX)
		return -1;
	*out = (int64_t)u;
	return 0;
}

static size_t skip_digits(const char *s, size_t i, size_t n)
{
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* yaml.v3: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static int yaml_style_float(const char *s, size_t n)
{
	size_t i = 0, j;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	j = skip_digits(s, i, n);
	if (j == i) {
		if (j >= n || s[j] != '.')
			return 0;
		i = skip_digits(s, j + 1, n);
		if (i == j + 1)
			return 0;
	} else {
		i = j;
		if (i < n && s[i] == '.')
			i = skip_digits(s, i + 1, n);
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		j = skip_digits(s, i, n);
		if (j == i)
			return 0;
		i = j;
	}
	return i == n;
}

/* Go strconv.ParseFloat on a finite decimal already matched by yaml_style_float. */
static int parse_finite(const char *s, double *out)
{
	double v = strtod(s, NULL);
	if (isinf(v))
		return -1; /* Go: ErrRange, so not a float */
	*out = v;
	return 0;
}

/* Go strconv's underscoreOK: '_' only between digits. */
static int go_underscores_ok(const char *s, size_t n)
{
	char saw = '^';
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			saw = '0';
		} else if (s[i] == '_') {
			if (saw != '0')
				return 0;
			saw = '_';
		} else {
			if (saw == '_')
				return 0;
			saw = '!';
		}
	}
	return saw != '_';
}

static int days_in(int month, int year)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
		return 29;
	return days[month - 1];
}

/* Go time.Parse's getnum: one or two digits (two when fixed). */
static int get_num(const char *s, size_t n, size_t *i, int fixed, int *out)
{
	if (*i >= n || s[*i] < '0' || s[*i] > '9')
		return -1;
	int v = s[(*i)++] - '0';
	if (*i < n && s[*i] >= '0' && s[*i] <= '9')
		v = v * 10 + (s[(*i)++] - '0');
	else if (fixed)
		return -1;
	*out = v;
	return 0;
}

/* yaml.v3 parseTimestamp: Go time.Parse with "2006-1-2T15:4:5.999999999Z07:00", the same
 * with 't', "2006-1-2 15:4:5.999999999" and "2006-1-2". */
static int is_timestamp(const char *s, size_t n)
{
	size_t i = skip_digits(s, 0, n);
	int year, month, day, hh, mm, ss;
	if (i != 4 || i == n || s[i] != '-')
		return 0;
	year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	i++;
	if (get_num(s, n, &i, 0, &month) < 0 || month < 1 || month > 12)
		return 0;
	if (i >= n || s[i++] != '-' || get_num(s, n, &i, 0, &day) < 0)
		return 0;
	if (day < 1 || day > days_in(month, year))
		return 0;
	if (i == n)
		return 1;
	char sep = s[i++];
	if (sep != 'T' && sep != 't' && sep != ' ')
		return 0;
	if (get_num(s, n, &i, 0, &hh) < 0 || hh > 23)
		return 0;
	if (i >= n || s[i++] != ':' || get_num(s, n, &i, 0, &mm) < 0 || mm > 59)
		return 0;
	if (i >= n || s[i++] != ':' || get_num(s, n, &i, 0, &ss) < 0 || ss > 59)
		return 0;
	if (i + 1 < n && (s[i] == '.' || s[i] == ',') && s[i + 1] >= '0' && s[i + 1] <= '9')
		i = skip_digits(s, i + 1, n);
	if (sep == ' ')
		return i == n;
	if (i < n && s[i] == 'Z')
		return i + 1 == n;
	/* Go's Z07:00: exactly ±hh:mm, hour <= 24, minute <= 60. */
	if (n - i != 6 || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':')
		return 0;
	size_t j = i + 1;
	if (get_num(s, n, &j, 1, &hh) < 0 || j != i + 3 || hh > 24)
		return 0;
	j = i + 4;
	if (get_num(s, n, &j, 1, &mm) < 0 || j != n || mm > 60)
		return 0;
	return 1;
}

static char resolve_hint(unsigned char c)
{
	if (c == '+' || c == '-')
		return 'S';
	if (c >= '0' && c <= '9')
		return 'D';
	if (c && strchr("yYnNtTfFoO~", c))
		return 'M';
	if (c == '.')
		return '.';
	return 0;
}

static char *strip_underscores(const char *s, size_t n, size_t *outn)
{
	char *p = malloc(n + 2);
	if (!p) {
		fl_error_set(FL_E_NOMEM, "out of memory");
		return NULL;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '_')
			p[k++] = s[i];
	p[k] = '\0';
	*outn = k;
	return p;
}

/* yaml.v3 resolve() for an untagged plain scalar (or a tagged one, whose tag is then
 * checked against the result). */
static int resolve_plain(const char *s, size_t n, struct resolved *r)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", NULL};
	static const char *const falses[] = {"false", "False", "FALSE", NULL};
	static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
	static const char *const infs[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
	static const char *const ninfs[] = {"-.inf", "-.Inf", "-.INF", NULL};
	memset(r, 0, sizeof(*r));
	r->kind = RES_STR;
	char hint = n ? resolve_hint((unsigned char)s[0]) : 'N';
	if (!hint)
		return 0;
	if (is_one_of(s, n, nulls)) {
		r->kind = RES_NULL;
		return 0;
	}
	if (is_one_of(s, n, trues) || is_one_of(s, n, falses)) {
		r->kind = RES_BOOL;
		r->boolean = s[0] == 't' || s[0] == 'T';
		return 0;
	}
	if (is_one_of(s, n, nans) || is_one_of(s, n, infs) || is_one_of(s, n, ninfs)) {
		r->kind = RES_FLOAT;
		r->f = s[1] == 'n' || s[1] == 'N' ? NAN : s[0] == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	if (hint == '.') {
		/* yaml.v3: strconv.ParseFloat on the text as written. */
		size_t pn;
		char *p;
		if (!go_underscores_ok(s, n))
			return 0;
		if (!(p = strip_underscores(s, n, &pn)))
			return -1;
		if (yaml_style_float(p, pn) && parse_finite(p, &r->f) == 0)
			r->kind = RES_FLOAT;
		free(p);
		return 0;
	}
	if (hint != 'D' && hint != 'S')
		return 0;
	if (is_timestamp(s, n)) {
		r->kind = RES_TIME;
		return 0;
	}
	/* yaml.v3 drops every '_' before trying the numeric forms. */
	size_t pn;
	char *p = strip_underscores(s, n, &pn);
	if (!p)
		return -1;
	uint64_t u;
	if (go_parse_int(p, pn, 0, &r->i) == 0) {
		r->kind = RES_INT;
	} else if (go_parse_uint(p, pn, 0, &r->u) == 0) {
		r->kind = RES_INT;
		r->is_unsigned = 1;
	} else if (yaml_style_float(p, pn) && parse_finite(p, &r->f) == 0) {
		r->kind = RES_FLOAT;
	} else {
		/* yaml.v3's explicit 0b/-0b/0o/-0o fallbacks (which accept a sign after 0b). */
		int base = 0, neg = 0;
		size_t skip = 0;
		if (pn >= 2 && p[0] == '0' && (p[1] == 'b' || p[1] == 'o'))
			base = p[1] == 'b' ? 2 : 8, skip = 2;
		else if (pn >= 3 && p[0] == '-' && p[1] == '0' && (p[2] == 'b' || p[2] == 'o'))
			base = p[2] == 'b' ? 2 : 8, skip = 3, neg = 1;
		if (base && !neg) {
			if (go_parse_int(p + skip, pn - skip, base, &r->i) == 0) {
				r->kind = RES_INT;
			} else if (go_parse_uint(p + skip, pn - skip, base, &r->u) == 0) {
				r->kind = RES_INT;
				r->is_unsigned = 1;
			}
		} else if (base && pn > skip && p[skip] != '+' && p[skip] != '-' &&
		           go_parse_uint(p + skip, pn - skip, base, &u) == 0 &&
		           negate_u64(u, &r->i) == 0) {
			r->kind = RES_INT;
		}
	}
	free(p);
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* Small string-keyed hash table (duplicate keys, anchors)                             */

struct strtab_slot {
	const char *key;
	size_t val;
};

struct strtab {
	struct strtab_slot *slots;
	size_t cap, n;
};

static size_t str_hash(const char *s)
{
	size_t h = 1469598103934665603ULL & SIZE_MAX;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * (1099511628211ULL & SIZE_MAX);
	return h;
}

static struct strtab_slot *strtab_find(const struct strtab *t, const char *key)
{
	if (!t->cap)
		return NULL;
	for (size_t i = str_hash(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		if (!t->slots[i].key)
			return NULL;
		if (strcmp(t->slots[i].key, key) == 0)
			return &t->slots[i];
	}
}

/* key is borrowed: it must outlive the table. */
static int strtab_put(struct strtab *t, const char *key, size_t val)
{
	struct strtab_slot *s = strtab_find(t, key);
	if (s) {
		s->val = val;
		return 0;
	}
	if ((t->n + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct strtab_slot *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		for (size_t i = 0; i < t->cap; i++) {
			if (!t->slots[i].key)
				continue;
			size_t j = str_hash(t->slots[i].key) & (cap - 1);
			while (slots[j].key)
				j = (j + 1) & (cap - 1);
			slots[j] = t->slots[i];
		}
		free(t->slots);
		t->slots = slots;
		t->cap = cap;
	}
	size_t j = str_hash(key) & (t->cap - 1);
	while (t->slots[j].key)
		j = (j + 1) & (t->cap - 1);
	t->slots[j].key = key;
	t->slots[j].val = val;
	t->n++;
	return 0;
}

static void strtab_free(struct strtab *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* ---------------------------------------------------------------------------------- */
/* Parser                                                                              */

enum role { ROLE_ROOT, ROLE_VALUE, ROLE_ITEM };

/* What a finished subtree weighs, for the alias budget and the depth bound. */
struct weight {
	size_t nodes, bytes, height;
};

struct frame {
	struct fl_doc *node;
	enum role role;
	int flow;
	size_t col; /* block collections: the column of their entries */
	char *anchor;
	char *key; /* a map's key waiting for its value */
	struct strtab keys;
	struct weight w;
};

struct anchor {
	char *name;
	struct fl_doc *node;
	struct weight w;
};

struct pending {
	struct fl_doc *comment;
	size_t col;
};

struct parser {
	const char *in;
	size_t len;
	yaml_parser_t yp;
	struct frame *frames;
	size_t nframes, capframes;
	struct fl_doc *root;
	struct pending *pending;
	size_t npending, cappending;
	struct anchor *anchors;
	size_t nanchors, capanchors;
	struct strtab anchor_tab;
	struct fl_doc **orphans; /* anchored keys: alive until the document ends */
	size_t norphans, caporphans;
	/* Character index -> byte offset cursor (libyaml marks count characters). */
	size_t ci, bi;
	size_t scan_pos;
	/* The last entry completed, for end-of-line comments. */
	struct fl_doc *last_container;
	struct fl_doc *last_value;
	size_t last_end;
	size_t nodes, alias_cost;
	struct fl_docs docs;
};

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 8;
	void *p = realloc(*v, c * size);
	if (!p)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	*v = p;
	*cap = c;
	return 0;
}

static int err_at(const yaml_mark_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int err_at(const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fl_error_set(FL_E_INVALID, "YAML: %s at line %zu, column %zu", msg, m->line + 1,
	                    m->column + 1);
}

static int utf8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	return 1;
}

/* The byte offset of character index ci (libyaml counts characters, CRLF as two). */
static size_t byte_at(struct parser *p, size_t ci)
{
	if (ci < p->ci) {
		while (p->ci > ci && p->bi > 0) {
			p->bi--;
			while (p->bi > 0 && ((unsigned char)p->in[p->bi] & 0xc0) == 0x80)
				p->bi--;
			p->ci--;
		}
	}
	while (p->ci < ci && p->bi < p->len) {
		size_t w = (size_t)utf8_len((unsigned char)p->in[p->bi]);
		p->bi += w > p->len - p->bi ? p->len - p->bi : w;
		p->ci++;
	}
	return p->bi;
}

/* libyaml line breaks: LF, CR, NEL, LS, PS. Returns the break's length at i, or 0. */
static size_t break_at(const char *s, size_t n, size_t i)
{
	const unsigned char *u = (const unsigned char *)s;
	if (u[i] == '\n' || u[i] == '\r')
		return 1;
	if (u[i] == 0xc2 && i + 1 < n && u[i + 1] == 0x85)
		return 2;
	if (u[i] == 0xe2 && i + 2 < n && u[i + 1] == 0x80 && (u[i + 2] == 0xa8 || u[i + 2] == 0xa9))
		return 3;
	return 0;
}

static int break_before(const char *s, size_t i)
{
	const unsigned char *u = (const unsigned char *)s;
	if (i >= 1 && (u[i - 1] == '\n' || u[i - 1] == '\r'))
		return 1;
	if (i >= 2 && u[i - 2] == 0xc2 && u[i - 1] == 0x85)
		return 1;
	if (i >= 3 && u[i - 3] == 0xe2 && u[i - 2] == 0x80 &&
	    (u[i - 1] == 0xa8 || u[i - 1] == 0xa9))
		return 1;
	return 0;
}

static int count_node(struct parser *p, const yaml_mark_t *m)
{
	if (++p->nodes > YAML_MAX_NODES)
		return err_at(m, "document has more than %d nodes", YAML_MAX_NODES);
	return 0;
}

static int pend(struct parser *p, const char *text, size_t n, size_t col, const yaml_mark_t *m)
{
	struct fl_doc *c;
	if (count_node(p, m) < 0)
		return -1;
	if (grow((void **)&p->pending, &p->cappending, p->npending, sizeof(*p->pending)) < 0)
		return -1;
	if (!(c = fl_doc_new_scalar(FL_DOC_COMMENT, text, n)))
		return -1;
	p->pending[p->npending].comment = c;
	p->pending[p->npending].col = col;
	p->npending++;
	return 0;
}

/* Moves the first k pending comments, in order, to the end of container. */
static int flush_pending(struct parser *p, struct fl_doc *container, size_t k)
{
	size_t i;
	int rc = 0;
	if (!k)
		return 0;
	for (i = 0; i < k && rc == 0; i++) {
		p->pending[i].comment->inline_comment = 0;
		rc = fl_doc_append(container, NULL, p->pending[i].comment);
	}
	for (size_t j = rc ? i : k; j < p->npending && rc; j++)
		fl_doc_free(p->pending[j].comment);
	if (rc) {
		p->npending = 0;
		return -1;
	}
	memmove(p->pending, p->pending + k, (p->npending - k) * sizeof(*p->pending));
	p->npending -= k;
	return 0;
}

static int flow_ok(const struct fl_doc *d);

/* An end-of-line comment belongs after the entry completed on its line, unless that
 * entry holds a collection the emitter writes as a block (its last line is a nested
 * entry's). */
static int add_comment(struct parser *p, size_t hash, size_t end, const yaml_mark_t *m)
{
	const char *text = p->in + hash + 1;
	size_t n = end - hash - 1, ls = hash, col = 0, i;
	int after_content = 0;
	while (ls > 0 && !break_before(p->in, ls))
		ls--;
	for (i = ls; i < hash; i++) {
		if (((unsigned char)p->in[i] & 0xc0) != 0x80)
			col++;
		if (p->in[i] != ' ' && p->in[i] != '\t')
			after_content = 1;
	}
	if (after_content && p->last_container && p->last_end <= hash) {
		int same_line = 1;
		for (i = p->last_end; i < hash; i++)
			if (break_at(p->in, p->len, i))
				same_line = 0;
		const struct fl_doc *v = p->last_value;
		int block = (v->type == FL_DOC_MAP || v->type == FL_DOC_LIST) && v->n &&
		            !(v->style == FL_DOC_STYLE_FLOW && flow_ok(v));
		if (same_line && !block) {
			struct fl_doc *c;
			if (count_node(p, m) < 0 ||
			    !(c = fl_doc_new_scalar(FL_DOC_COMMENT, text, n)))
				return -1;
			struct fl_doc *container = p->last_container;
			c->inline_comment = 1;
			p->last_container = NULL;
			return fl_doc_append(container, NULL, c);
		}
	}
	return pend(p, text, n, col, m);
}

static int scan_gap(struct parser *p, size_t upto, const yaml_mark_t *m)
{
	size_t i = p->scan_pos;
	while (i < upto) {
		if (p->in[i] != '#') {
			i++;
			continue;
		}
		size_t e = i + 1;
		while (e < p->len && !break_at(p->in, p->len, e))
			e++;
		if (add_comment(p, i, e, m) < 0)
			return -1;
		i = e;
	}
	if (i > p->scan_pos)
		p->scan_pos = i;
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* YAML 1.2 §8.1.1: a block scalar's header line (properties, indicator, indentation and
 * chomping indicators) may end in a comment; libyaml keeps it inside the scalar's event. */
static int header_comment(const struct parser *p, size_t start, size_t end, size_t *hs, size_t *he)
{
	size_t i = start;
	for (;;) {
		while (i < end && is_blank(p->in[i]))
			i++;
		if (i >= end || (p->in[i] != '&' && p->in[i] != '!'))
			break;
		while (i < end && !is_blank(p->in[i]) && !break_at(p->in, p->len, i))
			i++;
	}
	if (i >= end || (p->in[i] != '|' && p->in[i] != '>'))
		return 0;
	for (i++; i < end &&
	          ((p->in[i] >= '0' && p->in[i] <= '9') || p->in[i] == '+' || p->in[i] == '-');
	     i++)
		;
	while (i < end && is_blank(p->in[i]))
		i++;
	if (i >= end || p->in[i] != '#')
		return 0;
	*hs = i;
	for (i++; i < end && !break_at(p->in, p->len, i); i++)
		;
	*he = i;
	return 1;
}

static const char *res_name(enum res_kind k)
{
	static const char *const names[] = {"null",      "bool", "int",  "float",
	                                    "timestamp", "str",  "merge"};
	return names[k];
}

static struct fl_doc *node_from(const struct resolved *r, const char *s, size_t n)
{
	char num[32];
	struct fl_buf b = FL_BUF_INIT;
	struct fl_doc *d;
	switch (r->kind) {
	case RES_NULL:
		return fl_doc_new(FL_DOC_NULL);
	case RES_BOOL:
		return fl_doc_new_scalar(FL_DOC_BOOL, r->boolean ? "true" : "false",
		                         r->boolean ? 4 : 5);
	case RES_INT:
		if (r->is_unsigned)
			snprintf(num, sizeof(num), "%" PRIu64, r->u);
		else
			snprintf(num, sizeof(num), "%" PRId64, r->i);
		return fl_doc_new_scalar(FL_DOC_INT, num, strlen(num));
	case RES_FLOAT:
		if (fl_doc_format_float(r->f, &b) < 0) {
			fl_buf_free(&b);
			return NULL;
		}
		d = fl_doc_new_scalar(FL_DOC_FLOAT, b.ptr, b.len);
		fl_buf_free(&b);
		return d;
	default:
		/* yaml.v3 decodes timestamps into interface{} as the string as written. */
		return fl_doc_new_scalar(FL_DOC_STR, s, n);
	}
}

static struct fl_doc *binary_node(const char *s, size_t n, const yaml_mark_t *m)
{
	/* Go's base64.StdEncoding, which yaml.v3 uses for !!binary, skips CR and LF. */
	char *clean = malloc(n + 1);
	uint8_t *raw = NULL;
	size_t k = 0, rawlen = 0;
	struct fl_doc *d = NULL;
	if (!clean) {
		fl_error_set(FL_E_NOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\n' && s[i] != '\r')
			clean[k++] = s[i];
	if (!(raw = malloc(fl_b64_decoded_max(k) + 1))) {
		fl_error_set(FL_E_NOMEM, "out of memory");
	} else if (fl_b64_decode(raw, &rawlen, clean, k, FL_B64_PAD) < 0) {
		err_at(m, "!!binary value is not valid base64");
	} else {
		d = fl_doc_new_scalar(FL_DOC_BYTES, (const char *)raw, rawlen);
	}
	free(clean);
	if (raw) {
		fl_memzero(raw, rawlen);
		free(raw);
	}
	return d;
}

static enum fl_doc_style scalar_style(yaml_scalar_style_t s)
{
	switch (s) {
	case YAML_PLAIN_SCALAR_STYLE:
		return FL_DOC_STYLE_PLAIN;
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		return FL_DOC_STYLE_SINGLE;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		return FL_DOC_STYLE_DOUBLE;
	case YAML_LITERAL_SCALAR_STYLE:
		return FL_DOC_STYLE_LITERAL;
	case YAML_FOLDED_SCALAR_STYLE:
		return FL_DOC_STYLE_FOLDED;
	default:
		return FL_DOC_STYLE_ANY;
	}
}

/* yaml.v3 decode: quoted, literal and folded scalars and !!str are strings; explicit
 * !!null/!!bool/!!int/!!float/!!timestamp must resolve to that type (an int may stand
 * for a float); other tags leave the text a string. */
static struct fl_doc *scalar_node(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	const yaml_mark_t *m = &ev->start_mark;
	struct resolved r;
	struct fl_doc *d;
	if (tag && strcmp(tag, "!") != 0) {
		static const char *const typed[] = {"null", "bool", "int", "float", "timestamp"};
		static const enum res_kind kinds[] = {RES_NULL, RES_BOOL, RES_INT, RES_FLOAT,
		                                      RES_TIME};
		const char *name = strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0
		                       ? tag + strlen(TAG_PREFIX)
		                       : NULL;
		size_t t;
		if (name && strcmp(name, "binary") == 0)
			return binary_node(s, n, m);
		for (t = 0; name && t < sizeof(typed) / sizeof(typed[0]); t++)
			if (strcmp(name, typed[t]) == 0)
				break;
		if (!name || t == sizeof(typed) / sizeof(typed[0])) {
			d = fl_doc_new_scalar(FL_DOC_STR, s, n);
		} else {
			if (resolve_plain(s, n, &r) < 0)
				return NULL;
			if (kinds[t] == RES_FLOAT && r.kind == RES_INT && !r.is_unsigned) {
				r.kind = RES_FLOAT;
				r.f = (double)r.i;
			}
			if (r.kind != kinds[t]) {
				/* Never the value itself: it may be a secret. */
				err_at(m, "cannot decode a !!%s value as a !!%s", res_name(r.kind),
				       typed[t]);
				return NULL;
			}
			d = node_from(&r, s, n);
		}
	} else if (tag || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		d = fl_doc_new_scalar(FL_DOC_STR, s, n);
	} else {
		if (resolve_plain(s, n, &r) < 0)
			return NULL;
		d = node_from(&r, s, n);
	}
	if (d)
		d->style = scalar_style(ev->data.scalar.style);
	return d;
}

static struct frame *top(struct parser *p)
{
	return p->nframes ? &p->frames[p->nframes - 1] : NULL;
}

static int add_anchor(struct parser *p, const char *name, struct fl_doc *node, struct weight w)
{
	struct anchor *a;
	if (grow((void **)&p->anchors, &p->capanchors, p->nanchors, sizeof(*p->anchors)) < 0)
		return -1;
	a = &p->anchors[p->nanchors];
	if (!(a->name = strdup(name)))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	a->node = node;
	a->w = w;
	p->nanchors++;
	/* YAML 1.2 §7.1: an alias refers to the most recent node with that anchor. */
	return strtab_put(&p->anchor_tab, a->name, p->nanchors - 1);
}

static int keep_orphan(struct parser *p, struct fl_doc *d)
{
	if (grow((void **)&p->orphans, &p->caporphans, p->norphans, sizeof(*p->orphans)) < 0) {
		fl_doc_free(d);
		return -1;
	}
	p->orphans[p->norphans++] = d;
	return 0;
}

/* A scalar in key position: keys are kept as their text. */
static int set_key(struct parser *p, struct frame *f, const char *text, size_t n,
                   const yaml_mark_t *m)
{
	const struct strtab_slot *dup;
	if (memchr(text, '\0', n))
		return err_at(m, "mapping key contains a NUL character");
	/* yaml.v3 (as sops loads files): a key may appear once per mapping. */
	if ((dup = strtab_find(&f->keys, text)))
		return err_at(m, "duplicate mapping key \"%.*s\" (first defined at line %zu)",
		              n > 60 ? 60 : (int)n, text, dup->val);
	if (flush_pending(p, f->node, p->npending) < 0)
		return -1;
	if (!(f->key = strdup(text)))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	p->last_container = NULL;
	return strtab_put(&f->keys, f->key, m->line + 1) < 0 ? -1 : 0;
}

static void add_weight(struct weight *to, struct weight w)
{
	to->nodes += w.nodes;
	to->bytes += w.bytes;
	if (w.height + 1 > to->height)
		to->height = w.height + 1;
}

/* Hangs a finished node under the open collection (or makes it the root). */
static int attach(struct parser *p, struct fl_doc *d, struct weight w)
{
	struct frame *f = top(p);
	if (!f) {
		p->root = d;
		return 0;
	}
	add_weight(&f->w, w);
	if (f->node->type != FL_DOC_MAP)
		return fl_doc_append(f->node, NULL, d);
	/* The duplicate-key table borrows keys: it must point at the entry's copy. */
	int rc = fl_doc_append(f->node, f->key, d);
	if (rc == 0) {
		struct strtab_slot *s = strtab_find(&f->keys, f->key);
		s->key = f->node->items[f->node->n - 1].key;
	}
	free(f->key);
	f->key = NULL;
	return rc;
}

static void completed(struct parser *p, struct fl_doc *d, size_t end)
{
	struct frame *f = top(p);
	p->last_container = f ? f->node : NULL;
	p->last_value = d;
	p->last_end = end;
}

static int on_scalar(struct parser *p, const yaml_event_t *ev, size_t start, size_t end)
{
	struct frame *f = top(p);
	const char *anchor = (const char *)ev->data.scalar.anchor;
	struct weight w = {1, ev->data.scalar.length, 0};
	int block = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
	            ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
	size_t hs = 0, he = 0;
	int header = block && header_comment(p, start, end, &hs, &he);
	struct fl_doc *d;
	if (count_node(p, &ev->start_mark) < 0 || !(d = scalar_node(ev)))
		return -1;
	if (f && f->node->type == FL_DOC_MAP && !f->key) {
		if (set_key(p, f, (const char *)ev->data.scalar.value, ev->data.scalar.length,
		            &ev->start_mark) < 0) {
			fl_doc_free(d);
			return -1;
		}
		if (anchor) {
			if (keep_orphan(p, d) < 0 || add_anchor(p, anchor, d, w) < 0)
				return -1;
		} else {
			fl_doc_free(d);
		}
		return header ? add_comment(p, hs, he, &ev->start_mark) : 0;
	}
	if (f && flush_pending(p, f->node, p->npending) < 0) {
		fl_doc_free(d);
		return -1;
	}
	if (attach(p, d, w) < 0 || (anchor && add_anchor(p, anchor, d, w) < 0))
		return -1;
	/* A block scalar's last line is content: only its header line can carry a comment. */
	completed(p, d, header ? start : block ? SIZE_MAX : end);
	if (header && add_comment(p, hs, he, &ev->start_mark) < 0)
		return -1;
	if (block)
		p->last_container = NULL;
	return 0;
}

static int on_alias(struct parser *p, const yaml_event_t *ev, size_t end)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const struct strtab_slot *s = strtab_find(&p->anchor_tab, name);
	const yaml_mark_t *m = &ev->start_mark;
	struct frame *f = top(p);
	struct fl_doc *d;
	if (!s)
		return err_at(m, "unknown anchor '%s' referenced", name);
	const struct anchor *a = &p->anchors[s->val];
	if (f && f->node->type == FL_DOC_MAP && !f->key) {
		if (a->node->type == FL_DOC_MAP || a->node->type == FL_DOC_LIST)
			return err_at(m, "mapping keys must be scalars");
		return set_key(p, f, a->node->text ? a->node->text : "", a->node->len, m);
	}
	size_t cost = a->w.nodes * (p->nframes + a->w.height + 1) + a->w.bytes;
	if (p->nodes + a->w.nodes > YAML_MAX_NODES || p->alias_cost + cost > YAML_MAX_ALIAS_COST)
		return err_at(m, "alias '%s' expands the document beyond %d nodes or %zu MiB", name,
		              YAML_MAX_NODES, YAML_MAX_ALIAS_COST >> 20);
	if (p->nframes + a->w.height > YAML_MAX_DEPTH)
		return err_at(m, "alias '%s' nests the document deeper than %d levels", name,
		              YAML_MAX_DEPTH);
	if (!(d = fl_doc_clone(a->node)))
		return -1;
	p->nodes += a->w.nodes;
	p->alias_cost += cost;
	if (f && flush_pending(p, f->node, p->npending) < 0) {
		fl_doc_free(d);
		return -1;
	}
	if (attach(p, d, a->w) < 0)
		return -1;
	completed(p, d, end);
	return 0;
}

static int on_start(struct parser *p, const yaml_event_t *ev)
{
	int is_map = ev->type == YAML_MAPPING_START_EVENT;
	struct frame *f = top(p), *nf;
	const yaml_mark_t *m = &ev->start_mark;
	const char *anchor =
	    (const char *)(is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor);
	const char *tag =
	    (const char *)(is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
	int flow = is_map ? ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
	                  : ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
	struct fl_doc *d;
	if (f && f->node->type == FL_DOC_MAP && !f->key)
		return err_at(m, "mapping keys must be scalars");
	if (p->nframes + 1 > YAML_MAX_DEPTH)
		return err_at(m, "nesting deeper than %d levels", YAML_MAX_DEPTH);
	if (count_node(p, m) < 0 ||
	    grow((void **)&p->frames, &p->capframes, p->nframes, sizeof(*p->frames)) < 0)
		return -1;
	f = top(p);
	if (!(d = fl_doc_new(is_map ? FL_DOC_MAP : FL_DOC_LIST)))
		return -1;
	d->style = flow ? FL_DOC_STYLE_FLOW : FL_DOC_STYLE_ANY;
	/* Comments before an item stay in the sequence; comments before a value or the
	 * root open the new collection. */
	if (flush_pending(p, f && f->node->type == FL_DOC_LIST ? f->node : d, p->npending) < 0) {
		fl_doc_free(d);
		return -1;
	}
	nf = &p->frames[p->nframes];
	memset(nf, 0, sizeof(*nf));
	nf->node = d;
	nf->role = !f ? ROLE_ROOT : f->node->type == FL_DOC_MAP ? ROLE_VALUE : ROLE_ITEM;
	nf->flow = flow;
	nf->col = (is_map || anchor || tag) ? ev->end_mark.column : ev->start_mark.column;
	nf->w.nodes = 1;
	p->nframes++;
	if (anchor && !(nf->anchor = strdup(anchor)))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	p->last_container = NULL;
	return 0;
}

static void frame_free(struct frame *f)
{
	fl_doc_free(f->node);
	free(f->anchor);
	free(f->key);
	strtab_free(&f->keys);
}

static int on_end(struct parser *p, const yaml_event_t *ev, size_t end)
{
	struct frame *f = top(p);
	struct fl_doc *d = f->node;
	size_t k = 0, lead = 0, hoist = 0;
	if (f->flow) {
		k = p->npending;
	} else {
		/* A comment indented less than the entries belongs to an outer collection. */
		while (k < p->npending && p->pending[k].col >= f->col)
			k++;
	}
	if (flush_pending(p, d, k) < 0)
		return -1;
	while (lead < d->n && d->items[lead].value->type == FL_DOC_COMMENT)
		lead++;
	/* A nested collection never starts with comments as a sequence item, nor holds only
	 * comments: those go to the parent, just before it, as the emitter writes them. */
	if (f->role != ROLE_ROOT && (lead == d->n || f->role == ROLE_ITEM))
		hoist = lead;
	for (size_t i = 0; i < hoist; i++) {
		struct fl_doc *c = d->items[i].value;
		d->items[i].value = NULL;
		c->inline_comment = 0;
		if (fl_doc_append(p->frames[p->nframes - 2].node, NULL, c) < 0)
			return -1;
	}
	if (hoist) {
		memmove(d->items, d->items + hoist, (d->n - hoist) * sizeof(d->items[0]));
		d->n -= hoist;
	}
	struct frame fr = *f;
	p->nframes--;
	fr.node = NULL;
	int rc = attach(p, d, fr.w);
	if (rc == 0 && fr.anchor)
		rc = add_anchor(p, fr.anchor, d, fr.w);
	frame_free(&fr);
	if (rc < 0)
		return -1;
	completed(p, d, fr.flow ? end : SIZE_MAX);
	return 0;
}

static void clear_anchors(struct parser *p)
{
	for (size_t i = 0; i < p->nanchors; i++)
		free(p->anchors[i].name);
	p->nanchors = 0;
	strtab_free(&p->anchor_tab);
	for (size_t i = 0; i < p->norphans; i++)
		fl_doc_free(p->orphans[i]);
	p->norphans = 0;
}

static int on_document_end(struct parser *p)
{
	struct fl_doc *root = p->root;
	int rc = 0;
	p->root = NULL;
	if (root && (root->type == FL_DOC_MAP || root->type == FL_DOC_LIST)) {
		rc = flush_pending(p, root, p->npending);
	} else {
		/* A scalar document has nowhere to keep comments. */
		for (size_t i = 0; i < p->npending; i++)
			fl_doc_free(p->pending[i].comment);
		p->npending = 0;
	}
	if (root && rc == 0)
		rc = fl_docs_append(&p->docs, root);
	else
		fl_doc_free(root);
	clear_anchors(p);
	p->last_container = NULL;
	return rc;
}

static int on_event(struct parser *p, const yaml_event_t *ev)
{
	size_t start = byte_at(p, ev->start_mark.index);
	if (start > p->len)
		start = p->len;
	if (scan_gap(p, start, &ev->start_mark) < 0)
		return -1;
	size_t end = byte_at(p, ev->end_mark.index);
	int rc = 0;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		rc = on_scalar(p, ev, start, end);
		break;
	case YAML_ALIAS_EVENT:
		rc = on_alias(p, ev, end);
		break;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		rc = on_start(p, ev);
		break;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		rc = on_end(p, ev, end);
		break;
	case YAML_DOCUMENT_END_EVENT:
		rc = on_document_end(p);
		break;
	default:
		break;
	}
	if (end > p->scan_pos)
		p->scan_pos = end;
	return rc;
}

static int libyaml_error(const struct parser *p)
{
	const yaml_parser_t *yp = &p->yp;
	size_t line = yp->problem_mark.line + 1, col = yp->problem_mark.column + 1;
	const char *problem = yp->problem ? yp->problem : "malformed input";
	if (yp->error == YAML_MEMORY_ERROR)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	if (yp->error == YAML_READER_ERROR) {
		/* Reader errors carry a byte offset, not a mark. */
		size_t off = yp->problem_offset < p->len ? yp->problem_offset : p->len;
		line = 1;
		col = 1;
		for (size_t i = 0; i < off; i++) {
			if (p->in[i] == '\n')
				line++, col = 1;
			else if (((unsigned char)p->in[i] & 0xc0) != 0x80)
				col++;
		}
	}
	if (yp->context)
		return fl_error_set(FL_E_INVALID,
		                    "YAML: %s at line %zu, column %zu (%s at line %zu, column %zu)",
		                    problem, line, col, yp->context, yp->context_mark.line + 1,
		                    yp->context_mark.column + 1);
	return fl_error_set(FL_E_INVALID, "YAML: %s at line %zu, column %zu", problem, line, col);
}

static void parser_free(struct parser *p)
{
	for (size_t i = 0; i < p->nframes; i++)
		frame_free(&p->frames[i]);
	free(p->frames);
	for (size_t i = 0; i < p->npending; i++)
		fl_doc_free(p->pending[i].comment);
	free(p->pending);
	clear_anchors(p);
	free(p->anchors);
	free(p->orphans);
	fl_doc_free(p->root);
	fl_docs_free(&p->docs);
}

int fl_doc_parse_yaml(const char *in, size_t len, struct fl_docs *out)
{
	struct parser p;
	int rc = 0, done = 0;
	memset(&p, 0, sizeof(p));
	p.in = in ? in : "";
	p.len = in ? len : 0;
	if (!yaml_parser_initialize(&p.yp))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	yaml_parser_set_input_string(&p.yp, (const unsigned char *)p.in, p.len);
	/* Marks are mapped back to bytes, so the input is read as UTF-8 only. */
	yaml_parser_set_encoding(&p.yp, YAML_UTF8_ENCODING);
	while (!done && rc == 0) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p.yp, &ev)) {
			rc = libyaml_error(&p);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(&p, &ev);
		yaml_event_delete(&ev);
	}
	for (size_t i = 0; rc == 0 && i < p.docs.n; i++) {
		rc = fl_docs_append(out, p.docs.v[i]);
		p.docs.v[i] = NULL;
	}
	yaml_parser_delete(&p.yp);
	parser_free(&p);
	return rc;
}

/* ---------------------------------------------------------------------------------- */
/* Emitter                                                                             */

/* Decodes one UTF-8 sequence; returns its length, or 0 if it is malformed. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t w = (size_t)utf8_len(s[0]);
	uint32_t c;
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (w == 1 || w > n)
		return 0;
	c = s[0] & (0x7f >> w);
	for (size_t i = 1; i < w; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min[w] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return w;
}

static int utf8_valid(const char *s, size_t n)
{
	uint32_t cp;
	for (size_t i = 0, w; i < n; i += w)
		if (!(w = utf8_decode((const unsigned char *)s + i, n - i, &cp)))
			return 0;
	return 1;
}

/* libyaml's printable set, minus the characters it reads as line breaks. */
static int printable(uint32_t c)
{
	return (c >= 0x20 && c <= 0x7e) ||
	       (c >= 0xa0 && c <= 0xd7ff && c != 0x2028 && c != 0x2029) ||
	       (c >= 0xe000 && c <= 0xfffd && c != 0xfeff) || (c >= 0x10000 && c <= 0x10ffff);
}

/* Characters that only a double-quoted scalar can carry (valid UTF-8 assumed). */
static int has_special(const char *s, size_t n)
{
	uint32_t cp;
	for (size_t i = 0, w; i < n; i += w) {
		w = utf8_decode((const unsigned char *)s + i, n - i, &cp);
		if (!w || (cp != '\n' && !printable(cp)))
			return 1;
	}
	return 0;
}

static int is_old_bool(const char *s, size_t n)
{
	static const char *const b[] = {"y", "Y",  "yes", "Yes", "YES", "on",  "On",  "ON", "n",
	                                "N", "no", "No",  "NO",  "off", "Off", "OFF", NULL};
	return is_one_of(s, n, b);
}

/* yaml.v3 isBase60Float: ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ */
static int is_base60_float(const char *s, size_t n)
{
	size_t i = 0;
	int groups = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return 0;
	while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
		i++;
	while (i < n && s[i] == ':') {
		i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		if (i + 1 < n && s[i] <= '5' && s[i + 1] >= '0' && s[i + 1] <= '9')
			i++;
		i++;
		groups++;
	}
	if (!groups)
		return 0;
	if (i < n && s[i] == '.')
		for (i++; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
			;
	return i == n;
}

/* yaml.v3 encoder: a string that would read back as another type is quoted. */
static int looks_typed(const char *s, size_t n, int *typed)
{
	struct resolved r;
	if (resolve_plain(s, n, &r) < 0)
		return -1;
	*typed =
	    r.kind != RES_STR || is_base60_float(s, n) || is_old_bool(s, n) || text_is(s, n, "<<");
	return 0;
}

/* YAML 1.2 §7.3.3 plain scalars (as libyaml's emitter analyses them). */
static int plain_syntax_ok(const char *s, size_t n, int flow)
{
	if (!n || memchr(s, '\n', n) || has_special(s, n))
		return 0;
	if (s[0] == ' ' || s[n - 1] == ' ' || strchr("#,[]{}&*!|>'\"%@`", s[0]))
		return 0;
	if (s[0] == '-' || s[0] == '?' || s[0] == ':') {
		if (n == 1 || s[1] == ' ' || (flow && s[0] != '-'))
			return 0;
	}
	if (n >= 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ':' && (i + 1 == n || s[i + 1] == ' ' || flow))
			return 0;
		if (s[i] == '#' && i > 0 && s[i - 1] == ' ')
			return 0;
		if (flow && s[i] && strchr(",[]{}", s[i]))
			return 0;
	}
	return 1;
}

/* A literal block keeps the text exactly: no characters it cannot hold, no spaces before
 * a line break (libyaml's emitter refuses those too), something besides line breaks. */
static int literal_ok(const char *s, size_t n)
{
	size_t i;
	if (!memchr(s, '\n', n) || has_special(s, n) || s[n - 1] == ' ')
		return 0;
	for (i = 0; i < n && s[i] == '\n'; i++)
		;
	if (i == n)
		return 0;
	for (i = 0; i + 1 < n; i++)
		if (s[i] == ' ' && s[i + 1] == '\n')
			return 0;
	return 1;
}

static int put_double(struct fl_buf *b, const char *s, size_t n)
{
	static const char esc_from[] = "\0\a\b\t\n\v\f\r\x1b\"\\";
	static const char esc_to[] = "0abtnvfre\"\\";
	uint32_t cp;
	if (fl_buf_putc(b, '"') < 0)
		return -1;
	for (size_t i = 0, w; i < n; i += w) {
		const char *e;
		w = utf8_decode((const unsigned char *)s + i, n - i, &cp);
		if (!w) {
			w = 1;
			cp = (unsigned char)s[i];
		}
		if (cp < 0x80 && (e = memchr(esc_from, (int)cp, sizeof(esc_from) - 1))) {
			if (fl_buf_putc(b, '\\') < 0 || fl_buf_putc(b, esc_to[e - esc_from]) < 0)
				return -1;
		} else if (cp == 0x85 || cp == 0x2028 || cp == 0x2029) {
			if (fl_buf_puts(b, cp == 0x85 ? "\\N" : cp == 0x2028 ? "\\L" : "\\P") < 0)
				return -1;
		} else if (!printable(cp)) {
			if (fl_buf_printf(b, cp < 0x100 ? "\\x%02X" : "\\u%04X", (unsigned)cp) < 0)
				return -1;
		} else if (fl_buf_put(b, s + i, w) < 0) {
			return -1;
		}
	}
	return fl_buf_putc(b, '"');
}

static int put_single(struct fl_buf *b, const char *s, size_t n)
{
	if (fl_buf_putc(b, '\'') < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((s[i] == '\'' && fl_buf_putc(b, '\'') < 0) || fl_buf_putc(b, s[i]) < 0)
			return -1;
	return fl_buf_putc(b, '\'');
}

static int put_binary(struct fl_buf *b, const char *s, size_t n)
{
	size_t elen = fl_b64_encoded_len(n, FL_B64_PAD);
	char *enc = malloc(elen + 1);
	int rc;
	if (!enc)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	fl_b64_encode(enc, (const uint8_t *)s, n, FL_B64_PAD);
	rc = fl_buf_printf(b, "!!binary %s", n ? enc : "\"\"");
	free(enc);
	return rc;
}

static int put_spaces(struct fl_buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fl_buf_putc(b, ' ') < 0)
			return -1;
	return 0;
}

/* A scalar string as one token (no literal block). The yaml.v3 encoder double-quotes a
 * string that would resolve to another type; libyaml single-quotes one that plain syntax
 * cannot hold, and double-quotes when single quotes cannot either. */
static int put_string_token(struct fl_buf *b, const char *s, size_t n, enum fl_doc_style style,
                            int flow)
{
	int typed, single;
	if (!utf8_valid(s, n))
		return put_binary(b, s, n);
	single = !memchr(s, '\n', n) && !has_special(s, n);
	if (style == FL_DOC_STYLE_DOUBLE)
		return put_double(b, s, n);
	if (style == FL_DOC_STYLE_SINGLE && single)
		return put_single(b, s, n);
	if (looks_typed(s, n, &typed) < 0)
		return -1;
	if (!typed && plain_syntax_ok(s, n, flow))
		return fl_buf_put(b, s, n);
	if (!typed && single)
		return put_single(b, s, n);
	return put_double(b, s, n);
}

static int all_digits(const char *s, size_t n)
{
	size_t i = n && (s[0] == '-' || s[0] == '+');
	if (i == n)
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int put_flow(struct fl_buf *b, const struct fl_doc *d);

/* Any value that fits on one line. */
static int put_token(struct fl_buf *b, const struct fl_doc *d, int flow)
{
	const char *t = d->text ? d->text : "";
	size_t n = d->text ? d->len : 0;
	switch (d->type) {
	case FL_DOC_NULL:
		return fl_buf_puts(b, "null");
	case FL_DOC_BOOL:
	case FL_DOC_INT:
		return n ? fl_buf_put(b, t, n)
		         : fl_buf_puts(b, d->type == FL_DOC_INT ? "0" : "false");
	case FL_DOC_FLOAT:
		if (text_is(t, n, "NaN"))
			return fl_buf_puts(b, ".nan");
		if (text_is(t, n, "+Inf") || text_is(t, n, "Inf"))
			return fl_buf_puts(b, ".inf");
		if (text_is(t, n, "-Inf"))
			return fl_buf_puts(b, "-.inf");
		/* yaml.v3 resolves a float written without '.' or exponent as an int. */
		if (fl_buf_put(b, t, n) < 0 || (all_digits(t, n) && fl_buf_puts(b, ".0") < 0))
			return -1;
		return n ? 0 : fl_buf_puts(b, "0.0");
	case FL_DOC_BYTES:
		return put_binary(b, t, n);
	case FL_DOC_MAP:
	case FL_DOC_LIST:
		return put_flow(b, d);
	case FL_DOC_TIME:
	case FL_DOC_STR:
	default:
		return put_string_token(b, t, n,
		                        d->type == FL_DOC_TIME ? FL_DOC_STYLE_ANY : d->style, flow);
	}
}

static int has_entries(const struct fl_doc *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->items[i].value && d->items[i].value->type != FL_DOC_COMMENT)
			return 1;
	return 0;
}

/* A collection can be written in flow style when nothing in it needs its own line. */
static int flow_ok(const struct fl_doc *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct fl_doc *v = d->items[i].value;
		if (!v || v->type == FL_DOC_COMMENT)
			return 0;
		if (d->items[i].key && strlen(d->items[i].key) > YAML_MAX_SIMPLE_KEY / 4)
			return 0;
		if ((v->type == FL_DOC_MAP || v->type == FL_DOC_LIST) && !flow_ok(v))
			return 0;
	}
	return 1;
}

static int put_key(struct fl_buf *b, const char *key, int flow)
{
	return put_string_token(b, key ? key : "", key ? strlen(key) : 0, FL_DOC_STYLE_ANY, flow);
}

static int put_flow(struct fl_buf *b, const struct fl_doc *d)
{
	int map = d->type == FL_DOC_MAP, first = 1;
	if (fl_buf_putc(b, map ? '{' : '[') < 0)
		return -1;
	for (size_t i = 0; i < d->n; i++) {
		const struct fl_doc *v = d->items[i].value;
		if (!v || v->type == FL_DOC_COMMENT)
			continue;
		if (!first && fl_buf_puts(b, ", ") < 0)
			return -1;
		first = 0;
		if (map && (put_key(b, d->items[i].key, 1) < 0 || fl_buf_puts(b, ": ") < 0))
			return -1;
		if (put_token(b, v, 1) < 0)
			return -1;
	}
	return fl_buf_putc(b, map ? '}' : ']');
}

static int put_comment_text(struct fl_buf *b, const struct fl_doc *c)
{
	if (fl_buf_putc(b, '#') < 0)
		return -1;
	for (size_t i = 0; c->text && i < c->len; i++) {
		char ch = c->text[i];
		/* A comment runs to the line break. */
		if (fl_buf_putc(b, ch == '\n' || ch == '\r' ? ' ' : ch) < 0)
			return -1;
	}
	return 0;
}

/* yaml.v3 with indent 4: a nested block starts at the next multiple of 4. */
static size_t child_col(size_t col)
{
	return (col / YAML_INDENT + 1) * YAML_INDENT;
}

/* A value after "key:" or "-" (or a root scalar when lead is ""), with its end-of-line
 * comment and line break. parent_col/content_col place a literal block. */
static int put_line_value(struct fl_buf *b, const struct fl_doc *v, const char *lead,
                          size_t parent_col, size_t content_col, const struct fl_doc *eol)
{
	if (v->type == FL_DOC_STR && v->text && *lead && v->style != FL_DOC_STYLE_DOUBLE &&
	    utf8_valid(v->text, v->len) && literal_ok(v->text, v->len)) {
		const char *s = v->text;
		size_t n = v->len, start = 0;
		int keep = n >= 2 && s[n - 1] == '\n' && s[n - 2] == '\n';
		/* YAML 1.2 §8.1.1.1: leading spaces or empty lines need an explicit indentation
		 * indicator; §8.1.1.2: strip (-), clip, keep (+) chomping. */
		if (fl_buf_puts(b, " |") < 0 ||
		    ((s[0] == ' ' || s[0] == '\n') &&
		     fl_buf_printf(b, "%zu", content_col - parent_col) < 0) ||
		    (s[n - 1] != '\n' && fl_buf_putc(b, '-') < 0) ||
		    (keep && fl_buf_putc(b, '+') < 0))
			return -1;
		if (eol && (fl_buf_putc(b, ' ') < 0 || put_comment_text(b, eol) < 0))
			return -1;
		if (fl_buf_putc(b, '\n') < 0)
			return -1;
		if (s[n - 1] == '\n')
			n--;
		while (start <= n) {
			const char *nl = memchr(s + start, '\n', n - start);
			size_t end = nl ? (size_t)(nl - s) : n;
			if (end > start && (put_spaces(b, content_col) < 0 ||
			                    fl_buf_put(b, s + start, end - start) < 0))
				return -1;
			if (fl_buf_putc(b, '\n') < 0)
				return -1;
			start = end + 1;
		}
		return 0;
	}
	if (fl_buf_puts(b, lead) < 0 || put_token(b, v, 0) < 0)
		return -1;
	if (eol && (fl_buf_putc(b, ' ') < 0 || put_comment_text(b, eol) < 0))
		return -1;
	return fl_buf_putc(b, '\n');
}

static int is_block(const struct fl_doc *v)
{
	return (v->type == FL_DOC_MAP || v->type == FL_DOC_LIST) && has_entries(v) &&
	       !(v->style == FL_DOC_STYLE_FLOW && flow_ok(v));
}

static int line_start(struct fl_buf *b, size_t col, int *same_line)
{
	if (*same_line) {
		*same_line = 0;
		return 0;
	}
	return put_spaces(b, col);
}

/* The entries of a block collection at column col. With same_line the first line is
 * already started (after "- "). */
static int put_block(struct fl_buf *b, const struct fl_doc *d, size_t col, int same_line)
{
	int is_map = d->type == FL_DOC_MAP, eol_done = 0;
	struct fl_buf key = FL_BUF_INIT;
	int rc = -1;
	for (size_t i = 0; i < d->n; i++) {
		const struct fl_doc *v = d->items[i].value;
		const struct fl_doc *eol = NULL;
		if (!v)
			continue;
		if (v->type == FL_DOC_COMMENT) {
			if (eol_done) {
				eol_done = 0;
				continue;
			}
			if (line_start(b, col, &same_line) < 0 || put_comment_text(b, v) < 0 ||
			    fl_buf_putc(b, '\n') < 0)
				goto out;
			continue;
		}
		eol_done = 0;
		if (i + 1 < d->n && d->items[i + 1].value &&
		    d->items[i + 1].value->type == FL_DOC_COMMENT &&
		    d->items[i + 1].value->inline_comment)
			eol = d->items[i + 1].value;
		if (line_start(b, col, &same_line) < 0)
			goto out;
		if (is_map) {
			fl_buf_clear(&key);
			if (put_key(&key, d->items[i].key, 0) < 0)
				goto out;
			/* libyaml: a simple key is at most 1024 characters; longer ones are
			 * explicit (YAML 1.2 §8.2.2). */
			if (key.len > YAML_MAX_SIMPLE_KEY) {
				if (fl_buf_puts(b, "? ") < 0 ||
				    fl_buf_put(b, key.ptr, key.len) < 0 ||
				    fl_buf_putc(b, '\n') < 0 || put_spaces(b, col) < 0 ||
				    fl_buf_putc(b, ':') < 0)
					goto out;
			} else if (fl_buf_put(b, key.ptr, key.len) < 0 || fl_buf_putc(b, ':') < 0) {
				goto out;
			}
		} else if (fl_buf_putc(b, '-') < 0) {
			goto out;
		}
		if (is_block(v)) {
			/* yaml.v3: a collection in a sequence item starts right after "- ". */
			if (!is_map) {
				if (fl_buf_putc(b, ' ') < 0 || put_block(b, v, col + 2, 1) < 0)
					goto out;
			} else if (fl_buf_putc(b, '\n') < 0 ||
			           put_block(b, v, child_col(col), 0) < 0) {
				goto out;
			}
			continue;
		}
		if (put_line_value(b, v, " ", col, is_map ? child_col(col) : col + 2, eol) < 0)
			goto out;
		eol_done = eol != NULL;
	}
	rc = 0;
out:
	fl_buf_free(&key);
	return rc;
}

static int put_document(struct fl_buf *b, const struct fl_doc *d)
{
	if (!d)
		return fl_buf_puts(b, "null\n");
	if (d->type != FL_DOC_MAP && d->type != FL_DOC_LIST)
		return put_line_value(b, d, "", 0, 0, NULL);
	if (is_block(d))
		return put_block(b, d, 0, 0);
	/* A root without entries keeps its comments above the empty collection. */
	for (size_t i = 0; !has_entries(d) && i < d->n; i++)
		if (d->items[i].value &&
		    (put_comment_text(b, d->items[i].value) < 0 || fl_buf_putc(b, '\n') < 0))
			return -1;
	if (put_flow(b, d) < 0)
		return -1;
	return fl_buf_putc(b, '\n');
}

int fl_doc_emit_yaml(const struct fl_docs *docs, struct fl_buf *out)
{
	for (size_t i = 0; i < docs->n; i++) {
		/* yaml.v3's encoder separates documents with "---". */
		if (i && fl_buf_puts(out, "---\n") < 0)
			return -1;
		if (put_document(out, docs->v[i]) < 0)
			return -1;
	}
	return 0;
}
