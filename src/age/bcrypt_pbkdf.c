/*
 * bcrypt_pbkdf (OpenBSD bcrypt_pbkdf(3), as used by OpenSSH PROTOCOL.key) on top of
 * eksblowfish (Provos & Mazieres, "A Future-Adaptable Password Scheme", 1999).
 */
#include "age/bcrypt_pbkdf.h"

#include "fleet/buf.h"
#include "fleet/error.h"

#include <openssl/bn.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

/* Blowfish: P and S are initialised from pi; 32 bits per word. */
#define PI_FRACTION_BITS (32 * FL_BLOWFISH_PI_WORDS)
/* Each truncated division in the series costs at most one unit in the last place; ~10^4 terms
 * scaled by 16 stay far below 2^64, so 64 guard bits keep every emitted bit exact. */
#define PI_GUARD_BITS 64

static pthread_once_t pi_once = PTHREAD_ONCE_INIT;
static uint32_t pi_words[FL_BLOWFISH_PI_WORDS];
static int pi_ready;

/* sum += sign * floor(2^bits / x^(2k+1)) / (2k+1) for all k: atan(1/x) in fixed point. */
static int atan_inverse_fixed(BIGNUM *sum, BN_ULONG x, int bits, BN_CTX *ctx)
{
	int ok = 0;
	BN_CTX_start(ctx);
	BIGNUM *power = BN_CTX_get(ctx);
	BIGNUM *term = BN_CTX_get(ctx);
	if (!term || !BN_set_word(power, 1) || !BN_lshift(power, power, bits))
		goto out;
	if (BN_div_word(power, x) == (BN_ULONG)-1 || !BN_copy(sum, power))
		goto out;
	for (BN_ULONG k = 1; !BN_is_zero(power); k++) {
		if (BN_div_word(power, x * x) == (BN_ULONG)-1 || !BN_copy(term, power) ||
		    BN_div_word(term, 2 * k + 1) == (BN_ULONG)-1)
			goto out;
		if (!((k & 1) ? BN_sub(sum, sum, term) : BN_add(sum, sum, term)))
			goto out;
	}
	ok = 1;
out:
	BN_CTX_end(ctx);
	return ok;
}

/* Machin: pi = 16 atan(1/5) - 4 atan(1/239); Blowfish takes the fraction's hex digits in order. */
static void compute_pi_words(void)
{
	const int bits = PI_FRACTION_BITS + PI_GUARD_BITS;
	uint8_t be[4 * FL_BLOWFISH_PI_WORDS];
	BN_CTX *ctx = BN_CTX_new();
	if (!ctx)
		return;
	BN_CTX_start(ctx);
	BIGNUM *pi = BN_CTX_get(ctx);
	BIGNUM *a239 = BN_CTX_get(ctx);
	BIGNUM *three = BN_CTX_get(ctx);
	if (!three || !atan_inverse_fixed(pi, 5, bits, ctx) ||
	    !atan_inverse_fixed(a239, 239, bits, ctx))
		goto out;
	if (!BN_lshift(pi, pi, 4) || !BN_lshift(a239, a239, 2) || !BN_sub(pi, pi, a239))
		goto out;
	if (!BN_set_word(three, 3) || !BN_lshift(three, three, bits) || !BN_sub(pi, pi, three) ||
	    !BN_rshift(pi, pi, PI_GUARD_BITS))
		goto out;
	if (BN_is_negative(pi) || BN_bn2binpad(pi, be, sizeof(be)) != (int)sizeof(be))
		goto out;
	for (size_t i = 0; i < FL_BLOWFISH_PI_WORDS; i++)
		pi_words[i] = (uint32_t)be[4 * i] << 24 | (uint32_t)be[4 * i + 1] << 16 |
		              (uint32_t)be[4 * i + 2] << 8 | be[4 * i + 3];
	pi_ready = 1;
out:
	BN_CTX_end(ctx);
	BN_CTX_free(ctx);
}

