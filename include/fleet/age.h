/*
 * age v1 (age-encryption.org/v1, C2SP age.md): X25519, scrypt, ssh-ed25519 and
 * ssh-rsa recipients, header MAC, 64 KiB STREAM payload and ASCII armor.
 *
 * Encryption and decryption stream: memory stays bounded whatever the input size.
 * Errors carry the classes FL_E_AGE_HEADER, FL_E_AGE_ARMOR, FL_E_AGE_PAYLOAD,
 * FL_E_AGE_NOMATCH and FL_E_AGE_HMAC (see fleet/error.h) so callers can tell a
 * wrong key from a damaged file.
 */
#ifndef FLEET_AGE_H
#define FLEET_AGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fleet/buf.h"

#define FL_AGE_FILE_KEY_LEN 16
#define FL_AGE_CHUNK_SIZE 65536
#define FL_AGE_SCRYPT_DEFAULT_LOG_N 18
#define FL_AGE_SCRYPT_MAX_LOG_N 22

struct fl_age_recipient;
struct fl_age_identity;

struct fl_age_recipients {
	struct fl_age_recipient **v;
	size_t n, cap;
};

struct fl_age_identities {
	struct fl_age_identity **v;
	size_t n, cap;
};

/* Something that can answer a passphrase question (CLI: the terminal). Returns 0 and
 * fills out (a FL_BUF_SECRET buffer), or -1 with an error set. `what` says what for. */
struct fl_age_prompt {
	int (*passphrase)(void *ctx, const char *what, struct fl_buf *out);
	void *ctx;
};

/* A byte source: returns the number of bytes read, 0 at end of input, or -1 with an
 * error set. */
struct fl_age_reader {
	ssize_t (*read)(void *ctx, void *buf, size_t n);
	void *ctx;
};

/* A byte sink: writes all n bytes and returns 0, or -1 with an error set. */
struct fl_age_writer {
	int (*write)(void *ctx, const void *buf, size_t n);
	void *ctx;
};

struct fl_age_mem_reader {
	const uint8_t *data;
	size_t len, pos;
};

struct fl_age_reader fl_age_reader_fd(int *fd);
struct fl_age_reader fl_age_reader_mem(struct fl_age_mem_reader *m);
struct fl_age_writer fl_age_writer_fd(int *fd);
struct fl_age_writer fl_age_writer_buf(struct fl_buf *b);

/* --- recipients --- */

/* Parses "age1…", "ssh-ed25519 AAAA… [comment]" or "ssh-rsa AAAA… [comment]". */
int fl_age_recipient_parse(struct fl_age_recipient **out, const char *s);
/* A passphrase recipient: scrypt with work factor 2^log_n. Copies the passphrase. */
int fl_age_recipient_scrypt(struct fl_age_recipient **out, const char *pass, size_t len, int log_n);
void fl_age_recipient_free(struct fl_age_recipient *r);
/* Takes ownership of r, even on failure. */
int fl_age_recipients_add(struct fl_age_recipients *list, struct fl_age_recipient *r);
/* A recipients file: one recipient per line, '#' comments and blank lines skipped.
 * `source` names the file in errors, which also give the line number. */
int fl_age_recipients_parse_file(struct fl_age_recipients *list, const char *data, size_t len,
                                 const char *source);
/* Reads a recipients file ("-": standard input) and parses it as above. */
int fl_age_recipients_load(struct fl_age_recipients *list, const char *path);
void fl_age_recipients_free(struct fl_age_recipients *list);

/* --- identities --- */

/* Parses "AGE-SECRET-KEY-1…". */
int fl_age_identity_parse(struct fl_age_identity **out, const char *s);
/* A passphrase identity for scrypt stanzas; refuses work factors above max_log_n. */
int fl_age_identity_scrypt(struct fl_age_identity **out, const char *pass, size_t len,
                           int max_log_n);
void fl_age_identity_free(struct fl_age_identity *id);
/* Takes ownership of id, even on failure. */
int fl_age_identities_add(struct fl_age_identities *list, struct fl_age_identity *id);
/* An identity file: an SSH private key (OpenSSH or PEM), or lines of AGE-SECRET-KEY-1…
 * with '#' comments and blank lines. An encrypted SSH key asks `prompt` for its
 * passphrase only when a file actually needs it. */
int fl_age_identities_parse_file(struct fl_age_identities *list, const char *data, size_t len,
                                 const char *source, const struct fl_age_prompt *prompt);
/* Reads an identity file ("-": standard input) and parses it as above. */
int fl_age_identities_load(struct fl_age_identities *list, const char *path,
                           const struct fl_age_prompt *prompt);
void fl_age_identities_free(struct fl_age_identities *list);
/* Appends the recipient string of an identity ("age1…" or "ssh-… AAAA…"). */
int fl_age_identity_to_recipient(const struct fl_age_identity *id, struct fl_buf *out);

/* Generates an X25519 identity: secret "AGE-SECRET-KEY-1…" into `secret` (make it
 * FL_BUF_SECRET) and recipient "age1…" into `recipient`. */
int fl_age_keygen(struct fl_buf *secret, struct fl_buf *recipient);

/* --- files --- */

struct fl_age_encrypt_opts {
	int armor;        /* ASCII armor (PEM-style "AGE ENCRYPTED FILE") */
	unsigned threads; /* STREAM workers; 0 = one per online CPU (at most 8) */
};

struct fl_age_decrypt_opts {
	unsigned threads;                   /* as above */
	int force_armor;                    /* treat the input as armored even if it does not
	                                       start like it (default: detect) */
	const struct fl_age_prompt *prompt; /* asked for a passphrase when the file is
	                                       passphrase-encrypted and no scrypt identity
	                                       was given; may be NULL */
};

int fl_age_encrypt(const struct fl_age_recipients *r, const struct fl_age_encrypt_opts *opts,
                   struct fl_age_reader in, struct fl_age_writer out);
/* Binary and armored input are told apart automatically. On failure, plaintext of the
 * chunks that authenticated before the failure may already have been written. */
int fl_age_decrypt(const struct fl_age_identities *ids, const struct fl_age_decrypt_opts *opts,
                   struct fl_age_reader in, struct fl_age_writer out);

/* In-memory conveniences; `out` is appended to (make it FL_BUF_SECRET for plaintext).
 * On failure `out` is restored to its original length. */
int fl_age_encrypt_mem(const struct fl_age_recipients *r, int armor, const void *in, size_t len,
                       struct fl_buf *out);
int fl_age_decrypt_mem(const struct fl_age_identities *ids, const void *in, size_t len,
                       struct fl_buf *out);

#endif
