/*
 * sops files with age: the document stores (YAML, JSON, dotenv, INI, binary), values
 * encrypted as ENC[AES256_GCM,…] under a 32-byte data key, the MAC over the plaintext
 * values, and the metadata block whose age entries wrap the data key. Compatible with
 * sops 3.x and sops-nix.
 */
#ifndef FLEET_SOPS_H
#define FLEET_SOPS_H

#include <stddef.h>
#include <stdint.h>

#include "fleet/age.h"
#include "fleet/buf.h"
#include "fleet/doc.h"

#define FL_SOPS_KEY_LEN 32
#define FL_SOPS_IV_LEN 32 /* what sops writes; files from other writers may differ */
#define FL_SOPS_IV_MAX 64

/* An IV exactly as a value carried it (12 bytes in files some writers made). */
struct fl_sops_iv {
	uint8_t b[FL_SOPS_IV_MAX];
	size_t len;
};
#define FL_SOPS_VERSION "3.10.2"

enum fl_sops_format { FL_SOPS_YAML, FL_SOPS_JSON, FL_SOPS_DOTENV, FL_SOPS_INI, FL_SOPS_BINARY };

/* "yaml", "json", "dotenv", "ini", "binary". */
int fl_sops_format_parse(const char *name, enum fl_sops_format *out);
const char *fl_sops_format_name(enum fl_sops_format f);
/* As sops decides from a file name: .yaml/.yml, .json, .env, .ini, else binary. */
enum fl_sops_format fl_sops_format_for_path(const char *path);

/* sops leaves keys ending in this in clear when no other rule is given, and records it. */
#define FL_SOPS_DEFAULT_UNENCRYPTED_SUFFIX "_unencrypted"

/* Which values are encrypted (sops' *_suffix / *_regex rules; at most one is set). */
struct fl_sops_rules {
	char *unencrypted_suffix;
	char *encrypted_suffix;
	char *unencrypted_regex;
	char *encrypted_regex;
	char *unencrypted_comment_regex;
	char *encrypted_comment_regex;
	int mac_only_encrypted;
};

struct fl_sops_age_entry {
	char *recipient;
	char *enc; /* the armored age file wrapping the data key (or its Shamir share) */
};

/* One of sops' key groups: every key in it wraps the same secret, the data key itself
 * when there is one group, else this group's Shamir share of it. */
struct fl_sops_key_group {
	struct fl_sops_age_entry *age;
	size_t nage;
	/* The group's other key types (pgp, kms, gcp_kms, azure_kv, hc_vault, hckms) as a
	 * MAP from type to list, exactly as read, so re-writing the file under the same data
	 * key keeps them; NULL when there are none. fleet can read past them, never write
	 * new ones. */
	struct fl_doc *other;
};

struct fl_sops_metadata {
	struct fl_sops_key_group *groups;
	size_t ngroups;
	int shamir_threshold; /* groups needed to rebuild the data key; 0 when absent */
	char *lastmodified;
	char *mac;
	char *version;
	struct fl_sops_rules rules;
};

/* A sops file in memory: its documents (without the metadata) and its metadata. */
struct fl_sops_file {
	enum fl_sops_format format;
	struct fl_docs docs;
	struct fl_sops_metadata md;
	int decrypted;
};

/* IVs of values as they were decrypted, so re-encrypting an unchanged value gives
 * the same ciphertext (git diffs then show only what changed). */
struct fl_sops_stash;
struct fl_sops_stash *fl_sops_stash_new(void);
void fl_sops_stash_free(struct fl_sops_stash *s);

/* Parses an encrypted file: FL_E_INVALID if malformed, FL_E_NOTFOUND if it has no
 * "sops" metadata. */
int fl_sops_load(struct fl_sops_file *f, const char *data, size_t len, enum fl_sops_format fmt);
/* Parses a plaintext file to be encrypted (no metadata expected; a "sops" key is an
 * error). Binary input becomes {"data": <the bytes>}. */
int fl_sops_load_plain(struct fl_sops_file *f, const char *data, size_t len,
                       enum fl_sops_format fmt);
void fl_sops_file_free(struct fl_sops_file *f);

/* Unwraps the data key: with one key group, the first age entry an identity opens;
 * with several, one share from each group an identity opens, combined (Shamir) once
 * shamir_threshold groups are open. FL_E_AGE_NOMATCH says which groups could not be
 * opened and how many are needed. */
int fl_sops_data_key(const struct fl_sops_file *f, const struct fl_age_identities *ids,
                     uint8_t key[FL_SOPS_KEY_LEN]);
