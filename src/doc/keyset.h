/*
 * A set of byte strings, each with a number (its position, say): the duplicate checks and
 * child lookups of the flat stores in constant time, so large INI and dotenv files parse
 * and write in linear time. Hashed with SipHash under a random key, so a hostile file
 * cannot choose colliding keys.
 */
#ifndef FLEET_DOC_KEYSET_H
#define FLEET_DOC_KEYSET_H

#include <stddef.h>
#include <stdint.h>

struct doc_keyset_slot;

struct doc_keyset {
	struct doc_keyset_slot *slots;
	size_t cap, n;
	uint8_t hash_key[16];
};

#define DOC_KEYSET_INIT                                                                            \
	{                                                                                          \
		NULL, 0, 0,                                                                        \
		{                                                                                  \
			0                                                                          \
		}                                                                                  \
	}

/* Adds key[0..len) with `value` (the key is copied). Returns 0 when added, 1 when the key
 * was already there (its value in *existing, if not NULL), -1 when out of memory. */
int doc_keyset_add(struct doc_keyset *s, const char *key, size_t len, size_t value,
                   size_t *existing);
void doc_keyset_free(struct doc_keyset *s);

#endif
