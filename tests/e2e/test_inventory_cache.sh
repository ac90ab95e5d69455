#!/usr/bin/env bash
# The evaluation cache (docs/cache.md) against real nix: a flake edited while nix
# evaluates is never served stale, a cache directory another user could write to is
# refused, a tampered snapshot is a miss, a flake outside git is cached, staging is a
# miss, a same-size same-mtime edit is a miss, and warm answers equal cold answers field
# by field. A `nix` wrapper on PATH counts nix runs and can edit the flake mid-run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nixlib.sh"

command -v nix >/dev/null || { not_ok "nix is installed (apt-get install nix-bin)"; finish; }
REAL_NIX=$(command -v nix)
mkdir -p "$T/bin"
# $T/hook-before runs before nix evaluates, $T/hook-after after nix printed its answer
# and before the wrapper passes it on: each once, then it is removed.
cat >"$T/bin/nix" <<EOF
#!/bin/sh
echo "\$*" >>"$T/nix-calls"
case " \$* " in
*" eval "*)
	if [ -f "$T/hook-before" ]; then sh "$T/hook-before"; rm -f "$T/hook-before"; fi
	if [ -f "$T/hook-after" ]; then
		"$REAL_NIX" "\$@" >"$T/nix-out"
		rc=\$?
		sh "$T/hook-after"
		rm -f "$T/hook-after"
		cat "$T/nix-out"
		exit \$rc
	fi
	;;
esac
exec "$REAL_NIX" "\$@"
EOF
chmod +x "$T/bin/nix"
export PATH="$T/bin:$PATH" XDG_CACHE_HOME="$T/cache"
unset FLEET_FLAKE FLEET_NIX
calls() { [ -f "$T/nix-calls" ] && wc -l <"$T/nix-calls" || echo 0; }
# target MACHINE: the machine's targetHost in the last run's `machines list --json`
target() { python3 -c "import json,sys; print({m['name']: m['targetHost'] for m in json.load(open(sys.argv[1]))}[sys.argv[2]])" "$T/run.out" "$1"; }

fleet_fixture basic "$T/basic" >/dev/null
cd "$T/basic" || exit 1
cp flake.nix "$T/flake.orig"
ORG=root@cinnabar.example.org NET=root@cinnabar.example.net

# --- finding 2: an edit while nix evaluates -----------------------------------------------
# Nix reads the flake, then it is edited before fleet stores the answer: nothing may be
# stored under the edited flake's key.
rm -rf "$XDG_CACHE_HOME"
echo "sed -i 's/$ORG/$NET/' '$T/basic/flake.nix'" >"$T/hook-after"
run "$FLEET" machines list --json
check "edited after nix read it: the answer nix gave" test "$RC $(target cinnabar)" = "0 $ORG"
before=$(calls)
sleep 2 # the files are now older than any stamp: only a correct stamp can be trusted
run "$FLEET" machines list --json
check "…the edited flake is evaluated, not served from the cache" test "$(calls)" = $((before + 1))
check "…and answers with the edit" test "$(target cinnabar)" = "$NET"
run "$FLEET" machines list --json
check "…then cached: no nix, same answer" test "$(calls) $(target cinnabar)" = "$((before + 1)) $NET"

# Edited after fleet fingerprinted the flake and before nix read it: nix's answer (the
# edit) must not be stored under the key of the flake as it was.
cp "$T/flake.orig" flake.nix
rm -rf "$XDG_CACHE_HOME"
echo "sleep 1; sed -i 's/$ORG/$NET/' '$T/basic/flake.nix'" >"$T/hook-before"
run "$FLEET" machines list --json
check "edited before nix read it: nix's answer has the edit" test "$(target cinnabar)" = "$NET"
cp "$T/flake.orig" flake.nix
before=$(calls)
run "$FLEET" machines list --json
check "…the flake put back is evaluated again" test "$(calls)" = $((before + 1))
check "…and never answered with the edit" test "$(target cinnabar)" = "$ORG"

# --- finding 12: staging is a miss; a flake outside git is cached ---------------------------
echo "# a comment" >>flake.nix
"$FLEET" inventory list >/dev/null 2>&1
"$FLEET" inventory list >/dev/null 2>&1
before=$(calls)
git add flake.nix
"$FLEET" inventory list >/dev/null 2>&1
check "staging a change: a miss" test "$(calls)" = $((before + 1))
"$FLEET" inventory list >/dev/null 2>&1
check "…then a hit" test "$(calls)" = $((before + 1))
git reset -q && cp "$T/flake.orig" flake.nix

