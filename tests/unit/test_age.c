/* Unit tests for the age library: encodings, keys, round trips, and tampering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleet/age.h"
#include "fleet/base64.h"
#include "fleet/bech32.h"
#include "fleet/error.h"
#include "fleet/fileio.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- base64 (RFC 4648 §10 vectors) --- */

static void test_base64_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *plain, *padded, *unpadded;
	} v[] = {
	    {"", "", ""},
	    {"f", "Zg==", "Zg"},
	    {"fo", "Zm8=", "Zm8"},
	    {"foo", "Zm9v", "Zm9v"},
	    {"foob", "Zm9vYg==", "Zm9vYg"},
	    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char enc[32];
		uint8_t dec[32];
		size_t n;
		size_t len = strlen(v[i].plain);
		fl_b64_encode(enc, (const uint8_t *)v[i].plain, len, FL_B64_PAD);
		assert_string_equal(enc, v[i].padded);
		fl_b64_encode(enc, (const uint8_t *)v[i].plain, len, FL_B64_NOPAD);
		assert_string_equal(enc, v[i].unpadded);
		assert_int_equal(
		    fl_b64_decode(dec, &n, v[i].padded, strlen(v[i].padded), FL_B64_PAD), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, v[i].plain, len);
		assert_int_equal(
		    fl_b64_decode(dec, &n, v[i].unpadded, strlen(v[i].unpadded), FL_B64_NOPAD), 0);
		assert_int_equal(n, len);
	}
}

static void test_base64_rejects(void **state)
{
	(void)state;
	uint8_t dec[32];
	size_t n;
	/* Non-canonical: unused bits set. */
	assert_int_equal(fl_b64_decode(dec, &n, "Zh==", 4, FL_B64_PAD), -1);
	assert_int_equal(fl_b64_decode(dec, &n, "Zh", 2, FL_B64_NOPAD), -1);
	/* Padding where none is allowed, and missing where it is required. */
	assert_int_equal(fl_b64_decode(dec, &n, "Zg==", 4, FL_B64_NOPAD), -1);
	assert_int_equal(fl_b64_decode(dec, &n, "Zg", 2, FL_B64_PAD), -1);
	assert_int_equal(fl_b64_decode(dec, &n, "Z===", 4, FL_B64_PAD), -1);
	/* Bad characters and impossible lengths. */
	assert_int_equal(fl_b64_decode(dec, &n, "Zm9*", 4, FL_B64_PAD), -1);
	assert_int_equal(fl_b64_decode(dec, &n, "Zm9vY", 5, FL_B64_NOPAD), -1);
	assert_int_equal(fl_b64_decode(dec, &n, "Zm 9", 4, FL_B64_PAD), -1);
}

/* --- Bech32 (BIP 173 vectors) --- */

static void test_bech32_valid(void **state)
{
	(void)state;
	static const char *valid[] = {
	    "A12UEL5L",
	    "a12uel5l",
	    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
	    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
	    "?1ezyfcl",
	};
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		char hrp[100];
		uint8_t data[100];
		size_t n;
		assert_int_equal(
		    fl_bech32_decode(valid[i], hrp, sizeof(hrp), data, sizeof(data), &n), 0);
	}
}

static void test_bech32_invalid(void **state)
{
	(void)state;
	static const char *invalid[] = {
	    "pzry9x0s0muk",  /* no separator */
	    "1pzry9x0s0muk", /* empty hrp */
	    "x1b4n0q5v",     /* invalid data character */
	    "li1dgmt3",      /* checksum too short */
	    "A1G7SGD8",      /* checksum computed over uppercase hrp */
	    "a12UEL5L",      /* mixed case */
	    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx", /* wrong checksum */
	};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		char hrp[100];
		uint8_t data[100];
		size_t n;
		assert_int_equal(
		    fl_bech32_decode(invalid[i], hrp, sizeof(hrp), data, sizeof(data), &n), -1);
	}
}

static void test_bech32_roundtrip(void **state)
{
	(void)state;
	uint8_t data[32], back[64];
	char hrp[32];
	size_t n;
	for (int i = 0; i < 32; i++)
		data[i] = (uint8_t)(i * 37 + 1);
	struct fl_buf s = FL_BUF_INIT;
	assert_int_equal(fl_bech32_encode(&s, "age", data, 32, 0), 0);
	assert_int_equal(strncmp(s.ptr, "age1", 4), 0);
	assert_int_equal(fl_bech32_decode(s.ptr, hrp, sizeof(hrp), back, sizeof(back), &n), 0);
	assert_string_equal(hrp, "age");
	assert_int_equal(n, 32);
	assert_memory_equal(back, data, 32);
	fl_buf_free(&s);
}

