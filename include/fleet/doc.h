/*
 * An ordered document tree: what YAML, JSON, dotenv and INI files hold, in the shape
 * sops works on. Maps keep their key order, comments are items in their place, scalars
 * keep their type. Every store (fleet_doc_*_parse / _emit) reads and writes this tree.
 */
#ifndef FLEET_DOC_H
#define FLEET_DOC_H

#include <stddef.h>

#include "fleet/buf.h"

enum fl_doc_type {
	FL_DOC_NULL,
	FL_DOC_STR,
	FL_DOC_INT,     /* text holds the canonical decimal form */
	FL_DOC_FLOAT,   /* text holds the shortest round-tripping fixed form (Go's 'f', -1) */
	FL_DOC_BOOL,    /* text is "true" or "false" */
	FL_DOC_BYTES,   /* binary data (sops' "bytes" type) */
	FL_DOC_TIME,    /* RFC 3339 text (sops' "time" type) */
	FL_DOC_COMMENT, /* text is the comment without its leading '#' */
	FL_DOC_MAP,
	FL_DOC_LIST,
};

/* How a scalar or collection was written, so a round trip looks like its input. */
enum fl_doc_style {
	FL_DOC_STYLE_ANY = 0, /* the emitter picks */
	FL_DOC_STYLE_PLAIN,
	FL_DOC_STYLE_SINGLE,
	FL_DOC_STYLE_DOUBLE,
	FL_DOC_STYLE_LITERAL,
	FL_DOC_STYLE_FOLDED,
	FL_DOC_STYLE_FLOW, /* collections: [a, b] / {a: b} */
};

struct fl_doc;

/* A map entry (key != NULL) or a list item (key == NULL). In a map, a comment is an
 * entry with key == NULL and a FL_DOC_COMMENT value. */
struct fl_doc_entry {
	char *key;
	struct fl_doc *value;
};

struct fl_doc {
	enum fl_doc_type type;
	char *text; /* scalars and comments; NUL-terminated, but may hold NULs (BYTES) */
	size_t len;
	struct fl_doc_entry *items; /* MAP and LIST */
	size_t n, cap;
	enum fl_doc_style style;
	int inline_comment; /* COMMENT: written at the end of the previous line */
};

/* Several YAML documents in one file; other formats hold exactly one. */
struct fl_docs {
	struct fl_doc **v;
	size_t n, cap;
};

struct fl_doc *fl_doc_new(enum fl_doc_type type);
/* A scalar or comment holding a copy of text[0..len). */
struct fl_doc *fl_doc_new_scalar(enum fl_doc_type type, const char *text, size_t len);
void fl_doc_free(struct fl_doc *d);
/* Replaces d's scalar text (d keeps its type). */
int fl_doc_set_text(struct fl_doc *d, const char *text, size_t len);
/* Appends to a MAP (key copied; NULL for a comment) or LIST (key must be NULL). Takes
 * ownership of value, even on failure. */
int fl_doc_append(struct fl_doc *parent, const char *key, struct fl_doc *value);
/* The value under key in a MAP, or NULL. */
struct fl_doc *fl_doc_get(const struct fl_doc *map, const char *key);
/* Index of key in a MAP's items, or -1. */
long fl_doc_index(const struct fl_doc *map, const char *key);
/* Removes and frees the entry at index i. */
void fl_doc_remove(struct fl_doc *parent, size_t i);
/* A deep copy. */
struct fl_doc *fl_doc_clone(const struct fl_doc *d);
int fl_docs_append(struct fl_docs *docs, struct fl_doc *d);
void fl_docs_free(struct fl_docs *docs);

/* Same tree: types, texts, keys and order (and comments, unless ignore_comments). */
int fl_doc_equal(const struct fl_doc *a, const struct fl_doc *b, int ignore_comments);

/* Formats a double as Go's strconv.FormatFloat(v, 'f', -1, 64) does: the shortest
 * decimal that reads back as the same double, without an exponent. */
int fl_doc_format_float(double v, struct fl_buf *out);

/* --- stores: parse fails with FL_E_INVALID naming line and column --- */

int fl_doc_parse_yaml(const char *in, size_t len, struct fl_docs *out);
int fl_doc_emit_yaml(const struct fl_docs *docs, struct fl_buf *out);
int fl_doc_parse_json(const char *in, size_t len, struct fl_docs *out);
int fl_doc_emit_json(const struct fl_docs *docs, struct fl_buf *out);
/* dotenv: KEY=VALUE lines, '#' comments; values are strings ("\n" escapes newlines). */
int fl_doc_parse_dotenv(const char *in, size_t len, struct fl_docs *out);
int fl_doc_emit_dotenv(const struct fl_docs *docs, struct fl_buf *out);
/* INI: [section] headers, key = value lines, ';' and '#' comments; a map of maps. */
int fl_doc_parse_ini(const char *in, size_t len, struct fl_docs *out);
int fl_doc_emit_ini(const struct fl_docs *docs, struct fl_buf *out);

/* sops' flattening of nested metadata for flat formats: nested keys joined with
 * "__map_" and list indices with "__list_N", under `prefix` ("sops_" for dotenv, "" for
 * the INI [sops] section). */
int fl_doc_flatten(const struct fl_doc *map, const char *prefix, struct fl_doc *flat_out);
/* The inverse: entries of flat whose key starts with prefix are rebuilt into a nested
 * MAP (lists from __list_N) and appended to nested_out. */
int fl_doc_unflatten(const struct fl_doc *flat, const char *prefix, struct fl_doc *nested_out);

#endif
