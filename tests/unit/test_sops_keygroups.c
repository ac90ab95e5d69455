/* Unit tests for sops key groups: Shamir secret sharing over GF(2^8) (checked against
 * FIPS-197's worked products and by interpolation), data keys split across groups, and
 * key types fleet cannot write kept or refused, never dropped. */
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

static void test_gf256_products(void **state)
{
	(void)state;
	/* FIPS-197 section 4.2: {57} . {83} = {c1}, {57} . {13} = {fe}; section 4.2.1's
	 * xtime chain: {57} . {02} = {ae}, {57} . {04} = {47}, {57} . {08} = {8e}. */
	assert_int_equal(fl_sops_gf256_mul(0x57, 0x83), 0xc1);
	assert_int_equal(fl_sops_gf256_mul(0x57, 0x13), 0xfe);
	assert_int_equal(fl_sops_gf256_mul(0x57, 0x02), 0xae);
	assert_int_equal(fl_sops_gf256_mul(0x57, 0x04), 0x47);
	assert_int_equal(fl_sops_gf256_mul(0x57, 0x08), 0x8e);
	assert_int_equal(fl_sops_gf256_mul(3, 7), 9);
	assert_int_equal(fl_sops_gf256_mul(0, 0x9a), 0);
}

static void test_shamir_split_combine(void **state)
{
	(void)state;
	uint8_t secret[32], shares[5 * 33], out[32];
	randombytes_buf(secret, sizeof(secret));
	assert_int_equal(fl_sops_shamir_split(secret, 32, 5, 3, shares), 0);
	/* sops' share format: the y values, then x = index + 1 as the last byte. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(shares[i * 33 + 32], i + 1);
	/* Any three shares rebuild the secret, in any order. */
	for (int a = 0; a < 5; a++)
		for (int b = 0; b < 5; b++)
			for (int c = 0; c < 5; c++) {
				if (a == b || b == c || a == c)
					continue;
				const uint8_t *p[3] = {shares + a * 33, shares + b * 33,
				                       shares + c * 33};
				assert_int_equal(fl_sops_shamir_combine(p, 3, 33, out), 0);
				assert_memory_equal(out, secret, 32);
			}
	/* Two shares of a threshold-3 split give something else (a wrong data key). */
	const uint8_t *two[2] = {shares, shares + 33};
	assert_int_equal(fl_sops_shamir_combine(two, 2, 33, out), 0);
	assert_memory_not_equal(out, secret, 32);
	/* One share, or the same share twice, is refused. */
	assert_int_equal(fl_sops_shamir_combine(two, 1, 33, out), -1);
	const uint8_t *dup[2] = {shares, shares};
	assert_int_equal(fl_sops_shamir_combine(dup, 2, 33, out), -1);
	/* sops' limits: 2 <= threshold <= parts. */
	assert_int_equal(fl_sops_shamir_split(secret, 32, 2, 1, shares), -1);
	assert_int_equal(fl_sops_shamir_split(secret, 32, 2, 3, shares), -1);
}