/* Decrypts every value in place and checks the MAC (FL_E_INTEGRITY "MAC mismatch"
 * unless ignore_mac). Records IVs in stash when given. */
int fl_sops_decrypt(struct fl_sops_file *f, const uint8_t key[FL_SOPS_KEY_LEN], int ignore_mac,
                    struct fl_sops_stash *stash);
/* Encrypts every value the rules select, computes and encrypts the MAC, stamps
 * lastmodified. Values found in stash keep their IV. */
int fl_sops_encrypt(struct fl_sops_file *f, const uint8_t key[FL_SOPS_KEY_LEN],
                    const struct fl_sops_stash *stash);
/* The recipients to encrypt a data key to, grouped as sops' key groups: with one group
 * every recipient can open the file; with several the data key is split by Shamir
 * secret sharing and recipients from `shamir_threshold` different groups are needed. */
struct fl_sops_group_spec {
	char **age;
	size_t nage;
};
struct fl_sops_key_spec {
	struct fl_sops_group_spec *groups;
	size_t ngroups;
	int shamir_threshold; /* 0: all groups (sops' default) */
	/* Keys named that fleet cannot encrypt to ("pgp 85D7…, kms arn:aws:…"), or NULL.
	 * fl_sops_set_keys refuses a spec that has any. */
	char *foreign;
};
void fl_sops_key_spec_free(struct fl_sops_key_spec *s);
/* Appends a recipient to group `group` (creating groups up to it). */
int fl_sops_key_spec_add(struct fl_sops_key_spec *s, size_t group, const char *recipient);
/* Notes a key fleet cannot use (kind "pgp", name its fingerprint) in s->foreign. */
int fl_sops_key_spec_add_foreign(struct fl_sops_key_spec *s, const char *kind, const char *name);
/* The key groups a file is encrypted to now (its age recipients, its threshold, and its
 * other key types as foreign). */
int fl_sops_key_spec_from_file(const struct fl_sops_file *f, struct fl_sops_key_spec *out);

/* Replaces the file's key groups with spec's: the data key (one group) or its Shamir
 * shares (several) wrapped for each age or SSH recipient. Refuses a spec naming keys
 * fleet cannot encrypt to, so no file is written that a listed teammate cannot open. */
int fl_sops_set_keys(struct fl_sops_file *f, const uint8_t key[FL_SOPS_KEY_LEN],
                     const struct fl_sops_key_spec *spec);
/* What fl_sops_set_keys refuses, checked without encrypting anything. */
int fl_sops_key_spec_check(const struct fl_sops_key_spec *spec);
/* fl_sops_set_keys with one group of n recipients. */
int fl_sops_set_recipients(struct fl_sops_file *f, const uint8_t key[FL_SOPS_KEY_LEN],
                           const char *const *recipients, size_t n);
/* Describes the key entries of the file that are not age ("pgp 85D7…, kms arn:…") into
 * out; returns how many there are. */
int fl_sops_foreign_keys(const struct fl_sops_file *f, struct fl_buf *out);

/* Shamir secret sharing over GF(2^8) (AES polynomial), as sops splits a data key over
 * key groups. split writes `parts` shares of len + 1 bytes each, back to back, into
 * shares (the last byte of each is its x coordinate); combine rebuilds the secret
 * (share_len - 1 bytes) from n shares. Exposed for tests. */
int fl_sops_shamir_split(const uint8_t *secret, size_t len, size_t parts, size_t threshold,
                         uint8_t *shares);
int fl_sops_shamir_combine(const uint8_t *const *shares, size_t n, size_t share_len,
                           uint8_t *secret);
uint8_t fl_sops_gf256_mul(uint8_t a, uint8_t b);

/* Writes the file: encrypted (with metadata) or, once decrypted, plaintext. A
 * decrypted binary file is its raw bytes. */
int fl_sops_emit(const struct fl_sops_file *f, enum fl_sops_format fmt, struct fl_buf *out);

/* --- paths: ["key"][0]["other"] --- */

struct fl_sops_path {
	char **keys; /* NULL entry = list index in idx */
	long *idx;
	size_t n;
};
int fl_sops_path_parse(const char *s, struct fl_sops_path *out);
void fl_sops_path_free(struct fl_sops_path *p);
/* The node at path in the first document, or NULL with FL_E_NOTFOUND. */
struct fl_doc *fl_sops_path_get(struct fl_sops_file *f, const struct fl_sops_path *p);
/* Sets (creating maps on the way) or removes the value at path. set takes ownership. */
int fl_sops_path_set(struct fl_sops_file *f, const struct fl_sops_path *p, struct fl_doc *value);
int fl_sops_path_unset(struct fl_sops_file *f, const struct fl_sops_path *p);

