#!/usr/bin/env bash
# The Nix side as users import it (issue 11), evaluated with the real flake-parts,
# nixpkgs.lib and import-tree from ../shared/upstream/: tests/fixtures/fleet-modules imports
# fleet twice (its flake's flakeModules.default and a copy under modules/), fleet reads and
# validates it, and each host's system module is evaluated with lib.evalModules.
# import-tree needs Nix >= 2.14: on an older Nix the fixture lists its modules by hand and
# the checks that need import-tree print "skip - …" (not counted); the rest runs on both.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nixlib.sh"

command -v nix >/dev/null || { not_ok "nix is installed (apt-get install nix-bin)"; finish; }
nix_version=$(nix --version | sed -n 's/^nix (Nix) \([0-9]*\.[0-9]*\).*/\1/p')
case $nix_version in 2.[0-9] | 2.1[0-3]) has_import_tree=false ;; *) has_import_tree=true ;; esac
export XDG_CACHE_HOME="$T/cache"
# building generator scripts: no build users (a single-user Nix)
export NIX_CONFIG="$NIX_CONFIG"$'\nbuild-users-group ='
unset FLEET_FLAKE FLEET_NIX
SHARED=${FLEET_SHARED:-$E2E_DIR/../../../shared}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/run.out"; }
skip() { echo "skip - $1"; }
# ev ATTR: nix eval --json .#ATTR into run.out/run.err
ev() { run nix eval --json ".#$1"; }

# the real libraries, and fleet's own flake (flake.nix and modules/ of this checkout)
mkdir -p "$T/upstream" "$T/fleet-src"
for lib in flake-parts import-tree nixpkgs.lib; do
	tar -xzf "$SHARED/upstream/$lib.tar.gz" -C "$T/upstream" || { not_ok "unpack $lib"; finish; }
done
cp -R "$E2E_DIR/../../flake.nix" "$E2E_DIR/../../modules" "$T/fleet-src/"

fleet_fixture fleet-modules "$T/fm" >/dev/null
cd "$T/fm" || exit 1
cp -R "$FLEET_NIX_LIB_DIR" modules/fleet
lock() {
	nix flake lock \
		--override-input flake-parts "path:$T/upstream/flake-parts" \
		--override-input import-tree "path:$T/upstream/import-tree" \
		--override-input nixpkgs-lib "path:$T/upstream/nixpkgs.lib" \
		--override-input fleet "path:$T/fleet-src" && git add -A && git commit -q -m "$1"
}
check "the inputs lock to ../shared/upstream and the checkout" lock "library under modules/, inputs locked"

# --- item 1: importable, import-tree-safe; item 2: imported twice ---------------------------
run "$FLEET" inventory validate
check "validate: the library under modules/ and from fleet's flake, together: exit 0" test "$RC" = 0
[ "$RC" = 0 ] || cat "$T/run.err"
if $has_import_tree; then
	check "import-tree found the modules (no list used)" sh -c "nix eval --raw .#fleet.meta.name | grep -qx fleet-modules"
else
	skip "import-tree on Nix $nix_version (needs 2.14): modules listed by modules/_files.nix"
fi
ev fleet.machines
check "the machines of modules/hosts.nix" test "$(json '",".join(sorted(d))')" = "cinnabar,electrum,stibnite"
# fleet's flake as the fixture locked it (its nixpkgs follows nixpkgs-lib: offline)
src="(builtins.getFlake \"$T/fm\").inputs.fleet"
run nix eval --json --impure --expr "$src.lib.automaticTags"
check "fleet's flake exports lib" test "$(json '",".join(d)')" = "all,nixos,darwin"
for out in flakeModules.default nixosModules.default darwinModules.default; do
	run nix eval --raw --impure --expr "builtins.typeOf $src.$out"
	check "fleet's flake exports $out" grep -qxE 'lambda|set|path' "$T/run.out"