static void test_shamir_degree_one_by_hand(void **state)
{
	(void)state;
	/* With threshold 2 each byte lies on a line y = s + a.x; two points fix it. A share
	 * pair built by hand (s = 0x42, a = 0x57: y(1) = 0x42^0x57, y(2) = 0x42^0xae)
	 * combines to s. */
	uint8_t s1[2] = {0x42 ^ 0x57, 1}, s2[2] = {0x42 ^ 0xae, 2}, out[1];
	const uint8_t *p[2] = {s1, s2};
	assert_int_equal(fl_sops_shamir_combine(p, 2, 2, out), 0);
	assert_int_equal(out[0], 0x42);
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

/* Encrypts a small YAML file to two key groups (threshold 2) and reloads it from the
 * written bytes in format fmt. */
static void two_groups(enum fl_sops_format fmt, const char *r1, const char *r2, uint8_t key[32],
                       struct fl_sops_file *out)
{
	static const char plain[] = "a: secret\nb: 2\n";
	static const char plain_env[] = "a=secret\nb=2\n";
	static const char plain_ini[] = "[s]\na = secret\n";
	const char *p = fmt == FL_SOPS_DOTENV ? plain_env : fmt == FL_SOPS_INI ? plain_ini : plain;
	struct fl_sops_file f;
	struct fl_sops_key_spec spec = {0};
	struct fl_buf enc = FL_BUF_INIT;
	assert_int_equal(
	    fl_sops_load_plain(&f, p, strlen(p), fmt == FL_SOPS_JSON ? FL_SOPS_YAML : fmt), 0);
	randombytes_buf(key, 32);
	assert_int_equal(fl_sops_key_spec_add(&spec, 0, r1), 0);
	assert_int_equal(fl_sops_key_spec_add(&spec, 1, r2), 0);
	spec.shamir_threshold = 2;
	assert_int_equal(fl_sops_set_keys(&f, key, &spec), 0);
	assert_int_equal(fl_sops_encrypt(&f, key, NULL), 0);
	assert_int_equal(fl_sops_emit(&f, fmt, &enc), 0);
	fl_sops_file_free(&f);
	fl_sops_key_spec_free(&spec);
	assert_int_equal(fl_sops_load(out, enc.ptr, enc.len, fmt), 0);
	fl_buf_free(&enc);
}

static void test_two_of_two(void **state)
{
	(void)state;
	static const enum fl_sops_format fmts[] = {FL_SOPS_YAML, FL_SOPS_JSON, FL_SOPS_DOTENV,
	                                           FL_SOPS_INI};
	struct fl_age_identities one = {0}, two = {0}, both = {0};
	char *r1, *r2, *r3, *r4;
	make_key(&one, &r1);
	make_key(&two, &r2);
	make_key(&both, &r3);
	make_key(&both, &r4);
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct fl_sops_file f;
		uint8_t key[32], got[32];
		two_groups(fmts[i], r1, r2, key, &f);
		assert_int_equal(f.md.ngroups, 2);
		assert_int_equal(f.md.shamir_threshold, 2);
		/* Either key alone is not enough, and the message says how many are. */
		assert_int_equal(fl_sops_data_key(&f, &one, got), -1);
		assert_int_equal(fl_error_last()->klass, FL_E_AGE_NOMATCH);
		assert_non_null(strstr(fl_error_last()->message, "2 key groups"));
		assert_non_null(strstr(fl_error_last()->message, "only 1 group could"));
		assert_non_null(strstr(fl_error_last()->message, r2));
		assert_int_equal(fl_sops_data_key(&f, &two, got), -1);
		fl_sops_file_free(&f);

		/* Both groups open: the shares combine to the data key. */
		two_groups(fmts[i], r3, r4, key, &f);
		assert_int_equal(fl_sops_data_key(&f, &both, got), 0);
		assert_memory_equal(got, key, 32);
		assert_int_equal(fl_sops_decrypt(&f, got, 0, NULL), 0);
		fl_sops_file_free(&f);
	}
	fl_age_identities_free(&one);
	fl_age_identities_free(&two);
	fl_age_identities_free(&both);
	free(r1);
	free(r2);
	free(r3);
	free(r4);
}

