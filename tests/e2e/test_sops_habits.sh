#!/usr/bin/env bash
# The habits users bring from sops: SOPS_AGE_KEY_CMD split and run as sops runs it (and
# bounded in time), passphrase-protected SSH keys asked for on a terminal, .sops.yaml
# found only where it can be trusted, set --value-stdin/--value-file/--idempotent,
# updatekeys' confirmation, rotate --add-age/--rm-age, recipients written once,
# exec-env, exec-file and filestatus. Expectations come from sops' documented behaviour.
. "$(dirname "$0")/lib.sh"

export HOME=$T/home
mkdir -p "$HOME"
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD SOPS_AGE_RECIPIENTS \
	SOPS_AGE_SSH_PRIVATE_KEY_FILE XDG_CONFIG_HOME VISUAL SOPS_EDITOR EDITOR
export XDG_RUNTIME_DIR=$T/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
PTY=$E2E_DIR/pty_drive.py

"$FLEET" age keygen -o "$T/key.txt" 2>/dev/null
R=$("$FLEET" age keygen -y "$T/key.txt")
"$FLEET" age keygen -o "$T/key2.txt" 2>/dev/null
R2=$("$FLEET" age keygen -y "$T/key2.txt")
"$FLEET" age keygen -o "$T/key3.txt" 2>/dev/null
R3=$("$FLEET" age keygen -y "$T/key3.txt")
printf 'db:\n    password: hunter2\nport: 8080\n' >"$T/plain.yaml"
"$FLEET" sops encrypt --age "$R" "$T/plain.yaml" >"$T/s.yaml"
export SOPS_AGE_KEY_FILE=$T/key.txt
runtime_empty() { [ -z "$(ls -A "$XDG_RUNTIME_DIR")" ]; }

# --- SOPS_AGE_KEY_CMD ------------------------------------------------------------------------
mkdir -p "$T/key cmds"
cat >"$T/key cmds/keycmd" <<SH
#!/bin/sh
# prints the key only when called as sops calls it: its arguments, SOPS_AGE_RECIPIENT
printf '%s|' "\$@" >"$T/keycmd.args"
printf '%s' "\$SOPS_AGE_RECIPIENT" >"$T/keycmd.recipient"
[ "\$1" = "--id" ] && [ "\$2" = "two words" ] && [ "\$SOPS_AGE_RECIPIENT" = "$R" ] || exit 3
grep AGE-SECRET-KEY "$T/key.txt"
SH
chmod +x "$T/key cmds/keycmd"
run env -u SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD="'$T/key cmds/keycmd' --id \"two words\"" "$FLEET" sops decrypt --extract '["port"]' "$T/s.yaml"
check "SOPS_AGE_KEY_CMD: quoted words, SOPS_AGE_RECIPIENT set (as sops)" test "$RC:$(cat "$T/run.out")" = "0:8080"
run env -u SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD="'$T/key cmds/keycmd' --id \$(touch\ $T/pwned) ';' touch $T/pwned2" "$FLEET" sops decrypt "$T/s.yaml"
check "SOPS_AGE_KEY_CMD: no shell ever sees it" sh -c "[ ! -e '$T/pwned' ] && [ ! -e '$T/pwned2' ] && grep -qF '\$(touch $T/pwned)|;|touch|' '$T/keycmd.args'"
run env -u SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD="'$T/key cmds/keycmd" "$FLEET" sops decrypt "$T/s.yaml"
check "SOPS_AGE_KEY_CMD that does not split: exit 1 naming it" sh -c "[ $RC = 1 ] && grep -q 'SOPS_AGE_KEY_CMD has an unclosed single quote' '$T/run.err'"
# A command that asks on the terminal, as age -d and pass do: it must be in the
# terminal's foreground (fleet's process group), or reading the terminal stops it.
cat >"$T/key cmds/ask" <<SH
#!/bin/sh
printf 'Passphrase for the key: ' >/dev/tty
read -r pw </dev/tty
[ "\$pw" = open-sesame ] || exit 4
grep AGE-SECRET-KEY "$T/key.txt"
SH
chmod +x "$T/key cmds/ask"
run "$PTY" "$T/ask.tty" "passphrase for the key:" 'open-sesame\n' -- env -u SOPS_AGE_KEY_FILE FLEET_SOPS_KEY_CMD_TIMEOUT=20 \
	SOPS_AGE_KEY_CMD="'$T/key cmds/ask'" "$FLEET" sops decrypt -o "$T/ask.out" "$T/s.yaml"