/* --- keys and configuration, as sops finds them --- */

/* Loads age identities as sops does (age/keysource.go): SOPS_AGE_SSH_PRIVATE_KEY_FILE,
 * SOPS_AGE_SSH_PRIVATE_KEY_CMD, ~/.ssh/id_ed25519 and id_rsa, SOPS_AGE_KEY,
 * SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, $XDG_CONFIG_HOME/sops/age/keys.txt
 * (~/.config/sops/age/keys.txt). The two commands are split as sops splits them (shlex,
 * no shell) and run once per age recipient of `f` (NULL: once) with SOPS_AGE_RECIPIENT
 * set, until one of them gets a key; each is killed after FL_SOPS_KEY_CMD_TIMEOUT
 * seconds (FLEET_SOPS_KEY_CMD_TIMEOUT overrides). A passphrase-protected SSH key file
 * asks `prompt` when it is first used. `searched` gets a human description of every
 * place looked at. Fails only when nothing was found. */
#define FL_SOPS_KEY_CMD_TIMEOUT 120
int fl_sops_find_identities(struct fl_age_identities *ids, const struct fl_sops_file *f,
                            const struct fl_age_prompt *prompt, struct fl_buf *searched);

/* The creation rule of the nearest .sops.yaml (searched upwards from the file's
 * directory, up to the repository's root — a directory holding .git — or $HOME, and
 * skipping files that are neither the user's nor root's) whose path_regex matches
 * `path`. Returns 0 and fills keys/rules, 1 if there is no .sops.yaml or no rule
 * matches. `warning` (also on 1 or -1) names configs that were skipped. */
struct fl_sops_creation_rule {
	struct fl_sops_key_spec keys;
	struct fl_sops_rules rules;
	char *config_path;
	char *warning;
};
int fl_sops_config_find(const char *path, struct fl_sops_creation_rule *out);
/* The creation rule of the .sops.yaml text data (read from config_path, for messages) whose
 * path_regex matches rel, the file's path relative to the config's directory: 0 and out
 * filled, 1 if no rule matches, -1 on an error; out->config_path is set in every case.
 * out starts zeroed and is freed with fl_sops_creation_rule_free whatever the result. */
int fl_sops_config_match(const char *data, size_t len, const char *config_path, const char *rel,
                         struct fl_sops_creation_rule *out);
void fl_sops_creation_rule_free(struct fl_sops_creation_rule *r);
void fl_sops_rules_free(struct fl_sops_rules *r);
/* sops' rule of one rule: empty rules are unset; more than one of the six suffix/regex
 * rules is an error; none gives unencrypted_suffix "_unencrypted" (sops applies this both
 * when encrypting and when reading a file's metadata). */
int fl_sops_rules_finish(struct fl_sops_rules *r);
/* The rules for a new file, as sops' getEncryptConfig: each rule given on the command
 * line (cli) wins over the creation rule's (config) of the same name; what is taken from
 * config is moved out of it. Then fl_sops_rules_finish. */
int fl_sops_rules_resolve(struct fl_sops_rules *cli, struct fl_sops_rules *config);

/* --- single values (exposed for tests and fuzzing) --- */

struct fl_sops_enc {
	uint8_t *data;
	size_t data_len;
	uint8_t iv[FL_SOPS_IV_MAX];
	size_t iv_len;
	uint8_t tag[16];
	char type[16];
};
/* Parses "ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]" strictly. */
int fl_sops_enc_parse(const char *s, size_t len, struct fl_sops_enc *out);
void fl_sops_enc_free(struct fl_sops_enc *e);
/* Decrypts one value to a typed node; additional data is the path joined with ':' plus
 * a trailing ':'. The IV used, at its length, is copied to iv_out (if not NULL). */
int fl_sops_value_decrypt(const char *enc, size_t len, const uint8_t key[FL_SOPS_KEY_LEN],
                          const char *ad, struct fl_doc **out, struct fl_sops_iv *iv_out);
/* Encrypts a scalar node (STR, INT, FLOAT, BOOL, BYTES, TIME, COMMENT) with the given IV
 * (random and 32 bytes, as sops writes, if NULL) into out. An empty string stays empty,
 * as in sops. */
int fl_sops_value_encrypt(const struct fl_doc *v, const uint8_t key[FL_SOPS_KEY_LEN],
                          const char *ad, const struct fl_sops_iv *iv, struct fl_buf *out);

#endif
