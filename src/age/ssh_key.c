/*
 * SSH keys for age's ssh-ed25519 and ssh-rsa recipient types: authorized_keys lines,
 * OpenSSH private keys (PROTOCOL.key) and unencrypted PEM private keys.
 *
 * Everything here parses untrusted files: every length is checked against what remains
 * before it is used, and anything not exactly in the format is rejected.
 */
#include "age/ssh_key.h"

#include "age/bcrypt_pbkdf.h"
#include "fleet/error.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ED25519_NAME "ssh-ed25519"
#define RSA_NAME "ssh-rsa"
#define OPENSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OPENSSH_END "-----END OPENSSH PRIVATE KEY-----"
#define PEM_RSA_BEGIN "-----BEGIN RSA PRIVATE KEY-----"
#define PEM_PKCS8_BEGIN "-----BEGIN PRIVATE KEY-----"
/* PROTOCOL.key: the binary key starts with this magic, including its NUL. */
#define OPENSSH_MAGIC "openssh-key-v1"
#define OPENSSH_MAGIC_LEN sizeof(OPENSSH_MAGIC)

/* age: ssh-rsa recipients need a modulus of at least 2048 bits. */
#define RSA_MIN_BITS 2048
/* OpenSSH refuses moduli above 16384 bits (SSH_RSA_MAXIMUM_MODULUS_SIZE). */
#define RSA_MAX_BITS 16384
/* age's reference implementation (Go x/crypto/ssh) rejects RSA exponents above 24 bits. */
#define RSA_MAX_E_BITS 24
/* RFC 4251 §5: an mpint of RSA_MAX_BITS bits takes at most this many bytes with its sign byte. */
#define MPINT_MAX_BYTES (RSA_MAX_BITS / 8 + 1)

enum cipher_kind { CIPHER_NONE, CIPHER_EVP, CIPHER_EVP_GCM, CIPHER_CHACHAPOLY };

struct ssh_cipher {
	const char *name;
	enum cipher_kind kind;
	const EVP_CIPHER *(*evp)(void);
	size_t keylen, ivlen, blocksize, authlen;
};

/* PROTOCOL.key ciphernames, with OpenSSH's key, IV, block and tag sizes (cipher.c). */
static const struct ssh_cipher ciphers[] = {
    {"none", CIPHER_NONE, NULL, 0, 0, 8, 0},
    {"aes128-ctr", CIPHER_EVP, EVP_aes_128_ctr, 16, 16, 16, 0},
    {"aes192-ctr", CIPHER_EVP, EVP_aes_192_ctr, 24, 16, 16, 0},
    {"aes256-ctr", CIPHER_EVP, EVP_aes_256_ctr, 32, 16, 16, 0},
    {"aes128-cbc", CIPHER_EVP, EVP_aes_128_cbc, 16, 16, 16, 0},
    {"aes192-cbc", CIPHER_EVP, EVP_aes_192_cbc, 24, 16, 16, 0},
    {"aes256-cbc", CIPHER_EVP, EVP_aes_256_cbc, 32, 16, 16, 0},
    {"aes128-gcm@openssh.com", CIPHER_EVP_GCM, EVP_aes_128_gcm, 16, 12, 16, 16},
    {"aes256-gcm@openssh.com", CIPHER_EVP_GCM, EVP_aes_256_gcm, 32, 12, 16, 16},
    {"chacha20-poly1305@openssh.com", CIPHER_CHACHAPOLY, NULL, 64, 0, 8, 16},
};

/* A bounds-checked reader over SSH wire data (RFC 4251 §5). */
struct wire {
	const uint8_t *p;
	size_t len;
	const char *ctx; /* names the input in error messages */
};

static int wire_truncated(const struct wire *w, const char *what)
{
	return fl_error_set(FL_E_INVALID, "%s: truncated or corrupted key: %s runs past the end",
	                    w->ctx, what);
}

static int wire_u32(struct wire *w, uint32_t *v, const char *what)
{
	if (w->len < 4)
		return wire_truncated(w, what);
	*v = (uint32_t)w->p[0] << 24 | (uint32_t)w->p[1] << 16 | (uint32_t)w->p[2] << 8 | w->p[3];
	w->p += 4;
	w->len -= 4;
	return 0;
}

/* RFC 4251 §5: string = uint32 length, then that many bytes. */
static int wire_string(struct wire *w, const uint8_t **s, size_t *n, const char *what)
{
	uint32_t len = 0;
	if (wire_u32(w, &len, what) < 0)
		return -1;
	if (len > w->len)
		return wire_truncated(w, what);
	*s = w->p;
	*n = len;
	w->p += len;
	w->len -= len;
	return 0;
}

static int wire_end(const struct wire *w, const char *what)
{
	if (w->len)
		return fl_error_set(FL_E_INVALID, "%s: %zu unexpected bytes after %s", w->ctx,
		                    w->len, what);
	return 0;
}

