/*
 * One growable byte buffer for all of fleet (after git's strbuf). The contents are
 * always NUL-terminated once allocated, so text can be used as a C string.
 *
 * A buffer made with FL_BUF_SECRET holds key material or plaintext: every byte it
 * ever held is wiped (sodium_memzero) when it grows, shrinks or is freed. Secret
 * buffers are never logged.
 */
#ifndef FLEET_BUF_H
#define FLEET_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct fl_buf {
	char *ptr;
	size_t len;
	size_t cap;
	int secret;
};

#define FL_BUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0, 0                                                                      \
	}
#define FL_BUF_SECRET                                                                              \
	{                                                                                          \
		NULL, 0, 0, 1                                                                      \
	}

/* Ensures room for `extra` more bytes plus the terminating NUL. */
int fl_buf_grow(struct fl_buf *b, size_t extra);
int fl_buf_put(struct fl_buf *b, const void *data, size_t len);
int fl_buf_puts(struct fl_buf *b, const char *s);
int fl_buf_putc(struct fl_buf *b, char c);
int fl_buf_printf(struct fl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fl_buf_vprintf(struct fl_buf *b, const char *fmt, va_list ap);
/* Drops the first `n` bytes. */
void fl_buf_consume(struct fl_buf *b, size_t n);
/* Sets the length to `len` (<= current length), wiping the tail of a secret buffer. */
void fl_buf_truncate(struct fl_buf *b, size_t len);
/* Empties the buffer but keeps its memory. */
void fl_buf_clear(struct fl_buf *b);
/* Releases the memory (wiped first if secret) and resets to empty. */
void fl_buf_free(struct fl_buf *b);
/* Hands the allocation to the caller (who frees it with free()); the buffer is reset. */
char *fl_buf_detach(struct fl_buf *b);

/* Appends text for a terminal: control characters (C0, DEL, C1), which could move the
 * cursor, retitle the window or hide what follows, and bytes that are not UTF-8 are
 * written as \xNN (\u00NN for C1) and a backslash as \\, so that a value from a flake
 * shows as what it is. message: for prose (error messages), '\n', '\t' and a backslash
 * pass as they are. */
int fl_buf_put_printable(struct fl_buf *b, const char *s, size_t len, int message);

/* Wipes memory that held a secret; never optimised away. */
void fl_memzero(void *p, size_t n);
/* Frees a NUL-terminated secret string after wiping it. NULL is fine. */
void fl_free_secret_str(char *s);

#endif
