/* One sops value: ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<t>] — AES-256-GCM
 * with a 32-byte IV (sops' nonce size), additional data = the value's key path. */
#include "fleet/base64.h"
#include "fleet/error.h"
#include "fleet/sops.h"
#include "sops/internal.h"

#include <errno.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ENC_PREFIX "ENC[AES256_GCM,data:"

void fl_sops_enc_free(struct fl_sops_enc *e)
{
	if (e->data) {
		sodium_memzero(e->data, e->data_len);
		free(e->data);
	}
	memset(e, 0, sizeof(*e));
}

static int b64_field(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen,
                     const char *what)
{
	uint8_t *tmp = malloc(fl_b64_decoded_max(n) + 1);
	if (!tmp)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	size_t got;
	if (fl_b64_decode(tmp, &got, s, n, FL_B64_PAD) < 0 || got > cap) {
		free(tmp);
		return fl_error_set(FL_E_INVALID, "sops value: %s is not valid base64", what);
	}
	memcpy(out, tmp, got);
	free(tmp);
	*outlen = got;
	return 0;
}

int fl_sops_enc_parse(const char *s, size_t len, struct fl_sops_enc *out)
{
	memset(out, 0, sizeof(*out));
	static const char *const fields[] = {",iv:", ",tag:", ",type:"};
	size_t plen = sizeof(ENC_PREFIX) - 1;
	/* sops: ^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\] */
	if (len < plen || memcmp(s, ENC_PREFIX, plen) != 0)
		return fl_error_set(FL_E_INVALID,
		                    "not a sops-encrypted value (no ENC[AES256_GCM,…])");
	if (s[len - 1] != ']')
		return fl_error_set(FL_E_INVALID, "sops value: missing closing ']'");
	const char *p = s + plen, *end = s + len - 1;
	const char *start[4], *stop[4];
	start[0] = p;
	for (int i = 0; i < 3; i++) {
		size_t fl = strlen(fields[i]);
		const char *q = p;
		while (q + fl <= end && memcmp(q, fields[i], fl) != 0)
			q++;
		if (q + fl > end)
			return fl_error_set(FL_E_INVALID, "sops value: missing \"%s\"",
			                    fields[i] + 1);
		stop[i] = q;
		p = q + fl;
		start[i + 1] = p;
	}
	stop[3] = end;
	for (int i = 0; i < 4; i++)
		if (stop[i] <= start[i])
			return fl_error_set(FL_E_INVALID, "sops value: an empty field");
	size_t dlen = (size_t)(stop[0] - start[0]);
	out->data = malloc(fl_b64_decoded_max(dlen) + 1);
	if (!out->data)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	if (fl_b64_decode(out->data, &out->data_len, start[0], dlen, FL_B64_PAD) < 0) {
		fl_sops_enc_free(out);
		return fl_error_set(FL_E_INVALID, "sops value: data is not valid base64");
	}
	size_t taglen;
	if (b64_field(start[1], (size_t)(stop[1] - start[1]), out->iv, sizeof(out->iv),
	              &out->iv_len, "iv") < 0 ||
	    b64_field(start[2], (size_t)(stop[2] - start[2]), out->tag, sizeof(out->tag), &taglen,
	              "tag") < 0) {
		fl_sops_enc_free(out);
		return -1;
	}
	/* AES-GCM: a 128-bit tag; an IV of at least 96 bits (sops writes 256). */
	if (taglen != 16 || out->iv_len < 12) {
		fl_sops_enc_free(out);
		return fl_error_set(FL_E_INVALID, "sops value: wrong %s length",
		                    taglen != 16 ? "tag" : "iv");
	}
	size_t tlen = (size_t)(stop[3] - start[3]);
	if (tlen >= sizeof(out->type)) {
		fl_sops_enc_free(out);
		return fl_error_set(FL_E_INVALID, "sops value: unknown type");
	}
	memcpy(out->type, start[3], tlen);
	out->type[tlen] = '\0';
	return 0;
}

static int gcm(int enc, const uint8_t key[32], const uint8_t *iv, size_t iv_len, const char *ad,
               const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) == 1 &&
	            EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc) == 1 &&
	            EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)ad, (int)strlen(ad)) == 1 &&
	            (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1);
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(c, out + (len ? len : 0), &n) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int parse_bool(const char *s, int *v)
{
	/* Go strconv.ParseBool, which sops uses for "bool" values. */
	static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < 6; i++) {
		if (!strcmp(s, t[i])) {
			*v = 1;
			return 0;
		}
		if (!strcmp(s, f[i])) {
			*v = 0;
			return 0;
		}
	}
	return -1;
}

