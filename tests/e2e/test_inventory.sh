#!/usr/bin/env bash
# fleet inventory / machines list|create against real nix and the fixture flakes: listing,
# selection, role resolution, validation, Nix errors, and the evaluation cache (a `nix`
# wrapper on PATH counts how often nix runs).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nixlib.sh"

command -v nix >/dev/null || { not_ok "nix is installed (apt-get install nix-bin)"; finish; }
REAL_NIX=$(command -v nix)
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "$*" >>"%s/nix-calls"\nexec "%s" "$@"\n' "$T" "$REAL_NIX" >"$T/bin/nix"
chmod +x "$T/bin/nix"
export PATH="$T/bin:$PATH" XDG_CACHE_HOME="$T/cache"
unset FLEET_FLAKE FLEET_NIX
calls() { [ -f "$T/nix-calls" ] && wc -l <"$T/nix-calls" || echo 0; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/run.out"; }

fleet_fixture basic "$T/basic" >/dev/null
cd "$T/basic" || exit 1

# --- listing and selection -----------------------------------------------------------------
run "$FLEET" inventory list
check "inventory list: exit 0" test "$RC" = 0
check "inventory list: all 5 machines" test "$(grep -c -E '^(blackphos|cinnabar|electrum|galena|stibnite) ' "$T/run.out")" = 5
run "$FLEET" machines list --json
check "machines list --json: 5 entries" test "$(json 'len(d)')" = 5
check "machines list --json: fields" test "$(json 'd[1]["name"] + " " + d[1]["machineClass"] + " " + d[1]["system"]')" = "cinnabar nixos x86_64-linux"
run "$FLEET" machines list --json @vps
check "select @vps" test "$(json '",".join(m["name"] for m in d)')" = "cinnabar,electrum,galena"
run "$FLEET" machines list --json 'g*' stibnite
check "select a glob and a name" test "$(json '",".join(m["name"] for m in d)')" = "galena,stibnite"
run "$FLEET" machines list @nosuchtag
check "a tag nobody has: exit 1 naming it" sh -c "[ $RC = 1 ] && grep -q nosuchtag '$T/run.err'"
run "$FLEET" machines list 'zz*'
check "a glob matching nothing: exit 1 naming it" sh -c "[ $RC = 1 ] && grep -q 'zz\*' '$T/run.err'"
run "$FLEET" machines list --bogus
check "unknown flag: exit 2" test "$RC" = 2

# --- instances, roles from tags, show, graph, validate -------------------------------------
run "$FLEET" inventory roles zerotier-local --json
check "roles: controller by explicit machine" test "$(json '",".join(d["roles"]["controller"]["machines"])')" = cinnabar
check "roles: peer resolved from the workstation tag" test "$(json '",".join(d["roles"]["peer"]["machines"])')" = "blackphos,stibnite"
run "$FLEET" inventory roles backup --json
check "roles: settings layered instance → role" test "$(json 'd["roles"]["server"]["settings"]["retention"]["daily"]')" = 7
run "$FLEET" inventory roles nosuch
check "roles of an unknown instance: exit 1" test "$RC" = 1
run "$FLEET" inventory show cinnabar --json
check "show: roles of the machine" test "$(json '",".join(r["instance"] + "/" + r["role"] for r in d["roles"])')" = "backup/client,zerotier-local/controller"
check "show: generators" sh -c "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert \"zerotier-network\" in d[\"generators\"]' '$T/run.out'"
run "$FLEET" inventory tags --json
check "tags: vps" test "$(json '",".join(d["vps"])')" = "cinnabar,electrum,galena"
run "$FLEET" inventory instances --json
check "instances: 2" test "$(json 'len(d)')" = 2
run "$FLEET" inventory graph
check "graph dot: edges instance → role → machine" sh -c "grep -q 'i_zerotier_local -> r_zerotier_local__peer' '$T/run.out' && grep -q 'r_zerotier_local__peer -> m_stibnite' '$T/run.out'"
run "$FLEET" inventory graph --format mermaid
check "graph mermaid" grep -q 'r_backup__server --> m_electrum' "$T/run.out"
run "$FLEET" inventory validate
check "validate a good flake: exit 0" test "$RC" = 0

fleet_fixture invalid "$T/invalid" >/dev/null
run "$FLEET" inventory validate --flake "$T/invalid"
check "validate: exit 1" test "$RC" = 1
for word in workstaton web9 db-password password 644 cycle bakcup windows; do
	check "validate names the problem with \"$word\"" grep -q -- "$word" "$T/run.err"
done
# the contract and lib.nix agree (issue 11, item 9)
check "validate: no unknown-key problem from inventory.json" sh -c "! grep -q -e written-by -e comment -e jumpHost '$T/run.err'"
check "validate: wrong-typed inventory.json tags are a problem" grep -q 'machine "web2": tags in inventory.json must be a list of strings' "$T/run.err"
check "validate: wrong-typed inventory.json deploy is a problem" grep -q 'machine "laptop": deploy in inventory.json must be an attribute set' "$T/run.err"
check "validate: roles.y.machines.web1 = 5 is a problem" grep -q 'role y: machines.web1 must be an attribute set' "$T/run.err"
check "validate: a shared generator depending on a per-machine one" grep -q 'generator "net": is shared, but depends on "seed"' "$T/run.err"
check "validate: a function in settings, with where it is" grep -q 'instance zerotier: settings.hook is a function' "$T/run.err"
check "validate: a function in validation, with where it is" grep -q 'generator "seed": validation.f is a function' "$T/run.err"
check "validate: runtimeInputs must be packages" grep -q 'generator "seed": runtimeInputs must be a list of derivations' "$T/run.err"
check "validate: a role the service does not have" grep -q 'instance nomodule, role y: service "nomodule" has no role "y"' "$T/run.err"
check "validate: an unknown attribute in what perInstance returns" grep -q 'service "nomodule" (instance nomodule, role x): unknown attribute "nixosModul"' "$T/run.err"
check "validate: a service generator fleet.generators declares too" grep -q 'generator "wifi": declared in fleet.generators and by service "nomodule"' "$T/run.err"
check "validate: a dependency on a machine that does not exist" grep -q 'generator "peers": depends on "web9/ca", but there is no machine "web9"' "$T/run.err"
check "validate: a dependency on a generator the other machine lacks" grep -q 'generator "peers": depends on "web2/nosuch", but machine "web2" does not have generator "nosuch"' "$T/run.err"
check "validate: a dependency cycle through two machines" grep -q 'generators "web1/ping", "web2/ping": dependency cycle across machines' "$T/run.err"
check "validate: module.name defaults to the instance name" sh -c "! grep -q 'module.name' '$T/run.err'"
run "$FLEET" machines list --flake "$T/invalid"
check "read-only commands answer a flake with problems, with a warning" sh -c "[ $RC = 0 ] && grep -qE 'warning: .* has [0-9]+ problems' '$T/run.err'"

# --- Nix errors -------------------------------------------------------------------------------
fleet_fixture syntax-error "$T/syntax" >/dev/null
run "$FLEET" machines list --flake "$T/syntax"
check "syntax error: exit 1" test "$RC" = 1
check "syntax error: Nix's error and location" sh -c "grep -q 'error:' '$T/run.err' && grep -q 'flake.nix:' '$T/run.err'"
check "syntax error: no warning noise" sh -c "! grep -q 'warning:' '$T/run.err'"
fleet_fixture throws "$T/throws" >/dev/null
run "$FLEET" inventory list --flake "$T/throws"
check "throw: exit 1 with the message" sh -c "[ $RC = 1 ] && grep -q 'error:' '$T/run.err'"
fleet_fixture throws-late "$T/throws-late" >/dev/null
run "$FLEET" inventory list --flake "$T/throws-late"
check "a throw after nix printed part of the output: Nix's message, exit 1" sh -c "[ $RC = 1 ] && grep -q 'machine late has a broken tag' '$T/run.err' && ! grep -q 'JSON' '$T/run.err'"
printf '#!/bin/sh\n[ "$1" = --version ] && { echo "nix (Nix) 2.3.16"; exit 0; }\necho "error: unrecognised flag" >&2\nexit 1\n' >"$T/oldnix"
chmod +x "$T/oldnix"
run env FLEET_NIX="$T/oldnix" "$FLEET" inventory list --no-cache --flake "$T/syntax"
check "a Nix without flakes: says which version is needed" sh -c "[ $RC = 1 ] && grep -q 'Nix 2.3.16 is too old.*2.4' '$T/run.err'"
run env FLEET_FLAKE="$T/nowhere" "$FLEET" inventory list
check "a flake that does not exist: exit 1" test "$RC" = 1
(cd "$T" && "$FLEET" inventory list >/dev/null 2>"$T/noflake.err")
check "no flake.nix upwards: says how to point at one" grep -q -- '--flake' "$T/noflake.err"

# --- the cache: no edit, no nix ---------------------------------------------------------------
rm -rf "$XDG_CACHE_HOME" "$T/nix-calls"
"$FLEET" inventory list >/dev/null 2>&1
check "cold: one nix process" test "$(calls)" = 1
"$FLEET" inventory list >/dev/null 2>&1
"$FLEET" machines list @vps >/dev/null 2>&1
"$FLEET" inventory roles backup >/dev/null 2>&1
check "warm: no nix process at all" test "$(calls)" = 1
echo "# edited" >>flake.nix
"$FLEET" inventory list >/dev/null 2>&1
check "editing a tracked file: a miss" test "$(calls)" = 2
"$FLEET" inventory list >/dev/null 2>&1
check "…then a hit again" test "$(calls)" = 2
echo "new" >notes.txt
"$FLEET" inventory list >/dev/null 2>&1
check "a new untracked file: a miss" test "$(calls)" = 3
echo "notes.txt" >.gitignore && git add .gitignore && git commit -q -m ignore
"$FLEET" inventory list >/dev/null 2>&1
calls_before=$(calls)
echo "more" >>notes.txt
"$FLEET" inventory list >/dev/null 2>&1
check "an ignored file changing: still a hit" test "$(calls)" = "$calls_before"
"$FLEET" inventory list --no-cache >/dev/null 2>&1
check "--no-cache evaluates" test "$(calls)" = $((calls_before + 1))
"$FLEET" inventory list --option allow-import-from-derivation=false >/dev/null 2>&1
check "--option reaches nix" grep -q -- '--option allow-import-from-derivation false' "$T/nix-calls"

# the quick path: once files are older than the stamp, a hit needs only stat calls
sleep 2
"$FLEET" inventory list >/dev/null 2>&1
calls_before=$(calls)
"$FLEET" inventory list >/dev/null 2>&1
"$FLEET" inventory show cinnabar >/dev/null 2>&1
check "quick path: still no nix" test "$(calls)" = "$calls_before"
run "$FLEET" inventory show cinnabar --json
check "quick path: generators are there when asked for" test "$(json 'len(d["generators"])')" -ge 3
echo "# edited again" >>flake.nix
"$FLEET" inventory list >/dev/null 2>&1
check "quick path: an edit is still a miss" test "$(calls)" = $((calls_before + 1))
for f in "$XDG_CACHE_HOME"/fleet/eval/*.snap; do printf 'garbage' >"$f"; done
run "$FLEET" machines list --json
check "a damaged cache entry: evaluated again, same answer" sh -c "[ $RC = 0 ] && [ \$(wc -l <'$T/nix-calls') = $((calls_before + 2)) ]"
for f in "$XDG_CACHE_HOME"/fleet/eval/*.snap.gen; do printf 'fleet-generators-snapshot 4\n{"cinnabar":' >"$f"; done
run "$FLEET" inventory show cinnabar --json
check "a damaged generators part: evaluated again, generators shown" sh -c "[ $RC = 0 ] && [ \$(wc -l <'$T/nix-calls') = $((calls_before + 3)) ]"
check "…with the generators" test "$(json 'len(d["generators"])')" -ge 3

# --- machines create -------------------------------------------------------------------------
fleet_fixture with-inventory-json "$T/inv" >/dev/null
cd "$T/inv" || exit 1
run "$FLEET" machines create web9 --class nixos --system x86_64-linux --tags vps,new --target-host root@web9
check "create: exit 0" test "$RC" = 0
check "create: scaffolds modules/hosts/web9" grep -q 'flake.modules.nixos."hosts/web9"' modules/hosts/web9/default.nix
check "create: files added to git" sh -c "git status --short | grep -q '^A  modules/hosts/web9/default.nix'"
run "$FLEET" machines list --json @new
check "create then list shows the machine" test "$(json '",".join(m["name"] + ":" + str(m["targetHost"]) for m in d)')" = "web9:root@web9"
cp inventory.json "$T/inv.before"
run "$FLEET" machines create web9 --class nixos --system x86_64-linux
check "creating it again: exit 1" test "$RC" = 1
check "creating it again: inventory.json untouched" cmp -s inventory.json "$T/inv.before"
run "$FLEET" machines create cinnabar --class nixos --system x86_64-linux
check "creating a machine Nix declares: exit 1" sh -c "[ $RC = 1 ] && grep -q 'already exists' '$T/run.err'"
run "$FLEET" machines create Bad.Name --class nixos --system x86_64-linux
check "a name outside the contract's rule: exit 2 quoting the rule" sh -c "[ $RC = 2 ] && grep -qF '^[A-Za-z0-9][A-Za-z0-9_-]*\$' '$T/run.err'"
run "$FLEET" machines create x/../../../escaped --class nixos --system x86_64-linux
check "a name with a path in it: refused, nothing written outside" sh -c "[ $RC = 2 ] && [ ! -e '$T/escaped' ] && ! grep -q escaped inventory.json"
run "$FLEET" machines create -web --class nixos --system x86_64-linux
check "a name starting with '-' is an option, not a name: exit 2" test "$RC" = 2
run "$FLEET" machines create _web --class nixos --system x86_64-linux
check "a name starting with '_': exit 2" test "$RC" = 2
run "$FLEET" machines create mac1 --system aarch64-darwin
check "missing --class: exit 2 saying so" sh -c "[ $RC = 2 ] && grep -q 'missing --class: nixos or darwin' '$T/run.err'"
run "$FLEET" machines create mac1 --class darwin
check "missing --system: exit 2 saying so" sh -c "[ $RC = 2 ] && grep -q 'missing --system' '$T/run.err'"
check "nothing was written for the refused names" cmp -s inventory.json "$T/inv.before"
run "$FLEET" machines create Web_2 --class nixos --system x86_64-linux
check "a name the contract allows (capitals, '_'): exit 0" test "$RC" = 0
run "$FLEET" machines create mac1 --class windows --system x86_64-linux
check "invalid class: exit 2" test "$RC" = 2
run "$FLEET" machines create mac1 --class darwin --system aarch64-darwin
check "create darwin" sh -c "[ $RC = 0 ] && grep -q 'system.stateVersion = 5' modules/hosts/mac1/default.nix"

# inventory.json is edited in place: whatever its layout, the old text stays byte for byte
# and only the new machine is added, laid out like its siblings (python is the oracle).
added_only() { # BEFORE AFTER NAME FIELDS-JSON: AFTER = BEFORE plus one inserted chunk
	python3 - "$@" <<'PY'
import json, sys
before, after = open(sys.argv[1], newline="").read(), open(sys.argv[2], newline="").read()
name, fields = sys.argv[3], json.loads(sys.argv[4])
p = 0
while p < min(len(before), len(after)) and before[p] == after[p]:
    p += 1
s = 0
while s < len(before) - p and before[len(before) - 1 - s] == after[len(after) - 1 - s]:
    s += 1
assert p + s == len(before), "the old text changed, not only an insertion: %r" % after
old, new = json.loads(before), json.loads(after)
assert new["machines"].pop(name) == fields, "the new machine is %r" % json.loads(after)["machines"][name]
old.setdefault("machines", {})
assert old == new, "other content changed"
print(after[p:len(after) - s])
PY
}
layout_case() { # NAME TEXT EXPECTED-TEXT
	fleet_fixture with-inventory-json "$T/layout" >/dev/null
	printf '%s' "$2" >"$T/layout/inventory.json"
	(cd "$T/layout" && git commit -qam layout)
	cp "$T/layout/inventory.json" "$T/layout.before"
	run "$FLEET" machines create --flake "$T/layout" web7 --class nixos --system x86_64-linux --tags vps
	check "create into $1: exit 0" test "$RC" = 0
	if added_only "$T/layout.before" "$T/layout/inventory.json" web7 \
		'{"machineClass": "nixos", "system": "x86_64-linux", "tags": ["vps"]}' >"$T/insertion" 2>&1; then
		ok "create into $1: only the machine is added"
	else
		not_ok "create into $1: only the machine is added" "$(cat "$T/insertion")"
	fi
	printf '%s' "$3" >"$T/layout.want"
	check "create into $1: laid out like its siblings" cmp "$T/layout.want" "$T/layout/inventory.json"
	rm -rf "$T/layout"
}
a='"argentum": {"machineClass": "darwin", "system": "aarch64-darwin"}'
layout_case "tab-indented JSON with other keys" \
	$'{\n\t"version": 1,\n\t"machines": {\n\t\t'"$a"$'\n\t},\n\t"x": [1, 2]\n}\n' \
	$'{\n\t"version": 1,\n\t"machines": {\n\t\t'"$a"$',\n\t\t"web7": {\n\t\t\t"machineClass": "nixos",\n\t\t\t"system": "x86_64-linux",\n\t\t\t"tags": ["vps"]\n\t\t}\n\t},\n\t"x": [1, 2]\n}\n'
layout_case "4-space JSON" \
	$'{\n    "machines": {\n        '"$a"$'\n    }\n}' \
	$'{\n    "machines": {\n        '"$a"$',\n        "web7": {\n            "machineClass": "nixos",\n            "system": "x86_64-linux",\n            "tags": ["vps"]\n        }\n    }\n}'
layout_case "one-line JSON" \
	'{"machines": {'"$a"'}, "v": 1}' \
	'{"machines": {'"$a"', "web7": { "machineClass": "nixos", "system": "x86_64-linux", "tags": ["vps"] }}, "v": 1}'
layout_case "CRLF line ends" \
	$'{\r\n  "machines": {\r\n    '"$a"$'\r\n  }\r\n}\r\n' \
	$'{\r\n  "machines": {\r\n    '"$a"$',\r\n    "web7": {\r\n      "machineClass": "nixos",\r\n      "system": "x86_64-linux",\r\n      "tags": ["vps"]\r\n    }\r\n  }\r\n}\r\n'
layout_case "an empty machines object" \
	$'{\n   "machines": {},\n   "v": 1\n}\n' \
	$'{\n   "machines": {\n      "web7": {\n         "machineClass": "nixos",\n         "system": "x86_64-linux",\n         "tags": ["vps"]\n      }\n   },\n   "v": 1\n}\n'
layout_case "no machines key" \
	$'{\n  "v": 1\n}\n' \
	$'{\n  "v": 1,\n  "machines": {\n    "web7": {\n      "machineClass": "nixos",\n      "system": "x86_64-linux",\n      "tags": ["vps"]\n    }\n  }\n}\n'
layout_case "an empty object" \
	'{}' \
	$'{\n  "machines": {\n    "web7": {\n      "machineClass": "nixos",\n      "system": "x86_64-linux",\n      "tags": ["vps"]\n    }\n  }\n}'
fleet_fixture with-inventory-json "$T/minimal" >/dev/null
run "$FLEET" machines create --flake "$T/minimal" web8 --class nixos --system x86_64-linux
check "only what it must: no tags, no deploy when none are given" sh -c "python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))[\"machines\"][\"web8\"] == {\"machineClass\": \"nixos\", \"system\": \"x86_64-linux\"}' '$T/minimal/inventory.json'"
printf '{"machines": [1]}' >"$T/minimal/inventory.json"
(cd "$T/minimal" && git commit -qam bad)
run "$FLEET" machines create --flake "$T/minimal" web9 --class nixos --system x86_64-linux
check "an inventory.json whose machines is not an object: exit 1 naming the file" sh -c "[ $RC = 1 ] && grep -q 'inventory.json: expected' '$T/run.err'"

finish
