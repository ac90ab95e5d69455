/*
 * bcrypt_pbkdf (OpenBSD, used by OpenSSH's PROTOCOL.key "bcrypt" kdf) and the
 * eksblowfish primitives it is built on. Internal to the age library.
 */
#ifndef FLEET_AGE_BCRYPT_PBKDF_H
#define FLEET_AGE_BCRYPT_PBKDF_H

#include <stddef.h>
#include <stdint.h>

/* bcrypt_pbkdf as defined by OpenBSD / OpenSSH (used by PROTOCOL.key's "bcrypt" kdf). Returns 0,
 * or -1 with fl_error set for bad params (rounds < 1, passlen 0, keylen 0 or > 1024, saltlen 0 or
 * > 1<<20). Every intermediate secret is wiped before returning. */
int fl_bcrypt_pbkdf(const char *pass, size_t passlen, const uint8_t *salt, size_t saltlen,
                    uint8_t *key, size_t keylen, unsigned int rounds);

#define FL_BLOWFISH_PI_WORDS (18 + 4 * 256)

/* A Blowfish key schedule: 18 subkeys and four 256-entry S-boxes. */
struct fl_blowfish {
	uint32_t P[18];
	uint32_t S[4][256];
};

/* The Blowfish initial state (P-array then S-boxes 0..3) as FL_BLOWFISH_PI_WORDS words: the
 * hexadecimal fractional digits of pi, computed once on first use. NULL with fl_error set if that
 * computation could not allocate memory. */
const uint32_t *fl_blowfish_pi_words(void);

/* Loads the pi initial state into `c`; -1 with fl_error set as for fl_blowfish_pi_words. */
int fl_blowfish_init(struct fl_blowfish *c);

/* eksblowfish ExpandKey(state, salt, key). With datalen 0 this is ExpandKey(state, 0, key), which
 * after fl_blowfish_init is exactly the classic Blowfish key schedule. keylen must be > 0. */
void fl_blowfish_expand(struct fl_blowfish *c, const uint8_t *data, size_t datalen,
                        const uint8_t *key, size_t keylen);

/* Encrypts one 64-bit block given as its big-endian halves. */
void fl_blowfish_encipher(const struct fl_blowfish *c, uint32_t *xl, uint32_t *xr);

#endif
