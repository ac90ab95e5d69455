/* The C interface of src/sops/re2_shim.cc (RE2 is C++). Use src/sops/regex.h instead. */
#ifndef FLEET_SOPS_RE2_SHIM_H
#define FLEET_SOPS_RE2_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Compiles pattern[0..len) with RE2's defaults; on failure fills err and returns -1. */
int sops_re2_compile(const char *pattern, size_t len, void **out, char *err, size_t err_len);
/* 1 if the expression matches anywhere in text[0..len), else 0. */
int sops_re2_search(const void *re, const char *text, size_t len);
void sops_re2_free(void *re);

#ifdef __cplusplus
}
#endif

#endif
