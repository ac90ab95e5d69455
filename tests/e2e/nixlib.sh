# shellcheck shell=bash
# Helpers for tests that drive real `nix` against the flakes in tests/fixtures/.
# Source it:   . "$(dirname "$0")/nixlib.sh"
#
#   fleet_fixture NAME DEST   copy tests/fixtures/NAME to DEST, put modules/fleet/ beside
#                             its flake.nix as fleet-lib/, and commit it all to a fresh git
#                             repository (a flake only sees tracked files)
#   fleet_git_flake DEST      the second half of that, for a flake already written to DEST
#                             (bench/inventory-fixture.sh uses it)
#   fleet_lock_upstream DEST  lock DEST's flake-parts, import-tree and nixpkgs-lib inputs to
#                             the archives in $FLEET_SHARED/upstream/ (offline)
#
# Sourcing exports NIX_CONFIG for an offline, single-user Nix (2.8 or newer): flakes on,
# no substituters, no sandbox (fixture derivations use /bin/sh and /bin/busybox).

NIXLIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FLEET_NIX_LIB_DIR=$(cd "$NIXLIB_DIR/../../modules/fleet" && pwd)
FLEET_FIXTURES_DIR=$(cd "$NIXLIB_DIR/../fixtures" && pwd)

export NIX_CONFIG=$'experimental-features = nix-command flakes\nsubstituters =\nsandbox = false'

fleet_git_flake() {
	local dest=$1
	rm -rf "$dest/fleet-lib" &&
		cp -R "$FLEET_NIX_LIB_DIR" "$dest/fleet-lib" &&
		(
			cd "$dest" &&
				git init -q &&
				git config user.name "fleet tests" &&
				git config user.email "fleet-tests@example.invalid" &&
				git config commit.gpgsign false &&
				git add -A &&
				git commit -q -m fixture
		)
}

fleet_fixture() {
	local name=$1 dest=$2
	if [ ! -d "$FLEET_FIXTURES_DIR/$name" ]; then
		echo "fleet_fixture: no fixture named '$name' in $FLEET_FIXTURES_DIR" >&2
		return 1
	fi
	mkdir -p "$dest" &&
		cp -R "$FLEET_FIXTURES_DIR/$name/." "$dest/" &&
		fleet_git_flake "$dest"
}

# fleet_lock_upstream DEST: unpacks flake-parts, import-tree and nixpkgs.lib from
# $FLEET_SHARED/upstream/ beside DEST and locks DEST's inputs of those names to them
# (`nix flake lock --override-input`), committing flake.lock: the real libraries, offline.
fleet_lock_upstream() {
	local dest=$1 up
	up=$(cd "$dest/.." && pwd)/upstream
	mkdir -p "$up" || return 1
	local lib
	for lib in flake-parts import-tree nixpkgs.lib; do
		[ -d "$up/$lib" ] || tar -xzf "$FLEET_SHARED/upstream/$lib.tar.gz" -C "$up" || return 1
	done
	(
		cd "$dest" &&
			nix flake lock \
				--override-input flake-parts "path:$up/flake-parts" \
				--override-input import-tree "path:$up/import-tree" \
				--override-input nixpkgs-lib "path:$up/nixpkgs.lib" &&
			git add flake.lock &&
			git commit -q -m "lock the inputs to ../shared/upstream"
	)
}