check "SOPS_AGE_KEY_CMD may ask on the terminal (as with sops)" sh -c "[ $RC = 0 ] && grep -q 'port: 8080' '$T/ask.out'"
printf '#!/bin/sh\nsleep 300 &\nwait\n' >"$T/key cmds/hang"
chmod +x "$T/key cmds/hang"
run env -u SOPS_AGE_KEY_FILE FLEET_SOPS_KEY_CMD_TIMEOUT=1 SOPS_AGE_KEY_CMD="'$T/key cmds/hang'" "$FLEET" sops decrypt "$T/s.yaml"
check "SOPS_AGE_KEY_CMD that hangs is stopped: exit 1, 'timed out'" sh -c "[ $RC = 1 ] && grep -q 'SOPS_AGE_KEY_CMD.*timed out' '$T/run.err'"

# --- a passphrase-protected SSH key ---------------------------------------------------------
SSHPUB=$(cat "$SSH_DATA/id_ed25519.pub")
"$FLEET" sops encrypt --age "$SSHPUB" "$T/plain.yaml" >"$T/ssh.yaml" 2>/dev/null
run "$PTY" "$T/pp.tty" "passphrase for" 'fleet-test-passphrase\n' -- env -u SOPS_AGE_KEY_FILE \
	SOPS_AGE_SSH_PRIVATE_KEY_FILE="$SSH_DATA/id_ed25519_enc_rounds1_aes256-ctr" "$FLEET" sops decrypt -o "$T/pp.out" "$T/ssh.yaml"
check "passphrase-protected SSH key: asked for on the terminal, decrypts" sh -c "[ $RC = 0 ] && grep -q 'password: hunter2' '$T/pp.out'"
run env -u SOPS_AGE_KEY_FILE SOPS_AGE_SSH_PRIVATE_KEY_CMD="cat '$SSH_DATA/id_ed25519'" "$FLEET" sops decrypt --extract '["port"]' "$T/ssh.yaml"
check "SOPS_AGE_SSH_PRIVATE_KEY_CMD (sops 3.10): its SSH key is used" test "$RC:$(cat "$T/run.out")" = "0:8080"
run setsid env -u SOPS_AGE_KEY_FILE SOPS_AGE_SSH_PRIVATE_KEY_FILE="$SSH_DATA/id_ed25519_enc_rounds1_aes256-ctr" "$FLEET" sops decrypt "$T/ssh.yaml"
check "passphrase-protected SSH key without a terminal: exit 1 saying so" sh -c "[ $RC = 1 ] && grep -q 'no terminal' '$T/run.err'"

# --- .sops.yaml: only the user's (or root's), and not above the repository or $HOME ---------
rule() { printf 'creation_rules:\n  - path_regex: .*\n    age: %s\n' "$1"; }
mkdir -p "$T/shared/work"
chmod 1777 "$T/shared"
rule "$R3" >"$T/shared/.sops.yaml"
printf 'x: 1\n' >"$T/shared/work/x.yaml"
run "$FLEET" sops encrypt "$T/shared/work/x.yaml"
check ".sops.yaml of the user's own above the work dir is used (control)" grep -q "recipient: $R3" "$T/run.out"
if chown nobody "$T/shared/.sops.yaml" 2>/dev/null; then
	run "$FLEET" sops encrypt "$T/shared/work/x.yaml"
	check "another user's .sops.yaml in a sticky world-writable dir: not used" sh -c "[ $RC = 1 ] && ! grep -q '$R3' '$T/run.out'"
	check "another user's .sops.yaml: a warning names it" err_has "warning: ignored $T/shared/.sops.yaml: it belongs to another user"
	run "$FLEET" sops encrypt --age "$R" "$T/shared/work/x.yaml"
	check "another user's .sops.yaml: --age still works" test "$RC" = 0
