/* Fuzzes the flat stores and sops' metadata unflattening: whatever parses must emit and
 * parse back to the same tree (INI: comments aside, which sops' INI store moves and
 * drops), and rebuilt metadata must flatten back to exactly the keys it came from. */
#include "fleet/doc.h"
#include "fleet/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*parse_fn)(const char *, size_t, struct fl_docs *);
typedef int (*emit_fn)(const struct fl_docs *, struct fl_buf *);

/* parse(emit(tree)) must be tree again, and emitting that writes the same bytes. INI
 * compares without comments and skips the byte check: go-ini rewrites a comment's leading
 * markers and sops strips one run of them on reading, so "#;#" loses a marker per round.
 * INI may also refuse to emit a key it read (one go-ini cannot write back, e.g. `-`). */
static void round_trip(const char *in, size_t len, parse_fn parse, emit_fn emit, int ini)
{
	struct fl_docs first = {0}, second = {0};
	struct fl_buf out = FL_BUF_INIT, again = FL_BUF_INIT;
	if (parse(in, len, &first) < 0)
		goto done;
	if (emit(&first, &out) < 0) {
		if (!ini)
			abort();
		goto done;
	}
	if (parse(out.ptr, out.len, &second) < 0 || second.n != 1 ||
	    !fl_doc_equal(first.v[0], second.v[0], ini))
		abort();
	if (!ini && (emit(&second, &again) < 0 || again.len != out.len ||
	             (out.len && memcmp(out.ptr, again.ptr, out.len))))
		abort();
done:
	fl_buf_free(&out);
	fl_buf_free(&again);
	fl_docs_free(&first);
	fl_docs_free(&second);
}

/* Every rebuilt entry flattens back to one of the "sops_" keys it came from, unchanged. */
static void unflatten_round_trip(const char *in, size_t len)
{
	struct fl_docs docs = {0};
	if (fl_doc_parse_dotenv(in, len, &docs) < 0)
		return;
	struct fl_doc *nested = fl_doc_new(FL_DOC_MAP);
	struct fl_doc *flat = fl_doc_new(FL_DOC_MAP);
	if (!nested || !flat)
		abort();
	if (fl_doc_unflatten(docs.v[0], "sops_", nested) == 0) {
		if (fl_doc_flatten(nested, "sops_", flat) < 0)
			abort();
		size_t want = 0;
		for (size_t i = 0; i < docs.v[0]->n; i++)
			if (docs.v[0]->items[i].key &&
			    strncmp(docs.v[0]->items[i].key, "sops_", 5) == 0)
				want++;
		if (flat->n != want)
			abort();
		for (size_t i = 0; i < flat->n; i++) {
			const struct fl_doc *orig = fl_doc_get(docs.v[0], flat->items[i].key);
			if (!orig || !fl_doc_equal(orig, flat->items[i].value, 0))
				abort();
		}
	} else if (nested->n != 0) {
		abort();
	}
	fl_doc_free(flat);
	fl_doc_free(nested);
	fl_docs_free(&docs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Lookups are linear per key; keep inputs at the size of real files. */
	if (size > 65536)
		return 0;
	const char *in = (const char *)data;
	round_trip(in, size, fl_doc_parse_dotenv, fl_doc_emit_dotenv, 0);
	round_trip(in, size, fl_doc_parse_ini, fl_doc_emit_ini, 1);
	unflatten_round_trip(in, size);
	fl_error_clear();
	return 0;
}
