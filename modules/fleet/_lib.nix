# fleet's Nix library: builds the `fleet` flake output that the fleet CLI reads with
# `nix eval --json .#fleet`. Pure Nix, builtins only (no nixpkgs), works on Nix >= 2.8.
# Not a module: the leading `_` keeps a user's import-tree from loading it as one.
#
#   (import ./_lib.nix).mkFleet { name = "acme"; machines = { … }; instances = { … };
#                                generators = { … }; runtime = <drv with bin/sh>; }
#
# docs/contract.md is the specification of every field produced here. The rules that
# matter most:
#   - collecting generators never instantiates a NixOS or nix-darwin system: generators
#     are flake-level declarations, evaluated against a small `machine` argument;
#   - validation never throws: every problem found becomes one line of `problems`, and as
#     much of the output as possible is still produced.
let
  inherit (builtins)
    all any attrNames attrValues concatMap concatStringsSep elem elemAt filter foldl' genericClosure
    groupBy hashString head isAttrs isBool isFunction isInt isList isPath isString
    length listToAttrs mapAttrs match readFile sort tail toJSON typeOf
    ;

  # ---------------------------------------------------------------- constants

  machineClasses = [ "nixos" "darwin" ];
  promptTypes = [ "line" "hidden" "multiline" "multiline-hidden" ];
  neededForValues = [ "partitioning" "activation" "users" "services" ];

  # Names become directory and file names on disk (vars/…, /run/secrets/…) and
  # attribute paths on the command line, so they are restricted.
  machineNameRe = "[A-Za-z0-9][A-Za-z0-9_-]*";
  generatorNameRe = "[A-Za-z0-9_][A-Za-z0-9_-]*";
  fileNameRe = "[A-Za-z0-9_][A-Za-z0-9_.-]*"; # files and prompts: no "/", no leading "."
  modeRe = "0[0-7]{3}";

  machineKeys = [ "machineClass" "system" "tags" "deploy" "toplevel" "description" ];
  deployKeys = [ "targetHost" "buildHost" "wave" "sshOptions" ];
  instanceKeys = [ "module" "settings" "roles" ];
  roleKeys = [ "machines" "tags" "settings" ];
  generatorKeys = [ "share" "dependencies" "prompts" "files" "script" "runtimeInputs" "validation" "machines" "tags" ];
  promptKeys = [ "description" "type" "persist" ];
  fileKeys = [ "secret" "deploy" "owner" "group" "mode" "neededFor" ];

  # Tags every machine carries without declaring them (clan's automatic tags): usable in
  # roles and generator restrictions, never reported as unused.
  automaticTags = [ "all" "nixos" "darwin" ];

  # Where fleet installs a secret file of generator g on a machine, by the phase that
  # needs it (_nixos.nix uses it for `.path`).
  secretPath = g: f: neededFor:
    if neededFor == "users" then "/run/secrets-for-users/${g}.${f}"
    else if neededFor == "partitioning" then "/run/partitioning-secrets/${g}/${f}"
    else "/run/secrets/${g}.${f}";

  defaultToplevelFor = name: machine:
    if machine.machineClass == "darwin"
    then "darwinConfigurations.${name}.system"
    else "nixosConfigurations.${name}.config.system.build.toplevel";

  # ---------------------------------------------------------------- helpers

  # Sorted, de-duplicated list of strings.
  uniqueStrings = xs: attrNames (listToAttrs (map (x: { name = x; value = null; }) xs));

  filterAttrs = pred: set: listToAttrs (concatMap (k: optional (pred k set.${k}) { name = k; value = set.${k}; }) (attrNames set));
  genAttrs = names: f: listToAttrs (map (n: { name = n; value = f n; }) names);
  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: xs: if cond then xs else [ ];
  matches = re: s: isString s && match re s != null;
  quote = s: toJSON s;
  quoteAll = xs: concatStringsSep ", " (map quote xs);
  isDerivation = v: isAttrs v && (v.type or null) == "derivation";
  discard = builtins.unsafeDiscardStringContext;

  # A short description of a value for error messages, safe for any type.
  describe = v:
    if isString v then quote v
    else if isInt v || isBool v || v == null then toJSON v
    else "a ${typeOf v}";

  # Deep merge, right wins; derivations are values, not attrsets to merge into.
  recursiveMerge = a: b:
    a // mapAttrs
      (k: bv:
        let av = a.${k} or null; in
        if isAttrs av && isAttrs bv && !isDerivation av && !isDerivation bv
        then recursiveMerge av bv
        else bv)
      b;

  # Where a value holds functions, as paths under `prefix` ("settings.a.b", "x[2]"); such a
  # value cannot be printed as JSON. Derivations are leaves (they print as their path).
  functionPaths = prefix: v:
    if isFunction v then [ prefix ]
    else if isDerivation v then [ ]
    else if isAttrs v then concatMap (k: functionPaths "${prefix}.${k}" v.${k}) (attrNames v)
    else if isList v then concatMap (i: functionPaths "${prefix}[${toString i}]" (elemAt v i)) (range 0 (length v - 1))
    else [ ];
  range = a: b: if a > b then [ ] else genList' (b - a + 1) (i: a + i);
  genList' = n: f: builtins.genList f n;
  # The same value with every function replaced by null: printable.
  stripFunctions = v:
    if isFunction v then null
    else if isDerivation v then v
    else if isAttrs v then mapAttrs (_: stripFunctions) v
    else if isList v then map stripFunctions v
    else v;

  # clan accepts both `machines = [ "a" ]` and `machines.a = { … }`; same for tags.
  namesOf = v: if isList v then v else if isAttrs v then attrNames v else [ ];

  # Attribute names of `set` that are not in `allowed`, as problems under `prefix`.
  unknownKeys = prefix: allowed: set:
    map (k: "${prefix}: unknown attribute ${quote k}")
      (filter (k: !(elem k allowed)) (attrNames set));

  isStringList = v: isList v && all isString v;
  isNullOrString = v: v == null || isString v;

  # "(machine a)" / "(machines a, b, c and 7 more)": used to fold per-machine problems.
  machineSuffix = ms:
    let n = length ms; shown = if n > 5 then take 5 ms else ms; in
    if n == 1 then "(machine ${head ms})"
    else "(machines ${concatStringsSep ", " shown}${if n > 5 then " and ${toString (n - 5)} more" else ""})";
  take = n: xs: if n == 0 || xs == [ ] then [ ] else [ (head xs) ] ++ take (n - 1) (tail xs);

  # Per-machine problems are { msg; machine; } records; the same message on many
  # machines becomes one line listing them.
  foldMachineProblems = records:
    let byMsg = groupBy (r: r.msg) records; in
    map (msg: "${msg} ${machineSuffix (uniqueStrings (map (r: r.machine) byMsg.${msg}))}") (attrNames byMsg);

  # ---------------------------------------------------------------- scripts

  # Turns shell code into a runnable script file in the store that depends only on
  # `runtime` (a derivation whose $out/bin holds sh and the tools) and the generator's
  # `runtimeInputs` (their bin/ come first in PATH, as clan does it): no host PATH.
  writeGeneratorScript = runtime: writeScriptWithInputs runtime [ ];
  writeScriptWithInputs = runtime: inputs: gname: code:
    let path = concatStringsSep ":" (map (d: "${d}/bin") inputs ++ [ "${runtime}/bin" ]); in
    derivation {
      # store path names allow fewer characters than attribute names
      name = if matches generatorNameRe gname then "fleet-generator-${gname}" else "fleet-generator";
      system = runtime.system;
      builder = "${runtime}/bin/sh";
      text = ''
        #!${runtime}/bin/sh
        # fleet generator ${gname}: writes its files to $out; prompts in $prompts, dependencies in $in
        set -eu
        export PATH=${path}
      '' + code + "\n";
      passAsFile = [ "text" ];
      args = [ "-c" "export PATH=${runtime}/bin; cp \"$textPath\" \"$out\" && chmod 0555 \"$out\"" ];
    };

  # script: a derivation (an executable file), a string of shell code, or a path to a
  # file of shell code. → { drv = derivation or null; problems = [ … ]; }
  mkScript = runtime: inputs: prefix: gname: script:
    if isFunction script then { drv = null; problems = [ "${prefix}: script is a function of the system, but no system is known (runtime is a function and scriptSystems is empty)" ]; }
    else if isDerivation script then { drv = script; problems = optional (inputs != [ ]) "${prefix}: runtimeInputs only apply to a script given as shell code (a derivation sets its own PATH)"; }
    else if isString script || isPath script then
      if runtime == null
      then { drv = null; problems = [ "${prefix}: script is shell code, but mkFleet was given no `runtime` to run it with" ]; }
      else { drv = writeScriptWithInputs runtime inputs gname (if isPath script then readFile script else script); problems = [ ]; }
    else if script == null
    then { drv = null; problems = [ "${prefix}: script is missing" ]; }
    else { drv = null; problems = [ "${prefix}: script must be a derivation, a string of shell code or a path, got ${describe script}" ]; };

  # ---------------------------------------------------------------- machines

  readInventory = file:
    if file == null || !builtins.pathExists file then { machines = { }; problems = [ ]; }
    else
      let json = builtins.fromJSON (readFile file); in
      if isAttrs json && isAttrs (json.machines or { })
      then { machines = json.machines or { }; problems = [ ]; }
      else { machines = { }; problems = [ "inventory.json: must be an object whose \"machines\" is an object" ]; };

  # A machine declared both in Nix and in inventory.json: fields are combined; the two
  # must agree on machineClass and system; tags are unioned; Nix wins on deploy fields.
  mergeMachine = name: nixM: invM:
    let
      conflict = field:
        let a = invM.${field} or null; b = nixM.${field} or null; in
        optional (a != null && b != null && a != b)
          "machine ${quote name}: inventory.json says ${field} ${describe a}, the Nix declaration says ${describe b}";
      stringsOr = v: if isStringList v then v else [ ];
      attrsOr = v: if isAttrs v then v else { };
      # a wrong-typed half is reported, not silently dropped from the union
      typeProblems = where: m:
        optional (!isStringList (m.tags or [ ])) "machine ${quote name}: tags in ${where} must be a list of strings, got ${describe m.tags}"
        ++ optional (!isAttrs (m.deploy or { })) "machine ${quote name}: deploy in ${where} must be an attribute set, got ${describe m.deploy}";
    in
    {
      value = invM // nixM // {
        tags = stringsOr (invM.tags or [ ]) ++ stringsOr (nixM.tags or [ ]);
        deploy = attrsOr (invM.deploy or { }) // attrsOr (nixM.deploy or { });
      };
      problems = conflict "machineClass" ++ conflict "system"
        ++ typeProblems "inventory.json" invM ++ typeProblems "the Nix declaration" nixM;
    };

  # inventory.json may carry keys fleet does not know (written by a newer fleet, or by
  # hand): they are ignored, as the contract says; only Nix declarations are strict.
  knownInventoryKeys = m:
    if !isAttrs m then m
    else filterAttrs (k: _: elem k machineKeys) m
      // optionalAttrs (isAttrs (m.deploy or null)) { deploy = filterAttrs (k: _: elem k deployKeys) m.deploy; };

  # null means "not set" (the flake-parts module passes unset options as null), so an
  # inventory.json value or the library default applies.
  dropNulls = set: filterAttrs (_: v: v != null) set;
  cleanMachine = m:
    if !isAttrs m then m
    else dropNulls m // optionalAttrs (isAttrs (m.deploy or null)) { deploy = dropNulls m.deploy; };
  optionalAttrs = cond: set: if cond then set else { };

  combineMachines = nixMachines': invMachines':
    let
      nixMachines = mapAttrs (_: cleanMachine) nixMachines';
      invMachines = mapAttrs (_: m: cleanMachine (knownInventoryKeys m)) invMachines';
      names = uniqueStrings (attrNames nixMachines ++ attrNames invMachines);
      one = name:
        if nixMachines ? ${name} && invMachines ? ${name} && isAttrs nixMachines.${name} && isAttrs invMachines.${name}
        then mergeMachine name nixMachines.${name} invMachines.${name}
        else { value = nixMachines.${name} or invMachines.${name}; problems = [ ]; };
    in
    genAttrs names one;

  # Fills defaults and checks one machine. → { value; problems; }
  normalizeMachine = toplevelFor: name: raw:
    let
      p = "machine ${quote name}";
      m = if isAttrs raw then raw else { };
      machineClass = m.machineClass or "nixos";
      tags = if isStringList (m.tags or [ ]) then uniqueStrings (m.tags or [ ]) else [ ];
      d = if isAttrs (m.deploy or { }) then m.deploy or { } else { };
      deploy = {
        targetHost = d.targetHost or null;
        buildHost = d.buildHost or null;
        wave = d.wave or 0;
        sshOptions = d.sshOptions or [ ];
      };
      value = {
        inherit machineClass tags deploy;
        system = m.system or null;
      };
      problems =
        optional (!isAttrs raw) "${p}: must be an attribute set, got ${describe raw}"
        # names end up in paths and flake attribute paths
        ++ optional (!matches machineNameRe name) "${p}: name must match ^${machineNameRe}$"
        ++ unknownKeys p machineKeys m
        ++ optional (!elem machineClass machineClasses)
          "${p}: machineClass ${describe machineClass} is not one of ${quoteAll machineClasses}"
        ++ optional (!(m ? system) || m.system == null) "${p}: system is missing (e.g. \"x86_64-linux\", \"aarch64-darwin\")"
        ++ optional (m ? system && m.system != null && !matches "[a-z0-9_]+-[a-z0-9_]+" m.system)
          "${p}: system ${describe m.system} is not a Nix system such as \"x86_64-linux\""
        ++ optional (!isStringList (m.tags or [ ])) "${p}: tags must be a list of strings, got ${describe m.tags}"
        ++ optional (!isAttrs (m.deploy or { })) "${p}: deploy must be an attribute set, got ${describe m.deploy}"
        ++ unknownKeys "${p}, deploy" deployKeys d
        ++ optional (!isNullOrString deploy.targetHost) "${p}: deploy.targetHost must be a string or null, got ${describe deploy.targetHost}"
        ++ optional (!isNullOrString deploy.buildHost) "${p}: deploy.buildHost must be a string or null, got ${describe deploy.buildHost}"
        ++ optional (!(isInt deploy.wave && deploy.wave >= 0)) "${p}: deploy.wave must be a non-negative integer, got ${describe deploy.wave}"
        ++ optional (!isStringList deploy.sshOptions) "${p}: deploy.sshOptions must be a list of strings, got ${describe deploy.sshOptions}"
        ++ optional (m ? toplevel && !isString m.toplevel) "${p}: toplevel must be a string (a flake attribute path), got ${describe m.toplevel}";
    in
    {
      value = value // {
        # the attribute path fleet builds; computed from the normalized machine
        toplevel = if isString (m.toplevel or null) then m.toplevel else toplevelFor name value;
      };
      inherit problems;
    };

  # ---------------------------------------------------------------- instances

  # Members of a role given as an attribute set: `name = { settings ? { }; }` (machines)
  # or `tag = { settings ? { }; }` (tags); the list forms carry no settings.
  memberProblems = rp: what: v:
    optionals (isAttrs v) (concatMap
      (k:
        let e = v.${k}; ep = "${rp}: ${what}.${k}"; in
        if !isAttrs e then [ "${ep} must be an attribute set ({ settings = { … }; }), got ${describe e}" ]
        else unknownKeys ep [ "settings" ] e
          ++ optional (!isAttrs (e.settings or { })) "${ep}.settings must be an attribute set, got ${describe e.settings}")
      (attrNames v));

  settingsOf = e: if isAttrs e && isAttrs (e.settings or { }) then e.settings or { } else { };

  # → { value = { module; settings; roles.<r> = { machines; settings; machineSettings; }; };
  #     problems; memberships = [ { machine; instance; role; settings; } ]; }
  resolveInstance = machines: tagIndex: iname: raw:
    let
      p = "instance ${iname}";
      inst = if isAttrs raw then raw else { };
      module = if isAttrs (inst.module or null) then inst.module else { };
      instSettings = if isAttrs (inst.settings or { }) then inst.settings or { } else { };
      roles = if isAttrs (inst.roles or { }) then inst.roles or { } else { };

      resolveRole = rname: rawRole:
        let
          rp = "${p}, role ${rname}";
          role = if isAttrs rawRole then rawRole else { };
          explicit = namesOf (role.machines or [ ]);
          tags = namesOf (role.tags or [ ]);
          tagSet = if isAttrs (role.tags or null) then role.tags else { };
          machineSet = if isAttrs (role.machines or null) then role.machines else { };
          roleSettings = recursiveMerge instSettings (if isAttrs (role.settings or { }) then role.settings or { } else { });
          # members = explicit machines ∪ machines carrying any listed tag; sorted, unique
          members = uniqueStrings (filter (m: machines ? ${m}) explicit ++ concatMap (t: tagIndex.${t} or [ ]) tags);
          # instance ⊕ role ⊕ settings of the role's tags the machine carries (by tag
          # name) ⊕ the machine's own
          carries = m: t: elem t machines.${m}.tags || t == "all" || t == machines.${m}.machineClass;
          memberTags = m: filter (carries m) (attrNames tagSet);
          perMachine = m:
            recursiveMerge
              (foldl' (acc: t: recursiveMerge acc (settingsOf tagSet.${t})) roleSettings (memberTags m))
              (settingsOf (machineSet.${m} or { }));
          machineSettings = genAttrs members perMachine;
        in
        {
          value = { machines = members; settings = roleSettings; inherit machineSettings; };
          problems =
            optional (!isAttrs rawRole) "${rp}: must be an attribute set, got ${describe rawRole}"
            ++ unknownKeys rp roleKeys role
            ++ optional (!(isList (role.machines or [ ]) || isAttrs (role.machines or [ ]))) "${rp}: machines must be a list of names or an attribute set, got ${describe role.machines}"
            ++ optional (!(isList (role.tags or [ ]) || isAttrs (role.tags or [ ]))) "${rp}: tags must be a list or an attribute set, got ${describe role.tags}"
            ++ optional (isList (role.machines or null) && !isStringList role.machines) "${rp}: machines must be a list of names, got ${describe role.machines}"
            ++ optional (isList (role.tags or null) && !isStringList role.tags) "${rp}: tags must be a list of tags, got ${describe role.tags}"
            ++ memberProblems rp "machines" machineSet
            ++ memberProblems rp "tags" tagSet
            ++ optional (!isAttrs (role.settings or { })) "${rp}: settings must be an attribute set, got ${describe role.settings}"
            # a role may only name machines that exist …
            ++ map (m: "${rp}: machine ${quote m} is not defined") (filter (m: isString m && !(machines ? ${m})) explicit)
            # … and tags that at least one machine carries (catches typos)
            ++ map (t: "${rp}: tag ${quote t} is not used by any machine")
              (filter (t: isString t && !(tagIndex ? ${t}) && !(elem t automaticTags)) tags)
            # settings are printed as JSON: a function cannot be
            ++ map (fp: "${rp}: ${fp} is a function; settings must be plain data")
              (functionPaths "settings" (role.settings or { })
               ++ concatMap (m: functionPaths "machines.${m}.settings" (settingsOf machineSet.${m})) (attrNames machineSet)
               ++ concatMap (t: functionPaths "tags.${t}.settings" (settingsOf tagSet.${t})) (attrNames tagSet));
          memberships = map (m: { machine = m; instance = iname; role = rname; settings = machineSettings.${m}; }) members;
        };

      resolved = mapAttrs resolveRole roles;
      instFunctions = functionPaths "settings" instSettings;
      problems =
        optional (!isAttrs raw) "${p}: must be an attribute set, got ${describe raw}"
        ++ unknownKeys p instanceKeys inst
        ++ optional (!isString (module.name or iname)) "${p}: module.name must be a string (the service module's name), got ${describe module.name}"
        ++ optional (!isNullOrString (module.input or null)) "${p}: module.input must be a string or null, got ${describe module.input}"
        ++ optional (!isAttrs (inst.settings or { })) "${p}: settings must be an attribute set, got ${describe inst.settings}"
        ++ optional (!isAttrs (inst.roles or { })) "${p}: roles must be an attribute set, got ${describe inst.roles}"
        ++ map (fp: "${p}: ${fp} is a function; settings must be plain data") instFunctions
        ++ concatMap (r: r.problems) (attrValues resolved);
      # with a function somewhere, the printed settings have it replaced by null (the
      # problem says where it was); generator functions still see the original
      printable = if instFunctions != [ ] || any (r: r.problems != [ ]) (attrValues resolved) then stripFunctions else (x: x);
    in
    {
      value = {
        # clan: the service module defaults to the instance's name
        module = { name = module.name or iname; input = module.input or null; };
        settings = printable instSettings;
        roles = mapAttrs (_: r: printable r.value) resolved;
      };
      inherit problems;
      memberships = concatMap (r: r.memberships) (attrValues resolved);
    };

  # machine → instance → role → merged settings, from the membership records.
  settingsByMachine = memberships:
    let
      byMachine = groupBy (r: r.machine) memberships;
      nest = records: mapAttrs
        (_: rs: listToAttrs (map (r: { name = r.role; value = r.settings; }) rs))
        (groupBy (r: r.instance) records);
    in
    mapAttrs (_: nest) byMachine;

  # ---------------------------------------------------------------- generators

  normalizePrompt = gp: pname: raw:
    let
      p = "${gp}, prompt ${quote pname}";
      pr = if isAttrs raw then raw else { };
      v = {
        description = pr.description or pname;
        type = pr.type or "line";
        persist = pr.persist or false;
      };
    in
    {
      value = v;
      problems =
        optional (!isAttrs raw) "${p}: must be an attribute set, got ${describe raw}"
        ++ optional (!matches fileNameRe pname) "${p}: name must match ^${fileNameRe}$"
        ++ unknownKeys p promptKeys pr
        ++ optional (!isString v.description) "${p}: description must be a string, got ${describe v.description}"
        ++ optional (!elem v.type promptTypes) "${p}: type ${describe v.type} is not one of ${quoteAll promptTypes}"
        ++ optional (!isBool v.persist) "${p}: persist must be a boolean, got ${describe v.persist}";
    };

  normalizeFile = machineClass: gp: fname: raw:
    let
      p = "${gp}, file ${quote fname}";
      f = if isAttrs raw then raw else { };
      v = {
        secret = f.secret or true;
        deploy = f.deploy or true;
        owner = f.owner or "root";
        # darwin has no "root" group; its administrative group is "wheel"
        group = f.group or (if machineClass == "darwin" then "wheel" else "root");
        mode = f.mode or "0400";
        neededFor = f.neededFor or "services";
      };
    in
    {
      value = v;
      problems =
        optional (!isAttrs raw) "${p}: must be an attribute set, got ${describe raw}"
        ++ optional (!matches fileNameRe fname) "${p}: name must match ^${fileNameRe}$"
        ++ unknownKeys p fileKeys f
        ++ optional (!isBool v.secret) "${p}: secret must be a boolean, got ${describe v.secret}"
        ++ optional (!isBool v.deploy) "${p}: deploy must be a boolean, got ${describe v.deploy}"
        ++ optional (!isString v.owner) "${p}: owner must be a string, got ${describe v.owner}"
        ++ optional (!isString v.group) "${p}: group must be a string, got ${describe v.group}"
        ++ optional (!matches modeRe v.mode) "${p}: mode ${describe v.mode} must be an octal string matching ^${modeRe}$ (e.g. \"0400\")"
        ++ optional (!elem v.neededFor neededForValues) "${p}: neededFor ${describe v.neededFor} is not one of ${quoteAll neededForValues}";
    };

  # Maps an attrset through a normalizer returning { value; problems; }.
  normalizeAll = f: set:
    let r = mapAttrs f set; in
    { value = mapAttrs (_: x: x.value) r; problems = concatMap (k: r.${k}.problems) (attrNames r); };

  # One generator declaration (an attrset) → { value = <contract generator>; problems; }.
  # Problems here do not depend on the machine beyond its machineClass.
  # `rt` says what scripts run with: { perSystem; ref; for = system: runtime-or-null; }
  # (see mkRuntime). The output's script has an `id` that does not depend on the system;
  # `scriptFor system` (not printed) is the script built for that system.
  normalizeGenerator = rt: machineClass: gname: spec:
    let
      p = "generator ${quote gname}";
      promptDecls = if isAttrs (spec.prompts or { }) then spec.prompts or { } else { };
      prompts = normalizeAll (normalizePrompt p) promptDecls;
      # clan: a prompt with `persist = true` is also a file of the same name (fleet writes
      # the answer to $out/<p>); a declared file of that name sets its attributes
      persisted = filter (n: isAttrs promptDecls.${n} && promptDecls.${n}.persist or false == true) (attrNames promptDecls);
      fileDecls = genAttrs persisted (_: { }) // (if isAttrs (spec.files or { }) then spec.files or { } else { });
      files = normalizeAll (normalizeFile machineClass p) fileDecls;
      # runtimeInputs and script may be functions of the system
      forSystem = v: system: if isFunction v then (if system == null then null else v system) else v;
      inputsFor = system: forSystem (spec.runtimeInputs or [ ]) system;
      isInputs = i: isList i && all isDerivation i;
      runtimeInputs = inputsFor rt.ref;
      goodInputs = isInputs runtimeInputs || (runtimeInputs == null && rt.ref == null);
      scriptFor = system:
        let i = inputsFor system; in
        mkScript (rt.for system) (if isInputs i then i else [ ]) p gname (forSystem (spec.script or null) system);
      script = scriptFor rt.ref;
      scriptValue = forSystem (spec.script or null) rt.ref;
      # system-independent: shell code is identified by its text and its inputs' names,
      # a derivation by its path (for the reference system)
      scriptId =
        if script.drv == null then null
        else if isString scriptValue || isPath scriptValue
        then hashString "sha256" (toJSON {
          code = discard (if isPath scriptValue then readFile scriptValue else scriptValue);
          inputs = map (d: d.name) (if isInputs runtimeInputs then runtimeInputs else [ ]);
        })
        else hashString "sha256" (discard script.drv.drvPath);
      validation = spec.validation or null;
      validationFunctions = functionPaths "validation" validation;
      dependencies = if isStringList (spec.dependencies or [ ]) then spec.dependencies or [ ] else [ ];
    in
    {
      value = {
        share = spec.share or false;
        inherit dependencies;
        # a change of `validation` makes fleet regenerate the files
        validationHash =
          if validation == null || validationFunctions != [ ] then null
          else hashString "sha256" (discard (toJSON validation));
        prompts = prompts.value;
        files = files.value;
        # toJSON would turn a derivation into its outPath: expose both paths as plain
        # strings; with a per-system runtime they are in scriptsFor <system> instead
        script = if script.drv == null then null else {
          id = scriptId;
          drv = if rt.perSystem then null else discard script.drv.drvPath;
          path = if rt.perSystem then null else discard "${script.drv}";
        };
      };
      inherit scriptFor scriptId;
      # dependencies on other machines' generators (computed once per declaration)
      crossDeps = filter isCross dependencies;
      problems =
        optional (!matches generatorNameRe gname) "${p}: name must match ^${generatorNameRe}$"
        ++ unknownKeys p generatorKeys spec
        ++ optional (!isBool (spec.share or false)) "${p}: share must be a boolean, got ${describe spec.share}"
        ++ optional (!isStringList (spec.dependencies or [ ])) "${p}: dependencies must be a list of generator names, got ${describe spec.dependencies}"
        ++ optional (!isAttrs (spec.prompts or { })) "${p}: prompts must be an attribute set, got ${describe spec.prompts}"
        ++ optional (!isAttrs (spec.files or { })) "${p}: files must be an attribute set, got ${describe spec.files}"
        ++ optional (!goodInputs) "${p}: runtimeInputs must be a list of derivations (packages), got ${describe runtimeInputs}"
        ++ map (fp: "${p}: ${fp} is a function; validation must be plain data (it is hashed as JSON)") validationFunctions
        ++ prompts.problems ++ files.problems ++ script.problems;
    };

  # `machines = [ … ]` / `tags = [ … ]` restrict a generator; both absent = every machine.
  restrictionProblems = machines: tagIndex: gname: spec:
    let
      p = "generator ${quote gname}";
      ms = spec.machines or [ ];
      ts = spec.tags or [ ];
    in
    optional (!isStringList ms) "${p}: machines must be a list of machine names, got ${describe ms}"
    ++ optional (!isStringList ts) "${p}: tags must be a list of tags, got ${describe ts}"
    ++ optionals (isStringList ms) (map (m: "${p}: machines: machine ${quote m} is not defined") (filter (m: !(machines ? ${m})) ms))
    ++ optionals (isStringList ts) (map (t: "${p}: tags: tag ${quote t} is not used by any machine") (filter (t: !(tagIndex ? ${t}) && !(elem t automaticTags)) ts));

  appliesTo = machine: spec:
    let
      ms = if isStringList (spec.machines or [ ]) then spec.machines or [ ] else [ ];
      ts = if isStringList (spec.tags or [ ]) then spec.tags or [ ] else [ ];
    in
    (!(spec ? machines) && !(spec ? tags))
    || elem machine.name ms
    || any (t: elem t ts) (machine.tags ++ [ "all" machine.machineClass ]);

  # Dependency problems of one machine's generator set: unknown dependencies and cycles.
  # `gens` = name → normalized generator. Messages are machine-independent; the caller
  # attaches the machine.
  dependencyProblems = declared: gens:
    let
      names = attrNames gens;
      known = d: gens ? ${d};
      # "<machine>/<generator>": another machine's generator, checked by crossProblems
      local = d: !(isCross d);
      depsOf = g: filter known gens.${g}.dependencies;
      missing = concatMap
        (g: map
          (d:
            if declared ? ${d}
            then "generator ${quote g}: depends on ${quote d}, which does not apply to this machine"
            else "generator ${quote g}: depends on ${quote d}, which is not a declared generator")
          (filter (d: !known d && local d) gens.${g}.dependencies))
        names;
      # g is on a cycle iff g is reachable from its own dependencies
      reachableFrom = g: map (x: x.key) (genericClosure {
        startSet = map (d: { key = d; }) (depsOf g);
        operator = x: map (d: { key = d; }) (depsOf x.key);
      });
      onCycle = filter (g: elem g (reachableFrom g)) names;
      # a shared generator runs once for the fleet: it cannot read one machine's files
      sharedOnPerMachine = concatMap
        (g: map (d: "generator ${quote g}: is shared, but depends on ${quote d}, which is per-machine (share = false)")
          (filter (d: known d && gens.${d}.share != true) gens.${g}.dependencies))
        (filter (g: gens.${g}.share == true) names);
    in
    missing ++ sharedOnPerMachine ++ optional (onCycle != [ ]) "generators ${quoteAll onCycle}: dependency cycle";

  isCross = d: match "[^/]+/[^/]+" d != null;
  splitCross = d: let parts = match "([^/]+)/([^/]+)" d; in { machine = head parts; generator = elemAt parts 1; };

  # Dependencies on other machines' generators ("<m>/<g>", read as $in/<m>/<g>/<f>): the
  # machine has that generator; $in/<x> is not both a machine and a local dependency; no
  # cycle through machines. → [ { msg; machine; } ]
  crossProblems = machineGens: crossOf:
    let
      edges = concatMap (m: map (x: { inherit m; inherit (x) g d; } // splitCross x.d) (crossOf m)) (attrNames machineGens);
      bad = e:
        let p = "generator ${quote e.g}: depends on ${quote e.d}"; in
        if !(machineGens ? ${e.machine}) then [ "${p}, but there is no machine ${quote e.machine}" ]
        else if !(machineGens.${e.machine} ? ${e.generator}) then [ "${p}, but machine ${quote e.machine} does not have generator ${quote e.generator}" ]
        else optional (elem e.machine machineGens.${e.m}.${e.g}.dependencies)
          "${p} and on ${quote e.machine}: $in/${e.machine} cannot be both a machine and a generator";
      # a node is "<m>/<g>"; its edges: local dependencies on the same machine, cross ones
      nodeDeps = key:
        let n = splitCross key; gens = machineGens.${n.machine} or { }; in
        if !(gens ? ${n.generator}) then [ ]
        else map (d: if isCross d then d else "${n.machine}/${d}") gens.${n.generator}.dependencies;
      starts = uniqueStrings (map (e: "${e.m}/${e.g}") edges);
      reachable = k: map (x: x.key) (genericClosure {
        startSet = map (d: { key = d; }) (nodeDeps k);
        operator = x: map (d: { key = d; }) (nodeDeps x.key);
      });
      onCycle = filter (k: elem k (reachable k)) starts;
    in
    concatMap (e: map (msg: { inherit msg; machine = e.m; }) (bad e)) edges
    ++ optional (onCycle != [ ]) { msg = "generators ${quoteAll onCycle}: dependency cycle across machines"; machine = (splitCross (head onCycle)).machine; };

  # Shared generators are generated once for the whole fleet, so every machine must
  # declare them the same way (what is generated: script, prompts, files, dependencies).
  sharedProblems = machineGens:
    let
      records = concatMap
        (m: map (g: { inherit m g; v = machineGens.${m}.${g}; })
          (filter (g: machineGens.${m}.${g}.share == true) (attrNames machineGens.${m})))
        (attrNames machineGens);
      essence = v: toJSON {
        inherit (v) script prompts dependencies validationHash;
        files = mapAttrs (_: f: f.secret) v.files;
      };
      byGen = groupBy (r: r.g) records;
      check = g:
        let rs = byGen.${g}; first = head rs; e = essence first.v;
            differing = filter (r: essence r.v != e) rs;
        in optional (differing != [ ])
          "shared generator ${quote g} is declared differently on machines ${quote first.m} and ${quote (head differing).m}";
    in
    concatMap check (attrNames byGen);

  # ---------------------------------------------------------------- mkFleet

  # analyse args → { output; problemsOf; whyNot; generatorNames; modulesOf; scriptsFor; }: `output` is the `fleet` flake output
  # (mkFleet); the two functions serve the NixOS/darwin module and are never printed:
  #   problemsOf <machine>       the problems that concern that machine (its warnings)
  #   whyNot <machine> <gen>     why the machine does not have that generator
  #   modulesOf <machine> <class>  the nixosModule/darwinModule its services give it
  analyse =
    { name
    , machines ? { }
    , inventoryFile ? null
    , instances ? { }
    , generators ? { }
    , runtime ? null
    , scriptSystems ? null
    , services ? { }
    , toplevelFor ? defaultToplevelFor
    }:
    let
      inventory = readInventory inventoryFile;

      # runtime: one derivation (scripts for its system only), or a function of the
      # system (scripts for any of scriptSystems, see scriptsFor)
      # (a functor counts: the module system's functionTo gives one)
      perSystem = isFunction runtime || (isAttrs runtime && runtime ? __functor);
      systems =
        if scriptSystems != null then scriptSystems
        else if isDerivation runtime then [ runtime.system ] else [ ];
      rt = {
        inherit perSystem;
        ref = if perSystem then (if isStringList systems && systems != [ ] then head (sort (a: b: a < b) systems) else null)
              else runtime.system or null;
        for = system: if perSystem then (if system == null then null else runtime system) else runtime;
      };
      combined = combineMachines (if isAttrs machines then machines else { }) inventory.machines;
      normalized = mapAttrs (n: c: normalizeMachine toplevelFor n c.value) combined;
      machineValues = mapAttrs (_: x: x.value) normalized;

      # tag → machines carrying it
      declaredTags = mapAttrs (_: rs: map (r: r.m) rs) (groupBy (r: r.t)
        (concatMap (m: map (t: { inherit m t; }) machineValues.${m}.tags) (attrNames machineValues)));
      byClass = groupBy (m: machineValues.${m}.machineClass) (attrNames machineValues);
      # plus clan's automatic tags: all, nixos, darwin
      tagIndex = declaredTags // {
        all = attrNames machineValues;
        nixos = uniqueStrings (byClass.nixos or [ ] ++ declaredTags.nixos or [ ]);
        darwin = uniqueStrings (byClass.darwin or [ ] ++ declaredTags.darwin or [ ]);
      };

      resolvedInstances = mapAttrs (resolveInstance machineValues tagIndex) (if isAttrs instances then instances else { });
      memberships = concatMap (i: resolvedInstances.${i}.memberships) (attrNames resolvedInstances);
      machineSettings = settingsByMachine memberships;

      decls = if isAttrs generators then generators else { };
      # Attrset declarations are normalized once per machineClass (the only machine
      # input they use), so N machines share one script derivation.
      staticGens = mapAttrs
        (g: spec: {
          nixos = normalizeGenerator rt "nixos" g spec;
          darwin = normalizeGenerator rt "darwin" g spec;
        })
        (filterAttrs (_: isAttrs) decls);

      # The argument given to generator functions: never a NixOS/darwin configuration.
      machineArg = m: {
        name = m;
        inherit (machineValues.${m}) machineClass system tags;
        settings = machineSettings.${m} or { };
      };

      # ------------------------------------------------------------ services
      # An instance whose module.name names one of `services` (and no module.input) is
      # served by it: each membership (machine, role) calls the role's perInstance and
      # takes from the result its vars.generators (here) and its nixosModule /
      # darwinModule (modulesOf, for the machine's configuration; never evaluated here).
      svcs = if isAttrs services then services else { };
      serviceOf = i:
        let mod = resolvedInstances.${i}.value.module; in
        if mod.input == null && isString mod.name && svcs ? ${mod.name} then mod.name else null;
      serviceProblems = concatMap
        (i:
          let
            s = serviceOf i;
            svc = svcs.${s};
            sroles = if isAttrs (svc.roles or null) then svc.roles else { };
          in
          optionals (s != null) (
            optional (!isAttrs svc) "service ${quote s}: must be an attribute set ({ roles.<r>.perInstance = …; }), got ${describe svc}"
            ++ map (r: "instance ${i}, role ${r}: service ${quote s} has no role ${quote r} (it has: ${quoteAll (attrNames sroles)})")
              (filter (r: !(sroles ? ${r})) (attrNames resolvedInstances.${i}.value.roles))
            ++ concatMap
              (r:
                let pi = sroles.${r}.perInstance or { }; in
                optional (!(isAttrs sroles.${r})) "service ${quote s}, role ${r}: must be an attribute set, got ${describe sroles.${r}}"
                ++ optional (!(isFunction pi || isAttrs pi)) "service ${quote s}, role ${r}: perInstance must be a function or an attribute set, got ${describe pi}")
              (attrNames sroles)))
        (attrNames resolvedInstances);

      # One membership record → { result; problems; where; }
      contribution = r:
        let
          s = serviceOf r.instance;
          where = "service ${quote s} (instance ${r.instance}, role ${r.role})";
          roleDecl = ((svcs.${s} or { }).roles or { }).${r.role} or null;
          pi = if isAttrs roleDecl then roleDecl.perInstance or { } else { };
          args = {
            instanceName = r.instance;
            roleName = r.role;
            inherit (r) settings;
            machine = { name = r.machine; inherit (machineValues.${r.machine}) machineClass system tags; };
            roles = mapAttrs (_: x: { inherit (x) machines settings; }) resolvedInstances.${r.instance}.value.roles;
          };
          result = if isFunction pi then pi args else if isAttrs pi then pi else { };
          ok = isAttrs result;
          vars = if ok && isAttrs (result.vars or { }) then result.vars or { } else { };
          gens = if isAttrs (vars.generators or { }) then vars.generators or { } else { };
        in
        if s == null || !isAttrs roleDecl then { result = { }; gens = { }; problems = [ ]; inherit where; }
        else {
          result = if ok then result else { };
          inherit gens where;
          problems =
            optional (!ok) "${where}: perInstance must return an attribute set, got ${describe result}"
            ++ optionals ok (unknownKeys where [ "vars" "nixosModule" "darwinModule" ] result)
            ++ optional (ok && !isAttrs (result.vars or { })) "${where}: vars must be an attribute set, got ${describe result.vars}"
            ++ optionals (isAttrs (result.vars or null)) (unknownKeys "${where}, vars" [ "generators" ] result.vars)
            ++ optional (!isAttrs (vars.generators or { })) "${where}: vars.generators must be an attribute set, got ${describe vars.generators}"
            ++ map (g: "${where}: vars.generators.${g} must be an attribute set, got ${describe gens.${g}}")
              (filter (g: !isAttrs gens.${g}) (attrNames gens));
        };
      membershipsOf = groupBy (r: r.machine) memberships;
      # generator name → where services give it: [ { where; machine; } ] (for whyNot)
      servedBy = groupBy (x: x.g) (concatMap
        (m: concatMap (c: map (g: { inherit g; inherit (c) where; machine = m; }) (attrNames c.gens)) (contributionsOf m))
        (attrNames membershipsOf));
      contributionsOf = m: map contribution (membershipsOf.${m} or [ ]);

      # The nixosModule / darwinModule the machine's services give it, for its configuration.
      modulesOf = m: class:
        concatMap
          (c: optional (c.result ? "${class}Module") {
            _file = "fleet: ${c.where}";
            imports = [ c.result."${class}Module" ];
          })
          (contributionsOf m);

      # One machine's generators → { gens = name → contract generator; problems; }.
      # Problems of attrset declarations are reported once (below), not per machine.
      generatorsOf = m:
        let
          arg = machineArg m;
          cls = if arg.machineClass == "darwin" then "darwin" else "nixos";
          # → [ { name; value = <generator or null>; problems; } ]
          one = g:
            let decl = decls.${g}; in
            if isFunction decl then
              let spec = decl arg; in
              if spec == null then [ ] # null: this machine does not have the generator
              else if !isAttrs spec then [{
                name = g;
                value = null;
                problems = [ "generator ${quote g}: function must return an attribute set or null, got ${describe spec}" ];
              }]
              else optional (appliesTo arg spec) (
                let n = normalizeGenerator rt cls g spec; in {
                  name = g;
                  inherit (n) value scriptFor crossDeps;
                  problems = n.problems ++ restrictionProblems machineValues tagIndex g spec;
                })
            else if isAttrs decl then
              optional (appliesTo arg decl) { name = g; inherit (staticGens.${g}.${cls}) value scriptFor crossDeps; problems = [ ]; }
            else [ ];
          declared = concatMap one (attrNames decls);
          # generators the machine's services give it
          contributions = contributionsOf m;
          served = concatMap
            (c: map
              (g:
                let n = normalizeGenerator rt cls g c.gens.${g}; in
                { name = g; inherit (n) value scriptFor crossDeps; inherit (c) where; problems = n.problems; })
              (filter (g: isAttrs c.gens.${g}) (attrNames c.gens)))
            contributions;
          byName = groupBy (e: e.name) served;
          servedProblems = concatMap (c: c.problems) contributions
            ++ concatMap
              (g:
                let es = byName.${g}; in
                optional (decls ? ${g}) "generator ${quote g}: declared in fleet.generators and by ${(head es).where}"
                ++ optional (any (e: toJSON e.value != toJSON (head es).value) es)
                  "generator ${quote g}: given differently by ${concatStringsSep " and by " (uniqueStrings (map (e: e.where) es))}")
              (attrNames byName);
          entries = declared ++ concatMap (g: optional (!(decls ? ${g})) (head byName.${g})) (attrNames byName);
          kept = filter (e: e.value != null) entries;
          gens = listToAttrs (map (e: { inherit (e) name value; }) kept);
        in
        {
          inherit gens;
          scripts = map (e: { id = e.value.script.id or null; inherit (e) scriptFor; }) kept;
          cross = concatMap (e: map (d: { g = e.name; inherit d; }) e.crossDeps) kept;
          problems = concatMap (e: e.problems) entries ++ servedProblems ++ dependencyProblems (decls // byName) gens;
        };

      perMachine = genAttrs (attrNames machineValues) generatorsOf;

      machineGens = mapAttrs (_: x: x.gens) perMachine;
      crossRecords = crossProblems machineGens (m: perMachine.${m}.cross);

      problems =
        inventory.problems
        ++ concatMap (m: combined.${m}.problems ++ normalized.${m}.problems) (attrNames combined)
        ++ optional (!isString name) "fleet: name must be a string, got ${describe name}"
        ++ concatMap (i: resolvedInstances.${i}.problems) (attrNames resolvedInstances)
        ++ serviceProblems
        ++ optional (!isAttrs services) "services: must be an attribute set of service modules, got ${describe services}"
        ++ optional (!isStringList systems) "scriptSystems: must be a list of systems, got ${describe systems}"
        ++ optional (perSystem && systems == [ ]) "runtime is a function of the system, but scriptSystems is empty: no system gets scripts"
        ++ optional (runtime != null && !perSystem && !isDerivation runtime) "runtime: must be a derivation or a function of the system, got ${describe runtime}"
        # attrset declarations are checked once, whether or not any machine gets them
        ++ concatMap (g: staticGens.${g}.nixos.problems ++ restrictionProblems machineValues tagIndex g decls.${g}) (attrNames staticGens)
        ++ map (g: "generator ${quote g}: must be an attribute set or a function of the machine, got ${describe decls.${g}}")
          (filter (g: !(isAttrs decls.${g} || isFunction decls.${g})) (attrNames decls))
        ++ foldMachineProblems (concatMap (m: map (msg: { inherit msg; machine = m; }) perMachine.${m}.problems) (attrNames perMachine)
             ++ crossRecords)
        ++ sharedProblems machineGens;

      # where a machine is named: its own declaration, its generators, shared ones it has
      problemsOf = m:
        optionals (combined ? ${m}) (combined.${m}.problems ++ normalized.${m}.problems)
        ++ optionals (perMachine ? ${m}) perMachine.${m}.problems
        ++ map (r: r.msg) (filter (r: r.machine == m) crossRecords)
        ++ filter (msg: match ".*machines? .*\"${m}\".*" msg != null) (sharedProblems machineGens);

      whyNot = m: g:
        let
          decl = decls.${g};
          arg = machineArg m;
          spec = decl arg;
          described = "machine ${quote m} (${arg.machineClass}; tags: ${if arg.tags == [ ] then "none" else quoteAll arg.tags}; "
            + "roles: ${let rs = concatMap (i: map (r: "${i}/${r}") (attrNames arg.settings.${i})) (attrNames arg.settings);
                        in if rs == [ ] then "none" else concatStringsSep ", " rs})";
          restriction = x:
            "it is restricted to ${concatStringsSep " and to " (
              optional (x ? machines) "machines ${quoteAll (namesOf x.machines)}"
              ++ optional (x ? tags) "tags ${quoteAll (namesOf x.tags)}")}";
        in
        if !(machineValues ? ${m}) then "${quote m} is not a machine of this fleet"
        else if machineGens.${m} ? ${g} then "${described} has generator ${quote g}"
        else if !(decls ? ${g}) && servedBy ? ${g} then
          "generator ${quote g} comes from ${concatStringsSep " and " (uniqueStrings (map (x: x.where) servedBy.${g}))}, "
          + "which gives it to ${quoteAll (uniqueStrings (map (x: x.machine) servedBy.${g}))}; ${described} is not a member there"
        else if !(decls ? ${g}) then "no generator ${quote g} is declared (fleet.generators.${g}); declared: ${quoteAll (attrNames decls)}"
        else if isFunction decl then
          if spec == null then "fleet.generators.${g} returns null for ${described}"
          else if isAttrs spec then "fleet.generators.${g} does not apply to ${described}: ${restriction spec}"
          else "fleet.generators.${g} returns ${describe spec} for ${described}"
        else "fleet.generators.${g} does not apply to ${described}: ${restriction decl}";
    in
    {
      output = {
        schemaVersion = 1;
        meta = { inherit name; };
        # the systems flake.fleetScripts has scripts for
        scriptSystems = if isStringList systems then systems else [ ];
        machines = mapAttrs (m: v: v // { generators = machineGens.${m}; }) machineValues;
        instances = mapAttrs (_: i: i.value) resolvedInstances;
        overlays = [ ];
        problems = uniqueStrings problems;
      };
      inherit problemsOf whyNot modulesOf;

      # scriptsFor <system>: script id → { drv; path; } of every generator of the fleet,
      # built for that system (the flake-parts module's flake.fleetScripts.<system>)
      scriptsFor = system: listToAttrs (concatMap
        (m: concatMap
          (x: optional (x.id != null) {
            name = x.id;
            value = let d = (x.scriptFor system).drv; in
              if d == null then null else { drv = discard d.drvPath; path = discard "${d}"; };
          })
          perMachine.${m}.scripts)
        (attrNames perMachine));
      generatorNames = uniqueStrings (attrNames decls ++ attrNames servedBy);
    };

  mkFleet = args: (analyse args).output;

in
{
  inherit mkFleet analyse recursiveMerge secretPath defaultToplevelFor writeGeneratorScript;
  inherit machineClasses promptTypes neededForValues automaticTags;
}
