{
  description = "fleet: manage a fleet of NixOS and nix-darwin machines from one flake";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      deps = pkgs: with pkgs; [ libsodium openssl libgit2 curl jansson libyaml libssh2 ];
    in
    {
      # The Nix side (docs/contract.md). In the dendritic style a fleet imports
      # flakeModules.default; files under modules/fleet/ whose name starts with `_` are
      # not flake-parts modules, so an import-tree of modules/ skips them.
      flakeModules.default = ./modules/fleet/flake-module.nix;
      lib = import ./modules/fleet/_lib.nix;
      # The machine module on its own (flake.modules.<class>.fleet of the flake-parts
      # module is the same, wired to the fleet's flake): set `fleet.flake = self`.
      nixosModules.default = import ./modules/fleet/_nixos.nix { class = "nixos"; };
      darwinModules.default = import ./modules/fleet/_nixos.nix { class = "darwin"; };

      packages = forAll (pkgs: rec {
        fleet = pkgs.stdenv.mkDerivation {
          pname = "fleet";
          version = "0.1.0";
          src = self;
          nativeBuildInputs = with pkgs; [ cmake pkg-config ];
          buildInputs = deps pkgs;
          cmakeFlags = [ "-DFLEET_TESTS=OFF" ];
          meta = {
            description = "Manage a fleet of NixOS and nix-darwin machines from one flake";
            mainProgram = "fleet";
            platforms = pkgs.lib.platforms.unix;
          };
        };
        default = fleet;
      });

      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${pkgs.system}.fleet ];
          packages = with pkgs; [ cmocka zlib clang-tools cppcheck just hyperfine age ];
        };
      });
    };
}
