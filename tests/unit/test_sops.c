/* Unit tests for the sops library: real sops files, MAC checks, round trips, stash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleet/age.h"
#include "fleet/error.h"
#include "fleet/fileio.h"
#include "fleet/sops.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void shared_path(char *out, size_t cap, const char *rel)
{
	const char *dir = getenv("FLEET_SHARED");
	snprintf(out, cap, "%s/vectors/%s", dir ? dir : "../../shared", rel);
}

static void load_ids(struct fl_age_identities *ids, const char *rel)
{
	char p[4096];
	struct fl_buf k = FL_BUF_SECRET;
	shared_path(p, sizeof(p), rel);
	assert_int_equal(fl_read_file(p, &k, 1 << 20), 0);
	assert_int_equal(fl_age_identities_parse_file(ids, k.ptr, k.len, p, NULL), 0);
	fl_buf_free(&k);
}

/* Loads and decrypts a shared vector; returns the result of decryption. */
static int open_vector(const char *rel, enum fl_sops_format fmt,
                       const struct fl_age_identities *ids, struct fl_sops_file *f)
{
	char p[4096];
	struct fl_buf data = FL_BUF_INIT;
	uint8_t key[32];
	shared_path(p, sizeof(p), rel);
	assert_int_equal(fl_read_file(p, &data, 1 << 20), 0);
	int rc = fl_sops_load(f, data.ptr, data.len, fmt);
	fl_buf_free(&data);
	if (rc < 0)
		return -1;
	if (fl_sops_data_key(f, ids, key) < 0)
		return -1;
	return fl_sops_decrypt(f, key, 0, NULL);
}

static const char *value_at(struct fl_sops_file *f, const char *path)
{
	struct fl_sops_path p;
	assert_int_equal(fl_sops_path_parse(path, &p), 0);
	struct fl_doc *d = fl_sops_path_get(f, &p);
	fl_sops_path_free(&p);
	return d ? d->text : NULL;
}

static void test_clan_binary_tree(void **state)
{
	(void)state;
	/* The admin key opens the machines' keys, which open the machines' vars. */
	struct fl_age_identities admin = {0};
	load_ids(&admin, "sops-clan/admin-age-key.txt");
	static const char *const machines[] = {"peer1", "admin1"};
	for (size_t m = 0; m < 2; m++) {
		char rel[256];
		struct fl_sops_file f;
		snprintf(rel, sizeof(rel), "sops-clan/sops/secrets/%s-age.key/secret", machines[m]);
		if (open_vector(rel, FL_SOPS_BINARY, &admin, &f) < 0)
			fail_msg("%s: %s", rel, fl_error_last()->message);
		const char *machine_key = value_at(&f, "[\"data\"]");
		assert_non_null(machine_key);
		assert_non_null(strstr(machine_key, "AGE-SECRET-KEY-1"));
		struct fl_age_identities mk = {0};
		assert_int_equal(
		    fl_age_identities_parse_file(&mk, machine_key, strlen(machine_key), rel, NULL),
		    0);
		fl_sops_file_free(&f);

		snprintf(rel, sizeof(rel),
		         "sops-clan/vars/per-machine/%s/dummy-generator/generated-password/secret",
		         machines[m]);
		if (open_vector(rel, FL_SOPS_BINARY, &mk, &f) < 0)
			fail_msg("%s: %s", rel, fl_error_last()->message);
		assert_true(strlen(value_at(&f, "[\"data\"]")) > 0);
		fl_sops_file_free(&f);
		/* The admin can read it too (it is a recipient). */
		assert_int_equal(open_vector(rel, FL_SOPS_BINARY, &admin, &f), 0);
		fl_sops_file_free(&f);
		fl_age_identities_free(&mk);
	}
	fl_age_identities_free(&admin);
}