else
	not_ok "another user's .sops.yaml (needs root to chown to nobody)"
fi
mkdir -p "$T/above/repo/.git" "$T/above/repo/secrets"
rule "$R3" >"$T/above/.sops.yaml"
printf 'x: 1\n' >"$T/above/repo/secrets/x.yaml"
run "$FLEET" sops encrypt "$T/above/repo/secrets/x.yaml"
check ".sops.yaml above the repository's root is not used" sh -c "[ $RC = 1 ] && grep -q 'no recipients' '$T/run.err'"
rule "$R2" >"$T/above/repo/.sops.yaml"
run "$FLEET" sops encrypt "$T/above/repo/secrets/x.yaml"
check ".sops.yaml at the repository's root is used" grep -q "recipient: $R2" "$T/run.out"
mkdir -p "$T/yml/.git"
rule "$R3" >"$T/yml/.sops.yml"
printf 'x: 1\n' >"$T/yml/x.yaml"
run "$FLEET" sops encrypt "$T/yml/x.yaml"
check ".sops.yml is not read (sops reads only .sops.yaml)" sh -c "[ $RC = 1 ] && grep -q 'no recipients' '$T/run.err'"
check ".sops.yml: a warning says it is ignored, as sops 3.10 warns" err_has "ignoring $T/yml/.sops.yml: the config file must be called .sops.yaml"
rule "$R2" >"$T/yml/.sops.yaml"
run "$FLEET" sops encrypt "$T/yml/x.yaml"
check ".sops.yaml beside a .sops.yml is used" grep -q "recipient: $R2" "$T/run.out"
rule "$R3" >"$T/.sops.yaml"
printf 'x: 1\n' >"$HOME/x.yaml"
run "$FLEET" sops encrypt "$HOME/x.yaml"
check ".sops.yaml above \$HOME is not used" sh -c "[ $RC = 1 ] && grep -q 'no recipients' '$T/run.err'"
rm -f "$T/.sops.yaml"

# --- an IV that is not 32 bytes keeps its exact ciphertext -----------------------------------
# Built with python3-cryptography and the age CLI, from sops' rules: AES-256-GCM, AD = the
# key path plus ':', the MAC = SHA-512 over the plaintexts, uppercase hex, encrypted
# with lastmodified as AD. "short" has a 12-byte IV, as some writers made them.
if command -v age >/dev/null && python3 -c 'import cryptography' 2>/dev/null; then
	head -c 32 /dev/urandom >"$T/datakey"
	age -e -a -r "$R" -o "$T/datakey.age" "$T/datakey"
	python3 - "$T/datakey" "$T/datakey.age" "$R" >"$T/iv12.yaml" <<'PY'
import base64, hashlib, os, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key = open(sys.argv[1], "rb").read()
armored = open(sys.argv[2]).read()
def enc(plain, ad, ivlen, typ):
    iv = os.urandom(ivlen)
    ct = AESGCM(key).encrypt(iv, plain, ad)
    b = lambda x: base64.b64encode(x).decode()
    return "ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:%s]" % (b(ct[:-16]), b(iv), b(ct[-16:]), typ)
last = "2024-01-01T00:00:00Z"
mac = hashlib.sha512(b"twelve" + b"other").hexdigest().upper().encode()
print("short: " + enc(b"twelve", b"short:", 12, "str"))
print("other: " + enc(b"other", b"other:", 32, "str"))
print("sops:\n    age:\n        - recipient: %s\n          enc: |" % sys.argv[3])
for line in armored.splitlines():
    print("            " + line)