mkdir -p "$T/plain"
cp -R "$FLEET_FIXTURES_DIR/basic/." "$T/plain/" && cp -R "$FLEET_NIX_LIB_DIR" "$T/plain/fleet-lib"
before=$(calls)
run "$FLEET" machines list --json --flake "$T/plain"
check "outside git: evaluated once" sh -c "[ $RC = 0 ] && [ $(calls) = $((before + 1)) ]"
run "$FLEET" machines list --json --flake "$T/plain"
check "outside git: then a hit" sh -c "[ $RC = 0 ] && [ $(calls) = $((before + 1)) ] && grep -q $ORG '$T/run.out'"
sed -i "s/$ORG/$NET/" "$T/plain/flake.nix"
run "$FLEET" machines list --json --flake "$T/plain"
check "outside git: an edit is a miss, with the edit" sh -c "[ $(calls) = $((before + 2)) ] && grep -q $NET '$T/run.out'"
echo '{ }' >"$T/plain/extra.nix"
"$FLEET" inventory list --flake "$T/plain" >/dev/null 2>&1
check "outside git: a new file is a miss" test "$(calls)" = $((before + 3))
ln -s flake.nix "$T/plain/link"
"$FLEET" inventory list --flake "$T/plain" >/dev/null 2>&1
ln -sfn extra.nix "$T/plain/link"
"$FLEET" inventory list --flake "$T/plain" >/dev/null 2>&1
check "outside git: a symbolic link pointed elsewhere is a miss" test "$(calls)" = $((before + 5))
"$FLEET" inventory list --flake "$T/plain" >/dev/null 2>&1
check "outside git: …then a hit" test "$(calls)" = $((before + 5))

# --- the content digest: a same-size edit with the same mtime --------------------------------
# flake.nix is already modified (so its status does not change); the next edit keeps its
# size, mtime and inode: only its content tells it apart.
sed -i "s/$ORG/$NET/" flake.nix
touch -r "$T/flake.orig" flake.nix
run "$FLEET" machines list --json
check "a modified flake: answered with the modification" test "$(target cinnabar)" = "$NET"
stat_before=$(stat -c '%s %Y.%y %i' flake.nix)
sed "s/$NET/root@cinnabar.example.com/" flake.nix >"$T/same-size"
cat "$T/same-size" >flake.nix
touch -r "$T/flake.orig" flake.nix
check "…edited again: same size, mtime and inode" test "$(stat -c '%s %Y.%y %i' flake.nix)" = "$stat_before"
before=$(calls)
run "$FLEET" machines list --json
check "…a miss, answered with the new content" sh -c "[ $(calls) = $((before + 1)) ] && grep -q root@cinnabar.example.com '$T/run.out'"
cp "$T/flake.orig" flake.nix

# --- warm answers equal cold answers, field by field ----------------------------------------
# Every listing verb's full --json output, from the cache and from nix, on a fixture that
# sets every field (build hosts, waves, ssh options, toplevels, module inputs, settings).
verbs=("inventory list" "machines list" "inventory tags" "inventory instances" "inventory validate")
for m in blackphos cinnabar electrum galena stibnite; do verbs+=("inventory show $m"); done
for i in backup zerotier-local; do verbs+=("inventory roles $i"); done
for v in "${verbs[@]}"; do
	# shellcheck disable=SC2086
	"$FLEET" $v --json >/dev/null 2>&1 # fills the cache
done
before=$(calls)
n=0
for v in "${verbs[@]}"; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	{ "$FLEET" $v --json >"$T/warm.$n" 2>&1; echo "exit $?" >>"$T/warm.$n"; }
	# shellcheck disable=SC2086
	{ "$FLEET" $v --json --no-cache >"$T/cold.$n" 2>&1; echo "exit $?" >>"$T/cold.$n"; }
	check "warm = cold: $v --json" cmp "$T/warm.$n" "$T/cold.$n"
