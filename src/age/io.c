#include "age/internal.h"
#include "fleet/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ssize_t fd_read(void *ctx, void *buf, size_t n)
{
	int fd = *(int *)ctx;
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return fl_error_set_os("read failed");
	}
}

static int fd_write(void *ctx, const void *buf, size_t n)
{
	int fd = *(int *)ctx;
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return fl_error_set_os("write failed");
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t mem_read(void *ctx, void *buf, size_t n)
{
	struct fl_age_mem_reader *m = ctx;
	size_t left = m->len - m->pos;
	if (n > left)
		n = left;
	if (n)
		memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static int buf_write(void *ctx, const void *buf, size_t n)
{
	return fl_buf_put(ctx, buf, n);
}

struct fl_age_reader fl_age_reader_fd(int *fd)
{
	return (struct fl_age_reader){fd_read, fd};
}

struct fl_age_reader fl_age_reader_mem(struct fl_age_mem_reader *m)
{
	return (struct fl_age_reader){mem_read, m};
}

struct fl_age_writer fl_age_writer_fd(int *fd)
{
	return (struct fl_age_writer){fd_write, fd};
}

struct fl_age_writer fl_age_writer_buf(struct fl_buf *b)
{
	return (struct fl_age_writer){buf_write, b};
}

int age_bufreader_init(struct age_bufreader *br, struct fl_age_reader src, size_t cap)
{
	memset(br, 0, sizeof(*br));
	br->src = src;
	br->buf = malloc(cap);
	if (!br->buf)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	br->cap = cap;
	return 0;
}

void age_bufreader_free(struct age_bufreader *br)
{
	free(br->buf);
	br->buf = NULL;
}

ssize_t age_bufreader_fill(struct age_bufreader *br, size_t want)
{
	if (want > br->cap)
		want = br->cap;
	if (br->len - br->pos >= want || br->eof)
		return (ssize_t)(br->len - br->pos);
	if (br->pos) {
		memmove(br->buf, br->buf + br->pos, br->len - br->pos);
		br->len -= br->pos;
		br->pos = 0;
	}
	while (br->len < want && !br->eof) {
		ssize_t r = br->src.read(br->src.ctx, br->buf + br->len, br->cap - br->len);
		if (r < 0)
			return -1;
		if (r == 0)
			br->eof = 1;
		br->len += (size_t)r;
	}
	return (ssize_t)(br->len - br->pos);
}

int age_bufreader_line(struct age_bufreader *br, struct fl_buf *line, size_t max, int klass)
{
	fl_buf_clear(line);
	for (;;) {
		if (br->pos == br->len) {
			ssize_t r = age_bufreader_fill(br, 1);
			if (r < 0)
				return -1;
			if (r == 0)
				return line->len > 0;
		}
		uint8_t *start = br->buf + br->pos;
		size_t avail = br->len - br->pos;
		uint8_t *nl = memchr(start, '\n', avail);
		size_t take = nl ? (size_t)(nl - start) + 1 : avail;
		if (line->len + take > max)
			return fl_error_set((enum fl_error_class)klass,
			                    "line longer than %zu bytes", max);
		if (fl_buf_put(line, start, take) < 0)
			return -1;
		br->pos += take;
		if (nl)
			return 1;
	}
}

ssize_t age_bufreader_read_full(struct age_bufreader *br, void *out, size_t n)
{
	uint8_t *o = out;
	size_t got = 0;
	if (br->pos < br->len) {
		size_t take = br->len - br->pos < n ? br->len - br->pos : n;
		memcpy(o, br->buf + br->pos, take);
		br->pos += take;
		got = take;
	}
	/* Large reads bypass the buffer. */
	while (got < n && !br->eof) {
		ssize_t r = br->src.read(br->src.ctx, o + got, n - got);
		if (r < 0)
			return -1;
		if (r == 0)
			br->eof = 1;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static ssize_t bufreader_read(void *ctx, void *buf, size_t n)
{
	struct age_bufreader *br = ctx;
	if (br->pos == br->len) {
		if (br->eof)
			return 0;
		if (n >= br->cap) {
			ssize_t r = br->src.read(br->src.ctx, buf, n);
			if (r == 0)
				br->eof = 1;
			return r;
		}
		ssize_t r = age_bufreader_fill(br, 1);
		if (r <= 0)
			return r;
	}
	size_t take = br->len - br->pos < n ? br->len - br->pos : n;
	memcpy(buf, br->buf + br->pos, take);
	br->pos += take;
	return (ssize_t)take;
}

struct fl_age_reader age_bufreader_as_reader(struct age_bufreader *br)
{
	return (struct fl_age_reader){bufreader_read, br};
}