print("    lastmodified: \"%s\"\n    mac: %s\n    version: 3.8.1" % (last, enc(mac, last.encode(), 32, "str")))
PY
	run "$FLEET" sops decrypt --extract '["short"]' "$T/iv12.yaml"
	check "a file with a 12-byte IV decrypts (MAC verified)" test "$RC:$(cat "$T/run.out")" = "0:twelve"
	grep '^short:' "$T/iv12.yaml" >"$T/short.before"
	run "$FLEET" sops set "$T/iv12.yaml" '["other"]' '"changed"'
	check "set of another key: exit 0" test "$RC" = 0
	check "set of another key: the 12-byte-IV value's ciphertext is byte-identical" sh -c "grep '^short:' '$T/iv12.yaml' | cmp -s - '$T/short.before'"
	run "$FLEET" sops decrypt --extract '["short"]' "$T/iv12.yaml"
	check "the 12-byte-IV value still decrypts after the set" test "$RC:$(cat "$T/run.out")" = "0:twelve"
else
	not_ok "age and python3-cryptography present (run tests/install-deps.sh)"
fi

# --- set --value-stdin / --value-file / --idempotent, unset --idempotent --------------------
cp "$T/s.yaml" "$T/set.yaml"
printf '"from stdin"' | "$FLEET" sops set --value-stdin "$T/set.yaml" '["db"]["password"]' >"$T/run.out" 2>"$T/run.err"
RC=$?
check "set --value-stdin: exit 0, the value decrypts" test "$RC:$("$FLEET" sops decrypt --extract '["db"]["password"]' "$T/set.yaml")" = "0:from stdin"
printf '{"user": "admin", "n": 3}\n' >"$T/value.json"
run "$FLEET" sops set --value-file "$T/set.yaml" '["db"]["nested"]' "$T/value.json"
check "set --value-file: a JSON object from the file" test "$RC:$("$FLEET" sops decrypt --extract '["db"]["nested"]["n"]' "$T/set.yaml")" = "0:3"
printf 'hunter3' | "$FLEET" sops set --value-stdin "$T/set.yaml" '["db"]["password"]' >"$T/run.out" 2>"$T/run.err"
RC=$?
check "set --value-stdin of a non-JSON value: exit 2" test "$RC" = 2
check "set --value-stdin of a non-JSON value: the secret is not echoed" sh -c "grep -q 'not JSON' '$T/run.err' && ! grep -q hunter '$T/run.err'"
run "$FLEET" sops set --value-stdin --value-file "$T/set.yaml" '["a"]' x
check "--value-stdin with --value-file: exit 2" test "$RC" = 2
run "$FLEET" sops set --value-stdin "$T/set.yaml" '["a"]' '"x"'
check "--value-stdin with a VALUE argument too: exit 2" test "$RC" = 2
cp "$T/set.yaml" "$T/set.before"
run "$FLEET" sops set --idempotent "$T/set.yaml" '["port"]' 8080
check "set --idempotent of the same value: exit 0, file byte-identical (not even lastmodified)" sh -c "[ $RC = 0 ] && cmp -s '$T/set.yaml' '$T/set.before'"
run "$FLEET" sops set --idempotent "$T/set.yaml" '["port"]' '"8080"'
check "set --idempotent of a string where a number was: written" sh -c "[ $RC = 0 ] && ! cmp -s '$T/set.yaml' '$T/set.before' && [ \"\$('$FLEET' sops decrypt --extract '[\"port\"]' '$T/set.yaml')\" = 8080 ]"
cp "$T/set.yaml" "$T/set.before"
run "$FLEET" sops set "$T/set.yaml" '["port"]' '"8080"'
check "set without --idempotent of the same value writes (as sops: new lastmodified)" sh -c "[ $RC = 0 ] && ! cmp -s '$T/set.yaml' '$T/set.before'"
cp "$T/set.yaml" "$T/set.before"
run "$FLEET" sops unset --idempotent "$T/set.yaml" '["nosuch"]'
check "unset --idempotent of a missing path: exit 0, nothing written" sh -c "[ $RC = 0 ] && cmp -s '$T/set.yaml' '$T/set.before'"
run "$FLEET" sops unset "$T/set.yaml" '["nosuch"]'
check "unset of a missing path without --idempotent: exit 1" test "$RC" = 1

