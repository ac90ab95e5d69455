/*
 * One error mechanism for all of fleet (after libgit2): library functions return
 * 0 on success and -1 on failure, and on failure leave a thread-local error with a
 * class and a message a user can act on. The CLI decides what the user sees.
 */
#ifndef FLEET_ERROR_H
#define FLEET_ERROR_H

#include <stdarg.h>

enum fl_error_class {
	FL_E_NONE = 0,
	FL_E_OS,          /* a system call failed; message carries strerror */
	FL_E_NOMEM,       /* allocation failed */
	FL_E_INVALID,     /* malformed argument, key, recipient or identity */
	FL_E_UNSUPPORTED, /* understood but not implemented (e.g. post-quantum age) */
	FL_E_CRYPTO,      /* a cryptographic primitive failed unexpectedly */
	FL_E_AGE_HEADER,  /* age: the header is malformed */
	FL_E_AGE_ARMOR,   /* age: the ASCII armor is malformed */
	FL_E_AGE_PAYLOAD, /* age: the STREAM payload is truncated, corrupted or reordered */
	FL_E_AGE_NOMATCH, /* age: no identity could unwrap the file key */
	FL_E_AGE_HMAC,    /* age: the header MAC does not verify */
	FL_E_CANCELLED,   /* the user declined (e.g. empty passphrase) */
	FL_E_EXISTS,      /* refusing to overwrite */
	FL_E_INTEGRITY,   /* a MAC does not verify: the file was modified */
	FL_E_NOTFOUND,    /* a path, key or file that was asked for does not exist */
};

struct fl_error {
	enum fl_error_class klass;
	char message[1024];
};

/* Sets the thread-local error; always returns -1 so callers can `return fl_error_set(...)`. */
int fl_error_set(enum fl_error_class klass, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int fl_error_vset(enum fl_error_class klass, const char *fmt, va_list ap);
/* Like fl_error_set(FL_E_OS, ...) with ": <strerror(errno)>" appended. */
int fl_error_set_os(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prepends context ("reading identity file x: ") to the current message; returns -1. */
int fl_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last error of this thread; never NULL (class FL_E_NONE if none). */
const struct fl_error *fl_error_last(void);
void fl_error_clear(void);
const char *fl_error_class_name(enum fl_error_class klass);

#endif
