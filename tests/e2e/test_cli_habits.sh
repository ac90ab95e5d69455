#!/usr/bin/env bash
# The command line's habits, against real nix and the fixture flakes: global options before
# the family and before the verb, `fleet help`, read-only verbs on a fleet with problems,
# usage errors exiting 2, and the wording of messages.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nixlib.sh"

command -v nix >/dev/null || { not_ok "nix is installed (apt-get install nix-bin)"; finish; }
REAL_NIX=$(command -v nix)
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "$*" >>"%s/nix-calls"\nexec "%s" "$@"\n' "$T" "$REAL_NIX" >"$T/bin/nix"
chmod +x "$T/bin/nix"
export PATH="$T/bin:$PATH" XDG_CACHE_HOME="$T/cache"
unset FLEET_FLAKE FLEET_NIX
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/run.out"; }
names() { json '",".join(m["name"] for m in d)'; }

fleet_fixture basic "$T/basic" >/dev/null
fleet_fixture invalid "$T/invalid" >/dev/null
B=$T/basic
cd "$T" || exit 1 # no flake.nix here or above: only --flake finds one

# --- global options before the family and before the verb ------------------------------------
run "$FLEET" --flake "$B" inventory list
check "fleet --flake X inventory list: exit 0" test "$RC" = 0
check "fleet --flake X inventory list: the 5 machines" test "$(grep -c -E '^(blackphos|cinnabar|electrum|galena|stibnite) ' "$T/run.out")" = 5
run "$FLEET" inventory --flake "$B" --json list
check "fleet inventory --flake X --json list: JSON" test "$(names)" = "blackphos,cinnabar,electrum,galena,stibnite"
run "$FLEET" --json --flake="$B" machines list @vps
check "fleet --json --flake=X machines list @vps" test "$(names)" = "cinnabar,electrum,galena"
run "$FLEET" --flake "$B" inventory --json roles backup
check "global options on both sides of the family" test "$(json 'd["roles"]["server"]["machines"][0]')" = electrum
rm -f "$T/nix-calls"
run "$FLEET" --option allow-import-from-derivation=false inventory --no-cache --flake "$B" list
check "fleet --option N=V inventory --no-cache list: exit 0" test "$RC" = 0
check "…the option reaches nix" grep -q -- '--option allow-import-from-derivation false' "$T/nix-calls"
check "…and --no-cache evaluated" test "$(wc -l <"$T/nix-calls")" = 1
run "$FLEET" --flake "$B" --json inventory graph
check "a global option the verb does not take: exit 2" test "$RC" = 2
check "…naming the option and the verb" grep -q 'inventory graph: unknown option --json' "$T/run.err"
run "$FLEET" --bogus inventory list
check "an unknown option before the family: exit 2" sh -c "[ $RC = 2 ] && grep -q 'unknown option --bogus' '$T/run.err'"
run "$FLEET" inventory --bogus list
check "an unknown option before the verb: exit 2, listing the global ones" sh -c "[ $RC = 2 ] && grep -q -- '--flake --no-cache --option --json' '$T/run.err'"
run "$FLEET" --flake "$B"
check "global options and no command: exit 2 with the usage" sh -c "[ $RC = 2 ] && grep -q '^Usage: fleet' '$T/run.err'"
run "$FLEET" inventory list --flake
check "an option missing its value: exit 2" test "$RC" = 2

# --- fleet help FAMILY VERB = fleet FAMILY VERB --help ----------------------------------------
"$FLEET" inventory list --help >"$T/help.want"
run "$FLEET" help inventory list
check "fleet help inventory list = fleet inventory list --help" sh -c "[ $RC = 0 ] && cmp -s '$T/help.want' '$T/run.out'"
run "$FLEET" inventory help list
check "fleet inventory help list = the same" cmp -s "$T/help.want" "$T/run.out"
"$FLEET" sops --help >"$T/help.want"
run "$FLEET" help sops
check "fleet help sops = fleet sops --help" sh -c "[ $RC = 0 ] && cmp -s '$T/help.want' '$T/run.out'"
"$FLEET" age keygen --help >"$T/help.want"
run "$FLEET" help age keygen
check "fleet help age keygen = fleet age keygen --help" cmp -s "$T/help.want" "$T/run.out"
run "$FLEET" help
check "fleet help: the usage, exit 0" sh -c "[ $RC = 0 ] && grep -q '^Usage: fleet' '$T/run.out'"
run "$FLEET" help inventory nosuch
check "fleet help of an unknown verb: exit 2 naming it" sh -c "[ $RC = 2 ] && grep -q \"unknown command 'nosuch'\" '$T/run.err'"
run "$FLEET" --help
check "fleet --help lists the global options" sh -c "grep -q -- '--flake PATH' '$T/run.out' && grep -q -- '--option NAME=VALUE' '$T/run.out'"

