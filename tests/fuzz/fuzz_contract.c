/* Fuzzes the reader of the `fleet` flake output and the nix output parsers: arbitrary
 * JSON must give an inventory or a clear error, never a crash. */
#include "fleet/error.h"
#include "fleet/inventory.h"
#include "fleet/nix.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_inventory inv;
	if (fl_inventory_parse((const char *)data, size, &inv) == 0) {
		for (size_t i = 0; i < inv.nmachines; i++)
			if (!inv.machines[i].name || !inv.machines[i].machine_class)
				abort();
		size_t *idx, n;
		const char *sel[] = {"@vps", "w*"};
		if (fl_inventory_select(&inv, sel, 2, &idx, &n) == 0)
			free(idx);
		fl_inventory_free(&inv);
	} else if (fl_error_last()->klass == FL_E_NONE) {
		abort();
	}
	struct fl_nix_path_info *v;
	size_t n;
	if (fl_nix_parse_path_info((const char *)data, size, &v, &n) == 0)
		fl_nix_path_info_free(v, n);
	struct fl_buf out = FL_BUF_INIT;
	(void)fl_nix_parse_build_out((const char *)data, size, &out);
	fl_buf_free(&out);
	return 0;
}
