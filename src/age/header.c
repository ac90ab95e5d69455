#include "age/internal.h"
#include "fleet/base64.h"
#include "fleet/error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_LINE_MAX (64u << 10)

static void stanza_free(struct age_stanza *s)
{
	free(s->type);
	for (size_t i = 0; i < s->nargs; i++)
		free(s->args[i]);
	free(s->args);
	if (s->body)
		sodium_memzero(s->body, s->body_len);
	free(s->body);
}

void age_header_free(struct age_header *h)
{
	for (size_t i = 0; i < h->n; i++)
		stanza_free(&h->stanzas[i]);
	free(h->stanzas);
	fl_buf_free(&h->raw);
	memset(h, 0, sizeof(*h));
}

static struct age_stanza *header_new_stanza(struct age_header *h)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 4;
		struct age_stanza *v = realloc(h->stanzas, cap * sizeof(*v));
		if (!v) {
			fl_error_set(FL_E_NOMEM, "out of memory");
			return NULL;
		}
		h->stanzas = v;
		h->cap = cap;
	}
	struct age_stanza *s = &h->stanzas[h->n++];
	memset(s, 0, sizeof(*s));
	return s;
}

int age_header_add_stanza(struct age_header *h, const char *type, const char *const *args,
                          size_t nargs, const uint8_t *body, size_t body_len)
{
	struct age_stanza *s = header_new_stanza(h);
	if (!s)
		return -1;
	s->type = strdup(type);
	s->args = calloc(nargs ? nargs : 1, sizeof(char *));
	s->body = malloc(body_len ? body_len : 1);
	if (!s->type || !s->args || !s->body)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	for (size_t i = 0; i < nargs; i++) {
		if (!(s->args[i] = strdup(args[i])))
			return fl_error_set(FL_E_NOMEM, "out of memory");
		s->nargs++;
	}
	memcpy(s->body, body, body_len);
	s->body_len = body_len;
	return 0;
}

void age_header_mac(uint8_t mac[AGE_MAC_LEN], const struct fl_buf *raw,
                    const uint8_t file_key[FL_AGE_FILE_KEY_LEN])
{
	uint8_t key[32];
	/* age: the header MAC key is HKDF-SHA-256(file key, empty salt, "header"). */
	age_hkdf_sha256(key, sizeof(key), file_key, FL_AGE_FILE_KEY_LEN, NULL, 0, "header");
	crypto_auth_hmacsha256(mac, (const uint8_t *)raw->ptr, raw->len, key);
	sodium_memzero(key, sizeof(key));
}

int age_header_encode(struct age_header *h, const uint8_t file_key[FL_AGE_FILE_KEY_LEN],
                      struct fl_buf *out)
{
	fl_buf_clear(&h->raw);
	if (fl_buf_puts(&h->raw, AGE_INTRO "\n") < 0)
		return -1;
	for (size_t i = 0; i < h->n; i++) {
		const struct age_stanza *s = &h->stanzas[i];
		if (fl_buf_printf(&h->raw, "-> %s", s->type) < 0)
			return -1;
		for (size_t a = 0; a < s->nargs; a++)
			if (fl_buf_printf(&h->raw, " %s", s->args[a]) < 0)
				return -1;
		if (fl_buf_putc(&h->raw, '\n') < 0)
			return -1;
		size_t elen = fl_b64_encoded_len(s->body_len, FL_B64_NOPAD);
		char *enc = malloc(elen + 1);
		if (!enc)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		fl_b64_encode(enc, s->body, s->body_len, FL_B64_NOPAD);
		/* age: the body is wrapped at 64 columns and always ends with a short
		 * (possibly empty) line. */
		size_t off = 0;
		int rc = 0;
		for (;;) {
			size_t n =
			    elen - off < AGE_STANZA_COLUMNS ? elen - off : AGE_STANZA_COLUMNS;
			rc = fl_buf_put(&h->raw, enc + off, n);
			if (!rc)
				rc = fl_buf_putc(&h->raw, '\n');
			off += n;
			if (rc || n < AGE_STANZA_COLUMNS)
				break;
		}
		free(enc);
		if (rc)
			return -1;
	}
	if (fl_buf_puts(&h->raw, "---") < 0)
		return -1;
	age_header_mac(h->mac, &h->raw, file_key);
	char mac64[48];
	fl_b64_encode(mac64, h->mac, AGE_MAC_LEN, FL_B64_NOPAD);
	if (fl_buf_put(out, h->raw.ptr, h->raw.len) < 0 || fl_buf_printf(out, " %s\n", mac64) < 0)
		return -1;
	return 0;
}

static int header_fail(const char *what)
{
	return fl_error_set(FL_E_AGE_HEADER, "malformed age header: %s", what);
}

static int is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static int parse_stanza_line(struct age_stanza *s, char *line, size_t len)
{
	/* age: a stanza starts with "-> " and one or more space-separated arguments,
	 * each a non-empty string of VCHAR (0x21-0x7E). */
	char *p = line + 3, *end = line + len;
	while (p <= end) {
		char *q = p;
		while (q < end && *q != ' ')
			q++;
		if (q == p)
			return header_fail("empty stanza argument");
		for (char *c = p; c < q; c++)
			if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
				return header_fail("invalid character in stanza argument");
		char *arg = strndup(p, (size_t)(q - p));
		if (!arg)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		if (!s->type) {
			s->type = arg;
		} else {
			char **v = realloc(s->args, (s->nargs + 1) * sizeof(char *));
			if (!v) {
				free(arg);
				return fl_error_set(FL_E_NOMEM, "out of memory");
			}
			s->args = v;
			s->args[s->nargs++] = arg;
		}
		p = q + 1;
	}
	return 0;
}

