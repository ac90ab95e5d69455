/*
 * The bridge to Nix: fleet shells out to `nix` (always with an argv, never a shell),
 * works with Nix 2.8 through 2.28 and Lix, and shows Nix's errors trimmed to what a
 * user needs (the error lines and the location).
 */
#ifndef FLEET_NIX_H
#define FLEET_NIX_H

#include <stddef.h>

#include "fleet/buf.h"
#include "fleet/jsonread.h"

struct fl_nix {
	const char *bin;      /* "nix" (searched on PATH) unless FLEET_NIX says otherwise */
	const char **options; /* --option NAME VALUE pairs, flattened: name, value, … */
	size_t noptions;      /* number of strings in options (twice the pairs) */
	int timeout_sec;      /* 0: none */
	int verbose;
};

void fl_nix_init(struct fl_nix *nx);
/* Runs `nix --extra-experimental-features "nix-command flakes" [--option N V]… ARGS…`
 * and captures stdout. On failure: FL_E_NIX-class error (FL_E_INVALID) whose message is
 * Nix's error trimmed by fl_nix_trim_error. */
int fl_nix_run(const struct fl_nix *nx, const char *const *args, struct fl_buf *out);
/* nix eval --json FLAKE#ATTR, its output handed to consume() while nix still writes it
 * (so a parser runs beside the evaluation): consume gets what has come so far and a
 * source for the rest, in memory that never moves (at most FL_NIX_STREAM_MAX bytes).
 * Afterwards the rest is read and nix waited for. Nix's failure is the error if it
 * failed, else consume's. out holds the whole output. */
#define FL_NIX_STREAM_MAX ((size_t)256 << 20)
typedef int (*fl_nix_consumer)(void *ctx, const char *data, size_t len,
                               const struct fl_jsource *rest);
int fl_nix_eval_json_stream(const struct fl_nix *nx, const char *flake, const char *attr,
                            fl_nix_consumer consume, void *ctx, struct fl_buf *out);
/* Runs `nix --version` and parses it (see below). */
int fl_nix_version(const struct fl_nix *nx, int v[3], int *is_lix);
/* Parses "nix (Nix) 2.8.0" / "nix (Lix, like Nix) 2.91.1" into major/minor/patch. */
int fl_nix_parse_version(const char *text, int v[3], int *is_lix);
/* Keeps what a user needs from Nix's stderr: drops warnings ("Git tree is dirty") and
 * build chatter, keeps "error:" lines, the trace lines under them and the location. */
void fl_nix_trim_error(const char *stderr_text, struct fl_buf *out);

/* One entry of `nix path-info --json`: a list in Nix 2.8, an object keyed by path in
 * 2.19+. Both are accepted. */
struct fl_nix_path_info {
	char *path;
	char *nar_hash;
	unsigned long long nar_size;
	char **references;
	size_t nrefs;
};
int fl_nix_parse_path_info(const char *json, size_t len, struct fl_nix_path_info **out, size_t *n);
void fl_nix_path_info_free(struct fl_nix_path_info *v, size_t n);
/* `nix build --json` (both shapes): the "out" output path of the first result. */
int fl_nix_parse_build_out(const char *json, size_t len, struct fl_buf *out_path);

/* The flake to work on: --flake PATH, else $FLEET_FLAKE, else the nearest directory
 * upwards from the working directory that holds flake.nix. Absolute path into out. */
int fl_flake_find(const char *explicit_path, struct fl_buf *out);

#endif
