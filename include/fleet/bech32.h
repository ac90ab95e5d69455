/*
 * Bech32 (BIP 173) as age uses it for recipients and identities: the original
 * checksum constant (not Bech32m), no 90-character limit, all-lowercase or
 * all-uppercase strings only.
 */
#ifndef FLEET_BECH32_H
#define FLEET_BECH32_H

#include <stddef.h>
#include <stdint.h>

#include "fleet/buf.h"

/* Appends the encoding of data under hrp to out, lowercase or (upper != 0) uppercase. */
int fl_bech32_encode(struct fl_buf *out, const char *hrp, const uint8_t *data, size_t len,
                     int upper);
/* Decodes s; writes the lowercased human-readable part into hrp (room hrp_cap bytes)
 * and the 8-bit data into data (room data_cap). Returns 0, or -1 with FL_E_INVALID. */
int fl_bech32_decode(const char *s, char *hrp, size_t hrp_cap, uint8_t *data, size_t data_cap,
                     size_t *data_len);

#endif
