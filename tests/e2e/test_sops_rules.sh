#!/usr/bin/env bash
# Which values sops leaves in clear, as sops decides it: the default unencrypted_suffix,
# the one-rule check, and the regexes with Go's RE2 syntax (path_regex, encrypted_regex,
# unencrypted_regex and the comment regexes), each checked on a case where POSIX ERE
# and RE2 differ. Files are checked with tests/e2e/sops_check.py, an independent reader
# that verifies the MAC, where it applies.
. "$(dirname "$0")/lib.sh"

require_tools age python3
export HOME=$T/home
mkdir -p "$HOME"
unset SOPS_AGE_KEY SOPS_AGE_KEY_CMD SOPS_AGE_RECIPIENTS SOPS_AGE_SSH_PRIVATE_KEY_FILE \
	XDG_CONFIG_HOME
"$FLEET" age keygen -o "$T/key.txt" 2>/dev/null
R=$("$FLEET" age keygen -y "$T/key.txt")
"$FLEET" age keygen -o "$T/key2.txt" 2>/dev/null
R2=$("$FLEET" age keygen -y "$T/key2.txt")
export SOPS_AGE_KEY_FILE=$T/key.txt
CHECK="python3 $E2E_DIR/sops_check.py"

# is_clear FILE KEY: the JSON file holds KEY's value in clear (not ENC[...]).
is_clear() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=d
for k in sys.argv[2].split("."): v=v[k]
sys.exit(0 if not str(v).startswith("ENC[") else 1)' "$1" "$2"; }
md_rule() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sops"].get(sys.argv[2], ""))' "$1" "$2"; }

# --- the default unencrypted_suffix ----------------------------------------------------------
printf '{"password": "hunter2", "user_unencrypted": "alice", "db": {"host_unencrypted": "db1", "pw": "s3cret"}}\n' >"$T/plain.json"
run "$FLEET" sops encrypt --age "$R" "$T/plain.json"
check "default suffix: encrypt exits 0" test "$RC" = 0
cp "$T/run.out" "$T/enc.json"
check "default suffix: user_unencrypted stays in clear" is_clear "$T/enc.json" user_unencrypted
check "default suffix: db.host_unencrypted stays in clear" is_clear "$T/enc.json" db.host_unencrypted
if is_clear "$T/enc.json" password || is_clear "$T/enc.json" db.pw; then
	not_ok "default suffix: the other values are encrypted" "$(cat "$T/enc.json")"
else
	ok "default suffix: the other values are encrypted"
fi
check "default suffix: recorded as unencrypted_suffix: _unencrypted in the metadata" \
	test "$(md_rule "$T/enc.json" unencrypted_suffix)" = _unencrypted
run $CHECK "$T/enc.json" "$T/key.txt"
check "default suffix: the independent reader decrypts it and the MAC verifies" \
	test "$RC" = 0 -a "$(cat "$T/run.out")" = '{"password":"hunter2","user_unencrypted":"alice","db":{"host_unencrypted":"db1","pw":"s3cret"}}'
sed 's/"alice"/"mallory"/' "$T/enc.json" >"$T/tampered.json"
run $CHECK "$T/tampered.json" "$T/key.txt"
check "default suffix: a changed clear value fails the independent MAC check" \
	sh -c "test $RC != 0 && grep -q 'MAC mismatch' '$T/run.err'"
run "$FLEET" sops decrypt "$T/tampered.json"
check "default suffix: a changed clear value fails fleet's MAC check" err_has "MAC mismatch"
run "$FLEET" sops decrypt "$T/enc.json"
check "default suffix: fleet decrypts it (MAC verified)" test "$RC" = 0
same_json() { python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' "$1" "$2"; }
check "default suffix: fleet's plaintext is the original" same_json "$T/run.out" "$T/plain.json"

# Another rule replaces the default: nothing recorded for the suffix, _unencrypted encrypted.
run "$FLEET" sops encrypt --age "$R" --encrypted-regex '^(password|user_unencrypted)$' "$T/plain.json"
cp "$T/run.out" "$T/enc-regex.json"
check "encrypted_regex given: no unencrypted_suffix recorded" \
	test "$RC" = 0 -a -z "$(md_rule "$T/enc-regex.json" unencrypted_suffix)"
if is_clear "$T/enc-regex.json" user_unencrypted; then
	not_ok "encrypted_regex given: a matching _unencrypted key is encrypted"
else
	ok "encrypted_regex given: a matching _unencrypted key is encrypted"
fi

# A file whose metadata has no rule reads with the default too (sops' ToInternal): a
# key ending _unencrypted holding plaintext is not an error and is left alone.
python3 - "$T/enc.json" "$T/norule.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
del d["sops"]["unencrypted_suffix"]
json.dump(d, open(sys.argv[2], "w"), indent="\t")
PY
run "$FLEET" sops decrypt "$T/norule.json"
check "metadata without a rule: decrypts with the default suffix, MAC verified" \
	test "$RC" = 0 -a "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["user_unencrypted"])' "$T/run.out" 2>/dev/null)" = alice

# sops: more than one rule, from the command line and .sops.yaml together, is an error.
mkdir -p "$T/two"
printf 'creation_rules:\n  - age: %s\n    unencrypted_suffix: _clear\n' "$R" >"$T/two/.sops.yaml"
cp "$T/plain.json" "$T/two/s.json"
run "$FLEET" sops encrypt --encrypted-regex '^password$' "$T/two/s.json"
check "a CLI rule and a .sops.yaml rule: refused (exit 1)" test "$RC" = 1
check "a CLI rule and a .sops.yaml rule: the message says only one rule may be used" \
	err_has "more than one of encrypted_suffix"

finish