done
ev standIn.cinnabar.fleet.machineName
check "a host importing the fleet module twice (base and host) evaluates" sh -c "[ $RC = 0 ] && grep -qx '\"cinnabar\"' '$T/run.out'"
ev failedAssertions.cinnabar
check "…with no failed assertion" test "$(json 'len(d)')" = 0

# --- item 2: every option described; classes -----------------------------------------------
cat >"$T/options.nix" <<NIX
let
  flake = builtins.getFlake "$T/fm";
  lib = flake.inputs.nixpkgs-lib.lib;
  src = flake.inputs.fleet;
  fp = lib.evalModules { class = "flake"; specialArgs.self = { outPath = "/x"; }; modules = [ src.flakeModules.default { options.flake = lib.mkOption { type = lib.types.lazyAttrsOf lib.types.raw; }; } ]; };
  nx = lib.evalModules { class = "nixos"; modules = [ src.nixosModules.default { options.networking.hostName = lib.mkOption { }; options.assertions = lib.mkOption { }; options.warnings = lib.mkOption { }; } ]; };
  docs = o: lib.optionAttrSetToDocList o;
  undocumented = o: map (x: x.name) (builtins.filter (x: (x.description or null) == null) (docs o));
in
{
  flakeParts = undocumented fp.options.fleet;
  nixos = undocumented nx.options.fleet ++ undocumented nx.options.clan;
  count = builtins.length (docs fp.options.fleet ++ docs nx.options.fleet);
  # every default renders in documentation (a computed one through its defaultText)
  defaults = builtins.toJSON (map (x: x.default or null) (docs fp.options.fleet ++ docs nx.options.fleet ++ docs nx.options.clan));
}
NIX
run nix eval --json --impure --file "$T/options.nix"
check "options: all described (flake-parts and NixOS modules)" sh -c "[ $RC = 0 ] && [ \"\$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d[\"flakeParts\"]) + len(d[\"nixos\"]), d[\"count\"] > 20 and len(d[\"defaults\"]) > 100)' '$T/run.out')\" = '0 True' ]"
[ "$RC" = 0 ] || cat "$T/run.err"
run nix eval --impure --expr "let f = builtins.getFlake \"$T/fm\"; lib = f.inputs.nixpkgs-lib.lib; in (lib.evalModules { class = \"darwin\"; modules = [ f.modules.nixos.fleet ]; }).config"
check "a NixOS module imported into a darwin configuration: refused by _class" sh -c "[ $RC != 0 ] && grep -q 'nixos' '$T/run.err'"

# --- item 8: clan habits -------------------------------------------------------------------
ev fleet.instances.zerotier
check "module.name defaults to the instance's name" test "$(json 'd["module"]["name"]')" = zerotier
check "role members from a list and an attribute set in two files merge" test "$(json '",".join(d["roles"]["peer"]["machines"])')" = "cinnabar,electrum,stibnite"
check "roles.<r>.tags.<t>.settings, on an automatic tag" test "$(json 'json.dumps(d["roles"]["peer"]["machineSettings"]["stibnite"], sort_keys=True)')" = '{"mobile": true, "port": 9993}'
check "machine settings over role settings" test "$(json 'd["roles"]["peer"]["machineSettings"]["electrum"]["port"]')" = 9994
ev fleet.machines.stibnite.generators
check "a generator restricted to an automatic tag" test "$(json '",".join(sorted(d))')" = "darwin-only,greeting,root-password,zerotier-identity"
ev fleet.machines.cinnabar.generators.root-password.files
check "a persisted prompt is a file too" test "$(json '",".join(sorted(d))')" = "hash,password"
ev standIn.cinnabar.clan.core.vars.generators.ssh-host-key.files.key.path
check "clan.core.vars.generators: a read-only alias" grep -qx '"/run/secrets/ssh-host-key.key"' "$T/run.out"
ev failedAssertions.misplaced
check "a generator declared in a system configuration: reported with its file" sh -c "grep -q 'clan.core.vars.generators is set in .*_misplaced.nix' '$T/run.out' && grep -q 'fleet.generators' '$T/run.out'"

