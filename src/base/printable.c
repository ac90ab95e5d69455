#include "fleet/buf.h"

#include <stdio.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned min;
	unsigned cp;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int fl_buf_put_printable(struct fl_buf *b, const char *s, size_t n, int message)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned char c = p[i];
		size_t len = utf8_seq(p + i, n - i);
		char esc[8];
		if (len == 0) { /* not UTF-8: the byte, shown as a byte */
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			len = 1;
		} else if (message && (c == '\n' || c == '\t' || c == '\\')) {
			esc[0] = (char)c, esc[1] = '\0';
		} else if (c == '\\') {
			snprintf(esc, sizeof(esc), "\\\\");
		} else if (c < 0x20 || c == 0x7f) { /* C0 controls and DEL: ESC starts sequences */
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		} else if (len == 2 && c == 0xc2 && p[i + 1] < 0xa0) { /* C1 controls (CSI, OSC) */
			snprintf(esc, sizeof(esc), "\\u%04x", p[i + 1]);
		} else {
			if (fl_buf_put(b, p + i, len) < 0)
				return -1;
			i += len;
			continue;
		}
		if (fl_buf_puts(b, esc) < 0)
			return -1;
		i += len;
	}
	return 0;
}
