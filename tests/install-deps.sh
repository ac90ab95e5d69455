#!/usr/bin/env bash
# Installs what fleet needs to build and test, on Debian 12 (as root), skipping what is
# already there. Everything comes from Debian's archive; nothing is downloaded otherwise.
set -euo pipefail
# What building fleet needs, and what its unit and end-to-end tests run. Both lists are
# also what tests/debian13-root.sh installs in the Debian 13 root (`--list-platform`), so
# a package the tests start needing is added here once, for both platforms.
build_packages=(
	build-essential cmake pkg-config
	libsodium-dev libssl-dev libgit2-dev libcurl4-openssl-dev libjansson-dev libyaml-dev
	libssh2-1-dev libcmocka-dev zlib1g-dev libre2-dev
)
test_packages=(
	age openssh-client python3 python3-cryptography python3-yaml nix-bin busybox-static git
	zsh fish groff-base man-db
)
# python3-cryptography and python3-yaml run the independent sops reader in tests/oracle.
# Only on this machine: lint, fuzzing, benchmarks, and what makes the Debian 13 root.
host_packages=(clang clang-format cppcheck libclang-rt-14-dev hyperfine time debootstrap)
if [ "${1:-}" = --list-platform ]; then
	# node runs the checkers in tests/npm, installed here by npm into the checkout.
	printf '%s\n' "${build_packages[@]}" "${test_packages[@]}" nodejs
	exit 0
fi
packages=("${build_packages[@]}" "${test_packages[@]}" "${host_packages[@]}")
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
