/* Fuzzes the JSON store: what parses must emit, and the emission must parse back to the
 * same tree (sops' JSON layout round-trips). */
#include "fleet/doc.h"
#include "fleet/error.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	struct fl_docs docs = {0}, again = {0};
	if (fl_doc_parse_json((const char *)data, size, &docs) < 0) {
		if (fl_error_last()->klass == FL_E_NONE)
			abort();
		fl_docs_free(&docs);
		return 0;
	}
	struct fl_buf out = FL_BUF_INIT;
	if (fl_doc_emit_json(&docs, &out) == 0) {
		if (fl_doc_parse_json(out.ptr ? out.ptr : "", out.len, &again) < 0)
			abort(); /* fleet wrote JSON it cannot read */
		if (again.n != docs.n)
			abort();
		for (size_t i = 0; i < docs.n; i++)
			if (!fl_doc_equal(docs.v[i], again.v[i], 0))
				abort(); /* the round trip changed the document */
	}
	fl_buf_free(&out);
	fl_docs_free(&docs);
	fl_docs_free(&again);
	return 0;
}
