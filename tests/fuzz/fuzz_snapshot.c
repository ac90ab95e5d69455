/* Fuzzes the evaluation cache's snapshot reader (src/inventory/snapshot.c). The cache's
 * files carry a MAC, so the reader sees only what this user's fleet wrote; it must still
 * fail closed on anything else. The first byte picks the part: even, the core part —
 * what it accepts, the writer must give back byte for byte, with every string present
 * where lookups need it; odd, the generators part, attached to a small inventory read
 * from a core part and then read whole (every generator type-checked). */
#include "fleet/error.h"
#include "fleet/inventory.h"
#include "inventory/snapshot.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base_json[] =
    "{\"schemaVersion\":1,\"meta\":{\"name\":\"f\"},\"machines\":{"
    "\"web1\":{\"machineClass\":\"nixos\",\"tags\":[\"vps\"]},"
    "\"web2\":{\"machineClass\":\"darwin\",\"deploy\":{\"targetHost\":\"r@w\",\"wave\":2}}}}";
static struct fl_buf base_core = FL_BUF_INIT;

static void make_base(void)
{
	struct fl_inventory inv;
	char *json = strdup(base_json);
	if (!json || fl_inventory_parse_owned(json, strlen(base_json), &inv) < 0 ||
	    inventory_snapshot_write(&inv, &base_core) < 0)
		abort();
	fl_inventory_free(&inv);
}

static void check_core(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	if (!copy)
		return;
	memcpy(copy, data, size);
	copy[size] = '\0';
	struct fl_inventory inv;
	if (inventory_snapshot_read(copy, size, &inv) < 0) {
		if (fl_error_last()->klass == FL_E_NONE)
			abort();
		free(copy);
		return;
	}
	struct fl_buf again = FL_BUF_INIT;
	if (inventory_snapshot_write(&inv, &again) < 0 || again.len != size ||
	    memcmp(again.ptr, data, size) != 0)
		abort(); /* read and write disagree */
	fl_buf_free(&again);
	for (size_t i = 0; i < inv.nmachines; i++) {
		const struct fl_machine *m = &inv.machines[i];
		if (fl_inventory_machine(&inv, m->name) != m || !m->machine_class)
			abort();
		for (size_t t = 0; t < m->tags.n; t++)
			if (!m->tags.v[t])
				abort();
	}
	for (size_t i = 0; i < inv.problems.n; i++)
		if (!inv.problems.v[i])
			abort();
	size_t *idx, n;
	const char *sel[] = {"@vps", "w*"};
	if (fl_inventory_select(&inv, sel, 2, &idx, &n) == 0)
		free(idx);
	fl_inventory_free(&inv);
}

static void check_generators(const uint8_t *data, size_t size)
{
	char *core = malloc(base_core.len + 1), *gens = malloc(size + 1);
	struct fl_inventory inv;
	if (!core || !gens) {
		free(core);
		free(gens);
		return;
	}
	memcpy(core, base_core.ptr, base_core.len + 1);
	memcpy(gens, data, size);
	gens[size] = '\0';
	if (inventory_snapshot_read(core, base_core.len, &inv) < 0)
		abort();
	if (inventory_snapshot_read_generators(gens, size, &inv) < 0) {
		free(gens);
	} else if (fl_inventory_load_generators(&inv, NULL, 0) == 0) {
		for (size_t i = 0; i < inv.nmachines; i++)
			for (size_t g = 0; g < inv.machines[i].ngenerators; g++)
				if (!inv.machines[i].generators[g].name)
					abort();
	}
	fl_inventory_free(&inv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base_core.ptr)
		make_base();
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		check_core(data + 1, size - 1);
	else
		check_generators(data + 1, size - 1);
	fl_error_clear();
	return 0;
}
