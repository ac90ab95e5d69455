/* Fuzzes the readers of nix's JSON answers about store paths: `nix path-info --json`
 * (a list in Nix 2.8, an object keyed by path from 2.19) and `nix build --json`. Seeds
 * include what nix 2.8 and 2.26 print (../shared/nix-outputs). Whatever they accept
 * names a path for every entry; a failure leaves an error. */
#include "fleet/error.h"
#include "fleet/nix.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_nix_path_info *v;
	size_t n;
	if (fl_nix_parse_path_info((const char *)data, size, &v, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (!v[i].path)
				abort();
			for (size_t r = 0; r < v[i].nrefs; r++)
				if (!v[i].references[r])
					abort();
		}
		fl_nix_path_info_free(v, n);
	} else if (fl_error_last()->klass == FL_E_NONE) {
		abort();
	}
	struct fl_buf out = FL_BUF_INIT;
	(void)fl_nix_parse_build_out((const char *)data, size, &out);
	fl_buf_free(&out);
	fl_error_clear();
	return 0;
}
