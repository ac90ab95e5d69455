/* Internal to src/inventory: reading the output, and a compact binary copy of a parsed
 * inventory for the evaluation cache (a warm command reads it in well under a
 * millisecond; JSON would take tens). */
#ifndef FLEET_INVENTORY_SNAPSHOT_H
#define FLEET_INVENTORY_SNAPSHOT_H

#include "fleet/inventory.h"
#include "fleet/jsonread.h"

#include <sys/uio.h>

/* Two parts. The core, binary: everything but the generators (what most commands read).
 * The generators part: the output's `machines` object as Nix wrote it, which is written
 * without converting anything and read (generators only) by the few commands that want
 * them. */
int inventory_snapshot_write(const struct fl_inventory *inv, struct fl_buf *core);
/* The generators part of a parsed inventory, as two pieces to write one after the other
 * (they point into the inventory). */
void inventory_snapshot_generators(const struct fl_inventory *inv, struct iovec parts[2]);
/* Any inconsistency fails (the caller then treats the cache entry as absent). On
 * success the inventory owns data (a malloc'd buffer) and its strings point into it. */
int inventory_snapshot_read(char *data, size_t len, struct fl_inventory *out);
/* Attaches the generators part to an inventory read from the core part (its syntax
 * checked; generators are read by fl_inventory_load_generators). On success the
 * inventory owns data. */
int inventory_snapshot_read_generators(char *data, size_t len, struct fl_inventory *inv);

/* What a parse of the output skips (fl_jdoc_parse_ex): every machine's generators. */
const char *const *inventory_skip_path(void);
/* Reads a parsed output, taking over d (malloc'd, with its input; freed with the
 * inventory, or on failure). */
int inventory_read_doc(struct fl_jdoc *d, struct fl_inventory *out);
/* Reads one machine's generators object (types checked, paths in messages) from d,
 * whose arena the strings then point into. */
int inventory_read_generators(struct fl_jdoc *d, struct fl_machine *m, const struct fl_jv *gens);
/* Drops the generators read so far (and the generators part's document). */
void inventory_release_generators(struct fl_inventory *inv);

#endif
