#!/usr/bin/env bash
# The README's examples work as printed: every `fleet …` line of its fleet age, fleet sops,
# inventory/machines and installing sections is taken from README.md and run, in order, as
# written (with `fleet` on PATH, in a scratch HOME holding ~/.ssh/id_ed25519, the files
# the examples name, and the fixture flake tests/fixtures/basic as ~/src/infra).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nixlib.sh"

README=$E2E_DIR/../../README.md
require_tools python3 nix git

# the examples, section by section: "SECTION<TAB>LINE", comments and prompts dropped
python3 - "$README" >"$T/examples" <<'PY'
import re, sys
section, block = None, False
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("## "):
        section = line[3:]
    elif line.startswith("```"):
        block = line == "```sh" and not block
    elif block and section in ("Installing", "fleet age", "fleet sops",
                               "fleet inventory and fleet machines"):
        code = re.sub(r"\s+#\s.*$", "", line).strip()
        if code:
            print(section + "\t" + code)
PY
check "README: examples found in each section" test "$(cut -f1 "$T/examples" | sort -u | wc -l)" = 4

mkdir -p "$T/bin" "$T/home/.ssh" "$T/work" "$T/home/src"
ln -s "$FLEET" "$T/bin/fleet"
cp "$SSH_DATA/id_ed25519" "$SSH_DATA/id_ed25519.pub" "$T/home/.ssh/"
chmod 600 "$T/home/.ssh/id_ed25519"
# the programs the sops examples run: psql and app look at what they were given
printf '#!/bin/sh\ncase "$1" in postgres://*) exit 0 ;; esac\necho "psql: got $1" >&2\nexit 1\n' >"$T/bin/psql"
printf '#!/bin/sh\n[ "$1" = --config ] && grep -q password "$2"\n' >"$T/bin/app"
chmod +x "$T/bin/psql" "$T/bin/app"
# the editor `fleet sops edit` runs: changes the password
printf '#!/bin/sh\nsed -i "s/password: .*/password: edited/" "$1"\n' >"$T/bin/edit-secret"
chmod +x "$T/bin/edit-secret"
export PATH="$T/bin:$PATH" HOME="$T/home" XDG_CACHE_HOME="$T/cache" EDITOR=edit-secret
unset VISUAL SOPS_EDITOR SOPS_AGE_KEY_FILE SOPS_AGE_KEY SOPS_AGE_KEY_CMD SOPS_AGE_RECIPIENTS FLEET_FLAKE
printf 'database password: correct horse battery staple\n' >"$T/work/secret.txt"
printf 'db:\n    user: app\n    password: old\nport: 5432\n' >"$T/work/secrets.yaml"
fleet_fixture basic "$HOME/src/infra" >/dev/null

# line CODE: runs one example as printed; `export` in this shell (later lines see it),
# anything else in a subshell with set -u (a variable the README never set fails it).
line() {
	: >"$T/answer"
	case $1 in
	export\ *) run eval "$1" ;;
	*updatekeys*) printf 'y\n' >"$T/answer" ;;& # the user's answer to its question
	*) run bash -c 'set -u; eval "$1"' bash "$1" <"$T/answer" ;;
	esac
}

n=0
while IFS=$'\t' read -r section code; do
	n=$((n + 1))
	case $section in
	Installing)
		case $code in
		cmake\ -S* | sudo\ *) continue ;; # the build itself: checked below with DESTDIR
		*"| source") run fish -c "$code; and complete -C 'fleet inv' | grep -q inventory" ;;
		*"completion bash"*) run bash -c "$code && complete -p fleet" ;;
		*) run env MANPAGER=cat bash -c "$code" ;;
		esac
		;;
	"fleet sops")
		cd "$T/work" || exit 1
		# .sops.yaml names the key the age examples made, and the SSH key
		if [ ! -f .sops.yaml ]; then
			printf 'creation_rules:\n  - age: %s,%s\n' \
				"$(fleet age keygen -y key.txt)" "$(cat ~/.ssh/id_ed25519.pub)" >.sops.yaml
			# the other files and values the examples name
			fleet age keygen -o backup.txt 2>/dev/null
			printf 'DATABASE_URL=postgres://app@db/app\n' >secrets.env
			fleet sops encrypt -i secrets.env
			export pw='a password' # the password $pw holds
		fi
		line "$code"
		;;
	"fleet inventory and fleet machines")
		cd "$HOME/src/infra" || exit 1
		line "$code"
		;;
	*)
		cd "$T/work" || exit 1
		case $code in
		*" -p "*) run with_tty_passphrase "a passphrase" bash -c "$code" ;;
		*) line "$code" ;;
		esac
		;;
	esac
	check "README ($section): $code" test "$RC" = 0
	[ "$RC" = 0 ] || cat "$T/run.err"
done <"$T/examples"
check "README: $n example lines" test "$n" -ge 25

# what some of them did, looked at independently
cd "$T/work" || exit 1
check "age: secret.age decrypts with the reference age and key.txt" sh -c "age -d -i key.txt secret.age | grep -q 'correct horse'"
check "age: the armored file decrypts with the reference age" sh -c "age -d -i key.txt secret.txt.age | grep -q 'correct horse'"
check "age: the -d -i key.txt example wrote the plaintext" cmp -s secret.out secret.txt
run env SOPS_AGE_KEY_FILE="$T/work/key.txt" fleet sops decrypt --extract '["db"]["password"]' secrets.enc.yaml
check "sops: after edit and the two sets, the password is \$pw" test "$(cat "$T/run.out")" = "a password"
check "sops: updatekeys and rotate --add-age: the .sops.yaml recipients and backup.txt's" \
	sh -c "[ \$(grep -c 'recipient: ' secrets.enc.yaml) = 3 ] && grep -q 'recipient: ssh-ed25519' secrets.enc.yaml && grep -q \"recipient: \$(fleet age keygen -y backup.txt)\" secrets.enc.yaml"
cd "$HOME/src/infra" || exit 1
check "machines create: web3 is in inventory.json" grep -q '"web3"' inventory.json

# the install step: everything lands where the shells and man look
BUILD=$(dirname "$FLEET")
if [ -f "$BUILD/cmake_install.cmake" ]; then
	run env DESTDIR="$T/root" cmake --install "$BUILD" --prefix /usr/local
	check "cmake --install: exit 0" test "$RC" = 0
	for f in bin/fleet share/man/man1/fleet.1 share/bash-completion/completions/fleet \
		share/zsh/site-functions/_fleet share/fish/vendor_completions.d/fleet.fish; do
		check "cmake --install: /usr/local/$f" test -s "$T/root/usr/local/$f"
	done
else
	not_ok "the binary comes from a CMake build directory" "$BUILD"
fi

finish