/* --- keys --- */

static void make_key(struct fl_age_identities *ids, struct fl_age_recipients *rs)
{
	struct fl_buf sk = FL_BUF_SECRET, pk = FL_BUF_INIT;
	struct fl_age_identity *id;
	struct fl_age_recipient *r;
	assert_int_equal(fl_age_keygen(&sk, &pk), 0);
	assert_int_equal(fl_age_identity_parse(&id, sk.ptr), 0);
	assert_int_equal(fl_age_recipient_parse(&r, pk.ptr), 0);
	if (ids)
		assert_int_equal(fl_age_identities_add(ids, id), 0);
	else
		fl_age_identity_free(id);
	if (rs)
		assert_int_equal(fl_age_recipients_add(rs, r), 0);
	else
		fl_age_recipient_free(r);
	fl_buf_free(&sk);
	fl_buf_free(&pk);
}

static void test_keygen_recipient_matches(void **state)
{
	(void)state;
	struct fl_buf sk = FL_BUF_SECRET, pk = FL_BUF_INIT, derived = FL_BUF_INIT;
	struct fl_age_identity *id;
	assert_int_equal(fl_age_keygen(&sk, &pk), 0);
	assert_int_equal(strncmp(sk.ptr, "AGE-SECRET-KEY-1", 16), 0);
	assert_int_equal(fl_age_identity_parse(&id, sk.ptr), 0);
	assert_int_equal(fl_age_identity_to_recipient(id, &derived), 0);
	assert_string_equal(derived.ptr, pk.ptr);
	fl_age_identity_free(id);
	fl_buf_free(&sk);
	fl_buf_free(&pk);
	fl_buf_free(&derived);
}

static void test_recipient_errors_name_argument(void **state)
{
	(void)state;
	struct fl_age_recipient *r;
	assert_int_equal(fl_age_recipient_parse(&r, "age1notakey"), -1);
	assert_non_null(strstr(fl_error_last()->message, "age1notakey"));
	assert_int_equal(fl_age_recipient_parse(&r, "AGE-SECRET-KEY-1QQQ"), -1);
	assert_non_null(strstr(fl_error_last()->message, "identity"));
	assert_int_equal(fl_age_recipient_parse(&r, "ssh-dss AAAAB3NzaC1kc3M="), -1);
}

static void test_identity_file(void **state)
{
	(void)state;
	struct fl_buf sk = FL_BUF_SECRET, pk = FL_BUF_INIT, file = FL_BUF_INIT;
	assert_int_equal(fl_age_keygen(&sk, &pk), 0);
	fl_buf_printf(&file, "# created: now\r\n\r\n# public key: %s\r\n%s\r\n\n%s\n", pk.ptr,
	              sk.ptr, sk.ptr);
	struct fl_age_identities ids = {0};
	assert_int_equal(fl_age_identities_parse_file(&ids, file.ptr, file.len, "keys.txt", NULL),
	                 0);
	assert_int_equal(ids.n, 2);
	fl_age_identities_free(&ids);

	/* A bad line is reported by file and line, without echoing the secret. */
	fl_buf_clear(&file);
	fl_buf_printf(&file, "# ok\n%sX\n", sk.ptr);
	assert_int_equal(fl_age_identities_parse_file(&ids, file.ptr, file.len, "keys.txt", NULL),
	                 -1);
	assert_non_null(strstr(fl_error_last()->message, "keys.txt line 2"));
	assert_null(strstr(fl_error_last()->message, sk.ptr + 16));
	fl_age_identities_free(&ids);

	assert_int_equal(fl_age_identities_parse_file(&ids, "# nothing\n", 10, "empty.txt", NULL),
	                 -1);
	assert_non_null(strstr(fl_error_last()->message, "no identities"));
	fl_buf_free(&sk);
	fl_buf_free(&pk);
	fl_buf_free(&file);
}

/* --- round trips --- */

static void fill_random(struct fl_buf *b, size_t n)
{
	fl_buf_grow(b, n);
	randombytes_buf(b->ptr, n);
	b->len = n;
}

