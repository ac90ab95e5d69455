/*
 * The INI store as sops reads and writes it (sops stores/ini/store.go on top of
 * gopkg.in/ini.v1 with its default options): a map of sections, each a map of string
 * values. Keys before the first header belong to the implicit "DEFAULT" section.
 *
 * Comments follow sops' tree shape: comment lines before a [section] header become the
 * section's first entry; comment lines before a key (and a trailing "; ..." on its line)
 * become one comment entry right after that key. Several comment lines join with "\n".
 */
#include "doc/keyset.h"
#include "doc/value_string.h"
#include "fleet/doc.h"
#include "fleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_SECTION "DEFAULT"

/* --- Go's unicode.IsSpace, which go-ini trims with --- */

static size_t space_at_start(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	if (n >= 1 && (u[0] == ' ' || (u[0] >= '\t' && u[0] <= '\r')))
		return 1;
	if (n >= 2 && u[0] == 0xc2 && (u[1] == 0x85 || u[1] == 0xa0))
		return 2;
	if (n >= 3 &&
	    ((u[0] == 0xe1 && u[1] == 0x9a && u[2] == 0x80) ||
	     (u[0] == 0xe2 && u[1] == 0x80 &&
	      (u[2] <= 0x8a || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf) && u[2] >= 0x80) ||
	     (u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0x9f) ||
	     (u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80)))
		return 3;
	return 0;
}

static size_t space_at_end(const char *s, size_t n)
{
	for (size_t k = 1; k <= 3 && k <= n; k++)
		if (space_at_start(s + n - k, k) == k)
			return k;
	return 0;
}

static void trim_left(const char **s, size_t *n)
{
	size_t k;
	while ((k = space_at_start(*s, *n)) > 0) {
		*s += k;
		*n -= k;
	}
}

static void trim_right(const char *s, size_t *n)
{
	size_t k;
	while ((k = space_at_end(s, *n)) > 0)
		*n -= k;
}

static void trim(const char **s, size_t *n)
{
	trim_left(s, n);
	trim_right(*s, n);
}

static const char *find(const char *s, size_t n, const char *needle)
{
	return memmem(s, n, needle, strlen(needle));
}

static const char *find_last(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = n >= k ? n - k + 1 : 0; i-- > 0;)
		if (memcmp(s + i, needle, k) == 0)
			return s + i;
	return NULL;
}

static const char *find_any(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (strchr(set, s[i]) && s[i] != '\0')
			return s + i;
	return NULL;
}

/* --- parsing --- */

struct ini_parser {
	const char *in;
	size_t len, pos, line_no;
	struct fl_buf comment;  /* go-ini's pending comment, attached to the next key/section */
	struct doc_keyset keys; /* the current section's keys */
};

struct ini_line {
	const char *s;
	size_t n;
	int nl; /* the line ended in '\n' (go-ini keeps it, and counts it in lengths) */
};

static int next_line(struct ini_parser *p, struct ini_line *l)
{
	if (p->pos > p->len)
		return 0;
	const char *start = p->in + p->pos;
	const char *nl = memchr(start, '\n', p->len - p->pos);
	l->s = start;
	l->n = nl ? (size_t)(nl - start) : p->len - p->pos;
	l->nl = nl != NULL;
	p->pos += l->n + 1;
	p->line_no++;
	return 1;
}

/* sops' stripCommentChar: the leading run of "; " or "# " goes. */
static struct fl_doc *comment_entry(const struct fl_buf *raw)
{
	const char *s = raw->ptr ? raw->ptr : "";
	size_t n = raw->len;
	trim(&s, &n);
	if (n == 0)
		return NULL;
	const char *strip = s[0] == ';' ? "; " : s[0] == '#' ? "# " : "";
	while (n > 0 && s[0] != '\0' && *strip && strchr(strip, s[0])) {
		s++;
		n--;
	}
	return fl_doc_new_scalar(FL_DOC_COMMENT, s, n);
}