# --- item 4: scripts per system, identified whatever the system ------------------------------
# drv_of MACHINE GEN [SYSTEM]: the script's .drv for SYSTEM (default x86_64-linux), found by
# its system-independent id in fleetScripts.<system>
drv_of() {
	local id
	id=$(nix eval --raw ".#fleet.machines.$1.generators.$2.script.id") &&
		nix eval --raw ".#fleetScripts.${3:-x86_64-linux}.\"$id\".drv"
}
ev fleet.scriptSystems
check "scripts exist for the flake's two systems" test "$(json '",".join(d)')" = "x86_64-linux,aarch64-darwin"
ev fleet.machines.cinnabar.generators.greeting.script
check "with a per-system runtime, .#fleet holds the script's id only" test "$(json 'str(len(d["id"])) + str(d["drv"]) + str(d["path"])')" = "64NoneNone"
run nix eval --json .#fleetScripts --apply 'builtins.mapAttrs (_: builtins.attrNames)'
check "fleetScripts.<system>: the same ids for both systems" test "$(json 'd["x86_64-linux"] == d["aarch64-darwin"] and len(d["x86_64-linux"]) >= 5')" = True
check "…one script for a generator every machine has the same way" test "$(json 'len(d["x86_64-linux"])')" = "$(nix eval --json .#fleet.machines --apply 'ms: builtins.length (builtins.attrNames (builtins.listToAttrs (builtins.concatMap (m: map (g: { name = g.script.id; value = 1; }) (builtins.attrValues m.generators)) (builtins.attrValues ms))))')"
darwin_drv=$(drv_of cinnabar greeting aarch64-darwin)
linux_drv=$(drv_of cinnabar greeting)
check "…different derivations for the two systems" sh -c "[ -n '$darwin_drv' ] && [ -n '$linux_drv' ] && [ '$darwin_drv' != '$linux_drv' ]"
check "…each for its system" sh -c "grep -q '\"aarch64-darwin\"' '$darwin_drv' && grep -q '\"x86_64-linux\"' '$linux_drv' && ! grep -q '\"aarch64-darwin\"' '$linux_drv'"
check "runtimeInputs: the local system's script realises" sh -c "nix-store --realise '$linux_drv' >'$T/script-path'"
check "…and the other system's is never built" sh -c "! nix-store --realise --dry-run '$darwin_drv' 2>&1 | grep -q 'paths will be fetched' && [ ! -e \"\$(nix-store -q --outputs '$darwin_drv')\" ]"
mkdir -p "$T/g-out"
check "runtimeInputs: on the script's PATH, under env -i" sh -c "env -i out='$T/g-out' \$(cat '$T/script-path') && grep -qx 'hello from greet' '$T/g-out/g'"

# --- items 6 and 7: services configure their members; fleet builds the configurations -------
ev fleet.machines.electrum.generators
check "a service role's generators reach its members" sh -c "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert \"zerotier-identity\" in d' '$T/run.out'"
ev standIn.electrum.environment.etc
check "a service role's nixosModule is in the member's configuration, with its settings and the roles" \
	test "$(json 'd["zerotier/zerotier"]')" = "port 9994; peers cinnabar,electrum,stibnite; identity /run/secrets/zerotier-identity.identity-secret"
ev standIn.stibnite.environment.etc
check "…and its darwinModule in a darwin member's" test "$(json 'd["zerotier/zerotier"]')" = "darwin, mobile true"
ev standIn.cinnabar.nixpkgs.hostPlatform
check "nixosConfigurations built from hosts/<m> and fleet's modules: hostPlatform" grep -qx '"x86_64-linux"' "$T/run.out"
ev fleet.machines.cinnabar.toplevel
check "…at the toplevel fleet builds" grep -qx '"nixosConfigurations.cinnabar.config.system.build.toplevel"' "$T/run.out"

