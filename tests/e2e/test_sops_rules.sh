#!/usr/bin/env bash
# Which values sops leaves in clear, as sops decides it: the default unencrypted_suffix,
# the one-rule check, and the regexes with Go's RE2 syntax (path_regex, encrypted_regex,
# unencrypted_regex and the comment regexes), each checked on a case where POSIX ERE
# and RE2 differ. Files are checked with tests/oracle/sops_verify.py, an independent reader
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
# CHECK FILE.json IDENTITY: the independent reader (tests/oracle/sops_verify.py) decrypts
# FILE, verifying its MAC, and prints the tree as compact JSON.
ORACLE=$E2E_DIR/../oracle/sops_verify.py
CHECK=oracle_tree
oracle_tree() {
	python3 "$ORACLE" decrypt --type json -i "$2" "$1" >"$T/oracle.json" &&
		python3 -c 'import json,sys; t = json.load(open(sys.argv[1]))["tree"]
print(json.dumps(t[0] if isinstance(t, list) and len(t) == 1 else t, sort_keys=True, separators=(",", ":")))' "$T/oracle.json"
}

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
	test "$RC" = 0 -a "$(cat "$T/run.out")" = '{"db":{"host_unencrypted":"db1","pw":"s3cret"},"password":"hunter2","user_unencrypted":"alice"}'
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
d["sops"].pop("unencrypted_suffix", None)
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

# --- regexes: Go's RE2, each kind on a case where POSIX ERE answers differently -------------
# path_regex: \d is a digit in RE2 (ERE reads a literal "d"), so host12.yaml takes the
# first rule's recipient and hostx.yaml falls through to the second.
mkdir -p "$T/repo/hosts"
printf 'creation_rules:\n  - path_regex: host\\d+\\.yaml$\n    age: %s\n  - path_regex: .*\n    age: %s\n' "$R" "$R2" >"$T/repo/.sops.yaml"
printf 'a: 1\n' >"$T/repo/hosts/host12.yaml"
printf 'a: 1\n' >"$T/repo/hosts/hostx.yaml"
run "$FLEET" sops encrypt "$T/repo/hosts/host12.yaml"
check "path_regex host\\d+\\.yaml\$: host12.yaml gets the first rule's recipient" \
	sh -c "grep -q 'recipient: $R' '$T/run.out' && ! grep -q 'recipient: $R2' '$T/run.out'"
run "$FLEET" sops encrypt "$T/repo/hosts/hostx.yaml"
check "path_regex host\\d+\\.yaml\$: hostx.yaml falls through to the second rule" \
	sh -c "grep -q 'recipient: $R2' '$T/run.out' && ! grep -q 'recipient: $R\$' '$T/run.out'"
# A backreference is not RE2: an error naming the expression, never a non-match.
printf 'creation_rules:\n  - path_regex: (host)\\1\n    age: %s\n  - path_regex: .*\n    age: %s\n' "$R" "$R2" >"$T/repo/.sops.yaml"
run "$FLEET" sops encrypt "$T/repo/hosts/host12.yaml"
check "path_regex with a backreference: refused (exit 1)" test "$RC" = 1
check "path_regex with a backreference: the error names the expression" err_has 'path_regex "\(host\)\\1"'
check "path_regex with a backreference: nothing written to stdout" test ! -s "$T/run.out"
# A lookahead likewise (Go's regexp has no lookaround).
printf 'creation_rules:\n  - path_regex: host(?=1)\n    age: %s\n' "$R" >"$T/repo/.sops.yaml"
run "$FLEET" sops encrypt "$T/repo/hosts/host12.yaml"
check "path_regex with a lookahead: refused, naming it" sh -c "test $RC = 1 && grep -q 'host(?=1)' '$T/run.err'"