static void test_pgp_only_files(void **state)
{
	(void)state;
	struct fl_age_identities ids = {0};
	load_ids(&ids, "sops-nix/age-keys.txt");
	static const struct {
		const char *file;
		enum fl_sops_format fmt;
	} v[] = {
	    {"sops-nix/secrets.json", FL_SOPS_JSON},
	    {"sops-nix/secrets.bin", FL_SOPS_BINARY},
	};
	for (size_t i = 0; i < 2; i++) {
		struct fl_sops_file f;
		assert_int_equal(open_vector(v[i].file, v[i].fmt, &ids, &f), -1);
		assert_int_equal(fl_error_last()->klass, FL_E_AGE_NOMATCH);
		assert_non_null(strstr(fl_error_last()->message, "no age recipient"));
		assert_non_null(strstr(fl_error_last()->message, "pgp"));
		fl_sops_file_free(&f);
	}
	fl_age_identities_free(&ids);
}

static void make_key(struct fl_age_identities *ids, char **recipient)
{
	struct fl_buf sk = FL_BUF_SECRET, pk = FL_BUF_INIT;
	struct fl_age_identity *id;
	assert_int_equal(fl_age_keygen(&sk, &pk), 0);
	assert_int_equal(fl_age_identity_parse(&id, sk.ptr), 0);
	fl_age_identities_add(ids, id);
	*recipient = fl_buf_detach(&pk);
	fl_buf_free(&sk);
}

static const char sample_json[] = "{\n"
                                  "\t\"name\": \"web1\",\n"
                                  "\t\"port\": 8080,\n"
                                  "\t\"ratio\": 0.25,\n"
                                  "\t\"enabled\": true,\n"
                                  "\t\"nothing\": null,\n"
                                  "\t\"empty\": \"\",\n"
                                  "\t\"db\": {\n"
                                  "\t\t\"user\": \"admin\",\n"
                                  "\t\t\"password_unencrypted\": \"visible\",\n"
                                  "\t\t\"hosts\": [\n"
                                  "\t\t\t\"a\",\n"
                                  "\t\t\t\"b\"\n"
                                  "\t\t]\n"
                                  "\t}\n"
                                  "}\n";

static void encrypt_sample(struct fl_sops_file *f, const char *recipient, uint8_t key[32],
                           struct fl_buf *out)
{
	assert_int_equal(fl_sops_load_plain(f, sample_json, strlen(sample_json), FL_SOPS_JSON), 0);
	f->md.rules.unencrypted_suffix = strdup("_unencrypted");
	randombytes_buf(key, 32);
	assert_int_equal(fl_sops_set_recipients(f, key, &recipient, 1), 0);
	assert_int_equal(fl_sops_encrypt(f, key, NULL), 0);
	assert_int_equal(fl_sops_emit(f, FL_SOPS_JSON, out), 0);
}

static void test_json_round_trip(void **state)
{
	(void)state;
	struct fl_age_identities ids = {0};
	char *recipient;
	make_key(&ids, &recipient);
	struct fl_sops_file f, g;
	struct fl_buf enc = FL_BUF_INIT, dec = FL_BUF_SECRET;
	uint8_t key[32], key2[32];
	encrypt_sample(&f, recipient, key, &enc);
	/* Secrets are gone from the ciphertext; the unencrypted suffix is kept readable. */
	assert_null(strstr(enc.ptr, "admin"));
	assert_non_null(strstr(enc.ptr, "\"visible\""));
	assert_non_null(strstr(enc.ptr, "type:int]"));
	assert_non_null(strstr(enc.ptr, "type:bool]"));
	assert_non_null(strstr(enc.ptr, "type:float]"));
	assert_non_null(strstr(enc.ptr, "\"empty\": \"\""));

	assert_int_equal(fl_sops_load(&g, enc.ptr, enc.len, FL_SOPS_JSON), 0);
	assert_int_equal(fl_sops_data_key(&g, &ids, key2), 0);
	assert_memory_equal(key, key2, 32);
	assert_int_equal(fl_sops_decrypt(&g, key2, 0, NULL), 0);
	assert_int_equal(fl_sops_emit(&g, FL_SOPS_JSON, &dec), 0);
	assert_string_equal(dec.ptr, sample_json);
	fl_sops_file_free(&f);
	fl_sops_file_free(&g);
	fl_buf_free(&enc);
	fl_buf_free(&dec);
	fl_age_identities_free(&ids);
	free(recipient);
}

