/* Internal to the age library: the pieces its source files share. */
#ifndef FLEET_AGE_INTERNAL_H
#define FLEET_AGE_INTERNAL_H

#include "fleet/age.h"
#include "age/ssh_key.h"

#include <stdint.h>

#define AGE_INTRO "age-encryption.org/v1"
#define AGE_MAC_LEN 32
#define AGE_NONCE_LEN 16
#define AGE_TAG_LEN 16
#define AGE_STANZA_COLUMNS 64
#define AGE_HEADER_MAX (16u << 20)

/* Calls sodium_init() once; the library calls it before any crypto. */
int age_crypto_init(void);

/* RFC 5869 HKDF with HMAC-SHA-256. */
void age_hkdf_sha256(uint8_t *out, size_t outlen, const uint8_t *ikm, size_t ikmlen,
                     const uint8_t *salt, size_t saltlen, const char *info);

/* age: stanza bodies are sealed with ChaCha20-Poly1305 under a zero nonce. */
void age_aead_seal_zero_nonce(uint8_t out[FL_AGE_FILE_KEY_LEN + AGE_TAG_LEN], const uint8_t key[32],
                              const uint8_t file_key[FL_AGE_FILE_KEY_LEN]);
/* Returns 0 if the body opened to a 16-byte file key, 1 if authentication failed. */
int age_aead_open_zero_nonce(uint8_t file_key[FL_AGE_FILE_KEY_LEN], const uint8_t key[32],
                             const uint8_t *body, size_t body_len);

struct age_stanza {
	char *type;
	char **args;
	size_t nargs;
	uint8_t *body;
	size_t body_len;
};

struct age_header {
	struct age_stanza *stanzas;
	size_t n, cap;
	struct fl_buf raw; /* the header bytes up to and including "---", for the MAC */
	uint8_t mac[AGE_MAC_LEN];
};

void age_header_free(struct age_header *h);
int age_header_add_stanza(struct age_header *h, const char *type, const char *const *args,
                          size_t nargs, const uint8_t *body, size_t body_len);
/* Encodes intro, stanzas and "---" into h->raw, then the MAC line into out. */
int age_header_encode(struct age_header *h, const uint8_t file_key[FL_AGE_FILE_KEY_LEN],
                      struct fl_buf *out);
void age_header_mac(uint8_t mac[AGE_MAC_LEN], const struct fl_buf *raw,
                    const uint8_t file_key[FL_AGE_FILE_KEY_LEN]);

/* A buffered reader over an fl_age_reader, so header lines can be read one by one
 * before the payload is read in bulk. */
struct age_bufreader {
	struct fl_age_reader src;
	uint8_t *buf;
	size_t cap, pos, len;
	int eof;
};

int age_bufreader_init(struct age_bufreader *br, struct fl_age_reader src, size_t cap);
void age_bufreader_free(struct age_bufreader *br);
/* Makes at least `want` bytes available unless the input ends first; returns the count
 * available, or -1. */
ssize_t age_bufreader_fill(struct age_bufreader *br, size_t want);
/* Reads one line up to and including '\n' (or to end of input) into line, failing with
 * FL_E_AGE_HEADER-class `klass` if longer than max. Returns 0 at end of input with an
 * empty line, 1 with a line. */
int age_bufreader_line(struct age_bufreader *br, struct fl_buf *line, size_t max, int klass);
/* Reads up to n bytes, looping until n or end of input. */
ssize_t age_bufreader_read_full(struct age_bufreader *br, void *out, size_t n);
struct fl_age_reader age_bufreader_as_reader(struct age_bufreader *br);

int age_header_parse(struct age_header *h, struct age_bufreader *br);

/* ASCII armor (C2SP age.md §ASCII armor). */
struct age_armor_reader;
int age_armor_reader_new(struct age_armor_reader **out, struct age_bufreader *src);
void age_armor_reader_free(struct age_armor_reader *ar);
struct fl_age_reader age_armor_reader_as_reader(struct age_armor_reader *ar);
/* Returns 1 if the buffered input, after optional whitespace, starts with "-----BEGIN". */
int age_armor_detect(struct age_bufreader *br);

struct age_armor_writer {
	struct fl_age_writer dst;
	uint8_t pending[48];
	size_t npending;
	int crlf;
};
int age_armor_writer_begin(struct age_armor_writer *aw, struct fl_age_writer dst);
struct fl_age_writer age_armor_writer_as_writer(struct age_armor_writer *aw);
int age_armor_writer_end(struct age_armor_writer *aw);

/* The STREAM payload (C2SP age.md §Payload): key is HKDF(file key, nonce, "payload"). */
int age_stream_encrypt(const uint8_t key[32], unsigned threads, struct age_bufreader *in,
                       struct fl_age_writer out);
int age_stream_decrypt(const uint8_t key[32], unsigned threads, struct age_bufreader *in,
                       struct fl_age_writer out);

/* Recipients wrap a file key into a stanza; identities unwrap. */
int age_recipient_wrap(const struct fl_age_recipient *r,
                       const uint8_t file_key[FL_AGE_FILE_KEY_LEN], struct age_header *h);
int age_recipient_is_scrypt(const struct fl_age_recipient *r);
/* Returns 0 and fills file_key if the stanza was for this identity, 1 if not, or -1
 * for a fatal error (malformed stanza: FL_E_AGE_HEADER). */
int age_identity_unwrap(const struct fl_age_identity *id, const struct age_stanza *s,
                        uint8_t file_key[FL_AGE_FILE_KEY_LEN]);
int age_identity_is_scrypt(const struct fl_age_identity *id);

/* Strict base64 for stanza arguments and bodies: canonical, unpadded. */
int age_b64_decode_exact(const char *s, uint8_t *out, size_t want);

#endif
