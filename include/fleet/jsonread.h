/*
 * A fast, read-only JSON reader (RFC 8259) for large inputs fleet only reads, such as a
 * thousand machines' `nix eval` output: one pass into an arena, object key order kept,
 * duplicate keys rejected, every value's source span kept (to pass JSON on verbatim).
 */
#ifndef FLEET_JSONREAD_H
#define FLEET_JSONREAD_H

#include <stddef.h>

enum fl_jv_type { FL_JV_NULL, FL_JV_BOOL, FL_JV_NUM, FL_JV_STR, FL_JV_ARR, FL_JV_OBJ };

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
};

/* Parses len bytes; fails with FL_E_INVALID "JSON: … at line L, column C". */
int fl_jdoc_parse(const char *in, size_t len, struct fl_jdoc *out);
void fl_jdoc_free(struct fl_jdoc *d);
/* A copy of s[0..n) (NUL-terminated) that lives as long as the document. */
char *fl_jdoc_strndup(struct fl_jdoc *d, const char *s, size_t n);
/* The member key of an object, or NULL (also for a non-object). */
const struct fl_jv *fl_jv_get(const struct fl_jv *obj, const char *key);

#endif