static int bytes_eq(const uint8_t *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* Untrusted names are shown in error messages as printable ASCII, at most SHOWN_MAX bytes. */
#define SHOWN_MAX 48
#define SHOWN_SIZE (SHOWN_MAX + sizeof("..."))

static const char *printable(char out[SHOWN_SIZE], const uint8_t *s, size_t n)
{
	size_t i;
	for (i = 0; i < n && i < SHOWN_MAX; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	if (i < n) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/* RFC 4251 §5: mpint is two's complement, big-endian, without unnecessary leading bytes. RSA
 * values are never negative. `secret` values go in OpenSSL's secure heap and are wiped on free. */
static int wire_mpint(struct wire *w, BIGNUM **out, int secret, const char *what)
{
	const uint8_t *s = NULL;
	size_t n = 0;
	*out = NULL;
	if (wire_string(w, &s, &n, what) < 0)
		return -1;
	if (n > MPINT_MAX_BYTES)
		return fl_error_set(FL_E_INVALID, "%s: %s is larger than %d bits", w->ctx, what,
		                    RSA_MAX_BITS);
	if (n && (s[0] & 0x80))
		return fl_error_set(FL_E_INVALID, "%s: %s is negative", w->ctx, what);
	if (n && s[0] == 0 && (n == 1 || !(s[1] & 0x80)))
		return fl_error_set(FL_E_INVALID, "%s: %s has an unnecessary leading zero byte",
		                    w->ctx, what);
	BIGNUM *bn = secret ? BN_secure_new() : BN_new();
	if (!bn || !BN_bin2bn(s, (int)n, bn)) {
		BN_clear_free(bn);
		return fl_error_set(FL_E_NOMEM, "%s: out of memory reading %s", w->ctx, what);
	}
	*out = bn;
	return 0;
}

static int put_u32(struct fl_buf *b, uint32_t v)
{
	const uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
	                       (uint8_t)v};
	return fl_buf_put(b, be, sizeof(be));
}

static int put_string(struct fl_buf *b, const void *s, size_t n)
{
	if (n > UINT32_MAX)
		return fl_error_set(FL_E_INVALID, "SSH string too long");
	if (put_u32(b, (uint32_t)n) < 0)
		return -1;
	return fl_buf_put(b, s, n);
}

/* RFC 4251 §5: a positive mpint whose top bit is set gets a leading zero byte. */
static int put_mpint(struct fl_buf *b, const BIGNUM *bn)
{
	int n = BN_num_bytes(bn);
	uint8_t *tmp = malloc((size_t)n + 1);
	if (!tmp)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	tmp[0] = 0;
	BN_bn2bin(bn, tmp + 1);
	size_t skip = n > 0 && (tmp[1] & 0x80) ? 0 : 1;
	int rc = put_string(b, tmp + skip, (size_t)n + 1 - skip);
	free(tmp);
	return rc;
}

/* The most recent OpenSSL reason, for messages; the caller clears the queue. */
static const char *openssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	return r ? r : "unknown error";
}

static int openssl_failed(const char *ctx, const char *what)
{
	fl_error_set(FL_E_CRYPTO, "%s: %s failed (OpenSSL: %s)", ctx, what, openssl_reason());
	ERR_clear_error();
	return -1;
}

/* RSA public checks shared by authorized_keys lines, OpenSSH and PEM keys. */
static int rsa_check_public(const BIGNUM *n, const BIGNUM *e, const char *ctx)
{
	int bits = BN_num_bits(n);
	if (bits < RSA_MIN_BITS)
		return fl_error_set(FL_E_INVALID,
		                    "%s: RSA key is %d bits; age requires at least %d (use an "
		                    "ssh-ed25519 key or a larger RSA key)",
		                    ctx, bits, RSA_MIN_BITS);
	if (bits > RSA_MAX_BITS)
		return fl_error_set(FL_E_INVALID,
		                    "%s: RSA key is %d bits; at most %d are supported", ctx, bits,
		                    RSA_MAX_BITS);
	if (!BN_is_odd(n))
		return fl_error_set(FL_E_INVALID, "%s: RSA modulus is even (corrupted key)", ctx);
	if (!BN_is_odd(e) || BN_num_bits(e) < 2 || BN_num_bits(e) > RSA_MAX_E_BITS)
		return fl_error_set(
		    FL_E_INVALID,
		    "%s: RSA public exponent must be odd, at least 3 and at most %d "
		    "bits",
		    ctx, RSA_MAX_E_BITS);
	return 0;
}

/* Builds an RSA EVP_PKEY: public if d is NULL, else the full CRT key pair. */
static int rsa_build(EVP_PKEY **out, const BIGNUM *n, const BIGNUM *e, const BIGNUM *d,
                     const BIGNUM *p, const BIGNUM *q, const BIGNUM *dmp1, const BIGNUM *dmq1,
                     const BIGNUM *iqmp, const char *ctx)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int rc = -1;

	*out = NULL;
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto fail;
	if (d && (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
	          !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
	          !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
	          !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dmp1) ||
	          !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dmq1) ||
	          !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, iqmp)))
		goto fail;
	params = OSSL_PARAM_BLD_to_param(bld);
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !pctx || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, out, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	openssl_failed(ctx, "building the RSA key");
out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params); /* wipes the secure-heap copies of the private values */
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

/* RFC 4253 §6.6 / RFC 8709: the public key blob. `want` (may be NULL) is the type the
 * surrounding format announced. Fills type, blob, ed25519 or rsa. */