/* Moves the pending comment into parent as one comment entry (if there is one). */
static int flush_comment(struct ini_parser *p, struct fl_doc *parent)
{
	const char *s = p->comment.ptr ? p->comment.ptr : "";
	size_t n = p->comment.len;
	trim(&s, &n);
	if (n == 0) {
		fl_buf_clear(&p->comment);
		return 0;
	}
	struct fl_doc *c = comment_entry(&p->comment);
	fl_buf_clear(&p->comment);
	return c ? fl_doc_append(parent, NULL, c) : -1;
}

static int has_surrounding_quote(const char *s, size_t n, char q)
{
	return n >= 2 && s[0] == q && s[n - 1] == q && memchr(s + 1, q, n - 2) == NULL;
}

/* go-ini readValue: """ and ` quote (possibly over several lines); otherwise the value is
 * trimmed, continued by a trailing '\', cut at the first '#' or ';' (the rest is an inline
 * comment) and stripped of one pair of surrounding quotes. */
static int read_value(struct ini_parser *p, const char *s, size_t n, int nl, struct fl_buf *val)
{
	size_t first_line = p->line_no;
	trim_left(&s, &n);
	if (n == 0)
		return 0;
	const char *q = NULL;
	if (n + (size_t)nl > 3 && memcmp(s, "\"\"\"", 3) == 0)
		q = "\"\"\"";
	else if (s[0] == '`')
		q = "`";
	if (q) {
		size_t ql = strlen(q);
		const char *close = find_last(s + ql, n - ql, q);
		if (close)
			return fl_buf_put(val, s + ql, (size_t)(close - s - ql));
		if (fl_buf_put(val, s + ql, n - ql) < 0 || (nl && fl_buf_putc(val, '\n') < 0))
			return -1;
		struct ini_line l;
		for (;;) {
			if (!nl || !next_line(p, &l))
				goto unclosed;
			nl = l.nl;
			close = find_last(l.s, l.n, q);
			if (close) {
				if (fl_buf_put(val, l.s, (size_t)(close - l.s)) < 0)
					return -1;
				size_t rest = l.n - (size_t)(close - l.s);
				const char *c = find_any(close, rest, "#;");
				if (c) {
					size_t cn = rest - (size_t)(c - close);
					trim(&c, &cn);
					if (fl_buf_put(&p->comment, c, cn) < 0)
						return -1;
				}
				return 0;
			}
			if (fl_buf_put(val, l.s, l.n) < 0 || (l.nl && fl_buf_putc(val, '\n') < 0))
				return -1;
		}
	unclosed:
		return fl_error_set(FL_E_INVALID,
		                    "ini: the value opened with %s on line %zu is never closed", q,
		                    first_line);
	}
	trim_right(s, &n);
	if (n > 0 && s[n - 1] == '\\') {
		/* go-ini continuation: following trimmed lines are appended until an empty
		 * one or one not ending in '\'; no comment or quote handling applies. */
		if (fl_buf_put(val, s, n - 1) < 0)
			return -1;
		struct ini_line l;
		while (nl && next_line(p, &l)) {
			const char *t = l.s;
			size_t tn = l.n;
			nl = l.nl;
			trim(&t, &tn);
			if (tn == 0)
				break;
			if (fl_buf_put(val, t, tn) < 0)
				return -1;
			if (val->ptr[val->len - 1] != '\\')
				break;
			fl_buf_truncate(val, val->len - 1);
		}
		return 0;
	}
	const char *c = find_any(s, n, "#;");
	if (c) {
		if (fl_buf_put(&p->comment, c, n - (size_t)(c - s)) < 0)
			return -1;
		n = (size_t)(c - s);
		trim(&s, &n);
	}
	if (has_surrounding_quote(s, n, '\'') || has_surrounding_quote(s, n, '"')) {
		s++;
		n -= 2;
	}
	return fl_buf_put(val, s, n);
}

/* go-ini readKeyName: a key may be quoted with ", """ or `; it ends at the first '=' or
 * ':' after that. Sets *offset to just past the delimiter. */
