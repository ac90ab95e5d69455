#!/usr/bin/env bash
# The built-in demo: builds fleet and runs what it does today on local data: age keys
# and files (read by the reference age too), a sops secrets file (edited, with only the
# touched value changing), and the inventory of a small fleet flake evaluated by the
# real nix (machines, tags, roles, validation, and the cache answering without nix).
#
# Every step is printed as a `$ …` line you can paste back into a shell: real paths, real
# keys, quoted as the shell needs. The files stay in the demo's directory (printed at the
# end). FLEET=/path/to/fleet uses that binary instead of building one; FLEET_DEMO_DIR
# chooses the directory (default: a new one under /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
if [ -z "${FLEET:-}" ]; then
	bash tests/install-deps.sh
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j "$(nproc)" >/dev/null
	FLEET=$PWD/build/fleet
fi
bindir=$(cd "$(dirname "$FLEET")" && pwd)
work=${FLEET_DEMO_DIR:-$(mktemp -d /tmp/fleet-demo.XXXXXX)}
mkdir -p "$work"
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi

# q WORD: WORD as the shell reads it back (bare when that is safe, else quoted).
q() {
	if [[ $1 =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
		printf '%s' "$1"
	elif [[ $1 == *$'\n'* ]]; then
		printf '%q' "$1"
	else
		printf "'%s'" "${1//\'/\'\\\'\'}"
	fi
}
# show LINE: prints a command line as typed; run WORD…: prints the words quoted, runs them;
# sh_run LINE: prints LINE (pipes, redirections) and runs it as printed.
show() { printf '\n%s$ %s%s\n' "$bold" "$1" "$plain"; }
run() {
	local line='' a
	for a in "$@"; do line+="${line:+ }$(q "$a")"; done
	show "$line"
	"$@"
}
sh_run() {
	show "$1"
	eval "$1"
}

sh_run "export PATH=$(q "$bindir"):\"\$PATH\""
sh_run "cd $(q "$work")"
run fleet --version
run fleet age keygen -o admin.key
run age-keygen -o host.key
sh_run "printf 'database password: correct horse battery staple\\n' >secret.txt"
sh_run 'fleet age -a -r "$(fleet age keygen -y admin.key)" -r "$(age-keygen -y host.key)" -o secret.age secret.txt'
run cat secret.age
run fleet age -d -i admin.key secret.age
sh_run "age -d -i host.key secret.age   # the reference tool reads fleet's file"
sh_run 'age -r "$(fleet age keygen -y admin.key)" secret.txt | fleet age -d -i admin.key   # and the other way round'
# one character of the last armored line changed: the payload's authentication tag
tamper='{ l[NR] = $0 } END { for (i = 1; i <= NR; i++) { if (i == NR - 1) l[i] = (substr(l[i], 1, 1) == "A" ? "B" : "A") substr(l[i], 2); print l[i] } }'
sh_run "awk $(q "$tamper") secret.age >tampered.age"
show "fleet age -d -i host.key tampered.age   # a damaged file is refused (exits 1)"
if fleet age -d -i host.key tampered.age; then
	echo "demo: FAILED: fleet accepted a tampered file" >&2
	exit 1
else
	echo "(exit $?: refused)"
fi

# --- sops ---
sh_run "export SOPS_AGE_KEY_FILE=$(q "$work/admin.key")"
sh_run "printf '# database credentials for the web tier\\ndb:\\n    user: app\\n    password: correct horse battery staple\\nport: 5432\\n' >secrets.yaml"
sh_run 'fleet sops encrypt -i --age "$(fleet age keygen -y admin.key),$(age-keygen -y host.key)" secrets.yaml'
run cat secrets.yaml
run fleet sops decrypt --extract '["db"]["password"]' secrets.yaml
echo
run cp secrets.yaml before.yaml
run fleet sops set secrets.yaml '["db"]["password"]' '"n3w-pass"'
show "diff before.yaml secrets.yaml   # only the touched value (and mac, lastmodified) changed (exits 1)"
diff before.yaml secrets.yaml || true
sh_run "sed 's/^\\(    lastmodified: \"\\)20/\\119/' secrets.yaml >tampered.yaml"
show "fleet sops decrypt tampered.yaml   # lastmodified changed: the MAC refuses it (exits 1)"
if fleet sops decrypt tampered.yaml; then
	echo "demo: FAILED: fleet accepted a tampered sops file" >&2
	exit 1
else
	echo "(exit $?: refused)"
fi

# --- the inventory of a fleet flake, evaluated by nix ---
. "$root/tests/e2e/nixlib.sh"
sh_run "export NIX_CONFIG=$(q "$NIX_CONFIG") XDG_CACHE_HOME=$(q "$work/cache")"
sh_run ". $(q "$root/tests/e2e/nixlib.sh") && fleet_fixture basic $(q "$work/fleet-flake") >/dev/null"
sh_run "cd $(q "$work/fleet-flake")"
run fleet inventory list
run fleet inventory roles zerotier-local
run fleet inventory validate
show "time fleet machines list @vps   # again: answered from the cache, no nix process"
time fleet machines list @vps

printf '\nDemo finished: age and sops files interoperate with the reference tools, and the\nfleet flake was read with one nix evaluation. Its files are in %s\n(rm -rf it when done).\n' "$work"
