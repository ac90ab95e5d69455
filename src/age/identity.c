#include "age/internal.h"
#include "fleet/base64.h"
#include "fleet/bech32.h"
#include "fleet/error.h"
#include "fleet/fileio.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define X25519_LABEL "age-encryption.org/v1/X25519"
#define SCRYPT_LABEL "age-encryption.org/v1/scrypt"
#define ED25519_LABEL "age-encryption.org/v1/ssh-ed25519"
#define RSA_LABEL "age-encryption.org/v1/ssh-rsa"

enum identity_kind { I_X25519, I_SCRYPT, I_SSH };

struct fl_age_identity {
	enum identity_kind kind;
	uint8_t secret[32]; /* X25519 scalar (for ssh-ed25519: derived once unlocked) */
	uint8_t public[32]; /* X25519 public key */
	struct fl_buf pass;
	int max_log_n;
	struct fl_ssh_privkey ssh;
	int ssh_ready; /* ssh secret material derived */
	struct fl_age_prompt prompt;
	char *source;
};

static struct fl_age_identity *identity_new(enum identity_kind kind)
{
	/* Guarded, locked and (Linux) excluded from core dumps: it holds the key. */
	struct fl_age_identity *id = sodium_init() < 0 ? NULL : sodium_malloc(sizeof(*id));
	if (!id) {
		fl_error_set(FL_E_NOMEM, "out of memory");
		return NULL;
	}
	memset(id, 0, sizeof(*id));
	id->kind = kind;
	id->pass.secret = 1;
	return id;
}

void fl_age_identity_free(struct fl_age_identity *id)
{
	if (!id)
		return;
	fl_buf_free(&id->pass);
	fl_ssh_privkey_clear(&id->ssh);
	free(id->source);
	sodium_free(id); /* wipes it */
}

int age_identity_is_scrypt(const struct fl_age_identity *id)
{
	return id->kind == I_SCRYPT;
}

int fl_age_identity_parse(struct fl_age_identity **out, const char *s)
{
	if (age_crypto_init() < 0)
		return -1;
	char hrp[64];
	uint8_t data[64];
	size_t n;
	if (strncmp(s, "AGE-PLUGIN-", 11) == 0)
		return fl_error_set(FL_E_UNSUPPORTED, "age plugin identities are not supported");
	if (strncmp(s, "AGE-SECRET-KEY-PQ-", 18) == 0)
		return fl_error_set(FL_E_UNSUPPORTED,
		                    "post-quantum (ML-KEM) identities are not supported");
	/* Never echo the identity itself: it is a secret. age: identities are uppercase. */
	if (strncmp(s, "AGE-SECRET-KEY-1", 16) != 0)
		return fl_error_set(FL_E_INVALID,
		                    "malformed identity: expected \"AGE-SECRET-KEY-1…\"");
	if (fl_bech32_decode(s, hrp, sizeof(hrp), data, sizeof(data), &n) < 0)
		return fl_error_prefix("malformed identity: ");
	if (strcmp(hrp, "age-secret-key-") != 0 || n != 32) {
		sodium_memzero(data, sizeof(data));
		return fl_error_set(FL_E_INVALID,
		                    "malformed identity: expected \"AGE-SECRET-KEY-1…\"");
	}
	struct fl_age_identity *id = identity_new(I_X25519);
	if (!id)
		return -1;
	memcpy(id->secret, data, 32);
	sodium_memzero(data, sizeof(data));
	crypto_scalarmult_base(id->public, id->secret);
	*out = id;
	return 0;
}

int fl_age_identity_scrypt(struct fl_age_identity **out, const char *pass, size_t len,
                           int max_log_n)
{
	if (age_crypto_init() < 0)
		return -1;
	struct fl_age_identity *id = identity_new(I_SCRYPT);
	if (!id)
		return -1;
	id->max_log_n = max_log_n;
	if (fl_buf_put(&id->pass, pass, len) < 0) {
		fl_age_identity_free(id);
		return -1;
	}
	*out = id;
	return 0;
}

static int stanza_fail(const char *type, const char *what)
{
	return fl_error_set(FL_E_AGE_HEADER, "malformed %s stanza: %s", type, what);
}

