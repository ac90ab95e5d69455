#include "fleet/bech32.h"
#include "fleet/error.h"

#include <ctype.h>
#include <string.h>

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t polymod_step(uint32_t chk, uint8_t v)
{
	/* BIP 173: the BCH code generator. */
	static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
	uint8_t top = (uint8_t)(chk >> 25);
	chk = (chk & 0x1ffffff) << 5 ^ v;
	for (int i = 0; i < 5; i++)
		if ((top >> i) & 1)
			chk ^= gen[i];
	return chk;
}

static uint32_t hrp_checksum_seed(const char *hrp, size_t hlen)
{
	uint32_t chk = 1;
	for (size_t i = 0; i < hlen; i++)
		chk = polymod_step(chk, (uint8_t)(tolower((unsigned char)hrp[i]) >> 5));
	chk = polymod_step(chk, 0);
	for (size_t i = 0; i < hlen; i++)
		chk = polymod_step(chk, (uint8_t)(tolower((unsigned char)hrp[i]) & 31));
	return chk;
}

int fl_bech32_encode(struct fl_buf *out, const char *hrp, const uint8_t *data, size_t len,
                     int upper)
{
	size_t hlen = strlen(hrp);
	uint32_t chk = hrp_checksum_seed(hrp, hlen);
	size_t start = out->len;
	for (size_t i = 0; i < hlen; i++)
		if (fl_buf_putc(out, (char)(upper ? toupper((unsigned char)hrp[i])
		                                  : tolower((unsigned char)hrp[i]))) < 0)
			return -1;
	if (fl_buf_putc(out, '1') < 0)
		return -1;
	/* BIP 173: regroup 8-bit bytes into 5-bit groups, zero-padding the last one. */
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len) {
			acc = acc << 8 | data[i];
			bits += 8;
		} else if (bits) {
			acc <<= 5 - bits;
			bits = 5;
		}
		while (bits >= 5) {
			bits -= 5;
			uint8_t v = (acc >> bits) & 31;
			chk = polymod_step(chk, v);
			if (fl_buf_putc(out, charset[v]) < 0)
				return -1;
		}
	}
	for (int i = 0; i < 6; i++)
		chk = polymod_step(chk, 0);
	chk ^= 1;
	for (int i = 0; i < 6; i++)
		if (fl_buf_putc(out, charset[(chk >> (5 * (5 - i))) & 31]) < 0)
			return -1;
	if (upper)
		for (size_t i = start; i < out->len; i++)
			out->ptr[i] = (char)toupper((unsigned char)out->ptr[i]);
	return 0;
}

int fl_bech32_decode(const char *s, char *hrp, size_t hrp_cap, uint8_t *data, size_t data_cap,
                     size_t *data_len)
{
	size_t n = strlen(s);
	int lower = 0, upper = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126)
			return fl_error_set(FL_E_INVALID, "bech32: invalid character");
		lower |= islower(c) != 0;
		upper |= isupper(c) != 0;
	}
	if (lower && upper)
		return fl_error_set(FL_E_INVALID, "bech32: mixed case");
	const char *sep = strrchr(s, '1');
	if (!sep || sep == s)
		return fl_error_set(FL_E_INVALID, "bech32: missing separator");
	size_t hlen = (size_t)(sep - s);
	size_t dlen = n - hlen - 1;
	if (dlen < 6)
		return fl_error_set(FL_E_INVALID, "bech32: too short");
	if (hlen + 1 > hrp_cap)
		return fl_error_set(FL_E_INVALID, "bech32: human-readable part too long");
	for (size_t i = 0; i < hlen; i++)
		hrp[i] = (char)tolower((unsigned char)s[i]);
	hrp[hlen] = '\0';
	uint32_t chk = hrp_checksum_seed(hrp, hlen);
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < dlen; i++) {
		const char *p = strchr(charset, tolower((unsigned char)sep[1 + i]));
		if (!p || !*p)
			return fl_error_set(FL_E_INVALID, "bech32: invalid data character");
		uint8_t v = (uint8_t)(p - charset);
		chk = polymod_step(chk, v);
		if (i >= dlen - 6)
			continue;
		acc = acc << 5 | v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o >= data_cap)
				return fl_error_set(FL_E_INVALID, "bech32: data too long");
			data[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (chk != 1)
		return fl_error_set(FL_E_INVALID, "bech32: checksum mismatch");
	/* BIP 173: at most 4 bits of zero padding. */
	if (bits > 4 || acc != 0)
		return fl_error_set(FL_E_INVALID, "bech32: invalid padding");
	*data_len = o;
	return 0;
}
