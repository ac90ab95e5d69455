#include "age/internal.h"
#include "fleet/base64.h"
#include "fleet/error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ARMOR_BEGIN "-----BEGIN AGE ENCRYPTED FILE-----"
#define ARMOR_END "-----END AGE ENCRYPTED FILE-----"
#define ARMOR_COLUMNS 64

struct age_armor_reader {
	struct age_bufreader *src;
	struct fl_buf line;
	uint8_t out[ARMOR_COLUMNS / 4 * 3 + 3];
	size_t out_pos, out_len;
	int final_line_seen;
	int done;
};

static int armor_fail(const char *what)
{
	return fl_error_set(FL_E_AGE_ARMOR, "malformed ASCII armor: %s", what);
}

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int age_armor_detect(struct age_bufreader *br)
{
	ssize_t avail = age_bufreader_fill(br, 1024);
	if (avail <= 0)
		return 0;
	const uint8_t *p = br->buf + br->pos, *end = p + avail;
	while (p < end && is_space(*p))
		p++;
	return (size_t)(end - p) >= 10 && memcmp(p, "-----BEGIN", 10) == 0;
}

/* Reads one armor line without its line ending (LF or CRLF); *had_eol tells whether
 * one was present. Returns 1, or 0 at end of input, or -1. */
static int armor_line(struct age_armor_reader *ar, int *had_eol)
{
	int r = age_bufreader_line(ar->src, &ar->line, ARMOR_COLUMNS + 2, FL_E_AGE_ARMOR);
	if (r <= 0)
		return r;
	*had_eol = 0;
	if (ar->line.ptr[ar->line.len - 1] == '\n') {
		*had_eol = 1;
		fl_buf_truncate(&ar->line, ar->line.len - 1);
		/* age armor: CRLF line endings are allowed. */
		if (ar->line.len && ar->line.ptr[ar->line.len - 1] == '\r')
			fl_buf_truncate(&ar->line, ar->line.len - 1);
	}
	if (ar->line.len > ARMOR_COLUMNS && strcmp(ar->line.ptr, ARMOR_BEGIN) != 0 &&
	    strcmp(ar->line.ptr, ARMOR_END) != 0)
		return armor_fail("line longer than 64 columns");
	return 1;
}

int age_armor_reader_new(struct age_armor_reader **out, struct age_bufreader *src)
{
	struct age_armor_reader *ar = calloc(1, sizeof(*ar));
	if (!ar)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	ar->src = src;
	/* age armor: whitespace is allowed before the armored block. */
	for (;;) {
		ssize_t avail = age_bufreader_fill(src, 1);
		if (avail < 0)
			goto fail;
		if (avail == 0 || !is_space(src->buf[src->pos]))
			break;
		src->pos++;
	}
	int eol;
	int r = armor_line(ar, &eol);
	if (r < 0)
		goto fail;
	if (r == 0 || !eol || strcmp(ar->line.ptr, ARMOR_BEGIN) != 0) {
		armor_fail("expected \"" ARMOR_BEGIN "\"");
		goto fail;
	}
	*out = ar;
	return 0;
fail:
	age_armor_reader_free(ar);
	return -1;
}

void age_armor_reader_free(struct age_armor_reader *ar)
{
	if (!ar)
		return;
	fl_buf_free(&ar->line);
	sodium_memzero(ar->out, sizeof(ar->out));
	free(ar);
}

static int armor_finish(struct age_armor_reader *ar)
{
	/* age armor: only whitespace may follow the END line. */
	for (;;) {
		ssize_t avail = age_bufreader_fill(ar->src, 1);
		if (avail < 0)
			return -1;
		if (avail == 0)
			break;
		for (ssize_t i = 0; i < avail; i++)
			if (!is_space(ar->src->buf[ar->src->pos + (size_t)i]))
				return armor_fail("data after the END line");
		ar->src->pos += (size_t)avail;
	}
	ar->done = 1;
	return 0;
}

