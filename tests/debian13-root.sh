#!/usr/bin/env bash
# A Debian 13 (trixie) root, the second platform fleet is tested on: Nix 2.26, GCC 14,
# libgit2 1.9, libssh2 1.11, OpenSSL 3.5. Runs one command inside it:
#
#   tests/debian13-root.sh COMMAND [ARG...]
#
# The root is made with debootstrap from the Debian mirror apt on this machine already
# uses (apt's own view of its sources, `apt-get indextargets`), with the packages
# `tests/install-deps.sh --list-platform` names. It is kept in a cache directory and
# reused while its stamp (written last, after a successful build) matches the package list
# and a sanity command works in it. A changed package list is installed into it; anything
# else (no stamp, a broken root, a failed install) makes it again.
#
# COMMAND runs as root in a private mount namespace, in the checkout (bind-mounted at the
# same path, read-write), with FLEET_SHARED at its own path (read-only), /proc, /dev,
# /dev/pts, /sys, and fresh tmpfs on /tmp and /dev/shm. Everything is unmounted when the
# command ends, however it ends; being a private namespace, nothing was ever visible
# outside it. The environment is a clean one: PATH, HOME, LANG, TERM, CI, NO_COLOR and
# FLEET and every FLEET_* variable are passed through.
#
# Environment: FLEET_TRIXIE_ROOT  where the root lives (default /var/cache/fleet-ci/trixie)
#              FLEET_SHARED       the shared test data (default: ../shared beside the checkout)
# Needs root, debootstrap (tests/install-deps.sh installs it) and the registry on first use.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$here/.." && pwd)
root=${FLEET_TRIXIE_ROOT:-/var/cache/fleet-ci/trixie}
stamp=.fleet-root-stamp
suite=trixie

die() {
	echo "debian13-root: $*" >&2
	exit 1
}

# What the root must hold; its stamp records this, so a changed list remakes the root.
wanted_packages() {
	bash "$here/install-deps.sh" --list-platform | sort -u
}

# The mirror of this machine's Debian suite, as apt itself resolved its sources.
debian_mirror() {
	local codename
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || return 1
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' 2>/dev/null |
		awk -v c="$codename" '$2 == c && $3 == "deb" { print $1; exit }'
}

# Mounts under DIR, deepest first (from /proc/self/mountinfo; paths with spaces excepted).
mounts_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

unmount_all() {
	local m
	for m in $(mounts_under "$root"); do
		umount -l "$m" 2>/dev/null || true
	done
}

# mount_system: what a Debian userland expects, private to this namespace.
mount_system() {
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	mount --make-rslave "$root/dev"
	mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
	mount --rbind /sys "$root/sys"
	mount --make-rslave "$root/sys"
	mount -t tmpfs -o mode=1777,nosuid,nodev tmp "$root/tmp"
}

# Runs a command in the root as apt there needs it (with this machine's proxy, if any).
in_root() {
	local proxy=() v
	for v in http_proxy https_proxy no_proxy; do
		[ -n "${!v:-}" ] && proxy+=("$v=${!v}")
	done
	chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "${proxy[@]}" "$@"
}

# Why the root cannot be reused, or nothing. Leaves the system mounted when it can be.
why_remake() {
	if [ ! -f "$root/$stamp" ]; then
		echo "there is no finished root"
	elif [ "$(cat "$root/$stamp")" != "$(wanted_packages)" ]; then
		echo "the package list changed"
	elif ! mount_system || ! sane; then
		echo "the root is broken (nix, cc, cmake or node does not run)"
	fi
}

# With the system mounted (Nix needs /proc).
sane() {
	in_root sh -c 'nix --version && cc --version && cmake --version && node --version' >/dev/null 2>&1
}

