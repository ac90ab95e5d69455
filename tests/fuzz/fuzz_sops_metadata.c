/* Fuzzes the sops file reader: the stores, the metadata block and the tree walk, for
 * every format. A file that loads is then decrypted with a fixed key (which fails on
 * real data, but walks every value and the MAC path). */
#include "fleet/error.h"
#include "fleet/sops.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[FL_SOPS_KEY_LEN] = {7};
	static const enum fl_sops_format formats[] = {FL_SOPS_YAML, FL_SOPS_JSON, FL_SOPS_DOTENV,
	                                              FL_SOPS_INI, FL_SOPS_BINARY};
	if (size > 1 << 16)
		return 0;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct fl_sops_file f;
		if (fl_sops_load(&f, (const char *)data, size, formats[i]) < 0) {
			if (fl_error_last()->klass == FL_E_NONE)
				abort();
			continue;
		}
		for (size_t g = 0; g < f.md.ngroups; g++)
			for (size_t a = 0; a < f.md.groups[g].nage; a++)
				if (!f.md.groups[g].age[a].recipient || !f.md.groups[g].age[a].enc)
					abort();
		struct fl_sops_stash *stash = fl_sops_stash_new();
		(void)fl_sops_decrypt(&f, key, 1, stash);
		fl_sops_stash_free(stash);
		fl_sops_file_free(&f);
	}
	return 0;
}
