/* Fuzzes the sops key-path parser (--extract, set, unset: ["a"][0]['b']) and the path
 * operations on a small document: get, set (creating maps and lists on the way) and unset. */
#include "fleet/error.h"
#include "fleet/sops.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char doc[] = "a:\n  b: [1, 2, {c: d}]\n  # note\nl:\n  - x\n  - # c\n  - y\n";
	if (size > 4096)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct fl_sops_path p;
	if (fl_sops_path_parse(s, &p) < 0) {
		if (fl_error_last()->klass == FL_E_NONE)
			abort();
		free(s);
		return 0;
	}
	if (p.n == 0)
		abort();
	struct fl_sops_file f;
	if (fl_sops_load_plain(&f, doc, sizeof(doc) - 1, FL_SOPS_YAML) == 0) {
		(void)fl_sops_path_get(&f, &p);
		struct fl_doc *v = fl_doc_new_scalar(FL_DOC_STR, "new", 3);
		if (v && fl_sops_path_set(&f, &p, v) == 0 && !fl_sops_path_get(&f, &p))
			abort(); /* what was just set must be found */
		(void)fl_sops_path_unset(&f, &p);
		struct fl_buf out = FL_BUF_INIT;
		(void)fl_sops_emit(&f, FL_SOPS_YAML, &out);
		fl_buf_free(&out);
		fl_sops_file_free(&f);
	}
	fl_sops_path_free(&p);
	free(s);
	return 0;
}