# --- updatekeys asks first; -y does not ----------------------------------------------------
mkdir -p "$T/uk/.git"
rule "$R" >"$T/uk/.sops.yaml"
cp "$T/plain.yaml" "$T/uk/s.yaml"
"$FLEET" sops encrypt -i "$T/uk/s.yaml" 2>/dev/null
rule "$R, $R2" >"$T/uk/.sops.yaml"
cp "$T/uk/s.yaml" "$T/uk.before"
run "$FLEET" sops updatekeys "$T/uk/s.yaml" </dev/null
check "updatekeys without an answer: exit 1, says to pass -y" sh -c "[ $RC = 1 ] && grep -q -- '-y' '$T/run.err'"
check "updatekeys without an answer: shows sops' diff" sh -c "grep -q '^    $R\$' '$T/run.out' && grep -q '^+++ $R2\$' '$T/run.out'"
check "updatekeys without an answer: file untouched" cmp -s "$T/uk/s.yaml" "$T/uk.before"
run "$PTY" "$T/uk.tty" "is this okay? (y/n):" 'n\n' -- "$FLEET" sops updatekeys "$T/uk/s.yaml"
check "updatekeys answered n on a terminal: exit 0, untouched" sh -c "[ $RC = 0 ] && cmp -s '$T/uk/s.yaml' '$T/uk.before'"
run "$PTY" "$T/uk.tty" "is this okay? (y/n):" 'maybe\n' "is this okay? (y/n):" 'y\n' -- "$FLEET" sops updatekeys "$T/uk/s.yaml"
check "updatekeys asks again until y or n, then updates on y" sh -c "[ $RC = 0 ] && grep -q 'recipient: $R2' '$T/uk/s.yaml'"
run env SOPS_AGE_KEY_FILE="$T/key2.txt" "$FLEET" sops decrypt --extract '["port"]' "$T/uk/s.yaml"
check "updatekeys: the added recipient decrypts" test "$(cat "$T/run.out")" = 8080
rule "$R2" >"$T/uk/.sops.yaml"
run "$FLEET" sops updatekeys -y "$T/uk/s.yaml" </dev/null
check "updatekeys -y: no question, the removed recipient is gone" sh -c "[ $RC = 0 ] && ! grep -q 'recipient: $R\$' '$T/uk/s.yaml' && ! grep -qi 'okay' '$T/run.out'"
cp "$T/uk/s.yaml" "$T/uk.before"
run "$FLEET" sops updatekeys "$T/uk/s.yaml" </dev/null
check "updatekeys of a file already up to date: exit 0, no question, untouched" sh -c "[ $RC = 0 ] && cmp -s '$T/uk/s.yaml' '$T/uk.before' && grep -q 'already up to date' '$T/run.err'"

# --- rotate --add-age / --rm-age ------------------------------------------------------------
cp "$T/s.yaml" "$T/rot.yaml"
run "$FLEET" sops rotate -i --add-age "$R2,$R3" "$T/rot.yaml"
check "rotate --add-age: exit 0" test "$RC" = 0
check "rotate --add-age: a new data key (the value's ciphertext changed)" sh -c "! grep -qF \"\$(grep 'password:' '$T/s.yaml')\" '$T/rot.yaml'"
for k in key key2 key3; do
	run env SOPS_AGE_KEY_FILE="$T/$k.txt" "$FLEET" sops decrypt --extract '["port"]' "$T/rot.yaml"
	check "rotate --add-age: $k decrypts" test "$(cat "$T/run.out")" = 8080
