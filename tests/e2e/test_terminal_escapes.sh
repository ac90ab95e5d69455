#!/usr/bin/env bash
# Values from a flake never reach the terminal raw: a machine name, tag and targetHost
# holding ESC (a colour change, a window-title OSC) are shown escaped as \x1b in every
# human listing (list, show, graph) and error message; --json keeps them exact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nixlib.sh"

command -v nix >/dev/null || { not_ok "nix is installed (apt-get install nix-bin)"; finish; }
export XDG_CACHE_HOME=$T/cache
unset FLEET_FLAKE FLEET_NIX

mkdir -p "$T/flake"
cp -R "$FLEET_FIXTURES_DIR/with-inventory-json/." "$T/flake/"
# JSON \u001b is ESC; \u0007 BEL ends the OSC (set window title).
cat >"$T/flake/inventory.json" <<'J'
{
  "machines": {
    "argentum": {
      "machineClass": "darwin",
      "system": "aarch64-darwin",
      "tags": ["workstation", "\u001b[31mred"],
      "deploy": { "targetHost": "admin@\u001b]0;pwned\u0007argentum.local" }
    },
    "cinnabar": {
      "machineClass": "nixos",
      "system": "x86_64-linux",
      "tags": ["controller"],
      "deploy": { "targetHost": "root@cinnabar.example.org" }
    }
  }
}
J
fleet_git_flake "$T/flake"
cd "$T/flake" || exit 1

raw_esc() { grep -q $'\x1b' "$T/run.out" "$T/run.err"; }
listing() { # NAME COMMAND...: exit 0, no raw ESC, and the escaped form is shown
	local name=$1
	shift
	run "$@"
	if [ "$RC" = 0 ] && ! raw_esc && grep -qF '\x1b' "$T/run.out"; then
		ok "$name: ESC shown as \\x1b"
	else
		not_ok "$name: ESC shown as \\x1b" "rc=$RC" "$(od -c "$T/run.out" | head -20)" "$(cat "$T/run.err")"
	fi
}
listing "inventory list" "$FLEET" inventory list
check "inventory list: the tag is shown as text" grep -qF '\x1b[31mred' "$T/run.out"
check "inventory list: the OSC's BEL is shown as text" grep -qF '\x1b]0;pwned\x07argentum' "$T/run.out"
listing "machines list" "$FLEET" machines list
listing "inventory show" "$FLEET" inventory show argentum
run "$FLEET" inventory graph
check "inventory graph: no raw ESC" sh -c "[ $RC = 0 ] && ! grep -q \$'\\x1b' '$T/run.out'"
run "$FLEET" machines list --json
check "--json keeps the value exact (JSON's own escape)" grep -qiF '\u001b[31mred' "$T/run.out"
run "$FLEET" machines list $'\x1b[31mred'
check "an error message naming the value shows it escaped" sh -c "! grep -q \$'\\x1b' '$T/run.err'"

finish
