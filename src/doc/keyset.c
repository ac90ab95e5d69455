#include "doc/keyset.h"

#include "fleet/error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct doc_keyset_slot {
	char *key; /* NULL: empty */
	size_t len;
	size_t value;
	uint64_t hash;
};

static uint64_t hash_of(const struct doc_keyset *s, const char *key, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const unsigned char *)key, len, s->hash_key);
	uint64_t v;
	memcpy(&v, h, sizeof(v));
	return v;
}

static struct doc_keyset_slot *find(const struct doc_keyset *s, const char *key, size_t len,
                                    uint64_t hash)
{
	for (size_t i = hash & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		struct doc_keyset_slot *slot = &s->slots[i];
		if (!slot->key ||
		    (slot->hash == hash && slot->len == len && memcmp(slot->key, key, len) == 0))
			return slot;
	}
}

static int grow(struct doc_keyset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	struct doc_keyset bigger = {calloc(cap, sizeof(struct doc_keyset_slot)), cap, s->n, {0}};
	if (!bigger.slots)
		return fl_error_set(FL_E_NOMEM, "out of memory");
	memcpy(bigger.hash_key, s->hash_key, sizeof(s->hash_key));
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i].key)
			*find(&bigger, s->slots[i].key, s->slots[i].len, s->slots[i].hash) =
			    s->slots[i];
	free(s->slots);
	*s = bigger;
	return 0;
}

int doc_keyset_add(struct doc_keyset *s, const char *key, size_t len, size_t value,
                   size_t *existing)
{
	if (!s->cap)
		crypto_shorthash_keygen(s->hash_key);
	/* At most half full, so probes stay short. */
	if ((s->n + 1) * 2 > s->cap && grow(s) < 0)
		return -1;
	uint64_t hash = hash_of(s, key, len);
	struct doc_keyset_slot *slot = find(s, key, len, hash);
	if (slot->key) {
		if (existing)
			*existing = slot->value;
		return 1;
	}
	if (!(slot->key = malloc(len + 1)))
		return fl_error_set(FL_E_NOMEM, "out of memory");
	memcpy(slot->key, key, len);
	slot->key[len] = '\0';
	slot->len = len;
	slot->value = value;
	slot->hash = hash;
	s->n++;
	return 0;
}

void doc_keyset_free(struct doc_keyset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i].key);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}