static int read_key(struct ini_parser *p, const struct ini_line *l, const char *s, size_t n,
                    struct fl_buf *key, size_t *offset)
{
	const char *q = NULL;
	if (s[0] == '"')
		q = n + (size_t)l->nl > 6 && memcmp(s, "\"\"\"", 3) == 0 ? "\"\"\"" : "\"";
	else if (s[0] == '`')
		q = "`";
	const char *k = s;
	size_t kn;
	const char *delim;
	if (q) {
		size_t ql = strlen(q);
		const char *close = find(s + ql, n - ql, q);
		if (!close)
			return fl_error_set(FL_E_INVALID,
			                    "ini: line %zu: the key opened with %s is never closed",
			                    p->line_no, q);
		k = s + ql;
		kn = (size_t)(close - k);
		delim = find_any(close + ql, n - (size_t)(close + ql - s), "=:");
	} else {
		delim = find_any(s, n, "=:");
		kn = delim ? (size_t)(delim - s) : 0;
	}
	if (!delim)
		return fl_error_set(FL_E_INVALID,
		                    "ini: line %zu has no '=' or ':' (expected key = value, a "
		                    "[section] header or a ';' comment)",
		                    p->line_no);
	trim(&k, &kn);
	if (kn == 0)
		return fl_error_set(FL_E_INVALID, "ini: line %zu has an empty key name",
		                    p->line_no);
	if (memchr(k, '\0', kn))
		return fl_error_set(FL_E_INVALID, "ini: line %zu: the key contains a NUL byte",
		                    p->line_no);
	*offset = (size_t)(delim - s) + 1;
	return fl_buf_put(key, k, kn);
}

static int parse_section_header(struct ini_parser *p, const struct ini_line *l, const char *s,
                                size_t n, struct fl_doc *root, struct fl_doc **section)
{
	const char *close = find_last(s, n, "]");
	if (!close)
		return fl_error_set(FL_E_INVALID,
		                    "ini: line %zu: the section header has no closing ']'",
		                    p->line_no);
	size_t name_len = (size_t)(close - s - 1);
	if (name_len == 0)
		return fl_error_set(FL_E_INVALID, "ini: line %zu: the section name is empty",
		                    p->line_no);
	if (memchr(s + 1, '\0', name_len))
		return fl_error_set(FL_E_INVALID,
		                    "ini: line %zu: the section name contains a NUL byte",
		                    p->line_no);
	size_t rest = n - (size_t)(close + 1 - s);
	const char *c = find_any(close + 1, rest, "#;");
	if (c && fl_buf_put(&p->comment, c, rest - (size_t)(c - close - 1)) < 0)
		return -1;
	char *name = strndup(s + 1, name_len);
	struct fl_doc *sec = fl_doc_new(FL_DOC_MAP);
	int rc = name && sec ? 0 : fl_error_set(FL_E_NOMEM, "out of memory");
	if (rc == 0)
		rc = flush_comment(p, sec);
	/* go-ini (AllowNonUniqueSections, as sops loads): a repeated header is a new section. */
	if (rc == 0) {
		rc = fl_doc_append(root, name, sec);
		sec = NULL;
	}
	fl_doc_free(sec);
	free(name);
	if (rc == 0)
		*section = root->items[root->n - 1].value;
	return rc;
}

static int parse_key_line(struct ini_parser *p, const struct ini_line *l, const char *s, size_t n,
                          struct fl_doc *section, unsigned *auto_index)
{
	struct fl_buf key = FL_BUF_INIT;
	struct fl_buf val = FL_BUF_SECRET;
	size_t offset = 0;
	size_t line_no = p->line_no;
	int rc = read_key(p, l, s, n, &key, &offset);
	/* go-ini: a key named "-" is numbered "#1", "#2", ... within its section. */
	if (rc == 0 && strcmp(key.ptr, "-") == 0) {
		fl_buf_clear(&key);
		rc = fl_buf_printf(&key, "#%u", (*auto_index)++);
	}
	if (rc == 0)
		rc = read_value(p, s + offset, n - offset, l->nl, &val);
	/* go-ini would silently keep the first position with the last value; refuse. */
	int seen = rc == 0 ? doc_keyset_add(&p->keys, key.ptr, key.len, 0, NULL) : 0;
	if (seen < 0)
		rc = -1;
	else if (seen > 0)
		rc = fl_error_set(FL_E_INVALID,
		                  "ini: line %zu: key %s appears twice in the same section",
		                  line_no, key.ptr);
	if (rc == 0) {
		struct fl_doc *v = fl_doc_new_scalar(FL_DOC_STR, val.ptr, val.len);
		rc = v ? fl_doc_append(section, key.ptr, v) : -1;
	}
	if (rc == 0)
		rc = flush_comment(p, section);
	fl_buf_free(&key);
	fl_buf_free(&val);
	return rc;
}