static int pubkey_from_blob(struct fl_ssh_pubkey *out, const uint8_t *blob, size_t len,
                            const char *want, const char *ctx)
{
	struct wire w = {blob, len, ctx};
	const uint8_t *type, *key;
	size_t typelen, keylen;
	char shown[SHOWN_SIZE];
	BIGNUM *e = NULL, *n = NULL;

	memset(out, 0, sizeof(*out));
	if (wire_string(&w, &type, &typelen, "the public key type") < 0)
		return -1;
	if (want && !bytes_eq(type, typelen, want))
		return fl_error_set(FL_E_INVALID,
		                    "%s: the key says it is \"%s\" but its encoded type is \"%s\"",
		                    ctx, want, printable(shown, type, typelen));
	if (bytes_eq(type, typelen, ED25519_NAME)) {
		/* RFC 8709 §4: string "ssh-ed25519", string key (32 bytes). */
		if (wire_string(&w, &key, &keylen, "the Ed25519 public key") < 0)
			return -1;
		if (keylen != sizeof(out->ed25519))
			return fl_error_set(FL_E_INVALID,
			                    "%s: Ed25519 public key is %zu bytes, not 32", ctx,
			                    keylen);
		if (wire_end(&w, "the Ed25519 public key") < 0)
			return -1;
		out->type = FL_SSH_ED25519;
		memcpy(out->ed25519, key, keylen);
	} else if (bytes_eq(type, typelen, RSA_NAME)) {
		/* RFC 4253 §6.6: string "ssh-rsa", mpint e, mpint n. */
		if (wire_mpint(&w, &e, 0, "the RSA public exponent") < 0 ||
		    wire_mpint(&w, &n, 0, "the RSA modulus") < 0 ||
		    wire_end(&w, "the RSA public key") < 0 || rsa_check_public(n, e, ctx) < 0 ||
		    rsa_build(&out->rsa, n, e, NULL, NULL, NULL, NULL, NULL, NULL, ctx) < 0)
			goto fail;
		out->type = FL_SSH_RSA;
	} else {
		return fl_error_set(FL_E_UNSUPPORTED,
		                    "%s: unsupported SSH key type \"%s\" (age supports ssh-ed25519 "
		                    "and ssh-rsa)",
		                    ctx, printable(shown, type, typelen));
	}
	if (fl_buf_put(&out->blob, blob, len) < 0)
		goto fail;
	BN_free(e);
	BN_free(n);
	return 0;
fail:
	BN_free(e);
	BN_free(n);
	fl_ssh_pubkey_clear(out);
	return -1;
}

/* Standard base64 with padding (RFC 4648 §4); `ignore` lists the characters allowed between
 * groups (PEM line breaks). */