static int decrypt_threads(const struct fl_age_identities *ids, const struct fl_buf *in,
                           struct fl_buf *out, unsigned threads)
{
	struct fl_age_mem_reader m = {(const uint8_t *)in->ptr, in->len, 0};
	struct fl_age_decrypt_opts o = {.threads = threads};
	return fl_age_decrypt(ids, &o, fl_age_reader_mem(&m), fl_age_writer_buf(out));
}

static int encrypt_threads(const struct fl_age_recipients *rs, const struct fl_buf *in,
                           struct fl_buf *out, unsigned threads, int armor)
{
	struct fl_age_mem_reader m = {(const uint8_t *)in->ptr, in->len, 0};
	struct fl_age_encrypt_opts o = {.threads = threads, .armor = armor};
	return fl_age_encrypt(rs, &o, fl_age_reader_mem(&m), fl_age_writer_buf(out));
}

static void test_roundtrip_sizes(void **state)
{
	(void)state;
	static const size_t sizes[] = {0,     1,         65535,      65536,
	                               65537, 3 * 65536, 17 * 65536, 17 * 65536 + 3};
	static const unsigned threads[] = {1, 2, 4};
	struct fl_age_identities ids = {0};
	struct fl_age_recipients rs = {0};
	make_key(&ids, &rs);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t t = 0; t < 3; t++)
			for (int armor = 0; armor < 2; armor++) {
				struct fl_buf plain = FL_BUF_INIT, ct = FL_BUF_INIT,
				              back = FL_BUF_INIT;
				fill_random(&plain, sizes[s]);
				assert_int_equal(
				    encrypt_threads(&rs, &plain, &ct, threads[t], armor), 0);
				/* age: payload = 16-byte nonce + chunks, each 16 bytes longer. */
				if (!armor) {
					size_t chunks = sizes[s] ? (sizes[s] + 65535) / 65536 : 1;
					const char *mac = strstr(ct.ptr, "\n--- ");
					assert_non_null(mac);
					size_t hdr = (size_t)(strchr(mac + 1, '\n') + 1 - ct.ptr);
					assert_int_equal(ct.len, hdr + 16 + sizes[s] + 16 * chunks);
				}
				assert_int_equal(decrypt_threads(&ids, &ct, &back, threads[2 - t]),
				                 0);
				assert_int_equal(back.len, plain.len);
				if (plain.len)
					assert_memory_equal(back.ptr, plain.ptr, plain.len);
				fl_buf_free(&plain);
				fl_buf_free(&ct);
				fl_buf_free(&back);
			}
	fl_age_identities_free(&ids);
	fl_age_recipients_free(&rs);
}

static void test_many_slots(void **state)
{
	(void)state;
	/* More slots than the ring holds, many times over, with several workers. */
	struct fl_age_identities ids = {0};
	struct fl_age_recipients rs = {0};
	make_key(&ids, &rs);
	struct fl_buf plain = FL_BUF_INIT, ct = FL_BUF_INIT, back = FL_BUF_INIT;
	fill_random(&plain, 40 * 1024 * 1024 + 12345);
	assert_int_equal(encrypt_threads(&rs, &plain, &ct, 3, 0), 0);
	assert_int_equal(decrypt_threads(&ids, &ct, &back, 3), 0);
	assert_int_equal(back.len, plain.len);
	assert_memory_equal(back.ptr, plain.ptr, plain.len);
	fl_buf_free(&plain);
	fl_buf_free(&ct);
	fl_buf_free(&back);
	fl_age_identities_free(&ids);
	fl_age_recipients_free(&rs);
}

static void test_multiple_recipients(void **state)
{
	(void)state;
	struct fl_age_identities a = {0}, b = {0}, c = {0};
	struct fl_age_recipients rs = {0};
	make_key(&a, &rs);
	make_key(&b, &rs);
	make_key(&c, NULL);
	struct fl_buf out = FL_BUF_INIT, back = FL_BUF_SECRET;
	assert_int_equal(fl_age_encrypt_mem(&rs, 0, "hello", 5, &out), 0);
	assert_int_equal(fl_age_decrypt_mem(&a, out.ptr, out.len, &back), 0);
	assert_int_equal(back.len, 5);
	fl_buf_clear(&back);
	assert_int_equal(fl_age_decrypt_mem(&b, out.ptr, out.len, &back), 0);
	assert_memory_equal(back.ptr, "hello", 5);
	fl_buf_clear(&back);
	assert_int_equal(fl_age_decrypt_mem(&c, out.ptr, out.len, &back), -1);
	assert_int_equal(fl_error_last()->klass, FL_E_AGE_NOMATCH);
	assert_int_equal(back.len, 0);
	fl_buf_free(&out);
	fl_buf_free(&back);
	fl_age_identities_free(&a);
	fl_age_identities_free(&b);
	fl_age_identities_free(&c);
	fl_age_recipients_free(&rs);
}