int fl_doc_parse_ini(const char *in, size_t len, struct fl_docs *out)
{
	if (!in)
		in = "";
	/* go-ini skips a UTF-8 byte order mark, and the first two bytes of a UTF-16 one. */
	if (len >= 3 && memcmp(in, "\xef\xbb\xbf", 3) == 0) {
		in += 3;
		len -= 3;
	} else if (len >= 2 && (memcmp(in, "\xfe\xff", 2) == 0 || memcmp(in, "\xff\xfe", 2) == 0)) {
		in += 2;
		len -= 2;
	}
	struct ini_parser p = {in, len, 0, 0, FL_BUF_SECRET, DOC_KEYSET_INIT};
	struct fl_doc *root = fl_doc_new(FL_DOC_MAP);
	struct fl_doc *def = fl_doc_new(FL_DOC_MAP);
	if (!root || !def) {
		fl_doc_free(root);
		fl_doc_free(def);
		return -1;
	}
	/* sops lists the implicit DEFAULT section first, even when it is empty. */
	if (fl_doc_append(root, DEFAULT_SECTION, def) < 0) {
		fl_doc_free(root);
		return -1;
	}
	struct fl_doc *section = root->items[0].value;
	unsigned auto_index = 1;
	struct ini_line l;
	int rc = 0;
	while (rc == 0 && next_line(&p, &l)) {
		const char *s = l.s;
		size_t n = l.n;
		trim_left(&s, &n);
		if (n == 0)
			continue;
		if (s[0] == '#' || s[0] == ';') {
			rc = fl_buf_put(&p.comment, s, n);
			if (rc == 0 && l.nl)
				rc = fl_buf_putc(&p.comment, '\n');
		} else if (s[0] == '[') {
			rc = parse_section_header(&p, &l, s, n, root, &section);
			auto_index = 1;
			doc_keyset_free(&p.keys);
		} else {
			rc = parse_key_line(&p, &l, s, n, section, &auto_index);
		}
	}
	/* Comments after the last key belong to nothing and are dropped, as go-ini does. */
	fl_buf_free(&p.comment);
	doc_keyset_free(&p.keys);
	if (rc < 0) {
		fl_doc_free(root);
		return -1;
	}
	return fl_docs_append(out, root);
}

/* --- emitting --- */

struct ini_key {
	const char *name;
	const char *shown; /* the name as written: "-" for go-ini's numbered keys */
	const char *quote; /* "", "`" or "\"\"\"" around the name */
	struct fl_buf value;
	const char *value_quote;
	const struct fl_doc *comment; /* written on the lines before the key */
};

/* go-ini quotes a key holding '"', '=' or ':' with ` and one holding ` with """. Keys
 * go-ini would write bare but read back as a comment, a header or a byte order mark are
 * quoted with ` too; the rest
 * that cannot read back are refused. */
static int key_quote(const char *key, const char *section, const char **quote)
{
	size_t n = strlen(key);
	int bad = n == 0 || strchr(key, '\n') || space_at_start(key, n) || space_at_end(key, n);
	if (strpbrk(key, "\"=:")) {
		*quote = "`";
		bad |= strchr(key, '`') != NULL;
	} else if (strchr(key, '`')) {
		*quote = "\"\"\"";
	} else if (strchr("#;[", key[0]) || strchr("\xef\xfe\xff", key[0])) {
		/* Bare, these read back as a comment, a header or a skipped byte order mark. */
		*quote = "`";
	} else {
		*quote = "";
	}
	/* go-ini numbers a key named "-" however it is quoted. */
	bad |= strcmp(key, "-") == 0;
	if (bad)
		return fl_error_set(FL_E_INVALID,
		                    "ini: key \"%s\" in section %s cannot be written so that it "
		                    "reads back the same; rename it",
		                    key, section);
	return 0;
}

