# The NixOS and nix-darwin module (not a flake-parts module: the leading `_` keeps a
# user's import-tree from loading it as one). `import ./_nixos.nix { class = "nixos"; }`
# is the module; the root flake exports it as nixosModules.default / darwinModules.default
# and the flake-parts module as flake.modules.{nixos,darwin}.fleet, wired to the flake.
#
#   config.fleet.vars.generators.<g>.files.<f>.path    a secret: where fleet installs it on
#                                                      the machine (by neededFor); a public
#                                                      file: a store path holding its value
#   config.fleet.vars.generators.<g>.files.<f>.value   a public file's content
#   config.fleet.vars.generators.<g>.files.<f>.exists  whether `fleet vars generate` wrote it
#
# It reads the flake-level `fleet` output (computed without any system configuration),
# so a machine's configuration can never change its own generators. docs/contract.md
# ("The NixOS / nix-darwin module") specifies it.
{ class }:
{ config, lib, options, ... }:
let
  inherit (lib) mkOption types literalExpression literalMD;
  fleetLib = import ./_lib.nix;
  cfg = config.fleet;
  name = cfg.machineName;
  fleet = cfg.flake.fleet;
  machine = fleet.machines.${name} or null;

  # Layout written by `fleet vars generate` (docs/contract.md, "vars/ layout"), for the
  # files of machine m's generator g.
  exposeFileOf = m: g: gen: f: file:
    let
      dir = if gen.share then "vars/shared/${g}/${f}" else "vars/per-machine/${m}/${g}/${f}";
      stored = "${cfg.flake}/${dir}/${if file.secret then "secret" else "value"}";
      exists = builtins.pathExists stored;
      notYet = throw "fleet: ${dir}/value does not exist yet: run `fleet vars generate ${m}`";
    in
    file // {
      inherit exists;
      path =
        if file.secret then fleetLib.secretPath g f file.neededFor
        else if exists then builtins.path { path = stored; name = "${g}-${f}"; }
        else notYet;
      value =
        if file.secret
        then throw "fleet: ${g}/${f} is a secret: Nix never sees its value; read it on the machine at .path (${fleetLib.secretPath g f file.neededFor})"
        else if exists then builtins.readFile stored
        else notYet;
    };

  exposeGeneratorOf = m: g: gen: gen // { files = lib.mapAttrs (exposeFileOf m g gen) gen.files; };

  own = if machine == null then { } else lib.mapAttrs (exposeGeneratorOf name) machine.generators;

  # every machine's generators, the same way: their public values are readable here
  # (a secret's path is where it lives on that machine)
  machines = lib.mapAttrs (m: mv: { generators = lib.mapAttrs (exposeGeneratorOf m) mv.generators; }) fleet.machines;

  # Generators declared for the fleet that this machine does not have: asking for one
  # says why (its machines, tags, roles) instead of "attribute missing".
  explained = lib.genAttrs
    (lib.filter (g: !(own ? ${g})) cfg.analysis.generatorNames)
    (g: throw "fleet: config.fleet.vars.generators.${g}: ${cfg.analysis.whyNot name g}");

  # Without the flake-parts module (nixosModules.default on its own) only the output is
  # known: problems are found by the machine names they mention.
  fallbackAnalysis = {
    problemsOf = m: lib.filter
      (p: lib.hasInfix "\"${m}\"" p || builtins.match ".*[(]machines? (.*, )?${m}(, .*| and .*)?[)]" p != null)
      fleet.problems;
    whyNot = m: g: "machine \"${m}\" does not have generator \"${g}\" (the flake-parts module's fleet.analysis tells why)";
    generatorNames = lib.unique (lib.concatMap (m: lib.attrNames m.generators) (lib.attrValues fleet.machines));
  };

  # Both generator options are only defaulted here (the default counts as a definition
  # from the declaring file): any other definition comes from a system configuration and
  # is reported with the files it is in. Not `readOnly`: that would throw on read, before
  # the assertion could say where.
  foreignFiles = opt: lib.filter (f: !(lib.elem f opt.declarations)) opt.files;
in
{
  _class = class;
  key = "fleet/modules/fleet/_nixos.nix#${class}";

  options.fleet = {
    flake = mkOption {
      type = types.raw;
      description = "The fleet's flake (`self`): its `fleet` output and the `vars/` directory under it. Set by flake.modules.${class}.fleet.";
      example = literalExpression "self";
    };
    analysis = mkOption {
      type = types.raw;
      internal = true;
      default = fallbackAnalysis;
      defaultText = literalMD "problems found by machine name in `fleet.flake.fleet.problems`";
      description = "What _lib.nix's `analyse` returns besides the output (problemsOf, whyNot, generatorNames). Set by flake.modules.${class}.fleet.";
    };
    machineName = mkOption {
      type = types.str;
      default = config.networking.hostName;
      defaultText = literalExpression "config.networking.hostName";
      description = "This machine's name in flake.fleet.machines.";
    };
    vars.generators = mkOption {
      type = types.lazyAttrsOf types.raw;
      default = own // explained;
      defaultText = literalMD "this machine's generators from `flake.fleet`, with `path`, `value` and `exists` on each file";
      description = "This machine's generators from flake.fleet, read-only (a definition fails an assertion naming its file): generators are declared at flake level (fleet.generators).";
    };
    vars.machines = mkOption {
      type = types.lazyAttrsOf types.raw;
      readOnly = true;
      default = machines;
      defaultText = literalMD "every fleet machine's generators, as in `fleet.vars.generators`";
      description = "Every machine's generators (fleet.vars.machines.<m>.generators.<g>.files.<f>), for reading other machines' public values.";
    };
  };

  # clan's name for the same thing, so consumer code copied from clan works unchanged.
  # Only the machine's own generators (clan code iterates over them).
  options.clan.core.vars.generators = mkOption {
    type = types.lazyAttrsOf types.raw;
    default = own;
    defaultText = literalExpression "config.fleet.vars.generators";
    description = "Read-only alias of fleet.vars.generators (the machine's own generators) for code written for clan; a definition fails an assertion naming its file.";
  };

  # assertions and warnings are NixOS's and nix-darwin's; a stand-in configuration
  # (lib.evalModules in tests) may lack them
  config = lib.optionalAttrs (options ? assertions) {
    assertions = [
      {
        assertion = machine != null;
        message = "fleet: machine \"${name}\" is not in flake.fleet.machines (set fleet.machineName?)";
      }
    ] ++ map
      (o: {
        assertion = foreignFiles o.opt == [ ];
        message = "fleet: ${o.what} is set in ${lib.concatStringsSep ", " (foreignFiles o.opt)}: "
          + "generators are declared at flake level (fleet.generators.<name> in a flake-parts module), "
          + "never inside a system configuration";
      })
      [
        { what = "clan.core.vars.generators"; opt = options.clan.core.vars.generators; }
        { what = "fleet.vars.generators"; opt = options.fleet.vars.generators; }
      ];
  } // lib.optionalAttrs (options ? warnings) {
    # problems naming this machine show up in nixos-rebuild / darwin-rebuild
    warnings = lib.optionals (machine != null) (map (p: "fleet: ${p}") (cfg.analysis.problemsOf name));
  };
}