static int armor_next_line(struct age_armor_reader *ar)
{
	int eol;
	int r = armor_line(ar, &eol);
	if (r < 0)
		return -1;
	if (r == 0)
		return armor_fail("missing END line");
	if (strcmp(ar->line.ptr, ARMOR_END) == 0)
		return armor_finish(ar);
	if (!eol)
		return armor_fail("missing END line");
	if (ar->final_line_seen)
		return armor_fail("a line shorter than 64 columns is not the last one");
	size_t n = ar->line.len;
	if (n == 0)
		return armor_fail("empty line");
	for (size_t i = 0; i < n; i++) {
		char c = ar->line.ptr[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '='))
			return armor_fail("invalid character");
	}
	/* age armor: every line but the last is exactly 64 columns; padding ends the data. */
	if (n < ARMOR_COLUMNS || ar->line.ptr[n - 1] == '=')
		ar->final_line_seen = 1;
	size_t got;
	if (fl_b64_decode(ar->out, &got, ar->line.ptr, n, FL_B64_PAD) < 0)
		return armor_fail("invalid or non-canonical base64");
	ar->out_pos = 0;
	ar->out_len = got;
	return 0;
}

static ssize_t armor_read(void *ctx, void *buf, size_t n)
{
	struct age_armor_reader *ar = ctx;
	while (ar->out_pos == ar->out_len) {
		if (ar->done)
			return 0;
		if (armor_next_line(ar) < 0)
			return -1;
	}
	size_t take = ar->out_len - ar->out_pos < n ? ar->out_len - ar->out_pos : n;
	memcpy(buf, ar->out + ar->out_pos, take);
	ar->out_pos += take;
	return (ssize_t)take;
}

struct fl_age_reader age_armor_reader_as_reader(struct age_armor_reader *ar)
{
	return (struct fl_age_reader){armor_read, ar};
}

int age_armor_writer_begin(struct age_armor_writer *aw, struct fl_age_writer dst)
{
	memset(aw, 0, sizeof(*aw));
	aw->dst = dst;
	return dst.write(dst.ctx, ARMOR_BEGIN "\n", sizeof(ARMOR_BEGIN));
}

static int armor_write(void *ctx, const void *data, size_t n)
{
	struct age_armor_writer *aw = ctx;
	const uint8_t *p = data;
	char out[64 * (ARMOR_COLUMNS + 1) + 1];
	size_t olen = 0;
	while (n) {
		size_t take = sizeof(aw->pending) - aw->npending;
		if (take > n)
			take = n;
		memcpy(aw->pending + aw->npending, p, take);
		aw->npending += take;
		p += take;
		n -= take;
		if (aw->npending < sizeof(aw->pending))
			break;
		fl_b64_encode(out + olen, aw->pending, sizeof(aw->pending), FL_B64_PAD);
		olen += ARMOR_COLUMNS;
		out[olen++] = '\n';
		aw->npending = 0;
		if (olen + ARMOR_COLUMNS + 2 > sizeof(out)) {
			if (aw->dst.write(aw->dst.ctx, out, olen) < 0)
				return -1;
			olen = 0;
		}
	}
	if (olen && aw->dst.write(aw->dst.ctx, out, olen) < 0)
		return -1;
	return 0;
}

struct fl_age_writer age_armor_writer_as_writer(struct age_armor_writer *aw)
{
	return (struct fl_age_writer){armor_write, aw};
}

int age_armor_writer_end(struct age_armor_writer *aw)
{
	char out[ARMOR_COLUMNS + 2];
	if (aw->npending) {
		fl_b64_encode(out, aw->pending, aw->npending, FL_B64_PAD);
		size_t n = strlen(out);
		out[n++] = '\n';
		if (aw->dst.write(aw->dst.ctx, out, n) < 0)
			return -1;
		aw->npending = 0;
	}
	return aw->dst.write(aw->dst.ctx, ARMOR_END "\n", sizeof(ARMOR_END));
}