static struct fl_doc *typed_value(const char *type, const char *text, size_t len)
{
	if (!strcmp(type, "str"))
		return fl_doc_new_scalar(FL_DOC_STR, text, len);
	if (!strcmp(type, "bytes"))
		return fl_doc_new_scalar(FL_DOC_BYTES, text, len);
	if (!strcmp(type, "comment"))
		return fl_doc_new_scalar(FL_DOC_COMMENT, text, len);
	if (!strcmp(type, "time"))
		return fl_doc_new_scalar(FL_DOC_TIME, text, len);
	if (strlen(text) != len)
		goto bad;
	if (!strcmp(type, "bool")) {
		int b;
		if (parse_bool(text, &b) < 0)
			goto bad;
		return fl_doc_new_scalar(FL_DOC_BOOL, b ? "true" : "false", b ? 4 : 5);
	}
	if (!strcmp(type, "int")) {
		char *end;
		errno = 0;
		long long v = strtoll(text, &end, 10);
		if (errno || end == text || *end)
			goto bad;
		char buf[32];
		snprintf(buf, sizeof(buf), "%lld", v);
		return fl_doc_new_scalar(FL_DOC_INT, buf, strlen(buf));
	}
	if (!strcmp(type, "float")) {
		char *end;
		double v = strtod(text, &end);
		if (end == text || *end)
			goto bad;
		struct fl_buf b = FL_BUF_INIT;
		struct fl_doc *d = NULL;
		if (fl_doc_format_float(v, &b) == 0)
			d = fl_doc_new_scalar(FL_DOC_FLOAT, b.ptr, b.len);
		fl_buf_free(&b);
		return d;
	}
	fl_error_set(FL_E_INVALID, "sops value has an unknown type \"%s\"", type);
	return NULL;
bad:
	fl_error_set(FL_E_INVALID, "sops value of type %s does not hold a valid %s", type, type);
	return NULL;
}

int fl_sops_value_decrypt(const char *enc, size_t len, const uint8_t key[FL_SOPS_KEY_LEN],
                          const char *ad, struct fl_doc **out, struct fl_sops_iv *iv_out)
{
	struct fl_sops_enc e;
	if (fl_sops_enc_parse(enc, len, &e) < 0)
		return -1;
	uint8_t *plain = malloc(e.data_len + 1);
	if (!plain) {
		fl_sops_enc_free(&e);
		return fl_error_set(FL_E_NOMEM, "out of memory");
	}
	int rc = -1;
	if (gcm(0, key, e.iv, e.iv_len, ad, e.data, e.data_len, plain, e.tag) < 0) {
		fl_error_set(
		    FL_E_INTEGRITY,
		    "the value at %s does not decrypt: wrong data key, or the value or its "
		    "key path was changed",
		    ad);
		goto out;
	}
	plain[e.data_len] = '\0';
	*out = typed_value(e.type, (const char *)plain, e.data_len);
	if (!*out)
		goto out;
	if (iv_out) {
		/* The exact IV: re-encrypting with it must give the same bytes. */
		memcpy(iv_out->b, e.iv, e.iv_len);
		iv_out->len = e.iv_len;
	}
	rc = 0;
out:
	sodium_memzero(plain, e.data_len + 1);
	free(plain);
	fl_sops_enc_free(&e);
	return rc;
}

int sops_value_bytes(const struct fl_doc *v, const char **type, const char **bytes, size_t *len)
{
	*bytes = v->text ? v->text : "";
	*len = v->len;
	switch (v->type) {
	case FL_DOC_STR:
	case FL_DOC_BYTES:
		/* sops walks []byte values as strings. */
		*type = "str";
		return 0;
	case FL_DOC_INT:
		*type = "int";
		return 0;
	case FL_DOC_FLOAT:
		*type = "float";
		return 0;
	case FL_DOC_BOOL:
		/* sops writes booleans the Python way. */
		*type = "bool";
		*bytes = strcmp(v->text, "true") == 0 ? "True" : "False";
		*len = strlen(*bytes);
		return 0;
	case FL_DOC_TIME:
		*type = "time";
		return 0;
	case FL_DOC_COMMENT:
		*type = "comment";
		return 0;
	default:
		return fl_error_set(FL_E_INVALID, "this value cannot be encrypted");
	}
}

int fl_sops_value_encrypt(const struct fl_doc *v, const uint8_t key[FL_SOPS_KEY_LEN],
                          const char *ad, const struct fl_sops_iv *iv, struct fl_buf *out)
{
	const char *type, *bytes;
	size_t len;
	if (sops_value_bytes(v, &type, &bytes, &len) < 0)
		return -1;
	/* sops: empty strings (and comments) are not encrypted. */
	if (len == 0 &&
	    (v->type == FL_DOC_STR || v->type == FL_DOC_BYTES || v->type == FL_DOC_COMMENT))
		return 0;
	uint8_t ivb[FL_SOPS_IV_MAX], tag[16];
	size_t ivlen = FL_SOPS_IV_LEN;
	if (iv && (iv->len < 12 || iv->len > FL_SOPS_IV_MAX))
		return fl_error_set(FL_E_INVALID, "an IV of %zu bytes", iv->len);
	if (iv) {
		ivlen = iv->len;
		memcpy(ivb, iv->b, ivlen);
	} else {
		randombytes_buf(ivb, ivlen);
	}
	uint8_t *ct = malloc(len + 16);
	if (!ct)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	if (gcm(1, key, ivb, ivlen, ad, (const uint8_t *)bytes, len, ct, tag) < 0) {
		free(ct);
		return fl_error_set(FL_E_CRYPTO, "AES-256-GCM encryption failed");
	}
	char *d64 = malloc(fl_b64_encoded_len(len, FL_B64_PAD) + 1);
	char iv64[(FL_SOPS_IV_MAX + 2) / 3 * 4 + 1], tag64[32];
	int rc = -1;
	if (d64) {
		fl_b64_encode(d64, ct, len, FL_B64_PAD);
		fl_b64_encode(iv64, ivb, ivlen, FL_B64_PAD);
		fl_b64_encode(tag64, tag, sizeof(tag), FL_B64_PAD);
		rc = fl_buf_printf(out, ENC_PREFIX "%s,iv:%s,tag:%s,type:%s]", d64, iv64, tag64,
		                   type);
	} else {
		fl_error_set(FL_E_NOMEM, "out of memory");
	}
	free(d64);
	free(ct);
	return rc;
}