/* go-ini wraps values holding a newline or ` in """, ones holding '#' or ';' in `, and ones
 * with surrounding spaces in "; where go-ini's own choice would not read back the same,
 * ` is used instead. */
static int value_quote(const struct fl_buf *v, const char *key, const char *section,
                       const char **quote)
{
	const char *s = v->ptr ? v->ptr : "";
	size_t n = v->len;
	const char *last_nl = n ? memrchr(s, '\n', n) : NULL;
	if (last_nl || memchr(s, '`', n)) {
		*quote = "\"\"\"";
		if (last_nl && find(s, (size_t)(last_nl - s), "\"\"\""))
			return fl_error_set(FL_E_INVALID,
			                    "ini: the value of %s in section %s has both a newline "
			                    "and \"\"\" before it, which INI cannot hold",
			                    key, section);
		return 0;
	}
	const char *t = s;
	size_t tn = n;
	trim(&t, &tn);
	if (find_any(s, n, "#;"))
		*quote = "`";
	else if (tn != n)
		*quote = memchr(s, '"', n) ? "`" : "\"";
	else if ((n >= 3 && memcmp(s, "\"\"\"", 3) == 0) || has_surrounding_quote(s, n, '\'') ||
	         has_surrounding_quote(s, n, '"') || (n > 0 && s[n - 1] == '\\'))
		*quote = "`";
	else
		*quote = "";
	return 0;
}

/* go-ini writes each comment line with its marker and one space; lines without one get
 * "; ". Key comments are trimmed, section comments are not. */
static int emit_comment(const struct fl_doc *c, int trim_plain, struct fl_buf *out)
{
	const char *s = c->text;
	size_t left = c->len;
	for (;;) {
		const char *nl = memchr(s, '\n', left);
		size_t n = nl ? (size_t)(nl - s) : left;
		const char *t = s;
		size_t tn = n;
		int rc;
		if (n > 0 && (s[0] == '#' || s[0] == ';')) {
			t++;
			tn--;
			trim(&t, &tn);
			rc = fl_buf_putc(out, s[0]) < 0 || fl_buf_putc(out, ' ') < 0 ? -1 : 0;
		} else {
			if (trim_plain)
				trim(&t, &tn);
			rc = fl_buf_puts(out, "; ");
		}
		if (rc < 0 || fl_buf_put(out, t, tn) < 0 || fl_buf_putc(out, '\n') < 0)
			return -1;
		if (!nl)
			return 0;
		s = nl + 1;
		left -= n + 1;
	}
}

static void keys_free(struct ini_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fl_buf_free(&keys[i].value);
	free(keys);
}

/* sops encodeTree: a leading comment is the section's; a later comment belongs to the key
 * before it (the last one wins); a comment with no key before it is dropped. */
static int collect_keys(const struct fl_doc *sec, const char *name,
                        const struct fl_doc **sec_comment, struct ini_key **keys_out, size_t *n_out)
{
	struct ini_key *keys = calloc(sec->n ? sec->n : 1, sizeof(*keys));
	size_t n = 0;
	if (!keys)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	unsigned next_auto = 1;
	struct doc_keyset seen = DOC_KEYSET_INIT;
	int dup = 0;
	*sec_comment = NULL;
	for (size_t i = 0; i < sec->n; i++) {
		const struct fl_doc_entry *e = &sec->items[i];
		if (!e->key || e->value->type == FL_DOC_COMMENT) {
			if (i == 0)
				*sec_comment = e->value;
			else if (n > 0)
				keys[n - 1].comment = e->value;
			continue;
		}
		if (e->value->type == FL_DOC_MAP || e->value->type == FL_DOC_LIST) {
			keys_free(keys, n);
			doc_keyset_free(&seen);
			return fl_error_set(FL_E_INVALID,
			                    "ini: key %s in section %s holds a nested value; INI "
			                    "holds only sections of plain values",
			                    e->key, name);
		}
		if ((dup = doc_keyset_add(&seen, e->key, strlen(e->key), i, NULL)) != 0) {
			keys_free(keys, n);
			doc_keyset_free(&seen);
			return dup < 0 ? -1
			               : fl_error_set(FL_E_INVALID,
			                              "ini: key %s appears twice in section %s",
			                              e->key, name);
		}
		struct ini_key *k = &keys[n++];
		k->name = k->shown = e->key;
		k->quote = "";
		k->value = (struct fl_buf)FL_BUF_SECRET;
		/* go-ini reads "-" keys as "#1", "#2", ...: write those back as "-". */
		char numbered[24];
		snprintf(numbered, sizeof(numbered), "#%u", next_auto);
		int is_auto = strcmp(e->key, numbered) == 0;
		if (is_auto) {
			k->shown = "-";
			next_auto++;
		}
		if ((!is_auto && key_quote(e->key, name, &k->quote) < 0) ||
		    fl_doc_value_string(e->value, e->key, &k->value) < 0 ||
		    value_quote(&k->value, e->key, name, &k->value_quote) < 0) {
			keys_free(keys, n);
			doc_keyset_free(&seen);
			return -1;
		}
	}
	doc_keyset_free(&seen);
	*keys_out = keys;
	*n_out = n;
	return 0;
}