done
run "$FLEET" sops rotate -i --rm-age "$R3" --add-age "$R2" "$T/rot.yaml"
run env SOPS_AGE_KEY_FILE="$T/key3.txt" "$FLEET" sops decrypt "$T/rot.yaml"
check "rotate --rm-age: the removed recipient no longer decrypts" test "$RC" = 1
check "rotate --add-age of a recipient already there: written once" test "$(grep -c "recipient: $R2" "$T/rot.yaml")" = 1
run "$FLEET" sops rotate --add-age "$R2" "$T/nonexistent.yaml"
check "rotate --add-age on a missing file: exit 1, says to use edit" sh -c "[ $RC = 1 ] && grep -q 'edit' '$T/run.err'"

# --- duplicate recipients are written once ---------------------------------------------------
run "$FLEET" sops encrypt --age "$R,$R2,$R" "$T/plain.yaml"
check "--age R,R2,R: two entries" test "$(grep -c 'recipient:' "$T/run.out")" = 2
mkdir -p "$T/dup/.git"
printf 'creation_rules:\n  - age: >-\n      %s,%s,\n      %s\n' "$R" "$R" "$R2" >"$T/dup/.sops.yaml"
cp "$T/plain.yaml" "$T/dup/x.yaml"
run "$FLEET" sops encrypt "$T/dup/x.yaml"
check ".sops.yaml naming a recipient twice: written once" sh -c "[ $RC = 0 ] && [ \$(grep -c 'recipient: $R\$' '$T/run.out') = 1 ] && [ \$(grep -c 'recipient:' '$T/run.out') = 2 ]"

# --- exec-env ----------------------------------------------------------------------------------
printf 'FOO=bar\nSPACED=a b c\n# a comment\nEMPTY=\n' >"$T/e.env"
"$FLEET" sops encrypt --age "$R" "$T/e.env" >"$T/s.env"
run env FOO=outer "$FLEET" sops exec-env "$T/s.env" 'printf "%s|%s|%s|%s" "$FOO" "$SPACED" "${EMPTY-unset}" "$HOME"'
check "exec-env: values in the environment, a decrypted value wins, the rest inherited" test "$RC:$(cat "$T/run.out")" = "0:bar|a b c||$HOME"
run "$FLEET" sops exec-env --pristine "$T/s.env" 'printf "%s|%s" "$FOO" "${HOME-unset}"'
check "exec-env --pristine: only the decrypted values" test "$(cat "$T/run.out")" = "bar|unset"
run "$FLEET" sops exec-env "$T/s.env" 'exit 7'
check "exec-env: the command's exit status" test "$RC" = 7
run "$FLEET" sops exec-env "$T/s.env" 'echo $PPID'
check "exec-env: the command runs in a child of fleet" test "$(cat "$T/run.out")" != "$$"
run "$FLEET" sops exec-env --same-process "$T/s.env" 'echo "$PPID:$FOO"'
check "exec-env --same-process: fleet becomes the command" test "$(cat "$T/run.out")" = "$$:bar"
printf 'port: 8080\nratio: 0.5\nbig: 1000000.0\nwhole: 3.0\ntiny: 0.00001\nflag: true\nnothing: null\n' >"$T/types.yaml"
"$FLEET" sops encrypt --age "$R" "$T/types.yaml" >"$T/types.enc.yaml"
run "$FLEET" sops exec-env "$T/types.enc.yaml" 'printf "%s " "$port" "$ratio" "$big" "$whole" "$tiny" "$flag" "$nothing"'
# sops' stores.ValToString: FormatFloat(v, 'G', -1, 64), ".0" added to whole numbers; %v of nil.
check "exec-env: numbers, booleans and null as sops writes them" test "$(cat "$T/run.out")" = "8080 0.5 1E+06 3.0 1E-05 true <nil> "
printf 'db:\n    user: x\n' >"$T/nested.yaml"
"$FLEET" sops encrypt --age "$R" "$T/nested.yaml" >"$T/nested.enc.yaml"
run "$FLEET" sops exec-env "$T/nested.enc.yaml" 'true'
check "exec-env of a map value: refused as sops refuses it" sh -c "[ $RC = 1 ] && grep -q 'cannot use complex value in environment; offending key db' '$T/run.err'"
run "$FLEET" sops exec-env --user nobody "$T/s.env" 'true'
check "exec-env --user: refused, saying what to do" sh -c "[ $RC = 2 ] && grep -q 'sudo -u nobody' '$T/run.err'"

