#!/usr/bin/env bash
# Installs what fleet needs to build and test, on Debian 12 (as root), skipping what is
# already there. Everything comes from Debian's archive; nothing is downloaded otherwise.
set -euo pipefail
packages=(
	build-essential cmake pkg-config clang clang-format cppcheck libclang-rt-14-dev
	libsodium-dev libssl-dev libgit2-dev libcurl4-openssl-dev libjansson-dev libyaml-dev
	libssh2-1-dev libcmocka-dev zlib1g-dev libre2-dev
	age openssh-client hyperfine time python3 python3-cryptography python3-yaml
	nix-bin busybox-static git
	zsh fish groff-base man-db
)
# python3-cryptography and python3-yaml run the independent sops reader in tests/oracle;
# node and npm run the independent checkers in tests/npm (sops-age).
command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: missing packages: ${missing[*]}" >&2
		echo "install-deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The independent checkers, pinned by tests/npm/package-lock.json.
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/npm/node_modules/sops-age" ]; then
	echo "install-deps: installing the npm checkers (sops-age)" >&2
	(cd "$here/npm" && npm ci --silent --no-audit --no-fund >/dev/null)
fi
