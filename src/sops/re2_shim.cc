// The only C++ in fleet: a C interface to RE2 (Debian's libre2), the engine whose syntax
// and semantics Go's regexp package (and so sops) implements. See src/sops/regex.c.
#include "sops/re2_shim.h"

#include <re2/re2.h>

#include <cstdio>
#include <cstring>
#include <new>

extern "C" int sops_re2_compile(const char *pattern, size_t len, void **out, char *err,
                                size_t err_len)
{
	*out = nullptr;
	try {
		RE2::Options opt;
		// Go's defaults: UTF-8, Perl classes and \b, leftmost-first, '.' not matching
		// '\n', '^'/'$' at the text's ends only; errors come back, never on stderr.
		opt.set_log_errors(false);
		opt.set_never_capture(true);
		RE2 *re = new RE2(re2::StringPiece(pattern, len), opt);
		if (!re->ok()) {
			snprintf(err, err_len, "%s", re->error().c_str());
			delete re;
			return -1;
		}
		*out = re;
		return 0;
	} catch (const std::bad_alloc &) {
		snprintf(err, err_len, "out of memory");
		return -1;
	}
}

extern "C" int sops_re2_search(const void *re, const char *text, size_t len)
{
	const RE2 *r = static_cast<const RE2 *>(re);
	return r->Match(re2::StringPiece(text, len), 0, len, RE2::UNANCHORED, nullptr, 0) ? 1 : 0;
}

extern "C" void sops_re2_free(void *re)
{
	delete static_cast<RE2 *>(re);
}
