/*
 * Strict base64 (RFC 4648 §4, standard alphabet). Decoders fail closed: they reject
 * characters outside the alphabet, misplaced or missing padding, and encodings whose
 * unused trailing bits are not zero (non-canonical), as age and sops require.
 */
#ifndef FLEET_BASE64_H
#define FLEET_BASE64_H

#include <stddef.h>
#include <stdint.h>

enum fl_b64_padding { FL_B64_NOPAD = 0, FL_B64_PAD = 1 };

/* Length of the encoding of n bytes, not counting a NUL. */
size_t fl_b64_encoded_len(size_t n, enum fl_b64_padding pad);
/* Upper bound on the decoded length of n characters. */
size_t fl_b64_decoded_max(size_t n);
/* Writes fl_b64_encoded_len(n) characters and a NUL to out. */
void fl_b64_encode(char *out, const uint8_t *in, size_t n, enum fl_b64_padding pad);
/* Decodes exactly `n` characters into out (room: fl_b64_decoded_max(n)); sets *outlen.
 * Returns 0, or -1 with an FL_E_INVALID error. */
int fl_b64_decode(uint8_t *out, size_t *outlen, const char *in, size_t n, enum fl_b64_padding pad);

#endif
