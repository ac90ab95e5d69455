#!/usr/bin/env bash
# The flake-parts module and the NixOS module, evaluated with the real libraries
# (flake-parts, import-tree, nixpkgs.lib from ../shared/upstream/): a fleet in the dendritic
# layout (tests/fixtures/dendritic: every file under modules/ a flake-parts module, found
# by import-tree) that fleet reads, lists and validates; and modules.nixos.fleet evaluated
# with lib.evalModules, with the few NixOS options it touches declared here.
# import-tree needs Nix >= 2.14 (builtins.readFileType): on an older Nix this is skipped;
# the Debian 13 suite of tests/run-all.sh (Nix 2.26) runs it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nixlib.sh"

command -v nix >/dev/null || { not_ok "nix is installed (apt-get install nix-bin)"; finish; }
nix_version=$(nix --version | sed -n 's/^nix (Nix) \([0-9]*\.[0-9]*\).*/\1/p')
case $nix_version in
2.[0-9] | 2.1[0-3]) skip_all "Nix $nix_version: import-tree needs Nix >= 2.14 (the Debian 13 suite runs this)" ;;
esac
export XDG_CACHE_HOME="$T/cache"
unset FLEET_FLAKE FLEET_NIX
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/run.out"; }

fleet_fixture dendritic "$T/fleet" >/dev/null
check "the inputs lock to ../shared/upstream" fleet_lock_upstream "$T/fleet"
cd "$T/fleet" || exit 1

# --- fleet reads it ------------------------------------------------------------------------
run "$FLEET" inventory list
check "inventory list: exit 0" test "$RC" = 0
check "inventory list: the machines of modules/hosts/*" test "$(grep -c -E '^(mac1|web1|web2) ' "$T/run.out")" = 3
run "$FLEET" machines list --json @vps
check "machines list @vps: from the hosts' tags" test "$(json '",".join(m["name"] + ":" + str(m["targetHost"]) for m in d)')" = "web1:root@web1.example.org,web2:root@web2.example.org"
run "$FLEET" machines list --json mac1
check "machines list: a darwin host" test "$(json 'd[0]["machineClass"] + " " + d[0]["system"]')" = "darwin aarch64-darwin"
run "$FLEET" inventory roles zerotier --json
check "roles: controller by name, peers by tag" test "$(json 'd["roles"]["controller"]["machines"][0] + "|" + ",".join(d["roles"]["peer"]["machines"])')" = "web1|mac1,web1,web2"
run "$FLEET" inventory show web2 --json
check "show: generators from modules/services and modules/users" test "$(json '",".join(sorted(d["generators"]))')" = "root-password,zerotier-identity,zerotier-network"
run "$FLEET" inventory validate
check "validate: exit 0" test "$RC" = 0

# --- a new file under modules/ is found without being listed anywhere ----------------------
cat >modules/services/backup.nix <<'EOF'
{ fleet.instances.backup = { module.name = "borgbackup"; roles.client.tags = [ "workstaton" ]; }; }
EOF
git add modules/services/backup.nix
run "$FLEET" inventory validate
check "validate a new module with a typo: exit 1" test "$RC" = 1
check "validate: names the unknown tag" grep -q workstaton "$T/run.err"
git rm -q -f modules/services/backup.nix

# --- the NixOS module, evaluated with lib.evalModules --------------------------------------
mkdir -p vars/per-machine/web1/zerotier-identity/identity-public vars/shared/zerotier-network/network-id
echo "abc:web1" >vars/per-machine/web1/zerotier-identity/identity-public/value
printf 'net0' >vars/shared/zerotier-network/network-id/value
git add -A && git commit -q -m vars
cat >"$T/eval-nixos.nix" <<'EOF'
flakeDir:
let
  flake = builtins.getFlake "git+file://${flakeDir}";
  lib = flake.inputs.nixpkgs-lib.lib;
  # What nixos.nix reads and sets of NixOS (and nix-darwin): networking.hostName,
  # assertions and warnings.
  nixosStandIn = name: {
    options.networking.hostName = lib.mkOption { type = lib.types.str; };
    options.assertions = lib.mkOption { type = lib.types.listOf lib.types.unspecified; default = [ ]; };
    options.warnings = lib.mkOption { type = lib.types.listOf lib.types.str; default = [ ]; };
    config.networking.hostName = name;
  };
  # No value Nix may not know: null, or an error saying why.
  unreadable = v: let r = builtins.tryEval v; in !r.success || r.value == null;
  evalClass = class: name: (lib.evalModules {
    inherit class;
    modules = [ flake.modules.${class}.fleet (nixosStandIn name) ];
  }).config;
  eval = evalClass "nixos";
  web1 = eval "web1";
  files = g: web1.fleet.vars.generators.${g}.files;
in
{
  generators = builtins.attrNames web1.fleet.vars.generators;
  secretPath = (files "zerotier-identity").identity-secret.path;
  secretUnreadable = unreadable (files "zerotier-identity").identity-secret.value;
  publicValue = (files "zerotier-identity").identity-public.value;
  sharedValue = (files "zerotier-network").network-id.value;
  notGeneratedYet = unreadable (eval "web2").fleet.vars.generators.zerotier-identity.files.identity-public.value;
  macGenerators = builtins.attrNames (evalClass "darwin" "mac1").fleet.vars.generators;
  unknownMachine = map (a: a.message) (builtins.filter (a: !a.assertion) (eval "nosuch").assertions);
}
EOF
run nix eval --json --impure --expr "import $T/eval-nixos.nix \"$T/fleet\""
check "nixos module: evaluates" test "$RC" = 0
check "nixos module: the machine's generators" test "$(json '",".join(d["generators"])')" = "root-password,zerotier-identity,zerotier-network"
check "nixos module: a secret's path" test "$(json 'd["secretPath"]')" = /run/secrets/zerotier-identity.identity-secret
check "nixos module: a secret has no value in Nix" test "$(json 'd["secretUnreadable"]')" = True
check "nixos module: a public value from vars/per-machine" test "$(json 'repr(d["publicValue"])')" = "'abc:web1\\n'"
check "nixos module: a shared public value from vars/shared" test "$(json 'd["sharedValue"]')" = net0
check "nixos module: a value not generated yet is none" test "$(json 'd["notGeneratedYet"]')" = True
check "darwin module: a darwin machine's generators" test "$(json '",".join(d["macGenerators"])')" = "root-password,zerotier-identity,zerotier-network"
check "nixos module: a machine not in the fleet fails an assertion naming it" sh -c "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d[\"unknownMachine\"]) == 1 and \"nosuch\" in d[\"unknownMachine\"][0]' '$T/run.out'"

finish