static void test_scrypt(void **state)
{
	(void)state;
	struct fl_age_recipients rs = {0};
	struct fl_age_recipient *r;
	assert_int_equal(fl_age_recipient_scrypt(&r, "hunter2", 7, 10), 0);
	fl_age_recipients_add(&rs, r);
	struct fl_buf out = FL_BUF_INIT, back = FL_BUF_SECRET;
	assert_int_equal(fl_age_encrypt_mem(&rs, 1, "secret", 6, &out), 0);

	struct fl_age_identities good = {0}, bad = {0}, strict = {0};
	struct fl_age_identity *id;
	fl_age_identity_scrypt(&id, "hunter2", 7, 22);
	fl_age_identities_add(&good, id);
	fl_age_identity_scrypt(&id, "hunter3", 7, 22);
	fl_age_identities_add(&bad, id);
	fl_age_identity_scrypt(&id, "hunter2", 7, 9);
	fl_age_identities_add(&strict, id);
	assert_int_equal(fl_age_decrypt_mem(&good, out.ptr, out.len, &back), 0);
	assert_memory_equal(back.ptr, "secret", 6);
	assert_int_equal(fl_age_decrypt_mem(&bad, out.ptr, out.len, &back), -1);
	assert_int_equal(fl_error_last()->klass, FL_E_AGE_NOMATCH);
	/* A work factor above the identity's limit is refused before any work. */
	assert_int_equal(fl_age_decrypt_mem(&strict, out.ptr, out.len, &back), -1);
	assert_int_equal(fl_error_last()->klass, FL_E_AGE_HEADER);

	/* age: a passphrase cannot share a file with other recipients. */
	make_key(NULL, &rs);
	fl_buf_clear(&out);
	assert_int_equal(fl_age_encrypt_mem(&rs, 0, "x", 1, &out), -1);
	assert_int_equal(fl_error_last()->klass, FL_E_INVALID);
	fl_buf_free(&out);
	fl_buf_free(&back);
	fl_age_identities_free(&good);
	fl_age_identities_free(&bad);
	fl_age_identities_free(&strict);
	fl_age_recipients_free(&rs);
}

/* --- tampering: no modification of a file may decrypt --- */

static void test_every_bit_flip_fails(void **state)
{
	(void)state;
	struct fl_age_identities ids = {0};
	struct fl_age_recipients rs = {0};
	make_key(&ids, &rs);
	struct fl_buf plain = FL_BUF_INIT, ct = FL_BUF_INIT;
	fill_random(&plain, 700);
	assert_int_equal(fl_age_encrypt_mem(&rs, 0, plain.ptr, plain.len, &ct), 0);
	for (size_t i = 0; i < ct.len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			struct fl_buf back = FL_BUF_SECRET;
			ct.ptr[i] ^= (char)(1 << bit);
			int rc = fl_age_decrypt_mem(&ids, ct.ptr, ct.len, &back);
			ct.ptr[i] ^= (char)(1 << bit);
			if (rc == 0)
				fail_msg("flipping bit %d of byte %zu still decrypted", bit, i);
			assert_int_not_equal(fl_error_last()->klass, FL_E_NONE);
			fl_buf_free(&back);
		}
	}
	fl_buf_free(&plain);
	fl_buf_free(&ct);
	fl_age_identities_free(&ids);
	fl_age_recipients_free(&rs);
}

