#include "age/internal.h"
#include "fleet/error.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define READ_BUFFER (64u << 10)

int fl_age_encrypt(const struct fl_age_recipients *r, const struct fl_age_encrypt_opts *opts,
                   struct fl_age_reader in, struct fl_age_writer out)
{
	struct fl_age_encrypt_opts defaults = {0};
	if (!opts)
		opts = &defaults;
	if (age_crypto_init() < 0)
		return -1;
	if (!r || r->n == 0)
		return fl_error_set(FL_E_INVALID, "no recipients given");
	for (size_t i = 0; i < r->n; i++)
		/* age scrypt: a passphrase stanza must be the only one in the header. */
		if (age_recipient_is_scrypt(r->v[i]) && r->n > 1)
			return fl_error_set(
			    FL_E_INVALID, "a passphrase cannot be combined with other recipients");

	uint8_t file_key[FL_AGE_FILE_KEY_LEN], nonce[AGE_NONCE_LEN], key[32];
	struct age_header h = {0};
	struct fl_buf hdr = FL_BUF_INIT;
	struct age_bufreader br = {0};
	struct age_armor_writer aw;
	struct fl_age_writer w = out;
	int rc = -1;

	randombytes_buf(file_key, sizeof(file_key));
	for (size_t i = 0; i < r->n; i++)
		if (age_recipient_wrap(r->v[i], file_key, &h) < 0)
			goto out;
	if (age_header_encode(&h, file_key, &hdr) < 0)
		goto out;
	if (opts->armor) {
		if (age_armor_writer_begin(&aw, out) < 0)
			goto out;
		w = age_armor_writer_as_writer(&aw);
	}
	randombytes_buf(nonce, sizeof(nonce));
	if (w.write(w.ctx, hdr.ptr, hdr.len) < 0 || w.write(w.ctx, nonce, sizeof(nonce)) < 0)
		goto out;
	/* age: payload key = HKDF-SHA-256(file key, nonce, "payload"). */
	age_hkdf_sha256(key, sizeof(key), file_key, sizeof(file_key), nonce, sizeof(nonce),
	                "payload");
	if (age_bufreader_init(&br, in, READ_BUFFER) < 0)
		goto out;
	if (age_stream_encrypt(key, opts->threads, &br, w) < 0)
		goto out;
	if (opts->armor && age_armor_writer_end(&aw) < 0)
		goto out;
	rc = 0;
out:
	sodium_memzero(file_key, sizeof(file_key));
	sodium_memzero(key, sizeof(key));
	age_bufreader_free(&br);
	age_header_free(&h);
	fl_buf_free(&hdr);
	return rc;
}

