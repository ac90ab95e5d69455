#!/usr/bin/env bash
# No secret reaches stderr through an error message: a secret key given as a recipient
# (any letter case) is named as one, not echoed; malformed plaintext given to sops (a
# value for `set`, a file to encrypt) is located by line and column, never quoted.
. "$(dirname "$0")/lib.sh"

export HOME=$T/home
mkdir -p "$HOME"
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD SOPS_AGE_RECIPIENTS XDG_CONFIG_HOME

"$FLEET" age keygen -o "$T/key.txt" 2>/dev/null
KEY=$(grep '^AGE-SECRET-KEY-1' "$T/key.txt")
BODY=${KEY#AGE-SECRET-KEY-1}
R=$("$FLEET" age keygen -y "$T/key.txt")
export SOPS_AGE_KEY_FILE=$T/key.txt
printf 'x\n' >"$T/in"

no_secret_in_stderr() { # NAME NEEDLE: the last run failed and stderr lacks NEEDLE (any case)
	if [ "$RC" != 0 ] && ! grep -qiF -- "$2" "$T/run.err"; then
		ok "$1"
	else
		not_ok "$1" "rc=$RC" "$(cat "$T/run.err")"
	fi
}

lower=$(printf '%s' "$KEY" | tr 'A-Z' 'a-z')
mixed=Age-Secret-Key-1${BODY}
for k in "$KEY" "$lower" "$mixed"; do
	run "$FLEET" age -r "$k" -o "$T/out" "$T/in"
	no_secret_in_stderr "age -r ${k:0:16}…: the key is not echoed" "$BODY"
	check "age -r ${k:0:16}…: named as a secret key" err_has "identity \(a secret key\)"
	run "$FLEET" sops encrypt --age "$k" "$T/in"
	no_secret_in_stderr "sops encrypt --age ${k:0:16}…: the key is not echoed" "$BODY"
done
printf '%s\n' "$BODY" >"$T/recipients"
run "$FLEET" age -R "$T/recipients" -o "$T/out" "$T/in"
no_secret_in_stderr "age -R: a line that is not a public key is not echoed" "$BODY"

printf 'password: hunter2\n' >"$T/plain.yaml"
"$FLEET" sops encrypt --age "$R" "$T/plain.yaml" >"$T/enc.yaml"
run "$FLEET" sops set "$T/enc.yaml" '["password"]' '{"new": hunter3}'
no_secret_in_stderr "sops set: a malformed JSON value is not quoted" hunter3
check "sops set: the error says where" err_has "line 1, column"
printf '{"password": "hunter2", oops hunter4}\n' >"$T/bad.json"
run "$FLEET" sops encrypt --age "$R" "$T/bad.json"
no_secret_in_stderr "sops encrypt: malformed JSON plaintext is not quoted" hunter4
printf 'password: !!int hunter5\n' >"$T/bad.yaml"
run "$FLEET" sops encrypt --age "$R" "$T/bad.yaml"
no_secret_in_stderr "sops encrypt: a YAML value of the wrong type is not quoted" hunter5

finish
