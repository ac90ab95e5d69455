/*
 * SSH public and private keys as age's ssh-ed25519 and ssh-rsa recipients and
 * identities need them. Internal to the age library.
 *
 * Formats: authorized_keys lines (RFC 4253 §6.6, RFC 8709), OpenSSH private keys
 * (PROTOCOL.key, including bcrypt-encrypted ones) and unencrypted PEM (PKCS#1, PKCS#8).
 */
#ifndef FLEET_AGE_SSH_KEY_H
#define FLEET_AGE_SSH_KEY_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "fleet/buf.h"

enum fl_ssh_key_type { FL_SSH_ED25519 = 1, FL_SSH_RSA = 2 };

struct fl_ssh_pubkey {
	enum fl_ssh_key_type type;
	/* the SSH wire encoding of the public key (RFC 4253 §6.6 / RFC 8709): string "ssh-ed25519"
	 * + string key, or string "ssh-rsa" + mpint e + mpint n */
	struct fl_buf blob;
	uint8_t ed25519[32]; /* FL_SSH_ED25519: the Ed25519 public key */
	EVP_PKEY *rsa;       /* FL_SSH_RSA: the RSA public key (owned) */
};

/* Parses an authorized_keys-style line "ssh-ed25519 AAAA… [comment]" / "ssh-rsa AAAA… [comment]"
 * (no options prefix; one trailing "\n" or "\r\n" is allowed). Strict: the base64 must decode,
 * the blob's type string must match the first word, no trailing bytes in the blob, mpints
 * minimal and positive, RSA modulus 2048..16384 bits with an odd exponent of at most 24 bits.
 * Other key types (ecdsa-…, sk-…, ssh-dss, certificates) give FL_E_UNSUPPORTED naming the type.
 * On failure *out is left zeroed; on success release it with fl_ssh_pubkey_clear. */
int fl_ssh_pubkey_parse(struct fl_ssh_pubkey *out, const char *line);
/* Frees and zeroes *k; a zeroed struct is fine. */
void fl_ssh_pubkey_clear(struct fl_ssh_pubkey *k);

/* SHA-256 of the public blob, first 4 bytes, as age's "tag" (unpadded standard base64: 6 chars)
 * — written into out[7] NUL-terminated. */
void fl_ssh_pubkey_tag(const struct fl_ssh_pubkey *k, char out[7]);

struct fl_ssh_privkey {
	/* always filled by parse, even for an encrypted key (OpenSSH stores it in the clear) */
	struct fl_ssh_pubkey pub;
	int locked;               /* 1: encrypted and not yet unlocked */
	uint8_t ed25519_seed[32]; /* FL_SSH_ED25519 once unlocked: the 32-byte seed (secret) */
	EVP_PKEY *rsa_priv;       /* FL_SSH_RSA once unlocked: the private key (owned) */

	/* Private to ssh_key.c: what fl_ssh_privkey_unlock needs while locked. */
	char *source;            /* the name given to parse, for error messages (owned) */
	int cipher;              /* index into ssh_key.c's cipher table */
	unsigned int kdf_rounds; /* PROTOCOL.key bcrypt kdfoptions: rounds */
	struct fl_buf kdf_salt;  /* PROTOCOL.key bcrypt kdfoptions: salt */
	struct fl_buf sealed;    /* the encrypted private section, then the AEAD tag if any */
};

/* Returns 1 if data looks like an SSH private key file (an "-----BEGIN OPENSSH PRIVATE KEY-----"
 * PEM, or a PEM "-----BEGIN RSA PRIVATE KEY-----" / "-----BEGIN PRIVATE KEY-----" holding RSA or
 * Ed25519), after optional leading whitespace; else 0. Never sets fl_error. */
int fl_ssh_privkey_detect(const char *data, size_t len);

/* Parses an SSH private key file. `source` is a name for error messages (a file path).
 * OpenSSH format (PROTOCOL.key) with exactly one key: unencrypted keys are fully parsed and
 * checked (locked = 0); bcrypt-encrypted keys (aes{128,192,256}-ctr, aes{128,192,256}-cbc,
 * aes{128,256}-gcm@openssh.com, chacha20-poly1305@openssh.com) are only framed (locked = 1, pub
 * filled, nothing decrypted). Unencrypted PEM (PKCS#1 "RSA PRIVATE KEY", PKCS#8 "PRIVATE KEY")
 * holding RSA or Ed25519 is read through OpenSSL, never prompting; encrypted PEM gives
 * FL_E_UNSUPPORTED. Malformed input gives FL_E_INVALID naming `source` and the problem. On failure
 * *out is left zeroed; on success release it with fl_ssh_privkey_clear. */
int fl_ssh_privkey_parse(struct fl_ssh_privkey *out, const char *data, size_t len,
                         const char *source);

/* Decrypts a locked key with a passphrase (bcrypt_pbkdf → key‖iv, then the cipher). A wrong
 * passphrase gives FL_E_INVALID "…: incorrect passphrase" and leaves the key locked, so the caller
 * may ask again. Unlocking an unlocked key is a no-op returning 0. Wipes every intermediate
 * secret. */
int fl_ssh_privkey_unlock(struct fl_ssh_privkey *k, const char *pass, size_t passlen);
/* Wipes secrets, frees, leaves *k zeroed; a zeroed struct is fine. */
void fl_ssh_privkey_clear(struct fl_ssh_privkey *k);

#endif
