/* Fuzzes inventory.json editing: for any text, adding a machine either fails (the text is
 * not a JSON object with an object "machines", or already has the machine) or gives JSON
 * that holds the machine and keeps every byte of the old text around one insertion. */
#include "fleet/error.h"
#include "fleet/inventory.h"
#include "fleet/jsonread.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = {"vps"};
	static const struct fl_inventory_json_machine m = {"web7",      "nixos", "x86_64-linux",
	                                                   "root@web7", tags,    1};
	const char *in = (const char *)data;
	struct fl_buf out = FL_BUF_INIT;
	if (fl_inventory_json_add_machine(in, size, &m, &out) < 0) {
		fl_buf_free(&out);
		return 0;
	}
	/* only an insertion: a common prefix and suffix cover the old text (a file of
	 * nothing but blanks is new: it is written from scratch) */
	size_t p = 0, s = 0, blank = 0;
	while (blank < size && memchr(" \t\r\n", in[blank], 4))
		blank++;
	if (blank == size)
		p = size;
	while (p < size && p < out.len && in[p] == out.ptr[p])
		p++;
	while (s < size - p && in[size - 1 - s] == out.ptr[out.len - 1 - s])
		s++;
	if (p + s != size)
		abort();
	struct fl_jdoc doc;
	if (fl_jdoc_parse(out.ptr, out.len, &doc) < 0)
		abort();
	const struct fl_jv *machines = fl_jv_get(doc.root, "machines");
	const struct fl_jv *web7 = machines ? fl_jv_get(machines, "web7") : NULL;
	const struct fl_jv *cls = web7 ? fl_jv_get(web7, "machineClass") : NULL;
	if (!cls || cls->type != FL_JV_STR || strcmp(cls->str, "nixos") != 0)
		abort();
	fl_jdoc_free(&doc);
	fl_buf_free(&out);
	return 0;
}