const uint32_t *fl_blowfish_pi_words(void)
{
	pthread_once(&pi_once, compute_pi_words);
	if (!pi_ready) {
		fl_error_set(FL_E_NOMEM, "out of memory computing the Blowfish constants");
		return NULL;
	}
	return pi_words;
}

int fl_blowfish_init(struct fl_blowfish *c)
{
	const uint32_t *w = fl_blowfish_pi_words();
	if (!w)
		return -1;
	memcpy(c->P, w, sizeof(c->P));
	memcpy(c->S, w + 18, sizeof(c->S));
	return 0;
}

static uint32_t blowfish_f(const struct fl_blowfish *c, uint32_t x)
{
	return ((c->S[0][x >> 24] + c->S[1][(x >> 16) & 0xff]) ^ c->S[2][(x >> 8) & 0xff]) +
	       c->S[3][x & 0xff];
}

void fl_blowfish_encipher(const struct fl_blowfish *c, uint32_t *xl, uint32_t *xr)
{
	uint32_t l = *xl, r = *xr;
	for (int i = 0; i < 16; i += 2) {
		l ^= c->P[i];
		r ^= blowfish_f(c, l);
		r ^= c->P[i + 1];
		l ^= blowfish_f(c, r);
	}
	*xl = r ^ c->P[17];
	*xr = l ^ c->P[16];
}

/* eksblowfish: key and salt are consumed cyclically as big-endian 32-bit words. */
static uint32_t cyclic_word(const uint8_t *data, size_t len, size_t *pos)
{
	uint32_t w = 0;
	for (int i = 0; i < 4; i++) {
		w = w << 8 | data[*pos];
		*pos = (*pos + 1) % len;
	}
	return w;
}

void fl_blowfish_expand(struct fl_blowfish *c, const uint8_t *data, size_t datalen,
                        const uint8_t *key, size_t keylen)
{
	size_t kpos = 0, dpos = 0;
	uint32_t l = 0, r = 0;
	for (int i = 0; i < 18; i++)
		c->P[i] ^= cyclic_word(key, keylen, &kpos);
	for (int i = 0; i < 18; i += 2) {
		if (datalen) {
			l ^= cyclic_word(data, datalen, &dpos);
			r ^= cyclic_word(data, datalen, &dpos);
		}
		fl_blowfish_encipher(c, &l, &r);
		c->P[i] = l;
		c->P[i + 1] = r;
	}
	for (int s = 0; s < 4; s++) {
		for (int i = 0; i < 256; i += 2) {
			if (datalen) {
				l ^= cyclic_word(data, datalen, &dpos);
				r ^= cyclic_word(data, datalen, &dpos);
			}
			fl_blowfish_encipher(c, &l, &r);
			c->S[s][i] = l;
			c->S[s][i + 1] = r;
		}
	}
}

#define BCRYPT_HASH_LEN 32

/* bcrypt_pbkdf(3): the inner hash is eksblowfish with cost 64 over SHA-512 digests, encrypting
 * "OxychromaticBlowfishSwatDynamite" 64 times; output words are stored little-endian. */
static int bcrypt_hash(const uint8_t sha2pass[crypto_hash_sha512_BYTES],
                       const uint8_t sha2salt[crypto_hash_sha512_BYTES],
                       uint8_t out[BCRYPT_HASH_LEN])
{
	static const char magic[BCRYPT_HASH_LEN] = "OxychromaticBlowfishSwatDynamite";
	struct fl_blowfish state;
	uint32_t cdata[BCRYPT_HASH_LEN / 4];
	size_t pos = 0;

	if (fl_blowfish_init(&state) < 0)
		return -1;
	fl_blowfish_expand(&state, sha2salt, crypto_hash_sha512_BYTES, sha2pass,
	                   crypto_hash_sha512_BYTES);
	for (int i = 0; i < 64; i++) {
		fl_blowfish_expand(&state, NULL, 0, sha2salt, crypto_hash_sha512_BYTES);
		fl_blowfish_expand(&state, NULL, 0, sha2pass, crypto_hash_sha512_BYTES);
	}
	for (size_t i = 0; i < BCRYPT_HASH_LEN / 4; i++)
		cdata[i] = cyclic_word((const uint8_t *)magic, sizeof(magic), &pos);
	for (int i = 0; i < 64; i++)
		for (size_t b = 0; b < BCRYPT_HASH_LEN / 4; b += 2)
			fl_blowfish_encipher(&state, &cdata[b], &cdata[b + 1]);
	for (size_t i = 0; i < BCRYPT_HASH_LEN / 4; i++) {
		out[4 * i] = (uint8_t)cdata[i];
		out[4 * i + 1] = (uint8_t)(cdata[i] >> 8);
		out[4 * i + 2] = (uint8_t)(cdata[i] >> 16);
		out[4 * i + 3] = (uint8_t)(cdata[i] >> 24);
	}
	fl_memzero(&state, sizeof(state));
	fl_memzero(cdata, sizeof(cdata));
	return 0;
}

