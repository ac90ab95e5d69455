/* Fuzzes the sops value parser and decryptor: ENC[…] strings from a file are untrusted;
 * anything must parse or fail with an error, and a successful decryption must give a
 * typed scalar. */
#include "fleet/error.h"
#include "fleet/sops.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[FL_SOPS_KEY_LEN] = {1, 2, 3};
	struct fl_sops_enc e;
	if (fl_sops_enc_parse((const char *)data, size, &e) == 0) {
		if (e.iv_len < 12 || e.iv_len > sizeof(e.iv))
			abort();
		fl_sops_enc_free(&e);
	} else if (fl_error_last()->klass == FL_E_NONE) {
		abort();
	}
	struct fl_doc *v = NULL;
	if (fl_sops_value_decrypt((const char *)data, size, key, "a:b:", &v, NULL) == 0) {
		if (!v || v->type == FL_DOC_MAP || v->type == FL_DOC_LIST)
			abort();
		fl_doc_free(v);
	}
	return 0;
}