# --- exec-file ---------------------------------------------------------------------------------
run "$FLEET" sops exec-file "$T/s.yaml" 'test -p {} && cat {} && dirname {} >"'"$T"'/where" && stat -c %a "$(dirname {})" >"'"$T"'/mode"'
check "exec-file: a named pipe holding the plaintext" sh -c "[ $RC = 0 ] && grep -q 'password: hunter2' '$T/run.out'"
check "exec-file: in a private directory under XDG_RUNTIME_DIR" sh -c "grep -q '^$XDG_RUNTIME_DIR/fleet-sops-' '$T/where' && [ \"\$(cat '$T/mode')\" = 700 ]"
check "exec-file: nothing left afterwards" runtime_empty
run "$FLEET" sops exec-file --no-fifo "$T/s.yaml" 'test -f {} && stat -c %a {} && cat {} {}'
check "exec-file --no-fifo: named tmp-file and a random suffix, as sops" sh -c "FLEET='$FLEET' && \"\$FLEET\" sops exec-file --no-fifo '$T/s.yaml' 'basename {}' | grep -qE '^tmp-file[0-9]+\$'"
check "exec-file --no-fifo: a 0600 regular file, readable twice" sh -c "[ $RC = 0 ] && head -1 '$T/run.out' | grep -qx 600 && [ \$(grep -c hunter2 '$T/run.out') = 2 ]"
check "exec-file --no-fifo: nothing left afterwards" runtime_empty
run "$FLEET" sops exec-file --no-fifo --filename creds.json --output-type json "$T/s.yaml" 'basename {}; cat {}'
check "exec-file --filename --output-type json" sh -c "[ $RC = 0 ] && head -1 '$T/run.out' | grep -qx creds.json && grep -q '\"password\": \"hunter2\"' '$T/run.out'"
run "$FLEET" sops exec-file "$T/s.yaml" 'exit 3'
check "exec-file: a command that never reads the pipe ends, with its status" test "$RC" = 3
check "exec-file: nothing left after an unread pipe" runtime_empty
run "$FLEET" sops exec-file --filename '../x' "$T/s.yaml" 'cat {}'
check "exec-file --filename ../x: refused (exit 2)" test "$RC" = 2
run "$FLEET" sops exec-file --filename 'a b' "$T/s.yaml" 'cat {}'
check "exec-file --filename with a space: refused (exit 2)" test "$RC" = 2

# --- filestatus --------------------------------------------------------------------------------
run "$FLEET" sops filestatus "$T/s.yaml"
check "filestatus of an encrypted file: sops' JSON" test "$RC:$(cat "$T/run.out")" = '0:{"encrypted":true}'
run "$FLEET" sops filestatus "$T/plain.yaml"
check "filestatus of a plain file" test "$RC:$(cat "$T/run.out")" = '0:{"encrypted":false}'
sed '/^    mac:/d' "$T/s.yaml" >"$T/nomac.yaml"
run "$FLEET" sops filestatus "$T/nomac.yaml"
check "filestatus of metadata without a MAC: not encrypted (as sops)" test "$(cat "$T/run.out")" = '{"encrypted":false}'
printf '{"a": ' >"$T/bad.json"
run "$FLEET" sops filestatus "$T/bad.json"
check "filestatus of a malformed file: exit 1" sh -c "[ $RC = 1 ] && grep -q 'cannot check file status' '$T/run.err'"

finish
