/*
 * Unit tests for src/age/ssh_key.c and src/age/bcrypt_pbkdf.c.
 *
 * Fixtures in tests/data/ssh/ come from ssh-keygen (see generate.sh there): every encrypted or
 * PEM file holds the same key as its unencrypted original, so unlocking must reproduce exactly
 * the unencrypted secret. Data is found under $FLEET_TEST_DATA/ssh, else data/ssh.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* BF_* is the independent Blowfish reference */

#include "age/bcrypt_pbkdf.h"
#include "age/ssh_key.h"
#include "fleet/buf.h"
#include "fleet/error.h"

#include <errno.h>
#include <openssl/blowfish.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASS "fleet-test-passphrase"

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, " [last error %s: %s]\n",                                  \
			        fl_error_class_name(fl_error_last()->klass),                       \
			        fl_error_last()->message);                                         \
		}                                                                                  \
	} while (0)

static const char *const ed25519_encrypted[] = {
    "id_ed25519_enc_aes256-ctr",
    "id_ed25519_enc_aes128-ctr",
    "id_ed25519_enc_aes192-ctr",
    "id_ed25519_enc_aes128-cbc",
    "id_ed25519_enc_aes256-cbc",
    "id_ed25519_enc_aes128-gcm",
    "id_ed25519_enc_aes256-gcm",
    "id_ed25519_enc_chacha20-poly1305",
    "id_ed25519_enc_rounds1_aes256-ctr",
    "id_ed25519_enc_rounds1_aes256-gcm",
    "id_ed25519_enc_rounds1_chacha20-poly1305",
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void read_fixture(struct fl_buf *out, const char *name)
{
	const char *dir = getenv("FLEET_TEST_DATA");
	char path[4096];
	snprintf(path, sizeof(path), "%s/ssh/%s", dir && *dir ? dir : "data", name);
	fl_buf_clear(out);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open fixture %s: %s (set FLEET_TEST_DATA to tests/data)\n",
		        path, strerror(errno));
		exit(2);
	}
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (fl_buf_put(out, chunk, n) < 0)
			exit(2);
	fclose(f);
}

static int error_is(enum fl_error_class klass, const char *needle)
{
	return fl_error_last()->klass == klass && strstr(fl_error_last()->message, needle);
}

static int is_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

/* The blob of a .pub file, decoded here with libsodium independently of ssh_key.c. */
static void pub_file_blob(struct fl_buf *blob, const char *name)
{
	struct fl_buf text = FL_BUF_INIT;
	read_fixture(&text, name);
	char *b64 = strchr(text.ptr, ' ') + 1;
	size_t b64len = strcspn(b64, " \n");
	size_t binlen;
	fl_buf_clear(blob);
	fl_buf_grow(blob, b64len);
	if (sodium_base642bin((unsigned char *)blob->ptr, b64len, b64, b64len, NULL, &binlen, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0) {
		fprintf(stderr, "fixture %s: bad base64\n", name);
		exit(2);
	}
	blob->len = binlen;
	fl_buf_free(&text);
}

static int blob_equals_pub_file(const struct fl_ssh_pubkey *k, const char *pubname)
{
	struct fl_buf want = FL_BUF_INIT;
	pub_file_blob(&want, pubname);
	int eq = k->blob.len == want.len && memcmp(k->blob.ptr, want.ptr, want.len) == 0;
	fl_buf_free(&want);
	return eq;
}

static int ed25519_seed_matches(const struct fl_ssh_privkey *k)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	crypto_sign_seed_keypair(pk, sk, k->ed25519_seed);
	return memcmp(pk, k->pub.ed25519, sizeof(pk)) == 0;
}

static int rsa_oaep_roundtrip(EVP_PKEY *pub, EVP_PKEY *priv)
{
	static const unsigned char msg[] = "fleet file key";
	unsigned char ct[2048], pt[2048];
	size_t ctlen = sizeof(ct), ptlen = sizeof(pt);
	int ok = 0;
	EVP_PKEY_CTX *e = EVP_PKEY_CTX_new(pub, NULL), *d = EVP_PKEY_CTX_new(priv, NULL);
	if (e && d && EVP_PKEY_encrypt_init(e) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(e, RSA_PKCS1_OAEP_PADDING) > 0 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md(e, EVP_sha256()) > 0 &&
	    EVP_PKEY_encrypt(e, ct, &ctlen, msg, sizeof(msg)) > 0 && EVP_PKEY_decrypt_init(d) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(d, RSA_PKCS1_OAEP_PADDING) > 0 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md(d, EVP_sha256()) > 0 &&
	    EVP_PKEY_decrypt(d, pt, &ptlen, ct, ctlen) > 0)
		ok = ptlen == sizeof(msg) && memcmp(pt, msg, ptlen) == 0;
	EVP_PKEY_CTX_free(e);
	EVP_PKEY_CTX_free(d);
	ERR_clear_error();
	return ok;
}

static int rsa_same_private(EVP_PKEY *a, EVP_PKEY *b)
{
	BIGNUM *da = NULL, *db = NULL;
	int eq = EVP_PKEY_get_bn_param(a, OSSL_PKEY_PARAM_RSA_D, &da) &&
	         EVP_PKEY_get_bn_param(b, OSSL_PKEY_PARAM_RSA_D, &db) && BN_cmp(da, db) == 0 &&
	         EVP_PKEY_eq(a, b) == 1;
	BN_clear_free(da);
	BN_clear_free(db);
	return eq;
}