# --- item 5: vars across machines (zerotier-shaped) -------------------------------------------
# gen MACHINE GEN: what `fleet vars generate` does by the contract ("Running a generator"),
# public files only: $in/<dep>/<file> from vars/, run under env -i, outputs into vars/.
gen() {
	local m=$1 g=$2 w="$T/gen-$1-$2" drv script d dm dg f
	mkdir -p "$w/out" "$w/in" "$w/prompts"
	drv=$(drv_of "$m" "$g") &&
		script=$(nix-store --realise "$drv" 2>/dev/null) || return 1
	for d in $(nix eval --json ".#fleet.machines.$m.generators.$g.dependencies" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)))'); do
		case $d in */*) dm=${d%/*} dg=${d#*/} ;; *) dm=$m dg=$d ;; esac
		mkdir -p "$w/in/$d"
		for f in vars/per-machine/"$dm"/"$dg"/*/value; do
			cp "$f" "$w/in/$d/$(basename "$(dirname "$f")")"
		done
	done
	env -i out="$w/out" in="$w/in" prompts="$w/prompts" "$script" || return 1
	for f in "$w/out"/*; do
		mkdir -p "vars/per-machine/$m/$g/$(basename "$f")"
		if [ "$(nix eval --json ".#fleet.machines.$m.generators.$g.files.\"$(basename "$f")\".secret")" = true ]; then
			echo "(encrypted)" >"vars/per-machine/$m/$g/$(basename "$f")/secret"
		else
			cp "$f" "vars/per-machine/$m/$g/$(basename "$f")/value"
		fi
	done
}
ev fleet.machines.cinnabar.generators.zerotier-authorized.dependencies
check "the controller's generator depends on every peer's identity" test "$(json '",".join(d)')" = "cinnabar/zerotier-identity,electrum/zerotier-identity,stibnite/zerotier-identity"
for p in cinnabar electrum stibnite; do
	check "generate $p's zerotier-identity" gen "$p" zerotier-identity
done
git add -A && git commit -q -m "peers' vars"
check "generate the controller's authorisation list from the peers' files (\$in/<peer>/<gen>/<file>)" gen cinnabar zerotier-authorized
check "…it holds each peer's member id" test "$(cat vars/per-machine/cinnabar/zerotier-authorized/members/value)" = "$(printf 'member-cinnabar\nmember-electrum\nmember-stibnite')"
git add -A && git commit -q -m "controller's vars"
ev 'standIn.cinnabar.environment.etc."zerotier/authorized"'
check "the controller's configuration reads the peers' public values (fleet.vars.machines)" test "$(json 'd')" = "$(printf 'member-cinnabar\nmember-electrum\nmember-stibnite\n')"
ev standIn.electrum.fleet.vars.generators.zerotier-identity.files.identity-secret.exists
check "a generated secret: .exists" grep -qx true "$T/run.out"

# --- item 3: file semantics ------------------------------------------------------------------
ev standIn.cinnabar.fleet.vars.generators.ssh-host-key.files.key.path
check "a secret's path: /run/secrets/<g>.<f>" grep -qx '"/run/secrets/ssh-host-key.key"' "$T/run.out"
ev standIn.cinnabar.fleet.vars.generators.root-password.files.hash.path
check "a secret needed for users: /run/secrets-for-users/" grep -qx '"/run/secrets-for-users/root-password.hash"' "$T/run.out"
ev standIn.cinnabar.fleet.vars.generators.ssh-host-key.files.\"key.pub\".exists
check "a public file not generated yet: .exists is false" grep -qx false "$T/run.out"
ev standIn.cinnabar.fleet.vars.generators.ssh-host-key.files.\"key.pub\".value
check "…and .value says to run fleet vars generate" sh -c "[ $RC != 0 ] && grep -q 'run .fleet vars generate cinnabar.' '$T/run.err'"
ev standIn.cinnabar.fleet.vars.generators.ssh-host-key.files.key.value
check "a secret's .value: refused, pointing at .path" sh -c "[ $RC != 0 ] && grep -q 'is a secret' '$T/run.err'"
ev standIn.stibnite.fleet.vars.generators.ssh-host-key
check "a generator the machine does not have: says why" sh -c "[ $RC != 0 ] && grep -q 'returns null for machine \"stibnite\" (darwin; tags: \"workstation\"; roles: zerotier/peer)' '$T/run.err'"
ev standIn.electrum.fleet.vars.generators.zerotier-authorized
check "…a service role's: says which role gives it to whom" sh -c "[ $RC != 0 ] && grep -q 'comes from service \"zerotier\" (instance zerotier, role controller), which gives it to \"cinnabar\"; machine \"electrum\"' '$T/run.err'"
ev standIn.cinnabar.fleet.vars.generators.darwin-only
check "…a restricted one: says to what" sh -c "[ $RC != 0 ] && grep -q 'restricted to tags \"darwin\"' '$T/run.err'"
mkdir -p vars/per-machine/cinnabar/ssh-host-key/key.pub
echo "ssh-ed25519 cinnabar" >vars/per-machine/cinnabar/ssh-host-key/key.pub/value
git add -A && git commit -q -m vars
ev standIn.cinnabar.fleet.vars.generators.ssh-host-key.files.\"key.pub\"
check "a generated public file: .exists" test "$(json 'd["exists"]')" = True
check "….value is its content" test "$(json 'repr(d["value"])')" = "'ssh-ed25519 cinnabar\\n'"
check "….path is a store path holding only it" sh -c "p=\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"path\"])' '$T/run.out'); case \$p in /nix/store/*-ssh-host-key-key.pub) cmp -s \"\$p\" vars/per-machine/cinnabar/ssh-host-key/key.pub/value ;; *) false ;; esac"

# --- item 10: problems naming a machine are its warnings -------------------------------------
cat >modules/services/broken.nix <<'NIX'
{ fleet.generators.api = m: if m.name == "electrum" then { files.t.mode = "644"; script = "true"; } else null; }
NIX
$has_import_tree || sed -i 's#"stand-in.nix"#& "services/broken.nix"#' modules/_files.nix
git add -A && git commit -q -m broken
ev standIn.electrum.warnings
check "a problem of electrum is a warning of electrum's system" grep -q 'fleet: generator \\"api\\", file \\"t\\": mode' "$T/run.out"
ev standIn.cinnabar.warnings
check "…and not of cinnabar's" test "$(json 'len(d)')" = 0
cat >"$T/standalone.nix" <<NIX
# nixosModules.default on its own (no flake-parts): fleet.flake set by hand; no warnings
# option declared at all (a stand-in may lack it)
let
  flake = builtins.getFlake "$T/fm";
  lib = flake.inputs.nixpkgs-lib.lib;
  eval = name: extra: (lib.evalModules { class = "nixos"; modules = [
    flake.inputs.fleet.nixosModules.default
    { options.networking.hostName = lib.mkOption { }; config.networking.hostName = name; config.fleet.flake = flake; }
  ] ++ extra; }).config;
  warn = { options.warnings = lib.mkOption { default = [ ]; }; };
in
{
  electrum = (eval "electrum" [ warn ]).warnings;
  cinnabar = (eval "cinnabar" [ warn ]).warnings;
  noWarningsOption = (eval "electrum" [ ]).fleet.vars.generators.zerotier-identity.files.identity-public.exists;
}
NIX
run nix eval --json --impure --file "$T/standalone.nix"
check "nixosModules.default alone: electrum's problem found by its name" sh -c "[ $RC = 0 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d[\"electrum\"]) == 1 and \"(machine electrum)\" in d[\"electrum\"][0] and d[\"cinnabar\"] == [] and d[\"noWarningsOption\"] is True' '$T/run.out'"

finish
