/* Internal to the sops library. */
#ifndef FLEET_SOPS_INTERNAL_H
#define FLEET_SOPS_INTERNAL_H

#include "fleet/sops.h"

/* The sops type name and the bytes a value contributes to the MAC and the cipher. */
int sops_value_bytes(const struct fl_doc *v, const char **type, const char **bytes, size_t *len);

/* Metadata <-> the "sops" map of a document. */
int sops_metadata_from_doc(struct fl_sops_metadata *md, const struct fl_doc *map);
struct fl_doc *sops_metadata_to_doc(const struct fl_sops_metadata *md);
void sops_metadata_free(struct fl_sops_metadata *md);
void sops_key_groups_free(struct fl_sops_key_group *groups, size_t n);

int sops_stash_put(struct fl_sops_stash *s, const char *ad, const char *type, const char *bytes,
                   size_t len, const struct fl_sops_iv *iv);
const struct fl_sops_iv *sops_stash_get(const struct fl_sops_stash *s, const char *ad,
                                        const char *type, const char *bytes, size_t len);

#endif
