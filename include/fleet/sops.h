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
	char *enc; /* the armored age file wrapping the data key */
};

struct fl_sops_metadata {
	struct fl_sops_age_entry *age;
	size_t nage;
	char *other_keys; /* names of non-age key types present ("pgp, kms"), or NULL */
	int key_groups;   /* >1 is unsupported: reported when decrypting */
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

/* Unwraps the data key with the first identity that opens one of the age entries. */
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
/* Replaces the age entries: the data key wrapped for each recipient ("age1…" or SSH). */
int fl_sops_set_recipients(struct fl_sops_file *f, const uint8_t key[FL_SOPS_KEY_LEN],
                           const char *const *recipients, size_t n);
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
 * `path`. Returns 0 and fills recipients/rules, 1 if there is no .sops.yaml or no rule
 * matches. `warning` (also on 1 or -1) names configs that were skipped. */
struct fl_sops_creation_rule {
	char **age;
	size_t nage;
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
