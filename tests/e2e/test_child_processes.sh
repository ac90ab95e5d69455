#!/usr/bin/env bash
# What fleet starts ends with it: nix runs in a process group of its own, and a signal
# that ends fleet is passed on to the whole group, so a grandchild (what nix itself
# started) does not live on. (The timeout's group kill is in tests/unit/test_process.c.)
. "$(dirname "$0")/lib.sh"

export HOME=$T/home XDG_CACHE_HOME=$T/cache
mkdir -p "$HOME" "$T/flake"
echo '{ outputs = _: { }; }' >"$T/flake/flake.nix"
# A stand-in for nix that starts a grandchild and then hangs.
cat >"$T/nix" <<SH
#!/bin/sh
sleep 300 >/dev/null 2>&1 &
echo \$! >"$T/grandchild.tmp" && mv "$T/grandchild.tmp" "$T/grandchild"
exec sleep 300
SH
chmod +x "$T/nix"

gone() { # PID: no such process, or a zombie (killed, not yet reaped by init)
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 0
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

for sig in TERM HUP; do
	rm -f "$T/grandchild"
	(cd "$T/flake" && exec env FLEET_NIX="$T/nix" "$FLEET" inventory list >/dev/null 2>&1) &
	fpid=$!
	for _ in $(seq 300); do
		[ -s "$T/grandchild" ] && break
		sleep 0.1
	done
	gpid=$(cat "$T/grandchild" 2>/dev/null)
	if [ -z "$gpid" ]; then
		not_ok "SIG$sig: the stand-in nix started"
		kill "$fpid" 2>/dev/null
		continue
	fi
	kill -"$sig" "$fpid"
	wait "$fpid"
	rc=$?
	check "SIG$sig: fleet ended by the signal" [ "$rc" -gt 128 ]
	for _ in $(seq 100); do
		gone "$gpid" && break
		sleep 0.1
	done
	if gone "$gpid"; then
		ok "SIG$sig: nix's own child is gone too"
	else
		not_ok "SIG$sig: nix's own child is gone too" "$(ps -o pid,pgid,stat,cmd -p "$gpid")"
		kill -9 "$gpid" 2>/dev/null
	fi
done

finish
