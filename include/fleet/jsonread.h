/*
 * A fast, read-only JSON reader (RFC 8259) for large inputs fleet only reads, such as a
 * thousand machines' `nix eval` output: one pass into an arena, object key order kept,
 * duplicate keys rejected, every value's source span kept (to pass JSON on verbatim).
 */
#ifndef FLEET_JSONREAD_H
#define FLEET_JSONREAD_H

#include <stddef.h>

/* FL_JV_SKIPPED: a value fl_jdoc_parse_ex was told to skip: its syntax was checked, only
 * raw and raw_len are set (parse that text when it is wanted). */
enum fl_jv_type {
	FL_JV_NULL,
	FL_JV_BOOL,
	FL_JV_NUM,
	FL_JV_STR,
	FL_JV_ARR,
	FL_JV_OBJ,
	FL_JV_SKIPPED
};

struct fl_jv {
	const char *raw; /* the value's text in the input */
	size_t raw_len;
	size_t n;              /* ARR, OBJ: number of children; STR: length in bytes */
	unsigned char type;    /* enum fl_jv_type */
	unsigned char boolean; /* BOOL */
	unsigned char is_int;  /* NUM: written without fraction or exponent, fits long long */
	union {
		const char *str; /* STR: the decoded string (NUL-terminated) */
		struct {
			struct fl_jv *items; /* ARR, OBJ children */
			const char **keys;   /* OBJ: keys, parallel to items */
		};
		struct {
			long long integer; /* NUM when is_int */
			double number;     /* NUM */
		};
	};
};

struct fl_jdoc {
	struct fl_jv *root;
	void *arena;
	char *input; /* freed with the document when the caller hands it over (raw points in) */
};

/* Parses len bytes; fails with FL_E_INVALID "JSON: … at line L, column C". The input must
 * outlive the document (every raw points into it). */
int fl_jdoc_parse(const char *in, size_t len, struct fl_jdoc *out);
/* The same, but the values at skip_path (member names, "*" for any name or index, NULL
 * ended) are only checked and spanned, not built: FL_JV_SKIPPED. Object keys inside a
 * skipped value are not checked for duplicates. */
int fl_jdoc_parse_ex(const char *in, size_t len, const char *const *skip_path, struct fl_jdoc *out);
void fl_jdoc_free(struct fl_jdoc *d);
/* A copy of s[0..n) (NUL-terminated) that lives as long as the document. */
char *fl_jdoc_strndup(struct fl_jdoc *d, const char *s, size_t n);
/* Input that arrives while it is parsed (a child's output): it grows in place and never
 * moves. more() waits until there is input beyond *end and moves *end on (1), or says
 * the input has ended (0) or failed (-1, error set; the parse then fails with it). */
struct fl_jsource {
	int (*more)(void *ctx, const char **end);
	void *ctx;
};
/* As fl_jdoc_parse_ex, on the len bytes at in and what src adds after them. */
int fl_jdoc_parse_stream(const char *in, size_t len, const struct fl_jsource *src,
                         const char *const *skip_path, struct fl_jdoc *out);
/* Parses another text (a skipped value's, say) into d: the value lives as long as d,
 * and the text must too. */
int fl_jdoc_parse_more(struct fl_jdoc *d, const char *in, size_t len, const struct fl_jv **out);
/* Whether two values are the same JSON (keys in the same order). A skipped value equals
 * one whose text is the same. */
int fl_jv_equal(const struct fl_jv *a, const struct fl_jv *b);
/* The member key of an object, or NULL (also for a non-object). */
const struct fl_jv *fl_jv_get(const struct fl_jv *obj, const char *key);

#endif