# --- read-only verbs on a fleet with problems: an answer and a warning ------------------------
I=$T/invalid
# how many problems the fixture has, asked of nix itself
NP=$(nix eval --json "$I#fleet.problems" 2>/dev/null | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
check "nix counts the invalid fixture's problems" test "${NP:-0}" -gt 1
for verb in "inventory list" "inventory show web1" "inventory tags" "inventory instances" \
	"inventory roles zerotier" "inventory graph" "machines list"; do
	# shellcheck disable=SC2086
	run "$FLEET" $verb --flake "$I"
	check "$verb on a fleet with problems: exit 0" test "$RC" = 0
	check "$verb on a fleet with problems: an answer on stdout" test -s "$T/run.out"
	check "$verb on a fleet with problems: a warning naming their count" \
		grep -q "warning: the fleet configuration in $I has $NP problems; 'fleet inventory validate --flake $I' lists them" "$T/run.err"
	check "$verb on a fleet with problems: the warning only, once" test "$(wc -l <"$T/run.err")" = 1
done
run "$FLEET" inventory --json list --flake "$I"
check "--json on a fleet with problems: stdout is still JSON" test "$(names)" = "laptop,web1,web2"
run "$FLEET" inventory validate --flake "$I"
check "validate still lists them and exits 1" sh -c "[ $RC = 1 ] && grep -q '^$NP problems:' '$T/run.err'"
run "$FLEET" inventory list --flake "$B"
check "a fleet without problems: no warning" test ! -s "$T/run.err"

# --- usage errors exit 2 everywhere -----------------------------------------------------------
age-keygen -o "$T/sops.key" 2>/dev/null || "$FLEET" age keygen -o "$T/sops.key" 2>/dev/null
export SOPS_AGE_KEY_FILE=$T/sops.key
printf 'db:\n    password: old\n' >"$T/s.yaml"
"$FLEET" sops encrypt -i --age "$("$FLEET" age keygen -y "$T/sops.key")" "$T/s.yaml"
cp "$T/s.yaml" "$T/s.before"
usage_case() { # NAME PATTERN COMMAND...: exit 2, stderr matching PATTERN, the file unchanged
	local name=$1 pattern=$2
	shift 2
	run "$@"
	check "$name: exit 2" test "$RC" = 2
	check "$name: says what is wrong" grep -q -- "$pattern" "$T/run.err"
	check "$name: the file is unchanged" cmp -s "$T/s.yaml" "$T/s.before"
}
usage_case "sops set with a non-JSON VALUE" "fleet sops set: VALUE is not JSON" \
	"$FLEET" sops set "$T/s.yaml" '["db"]["password"]' new
usage_case "sops set with a malformed PATH" "fleet sops set: bad path db" \
	"$FLEET" sops set "$T/s.yaml" db '"new"'
usage_case "sops unset with a malformed PATH" "fleet sops unset: bad path" \
	"$FLEET" sops unset "$T/s.yaml" '["db"'
usage_case "sops decrypt --input-type toml" '--input-type: unknown format "toml"' \
	"$FLEET" sops decrypt --input-type toml "$T/s.yaml"
usage_case "sops encrypt --output-type toml" '--output-type: unknown format "toml"' \
	"$FLEET" sops encrypt --age "$("$FLEET" age keygen -y "$T/sops.key")" --output-type toml "$T/s.yaml"
usage_case "sops decrypt --extract with a malformed path" '--extract: bad path \["db"\]\[' \
	"$FLEET" sops decrypt --extract '["db"][' "$T/s.yaml"
run "$FLEET" sops decrypt --extract '["nope"]' "$T/s.yaml"
check "a well-formed --extract path that is not there: exit 1 naming the file" \
	sh -c "[ $RC = 1 ] && grep -q 's.yaml: \\[\"nope\"\\] is not in the file' '$T/run.err'"
run "$FLEET" sops decrypt --extract '["db"]["password"]' "$T/s.yaml"
check "a good --extract still works" test "$(cat "$T/run.out")" = old
run "$FLEET" inventory graph --format svg --flake "$B"
check "inventory graph --format svg: exit 2" test "$RC" = 2
run "$FLEET" inventory list --option noequals --flake "$B"
check "--option without NAME=VALUE: exit 2" test "$RC" = 2
# a flag value refused in the middle of the flags (nothing leaks: exit 2 under ASan too)
run "$FLEET" machines list --option noequals --flake "$B"
check "machines list --option without NAME=VALUE: exit 2" test "$RC" = 2
run "$FLEET" machines create web9 --option noequals --class nixos --system x86_64-linux --flake "$B"
check "machines create --option without NAME=VALUE: exit 2" test "$RC" = 2
run "$FLEET" age --threads 0 -r age1x
check "age --threads 0: exit 2" test "$RC" = 2

# --- messages: each thing once, naming what they are about; order; plurals ----------------------
fleet_fixture with-inventory-json "$T/wij" >/dev/null
run "$FLEET" inventory validate --flake "$T/wij"
check "validate: '1 instance', singular" grep -qx 'ok: 4 machines, 1 instance, no problems' "$T/run.out"
run "$FLEET" inventory validate --flake "$B"
check "validate: '2 instances', plural" grep -qx 'ok: 5 machines, 2 instances, no problems' "$T/run.out"
run "$FLEET" inventory tags --flake "$I"
check "inventory tags: sorted by tag (laptop's workstation comes first in the inventory)" \
	test "$(awk 'NR > 1 { printf "%s ", $1 }' "$T/run.out")" = "edge vps workstation "
run "$FLEET" inventory tags --json --flake "$I"
check "inventory tags --json: sorted too" test "$(json '" ".join(d)')" = "edge vps workstation"
run "$FLEET" sops decrypt "$T/no-such.yaml"
check "a missing file is named once" sh -c "[ $RC = 1 ] && [ \$(grep -o 'no-such.yaml' '$T/run.err' | wc -l) = 1 ] && grep -q 'cannot open' '$T/run.err'"
run "$FLEET" sops decrypt --extract '["db"]["nope"]' "$T/s.yaml"
check "a missing key names the file and the path" grep -q "s.yaml: \[\"db\"\]\[\"nope\"\] is not in the file" "$T/run.err"
run "$FLEET" sops unset "$T/s.yaml" '["db"]["nope"]'
check "sops unset of a missing key names the file and the path" grep -q 's.yaml: \["db"\]\["nope"\]: ' "$T/run.err"
run "$FLEET" sops encrypt --age "$("$FLEET" age keygen -y "$T/sops.key")" "$T/s.yaml"
check "sops encrypt of an encrypted file names the file" grep -q 's.yaml: the file already has sops metadata' "$T/run.err"
run "$FLEET" inventory show nosuch --flake "$B"
check "an unknown machine is named, with where to look" grep -q 'no machine named "nosuch"' "$T/run.err"

run "$FLEET" inventory show --flake "$B"
check "a missing argument is named: exit 2, 'missing MACHINE'" sh -c "[ $RC = 2 ] && grep -q 'inventory show: missing MACHINE' '$T/run.err'"
run "$FLEET" inventory roles backup extra --flake "$B"
check "an extra argument is named: exit 2" sh -c "[ $RC = 2 ] && grep -q \"inventory roles: unexpected argument 'extra'\" '$T/run.err'"
run "$FLEET" inventory --flake
check "a global option without its value, before the verb: exit 2 naming it" sh -c "[ $RC = 2 ] && grep -q 'option --flake needs PATH' '$T/run.err'"
run "$FLEET" --option
check "…before the family" sh -c "[ $RC = 2 ] && grep -q 'option --option needs NAME=VALUE' '$T/run.err'"
run "$FLEET" machines create cinnabar --class nixos --system x86_64-linux --flake "$B"
check "machines create of an existing machine: quotes the name and the flake" sh -c "[ $RC = 1 ] && grep -q 'machine \"cinnabar\" already exists in $B; nothing was changed' '$T/run.err'"

finish