static int unwrap_x25519(const struct fl_age_identity *id, const struct age_stanza *s,
                         uint8_t file_key[16])
{
	uint8_t share[32], shared[32], salt[64], key[32];
	if (strcmp(s->type, "X25519") != 0)
		return 1;
	/* age X25519: exactly one argument, the canonical base64 of a 32-byte share. */
	if (s->nargs != 1)
		return stanza_fail("X25519", "wrong number of arguments");
	if (age_b64_decode_exact(s->args[0], share, 32) < 0)
		return stanza_fail("X25519", "invalid ephemeral share");
	/* age: the file key must be checked to be 16 bytes before decrypting it. */
	if (s->body_len != FL_AGE_FILE_KEY_LEN + AGE_TAG_LEN)
		return stanza_fail("X25519", "wrong body length");
	/* age X25519: an all-zero shared secret (low-order share) is rejected. */
	if (crypto_scalarmult(shared, id->secret, share) != 0)
		return stanza_fail("X25519", "low-order ephemeral share");
	memcpy(salt, share, 32);
	memcpy(salt + 32, id->public, 32);
	age_hkdf_sha256(key, sizeof(key), shared, sizeof(shared), salt, sizeof(salt), X25519_LABEL);
	int rc = age_aead_open_zero_nonce(file_key, key, s->body, s->body_len);
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int parse_work_factor(const char *s, int *out)
{
	/* age scrypt: the work factor is a decimal integer without leading zeros or sign. */
	size_t n = strlen(s);
	if (n == 0 || n > 2 || s[0] == '0')
		return -1;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int unwrap_scrypt(const struct fl_age_identity *id, const struct age_stanza *s,
                         uint8_t file_key[16])
{
	uint8_t salt[16], full_salt[sizeof(SCRYPT_LABEL) - 1 + 16], key[32];
	int log_n;
	if (strcmp(s->type, "scrypt") != 0)
		return 1;
	if (s->nargs != 2)
		return stanza_fail("scrypt", "wrong number of arguments");
	if (age_b64_decode_exact(s->args[0], salt, sizeof(salt)) < 0)
		return stanza_fail("scrypt", "invalid salt");
	if (parse_work_factor(s->args[1], &log_n) < 0)
		return stanza_fail("scrypt", "invalid work factor");
	if (s->body_len != FL_AGE_FILE_KEY_LEN + AGE_TAG_LEN)
		return stanza_fail("scrypt", "wrong body length");
	if (log_n > id->max_log_n)
		return fl_error_set(FL_E_AGE_HEADER,
		                    "scrypt work factor 2^%d is above the limit of 2^%d", log_n,
		                    id->max_log_n);
	memcpy(full_salt, SCRYPT_LABEL, sizeof(SCRYPT_LABEL) - 1);
	memcpy(full_salt + sizeof(SCRYPT_LABEL) - 1, salt, sizeof(salt));
	if (crypto_pwhash_scryptsalsa208sha256_ll(
	        (const uint8_t *)id->pass.ptr, id->pass.len, full_salt, sizeof(full_salt),
	        (uint64_t)1 << log_n, 8, 1, key, sizeof(key)) != 0)
		return fl_error_set(FL_E_NOMEM, "scrypt with work factor %d needs more memory",
		                    log_n);
	int rc = age_aead_open_zero_nonce(file_key, key, s->body, s->body_len);
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int ssh_ensure_unlocked(struct fl_age_identity *id)
{
	if (id->ssh.locked) {
		if (!id->prompt.passphrase)
			return fl_error_set(FL_E_INVALID,
			                    "%s is passphrase-protected and no passphrase can be "
			                    "asked for here",
			                    id->source);
		struct fl_buf pass = FL_BUF_SECRET;
		char what[512];
		snprintf(what, sizeof(what), "passphrase for %s", id->source);
		int rc = id->prompt.passphrase(id->prompt.ctx, what, &pass);
		if (rc == 0)
			rc = fl_ssh_privkey_unlock(&id->ssh, pass.ptr ? pass.ptr : "", pass.len);
		fl_buf_free(&pass);
		if (rc < 0)
			return -1;
	}
	if (!id->ssh_ready && id->ssh.pub.type == FL_SSH_ED25519) {
		/* age ssh-ed25519: the X25519 scalar is the first half of SHA-512(seed),
		 * and the public key is the Ed25519 point mapped to Montgomery form. */
		uint8_t h[64];
		crypto_hash_sha512(h, id->ssh.ed25519_seed, 32);
		memcpy(id->secret, h, 32);
		sodium_memzero(h, sizeof(h));
		if (crypto_sign_ed25519_pk_to_curve25519(id->public, id->ssh.pub.ed25519) != 0)
			return fl_error_set(FL_E_INVALID, "%s: not a valid Ed25519 key",
			                    id->source);
	}
	id->ssh_ready = 1;
	return 0;
}

static int unwrap_ssh_ed25519(struct fl_age_identity *id, const struct age_stanza *s,
                              uint8_t file_key[16])
{
	uint8_t share[32], shared[32], tweak[32], salt[64], key[32];
	char tag[7];
	if (strcmp(s->type, "ssh-ed25519") != 0)
		return 1;
	if (s->nargs != 2)
		return stanza_fail("ssh-ed25519", "wrong number of arguments");
	fl_ssh_pubkey_tag(&id->ssh.pub, tag);
	if (strcmp(s->args[0], tag) != 0)
		return 1;
	if (age_b64_decode_exact(s->args[1], share, 32) < 0)
		return stanza_fail("ssh-ed25519", "invalid ephemeral share");
	if (s->body_len != FL_AGE_FILE_KEY_LEN + AGE_TAG_LEN)
		return stanza_fail("ssh-ed25519", "wrong body length");
	if (ssh_ensure_unlocked(id) < 0)
		return -1;
	if (crypto_scalarmult(shared, id->secret, share) != 0)
		return stanza_fail("ssh-ed25519", "low-order ephemeral share");
	age_hkdf_sha256(tweak, sizeof(tweak), NULL, 0, (const uint8_t *)id->ssh.pub.blob.ptr,
	                id->ssh.pub.blob.len, ED25519_LABEL);
	/* Output and input must not alias: libsodium writes q before reading p. */
	uint8_t tweaked[32];
	if (crypto_scalarmult(tweaked, tweak, shared) != 0)
		memset(tweaked, 0, sizeof(tweaked));
	memcpy(shared, tweaked, sizeof(shared));
	sodium_memzero(tweaked, sizeof(tweaked));
	memcpy(salt, share, 32);
	memcpy(salt + 32, id->public, 32);
	age_hkdf_sha256(key, sizeof(key), shared, sizeof(shared), salt, sizeof(salt),
	                ED25519_LABEL);
	int rc = age_aead_open_zero_nonce(file_key, key, s->body, s->body_len);
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(tweak, sizeof(tweak));
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int unwrap_ssh_rsa(struct fl_age_identity *id, const struct age_stanza *s,
                          uint8_t file_key[16])
{
	char tag[7];
	if (strcmp(s->type, "ssh-rsa") != 0)
		return 1;
	if (s->nargs != 1)
		return stanza_fail("ssh-rsa", "wrong number of arguments");
	fl_ssh_pubkey_tag(&id->ssh.pub, tag);
	if (strcmp(s->args[0], tag) != 0)
		return 1;
	if (ssh_ensure_unlocked(id) < 0)
		return -1;
	int rc = 1;
	uint8_t out[1024];
	size_t olen = sizeof(out);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(id->ssh.rsa_priv, NULL);
	unsigned char *label = OPENSSL_memdup(RSA_LABEL, sizeof(RSA_LABEL) - 1);
	if (!ctx || !label || EVP_PKEY_decrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, sizeof(RSA_LABEL) - 1) <= 0) {
		OPENSSL_free(label);
		rc = fl_error_set(FL_E_CRYPTO, "cannot set up RSA-OAEP");
		goto out;
	}
	if (s->body_len > sizeof(out) ||
	    EVP_PKEY_decrypt(ctx, out, &olen, s->body, s->body_len) <= 0)
		goto out;
	if (olen != FL_AGE_FILE_KEY_LEN) {
		rc = stanza_fail("ssh-rsa", "wrong file key length");
		goto out;
	}
	memcpy(file_key, out, FL_AGE_FILE_KEY_LEN);
	rc = 0;
out:
	sodium_memzero(out, sizeof(out));
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int age_identity_unwrap(const struct fl_age_identity *cid, const struct age_stanza *s,
                        uint8_t file_key[FL_AGE_FILE_KEY_LEN])
{
	/* Unlocking an SSH key on first use caches the result in the identity. */
	struct fl_age_identity *id = (struct fl_age_identity *)cid;
	switch (id->kind) {
	case I_X25519:
		return unwrap_x25519(id, s, file_key);
	case I_SCRYPT:
		return unwrap_scrypt(id, s, file_key);
	case I_SSH:
		return id->ssh.pub.type == FL_SSH_ED25519 ? unwrap_ssh_ed25519(id, s, file_key)
		                                          : unwrap_ssh_rsa(id, s, file_key);
	}
	return 1;
}

int fl_age_identities_add(struct fl_age_identities *list, struct fl_age_identity *id)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		struct fl_age_identity **v = realloc(list->v, cap * sizeof(*v));
		if (!v) {
			fl_age_identity_free(id);
			return fl_error_set(FL_E_NOMEM, "out of memory");
		}
		list->v = v;
		list->cap = cap;
	}
	list->v[list->n++] = id;
	return 0;
}

void fl_age_identities_free(struct fl_age_identities *list)
{
	for (size_t i = 0; i < list->n; i++)
		fl_age_identity_free(list->v[i]);
	free(list->v);
	memset(list, 0, sizeof(*list));
}

static int parse_ssh_identity(struct fl_age_identities *list, const char *data, size_t len,
                              const char *source, const struct fl_age_prompt *prompt)
{
	struct fl_age_identity *id = identity_new(I_SSH);
	if (!id)
		return -1;
	if (fl_ssh_privkey_parse(&id->ssh, data, len, source) < 0) {
		fl_age_identity_free(id);
		return -1;
	}
	id->source = strdup(source);
	if (prompt)
		id->prompt = *prompt;
	if (!id->source) {
		fl_age_identity_free(id);
		return fl_error_set(FL_E_NOMEM, "out of memory");
	}
	return fl_age_identities_add(list, id);
}

int fl_age_identities_parse_file(struct fl_age_identities *list, const char *data, size_t len,
                                 const char *source, const struct fl_age_prompt *prompt)
{
	if (age_crypto_init() < 0)
		return -1;
	if (fl_ssh_privkey_detect(data, len))
		return parse_ssh_identity(list, data, len, source, prompt);
	if ((len >= 21 && memcmp(data, AGE_INTRO, 21) == 0) ||
	    (len >= 10 && memmem(data, len < 1024 ? len : 1024, "-----BEGIN AGE", 14)))
		return fl_error_set(FL_E_UNSUPPORTED,
		                    "%s is an age-encrypted identity file; decrypt it first "
		                    "(fleet age -d %s > plain-key.txt)",
		                    source, source);
	size_t lineno = 0, found = 0;
	const char *p = data, *end = data + len;
	struct fl_buf line = FL_BUF_SECRET;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		lineno++;
		size_t n = (size_t)(e - p);
		if (n && p[n - 1] == '\r')
			n--;
		fl_buf_clear(&line);
		if (fl_buf_put(&line, p, n) < 0)
			goto fail;
		p = nl ? nl + 1 : end;
		if (n == 0 || line.ptr[0] == '#')
			continue;
		if (strlen(line.ptr) != n) {
			fl_error_set(FL_E_INVALID, "%s line %zu: unexpected NUL byte", source,
			             lineno);
			goto fail;
		}
		struct fl_age_identity *id;
		if (fl_age_identity_parse(&id, line.ptr) < 0) {
			fl_error_prefix("%s line %zu: ", source, lineno);
			goto fail;
		}
		if (fl_age_identities_add(list, id) < 0)
			goto fail;
		found++;
	}
	fl_buf_free(&line);
	if (!found)
		return fl_error_set(FL_E_INVALID, "%s: no identities found", source);
	return 0;
fail:
	fl_buf_free(&line);
	return -1;
}

int fl_age_identity_to_recipient(const struct fl_age_identity *id, struct fl_buf *out)
{
	switch (id->kind) {
	case I_X25519:
		return fl_bech32_encode(out, "age", id->public, 32, 0);
	case I_SSH: {
		const struct fl_ssh_pubkey *k = &id->ssh.pub;
		size_t elen = fl_b64_encoded_len(k->blob.len, FL_B64_PAD);
		char *enc = malloc(elen + 1);
		if (!enc)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		fl_b64_encode(enc, (const uint8_t *)k->blob.ptr, k->blob.len, FL_B64_PAD);
		int rc = fl_buf_printf(out, "%s %s",
		                       k->type == FL_SSH_ED25519 ? "ssh-ed25519" : "ssh-rsa", enc);
		free(enc);
		return rc;
	}
	case I_SCRYPT:
		break;
	}
	return fl_error_set(FL_E_INVALID, "a passphrase has no recipient string");
}

int fl_age_keygen(struct fl_buf *secret, struct fl_buf *recipient)
{
	if (age_crypto_init() < 0)
		return -1;
	uint8_t sk[32], pk[32];
	randombytes_buf(sk, sizeof(sk));
	crypto_scalarmult_base(pk, sk);
	int rc = fl_bech32_encode(secret, "AGE-SECRET-KEY-", sk, sizeof(sk), 1);
	if (rc == 0)
		rc = fl_bech32_encode(recipient, "age", pk, sizeof(pk), 0);
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

int fl_age_identities_load(struct fl_age_identities *list, const char *path,
                           const struct fl_age_prompt *prompt)
{
	/* Identity files are small; anything larger is a mistake, not a key file. */
	struct fl_buf data = FL_BUF_SECRET;
	int rc = fl_read_file(path, &data, 1u << 20);
	if (rc == 0)
		rc = fl_age_identities_parse_file(list, data.ptr ? data.ptr : "", data.len, path,
		                                  prompt);
	fl_buf_free(&data);
	return rc;
}
