/* What fleet needs of git (libgit2): a digest of a working tree's state, for caching. */
#ifndef FLEET_GIT_H
#define FLEET_GIT_H

#include <stddef.h>
#include <stdint.h>

struct fl_strv;

/* SHA-256 over the state Nix would see and more: HEAD's tree, then every changed,
 * added or untracked-not-ignored file's path and content (sorted by path). Returns 0,
 * 1 if dir is not inside a git repository (digest untouched), or -1.
 * If watch is not NULL it gets every path whose change could change the digest (work
 * tree files and their directories, git's HEAD, index and refs), so a later run can
 * tell "nothing changed" from a few stat calls. */
int fl_git_state_digest(const char *dir, uint8_t digest[32], struct fl_strv *watch);

/* Adds files (absolute paths) to the index of the repository holding them, so Nix —
 * which sees only tracked files of a git flake — sees them. Returns 1 if they are not
 * in a git repository. */
int fl_git_add(const char *const *paths, size_t n);

#endif
