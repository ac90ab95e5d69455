# The flake-parts module: declare the fleet next to the flake.modules.* it uses, and get
# `flake.fleet` (read by the fleet CLI) plus flake.modules.{nixos,darwin}.fleet.
#
#   # flake.nix (dendritic: every file under modules/ is a flake-parts module)
#   outputs = inputs: inputs.flake-parts.lib.mkFlake { inherit inputs; } {
#     imports = [ inputs.flake-parts.flakeModules.modules inputs.fleet.flakeModules.default
#                 (inputs.import-tree ./modules) ];
#   };
#
#   # modules/services/zerotier.nix: the generator lives beside the module it serves
#   {
#     fleet.instances.zerotier = { roles.peer.tags = [ "workstation" ]; };
#     fleet.generators.zerotier-identity = machine:
#       if machine.settings ? zerotier then { files.identity = { }; script = "…"; } else null;
#     flake.modules.nixos.zerotier = { config, ... }: {
#       services.zerotierone.identityFile = config.fleet.vars.generators.zerotier-identity.files.identity.path;
#     };
#   }
#
# This file is the only flake-parts module under modules/fleet/ (the others start with
# `_`, so import-tree skips them); it carries a `key`, so importing it twice (from the
# fleet's input and from a copy under modules/) is one import.
#
# Everything is checked by _lib.nix (problems end up in flake.fleet.problems); the types
# here only catch what the module system can catch early. docs/contract.md has the rest.
{ lib, config, self, inputs, ... }:
let
  inherit (lib) mkOption types literalExpression literalMD;
  fleetLib = import ./_lib.nix;
  machineModule = import ./_nixos.nix;
  cfg = config.fleet;

  # Unset machine fields are null so that inventory.json (or _lib.nix's default) applies.
  nullable = type: description: mkOption { type = types.nullOr type; default = null; inherit description; };

  settingsType = types.attrsOf types.anything;
  settingsOption = description: mkOption { type = settingsType; default = { }; inherit description; };

  machineType = types.submodule {
    options = {
      machineClass = nullable (types.enum fleetLib.machineClasses) "\"nixos\" or \"darwin\" (null: inventory.json's, else \"nixos\").";
      system = nullable types.str "The machine's Nix system, e.g. \"x86_64-linux\" (null: inventory.json's).";
      description = nullable types.str "A free-text description of the machine.";
      tags = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Tags, for roles and generator restrictions (with inventory.json's; `all`, `nixos`, `darwin` are automatic).";
      };
      toplevel = nullable types.str "Flake attribute path of the system to build (null: from the machine class).";
      deploy = mkOption {
        default = { };
        description = "How fleet reaches the machine.";
        type = types.submodule {
          options = {
            targetHost = nullable types.str "SSH destination, e.g. \"root@host\".";
            buildHost = nullable types.str "Build there instead of locally.";
            wave = nullable types.ints.unsigned "Deployment wave: lower waves go first (null: 0).";
            sshOptions = nullable (types.listOf types.str) "Extra ssh arguments.";
          };
        };
      };
    };
  };

  # `{ settings = { … }; }` for one member of a role (a machine or a tag).
  memberType = what: types.submodule {
    options.settings = settingsOption "Settings for ${what}, over the role's.";
  };

  # clan accepts `machines = [ "a" ]` and `machines.a = { … }`, from as many files as it
  # likes: the list form is coerced to the attribute set, so both merge.
  membersOption = what: description: mkOption {
    type = types.coercedTo (types.listOf types.str)
      (names: lib.genAttrs names (_: { }))
      (types.attrsOf (memberType what));
    default = { };
    inherit description;
  };

  roleType = types.submodule {
    options = {
      machines = membersOption "this machine" "Members by name (a list, or name → { settings }).";
      tags = membersOption "machines with this tag" "Members by tag: every machine with one of these tags (a list, or tag → { settings }).";
      settings = settingsOption "Settings for every member of the role, over the instance's.";
    };
  };

  instanceType = types.submodule ({ name, ... }: {
    options = {
      module = {
        name = mkOption {
          type = types.str;
          default = name;
          defaultText = literalMD "the instance's name";
          description = "Service module name, e.g. \"zerotier\".";
        };
        input = nullable types.str "Flake input providing the module (null: none).";
      };
      settings = settingsOption "Settings for every role of the instance.";
      roles = mkOption { type = types.attrsOf roleType; default = { }; description = "The instance's roles and their members."; };
    };
  });

  analysis = fleetLib.analyse {
    inherit (cfg) name instances generators runtime inventoryFile machines services;
    scriptSystems =
      if cfg.scriptSystems != null then cfg.scriptSystems
      else if lib.isFunction cfg.runtime then config.systems
      else null;
    toplevelFor = name: m:
      if m.machineClass == "darwin"
      then "darwinConfigurations.${name}.system"
      else "nixosConfigurations.${name}.config.system.build.toplevel";
  };

  # flake.modules.<class>.fleet: the machine module wired to this flake. Keyed, so a
  # machine importing it from several places (a base module and its host) gets it once.
  machineModuleFor = class: {
    _class = class;
    key = "fleet/modules/fleet/flake-module.nix#flake.modules.${class}.fleet";
    imports = [ (machineModule { inherit class; }) ];
    fleet.flake = self;
    fleet.analysis = analysis;
  };

  # flake.modules.<class>."fleet/<machine>": everything fleet gives that machine: the
  # machine module, its name, and the modules of the service roles it has.
  machinesOf = class: lib.filterAttrs (_: m: m.machineClass == class) analysis.output.machines;
  perMachineModules = class: lib.mapAttrs'
    (name: _: lib.nameValuePair "fleet/${name}" {
      _class = class;
      key = "fleet/modules/fleet/flake-module.nix#flake.modules.${class}.fleet/${name}";
      imports = [ (machineModuleFor class) ] ++ analysis.modulesOf name class;
      fleet.machineName = name;
    })
    (machinesOf class);

  # nixosConfigurations / darwinConfigurations: the host's module (flake.modules.<class>."hosts/<m>",
  # what `fleet machines create` scaffolds) with fleet's.
  configurationsOf = class: builder: lib.mapAttrs
    (name: m: builder {
      modules = [
        config.flake.modules.${class}."fleet/${name}"
        (config.flake.modules.${class}."hosts/${name}" or { })
        { networking.hostName = lib.mkDefault name; nixpkgs.hostPlatform = lib.mkDefault m.system; }
      ];
    })
    (machinesOf class);