static void describe_stanzas(const struct age_header *h, char *out, size_t cap)
{
	size_t off = 0;
	out[0] = '\0';
	for (size_t i = 0; i < h->n && off + 2 < cap; i++) {
		int n =
		    snprintf(out + off, cap - off, "%s%.24s", i ? ", " : "", h->stanzas[i].type);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static int unwrap_file_key(const struct fl_age_identities *ids, const struct age_header *h,
                           const struct fl_age_decrypt_opts *opts,
                           uint8_t file_key[FL_AGE_FILE_KEY_LEN])
{
	int has_scrypt = 0, have_scrypt_identity = 0;
	for (size_t i = 0; i < h->n; i++)
		has_scrypt |= strcmp(h->stanzas[i].type, "scrypt") == 0;
	/* age scrypt: a passphrase stanza must be the only one in the header. */
	if (has_scrypt && h->n > 1)
		return fl_error_set(FL_E_AGE_HEADER,
		                    "malformed age header: an scrypt stanza must be alone");
	size_t nids = ids ? ids->n : 0;
	for (size_t i = 0; i < nids; i++)
		have_scrypt_identity |= age_identity_is_scrypt(ids->v[i]);

	/* age: try each identity against every stanza; a malformed stanza is fatal. */
	for (size_t i = 0; i < nids; i++)
		for (size_t j = 0; j < h->n; j++) {
			int r = age_identity_unwrap(ids->v[i], &h->stanzas[j], file_key);
			if (r <= 0)
				return r;
		}

	if (has_scrypt && !have_scrypt_identity && opts->prompt && opts->prompt->passphrase) {
		struct fl_buf pass = FL_BUF_SECRET;
		struct fl_age_identity *pid = NULL;
		int r = opts->prompt->passphrase(opts->prompt->ctx, "passphrase", &pass);
		if (r == 0)
			r = fl_age_identity_scrypt(&pid, pass.ptr ? pass.ptr : "", pass.len,
			                           FL_AGE_SCRYPT_MAX_LOG_N);
		fl_buf_free(&pass);
		if (r == 0)
			r = age_identity_unwrap(pid, &h->stanzas[0], file_key);
		fl_age_identity_free(pid);
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		return fl_error_set(FL_E_AGE_NOMATCH, "incorrect passphrase");
	}

	char types[256];
	describe_stanzas(h, types, sizeof(types));
	for (size_t i = 0; i < h->n; i++)
		if (strncmp(h->stanzas[i].type, "mlkem", 5) == 0)
			return fl_error_set(
			    FL_E_AGE_NOMATCH,
			    "no identity matched any of the file's recipients (%s); "
			    "post-quantum recipients are not supported",
			    types);
	if (has_scrypt)
		return fl_error_set(FL_E_AGE_NOMATCH,
		                    "no identity matched: the file is passphrase-encrypted%s",
		                    have_scrypt_identity ? " and the passphrase is incorrect" : "");
	return fl_error_set(FL_E_AGE_NOMATCH,
	                    "no identity matched any of the file's %zu recipient%s (%s)", h->n,
	                    h->n == 1 ? "" : "s", types);
}

int fl_age_decrypt(const struct fl_age_identities *ids, const struct fl_age_decrypt_opts *opts,
                   struct fl_age_reader in, struct fl_age_writer out)
{
	struct fl_age_decrypt_opts defaults = {0};
	if (!opts)
		opts = &defaults;
	if (age_crypto_init() < 0)
		return -1;

	struct age_bufreader raw = {0}, armored = {0}, *src = &raw;
	struct age_armor_reader *ar = NULL;
	struct age_header h = {0};
	uint8_t file_key[FL_AGE_FILE_KEY_LEN], mac[AGE_MAC_LEN], nonce[AGE_NONCE_LEN], key[32];
	int rc = -1;

	if (age_bufreader_init(&raw, in, READ_BUFFER) < 0)
		goto out;
	if (opts->force_armor || age_armor_detect(&raw)) {
		if (age_armor_reader_new(&ar, &raw) < 0)
			goto out;
		if (age_bufreader_init(&armored, age_armor_reader_as_reader(ar), READ_BUFFER) < 0)
			goto out;
		src = &armored;
	}
	if (raw.eof && raw.len == 0) {
		fl_error_set(FL_E_AGE_HEADER, "the input is empty");
		goto out;
	}
	if (age_header_parse(&h, src) < 0)
		goto out;
	if (unwrap_file_key(ids, &h, opts, file_key) < 0)
		goto out;
	age_header_mac(mac, &h.raw, file_key);
	if (sodium_memcmp(mac, h.mac, sizeof(mac)) != 0) {
		fl_error_set(FL_E_AGE_HMAC, "header MAC mismatch: the header was tampered with");
		goto out;
	}
	ssize_t got = age_bufreader_read_full(src, nonce, sizeof(nonce));
	if (got < 0)
		goto out;
	if ((size_t)got != sizeof(nonce)) {
		fl_error_set(FL_E_AGE_HEADER, "the payload nonce is missing (file truncated)");
		goto out;
	}
	age_hkdf_sha256(key, sizeof(key), file_key, sizeof(file_key), nonce, sizeof(nonce),
	                "payload");
	rc = age_stream_decrypt(key, opts->threads, src, out);
out:
	sodium_memzero(file_key, sizeof(file_key));
	sodium_memzero(key, sizeof(key));
	age_header_free(&h);
	age_bufreader_free(&armored);
	age_armor_reader_free(ar);
	age_bufreader_free(&raw);
	return rc;
}

int fl_age_encrypt_mem(const struct fl_age_recipients *r, int armor, const void *in, size_t len,
                       struct fl_buf *out)
{
	struct fl_age_mem_reader m = {in, len, 0};
	struct fl_age_encrypt_opts o = {.armor = armor, .threads = 1};
	size_t start = out->len;
	int rc = fl_age_encrypt(r, &o, fl_age_reader_mem(&m), fl_age_writer_buf(out));
	if (rc < 0)
		fl_buf_truncate(out, start);
	return rc;
}

int fl_age_decrypt_mem(const struct fl_age_identities *ids, const void *in, size_t len,
                       struct fl_buf *out)
{
	struct fl_age_mem_reader m = {in, len, 0};
	struct fl_age_decrypt_opts o = {.threads = 1};
	size_t start = out->len;
	int rc = fl_age_decrypt(ids, &o, fl_age_reader_mem(&m), fl_age_writer_buf(out));
	if (rc < 0)
		fl_buf_truncate(out, start);
	return rc;
}
