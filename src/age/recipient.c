#include "age/internal.h"
#include "fleet/base64.h"
#include "fleet/bech32.h"
#include "fleet/error.h"
#include "fleet/fileio.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define X25519_LABEL "age-encryption.org/v1/X25519"
#define SCRYPT_LABEL "age-encryption.org/v1/scrypt"
#define ED25519_LABEL "age-encryption.org/v1/ssh-ed25519"
#define RSA_LABEL "age-encryption.org/v1/ssh-rsa"

enum recipient_kind { R_X25519, R_SCRYPT, R_SSH_ED25519, R_SSH_RSA };

struct fl_age_recipient {
	enum recipient_kind kind;
	uint8_t x25519[32]; /* X25519 public key; for ssh-ed25519 the converted key */
	struct fl_ssh_pubkey ssh;
	struct fl_buf pass;
	int log_n;
};

/* An identity (a secret key) passed where a recipient belongs, in any letter case and
 * with '_' for '-': age's identities are uppercase, but a lowercased one is the same
 * secret. */
static int looks_like_identity(const char *s)
{
	return strncasecmp(s, "AGE-PLUGIN-", 11) == 0 || strcasestr(s, "SECRET-KEY") ||
	       strcasestr(s, "SECRET_KEY");
}

/* How an error names a recipient: quoted (as age quotes an unknown -r argument), unless
 * it looks like a secret key. */
static void recipient_label(char *out, size_t cap, const char *s)
{
	if (looks_like_identity(s))
		snprintf(out, cap, "(not shown: it looks like a secret key)");
	else
		snprintf(out, cap, "\"%s\"", s);
}

static int recipient_parse_x25519(struct fl_age_recipient *r, const char *s)
{
	char hrp[64], label[256];
	uint8_t data[64];
	size_t n;
	recipient_label(label, sizeof(label), s);
	if (fl_bech32_decode(s, hrp, sizeof(hrp), data, sizeof(data), &n) < 0)
		return fl_error_prefix("malformed recipient %s: ", label);
	if (strcmp(hrp, "age1pq") == 0)
		return fl_error_set(
		    FL_E_UNSUPPORTED,
		    "recipient \"%.20s…\": post-quantum recipients are not supported", s);
	if (strcmp(hrp, "age") != 0) {
		if (strncmp(hrp, "age1", 4) == 0)
			return fl_error_set(
			    FL_E_UNSUPPORTED,
			    "recipient \"%.20s…\": age plugins (%s) are not supported", s, hrp + 4);
		return fl_error_set(FL_E_INVALID,
		                    "malformed recipient %s: expected an \"age1…\" key", label);
	}
	/* age: an X25519 recipient is the Bech32 encoding of the 32-byte Curve25519 point. */
	if (n != 32)
		return fl_error_set(FL_E_INVALID, "malformed recipient %s: wrong key length",
		                    label);
	if (s[0] == 'A')
		return fl_error_set(FL_E_INVALID, "malformed recipient %s: must be lowercase",
		                    label);
	r->kind = R_X25519;
	memcpy(r->x25519, data, 32);
	return 0;
}