static int emit_section(const struct fl_doc_entry *e, size_t index, struct fl_buf *out)
{
	if (e->value->type != FL_DOC_MAP)
		return fl_error_set(FL_E_INVALID,
		                    "ini: top-level entry %s must be a section (a map of "
		                    "values)",
		                    e->key);
	if (e->key[0] == '\0' || strchr(e->key, '\n'))
		return fl_error_set(FL_E_INVALID,
		                    "ini: section name \"%s\" cannot be written; it must be "
		                    "non-empty and on one line",
		                    e->key);
	const struct fl_doc *sec_comment = NULL;
	struct ini_key *keys = NULL;
	size_t n = 0;
	if (collect_keys(e->value, e->key, &sec_comment, &keys, &n) < 0)
		return -1;
	int rc = 0;
	if (sec_comment && sec_comment->len > 0)
		rc = emit_comment(sec_comment, 0, out);
	/* go-ini: the first section, when it is DEFAULT, has no header and is skipped if
	 * empty. */
	if (rc == 0 && index == 0 && strcasecmp(e->key, DEFAULT_SECTION) == 0) {
		if (n == 0) {
			keys_free(keys, n);
			return 0;
		}
	} else if (rc == 0) {
		rc = fl_buf_printf(out, "[%s]\n", e->key);
	}
	/* go-ini's pretty format: '=' aligned one space after the longest (quoted) key. */
	size_t align = 0;
	for (size_t i = 0; i < n; i++) {
		size_t w = strlen(keys[i].shown) + 2 * strlen(keys[i].quote);
		align = w > align ? w : align;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct ini_key *k = &keys[i];
		const char *vq = k->value_quote;
		if (k->comment && k->comment->len > 0)
			rc = emit_comment(k->comment, 1, out);
		if (rc == 0)
			rc = fl_buf_printf(out, "%s%s%s%*s = %s", k->quote, k->shown, k->quote,
			                   (int)(align - strlen(k->shown) - 2 * strlen(k->quote)),
			                   "", vq);
		if (rc == 0)
			rc = fl_buf_put(out, k->value.ptr, k->value.len);
		if (rc == 0)
			rc = fl_buf_printf(out, "%s\n", vq);
	}
	/* go-ini's pretty sections: a blank line after each one written. */
	if (rc == 0)
		rc = fl_buf_putc(out, '\n');
	keys_free(keys, n);
	return rc;
}

int fl_doc_emit_ini(const struct fl_docs *docs, struct fl_buf *out)
{
	if (docs->n != 1)
		return fl_error_set(FL_E_INVALID,
		                    "INI holds exactly one document, not %zu; split the input",
		                    docs->n);
	const struct fl_doc *root = docs->v[0];
	if (root->type != FL_DOC_MAP)
		return fl_error_set(FL_E_INVALID,
		                    "INI holds a map of sections, not a single value or list");
	size_t index = 0;
	for (size_t i = 0; i < root->n; i++) {
		/* sops: comments between sections are not written. */
		if (!root->items[i].key || root->items[i].value->type == FL_DOC_COMMENT)
			continue;
		if (emit_section(&root->items[i], index++, out) < 0)
			return -1;
	}
	return 0;
}