done
check "…the warm answers came from the cache" test "$(calls)" = $((before + ${#verbs[@]}))
check "…and carry every field" sh -c "grep -q '\"buildHost\": \"root@cinnabar.example.org\"' '$T'/warm.* && grep -q '\"wave\": 2' '$T'/warm.* && grep -q '\"2222\"' '$T'/warm.* && grep -q '\"input\": \"clan-core\"' '$T'/warm.* && grep -q '\"toplevel\": \"fleetSystems' '$T'/warm.*"
fleet_fixture invalid "$T/invalid" >/dev/null
"$FLEET" inventory validate --json --flake "$T/invalid" >/dev/null 2>&1
"$FLEET" inventory validate --json --flake "$T/invalid" >"$T/warm.invalid" 2>&1
"$FLEET" inventory validate --json --no-cache --flake "$T/invalid" >"$T/cold.invalid" 2>&1
check "warm = cold: the problems of an invalid flake" cmp "$T/warm.invalid" "$T/cold.invalid"

# --- the MAC: a snapshot changed behind fleet's back is a miss -------------------------------
"$FLEET" machines list --json >/dev/null 2>&1
for f in "$XDG_CACHE_HOME"/fleet/eval/*.snap; do
	LC_ALL=C sed -i 's/cinnabar\.example\.org/attacker\.example\.org/' "$f"
done
check "a snapshot was rewritten in place" grep -q attacker "$XDG_CACHE_HOME"/fleet/eval/*.snap
before=$(calls)
run "$FLEET" machines list --json
check "a rewritten snapshot: a miss, nix's answer" test "$(calls) $(target cinnabar)" = "$((before + 1)) $ORG"
check "the MAC key is private" test "$(stat -c %a "$XDG_CACHE_HOME/fleet/eval/mac-key")" = 600

# --- finding 3: a cache directory another user can write to ---------------------------------
mkdir "$T/own"
ln -s "$T/own" "$T/linked-cache-target"
for bad in "777 every user" "770 its group"; do
	mode=${bad%% *} why=${bad#* }
	rm -rf "$T/c-$mode" && mkdir -p "$T/c-$mode/fleet" && chmod "$mode" "$T/c-$mode/fleet"
	before=$(calls)
	run env XDG_CACHE_HOME="$T/c-$mode" "$FLEET" machines list --json
	check "fleet/ mode $mode: runs uncached, warning names it" sh -c "[ $RC = 0 ] && [ $(calls) = $((before + 1)) ] && grep -q 'warning: .*$T/c-$mode/fleet is writable by $why' '$T/run.err'"
	check "fleet/ mode $mode: nothing written in it" test -z "$(ls -A "$T/c-$mode/fleet")"
done
mkdir -p "$T/c-link/fleet" && chmod 700 "$T/c-link/fleet" && ln -s "$T/own" "$T/c-link/fleet/eval"
run env XDG_CACHE_HOME="$T/c-link" "$FLEET" machines list --json
check "fleet/eval a symbolic link: refused, warning" sh -c "[ $RC = 0 ] && grep -q 'warning: .*$T/c-link/fleet/eval is a symbolic link' '$T/run.err'"
check "…nothing written where it points" test -z "$(ls -A "$T/own")"

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	ok "another user's cache directory # SKIP needs root and setpriv"
	finish
fi
# A shared XDG_CACHE_HOME (sticky and world-writable like /tmp) where nobody planted
# fleet/eval: world-writable, or their own, with a forged snapshot and a stamp that is
# a symbolic link to a file of the victim's.
chmod 711 "$T"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
"$FLEET" machines list --json >/dev/null 2>&1 # a real entry, to forge from
stamp_name=$(basename "$(ls "$XDG_CACHE_HOME"/fleet/eval/*.stamp | head -1)")
echo precious >"$T/victim"
for kind in world-writable nobodys; do
	shared="$T/shared-$kind"
	mkdir "$shared" && chmod 1777 "$shared"
	mkdir "$T/forge-$kind" && cp "$XDG_CACHE_HOME"/fleet/eval/* "$T/forge-$kind/"
	LC_ALL=C sed -i 's/cinnabar\.example\.org/attacker\.example\.org/' "$T/forge-$kind"/*.snap
	chmod -R a+rX "$T/forge-$kind"
	dmode=755
	[ "$kind" = world-writable ] && dmode=777
	as_nobody sh -c "mkdir -p '$shared/fleet/eval' && cp '$T/forge-$kind'/*.snap* '$T/forge-$kind'/mac-key '$shared/fleet/eval/' && ln -s '$T/victim' '$shared/fleet/eval/$stamp_name' && chmod $dmode '$shared/fleet' '$shared/fleet/eval'"
	ls -la "$shared/fleet/eval" >"$T/planted-$kind"
	before=$(calls)
	run env XDG_CACHE_HOME="$shared" "$FLEET" machines list --json
	check "$kind fleet/eval of nobody's: exit 0, evaluated" sh -c "[ $RC = 0 ] && [ $(calls) = $((before + 1)) ]"
	check "$kind: the warning names the directory and why" grep -q "warning: not using the evaluation cache: $shared/fleet belongs to uid 65534, not to you" "$T/run.err"
	check "$kind: the answer is nix's, not the planted one" sh -c "grep -q $ORG '$T/run.out' && ! grep -q attacker '$T/run.out'"
	check "$kind: nothing written through the stamp link" test "$(cat "$T/victim")" = precious
	ls -la "$shared/fleet/eval" >"$T/after-$kind"
	check "$kind: nothing written in the directory" cmp "$T/planted-$kind" "$T/after-$kind"
done
finish