in
{
  key = "fleet/modules/fleet/flake-module.nix";
  _class = "flake";

  options.fleet = {
    name = mkOption { type = types.str; description = "Name of the fleet (meta.name)."; };
    machines = mkOption { type = types.attrsOf machineType; default = { }; description = "Machines declared in Nix (merged with inventory.json)."; };
    inventoryFile = mkOption {
      type = types.nullOr (types.either types.path types.str);
      default = "${self}/inventory.json";
      defaultText = literalExpression ''"''${self}/inventory.json"'';
      description = "inventory.json written by `fleet machines create`; ignored when absent.";
    };
    instances = mkOption { type = types.attrsOf instanceType; default = { }; description = "Service instances (clan style)."; };
    generators = mkOption {
      # raw: one definition per generator name, not merged, not forced until needed;
      # an attrset or a function `machine: attrset-or-null` (checked by _lib.nix)
      type = types.lazyAttrsOf types.raw;
      default = { };
      description = "Flake-level vars generators (an attribute set, or a function of the machine returning one or null); never read from a NixOS/darwin configuration.";
    };
    runtime = mkOption {
      type = types.nullOr (types.either types.package (types.functionTo types.package));
      default = null;
      example = literalExpression ''system: withSystem system ({ pkgs, ... }: pkgs.buildEnv { name = "fleet-runtime"; paths = [ pkgs.bash pkgs.coreutils ]; })'';
      description = ''
        What string scripts run with: a derivation whose bin/ holds sh and the tools (scripts
        for its system only), or a function of the system giving one (scripts for every
        system of fleet.scriptSystems, in flake.fleetScripts.<system>).
      '';
    };
    scriptSystems = mkOption {
      type = types.nullOr (types.listOf types.str);
      default = null;
      defaultText = literalMD "`config.systems` when `fleet.runtime` is a function, else the runtime's system";
      description = "The systems flake.fleetScripts has generator scripts for (the systems fleet runs on).";
    };
    services = mkOption {
      type = types.lazyAttrsOf types.raw;
      default = { };
      description = ''
        Service modules, by the name instances give as module.name (clan's shape):
        `roles.<r>.perInstance = { instanceName, roleName, settings, machine, roles }: { vars.generators; nixosModule; darwinModule; }`.
        A member machine gets the role's generators and modules.
      '';
    };
    configurations = mkOption {
      type = types.bool;
      default = true;
      description = "Build nixosConfigurations / darwinConfigurations for every fleet machine of that class (when fleet.nixpkgs / fleet.nix-darwin is set).";
    };
    nixpkgs = mkOption {
      type = types.nullOr types.raw;
      default = inputs.nixpkgs or null;
      defaultText = literalExpression "inputs.nixpkgs or null";
      description = "The nixpkgs flake whose lib.nixosSystem builds the NixOS machines.";
    };
    nix-darwin = mkOption {
      type = types.nullOr types.raw;
      default = inputs.nix-darwin or inputs.darwin or null;
      defaultText = literalExpression "inputs.nix-darwin or inputs.darwin or null";
      description = "The nix-darwin flake whose lib.darwinSystem builds the darwin machines.";
    };
  };

  config.flake = {
    fleet = analysis.output;
    # script id → { drv; path; } for each system fleet runs on: fleet evaluates and
    # realises only its own system's
    fleetScripts = lib.genAttrs analysis.output.scriptSystems analysis.scriptsFor;
    # Import into each machine: exposes config.fleet.vars.* read-only.
    modules.nixos = { fleet = machineModuleFor "nixos"; } // perMachineModules "nixos";
    modules.darwin = { fleet = machineModuleFor "darwin"; } // perMachineModules "darwin";
    nixosConfigurations = lib.mkIf (cfg.configurations && cfg.nixpkgs != null)
      (configurationsOf "nixos" cfg.nixpkgs.lib.nixosSystem);
    darwinConfigurations = lib.mkIf (cfg.configurations && cfg.nix-darwin != null)
      (configurationsOf "darwin" cfg.nix-darwin.lib.darwinSystem);
  };
}