static void replace_once(struct fl_buf *b, const char *from, const char *to)
{
	char *at = strstr(b->ptr, from);
	assert_non_null(at);
	struct fl_buf n = FL_BUF_INIT;
	fl_buf_put(&n, b->ptr, (size_t)(at - b->ptr));
	fl_buf_puts(&n, to);
	fl_buf_puts(&n, at + strlen(from));
	fl_buf_free(b);
	*b = n;
}

static void test_tampering(void **state)
{
	(void)state;
	struct fl_age_identities ids = {0};
	char *recipient;
	make_key(&ids, &recipient);
	struct fl_sops_file f;
	struct fl_buf enc = FL_BUF_INIT;
	uint8_t key[32];
	encrypt_sample(&f, recipient, key, &enc);
	fl_sops_file_free(&f);

	/* An unencrypted value changed: only the MAC can tell. */
	struct fl_buf t = FL_BUF_INIT;
	fl_buf_puts(&t, enc.ptr);
	replace_once(&t, "\"visible\"", "\"changed\"");
	assert_int_equal(fl_sops_load(&f, t.ptr, t.len, FL_SOPS_JSON), 0);
	assert_int_equal(fl_sops_decrypt(&f, key, 0, NULL), -1);
	assert_int_equal(fl_error_last()->klass, FL_E_INTEGRITY);
	assert_non_null(strstr(fl_error_last()->message, "MAC mismatch"));
	fl_sops_file_free(&f);
	assert_int_equal(fl_sops_load(&f, t.ptr, t.len, FL_SOPS_JSON), 0);
	assert_int_equal(fl_sops_decrypt(&f, key, 1, NULL), 0);
	fl_sops_file_free(&f);

	/* lastmodified changed: the MAC no longer decrypts. */
	fl_buf_free(&t);
	fl_buf_puts(&t, enc.ptr);
	replace_once(&t, "\"lastmodified\": \"20", "\"lastmodified\": \"19");
	assert_int_equal(fl_sops_load(&f, t.ptr, t.len, FL_SOPS_JSON), 0);
	assert_int_equal(fl_sops_decrypt(&f, key, 0, NULL), -1);
	assert_non_null(strstr(fl_error_last()->message, "MAC mismatch"));
	fl_sops_file_free(&f);

	/* An encrypted value moved to another key fails its additional data. */
	fl_buf_free(&t);
	fl_buf_puts(&t, enc.ptr);
	replace_once(&t, "\"name\":", "\"nome\":");
	assert_int_equal(fl_sops_load(&f, t.ptr, t.len, FL_SOPS_JSON), 0);
	assert_int_equal(fl_sops_decrypt(&f, key, 0, NULL), -1);
	assert_int_equal(fl_error_last()->klass, FL_E_INTEGRITY);
	fl_sops_file_free(&f);

	/* Unknown ENC type. */
	fl_buf_free(&t);
	fl_buf_puts(&t, enc.ptr);
	replace_once(&t, "type:int]", "type:long]");
	assert_int_equal(fl_sops_load(&f, t.ptr, t.len, FL_SOPS_JSON), 0);
	assert_int_equal(fl_sops_decrypt(&f, key, 0, NULL), -1);
	assert_non_null(strstr(fl_error_last()->message, "long"));
	fl_sops_file_free(&f);

	/* No metadata at all. */
	assert_int_equal(fl_sops_load(&f, sample_json, strlen(sample_json), FL_SOPS_JSON), -1);
	assert_int_equal(fl_error_last()->klass, FL_E_NOTFOUND);

	fl_buf_free(&t);
	fl_buf_free(&enc);
	fl_age_identities_free(&ids);
	free(recipient);
}