int fl_bcrypt_pbkdf(const char *pass, size_t passlen, const uint8_t *salt, size_t saltlen,
                    uint8_t *key, size_t keylen, unsigned int rounds)
{
	uint8_t sha2pass[crypto_hash_sha512_BYTES], sha2salt[crypto_hash_sha512_BYTES];
	uint8_t out[BCRYPT_HASH_LEN], tmp[BCRYPT_HASH_LEN];
	crypto_hash_sha512_state h;
	int rc = -1;

	if (rounds < 1)
		return fl_error_set(FL_E_INVALID, "bcrypt_pbkdf: rounds must be at least 1");
	if (passlen == 0)
		return fl_error_set(FL_E_INVALID, "bcrypt_pbkdf: the passphrase is empty");
	if (saltlen == 0 || saltlen > (size_t)1 << 20)
		return fl_error_set(FL_E_INVALID,
		                    "bcrypt_pbkdf: salt length %zu is outside 1..1048576", saltlen);
	if (keylen == 0 || keylen > sizeof(out) * sizeof(out))
		return fl_error_set(FL_E_INVALID, "bcrypt_pbkdf: key length %zu is outside 1..%zu",
		                    keylen, sizeof(out) * sizeof(out));

	/* bcrypt_pbkdf(3): output byte i of block `count` lands at key[i * stride + count - 1],
	 * spreading every block across the whole key. */
	const size_t origkeylen = keylen;
	const size_t stride = (keylen + sizeof(out) - 1) / sizeof(out);
	size_t amt = (keylen + stride - 1) / stride;

	crypto_hash_sha512(sha2pass, (const uint8_t *)pass, passlen);
	for (uint32_t count = 1; keylen > 0; count++) {
		const uint8_t countbe[4] = {(uint8_t)(count >> 24), (uint8_t)(count >> 16),
		                            (uint8_t)(count >> 8), (uint8_t)count};
		crypto_hash_sha512_init(&h);
		crypto_hash_sha512_update(&h, salt, saltlen);
		crypto_hash_sha512_update(&h, countbe, sizeof(countbe));
		crypto_hash_sha512_final(&h, sha2salt);
		if (bcrypt_hash(sha2pass, sha2salt, tmp) < 0)
			goto out;
		memcpy(out, tmp, sizeof(out));
		for (unsigned int r = 1; r < rounds; r++) {
			crypto_hash_sha512(sha2salt, tmp, sizeof(tmp));
			if (bcrypt_hash(sha2pass, sha2salt, tmp) < 0)
				goto out;
			for (size_t i = 0; i < sizeof(out); i++)
				out[i] ^= tmp[i];
		}
		amt = amt < keylen ? amt : keylen;
		size_t i;
		for (i = 0; i < amt; i++) {
			size_t dest = i * stride + (count - 1);
			if (dest >= origkeylen)
				break;
			key[dest] = out[i];
		}
		keylen -= i;
	}
	rc = 0;
out:
	fl_memzero(sha2pass, sizeof(sha2pass));
	fl_memzero(sha2salt, sizeof(sha2salt));
	fl_memzero(out, sizeof(out));
	fl_memzero(tmp, sizeof(tmp));
	fl_memzero(&h, sizeof(h));
	return rc;
}