int fl_age_recipient_parse(struct fl_age_recipient **out, const char *s)
{
	if (age_crypto_init() < 0)
		return -1;
	struct fl_age_recipient *r = calloc(1, sizeof(*r));
	if (!r)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	r->pass.secret = 1;
	int rc;
	if (strncmp(s, "ssh-", 4) == 0) {
		rc = fl_ssh_pubkey_parse(&r->ssh, s);
		if (rc == 0 && r->ssh.type == FL_SSH_ED25519) {
			r->kind = R_SSH_ED25519;
			/* age ssh-ed25519: the recipient's X25519 key is the birational map
			 * of its Ed25519 point. */
			if (crypto_sign_ed25519_pk_to_curve25519(r->x25519, r->ssh.ed25519) != 0)
				rc = fl_error_set(FL_E_INVALID,
				                  "recipient \"%.40s…\": not a valid Ed25519 point",
				                  s);
		} else if (rc == 0) {
			r->kind = R_SSH_RSA;
		}
	} else if (looks_like_identity(s)) {
		rc = fl_error_set(FL_E_INVALID,
		                  "that is an identity (a secret key), not a "
		                  "recipient: pass it with -i, or derive the recipient "
		                  "with \"fleet age keygen -y\"");
	} else {
		rc = recipient_parse_x25519(r, s);
	}
	if (rc < 0) {
		fl_age_recipient_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

int fl_age_recipient_scrypt(struct fl_age_recipient **out, const char *pass, size_t len, int log_n)
{
	if (age_crypto_init() < 0)
		return -1;
	if (log_n < 1 || log_n > 30)
		return fl_error_set(FL_E_INVALID, "scrypt work factor must be between 1 and 30");
	if (len == 0)
		return fl_error_set(FL_E_INVALID, "the passphrase is empty");
	struct fl_age_recipient *r = calloc(1, sizeof(*r));
	if (!r)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	r->kind = R_SCRYPT;
	r->pass.secret = 1;
	r->log_n = log_n;
	if (fl_buf_put(&r->pass, pass, len) < 0) {
		fl_age_recipient_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

void fl_age_recipient_free(struct fl_age_recipient *r)
{
	if (!r)
		return;
	fl_ssh_pubkey_clear(&r->ssh);
	fl_buf_free(&r->pass);
	sodium_memzero(r, sizeof(*r));
	free(r);
}

int age_recipient_is_scrypt(const struct fl_age_recipient *r)
{
	return r->kind == R_SCRYPT;
}

static int wrap_x25519(const struct fl_age_recipient *r, const uint8_t file_key[16],
                       struct age_header *h, const char *type, const char *label)
{
	uint8_t eph[32], share[32], shared[32], salt[64], key[32], body[32];
	int rc = -1;
	randombytes_buf(eph, sizeof(eph));
	crypto_scalarmult_base(share, eph);
	if (crypto_scalarmult(shared, eph, r->x25519) != 0) {
		fl_error_set(FL_E_INVALID, "the recipient is a low-order point");
		goto out;
	}
	if (r->kind == R_SSH_ED25519) {
		/* age ssh-ed25519: the shared secret is tweaked by
		 * X25519(HKDF(empty, ssh key, label), shared). */
		uint8_t tweak[32];
		age_hkdf_sha256(tweak, sizeof(tweak), NULL, 0, (const uint8_t *)r->ssh.blob.ptr,
		                r->ssh.blob.len, label);
		/* Output and input must not alias: libsodium writes q before reading p. */
		uint8_t tweaked[32];
		if (crypto_scalarmult(tweaked, tweak, shared) != 0)
			memset(tweaked, 0, sizeof(tweaked));
		memcpy(shared, tweaked, sizeof(shared));
		sodium_memzero(tweaked, sizeof(tweaked));
		sodium_memzero(tweak, sizeof(tweak));
	}
	/* age X25519: wrap key = HKDF(shared, ephemeral share || recipient, label). */
	memcpy(salt, share, 32);
	memcpy(salt + 32, r->x25519, 32);
	age_hkdf_sha256(key, sizeof(key), shared, sizeof(shared), salt, sizeof(salt), label);
	age_aead_seal_zero_nonce(body, key, file_key);

	char share64[48], tag[7];
	fl_b64_encode(share64, share, 32, FL_B64_NOPAD);
	if (r->kind == R_SSH_ED25519) {
		fl_ssh_pubkey_tag(&r->ssh, tag);
		const char *args[2] = {tag, share64};
		rc = age_header_add_stanza(h, type, args, 2, body, sizeof(body));
	} else {
		const char *args[1] = {share64};
		rc = age_header_add_stanza(h, type, args, 1, body, sizeof(body));
	}
out:
	sodium_memzero(eph, sizeof(eph));
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int wrap_scrypt(const struct fl_age_recipient *r, const uint8_t file_key[16],
                       struct age_header *h)
{
	uint8_t salt[16], full_salt[sizeof(SCRYPT_LABEL) - 1 + 16], key[32], body[32];
	randombytes_buf(salt, sizeof(salt));
	/* age scrypt: the scrypt salt is the label followed by the 16 random bytes. */
	memcpy(full_salt, SCRYPT_LABEL, sizeof(SCRYPT_LABEL) - 1);
	memcpy(full_salt + sizeof(SCRYPT_LABEL) - 1, salt, sizeof(salt));
	if (crypto_pwhash_scryptsalsa208sha256_ll(
	        (const uint8_t *)r->pass.ptr, r->pass.len, full_salt, sizeof(full_salt),
	        (uint64_t)1 << r->log_n, 8, 1, key, sizeof(key)) != 0)
		return fl_error_set(FL_E_NOMEM, "scrypt with work factor %d needs more memory",
		                    r->log_n);
	age_aead_seal_zero_nonce(body, key, file_key);
	sodium_memzero(key, sizeof(key));
	char salt64[32], wf[16];
	fl_b64_encode(salt64, salt, sizeof(salt), FL_B64_NOPAD);
	snprintf(wf, sizeof(wf), "%d", r->log_n);
	const char *args[2] = {salt64, wf};
	return age_header_add_stanza(h, "scrypt", args, 2, body, sizeof(body));
}

static int wrap_rsa(const struct fl_age_recipient *r, const uint8_t file_key[16],
                    struct age_header *h)
{
	int rc = -1;
	uint8_t body[1024];
	size_t blen = sizeof(body);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(r->ssh.rsa, NULL);
	unsigned char *label = OPENSSL_memdup(RSA_LABEL, sizeof(RSA_LABEL) - 1);
	/* age ssh-rsa: RSAES-OAEP with SHA-256 (and MGF1-SHA-256) and the label. */
	if (!ctx || !label || EVP_PKEY_encrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, sizeof(RSA_LABEL) - 1) <= 0) {
		OPENSSL_free(label);
		fl_error_set(FL_E_CRYPTO, "cannot set up RSA-OAEP");
		goto out;
	}
	if (EVP_PKEY_encrypt(ctx, body, &blen, file_key, FL_AGE_FILE_KEY_LEN) <= 0) {
		fl_error_set(FL_E_CRYPTO, "RSA-OAEP encryption failed");
		goto out;
	}
	char tag[7];
	fl_ssh_pubkey_tag(&r->ssh, tag);
	const char *args[1] = {tag};
	rc = age_header_add_stanza(h, "ssh-rsa", args, 1, body, blen);
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int age_recipient_wrap(const struct fl_age_recipient *r,
                       const uint8_t file_key[FL_AGE_FILE_KEY_LEN], struct age_header *h)
{
	switch (r->kind) {
	case R_X25519:
		return wrap_x25519(r, file_key, h, "X25519", X25519_LABEL);
	case R_SSH_ED25519:
		return wrap_x25519(r, file_key, h, "ssh-ed25519", ED25519_LABEL);
	case R_SCRYPT:
		return wrap_scrypt(r, file_key, h);
	case R_SSH_RSA:
		return wrap_rsa(r, file_key, h);
	}
	return fl_error_set(FL_E_INVALID, "unknown recipient kind");
}

int fl_age_recipients_add(struct fl_age_recipients *list, struct fl_age_recipient *r)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		struct fl_age_recipient **v = realloc(list->v, cap * sizeof(*v));
		if (!v) {
			fl_age_recipient_free(r);
			return fl_error_set(FL_E_NOMEM, "out of memory");
		}
		list->v = v;
		list->cap = cap;
	}
	list->v[list->n++] = r;
	return 0;
}

void fl_age_recipients_free(struct fl_age_recipients *list)
{
	for (size_t i = 0; i < list->n; i++)
		fl_age_recipient_free(list->v[i]);
	free(list->v);
	memset(list, 0, sizeof(*list));
}

int fl_age_recipients_parse_file(struct fl_age_recipients *list, const char *data, size_t len,
                                 const char *source)
{
	size_t lineno = 0, found = 0;
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		lineno++;
		size_t n = (size_t)(e - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (memchr(p, '\0', n))
			return fl_error_set(FL_E_INVALID, "%s line %zu: unexpected NUL byte",
			                    source, lineno);
		char *line = strndup(p, n);
		if (!line)
			return fl_error_set(FL_E_NOMEM, "out of memory");
		p = nl ? nl + 1 : end;
		if (n == 0 || line[0] == '#') {
			free(line);
			continue;
		}
		struct fl_age_recipient *r;
		int rc = fl_age_recipient_parse(&r, line);
		/* age hides the error for a line that is not a public key: a recipients
		 * file mixed up with a private key file must not be printed. */
		int shown = strncmp(line, "age1", 4) == 0 || strncmp(line, "ssh-", 4) == 0;
		free(line);
		if (rc < 0 && !shown && fl_error_last()->klass != FL_E_NOMEM)
			return fl_error_set(
			    FL_E_INVALID,
			    "%s line %zu: malformed recipient (the line is not shown: "
			    "it is not an \"age1…\" or \"ssh-…\" key)",
			    source, lineno);
		if (rc < 0)
			return fl_error_prefix("%s line %zu: ", source, lineno);
		if (fl_age_recipients_add(list, r) < 0)
			return -1;
		found++;
	}
	if (!found)
		return fl_error_set(FL_E_INVALID, "%s: no recipients found", source);
	return 0;
}

int fl_age_recipients_load(struct fl_age_recipients *list, const char *path)
{
	struct fl_buf data = FL_BUF_INIT;
	int rc = fl_read_file(path, &data, 1u << 20);
	if (rc == 0)
		rc = fl_age_recipients_parse_file(list, data.ptr ? data.ptr : "", data.len, path);
	fl_buf_free(&data);
	return rc;
}