static void test_pi_constants(void)
{
	/* Blowfish (Schneier 1993): P and S are the hexadecimal fraction digits of pi. */
	const uint32_t *w = fl_blowfish_pi_words();
	CHECK(w != NULL, "pi words");
	if (!w)
		return;
	CHECK(w[0] == 0x243F6A88 && w[1] == 0x85A308D3 && w[2] == 0x13198A2E && w[3] == 0x03707344,
	      "P[0..3] = %08x %08x %08x %08x", w[0], w[1], w[2], w[3]);
	CHECK(w[18] == 0xD1310BA6 && w[19] == 0x98DFB5AC, "S[0][0..1] = %08x %08x", w[18], w[19]);
	CHECK(w[FL_BLOWFISH_PI_WORDS - 1] == 0x3AC372E6, "S[3][255] = %08x",
	      w[FL_BLOWFISH_PI_WORDS - 1]);
	CHECK(fl_blowfish_pi_words() == w, "computed once");
}

/* Blowfish with the classic key schedule must agree with OpenSSL's independent table-driven
 * implementation; the key schedule runs every P and S word through the cipher. */
static void test_blowfish_matches_openssl(void)
{
	uint8_t key[56];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 37 + 11);
	for (size_t keylen = 1; keylen <= sizeof(key); keylen += 5) {
		struct fl_blowfish c;
		BF_KEY ref;
		if (fl_blowfish_init(&c) < 0) {
			CHECK(0, "init");
			return;
		}
		fl_blowfish_expand(&c, NULL, 0, key, keylen);
		BF_set_key(&ref, (int)keylen, key);
		uint8_t in[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, (uint8_t)keylen}, out[8];
		BF_ecb_encrypt(in, out, &ref, BF_ENCRYPT);
		uint32_t l =
		    (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
		uint32_t r =
		    (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
		fl_blowfish_encipher(&c, &l, &r);
		uint32_t wl = (uint32_t)out[0] << 24 | (uint32_t)out[1] << 16 |
		              (uint32_t)out[2] << 8 | out[3];
		uint32_t wr = (uint32_t)out[4] << 24 | (uint32_t)out[5] << 16 |
		              (uint32_t)out[6] << 8 | out[7];
		CHECK(l == wl && r == wr, "keylen %zu: %08x%08x, OpenSSL %08x%08x", keylen, l, r,
		      wl, wr);
	}
	/* Schneier's published vector: zero key, zero block -> 4EF997456198DD78. */
	struct fl_blowfish c;
	const uint8_t zero[8] = {0};
	uint32_t l = 0, r = 0;
	fl_blowfish_init(&c);
	fl_blowfish_expand(&c, NULL, 0, zero, sizeof(zero));
	fl_blowfish_encipher(&c, &l, &r);
	CHECK(l == 0x4EF99745 && r == 0x6198DD78, "zero vector: %08x%08x", l, r);
}

static void test_bcrypt_pbkdf_params(void)
{
	uint8_t salt[16] = {1}, key[1025];
	CHECK(fl_bcrypt_pbkdf("pw", 2, salt, sizeof(salt), key, 32, 0) == -1 &&
	          error_is(FL_E_INVALID, "rounds"),
	      "rounds 0");
	CHECK(fl_bcrypt_pbkdf("pw", 2, salt, sizeof(salt), key, 0, 1) == -1, "keylen 0");
	CHECK(fl_bcrypt_pbkdf("pw", 2, salt, sizeof(salt), key, 1025, 1) == -1 &&
	          error_is(FL_E_INVALID, "key length"),
	      "keylen 1025");
	CHECK(fl_bcrypt_pbkdf("pw", 2, salt, 0, key, 32, 1) == -1 && error_is(FL_E_INVALID, "salt"),
	      "saltlen 0");
	CHECK(fl_bcrypt_pbkdf("", 0, salt, sizeof(salt), key, 32, 1) == -1, "empty passphrase");
	CHECK(fl_bcrypt_pbkdf("pw", 2, salt, sizeof(salt), key, 1024, 1) == 0, "keylen 1024");

	/* bcrypt_pbkdf(3): byte i of each 32-byte block is spread with stride ceil(keylen/32), so
	 * a longer key is not a prefix extension of a shorter one, but a key is deterministic. */
	uint8_t a[48], b[48], c[32];
	CHECK(fl_bcrypt_pbkdf(PASS, strlen(PASS), salt, sizeof(salt), a, sizeof(a), 2) == 0 &&
	          fl_bcrypt_pbkdf(PASS, strlen(PASS), salt, sizeof(salt), b, sizeof(b), 2) == 0 &&
	          memcmp(a, b, sizeof(a)) == 0,
	      "deterministic");
	CHECK(fl_bcrypt_pbkdf(PASS, strlen(PASS), salt, sizeof(salt), c, sizeof(c), 2) == 0 &&
	          memcmp(a, c, sizeof(c)) != 0,
	      "stride interleaving");
	CHECK(fl_bcrypt_pbkdf(PASS, strlen(PASS), salt, sizeof(salt), b, sizeof(b), 3) == 0 &&
	          memcmp(a, b, sizeof(a)) != 0,
	      "rounds matter");
}

/* age tag = first 4 bytes of SHA-256(blob); ssh-keygen's SHA256 fingerprint is the whole digest
 * in unpadded base64, so the two are compared through the digest bytes. */
static void check_tag_against_fingerprint(const struct fl_ssh_pubkey *k, const char *fpname)
{
	struct fl_buf fp = FL_BUF_INIT;
	read_fixture(&fp, fpname);
	const char *b64 = strchr(fp.ptr, ':') + 1;
	uint8_t digest[64];
	size_t n;
	char want[7], got[7];
	CHECK(sodium_base642bin(digest, sizeof(digest), b64, strcspn(b64, "\n"), NULL, &n, NULL,
	                        sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0 &&
	          n == 32,
	      "%s: fingerprint decodes", fpname);
	sodium_bin2base64(want, sizeof(want), digest, 4, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	fl_ssh_pubkey_tag(k, got);
	CHECK(strcmp(want, got) == 0 && strlen(got) == 6, "%s: tag %s, want %s", fpname, got, want);
	fl_buf_free(&fp);
}

static void test_pubkey_files(void)
{
	static const struct {
		const char *file;
		enum fl_ssh_key_type type;
	} cases[] = {{"id_ed25519.pub", FL_SSH_ED25519},
	             {"id_rsa.pub", FL_SSH_RSA},
	             {"id_ed25519_pkcs8.pub", FL_SSH_ED25519}};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct fl_buf text = FL_BUF_INIT;
		struct fl_ssh_pubkey k;
		char fpname[64];
		read_fixture(&text, cases[i].file);
		int rc = fl_ssh_pubkey_parse(&k, text.ptr);
		CHECK(rc == 0, "%s parses", cases[i].file);
		if (rc == 0) {
			CHECK(k.type == cases[i].type, "%s type", cases[i].file);
			CHECK(blob_equals_pub_file(&k, cases[i].file), "%s blob", cases[i].file);
			snprintf(fpname, sizeof(fpname), "%s.sha256", cases[i].file);
			check_tag_against_fingerprint(&k, fpname);
			if (k.type == FL_SSH_ED25519)
				CHECK(memcmp(k.ed25519, k.blob.ptr + k.blob.len - 32, 32) == 0,
				      "%s: ed25519 field is the blob's key", cases[i].file);
			else
				CHECK(k.rsa && EVP_PKEY_get_bits(k.rsa) == 3072, "%s: RSA 3072",
				      cases[i].file);
		}
		fl_ssh_pubkey_clear(&k);
		CHECK(is_zero(&k, sizeof(k)), "clear zeroes");
		fl_buf_free(&text);
	}
}

static void test_pubkey_rejects(void)
{
	struct fl_buf ed = FL_BUF_INIT, rsa = FL_BUF_INIT, line = FL_BUF_INIT;
	struct fl_ssh_pubkey k;
	read_fixture(&ed, "id_ed25519.pub");
	read_fixture(&rsa, "id_rsa.pub");
	const char *ed_b64 = strchr(ed.ptr, ' ') + 1;
	int ed_b64len = (int)strcspn(ed_b64, " \n");

	read_fixture(&line, "ecdsa_key.pub");
	CHECK(fl_ssh_pubkey_parse(&k, line.ptr) == -1 &&
	          error_is(FL_E_UNSUPPORTED, "ecdsa-sha2-nistp256"),
	      "ecdsa is unsupported, named");
	CHECK(is_zero(&k, sizeof(k)), "failed parse leaves *out zeroed");
	read_fixture(&line, "rsa1024_key.pub");
	CHECK(fl_ssh_pubkey_parse(&k, line.ptr) == -1 && error_is(FL_E_INVALID, "1024 bits"),
	      "RSA 1024 refused naming the size");
	CHECK(fl_ssh_pubkey_parse(&k, "sk-ssh-ed25519@openssh.com AAAA x") == -1 &&
	          error_is(FL_E_UNSUPPORTED, "sk-ssh-ed25519@openssh.com"),
	      "sk- unsupported");

	fl_buf_clear(&line);
	fl_buf_printf(&line, "ssh-rsa %.*s test", ed_b64len, ed_b64);
	CHECK(fl_ssh_pubkey_parse(&k, line.ptr) == -1 && error_is(FL_E_INVALID, "ssh-ed25519"),
	      "type word must match the blob");

	/* Trailing bytes inside the blob. */
	struct fl_buf blob = FL_BUF_INIT;
	char b64[256];
	pub_file_blob(&blob, "id_ed25519.pub");
	fl_buf_putc(&blob, 0);
	sodium_bin2base64(b64, sizeof(b64), (unsigned char *)blob.ptr, blob.len,
	                  sodium_base64_VARIANT_ORIGINAL);
	fl_buf_clear(&line);
	fl_buf_printf(&line, "ssh-ed25519 %s", b64);
	CHECK(fl_ssh_pubkey_parse(&k, line.ptr) == -1 && error_is(FL_E_INVALID, "unexpected"),
	      "trailing blob bytes");

	/* Missing padding, bad characters, truncated base64. */
	fl_buf_clear(&line);
	fl_buf_printf(&line, "ssh-ed25519 %.*s", ed_b64len - 1, ed_b64);
	CHECK(fl_ssh_pubkey_parse(&k, line.ptr) == -1 && error_is(FL_E_INVALID, "base64"),
	      "short base64");
	fl_buf_clear(&line);
	fl_buf_printf(&line, "ssh-ed25519 %.*s", ed_b64len - 4, ed_b64);
	CHECK(fl_ssh_pubkey_parse(&k, line.ptr) == -1, "truncated blob");
	fl_buf_clear(&line);
	fl_buf_printf(&line, "ssh-ed25519 !%.*s", ed_b64len - 1, ed_b64 + 1);
	CHECK(fl_ssh_pubkey_parse(&k, line.ptr) == -1 && error_is(FL_E_INVALID, "base64"),
	      "bad base64 character");

	const char *bad[] = {
	    "", "   ", "ssh-ed25519", "ssh-ed25519 ", "hello world", "AGE-SECRET-KEY-1QQQ"};
	for (size_t i = 0; i < N_ELEMS(bad); i++)
		CHECK(fl_ssh_pubkey_parse(&k, bad[i]) == -1 &&
		          fl_error_last()->klass == FL_E_INVALID,
		      "\"%s\" is invalid", bad[i]);

	/* One line, optionally newline-terminated; anything after a newline is refused. */
	fl_buf_clear(&line);
	fl_buf_printf(&line, "ssh-ed25519 %.*s\r\n", ed_b64len, ed_b64);
	CHECK(fl_ssh_pubkey_parse(&k, line.ptr) == 0, "CRLF-terminated line");
	fl_ssh_pubkey_clear(&k);
	fl_buf_clear(&line);
	fl_buf_printf(&line, "  ssh-ed25519\t%.*s", ed_b64len, ed_b64);
	CHECK(fl_ssh_pubkey_parse(&k, line.ptr) == 0, "no comment, leading blanks, tab");
	fl_ssh_pubkey_clear(&k);
	fl_buf_clear(&line);
	fl_buf_printf(&line, "ssh-ed25519 %.*s c\nssh-ed25519 %.*s", ed_b64len, ed_b64, ed_b64len,
	              ed_b64);
	CHECK(fl_ssh_pubkey_parse(&k, line.ptr) == -1 && error_is(FL_E_INVALID, "single line"),
	      "two lines");

	fl_buf_free(&blob);
	fl_buf_free(&ed);
	fl_buf_free(&rsa);
	fl_buf_free(&line);
}

static int parse_fixture(struct fl_ssh_privkey *k, const char *name)
{
	struct fl_buf text = FL_BUF_INIT;
	read_fixture(&text, name);
	int rc = fl_ssh_privkey_parse(k, text.ptr, text.len, name);
	fl_buf_free(&text);
	return rc;
}

static void test_unencrypted(void)
{
	struct fl_ssh_privkey ed, rsa;
	CHECK(parse_fixture(&ed, "id_ed25519") == 0, "id_ed25519 parses");
	CHECK(ed.locked == 0 && ed.pub.type == FL_SSH_ED25519, "id_ed25519 unlocked ed25519");
	CHECK(blob_equals_pub_file(&ed.pub, "id_ed25519.pub"), "id_ed25519 public = .pub");
	CHECK(!is_zero(ed.ed25519_seed, 32) && ed25519_seed_matches(&ed),
	      "id_ed25519 seed derives the public key");
	CHECK(fl_ssh_privkey_unlock(&ed, "x", 1) == 0, "unlocking an unlocked key is a no-op");
	fl_ssh_privkey_clear(&ed);
	CHECK(is_zero(&ed, sizeof(ed)), "privkey clear zeroes");

	CHECK(parse_fixture(&rsa, "id_rsa") == 0, "id_rsa parses");
	CHECK(rsa.locked == 0 && rsa.pub.type == FL_SSH_RSA && rsa.rsa_priv, "id_rsa unlocked rsa");
	CHECK(blob_equals_pub_file(&rsa.pub, "id_rsa.pub"), "id_rsa public = .pub");
	CHECK(rsa.rsa_priv && rsa_oaep_roundtrip(rsa.pub.rsa, rsa.rsa_priv),
	      "OAEP with the public key decrypts with the private key");
	CHECK(rsa.rsa_priv && EVP_PKEY_eq(rsa.pub.rsa, rsa.rsa_priv) == 1, "RSA pub/priv match");
	fl_ssh_privkey_clear(&rsa);
}

static void test_encrypted_ed25519(void)
{
	struct fl_ssh_privkey plain;
	if (parse_fixture(&plain, "id_ed25519") < 0) {
		CHECK(0, "id_ed25519 parses");
		return;
	}
	for (size_t i = 0; i < N_ELEMS(ed25519_encrypted); i++) {
		const char *name = ed25519_encrypted[i];
		struct fl_ssh_privkey k;
		if (parse_fixture(&k, name) < 0) {
			CHECK(0, "%s parses", name);
			continue;
		}
		CHECK(k.locked == 1 && k.pub.type == FL_SSH_ED25519, "%s locked", name);
		CHECK(blob_equals_pub_file(&k.pub, "id_ed25519.pub"), "%s public before unlock",
		      name);
		CHECK(is_zero(k.ed25519_seed, 32), "%s: no secret before unlock", name);
		CHECK(fl_ssh_privkey_unlock(&k, "wrong passphrase", 16) == -1 &&
		          error_is(FL_E_INVALID, "incorrect passphrase") &&
		          strstr(fl_error_last()->message, name),
		      "%s: wrong passphrase", name);
		CHECK(k.locked == 1 && is_zero(k.ed25519_seed, 32), "%s: still locked", name);
		CHECK(fl_ssh_privkey_unlock(&k, "", 0) == -1 &&
		          error_is(FL_E_INVALID, "incorrect passphrase"),
		      "%s: empty passphrase", name);
		CHECK(fl_ssh_privkey_unlock(&k, PASS, strlen(PASS)) == 0, "%s: unlock", name);
		CHECK(k.locked == 0 && memcmp(k.ed25519_seed, plain.ed25519_seed, 32) == 0 &&
		          ed25519_seed_matches(&k),
		      "%s: same seed as id_ed25519", name);
		CHECK(fl_ssh_privkey_unlock(&k, "wrong", 5) == 0, "%s: second unlock no-op", name);
		fl_ssh_privkey_clear(&k);
	}
	fl_ssh_privkey_clear(&plain);
}

static void test_encrypted_rsa(void)
{
	struct fl_ssh_privkey plain, k;
	if (parse_fixture(&plain, "id_rsa") < 0 || parse_fixture(&k, "id_rsa_enc_aes256-ctr") < 0) {
		CHECK(0, "RSA fixtures parse");
		return;
	}
	CHECK(k.locked == 1 && k.pub.type == FL_SSH_RSA && !k.rsa_priv, "RSA enc locked");
	CHECK(blob_equals_pub_file(&k.pub, "id_rsa.pub"), "RSA enc public before unlock");
	CHECK(fl_ssh_privkey_unlock(&k, PASS "x", strlen(PASS) + 1) == -1 &&
	          error_is(FL_E_INVALID, "incorrect passphrase"),
	      "RSA wrong passphrase");
	CHECK(fl_ssh_privkey_unlock(&k, PASS, strlen(PASS)) == 0, "RSA unlock");
	CHECK(k.rsa_priv && rsa_same_private(k.rsa_priv, plain.rsa_priv), "same RSA private key");
	CHECK(k.rsa_priv && rsa_oaep_roundtrip(plain.pub.rsa, k.rsa_priv), "RSA OAEP round trip");
	fl_ssh_privkey_clear(&k);
	fl_ssh_privkey_clear(&plain);
}

static void test_pem(void)
{
	struct fl_ssh_privkey plain, k;
	if (parse_fixture(&plain, "id_rsa") < 0) {
		CHECK(0, "id_rsa parses");
		return;
	}
	const char *rsa_pems[] = {"id_rsa_pem", "id_rsa_pkcs8"};
	for (size_t i = 0; i < N_ELEMS(rsa_pems); i++) {
		CHECK(parse_fixture(&k, rsa_pems[i]) == 0, "%s parses", rsa_pems[i]);
		CHECK(k.locked == 0 && k.pub.type == FL_SSH_RSA, "%s is unlocked RSA", rsa_pems[i]);
		CHECK(blob_equals_pub_file(&k.pub, "id_rsa.pub"), "%s public = id_rsa.pub",
		      rsa_pems[i]);
		CHECK(k.rsa_priv && rsa_same_private(k.rsa_priv, plain.rsa_priv),
		      "%s same private key", rsa_pems[i]);
		fl_ssh_privkey_clear(&k);
	}
	fl_ssh_privkey_clear(&plain);

	CHECK(parse_fixture(&k, "id_ed25519_pkcs8") == 0, "PKCS#8 Ed25519 parses");
	CHECK(k.pub.type == FL_SSH_ED25519 &&
	          blob_equals_pub_file(&k.pub, "id_ed25519_pkcs8.pub") && ed25519_seed_matches(&k),
	      "PKCS#8 Ed25519 seed and public");
	fl_ssh_privkey_clear(&k);

	CHECK(parse_fixture(&k, "id_rsa_pem_enc") == -1 &&
	          error_is(FL_E_UNSUPPORTED, "ssh-keygen -p") &&
	          strstr(fl_error_last()->message, "id_rsa_pem_enc"),
	      "encrypted PEM unsupported with a hint");
	CHECK(parse_fixture(&k, "ecdsa_key") == -1 && error_is(FL_E_UNSUPPORTED, "ecdsa"),
	      "OpenSSH ECDSA key unsupported");
	CHECK(parse_fixture(&k, "rsa1024_key") == -1 && error_is(FL_E_INVALID, "1024"),
	      "OpenSSH RSA 1024 refused");
	CHECK(fl_ssh_privkey_parse(&k, "hello", 5, "f") == -1 && error_is(FL_E_INVALID, "f: not"),
	      "not a key");
	CHECK(fl_ssh_privkey_parse(&k, "", 0, "f") == -1, "empty file");
}

static void test_detect(void)
{
	const char *yes[] = {
	    "id_ed25519",       "id_rsa",         "id_rsa_pem", "id_rsa_pkcs8",
	    "id_ed25519_pkcs8", "id_rsa_pem_enc", "ecdsa_key",  "id_ed25519_enc_aes256-gcm"};
	const char *no[] = {"id_ed25519.pub", "id_rsa.pub", "generate.sh"};
	struct fl_buf text = FL_BUF_INIT;
	for (size_t i = 0; i < N_ELEMS(yes); i++) {
		read_fixture(&text, yes[i]);
		CHECK(fl_ssh_privkey_detect(text.ptr, text.len) == 1, "detect %s", yes[i]);
	}
	for (size_t i = 0; i < N_ELEMS(no); i++) {
		read_fixture(&text, no[i]);
		CHECK(fl_ssh_privkey_detect(text.ptr, text.len) == 0, "detect %s", no[i]);
	}
	fl_buf_clear(&text);
	fl_buf_puts(&text, " \n\t");
	struct fl_buf key = FL_BUF_INIT;
	read_fixture(&key, "id_ed25519");
	fl_buf_put(&text, key.ptr, key.len);
	CHECK(fl_ssh_privkey_detect(text.ptr, text.len) == 1, "leading whitespace");
	CHECK(fl_ssh_privkey_detect(key.ptr, 20) == 0, "truncated BEGIN line");
	const char *junk = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	CHECK(fl_ssh_privkey_detect(junk, strlen(junk)) == 0, "PKCS#8 junk");
	CHECK(fl_ssh_privkey_detect("AGE-SECRET-KEY-1", 16) == 0, "age identity");
	CHECK(fl_ssh_privkey_detect("", 0) == 0, "empty");
	fl_buf_free(&key);
	fl_buf_free(&text);
}

/* After any parse: failure leaves an error and a zeroed struct; success means the secret really
 * belongs to the public key. */
static int parse_outcome_ok(struct fl_ssh_privkey *k, int rc)
{
	if (rc == -1)
		return fl_error_last()->klass != FL_E_NONE && fl_error_last()->message[0] &&
		       is_zero(k, sizeof(*k));
	if (rc != 0)
		return 0;
	if (k->locked)
		return k->pub.blob.len > 0;
	if (k->pub.type == FL_SSH_ED25519)
		return ed25519_seed_matches(k);
	return k->rsa_priv && EVP_PKEY_eq(k->pub.rsa, k->rsa_priv) == 1;
}

/* The PEM armor around a binary OpenSSH key, 70 base64 characters a line like ssh-keygen. */
static void armor(struct fl_buf *out, const uint8_t *bin, size_t len)
{
	size_t b64max = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(b64max);
	sodium_bin2base64(b64, b64max, bin, len, sodium_base64_VARIANT_ORIGINAL);
	fl_buf_clear(out);
	fl_buf_puts(out, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
	for (size_t off = 0, n = strlen(b64); off < n; off += 70)
		fl_buf_printf(out, "%.*s\n", (int)(n - off < 70 ? n - off : 70), b64 + off);
	fl_buf_puts(out, "-----END OPENSSH PRIVATE KEY-----\n");
	free(b64);
}

static void dearmor(struct fl_buf *bin, const struct fl_buf *text)
{
	const char *body = strchr(text->ptr, '\n') + 1;
	const char *end = strstr(body, "-----END");
	size_t n;
	fl_buf_clear(bin);
	fl_buf_grow(bin, (size_t)(end - body));
	sodium_base642bin((unsigned char *)bin->ptr, (size_t)(end - body), body,
	                  (size_t)(end - body), "\n", &n, NULL, sodium_base64_VARIANT_ORIGINAL);
	bin->len = n;
}

/* --- Hand-built OpenSSH keys (PROTOCOL.key), to break one rule at a time. --- */

static void put_u32(struct fl_buf *b, uint32_t v)
{
	const uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
	                       (uint8_t)v};
	fl_buf_put(b, be, 4);
}

static void put_str(struct fl_buf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	fl_buf_put(b, p, n);
}

static void put_cstr(struct fl_buf *b, const char *s)
{
	put_str(b, s, strlen(s));
}

/* RFC 4251 §5 mpint; `extra_zero` adds a forbidden unnecessary leading zero byte. */
static void put_mpint(struct fl_buf *b, const BIGNUM *bn, int extra_zero)
{
	uint8_t tmp[2048];
	int n = BN_bn2bin(bn, tmp + 2);
	size_t skip = (tmp[2] & 0x80) ? 1 : 2;
	tmp[0] = tmp[1] = 0;
	if (extra_zero)
		skip--;
	put_str(b, tmp + skip, (size_t)n + 2 - skip);
}

struct craft {
	const char *cipher, *kdf, *kdfopts;
	uint32_t nkeys, check1, check2;
	size_t extra_pad;       /* padding beyond the block boundary */
	int bad_pad;            /* last padding byte wrong */
	int trailing;           /* a byte after the private section */
	const char *inner_type; /* type name inside the private section */
};

static const struct craft craft_default = {"none", "none", "", 1, 7, 7, 0, 0, 0, NULL};

static void finish_key(struct fl_buf *out, const struct craft *c, const struct fl_buf *pub,
                       struct fl_buf *sec)
{
	size_t pad = (8 - sec->len % 8) % 8 + c->extra_pad;
	for (size_t i = 0; i < pad; i++)
		fl_buf_putc(sec, (char)(i + 1));
	if (c->bad_pad && pad)
		sec->ptr[sec->len - 1] ^= 0x40;
	struct fl_buf bin = FL_BUF_INIT;
	fl_buf_put(&bin, "openssh-key-v1", 15);
	put_cstr(&bin, c->cipher);
	put_cstr(&bin, c->kdf);
	put_cstr(&bin, c->kdfopts);
	put_u32(&bin, c->nkeys);
	put_str(&bin, pub->ptr, pub->len);
	put_str(&bin, sec->ptr, sec->len);
	if (c->trailing)
		fl_buf_putc(&bin, 0);
	armor(out, (const uint8_t *)bin.ptr, bin.len);
	fl_buf_free(&bin);
}

static void craft_ed25519(struct fl_buf *out, const struct craft *c, const uint8_t seed[32],
                          const uint8_t pk[32])
{
	struct fl_buf pub = FL_BUF_INIT, sec = FL_BUF_INIT;
	uint8_t sk[64];
	memcpy(sk, seed, 32);
	memcpy(sk + 32, pk, 32);
	put_cstr(&pub, "ssh-ed25519");
	put_str(&pub, pk, 32);
	put_u32(&sec, c->check1);
	put_u32(&sec, c->check2);
	put_cstr(&sec, c->inner_type ? c->inner_type : "ssh-ed25519");
	put_str(&sec, pk, 32);
	put_str(&sec, sk, 64);
	put_cstr(&sec, "crafted");
	finish_key(out, c, &pub, &sec);
	fl_buf_free(&pub);
	fl_buf_free(&sec);
}

struct rsa_parts {
	BIGNUM *n, *e, *d, *iqmp, *p, *q;
};

static void craft_rsa(struct fl_buf *out, const struct craft *c, const struct rsa_parts *r,
                      int nonminimal_e)
{
	struct fl_buf pub = FL_BUF_INIT, sec = FL_BUF_INIT;
	put_cstr(&pub, "ssh-rsa");
	put_mpint(&pub, r->e, nonminimal_e);
	put_mpint(&pub, r->n, 0);
	put_u32(&sec, c->check1);
	put_u32(&sec, c->check2);
	put_cstr(&sec, "ssh-rsa");
	put_mpint(&sec, r->n, 0);
	put_mpint(&sec, r->e, 0);
	put_mpint(&sec, r->d, 0);
	put_mpint(&sec, r->iqmp, 0);
	put_mpint(&sec, r->p, 0);
	put_mpint(&sec, r->q, 0);
	put_cstr(&sec, "crafted");
	finish_key(out, c, &pub, &sec);
	fl_buf_free(&pub);
	fl_buf_free(&sec);
}

static void expect_crafted(const struct fl_buf *text, int want_rc, const char *needle,
                           const char *what)
{
	struct fl_ssh_privkey k;
	fl_error_clear();
	int rc = fl_ssh_privkey_parse(&k, text->ptr, text->len, "crafted");
	if (want_rc == 0)
		CHECK(rc == 0 && parse_outcome_ok(&k, rc), "%s: accepted", what);
	else
		CHECK(rc == -1 && error_is(FL_E_INVALID, needle) && parse_outcome_ok(&k, rc),
		      "%s: refused mentioning \"%s\"", what, needle);
	fl_ssh_privkey_clear(&k);
}

static void test_crafted_keys(void)
{
	struct fl_ssh_privkey ed, rsa;
	struct fl_buf text = FL_BUF_INIT;
	struct craft c;
	if (parse_fixture(&ed, "id_ed25519") < 0 || parse_fixture(&rsa, "id_rsa") < 0) {
		CHECK(0, "fixtures parse");
		return;
	}
	const uint8_t *seed = ed.ed25519_seed, *pk = ed.pub.ed25519;

	craft_ed25519(&text, &craft_default, seed, pk);
	expect_crafted(&text, 0, NULL, "well-formed Ed25519");
	c = craft_default, c.check2 = 8;
	craft_ed25519(&text, &c, seed, pk);
	expect_crafted(&text, -1, "checkint mismatch (corrupted key)", "checkint1 != checkint2");
	c = craft_default, c.bad_pad = 1;
	craft_ed25519(&text, &c, seed, pk);
	expect_crafted(&text, -1, "padding", "padding not 1,2,3,...");
	c = craft_default, c.extra_pad = 8;
	craft_ed25519(&text, &c, seed, pk);
	expect_crafted(&text, -1, "unexpected bytes", "padding longer than a block");
	c = craft_default, c.nkeys = 2;
	craft_ed25519(&text, &c, seed, pk);
	expect_crafted(&text, -1, "exactly one key", "nkeys 2");
	c = craft_default, c.nkeys = 0;
	craft_ed25519(&text, &c, seed, pk);
	expect_crafted(&text, -1, "exactly one key", "nkeys 0");
	c = craft_default, c.kdf = "bcrypt";
	craft_ed25519(&text, &c, seed, pk);
	expect_crafted(&text, -1, "kdf", "cipher none with kdf bcrypt");
	c = craft_default, c.cipher = "aes256-ctr";
	craft_ed25519(&text, &c, seed, pk);
	expect_crafted(&text, -1, "no kdf", "cipher aes256-ctr with kdf none");
	c = craft_default, c.kdfopts = "x";
	craft_ed25519(&text, &c, seed, pk);
	expect_crafted(&text, -1, "kdf", "cipher none with kdf options");
	c = craft_default, c.trailing = 1;
	craft_ed25519(&text, &c, seed, pk);
	expect_crafted(&text, -1, "unexpected bytes", "byte after the private section");
	c = craft_default, c.inner_type = "ssh-rsa";
	craft_ed25519(&text, &c, seed, pk);
	expect_crafted(&text, -1, "does not match", "private type differs from public");
	uint8_t other_seed[32];
	memcpy(other_seed, seed, 32);
	other_seed[0] ^= 1;
	craft_ed25519(&text, &craft_default, other_seed, pk);
	expect_crafted(&text, -1, "does not match its public key", "seed of another key");

	struct rsa_parts r = {0};
	EVP_PKEY_get_bn_param(rsa.rsa_priv, OSSL_PKEY_PARAM_RSA_N, &r.n);
	EVP_PKEY_get_bn_param(rsa.rsa_priv, OSSL_PKEY_PARAM_RSA_E, &r.e);
	EVP_PKEY_get_bn_param(rsa.rsa_priv, OSSL_PKEY_PARAM_RSA_D, &r.d);
	EVP_PKEY_get_bn_param(rsa.rsa_priv, OSSL_PKEY_PARAM_RSA_FACTOR1, &r.p);
	EVP_PKEY_get_bn_param(rsa.rsa_priv, OSSL_PKEY_PARAM_RSA_FACTOR2, &r.q);
	EVP_PKEY_get_bn_param(rsa.rsa_priv, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &r.iqmp);
	craft_rsa(&text, &craft_default, &r, 0);
	expect_crafted(&text, 0, NULL, "well-formed RSA");
	craft_rsa(&text, &craft_default, &r, 1);
	expect_crafted(&text, -1, "leading zero", "non-minimal mpint");
	BN_add_word(r.n, 2);
	craft_rsa(&text, &craft_default, &r, 0);
	expect_crafted(&text, -1, "p*q != n", "modulus not p*q");
	BN_sub_word(r.n, 2);
	BN_add_word(r.iqmp, 1);
	craft_rsa(&text, &craft_default, &r, 0);
	expect_crafted(&text, -1, "iqmp", "wrong CRT coefficient");
	BN_sub_word(r.iqmp, 1);
	BN_add_word(r.d, 2);
	craft_rsa(&text, &craft_default, &r, 0);
	expect_crafted(&text, -1, "d is not the inverse", "wrong private exponent");

	BN_free(r.n);
	BN_free(r.e);
	BN_clear_free(r.d);
	BN_clear_free(r.p);
	BN_clear_free(r.q);
	BN_clear_free(r.iqmp);
	fl_buf_free(&text);
	fl_ssh_privkey_clear(&ed);
	fl_ssh_privkey_clear(&rsa);
}

static void test_truncation(void)
{
	const char *files[] = {"id_ed25519",
	                       "id_rsa",
	                       "id_rsa_pem",
	                       "id_rsa_pkcs8",
	                       "id_ed25519_pkcs8",
	                       "id_ed25519_enc_aes256-gcm",
	                       "id_ed25519_enc_chacha20-poly1305"};
	struct fl_buf text = FL_BUF_INIT, bin = FL_BUF_INIT, cut = FL_BUF_INIT;
	for (size_t f = 0; f < N_ELEMS(files); f++) {
		read_fixture(&text, files[f]);
		/* Text: anything cut before the END line's closing dashes must fail. */
		const char *endline = strstr(text.ptr, "-----END");
		size_t complete = (size_t)(strstr(endline + 8, "-----") + 5 - text.ptr);
		for (size_t len = 0; len < text.len; len++) {
			struct fl_ssh_privkey k;
			fl_error_clear();
			int rc = fl_ssh_privkey_parse(&k, text.ptr, len, files[f]);
			CHECK(parse_outcome_ok(&k, rc), "%s cut at %zu", files[f], len);
			CHECK(rc == -1 || len >= complete, "%s cut at %zu accepted", files[f], len);
			fl_ssh_privkey_clear(&k);
		}
		if (strncmp(text.ptr, "-----BEGIN OPENSSH", 18) != 0)
			continue;
		/* Binary: every proper prefix of the decoded key must be refused. */
		dearmor(&bin, &text);
		for (size_t len = 0; len < bin.len; len++) {
			struct fl_ssh_privkey k;
			armor(&cut, (const uint8_t *)bin.ptr, len);
			fl_error_clear();
			int rc = fl_ssh_privkey_parse(&k, cut.ptr, cut.len, files[f]);
			CHECK(rc == -1 && parse_outcome_ok(&k, rc), "%s binary prefix %zu",
			      files[f], len);
			fl_ssh_privkey_clear(&k);
		}
	}
	fl_buf_free(&text);
	fl_buf_free(&bin);
	fl_buf_free(&cut);
}

static void test_bit_flips(void)
{
	const char *files[] = {"id_ed25519", "id_rsa", "id_ed25519_enc_rounds1_aes256-ctr",
	                       "id_ed25519_enc_rounds1_aes256-gcm",
	                       "id_ed25519_enc_rounds1_chacha20-poly1305"};
	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	struct fl_buf text = FL_BUF_INIT, bin = FL_BUF_INIT, mod = FL_BUF_INIT;
	for (size_t f = 0; f < N_ELEMS(files); f++) {
		read_fixture(&text, files[f]);
		dearmor(&bin, &text);
		const int aead = strstr(files[f], "gcm") || strstr(files[f], "chacha");
		for (size_t pos = 0; pos < bin.len; pos++) {
			for (size_t m = 0; m < N_ELEMS(masks); m++) {
				struct fl_ssh_privkey k;
				bin.ptr[pos] ^= (char)masks[m];
				armor(&mod, (const uint8_t *)bin.ptr, bin.len);
				bin.ptr[pos] ^= (char)masks[m];
				fl_error_clear();
				int rc = fl_ssh_privkey_parse(&k, mod.ptr, mod.len, files[f]);
				CHECK(parse_outcome_ok(&k, rc), "%s flip %zu^%02x", files[f], pos,
				      masks[m]);
				/* Each unlock costs a bcrypt_pbkdf (a flipped rounds field can ask
				 * for billions): try one mask on every third byte, one round. */
				if (rc == 0 && k.locked && m == 0 && pos % 3 == 0 &&
				    k.kdf_rounds == 1) {
					rc = fl_ssh_privkey_unlock(&k, PASS, strlen(PASS));
					CHECK(rc == -1 ? fl_error_last()->klass != FL_E_NONE
					               : parse_outcome_ok(&k, rc),
					      "%s flip %zu unlock", files[f], pos);
					/* AEAD: a change anywhere (salt, rounds, ciphertext, tag,
					 * public key) must not unlock. */
					CHECK(!aead || rc == -1, "%s flip %zu unlocked", files[f],
					      pos);
				}
				fl_ssh_privkey_clear(&k);
			}
		}
		/* The armored text too: every byte replaced by a few values. */
		for (size_t pos = 0; pos < text.len; pos += 3) {
			static const char repl[] = {'\0', '\n', 'A', '=', '-', (char)0xff};
			for (size_t r = 0; r < sizeof(repl); r++) {
				struct fl_ssh_privkey k;
				char saved = text.ptr[pos];
				text.ptr[pos] = repl[r];
				fl_error_clear();
				int rc = fl_ssh_privkey_parse(&k, text.ptr, text.len, files[f]);
				CHECK(parse_outcome_ok(&k, rc), "%s text %zu=%02x", files[f], pos,
				      (unsigned char)repl[r]);
				fl_ssh_privkey_clear(&k);
				text.ptr[pos] = saved;
			}
		}
	}
	fl_buf_free(&text);
	fl_buf_free(&bin);
	fl_buf_free(&mod);
}

static void test_pubkey_truncation(void)
{
	const char *files[] = {"id_ed25519.pub", "id_rsa.pub"};
	struct fl_buf text = FL_BUF_INIT;
	for (size_t f = 0; f < N_ELEMS(files); f++) {
		read_fixture(&text, files[f]);
		const char *b64 = strchr(text.ptr, ' ') + 1;
		size_t b64end = (size_t)(b64 - text.ptr) + strcspn(b64, " \n");
		for (size_t len = 0; len < b64end; len++) {
			struct fl_ssh_pubkey k;
			char saved = text.ptr[len];
			text.ptr[len] = '\0';
			int rc = fl_ssh_pubkey_parse(&k, text.ptr);
			CHECK(rc == -1 && is_zero(&k, sizeof(k)), "%s cut at %zu", files[f], len);
			text.ptr[len] = saved;
			fl_ssh_pubkey_clear(&k);
		}
	}
	fl_buf_free(&text);
}

int main(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	static const struct {
		const char *name;
		void (*run)(void);
	} cases[] = {
	    {"test_pi_constants", test_pi_constants},
	    {"test_blowfish_matches_openssl", test_blowfish_matches_openssl},
	    {"test_bcrypt_pbkdf_params", test_bcrypt_pbkdf_params},
	    {"test_pubkey_files", test_pubkey_files},
	    {"test_pubkey_rejects", test_pubkey_rejects},
	    {"test_unencrypted", test_unencrypted},
	    {"test_encrypted_ed25519", test_encrypted_ed25519},
	    {"test_encrypted_rsa", test_encrypted_rsa},
	    {"test_pem", test_pem},
	    {"test_detect", test_detect},
	    {"test_crafted_keys", test_crafted_keys},
	    {"test_truncation", test_truncation},
	    {"test_pubkey_truncation", test_pubkey_truncation},
	    {"test_bit_flips", test_bit_flips},
	};
	/* One case per test function, in the TAP-like form tests/count-cases.py reads. */
	int failed_cases = 0;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		int before = failures;
		cases[i].run();
		printf("%s - %s\n", failures == before ? "ok" : "not ok", cases[i].name);
		failed_cases += failures != before;
	}
	printf("test_ssh_key: %zu passed, %d failed\n", N_ELEMS(cases) - (size_t)failed_cases,
	       failed_cases);
	return failed_cases ? 1 : 0;
}
