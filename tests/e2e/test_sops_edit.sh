#!/usr/bin/env bash
# fleet sops edit leaves no plaintext behind and behaves as sops edit does: the editor's
# backups and swap files are wiped with the private directory; Ctrl-C belongs to the
# editor; TERM waits for it and then cancels; a killed run's directory is swept by the
# next run (and nothing else is); SOPS_EDITOR, then EDITOR, split with shell quoting;
# an invalid edit returns to the editor on a terminal and fails without one.
. "$(dirname "$0")/lib.sh"

export HOME=$T/home
mkdir -p "$HOME"
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD SOPS_AGE_RECIPIENTS \
	SOPS_AGE_SSH_PRIVATE_KEY_FILE XDG_CONFIG_HOME VISUAL SOPS_EDITOR EDITOR
# A private runtime directory of our own: what is left in it is this test's doing.
export XDG_RUNTIME_DIR=$T/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
PTY=$E2E_DIR/pty_drive.py

"$FLEET" age keygen -o "$T/key.txt" 2>/dev/null
R=$("$FLEET" age keygen -y "$T/key.txt")
export SOPS_AGE_KEY_FILE=$T/key.txt
printf 'db:\n    password: hunter2\nport: 8080\n' >"$T/plain.yaml"
"$FLEET" sops encrypt --age "$R" "$T/plain.yaml" >"$T/s.yaml"