static void test_broken_group_is_one_share_fewer(void **state)
{
	(void)state;
	/* sops: a group whose entry fails to open is one share fewer; 2 of 3 still opens. */
	struct fl_age_identities all = {0};
	char *r[3];
	for (int i = 0; i < 3; i++)
		make_key(&all, &r[i]);
	struct fl_sops_file f;
	struct fl_sops_key_spec spec = {0};
	uint8_t key[32], got[32];
	randombytes_buf(key, 32);
	assert_int_equal(fl_sops_load_plain(&f, "a: b\n", 5, FL_SOPS_YAML), 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(fl_sops_key_spec_add(&spec, i, r[i]), 0);
	spec.shamir_threshold = 2;
	assert_int_equal(fl_sops_set_keys(&f, key, &spec), 0);
	free(f.md.groups[0].age[0].enc);
	f.md.groups[0].age[0].enc = strdup("-----BEGIN AGE ENCRYPTED FILE-----\nnot age\n"
	                                   "-----END AGE ENCRYPTED FILE-----\n");
	assert_int_equal(fl_sops_data_key(&f, &all, got), 0);
	assert_memory_equal(got, key, 32);
	/* With a second group broken, one share is not enough, and the message says so. */
	free(f.md.groups[1].age[0].enc);
	f.md.groups[1].age[0].enc = strdup("garbage");
	assert_int_equal(fl_sops_data_key(&f, &all, got), -1);
	assert_non_null(strstr(fl_error_last()->message, "only 1 group could"));
	fl_sops_key_spec_free(&spec);
	fl_sops_file_free(&f);
	fl_age_identities_free(&all);
	for (int i = 0; i < 3; i++)
		free(r[i]);
}

static void test_spec_refusals(void **state)
{
	(void)state;
	struct fl_age_identities ids = {0};
	char *r;
	make_key(&ids, &r);
	struct fl_sops_file f;
	uint8_t key[32] = {1};
	assert_int_equal(fl_sops_load_plain(&f, "a: b\n", 5, FL_SOPS_YAML), 0);
	/* A PGP key beside an age key: refused, and named. */
	struct fl_sops_key_spec spec = {0};
	assert_int_equal(fl_sops_key_spec_add(&spec, 0, r), 0);
	assert_int_equal(fl_sops_key_spec_add_foreign(&spec, "pgp", "85D77543B3D624B6"), 0);
	assert_int_equal(fl_sops_set_keys(&f, key, &spec), -1);
	assert_int_equal(fl_error_last()->klass, FL_E_UNSUPPORTED);
	assert_non_null(strstr(fl_error_last()->message, "pgp 85D77543B3D624B6"));
	assert_int_equal(f.md.ngroups, 0);
	fl_sops_key_spec_free(&spec);
	/* A threshold above the number of groups: sops refuses to split. */
	assert_int_equal(fl_sops_key_spec_add(&spec, 0, r), 0);
	assert_int_equal(fl_sops_key_spec_add(&spec, 1, r), 0);
	spec.shamir_threshold = 3;
	assert_int_equal(fl_sops_set_keys(&f, key, &spec), -1);
	assert_non_null(strstr(fl_error_last()->message, "shamir_threshold 3"));
	/* An empty group is refused rather than written. */
	spec.shamir_threshold = 2;
	assert_int_equal(fl_sops_key_spec_add(&spec, 2, NULL), 0);
	assert_int_equal(fl_sops_set_keys(&f, key, &spec), -1);
	assert_non_null(strstr(fl_error_last()->message, "key group 3"));
	fl_sops_key_spec_free(&spec);
	fl_sops_file_free(&f);
	fl_age_identities_free(&ids);
	free(r);
}

static void shared_path(char *out, size_t cap, const char *rel)
{
	const char *dir = getenv("FLEET_SHARED");
	snprintf(out, cap, "%s/vectors/%s", dir ? dir : "../../shared", rel);
}

/* The block of lines under "    pgp:" in a YAML sops file. */
static char *pgp_block(const char *text)
{
	const char *s = strstr(text, "\n    pgp:\n");
	assert_non_null(s);
	s++;
	const char *e = s + 1;
	while ((e = strchr(e, '\n')) && e[1] == ' ' && (e[5] == ' ' || e[5] == '-'))
		e++;
	assert_non_null(e);
	return strndup(s, (size_t)(e - s));
}

static void test_foreign_entries_kept(void **state)
{
	(void)state;
	/* sops-nix's secrets.yaml is encrypted to two age keys and two PGP keys. Re-written
	 * under the same data key, its PGP entries come out exactly as they went in. */
	char p[4096];
	struct fl_buf data = FL_BUF_INIT, out = FL_BUF_INIT;
	shared_path(p, sizeof(p), "sops-nix/secrets.yaml");
	assert_int_equal(fl_read_file(p, &data, 1 << 20), 0);
	struct fl_sops_file f;
	assert_int_equal(fl_sops_load(&f, data.ptr, data.len, FL_SOPS_YAML), 0);
	assert_int_equal(f.md.ngroups, 1);
	assert_int_equal(f.md.groups[0].nage, 2);
	struct fl_buf other = FL_BUF_INIT;
	assert_int_equal(fl_sops_foreign_keys(&f, &other), 2);
	assert_non_null(strstr(other.ptr, "pgp 7FB89715AADA920D65D25E63F9BA9DEBD03F57C0"));
	assert_int_equal(fl_sops_emit(&f, FL_SOPS_YAML, &out), 0);
	char *before = pgp_block(data.ptr), *after = pgp_block(out.ptr);
	assert_string_equal(before, after);
	/* Re-wrapping for the same keys is refused: fleet cannot write the PGP ones. */
	struct fl_sops_key_spec spec;
	assert_int_equal(fl_sops_key_spec_from_file(&f, &spec), 0);
	assert_non_null(spec.foreign);
	uint8_t key[32] = {0};
	assert_int_equal(fl_sops_set_keys(&f, key, &spec), -1);
	assert_int_equal(fl_sops_foreign_keys(&f, NULL), 2);
	fl_sops_key_spec_free(&spec);
	free(before);
	free(after);
	fl_buf_free(&other);
	fl_buf_free(&out);
	fl_buf_free(&data);
	fl_sops_file_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gf256_products),
	    cmocka_unit_test(test_shamir_split_combine),
	    cmocka_unit_test(test_shamir_degree_one_by_hand),
	    cmocka_unit_test(test_two_of_two),
	    cmocka_unit_test(test_broken_group_is_one_share_fewer),
	    cmocka_unit_test(test_spec_refusals),
	    cmocka_unit_test(test_foreign_entries_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
