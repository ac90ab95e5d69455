/* Fuzzes the YAML store: any input parses or fails with FL_E_INVALID/FL_E_NOMEM, and a
 * parsed tree survives emit -> parse unchanged (types, texts, keys, order, comments). */
#include "fleet/doc.h"
#include "fleet/error.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_docs first = {0}, second = {0};
	struct fl_buf out = FL_BUF_INIT;
	if (fl_doc_parse_yaml((const char *)data, size, &first) < 0) {
		enum fl_error_class k = fl_error_last()->klass;
		if (k != FL_E_INVALID && k != FL_E_NOMEM)
			abort();
		return 0;
	}
	if (fl_doc_emit_yaml(&first, &out) < 0)
		abort();
	if (fl_doc_parse_yaml(out.ptr ? out.ptr : "", out.len, &second) < 0)
		abort();
	if (first.n != second.n)
		abort();
	for (size_t i = 0; i < first.n; i++)
		if (!fl_doc_equal(first.v[i], second.v[i], 0))
			abort();
	fl_buf_free(&out);
	fl_docs_free(&first);
	fl_docs_free(&second);
	return 0;
}
