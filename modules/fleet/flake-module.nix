# The flake-parts module: declare the fleet next to the flake.modules.* it uses, and get
# `flake.fleet` (read by the fleet CLI) plus flake.modules.{nixos,darwin}.fleet.
#
#   # flake.nix (dendritic: every file under modules/ is a flake-parts module)
#   outputs = inputs: inputs.flake-parts.lib.mkFlake { inherit inputs; } {
#     imports = [ inputs.flake-parts.flakeModules.modules ./modules/fleet/flake-module.nix
#                 (inputs.import-tree ./modules) ];
#   };
#
#   # modules/services/zerotier.nix: the generator lives beside the module it serves
#   {
#     fleet.instances.zerotier-local = { module.name = "zerotier"; roles.peer.tags = [ "workstation" ]; };
#     fleet.generators.zerotier-identity = machine:
#       if machine.settings ? zerotier-local then { files.identity = { }; script = "…"; } else null;
#     flake.modules.nixos.zerotier = { config, ... }: {
#       services.zerotierone.identityFile = config.fleet.vars.generators.zerotier-identity.files.identity.path;
#     };
#   }
#
# Everything is checked by lib.nix (problems end up in flake.fleet.problems); the types
# here only catch what the module system can catch early. docs/contract.md has the rest.
{ lib, config, self, ... }:
let
  inherit (lib) mkOption types;
  fleetLib = import ./_lib.nix;
  cfg = config.fleet;

  # Unset machine fields are null so that inventory.json (or lib.nix's default) applies.
  nullable = type: description: mkOption { type = types.nullOr type; default = null; inherit description; };

  settingsType = types.attrsOf types.anything;

  machineType = types.submodule {
    options = {
      machineClass = nullable (types.enum fleetLib.machineClasses) "\"nixos\" or \"darwin\" (default \"nixos\").";
      system = nullable types.str "The machine's Nix system, e.g. \"x86_64-linux\".";
      tags = mkOption { type = types.listOf types.str; default = [ ]; description = "Tags, for roles and generators."; };
      toplevel = nullable types.str "Flake attribute path of the system to build (default: from the machine class).";
      deploy = mkOption {
        default = { };
        description = "How fleet reaches the machine.";
        type = types.submodule {
          options = {
            targetHost = nullable types.str "SSH destination, e.g. \"root@host\".";
            buildHost = nullable types.str "Build there instead of locally.";
            wave = nullable types.ints.unsigned "Deployment wave: lower waves go first (default 0).";
            sshOptions = nullable (types.listOf types.str) "Extra ssh arguments.";
          };
        };
      };
    };
  };

  # roles.<r>.machines / .tags take clan's attrset form or a plain list.
  roleType = types.submodule {
    options = {
      machines = mkOption {
        type = types.either (types.listOf types.str)
          (types.attrsOf (types.submodule { options.settings = mkOption { type = settingsType; default = { }; }; }));
        default = { };
        description = "Members by name, with optional per-machine settings.";
      };
      tags = mkOption {
        type = types.either (types.listOf types.str) (types.attrsOf types.anything);
        default = { };
        description = "Members by tag: every machine with one of these tags.";
      };
      settings = mkOption { type = settingsType; default = { }; description = "Settings for every member."; };
    };
  };

  instanceType = types.submodule {
    options = {
      module = {
        name = mkOption { type = types.str; description = "Service module name, e.g. \"zerotier\"."; };
        input = nullable types.str "Flake input providing the module.";
      };
      settings = mkOption { type = settingsType; default = { }; description = "Settings for every role."; };
      roles = mkOption { type = types.attrsOf roleType; default = { }; };
    };
  };
in
{
  options.fleet = {
    name = mkOption { type = types.str; description = "Name of the fleet (meta.name)."; };
    machines = mkOption { type = types.attrsOf machineType; default = { }; description = "Machines declared in Nix (merged with inventory.json)."; };
    inventoryFile = mkOption {
      type = types.nullOr (types.either types.path types.str);
      default = "${self}/inventory.json";
      description = "inventory.json written by `fleet machines create`; ignored when absent.";
    };
    instances = mkOption { type = types.attrsOf instanceType; default = { }; description = "Service instances (clan style)."; };
    generators = mkOption {
      # raw: one definition per generator name, not merged, not forced until needed;
      # an attrset or a function `machine: attrset-or-null` (checked by lib.nix)
      type = types.lazyAttrsOf types.raw;
      default = { };
      description = "Flake-level vars generators; never read from a NixOS/darwin configuration.";
    };
    runtime = mkOption {
      type = types.nullOr types.package;
      default = null;
      description = "Derivation whose bin/ holds sh and the tools that string scripts run with.";
    };
  };

  config.flake = {
    fleet = fleetLib.mkFleet {
      inherit (cfg) name instances generators runtime inventoryFile;
      machines = cfg.machines;
      toplevelFor = name: m:
        if m.machineClass == "darwin"
        then "darwinConfigurations.${name}.system"
        else "nixosConfigurations.${name}.config.system.build.toplevel";
    };
    # Import into each machine: exposes config.fleet.vars.* read-only.
    modules.nixos.fleet = import ./_nixos.nix { fleet = config.flake.fleet; root = self; };
    modules.darwin.fleet = import ./_nixos.nix { fleet = config.flake.fleet; root = self; };
  };
}
