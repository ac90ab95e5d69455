# NixOS and nix-darwin module: this machine's fleet vars, read-only.
#
#   config.fleet.vars.generators.<g>.files.<f>.path   "/run/secrets/<g>.<f>" (fleet deploys it there)
#   config.fleet.vars.generators.<g>.files.<f>.value  public files: the content committed under
#                                                    vars/ in the flake, or null if not generated yet
#
# It reads the flake-level `fleet` output (computed without any system configuration),
# so a machine's configuration can never change its own generators.
{ fleet, root ? null }:
{ config, lib, ... }:
let
  fleetLib = import ./_lib.nix;
  name = config.fleet.machineName;
  machine = fleet.machines.${name} or null;

  # Layout written by `fleet vars generate` (docs/contract.md, "vars/ layout").
  publicValue = g: gen: f:
    let
      file = if gen.share
        then "${root}/vars/shared/${g}/${f}/value"
        else "${root}/vars/per-machine/${name}/${g}/${f}/value";
    in
    if root != null && builtins.pathExists file then builtins.readFile file else null;

  exposeFile = g: gen: f: file: file // {
    path = fleetLib.secretPath g f;
    value = if file.secret then null else publicValue g gen f;
  };
in
{
  options.fleet = {
    machineName = lib.mkOption {
      type = lib.types.str;
      default = config.networking.hostName;
      defaultText = lib.literalExpression "config.networking.hostName";
      description = "This machine's name in flake.fleet.machines.";
    };
    vars.generators = lib.mkOption {
      type = lib.types.lazyAttrsOf lib.types.raw;
      readOnly = true;
      description = "This machine's generators from flake.fleet, with file paths and public values.";
    };
  };

  config = {
    assertions = [{
      assertion = machine != null;
      message = "fleet: machine \"${name}\" is not in flake.fleet.machines (set fleet.machineName?)";
    }];
    fleet.vars.generators =
      if machine == null then { }
      else lib.mapAttrs (g: gen: gen // { files = lib.mapAttrs (exposeFile g gen) gen.files; }) machine.generators;
  };
}