# encrypted_regex (?i): a Go flag group, a syntax error in ERE.
printf '{"PassWord": "hunter2", "user": "alice"}\n' >"$T/flags.json"
run "$FLEET" sops encrypt --age "$R" --encrypted-regex '(?i)^password$' "$T/flags.json"
cp "$T/run.out" "$T/flags.enc.json"
check "encrypted_regex (?i)^password\$: PassWord is encrypted, user is not" \
	sh -c "test $RC = 0 && grep -q '\"PassWord\": \"ENC\[' '$T/flags.enc.json' && grep -q '\"user\": \"alice\"' '$T/flags.enc.json'"
run "$FLEET" sops decrypt "$T/flags.enc.json"
check "encrypted_regex (?i): decrypts to the original (MAC verified)" same_json "$T/run.out" "$T/flags.json"

# unencrypted_regex \z: the end of the key in RE2; a literal "z" in ERE.
printf '{"public": "p1", "public2": "secret", "publicz": "secret2"}\n' >"$T/z.json"
run "$FLEET" sops encrypt --age "$R" --unencrypted-regex '^public\z' "$T/z.json"
cp "$T/run.out" "$T/z.enc.json"
check "unencrypted_regex ^public\\z: public stays in clear" grep -q '"public": "p1"' "$T/z.enc.json"
check "unencrypted_regex ^public\\z: public2 and publicz are encrypted" \
	sh -c "grep -q '\"public2\": \"ENC\[' '$T/z.enc.json' && grep -q '\"publicz\": \"ENC\[' '$T/z.enc.json'"
run "$FLEET" sops decrypt "$T/z.enc.json"
check "unencrypted_regex \\z: decrypts to the original (MAC verified)" same_json "$T/run.out" "$T/z.json"

# The comment regexes, from .sops.yaml: \pL (a Unicode letter class) and (?i).
mkdir -p "$T/c"
cat >"$T/c/plain.yaml" <<'Y'
# ÉNC next
token: t0ken
other: visible
Y
printf 'creation_rules:\n  - age: %s\n    encrypted_comment_regex: ^ \\pL+ next$\n' "$R" >"$T/c/.sops.yaml"
run "$FLEET" sops encrypt "$T/c/plain.yaml"
cp "$T/run.out" "$T/c/enc.yaml"
check "encrypted_comment_regex \\pL: the value under the comment is encrypted" \
	sh -c "test $RC = 0 && grep -q '^token: ENC\[' '$T/c/enc.yaml' && grep -q '^other: visible' '$T/c/enc.yaml'"
run "$FLEET" sops decrypt "$T/c/enc.yaml"
check "encrypted_comment_regex: decrypts to the original (MAC verified)" cmp -s "$T/run.out" "$T/c/plain.yaml"
cat >"$T/c/plain2.yaml" <<'Y'
# a note, encrypted (it does not match)
# PUBLIC
host: db1
password: hunter2
Y
printf 'creation_rules:\n  - age: %s\n    unencrypted_comment_regex: (?i)^ public$\n' "$R" >"$T/c/.sops.yaml"
run "$FLEET" sops encrypt "$T/c/plain2.yaml"
cp "$T/run.out" "$T/c/enc2.yaml"
check "unencrypted_comment_regex (?i): the value under the comment stays in clear" \
	sh -c "test $RC = 0 && grep -q '^host: db1' '$T/c/enc2.yaml' && grep -q '^password: ENC\[' '$T/c/enc2.yaml'"
run "$FLEET" sops decrypt "$T/c/enc2.yaml"
check "unencrypted_comment_regex: decrypts to the original (MAC verified)" cmp -s "$T/run.out" "$T/c/plain2.yaml"

# A regex in a file's metadata that Go could not compile stops decryption with an error
# naming it; it is never taken as "nothing matches".
python3 - "$T/z.enc.json" "$T/bad-md.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["sops"]["unencrypted_regex"] = "(p)\\1"
json.dump(d, open(sys.argv[2], "w"), indent="\t")
PY
run "$FLEET" sops decrypt "$T/bad-md.json"
check "metadata unencrypted_regex with a backreference: refused, naming it" \
	sh -c "test $RC = 1 && grep -q 'unencrypted_regex \"(p)' '$T/run.err'"

finish