static void test_stash_keeps_ciphertext(void **state)
{
	(void)state;
	struct fl_age_identities ids = {0};
	char *recipient;
	make_key(&ids, &recipient);
	struct fl_sops_file f;
	struct fl_buf enc = FL_BUF_INIT, again = FL_BUF_INIT;
	uint8_t key[32];
	encrypt_sample(&f, recipient, key, &enc);
	fl_sops_file_free(&f);

	struct fl_sops_stash *stash = fl_sops_stash_new();
	assert_int_equal(fl_sops_load(&f, enc.ptr, enc.len, FL_SOPS_JSON), 0);
	assert_int_equal(fl_sops_decrypt(&f, key, 0, stash), 0);
	struct fl_sops_path p;
	assert_int_equal(fl_sops_path_parse("[\"db\"][\"user\"]", &p), 0);
	assert_int_equal(fl_sops_path_set(&f, &p, fl_doc_new_scalar(FL_DOC_STR, "root", 4)), 0);
	fl_sops_path_free(&p);
	assert_int_equal(fl_sops_encrypt(&f, key, stash), 0);
	assert_int_equal(fl_sops_emit(&f, FL_SOPS_JSON, &again), 0);

	/* Every line but the touched value, the MAC and lastmodified is identical. */
	size_t changed = 0;
	char *a = enc.ptr, *b = again.ptr;
	while (*a && *b) {
		char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
		assert_non_null(ea);
		assert_non_null(eb);
		if (ea - a != eb - b || memcmp(a, b, (size_t)(ea - a)) != 0) {
			changed++;
			assert_true(strstr(a, "\"user\"") < ea || strstr(a, "\"mac\"") < ea ||
			            strstr(a, "\"lastmodified\"") < ea);
		}
		a = ea + 1;
		b = eb + 1;
	}
	assert_true(changed >= 1 && changed <= 3);
	fl_sops_stash_free(stash);
	fl_sops_file_free(&f);
	fl_buf_free(&enc);
	fl_buf_free(&again);
	fl_age_identities_free(&ids);
	free(recipient);
}

static void test_enc_parser(void **state)
{
	(void)state;
	struct fl_sops_enc e;
	static const char *const bad[] = {
	    "",
	    "ENC[",
	    "ENC[AES256_GCM,data:,iv:,tag:,type:]",
	    "ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str",
	    "ENC[AES256_GCM,data:A,iv:AAAAAAAAAAAAAAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]",
	    "ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]",
	    "ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAA,tag:AAAA,type:str]",
	    "ENC[AES128_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fl_sops_enc_parse(bad[i], strlen(bad[i]), &e), -1);
	const char *good =
	    "ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]";
	assert_int_equal(fl_sops_enc_parse(good, strlen(good), &e), 0);
	assert_int_equal(e.data_len, 3);
	assert_int_equal(e.iv_len, 12);
	assert_string_equal(e.type, "str");
	fl_sops_enc_free(&e);
}

static void test_paths(void **state)
{
	(void)state;
	struct fl_sops_path p;
	assert_int_equal(fl_sops_path_parse("[\"a\"][0]['b\\'c']", &p), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.keys[0], "a");
	assert_null(p.keys[1]);
	assert_int_equal(p.idx[1], 0);
	assert_string_equal(p.keys[2], "b'c");
	fl_sops_path_free(&p);
	assert_int_equal(fl_sops_path_parse("a.b", &p), -1);
	assert_int_equal(fl_sops_path_parse("[\"a\"", &p), -1);
	assert_int_equal(fl_sops_path_parse("", &p), -1);
	assert_int_equal(fl_sops_path_parse("[-1]", &p), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clan_binary_tree),
	    cmocka_unit_test(test_pgp_only_files),
	    cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_tampering),
	    cmocka_unit_test(test_stash_keeps_ciphertext),
	    cmocka_unit_test(test_enc_parser),
	    cmocka_unit_test(test_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