static int base64_decode(struct fl_buf *out, const char *b64, size_t len, const char *ignore,
                         const char *ctx)
{
	size_t binlen;
	if (fl_buf_grow(out, len / 4 * 3 + 3) < 0)
		return -1;
	if (len == 0 ||
	    sodium_base642bin((unsigned char *)out->ptr, out->cap - 1, b64, len, ignore, &binlen,
	                      NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    binlen == 0)
		return fl_error_set(FL_E_INVALID, "%s: the key data is not valid base64", ctx);
	out->len = binlen;
	out->ptr[binlen] = '\0';
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* OpenSSH key type names age does not support: ECDSA, FIDO, DSA and certificates. */
static int looks_like_ssh_key_type(const char *s, size_t n)
{
	static const char *const prefixes[] = {"ecdsa-sha2-", "sk-", "ssh-", "rsa-sha2-"};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (n > strlen(prefixes[i]) && memcmp(s, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

int fl_ssh_pubkey_parse(struct fl_ssh_pubkey *out, const char *line)
{
	const char *ctx = "SSH public key";
	struct fl_buf blob = FL_BUF_INIT;
	char shown[SHOWN_SIZE];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	const char *type = line;
	while (is_blank(*type))
		type++;
	size_t typelen = 0;
	while (type[typelen] && !is_blank(type[typelen]) && type[typelen] != '\n' &&
	       type[typelen] != '\r')
		typelen++;
	const char *b64 = type + typelen;
	while (is_blank(*b64))
		b64++;
	size_t b64len = 0;
	while (b64[b64len] && !is_blank(b64[b64len]) && b64[b64len] != '\n' && b64[b64len] != '\r')
		b64len++;
	/* authorized_keys: one key per line; the comment runs to the end of the line. */
	const char *nl = strpbrk(b64 + b64len, "\r\n");
	if (nl && strcmp(nl, "\n") != 0 && strcmp(nl, "\r\n") != 0)
		return fl_error_set(FL_E_INVALID, "%s: expected a single line", ctx);

	const int known =
	    (typelen == strlen(ED25519_NAME) && !memcmp(type, ED25519_NAME, typelen)) ||
	    (typelen == strlen(RSA_NAME) && !memcmp(type, RSA_NAME, typelen));
	if (!known && looks_like_ssh_key_type(type, typelen))
		return fl_error_set(FL_E_UNSUPPORTED,
		                    "%s: unsupported SSH key type \"%s\" (age supports ssh-ed25519 "
		                    "and ssh-rsa)",
		                    ctx, printable(shown, (const uint8_t *)type, typelen));
	if (!known || b64len == 0)
		return fl_error_set(FL_E_INVALID,
		                    "%s: expected \"ssh-ed25519 AAAA...\" or \"ssh-rsa AAAA...\", "
		                    "got \"%s\"",
		                    ctx, printable(shown, (const uint8_t *)type, typelen));
	if (base64_decode(&blob, b64, b64len, NULL, ctx) < 0)
		goto out;
	char want[sizeof(ED25519_NAME)];
	memcpy(want, type, typelen);
	want[typelen] = '\0';
	rc = pubkey_from_blob(out, (const uint8_t *)blob.ptr, blob.len, want, ctx);
out:
	fl_buf_free(&blob);
	return rc;
}

void fl_ssh_pubkey_clear(struct fl_ssh_pubkey *k)
{
	fl_buf_free(&k->blob);
	EVP_PKEY_free(k->rsa);
	memset(k, 0, sizeof(*k));
}

void fl_ssh_pubkey_tag(const struct fl_ssh_pubkey *k, char out[7])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	/* age ssh-ed25519 / ssh-rsa: tag = first 4 bytes of SHA-256(SSH public key blob). */
	crypto_hash_sha256(h, (const uint8_t *)k->blob.ptr, k->blob.len);
	sodium_bin2base64(out, 7, h, 4, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

static int has_prefix(const char *p, const char *end, const char *prefix)
{
	size_t n = strlen(prefix);
	return (size_t)(end - p) >= n && memcmp(p, prefix, n) == 0;
}

static int refuse_passphrase(char *buf, int size, int rwflag, void *asked)
{
	*(int *)asked = 1;
	return -1;
}

/* Reads the first PEM private key in data with OpenSSL, never prompting. *encrypted is set when
 * the key needed a passphrase. Does not set fl_error; leaves the OpenSSL queue for the caller. */
static EVP_PKEY *pem_read_private(const char *data, size_t len, int *encrypted)
{
	*encrypted = 0;
	if (len > INT32_MAX)
		return NULL;
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	if (!bio)
		return NULL;
	EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, refuse_passphrase, encrypted);
	BIO_free(bio);
	return pk;
}

int fl_ssh_privkey_detect(const char *data, size_t len)
{
	const char *end = data + len;
	const char *p = skip_space(data, end);
	if (has_prefix(p, end, OPENSSH_BEGIN) || has_prefix(p, end, PEM_RSA_BEGIN))
		return 1;
	if (!has_prefix(p, end, PEM_PKCS8_BEGIN))
		return 0;
	int encrypted, id = 0;
	EVP_PKEY *pk = pem_read_private(p, (size_t)(end - p), &encrypted);
	if (pk)
		id = EVP_PKEY_get_base_id(pk);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return id == EVP_PKEY_RSA || id == EVP_PKEY_ED25519;
}

/* The RSA private values of PROTOCOL.key's "ssh-rsa" private key. */
struct rsa_secret {
	BIGNUM *n, *e, *d, *iqmp, *p, *q;
};

static void rsa_secret_free(struct rsa_secret *s)
{
	BN_free(s->n);
	BN_free(s->e);
	BN_clear_free(s->d);
	BN_clear_free(s->iqmp);
	BN_clear_free(s->p);
	BN_clear_free(s->q);
}

/* Checks that p, q, d and iqmp belong to (n, e) — a corrupted or tampered file must not yield a
 * key that decrypts wrongly — and builds the OpenSSL key with dmp1 = d mod (p-1), dmq1 = d mod
 * (q-1). */
static int rsa_private_build(EVP_PKEY **out, const struct rsa_secret *s, const char *ctx)
{
	BN_CTX *bnctx = BN_CTX_secure_new();
	const char *bad = NULL;
	int rc = -1;

	*out = NULL;
	if (!bnctx)
		return fl_error_set(FL_E_NOMEM, "%s: out of memory", ctx);
	BN_CTX_start(bnctx);
	BIGNUM *t = BN_CTX_get(bnctx);
	BIGNUM *p1 = BN_CTX_get(bnctx);
	BIGNUM *q1 = BN_CTX_get(bnctx);
	BIGNUM *dmp1 = BN_CTX_get(bnctx);
	BIGNUM *dmq1 = BN_CTX_get(bnctx);
	if (!dmq1)
		goto crypto;
	if (BN_cmp(s->p, BN_value_one()) <= 0 || BN_cmp(s->q, BN_value_one()) <= 0) {
		bad = "p and q must exceed 1";
		goto invalid;
	}
	if (!BN_mul(t, s->p, s->q, bnctx))
		goto crypto;
	if (BN_cmp(t, s->n) != 0) {
		bad = "p*q != n";
		goto invalid;
	}
	if (!BN_sub(p1, s->p, BN_value_one()) || !BN_sub(q1, s->q, BN_value_one()) ||
	    !BN_mod(dmp1, s->d, p1, bnctx) || !BN_mod(dmq1, s->d, q1, bnctx))
		goto crypto;
	if (!BN_mod_mul(t, s->e, dmp1, p1, bnctx))
		goto crypto;
	if (!BN_is_one(t)) {
		bad = "d is not the inverse of e mod p-1";
		goto invalid;
	}
	if (!BN_mod_mul(t, s->e, dmq1, q1, bnctx))
		goto crypto;
	if (!BN_is_one(t)) {
		bad = "d is not the inverse of e mod q-1";
		goto invalid;
	}
	if (!BN_mod_mul(t, s->iqmp, s->q, s->p, bnctx))
		goto crypto;
	if (!BN_is_one(t)) {
		bad = "iqmp is not the inverse of q mod p";
		goto invalid;
	}
	rc = rsa_build(out, s->n, s->e, s->d, s->p, s->q, dmp1, dmq1, s->iqmp, ctx);
	goto out;
invalid:
	fl_error_set(FL_E_INVALID, "%s: RSA private key is inconsistent: %s (corrupted key)", ctx,
	             bad);
	goto out;
crypto:
	openssl_failed(ctx, "checking the RSA key");
out:
	BN_CTX_end(bnctx);
	BN_CTX_free(bnctx);
	return rc;
}

/* PROTOCOL.key private section: uint32 checkint1, uint32 checkint2, the key, string comment,
 * padding 1, 2, 3, ... up to the cipher's block size. Commits to k only on success. */
static int parse_private_section(struct fl_ssh_privkey *k, const uint8_t *sec, size_t len,
                                 size_t blocksize, int decrypted)
{
	struct wire w = {sec, len, k->source};
	struct rsa_secret rsa = {0};
	uint8_t derived_pk[crypto_sign_PUBLICKEYBYTES], derived_sk[crypto_sign_SECRETKEYBYTES];
	uint8_t seed[32];
	const uint8_t *type, *s;
	size_t typelen, n;
	uint32_t check1 = 0, check2 = 0;
	EVP_PKEY *rsa_priv = NULL;
	int rc = -1;

	if (wire_u32(&w, &check1, "checkint1") < 0 || wire_u32(&w, &check2, "checkint2") < 0)
		return -1;
	/* PROTOCOL.key: checkint1 must equal checkint2; after decryption a mismatch means the
	 * key (the passphrase) was wrong. */
	if (check1 != check2)
		return fl_error_set(FL_E_INVALID,
		                    decrypted ? "%s: incorrect passphrase"
		                              : "%s: checkint mismatch (corrupted key)",
		                    k->source);
	if (wire_string(&w, &type, &typelen, "the private key type") < 0)
		return -1;
	/* PROTOCOL.key: the private key must be the one the public key section announced. */
	const char *want = k->pub.type == FL_SSH_ED25519 ? ED25519_NAME : RSA_NAME;
	if (!bytes_eq(type, typelen, want)) {
		char shown[SHOWN_SIZE];
		return fl_error_set(
		    FL_E_INVALID,
		    "%s: private key type \"%s\" does not match the public key type "
		    "\"%s\" (corrupted key)",
		    k->source, printable(shown, type, typelen), want);
	}

	if (k->pub.type == FL_SSH_ED25519) {
		/* OpenSSH ssh-ed25519 private key: string pk (32), string sk (64) = seed || pk. */
		if (wire_string(&w, &s, &n, "the Ed25519 public key") < 0)
			goto out;
		if (n != 32 || sodium_memcmp(s, k->pub.ed25519, 32) != 0) {
			fl_error_set(FL_E_INVALID,
			             "%s: the private section's Ed25519 public key does not match "
			             "the public key (corrupted key)",
			             k->source);
			goto out;
		}
		if (wire_string(&w, &s, &n, "the Ed25519 private key") < 0)
			goto out;
		if (n != 64) {
			fl_error_set(FL_E_INVALID,
			             "%s: Ed25519 private key is %zu bytes, not 64 (corrupted key)",
			             k->source, n);
			goto out;
		}
		memcpy(seed, s, 32);
		crypto_sign_seed_keypair(derived_pk, derived_sk, seed);
		/* RFC 8032 §5.1.5: the public key is derived from the seed; both copies stored in
		 * the file must be that key. */
		if (sodium_memcmp(s + 32, k->pub.ed25519, 32) != 0 ||
		    sodium_memcmp(derived_pk, k->pub.ed25519, 32) != 0) {
			fl_error_set(FL_E_INVALID,
			             "%s: the Ed25519 private key does not match its public key "
			             "(corrupted key)",
			             k->source);
			goto out;
		}
	} else {
		/* OpenSSH ssh-rsa private key: mpint n, e, d, iqmp, p, q. */
		if (wire_mpint(&w, &rsa.n, 0, "the RSA modulus") < 0 ||
		    wire_mpint(&w, &rsa.e, 0, "the RSA public exponent") < 0 ||
		    wire_mpint(&w, &rsa.d, 1, "the RSA private exponent") < 0 ||
		    wire_mpint(&w, &rsa.iqmp, 1, "the RSA CRT coefficient") < 0 ||
		    wire_mpint(&w, &rsa.p, 1, "the RSA prime p") < 0 ||
		    wire_mpint(&w, &rsa.q, 1, "the RSA prime q") < 0)
			goto out;
		BIGNUM *pn = NULL, *pe = NULL;
		if (!EVP_PKEY_get_bn_param(k->pub.rsa, OSSL_PKEY_PARAM_RSA_N, &pn) ||
		    !EVP_PKEY_get_bn_param(k->pub.rsa, OSSL_PKEY_PARAM_RSA_E, &pe)) {
			BN_free(pn);
			openssl_failed(k->source, "reading the RSA public key");
			goto out;
		}
		int same = BN_cmp(pn, rsa.n) == 0 && BN_cmp(pe, rsa.e) == 0;
		BN_free(pn);
		BN_free(pe);
		if (!same) {
			fl_error_set(FL_E_INVALID,
			             "%s: the private section's RSA public key does not match the "
			             "public key (corrupted key)",
			             k->source);
			goto out;
		}
	}
	if (wire_string(&w, &s, &n, "the comment") < 0)
		goto out;
	/* PROTOCOL.key: padding bytes are 1, 2, 3, ... and only fill up the last cipher block. */
	if (w.len >= blocksize) {
		fl_error_set(FL_E_INVALID, "%s: %zu unexpected bytes after the comment", k->source,
		             w.len);
		goto out;
	}
	for (size_t i = 0; i < w.len; i++) {
		if (w.p[i] != (uint8_t)(i + 1)) {
			fl_error_set(
			    FL_E_INVALID, "%s: bad padding after the private key (%s)", k->source,
			    decrypted ? "incorrect passphrase or corrupted key" : "corrupted key");
			goto out;
		}
	}
	if (k->pub.type == FL_SSH_RSA && rsa_private_build(&rsa_priv, &rsa, k->source) < 0)
		goto out;

	if (k->pub.type == FL_SSH_ED25519)
		memcpy(k->ed25519_seed, seed, sizeof(seed));
	k->rsa_priv = rsa_priv;
	k->locked = 0;
	rc = 0;
out:
	rsa_secret_free(&rsa);
	fl_memzero(seed, sizeof(seed));
	fl_memzero(derived_sk, sizeof(derived_sk));
	return rc;
}

static int find_cipher(const uint8_t *name, size_t n)
{
	for (size_t i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		if (bytes_eq(name, n, ciphers[i].name))
			return (int)i;
	return -1;
}

/* PROTOCOL.key binary layout: "openssh-key-v1\0", string ciphername, string kdfname, string
 * kdfoptions, uint32 nkeys, string publickey, string encrypted private section (+ AEAD tag). */
static int parse_openssh_binary(struct fl_ssh_privkey *k, const uint8_t *bin, size_t len)
{
	struct wire w = {bin, len, k->source};
	const uint8_t *cname, *kname, *kopts, *pub, *sec;
	size_t cnamelen, knamelen, koptslen, publen, seclen;
	uint32_t nkeys = 0;
	char shown[SHOWN_SIZE];

	if (len < OPENSSH_MAGIC_LEN || memcmp(bin, OPENSSH_MAGIC, OPENSSH_MAGIC_LEN) != 0)
		return fl_error_set(FL_E_INVALID, "%s: not an OpenSSH private key: bad magic",
		                    k->source);
	w.p += OPENSSH_MAGIC_LEN;
	w.len -= OPENSSH_MAGIC_LEN;
	if (wire_string(&w, &cname, &cnamelen, "the cipher name") < 0 ||
	    wire_string(&w, &kname, &knamelen, "the kdf name") < 0 ||
	    wire_string(&w, &kopts, &koptslen, "the kdf options") < 0 ||
	    wire_u32(&w, &nkeys, "the number of keys") < 0)
		return -1;
	if (nkeys != 1)
		return fl_error_set(
		    FL_E_INVALID,
		    "%s: holds %u keys; only files with exactly one key are supported", k->source,
		    nkeys);
	if (wire_string(&w, &pub, &publen, "the public key") < 0 ||
	    wire_string(&w, &sec, &seclen, "the private section") < 0)
		return -1;
	if (pubkey_from_blob(&k->pub, pub, publen, NULL, k->source) < 0)
		return -1;

	int ci = find_cipher(cname, cnamelen);
	if (ci < 0)
		return fl_error_set(
		    FL_E_UNSUPPORTED,
		    "%s: the key is encrypted with cipher \"%s\", which is not "
		    "supported; re-encrypt it with ssh-keygen -p -Z aes256-ctr -f %s",
		    k->source, printable(shown, cname, cnamelen), k->source);
	const struct ssh_cipher *c = &ciphers[ci];
	/* PROTOCOL.key: an AEAD cipher's tag follows the private section; nothing else may. */
	if (w.len != c->authlen)
		return fl_error_set(FL_E_INVALID,
		                    w.len < c->authlen ? "%s: truncated key: the %s tag is missing"
		                                       : "%s: unexpected bytes after the private "
		                                         "section (%s)",
		                    k->source, c->name);
	/* PROTOCOL.key: the private section is padded to the cipher's block size. */
	if (seclen == 0 || seclen % c->blocksize != 0)
		return fl_error_set(FL_E_INVALID,
		                    "%s: the private section (%zu bytes) is not a whole number of "
		                    "%zu-byte blocks (corrupted key)",
		                    k->source, seclen, c->blocksize);

	if (c->kind == CIPHER_NONE) {
		/* PROTOCOL.key: unencrypted keys use kdfname "none" with empty kdfoptions. */
		if (!bytes_eq(kname, knamelen, "none") || koptslen != 0)
			return fl_error_set(FL_E_INVALID,
			                    "%s: unencrypted key with kdf \"%s\" (corrupted key)",
			                    k->source, printable(shown, kname, knamelen));
		return parse_private_section(k, sec, seclen, c->blocksize, 0);
	}

	/* PROTOCOL.key: an encrypted key names the kdf that derives its cipher key. */
	if (bytes_eq(kname, knamelen, "none"))
		return fl_error_set(FL_E_INVALID,
		                    "%s: encrypted with %s but no kdf (corrupted key)", k->source,
		                    c->name);
	if (!bytes_eq(kname, knamelen, "bcrypt"))
		return fl_error_set(FL_E_UNSUPPORTED,
		                    "%s: the key uses kdf \"%s\"; only OpenSSH's \"bcrypt\" is "
		                    "supported",
		                    k->source, printable(shown, kname, knamelen));
	/* PROTOCOL.key bcrypt kdfoptions: string salt, uint32 rounds. */
	struct wire o = {kopts, koptslen, k->source};
	const uint8_t *salt;
	size_t saltlen;
	uint32_t rounds = 0;
	if (wire_string(&o, &salt, &saltlen, "the bcrypt salt") < 0 ||
	    wire_u32(&o, &rounds, "the bcrypt rounds") < 0 || wire_end(&o, "the kdf options") < 0)
		return -1;
	if (saltlen == 0 || saltlen > (size_t)1 << 20 || rounds == 0)
		return fl_error_set(FL_E_INVALID,
		                    "%s: bcrypt salt of %zu bytes with %u rounds is not usable "
		                    "(corrupted key)",
		                    k->source, saltlen, rounds);
	k->cipher = ci;
	k->kdf_rounds = rounds;
	k->locked = 1;
	if (fl_buf_put(&k->kdf_salt, salt, saltlen) < 0 ||
	    fl_buf_put(&k->sealed, sec, seclen + c->authlen) < 0)
		return -1;
	return 0;
}

/* The OpenSSH armor: BEGIN line, base64 lines, END line, then only whitespace. */
static int parse_openssh(struct fl_ssh_privkey *k, const char *p, const char *end)
{
	struct fl_buf bin = FL_BUF_SECRET;
	int rc = -1;

	p += strlen(OPENSSH_BEGIN);
	if (p < end && *p == '\r')
		p++;
	if (p >= end || *p != '\n')
		return fl_error_set(FL_E_INVALID,
		                    "%s: the BEGIN OPENSSH PRIVATE KEY line must end the line",
		                    k->source);
	const char *body = p + 1;
	const char *tail = memmem(body, (size_t)(end - body), OPENSSH_END, strlen(OPENSSH_END));
	if (!tail)
		return fl_error_set(FL_E_INVALID, "%s: truncated key: no \"" OPENSSH_END "\" line",
		                    k->source);
	if (tail == body || tail[-1] != '\n')
		return fl_error_set(FL_E_INVALID, "%s: the END line must start a line", k->source);
	if (skip_space(tail + strlen(OPENSSH_END), end) != end)
		return fl_error_set(FL_E_INVALID, "%s: unexpected data after the END line",
		                    k->source);
	if (base64_decode(&bin, body, (size_t)(tail - body), " \t\r\n", k->source) == 0)
		rc = parse_openssh_binary(k, (const uint8_t *)bin.ptr, bin.len);
	fl_buf_free(&bin);
	return rc;
}

/* PEM via OpenSSL: PKCS#1 "RSA PRIVATE KEY" and PKCS#8 "PRIVATE KEY". */
static int parse_pem(struct fl_ssh_privkey *k, const char *p, const char *end)
{
	struct fl_buf blob = FL_BUF_INIT;
	BIGNUM *n = NULL, *e = NULL;
	int encrypted, rc = -1;

	EVP_PKEY *pk = pem_read_private(p, (size_t)(end - p), &encrypted);
	if (!pk) {
		if (encrypted)
			fl_error_set(FL_E_UNSUPPORTED,
			             "%s: encrypted PEM private keys are not supported; convert it "
			             "to the OpenSSH format with ssh-keygen -p -f %s",
			             k->source, k->source);
		else
			fl_error_set(FL_E_INVALID, "%s: not a valid PEM private key (OpenSSL: %s)",
			             k->source, openssl_reason());
		ERR_clear_error();
		return -1;
	}
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_ED25519: {
		uint8_t pkbytes[32];
		size_t seedlen = sizeof(k->ed25519_seed), pklen = sizeof(pkbytes);
		if (EVP_PKEY_get_raw_private_key(pk, k->ed25519_seed, &seedlen) <= 0 ||
		    EVP_PKEY_get_raw_public_key(pk, pkbytes, &pklen) <= 0 || seedlen != 32 ||
		    pklen != 32) {
			openssl_failed(k->source, "reading the Ed25519 key");
			goto out;
		}
		/* RFC 8709 §4: string "ssh-ed25519", string key. */
		if (put_string(&blob, ED25519_NAME, strlen(ED25519_NAME)) < 0 ||
		    put_string(&blob, pkbytes, pklen) < 0)
			goto out;
		break;
	}
	case EVP_PKEY_RSA: {
		EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
		int ok = check && EVP_PKEY_pairwise_check(check) > 0;
		EVP_PKEY_CTX_free(check);
		if (!ok) {
			fl_error_set(FL_E_INVALID,
			             "%s: RSA private key is inconsistent (corrupted key; OpenSSL: "
			             "%s)",
			             k->source, openssl_reason());
			ERR_clear_error();
			goto out;
		}
		if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) ||
		    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e)) {
			openssl_failed(k->source, "reading the RSA key");
			goto out;
		}
		/* RFC 4253 §6.6: string "ssh-rsa", mpint e, mpint n. */
		if (put_string(&blob, RSA_NAME, strlen(RSA_NAME)) < 0 || put_mpint(&blob, e) < 0 ||
		    put_mpint(&blob, n) < 0)
			goto out;
		break;
	}
	default:
		fl_error_set(FL_E_UNSUPPORTED,
		             "%s: %s private keys are not supported (age supports ssh-ed25519 and "
		             "ssh-rsa)",
		             k->source, EVP_PKEY_get0_type_name(pk));
		goto out;
	}
	if (pubkey_from_blob(&k->pub, (const uint8_t *)blob.ptr, blob.len, NULL, k->source) < 0)
		goto out;
	if (k->pub.type == FL_SSH_RSA) {
		k->rsa_priv = pk;
		pk = NULL;
	}
	rc = 0;
out:
	EVP_PKEY_free(pk);
	BN_free(n);
	BN_free(e);
	fl_buf_free(&blob);
	return rc;
}

int fl_ssh_privkey_parse(struct fl_ssh_privkey *out, const char *data, size_t len,
                         const char *source)
{
	const char *end = data + len;
	int rc;

	memset(out, 0, sizeof(*out));
	out->source = strdup(source ? source : "SSH private key");
	if (!out->source)
		return fl_error_set(FL_E_NOMEM, "out of memory");

	const char *p = skip_space(data, end);
	if (has_prefix(p, end, OPENSSH_BEGIN))
		rc = parse_openssh(out, p, end);
	else if (has_prefix(p, end, "-----BEGIN "))
		rc = parse_pem(out, p, end);
	else
		rc = fl_error_set(FL_E_INVALID,
		                  "%s: not an SSH private key (expected a \"" OPENSSH_BEGIN
		                  "\" line)",
		                  out->source);
	if (rc < 0)
		fl_ssh_privkey_clear(out);
	return rc;
}

/* chacha20-poly1305@openssh.com (PROTOCOL.chacha20poly1305) for a single message with sequence
 * number 0 and no length header: K_2 is the first 32 key bytes; the Poly1305 key is the first 32
 * bytes of its keystream at block 0, the payload is encrypted from block 1. */
static int chachapoly_open(uint8_t *plain, const uint8_t *ct, size_t len, const uint8_t *tag,
                           const uint8_t key[64])
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {0};
	uint8_t polykey[crypto_onetimeauth_poly1305_KEYBYTES];
	crypto_stream_chacha20(polykey, sizeof(polykey), nonce, key);
	int ok = crypto_onetimeauth_poly1305_verify(tag, ct, len, polykey) == 0;
	fl_memzero(polykey, sizeof(polykey));
	if (!ok)
		return -1;
	crypto_stream_chacha20_xor_ic(plain, ct, len, nonce, 1, key);
	return 0;
}

/* Decrypts with an OpenSSL cipher; for GCM the tag is verified. Returns 0, -1 on tag failure
 * (fl_error unset), -2 with fl_error set on an OpenSSL failure. */
static int evp_open(const struct ssh_cipher *c, uint8_t *plain, const uint8_t *ct, size_t len,
                    const uint8_t *tag, const uint8_t *key, const uint8_t *iv, const char *ctx)
{
	EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
	int outl = 0, finl = 0, rc = -2;

	if (len > INT32_MAX) {
		fl_error_set(FL_E_INVALID, "%s: private section too large", ctx);
		goto out;
	}
	if (!e || EVP_DecryptInit_ex(e, c->evp(), NULL, NULL, NULL) != 1 ||
	    (c->kind == CIPHER_EVP_GCM &&
	     EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_SET_IVLEN, (int)c->ivlen, NULL) != 1) ||
	    EVP_DecryptInit_ex(e, NULL, NULL, key, iv) != 1 ||
	    EVP_CIPHER_CTX_set_padding(e, 0) != 1 ||
	    EVP_DecryptUpdate(e, plain, &outl, ct, (int)len) != 1 ||
	    (c->kind == CIPHER_EVP_GCM &&
	     EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_SET_TAG, (int)c->authlen, (void *)tag) != 1)) {
		openssl_failed(ctx, "decrypting the private key");
		goto out;
	}
	/* aes-gcm@openssh.com: a tag that does not verify means the key (passphrase) was wrong. */
	if (c->kind == CIPHER_EVP_GCM && EVP_DecryptFinal_ex(e, plain + outl, &finl) != 1) {
		ERR_clear_error();
		rc = -1;
		goto out;
	}
	if ((c->kind != CIPHER_EVP_GCM && EVP_DecryptFinal_ex(e, plain + outl, &finl) != 1) ||
	    (size_t)outl + (size_t)finl != len) {
		openssl_failed(ctx, "decrypting the private key");
		goto out;
	}
	rc = 0;
