/*
 * Shamir secret sharing over GF(2^8), as sops splits a data key across key groups
 * (sops' shamir package, taken from HashiCorp Vault): the field is GF(2^8) with the
 * AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11b); each secret byte is the constant
 * term of its own random polynomial of degree threshold-1; share i holds the values
 * at x = i + 1, followed by x itself as the last byte.
 */
#include "fleet/error.h"
#include "fleet/sops.h"

#include <sodium.h>
#include <string.h>

/* Multiplication without secret-dependent branches or table lookups: shift and add,
 * reducing by 0x1b whenever x^8 appears (FIPS-197 section 4.2). */
static uint8_t gf_mul(uint8_t a, uint8_t b)
{
	uint8_t acc = 0;
	for (int i = 7; i >= 0; i--) {
		uint8_t bit = (uint8_t)((b >> i) & 1);
		uint8_t carry = (uint8_t)(acc >> 7);
		acc = (uint8_t)((acc << 1) ^ ((uint8_t)-carry & 0x1b));
		acc ^= (uint8_t)-bit & a;
	}
	return acc;
}

/* a^254 = a^-1 in GF(2^8) (and 0 for 0). */
static uint8_t gf_inv(uint8_t a)
{
	uint8_t r = 1, base = a;
	for (unsigned e = 254; e; e >>= 1) {
		if (e & 1)
			r = gf_mul(r, base);
		base = gf_mul(base, base);
	}
	return r;
}

uint8_t fl_sops_gf256_mul(uint8_t a, uint8_t b)
{
	return gf_mul(a, b);
}

int fl_sops_shamir_split(const uint8_t *secret, size_t len, size_t parts, size_t threshold,
                         uint8_t *shares)
{
	/* sops (Vault): 2 <= threshold <= parts <= 255, and a non-empty secret. */
	if (threshold < 2 || parts < threshold || parts > 255 || len == 0)
		return fl_error_set(FL_E_INVALID,
		                    "Shamir: cannot split into %zu parts with threshold %zu (need "
		                    "2 <= threshold <= parts <= 255)",
		                    parts, threshold);
	uint8_t coeff[256];
	for (size_t i = 0; i < parts; i++)
		shares[i * (len + 1) + len] = (uint8_t)(i + 1);
	for (size_t b = 0; b < len; b++) {
		/* A fresh polynomial per byte; its coefficients come from the CSPRNG. */
		coeff[0] = secret[b];
		randombytes_buf(coeff + 1, threshold - 1);
		for (size_t i = 0; i < parts; i++) {
			uint8_t x = (uint8_t)(i + 1), y = coeff[threshold - 1];
			for (size_t k = threshold - 1; k-- > 0;)
				y = (uint8_t)(gf_mul(y, x) ^ coeff[k]);
			shares[i * (len + 1) + b] = y;
		}
	}
	sodium_memzero(coeff, sizeof(coeff));
	return 0;
}

int fl_sops_shamir_combine(const uint8_t *const *shares, size_t n, size_t share_len,
                           uint8_t *secret)
{
	if (n < 2)
		return fl_error_set(FL_E_INVALID,
		                    "Shamir: less than two parts cannot rebuild the data key");
	if (share_len < 2)
		return fl_error_set(FL_E_INVALID, "Shamir: parts must be at least two bytes");
	size_t len = share_len - 1;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (shares[i][len] == shares[j][len])
				return fl_error_set(
				    FL_E_INVALID, "Shamir: two parts have the same x coordinate %u",
				    shares[i][len]);
	/* Lagrange interpolation at x = 0: secret = sum y_i * prod_{j!=i} x_j / (x_i + x_j). */
	for (size_t b = 0; b < len; b++) {
		uint8_t acc = 0;
		for (size_t i = 0; i < n; i++) {
			uint8_t basis = 1;
			for (size_t j = 0; j < n; j++) {
				if (i == j)
					continue;
				uint8_t xi = shares[i][len], xj = shares[j][len];
				basis = gf_mul(basis, gf_mul(xj, gf_inv((uint8_t)(xi ^ xj))));
			}
			acc ^= gf_mul(shares[i][b], basis);
		}
		secret[b] = acc;
	}
	return 0;
}
