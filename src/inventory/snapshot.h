/* Internal: a compact binary copy of a parsed inventory, for the evaluation cache. A
 * warm command reads it in well under a millisecond; JSON would take tens. */
#ifndef FLEET_INVENTORY_SNAPSHOT_H
#define FLEET_INVENTORY_SNAPSHOT_H

#include "fleet/inventory.h"

/* Two parts: everything but the generators (what most commands read), and the
 * generators of every machine, in machine order. */
int inventory_snapshot_write(const struct fl_inventory *inv, struct fl_buf *core,
                             struct fl_buf *generators);
/* Any inconsistency fails (the caller then treats the cache entry as absent). On
 * success the inventory owns data (a malloc'd buffer) and its strings point into it. */
int inventory_snapshot_read(char *data, size_t len, struct fl_inventory *out);
/* Attaches the generators part to an inventory read from the core part. */
int inventory_snapshot_read_generators(char *data, size_t len, struct fl_inventory *inv);

/* Frees an inventory's arrays, and its strings too if owned. */
void inventory_release(struct fl_inventory *inv, int owned);

#endif
