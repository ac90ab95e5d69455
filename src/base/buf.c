#include "fleet/buf.h"
#include "fleet/error.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Secret buffers of a page or more (decrypted files, key files) are page-aligned and,
 * on Linux, excluded from core dumps (MADV_DONTDUMP), in case a core is ever written
 * despite fl_core_dumps_disable(). Smaller ones stay in the heap: one page each would
 * cost too much for files of many small values. */
static size_t page_size(void)
{
	static size_t page;
	if (!page) {
		long ps = sysconf(_SC_PAGESIZE);
		page = ps > 0 ? (size_t)ps : 4096;
	}
	return page;
}

static char *secret_alloc(size_t cap)
{
	if (cap < page_size())
		return malloc(cap);
	void *p;
	if (posix_memalign(&p, page_size(), cap) != 0)
		return NULL;
#ifdef MADV_DONTDUMP
	(void)madvise(p, cap, MADV_DONTDUMP);
#endif
	return p;
}

void fl_memzero(void *p, size_t n)
{
	if (p && n)
		sodium_memzero(p, n);
}

void fl_free_secret_str(char *s)
{
	if (s) {
		fl_memzero(s, strlen(s));
		free(s);
	}
}

int fl_buf_grow(struct fl_buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len - 1)
		return fl_error_set(FL_E_NOMEM, "buffer size overflow");
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p;
	if (b->secret) {
		/* A page multiple, so that the whole allocation is excluded from dumps. */
		if (cap >= page_size() && cap % page_size() && cap <= SIZE_MAX - page_size())
			cap += page_size() - cap % page_size();
		/* Never let realloc leave a copy of a secret behind in freed memory. */
		p = secret_alloc(cap);
		if (p && b->ptr) {
			memcpy(p, b->ptr, b->len + 1);
			fl_memzero(b->ptr, b->cap);
			free(b->ptr);
		}
	} else {
		p = realloc(b->ptr, cap);
	}
	if (!p)
		return fl_error_set(FL_E_NOMEM, "out of memory (wanted %zu bytes)", cap);
	if (!b->ptr)
		p[0] = '\0';
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int fl_buf_put(struct fl_buf *b, const void *data, size_t len)
{
	if (fl_buf_grow(b, len) < 0)
		return -1;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int fl_buf_puts(struct fl_buf *b, const char *s)
{
	return fl_buf_put(b, s, strlen(s));
}

int fl_buf_putc(struct fl_buf *b, char c)
{
	return fl_buf_put(b, &c, 1);
}

int fl_buf_vprintf(struct fl_buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return fl_error_set(FL_E_INVALID, "bad format string");
	if (fl_buf_grow(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int fl_buf_printf(struct fl_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = fl_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void fl_buf_consume(struct fl_buf *b, size_t n)
{
	if (n >= b->len) {
		fl_buf_clear(b);
		return;
	}
	memmove(b->ptr, b->ptr + n, b->len - n);
	if (b->secret)
		fl_memzero(b->ptr + b->len - n, n);
	b->len -= n;
	b->ptr[b->len] = '\0';
}

void fl_buf_truncate(struct fl_buf *b, size_t len)
{
	if (!b->ptr || len >= b->len)
		return;
	if (b->secret)
		fl_memzero(b->ptr + len, b->len - len);
	b->len = len;
	b->ptr[len] = '\0';
}

void fl_buf_clear(struct fl_buf *b)
{
	fl_buf_truncate(b, 0);
}

void fl_buf_free(struct fl_buf *b)
{
	if (b->ptr && b->secret)
		fl_memzero(b->ptr, b->cap);
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

char *fl_buf_detach(struct fl_buf *b)
{
	char *p = b->ptr;
	if (!p)
		p = calloc(1, 1);
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}