out:
	EVP_CIPHER_CTX_free(e);
	return rc;
}

int fl_ssh_privkey_unlock(struct fl_ssh_privkey *k, const char *pass, size_t passlen)
{
	struct fl_buf plain = FL_BUF_SECRET;
	uint8_t keyiv[64 + 16];
	int rc = -1;

	if (!k->locked)
		return 0;
	const struct ssh_cipher *c = &ciphers[k->cipher];
	const size_t seclen = k->sealed.len - c->authlen;
	const uint8_t *ct = (const uint8_t *)k->sealed.ptr;
	/* bcrypt_pbkdf(3) (and so ssh-keygen) never derives a key from an empty passphrase. */
	if (passlen == 0)
		return fl_error_set(FL_E_INVALID,
		                    "%s: incorrect passphrase (the key is encrypted; an empty "
		                    "passphrase cannot unlock it)",
		                    k->source);
	/* PROTOCOL.key: key || iv = bcrypt_pbkdf(passphrase, salt, rounds). */
	if (fl_bcrypt_pbkdf(pass, passlen, (const uint8_t *)k->kdf_salt.ptr, k->kdf_salt.len, keyiv,
	                    c->keylen + c->ivlen, k->kdf_rounds) < 0)
		return fl_error_prefix("%s: ", k->source);
	if (fl_buf_grow(&plain, seclen) < 0)
		goto out;
	int opened;
	if (c->kind == CIPHER_CHACHAPOLY)
		opened = chachapoly_open((uint8_t *)plain.ptr, ct, seclen, ct + seclen, keyiv);
	else
		opened = evp_open(c, (uint8_t *)plain.ptr, ct, seclen, ct + seclen, keyiv,
		                  keyiv + c->keylen, k->source);
	if (opened == -1)
		fl_error_set(FL_E_INVALID, "%s: incorrect passphrase", k->source);
	if (opened < 0)
		goto out;
	plain.len = seclen;
	if (parse_private_section(k, (const uint8_t *)plain.ptr, plain.len, c->blocksize, 1) < 0)
		goto out;
	fl_buf_free(&k->kdf_salt);
	fl_buf_free(&k->sealed);
	rc = 0;
out:
	fl_memzero(keyiv, sizeof(keyiv));
	fl_buf_free(&plain);
	return rc;
}

void fl_ssh_privkey_clear(struct fl_ssh_privkey *k)
{
	fl_ssh_pubkey_clear(&k->pub);
	EVP_PKEY_free(k->rsa_priv);
	fl_buf_free(&k->kdf_salt);
	fl_buf_free(&k->sealed);
	free(k->source);
	fl_memzero(k, sizeof(*k));
}
