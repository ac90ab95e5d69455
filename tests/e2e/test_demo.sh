#!/usr/bin/env bash
# The demo (tests/demo.sh) prints commands a user can paste back into a shell: it is run
# with the built binary, then its directory is emptied and every `$ …` line it printed is
# pasted, in order, into a fresh bash: each must do what it did in the demo (exit 0, or
# fail where the demo says "exits 1").
. "$(dirname "$0")/lib.sh"
require_tools age age-keygen nix git

DEMO=$E2E_DIR/../demo.sh
run env FLEET="$FLEET" FLEET_DEMO_DIR="$T/demo" NO_COLOR=1 XDG_CACHE_HOME="$T/cache" bash "$DEMO"
check "the demo runs: exit 0" test "$RC" = 0
[ "$RC" = 0 ] || cat "$T/run.err"
check "the demo says where its files are" grep -q "Its files are in $T/demo" "$T/run.out"
grep '^\$ ' "$T/run.out" | cut -c3- >"$T/commands"
check "the demo printed its commands ($(wc -l <"$T/commands"))" test "$(wc -l <"$T/commands")" -ge 25

n=0 bad=
while IFS= read -r line; do
	n=$((n + 1))
	bash -n -c "$line" 2>/dev/null || bad="$bad [$line]"
done <"$T/commands"
check "every printed command is valid shell ($n)${bad:+:$bad}" test -z "$bad"
check "no placeholders (<…>) in the printed commands" sh -c "! grep -E '<[a-z][a-z ]*>' '$T/commands'"
check "real paths: the binary's directory and the demo's" sh -c "grep -qF '$(dirname "$FLEET")' '$T/commands' && grep -qxF 'cd $T/demo' '$T/commands'"

# paste them back, from nothing
rm -rf "$T/demo" "$T/cache"
mkdir "$T/demo"
{
	echo 'set +e'
	i=0
	while IFS= read -r line; do
		i=$((i + 1))
		printf '%s\n' "$line"
		printf 'echo "RC %d $?" >>%q\n' "$i" "$T/replay.rc"
	done <"$T/commands"
} >"$T/replay.sh"
(cd / && env -u SOPS_AGE_KEY_FILE -u NIX_CONFIG HOME="$T/home" bash "$T/replay.sh" >"$T/replay.out" 2>&1)
i=0 bad=
while IFS= read -r line; do
	i=$((i + 1))
	rc=$(awk -v i="$i" '$2 == i { print $3 }' "$T/replay.rc")
	case $line in
	*"(exits 1)"*) [ "$rc" != 0 ] || bad="$bad [$line: accepted]" ;;
	*) [ "$rc" = 0 ] || bad="$bad [$line: exit ${rc:-none}]" ;;
	esac
done <"$T/commands"
check "pasted back into a fresh shell, every command does what it did ($i)${bad:+:$bad}" test -z "$bad"
[ -z "$bad" ] || tail -20 "$T/replay.out"
check "…ending with the cache answering the flake" grep -q '^cinnabar ' "$T/replay.out"

finish