/* Decodes the body lines held in raw[from..) (each "<base64>\n", already checked). */
static int decode_stanza_body(struct age_stanza *s, const struct fl_buf *raw, size_t from,
                              size_t body_len)
{
	s->body = malloc(body_len ? body_len : 1);
	if (!s->body)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	const char *p = raw->ptr + from, *end = raw->ptr + raw->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		uint8_t dec[48 + 3];
		size_t got;
		fl_b64_decode(dec, &got, p, (size_t)(nl - p), FL_B64_NOPAD);
		memcpy(s->body + s->body_len, dec, got);
		sodium_memzero(dec, sizeof(dec));
		s->body_len += got;
		p = nl + 1;
	}
	return 0;
}

static int parse_stanza_body(struct age_stanza *s, struct age_bufreader *br, struct fl_buf *line,
                             struct fl_buf *raw)
{
	size_t from = raw->len, body_len = 0;
	for (;;) {
		int r = age_bufreader_line(br, line, AGE_STANZA_COLUMNS + 1, FL_E_AGE_HEADER);
		if (r < 0)
			return -1;
		if (r == 0 || line->ptr[line->len - 1] != '\n')
			return header_fail("stanza body ends without a newline");
		/* The header budget holds inside a stanza too: a body is only ever read up to
		 * it, so memory stays bounded whatever the input. */
		if (raw->len + line->len > AGE_HEADER_MAX)
			return header_fail("header larger than 16 MiB");
		size_t n = line->len - 1;
		/* age: body lines are at most 64 columns of canonical unpadded base64. */
		if (n > AGE_STANZA_COLUMNS)
			return header_fail("stanza body line longer than 64 columns");
		for (size_t i = 0; i < n; i++)
			if (!is_b64_char(line->ptr[i]))
				return header_fail("invalid character in stanza body");
		uint8_t dec[48 + 3];
		size_t got;
		if (fl_b64_decode(dec, &got, line->ptr, n, FL_B64_NOPAD) < 0)
			return header_fail("stanza body is not canonical base64");
		sodium_memzero(dec, sizeof(dec));
		body_len += got;
		if (fl_buf_put(raw, line->ptr, line->len) < 0)
			return -1;
		/* age: a line shorter than 64 columns ends the stanza. */
		if (n < AGE_STANZA_COLUMNS)
			break;
	}
	return decode_stanza_body(s, raw, from, body_len);
}

int age_header_parse(struct age_header *h, struct age_bufreader *br)
{
	struct fl_buf line = FL_BUF_INIT;
	int rc = -1;
	memset(h, 0, sizeof(*h));

	int r = age_bufreader_line(br, &line, HEADER_LINE_MAX, FL_E_AGE_HEADER);
	if (r < 0)
		goto out;
	if (r == 0) {
		header_fail("the input is empty");
		goto out;
	}
	if (strcmp(line.ptr, AGE_INTRO "\n") != 0) {
		if (strncmp(line.ptr, "age-encryption.org/", 19) == 0)
			fl_error_set(FL_E_AGE_HEADER, "unsupported age format version");
		else
			header_fail("this is not an age file (no \"" AGE_INTRO "\" line)");
		goto out;
	}
	if (fl_buf_put(&h->raw, line.ptr, line.len) < 0)
		goto out;

	for (;;) {
		r = age_bufreader_line(br, &line, HEADER_LINE_MAX, FL_E_AGE_HEADER);
		if (r < 0)
			goto out;
		if (r == 0 || line.ptr[line.len - 1] != '\n') {
			header_fail("the header ends before its MAC line");
			goto out;
		}
		if (h->raw.len + line.len > AGE_HEADER_MAX) {
			header_fail("header larger than 16 MiB");
			goto out;
		}
		size_t n = line.len - 1;
		if (n >= 3 && memcmp(line.ptr, "---", 3) == 0) {
			/* age: the MAC line is "---", a space, and the canonical unpadded
			 * base64 of the 32-byte HMAC; the MAC covers the header up to "---". */
			if (n != 3 + 1 + 43 || line.ptr[3] != ' ') {
				header_fail("bad MAC line");
				goto out;
			}
			if (fl_buf_put(&h->raw, "---", 3) < 0)
				goto out;
			line.ptr[n] = '\0';
			if (age_b64_decode_exact(line.ptr + 4, h->mac, AGE_MAC_LEN) < 0) {
				header_fail("MAC is not canonical base64");
				goto out;
			}
			break;
		}
		if (n < 3 || memcmp(line.ptr, "-> ", 3) != 0) {
			header_fail("expected a stanza (\"-> \") or the MAC line (\"---\")");
			goto out;
		}
		if (fl_buf_put(&h->raw, line.ptr, line.len) < 0)
			goto out;
		struct age_stanza *s = header_new_stanza(h);
		if (!s)
			goto out;
		line.ptr[n] = '\0';
		if (parse_stanza_line(s, line.ptr, n) < 0)
			goto out;
		if (parse_stanza_body(s, br, &line, &h->raw) < 0)
			goto out;
	}
	if (h->n == 0) {
		header_fail("no recipient stanzas");
		goto out;
	}
	rc = 0;
out:
	fl_buf_free(&line);
	return rc;
}