# build: debootstrap, then the packages, then the stamp. Runs with nothing mounted in $root.
build() {
	local mirror
	mirror=$(debian_mirror) || true
	[ -n "$mirror" ] || die "cannot tell which Debian mirror apt uses here (apt-get indextargets found none for this release)"
	echo "debian13-root: making a Debian 13 root in $root from $mirror (takes minutes)" >&2
	[ -z "$(mounts_under "$root")" ] || die "something is still mounted under $root; refusing to remove it"
	rm -rf --one-file-system "$root"
	mkdir -p "$root"
	debootstrap --variant=minbase --components=main \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		"$suite" "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
		die "debootstrap failed (log: $root.debootstrap.log): $(tail -3 "$root.debootstrap.log")"
	printf 'deb %s %s main\n' "$mirror" "$suite" >"$root/etc/apt/sources.list"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	# No service starts inside the root.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	mount_system
	if ! install_packages; then
		unmount_all
		die "installing packages in the root failed (log: $root.apt.log): $(tail -3 "$root.apt.log")"
	fi
	unmount_all
	wanted_packages >"$root/$stamp"
}

# The wanted packages, installed in the root (with the system mounted).
install_packages() {
	local packages
	mapfile -t packages < <(wanted_packages)
	{ in_root apt-get update -qq &&
		in_root apt-get install -y -qq --no-install-recommends "${packages[@]}" &&
		in_root apt-get clean; } >"$root.apt.log" 2>&1
}

# Inside the private mount namespace: make or check the root, mount, run, unmount.
inside() {
	trap unmount_all EXIT
	local why
	why=$(why_remake)
	if [ "$why" = "the package list changed" ]; then
		# Cheaper than making it again: what is new is installed (nothing is removed).
		echo "debian13-root: the package list changed: installing it in $root" >&2
		if mount_system && install_packages && sane; then
			wanted_packages >"$root/$stamp"
			why=
		else
			unmount_all
			why="installing the changed package list failed (log: $root.apt.log)"
		fi
	fi
	if [ -n "$why" ]; then
		echo "debian13-root: $why in $root" >&2
		unmount_all
		build
		mount_system
		sane || die "the new root fails its sanity check (nix, cc, cmake, node)"
	fi
	local shared=${FLEET_SHARED:-$checkout/../shared}
	mkdir -p "$root$checkout"
	mount --bind "$checkout" "$root$checkout"
	if [ -d "$shared" ]; then
		shared=$(cd "$shared" && pwd)
		mkdir -p "$root$shared"
		mount --bind "$shared" "$root$shared"
		mount -o remount,bind,ro "$root$shared"
		export FLEET_SHARED=$shared
	fi
	local pass=() v
	for v in TERM CI NO_COLOR $(compgen -e | grep -E '^FLEET(_|$)' || true); do
		[ -n "${!v+x}" ] && pass+=("$v=${!v}")
	done
	local rc=0
	chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 "${pass[@]}" \
		/bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$PWD" "$@" || rc=$?
	return "$rc"
}

if [ "${1:-}" = --in-namespace ]; then
	shift
	inside "$@"
	exit
fi

[ $# -gt 0 ] || die "usage: $0 COMMAND [ARG...]"
[ "$(uname -s)" = Linux ] || die "needs Linux (chroot and mount namespaces)"
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts)"
command -v debootstrap >/dev/null || die "debootstrap is missing (bash tests/install-deps.sh installs it)"
case $PWD/ in "$checkout"/*) ;; *) die "run it from inside the checkout ($checkout)" ;; esac
mkdir -p "$(dirname "$root")"
# Whoever can write where the root lives can run code as root in it: only root may.
for d in "$(dirname "$root")" "$root"; do
	[ -e "$d" ] || continue
	[ "$(stat -c %u "$d")" = 0 ] && [ -z "$(find "$d" -maxdepth 0 -perm /022)" ] ||
		die "$d must be owned by root and writable by no one else"
done
# One run at a time per root: another run may be making it.
exec 9>"$root.lock"
flock 9
exec unshare --mount --propagation private -- bash "$0" --in-namespace "$@"
