/* Fuzzes the reader of the `fleet` flake output and the nix output parsers: arbitrary
 * JSON must give an inventory or a clear error, never a crash. The JSON reader must give
 * the same answer fed in pieces (as nix's output arrives) as on the whole, and a parse
 * that skips generators must accept whatever a full parse accepts. */
#include "fleet/error.h"
#include "fleet/inventory.h"
#include "fleet/nix.h"

#include "fleet/jsonread.h"
#include "inventory/snapshot.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct pieces {
	const char *text;
	size_t len, shown, step;
};

static int pieces_more(void *ctx, const char **end)
{
	struct pieces *p = ctx;
	if (p->shown >= p->len)
		return 0;
	p->shown = p->shown + p->step < p->len ? p->shown + p->step : p->len;
	*end = p->text + p->shown;
	return 1;
}

static void check_reader(const char *text, size_t size)
{
	struct fl_jdoc whole, got;
	int want = fl_jdoc_parse(text, size, &whole);
	struct pieces p = {text, size, 0, size ? (size_t)(unsigned char)text[0] % 7 + 1 : 1};
	struct fl_jsource src = {pieces_more, &p};
	int rc = fl_jdoc_parse_stream(text, 0, &src, NULL, &got);
	if (rc != want || (rc == 0 && !fl_jv_equal(whole.root, got.root)))
		abort();
	if (rc == 0)
		fl_jdoc_free(&got);
	if (fl_jdoc_parse_ex(text, size, inventory_skip_path(), &got) == 0) {
		if (want == 0 && !fl_jv_equal(whole.root, got.root))
			abort();
		fl_jdoc_free(&got);
	} else if (want == 0) {
		abort();
	}
	if (want == 0)
		fl_jdoc_free(&whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_reader((const char *)data, size);
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
