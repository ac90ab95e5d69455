#include "fleet/base64.h"
#include "fleet/error.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t fl_b64_encoded_len(size_t n, enum fl_b64_padding pad)
{
	if (pad)
		return (n + 2) / 3 * 4;
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t fl_b64_decoded_max(size_t n)
{
	return n / 4 * 3 + 3;
}

void fl_b64_encode(char *out, const uint8_t *in, size_t n, enum fl_b64_padding pad)
{
	size_t i = 0;
	char *o = out;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		*o++ = alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		if (pad) {
			*o++ = '=';
			*o++ = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		if (pad)
			*o++ = '=';
	}
	*o = '\0';
}

int fl_b64_decode(uint8_t *out, size_t *outlen, const char *in, size_t n, enum fl_b64_padding pad)
{
	size_t padding = 0;
	if (pad) {
		if (n % 4 != 0)
			return fl_error_set(FL_E_INVALID, "base64: length is not a multiple of 4");
		if (n >= 1 && in[n - 1] == '=')
			padding++;
		if (n >= 2 && in[n - 2] == '=')
			padding++;
		n -= padding;
	}
	if (n % 4 == 1)
		return fl_error_set(FL_E_INVALID, "base64: truncated encoding");
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)in[i]);
		if (v < 0)
			return fl_error_set(FL_E_INVALID, "base64: invalid character at offset %zu",
			                    i);
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* RFC 4648 §3.5: canonical encodings have zero pad bits. */
	if (acc != 0)
		return fl_error_set(FL_E_INVALID, "base64: non-canonical encoding");
	if (pad && ((n % 4 == 2 && padding != 2) || (n % 4 == 3 && padding != 1) ||
	            (n % 4 == 0 && padding != 0)))
		return fl_error_set(FL_E_INVALID, "base64: wrong padding");
	*outlen = o;
	return 0;
}