static void test_truncation_and_reorder(void **state)
{
	(void)state;
	struct fl_age_identities ids = {0};
	struct fl_age_recipients rs = {0};
	make_key(&ids, &rs);
	struct fl_buf plain = FL_BUF_INIT, ct = FL_BUF_INIT, back = FL_BUF_SECRET;
	fill_random(&plain, 3 * 65536 + 100);
	assert_int_equal(fl_age_encrypt_mem(&rs, 0, plain.ptr, plain.len, &ct), 0);
	/* Every cut inside the payload, at chunk and tag boundaries and elsewhere. */
	size_t hdr = (size_t)(strchr(strstr(ct.ptr, "\n--- ") + 1, '\n') + 1 - ct.ptr);
	for (size_t cut = 0; cut < ct.len; cut += (cut < hdr + 64 ? 1 : 4093)) {
		fl_buf_clear(&back);
		assert_int_equal(fl_age_decrypt_mem(&ids, ct.ptr, cut, &back), -1);
	}
	size_t chunk_end = hdr + 16 + 65552;
	for (size_t cut = chunk_end - 2; cut <= chunk_end + 17; cut++) {
		fl_buf_clear(&back);
		assert_int_equal(fl_age_decrypt_mem(&ids, ct.ptr, cut, &back), -1);
		assert_int_equal(fl_error_last()->klass, FL_E_AGE_PAYLOAD);
	}
	/* Two chunks swapped. */
	char *tmp = malloc(65552);
	char *c0 = ct.ptr + hdr + 16, *c1 = c0 + 65552;
	memcpy(tmp, c0, 65552);
	memcpy(c0, c1, 65552);
	memcpy(c1, tmp, 65552);
	free(tmp);
	fl_buf_clear(&back);
	assert_int_equal(fl_age_decrypt_mem(&ids, ct.ptr, ct.len, &back), -1);
	assert_int_equal(fl_error_last()->klass, FL_E_AGE_PAYLOAD);
	/* Trailing data after the last chunk. */
	fl_buf_free(&ct);
	assert_int_equal(fl_age_encrypt_mem(&rs, 0, plain.ptr, plain.len, &ct), 0);
	fl_buf_puts(&ct, "x");
	assert_int_equal(fl_age_decrypt_mem(&ids, ct.ptr, ct.len, &back), -1);
	assert_int_equal(fl_error_last()->klass, FL_E_AGE_PAYLOAD);
	fl_buf_free(&plain);
	fl_buf_free(&ct);
	fl_buf_free(&back);
	fl_age_identities_free(&ids);
	fl_age_recipients_free(&rs);
}

/* --- files written by the reference age CLI --- */

static void data_path(char *out, size_t cap, const char *rel)
{
	const char *dir = getenv("FLEET_TEST_DATA");
	snprintf(out, cap, "%s/%s", dir ? dir : "data", rel);
}

static void decrypt_reference(const char *key, const char *file, const char *expect)
{
	char kpath[4096], fpath[4096];
	struct fl_buf k = FL_BUF_SECRET, f = FL_BUF_INIT, out = FL_BUF_SECRET;
	struct fl_age_identities ids = {0};
	data_path(kpath, sizeof(kpath), key);
	data_path(fpath, sizeof(fpath), file);
	assert_int_equal(fl_read_file(kpath, &k, 1 << 20), 0);
	assert_int_equal(fl_read_file(fpath, &f, 1 << 20), 0);
	assert_int_equal(fl_age_identities_parse_file(&ids, k.ptr, k.len, kpath, NULL), 0);
	if (fl_age_decrypt_mem(&ids, f.ptr, f.len, &out) < 0)
		fail_msg("%s: %s", file, fl_error_last()->message);
	assert_int_equal(out.len, strlen(expect));
	assert_memory_equal(out.ptr, expect, out.len);
	fl_age_identities_free(&ids);
	fl_buf_free(&k);
	fl_buf_free(&f);
	fl_buf_free(&out);
}

static void test_reference_ssh_files(void **state)
{
	(void)state;
	decrypt_reference("ssh/id_ed25519", "age/ssh-ed25519.age",
	                  "written by age 1.1.1 for id_ed25519\n");
	decrypt_reference("ssh/id_rsa", "age/ssh-rsa.age", "written by age 1.1.1 for id_rsa\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64_vectors),
	    cmocka_unit_test(test_base64_rejects),
	    cmocka_unit_test(test_bech32_valid),
	    cmocka_unit_test(test_bech32_invalid),
	    cmocka_unit_test(test_bech32_roundtrip),
	    cmocka_unit_test(test_keygen_recipient_matches),
	    cmocka_unit_test(test_recipient_errors_name_argument),
	    cmocka_unit_test(test_identity_file),
	    cmocka_unit_test(test_roundtrip_sizes),
	    cmocka_unit_test(test_many_slots),
	    cmocka_unit_test(test_multiple_recipients),
	    cmocka_unit_test(test_scrypt),
	    cmocka_unit_test(test_every_bit_flip_fails),
	    cmocka_unit_test(test_truncation_and_reorder),
	    cmocka_unit_test(test_reference_ssh_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
