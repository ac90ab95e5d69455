/* Machine selection: names, @tag and shell globs, as every command accepts them. */
#include "fleet/error.h"
#include "fleet/inventory.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

int fl_inventory_select(const struct fl_inventory *inv, const char *const *selectors, size_t n,
                        size_t **out, size_t *nout)
{
	char *picked = calloc(inv->nmachines + 1, 1);
	size_t *idx = calloc(inv->nmachines + 1, sizeof(size_t));
	if (!picked || !idx) {
		free(picked);
		free(idx);
		return fl_error_set(FL_E_NOMEM, "out of memory");
	}
	for (size_t s = 0; s < n; s++) {
		const char *sel = selectors[s];
		size_t hits = 0;
		for (size_t i = 0; i < inv->nmachines; i++) {
			const struct fl_machine *m = &inv->machines[i];
			int hit = sel[0] == '@' ? fl_machine_has_tag(m, sel + 1)
			                        : fnmatch(sel, m->name, 0) == 0;
			if (hit) {
				picked[i] = 1;
				hits++;
			}
		}
		if (!hits) {
			free(picked);
			free(idx);
			if (sel[0] == '@')
				return fl_error_set(FL_E_NOTFOUND, "no machine has the tag \"%s\"",
				                    sel + 1);
			return fl_error_set(FL_E_NOTFOUND, "no machine matches \"%s\"", sel);
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < inv->nmachines; i++)
		if (n == 0 || picked[i])
			idx[k++] = i;
	free(picked);
	*out = idx;
	*nout = k;
	return 0;
}