runtime_empty() { [ -z "$(ls -A "$XDG_RUNTIME_DIR")" ]; }
value() { "$FLEET" sops decrypt --extract "$1" "$T/s.yaml" 2>/dev/null; }
editor() { # NAME BODY: an editor script; $1 is the file, $T the test directory
	printf '#!/bin/sh\nT=%s\n%s\n' "$T" "$2" >"$T/$1"
	chmod +x "$T/$1"
}
# launch COMMAND... &: COMMAND in a session and process group of its own (its pid is $!),
# with SIGINT and SIGQUIT at their defaults: a non-interactive shell starts background
# commands with them ignored, which would hide what fleet does with them.
cat >"$T/launch.py" <<'PY'
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])
PY
LAUNCH="python3 $T/launch.py"
wait_for() { # FILE: up to 30 s
	for _ in $(seq 300); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- an editor that writes backups and a swap file ----------------------------------------
editor ed-backup 'cp "$1" "$1~"; cp "$1" "$(dirname "$1")/.$(basename "$1").swp"
mkdir -p "$(dirname "$1")/sub"; cp "$1" "$(dirname "$1")/sub/copy"
sed -i "s/hunter2/changed1/" "$1"; ls -A "$(dirname "$1")" >"$T/seen"'
run env EDITOR="$T/ed-backup" "$FLEET" sops edit "$T/s.yaml"
check "backup-writing editor: edit saved" test "$RC:$(value '["db"]["password"]')" = "0:changed1"
check "backup-writing editor: it saw its backup files beside the plaintext" grep -q 's.yaml~' "$T/seen"
check "backup-writing editor: nothing left in the runtime directory" runtime_empty
check "the plaintext went to a private directory under XDG_RUNTIME_DIR" grep -q '.s.yaml.swp' "$T/seen"

# The wipe overwrites before it unlinks: a descriptor the "editor" left open on a file
# inside reads zeros once the name is gone; a file with a second name (a hard link
# outside) is only unlinked, never overwritten.
editor ed-link 'mkdir -p "$T/outside"; cp "$1" "$(dirname "$1")/keep"; ln "$(dirname "$1")/keep" "$T/outside/keep" 2>/dev/null
d=$(dirname "$1"); cp "$1" "$d/alone"; exec 3<"$d/alone"
( n=0; while [ -e "$d/alone" ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done; cat <&3 >"$T/alone-tmp"; mv "$T/alone-tmp" "$T/alone-after" ) &
sed -i "s/changed1/changed2/" "$1"'
run env EDITOR="$T/ed-link" "$FLEET" sops edit "$T/s.yaml"
wait_for "$T/alone-after"
check "wipe: a file still open elsewhere reads as zeros after the edit" sh -c "[ -s '$T/alone-after' ] && ! tr -d '\\000' <'$T/alone-after' | grep -q ."
check "wipe: a hard-linked file is unlinked, never overwritten (the other name keeps it)" grep -q changed1 "$T/outside/keep"
check "wipe: nothing left" runtime_empty

# --- Ctrl-C while the editor runs: the editor's, not fleet's ------------------------------
# The editor ignores SIGINT as vim does, and finishes its edit after the signal.
editor ed-int 'trap "echo INT >>\"$T/int-seen\"" INT; cp "$1" "$1.bak"; : >"$T/started"
while [ ! -e "$T/go" ]; do sleep 0.1; done; sed -i "s/changed2/after-int/" "$1"'
rm -f "$T/started" "$T/go"
$LAUNCH env EDITOR="$T/ed-int" "$FLEET" sops edit "$T/s.yaml" >"$T/int.out" 2>&1 &
FPID=$!
wait_for "$T/started"
kill -INT -- "-$FPID" # the whole process group, as the terminal's Ctrl-C does
sleep 0.5
check "Ctrl-C: fleet lives on while the editor does" kill -0 "$FPID"
: >"$T/go"
wait "$FPID"
RC=$?
check "Ctrl-C: the editor got it" grep -q INT "$T/int-seen"
check "Ctrl-C: the edit is saved (exit $RC)" test "$RC:$(value '["db"]["password"]')" = "0:after-int"
check "Ctrl-C: nothing left in the runtime directory" runtime_empty

# An editor that dies of the Ctrl-C: fleet reports it, wipes, leaves the file alone.
editor ed-die 'cp "$1" "$1~"; : >"$T/started"; sleep 30 & wait'
rm -f "$T/started"
cp "$T/s.yaml" "$T/before.yaml"
$LAUNCH env EDITOR="$T/ed-die" "$FLEET" sops edit "$T/s.yaml" >"$T/die.out" 2>&1 &
FPID=$!
wait_for "$T/started"
kill -INT -- "-$FPID"
wait "$FPID"
RC=$?
check "editor killed by Ctrl-C: fleet fails (exit $RC)" test "$RC" = 1
check "editor killed by Ctrl-C: says the editor stopped" grep -q "editor.*status" "$T/die.out"
check "editor killed by Ctrl-C: the file is untouched" cmp -s "$T/s.yaml" "$T/before.yaml"
check "editor killed by Ctrl-C: nothing left" runtime_empty

# SIGTERM to fleet alone: held until the editor is done, then the edit is cancelled
# (as sops cancels) and fleet dies of it, after wiping.
editor ed-term ': >"$T/started"; while [ ! -e "$T/go" ]; do sleep 0.1; done
cp "$1" "$1~"; sed -i "s/after-int/after-term/" "$1"'
rm -f "$T/started" "$T/go"
$LAUNCH env EDITOR="$T/ed-term" "$FLEET" sops edit "$T/s.yaml" >"$T/term.out" 2>&1 &
FPID=$!
wait_for "$T/started"
kill -TERM "$FPID"
sleep 0.5
check "TERM: fleet waits for the editor" kill -0 "$FPID"
: >"$T/go"
wait "$FPID"
RC=$?
check "TERM: fleet dies of it once the editor is done (exit $RC)" test "$RC" = 143
check "TERM: the edit is cancelled, the file untouched" cmp -s "$T/s.yaml" "$T/before.yaml"
check "TERM: nothing left" runtime_empty

# --- SIGKILL: the next run sweeps the directory it left ------------------------------------
editor ed-block ': >"$T/started"; cp "$1" "$1~"; sleep 30'
rm -f "$T/started"
$LAUNCH env EDITOR="$T/ed-block" "$FLEET" sops edit "$T/s.yaml" >/dev/null 2>&1 &
FPID=$!
wait_for "$T/started"
kill -KILL "$FPID"
wait "$FPID" 2>/dev/null
pkill -KILL -s "$FPID" 2>/dev/null # the orphaned editor (its session is the one fleet led)
stale=$(ls -d "$XDG_RUNTIME_DIR"/fleet-sops-* 2>/dev/null)
check "SIGKILL leaves a directory with the plaintext behind" sh -c "[ -n '$stale' ] && grep -q password '$stale/s.yaml'"
# Planted beside it: another user's directory, and a symbolic link with the prefix.
mkdir -p "$XDG_RUNTIME_DIR/fleet-sops-nobody" "$T/target"
printf keep >"$XDG_RUNTIME_DIR/fleet-sops-nobody/file"
chown -R nobody "$XDG_RUNTIME_DIR/fleet-sops-nobody" 2>/dev/null
other_owned=$(stat -c %U "$XDG_RUNTIME_DIR/fleet-sops-nobody")
printf keep >"$T/target/file"
ln -s "$T/target" "$XDG_RUNTIME_DIR/fleet-sops-link00"
run env EDITOR=true "$FLEET" sops edit "$T/s.yaml"
check "no change: sops' exit status 200" test "$RC" = 200
check "the next edit sweeps the killed run's directory" test ! -e "$stale"
check "the sweep follows no symbolic link" sh -c "[ -L '$XDG_RUNTIME_DIR/fleet-sops-link00' ] && grep -q keep '$T/target/file'"
if [ "$other_owned" = nobody ]; then
	check "the sweep leaves another user's directory alone" grep -q keep "$XDG_RUNTIME_DIR/fleet-sops-nobody/file"
else
	not_ok "another user's directory for the sweep (needs root to chown to nobody)"
fi
rm -rf "$XDG_RUNTIME_DIR"/fleet-sops-*

# --- which editor: SOPS_EDITOR, then EDITOR, split with shell quoting ---------------------
mkdir -p "$T/my editors"
printf '#!/bin/sh\n[ "$1" = "--wait" ] && [ "$2" = "two words" ] || exit 9\nsed -i "s/^port:.*/port: $3/" "$4"\n' >"$T/my editors/ed"
chmod +x "$T/my editors/ed"
editor ed-wrong 'exit 7'
run env SOPS_EDITOR="'$T/my editors/ed' --wait \"two words\" 9091" EDITOR="$T/ed-wrong" "$FLEET" sops edit "$T/s.yaml"
check "SOPS_EDITOR wins over EDITOR and is split as sops splits it" test "$RC:$(value '["port"]')" = "0:9091"
run env EDITOR="\"$T/my editors/ed\" --wait 'two words' 9092" "$FLEET" sops edit "$T/s.yaml"
check "EDITOR with quotes and arguments" test "$RC:$(value '["port"]')" = "0:9092"
run env VISUAL="$T/ed-wrong" EDITOR="\"$T/my editors/ed\" --wait 'two words' 9093" "$FLEET" sops edit "$T/s.yaml"
check "VISUAL is not sops' and is ignored" test "$RC:$(value '["port"]')" = "0:9093"
run env EDITOR="vim 'unclosed" "$FLEET" sops edit "$T/s.yaml"
check "an EDITOR that does not split: exit 1 naming it" sh -c "[ $RC = 1 ] && grep -q 'EDITOR has an unclosed single quote' '$T/run.err'"
check "nothing left after the editor checks" runtime_empty

# --- an invalid edit ---------------------------------------------------------------------
cp "$T/s.yaml" "$T/before.yaml"
editor ed-broken 'sed -i "s/^port:.*/port: [broken/" "$1"'
run env EDITOR="$T/ed-broken" "$FLEET" sops edit "$T/s.yaml" </dev/null
check "invalid edit without a terminal: exit 1" test "$RC" = 1
check "invalid edit without a terminal: says nothing was saved" err_has "not valid yaml.*nothing was saved"
check "invalid edit without a terminal: the file is untouched" cmp -s "$T/s.yaml" "$T/before.yaml"
# On a terminal: the first pass breaks the file, the second sees the broken text (the
# work is kept) and repairs it.
editor ed-twice 'n=$(cat "$T/count" 2>/dev/null || echo 0); echo $((n + 1)) >"$T/count"
if [ "$n" = 0 ]; then sed -i "s/^port:.*/port: [broken/" "$1"; else grep -q "port: \[broken" "$1" && sed -i "s/^port:.*/port: 7070/" "$1"; fi'
rm -f "$T/count"
run "$PTY" "$T/tty.out" "press enter" '\n' -- env EDITOR="$T/ed-twice" "$FLEET" sops edit "$T/s.yaml"
check "invalid edit on a terminal: back to the editor, then saved (exit $RC)" test "$RC:$(value '["port"]')" = "0:7070"
check "invalid edit on a terminal: the editor ran twice" test "$(cat "$T/count")" = 2
check "invalid edit on a terminal: sops' prompt" grep -q "Press Enter to return to the editor, or Ctrl+C to exit" "$T/tty.out"
cp "$T/s.yaml" "$T/before.yaml"
run "$PTY" "$T/tty2.out" "press enter" '^C' -- env EDITOR="$T/ed-broken" "$FLEET" sops edit "$T/s.yaml"
check "Ctrl-C at the prompt: exit 1, file untouched" sh -c "[ $RC = 1 ] && cmp -s '$T/s.yaml' '$T/before.yaml'"
check "after the terminal runs: nothing left" runtime_empty

finish
