#include "age/internal.h"
#include "fleet/base64.h"
#include "fleet/error.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static int crypto_ready;

static void crypto_init_once(void)
{
	crypto_ready = sodium_init() >= 0;
}

int age_crypto_init(void)
{
	pthread_once(&crypto_once, crypto_init_once);
	if (!crypto_ready)
		return fl_error_set(FL_E_CRYPTO, "libsodium failed to initialise");
	return 0;
}

void age_hkdf_sha256(uint8_t *out, size_t outlen, const uint8_t *ikm, size_t ikmlen,
                     const uint8_t *salt, size_t saltlen, const char *info)
{
	static const uint8_t zeros[crypto_auth_hmacsha256_BYTES];
	uint8_t prk[crypto_auth_hmacsha256_BYTES], t[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;

	/* RFC 5869 §2.2: an absent salt is HashLen zero bytes. */
	if (!saltlen) {
		salt = zeros;
		saltlen = sizeof(zeros);
	}
	crypto_auth_hmacsha256_init(&st, salt, saltlen);
	crypto_auth_hmacsha256_update(&st, ikm, ikmlen);
	crypto_auth_hmacsha256_final(&st, prk);

	/* RFC 5869 §2.3: T(i) = HMAC(PRK, T(i-1) | info | i). */
	size_t done = 0, tlen = 0;
	for (uint8_t i = 1; done < outlen; i++) {
		crypto_auth_hmacsha256_init(&st, prk, sizeof(prk));
		crypto_auth_hmacsha256_update(&st, t, tlen);
		crypto_auth_hmacsha256_update(&st, (const uint8_t *)info, strlen(info));
		crypto_auth_hmacsha256_update(&st, &i, 1);
		crypto_auth_hmacsha256_final(&st, t);
		tlen = sizeof(t);
		size_t n = outlen - done < tlen ? outlen - done : tlen;
		memcpy(out + done, t, n);
		done += n;
	}
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(t, sizeof(t));
	sodium_memzero(&st, sizeof(st));
}

void age_aead_seal_zero_nonce(uint8_t out[FL_AGE_FILE_KEY_LEN + AGE_TAG_LEN], const uint8_t key[32],
                              const uint8_t file_key[FL_AGE_FILE_KEY_LEN])
{
	static const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, file_key, FL_AGE_FILE_KEY_LEN, NULL, 0,
	                                          NULL, nonce, key);
}

int age_aead_open_zero_nonce(uint8_t file_key[FL_AGE_FILE_KEY_LEN], const uint8_t key[32],
                             const uint8_t *body, size_t body_len)
{
	static const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	if (body_len != FL_AGE_FILE_KEY_LEN + AGE_TAG_LEN)
		return 1;
	if (crypto_aead_chacha20poly1305_ietf_decrypt(file_key, NULL, NULL, body, body_len, NULL, 0,
	                                              nonce, key) != 0)
		return 1;
	return 0;
}

int age_b64_decode_exact(const char *s, uint8_t *out, size_t want)
{
	size_t n = strlen(s), got;
	/* age: arguments and bodies are canonical base64 without padding. */
	if (fl_b64_encoded_len(want, FL_B64_NOPAD) != n)
		return -1;
	uint8_t tmp[64];
	if (want > sizeof(tmp) - 3)
		return -1;
	if (fl_b64_decode(tmp, &got, s, n, FL_B64_NOPAD) < 0 || got != want) {
		fl_error_clear();
		return -1;
	}
	memcpy(out, tmp, want);
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}
