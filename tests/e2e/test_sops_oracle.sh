#!/usr/bin/env bash
# Every file fleet's sops verbs write, read back by an independent sops reader
# (tests/oracle/sops_verify.py: Python, the reference age CLI, its own Shamir and MAC
# code): every format with int, float, bool and empty values against the plaintext;
# every metadata rule docs/sops.md claims; rotate's new data key; Shamir key groups;
# and key types fleet cannot write, refused or kept byte for byte.
. "$(dirname "$0")/lib.sh"

SHARED=${FLEET_SHARED:-$E2E_DIR/../../../shared}
ORACLE=$E2E_DIR/../oracle/sops_verify.py
export HOME=$T/home
mkdir -p "$HOME"
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD SOPS_AGE_RECIPIENTS \
	SOPS_AGE_SSH_PRIVATE_KEY_FILE XDG_CONFIG_HOME VISUAL EDITOR
require_tools python3 age age-keygen
if ! python3 -c 'import cryptography, yaml' 2>/dev/null; then
	not_ok "python3-cryptography and python3-yaml are installed (run tests/install-deps.sh)"
	finish
fi

# Keys from the reference tool, not from fleet.
for k in 1 2 3; do age-keygen -o "$T/k$k.txt" 2>/dev/null; done
R1=$(age-keygen -y "$T/k1.txt") R2=$(age-keygen -y "$T/k2.txt") R3=$(age-keygen -y "$T/k3.txt")
export SOPS_AGE_KEY_FILE=$T/k1.txt

oracle() { python3 "$ORACLE" "$@"; }
# verified TYPE FILE IDENTITY...: the oracle decrypts FILE and checks its MAC; the report
# is left in $T/v.json.
verified() {
	local type=$1 file=$2
	shift 2
	local ids=()
	for i in "$@"; do ids+=(-i "$i"); done
	oracle decrypt --type "$type" "${ids[@]}" "$file" >"$T/v.json" 2>"$T/v.err" || {
		cat "$T/v.err"
		return 1
	}
}
field() { # FIELD [FILE]: a field of the last oracle report, as compact sorted JSON
	python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[2]))[sys.argv[1]], sort_keys=True))' "$1" "${2:-$T/v.json}"
}
# same_tree TYPE ENCRYPTED PLAINTEXT: the oracle's decryption equals its reading of the
# original plaintext (types included: 8080 is not "8080", true is not "True").
same_tree() {
	verified "$1" "$2" "$T/k1.txt" || return 1
	field tree >"$T/got.json"
	oracle plain --type "$1" "$3" >"$T/want.full" || return 1
	field tree "$T/want.full" >"$T/want.json"
	cmp -s "$T/got.json" "$T/want.json" || {
		diff "$T/want.json" "$T/got.json"
		return 1
	}
}
data_key() { verified "$1" "$2" "$T/k1.txt" "$T/k2.txt" "$T/k3.txt" && field data_key; }

# --- the oracle itself reads real sops output -------------------------------------------
check "oracle: sops-nix secrets.yaml (written by sops) verifies" \
	verified yaml "$SHARED/vectors/sops-nix/secrets.yaml" "$SHARED/vectors/sops-nix/age-keys.txt"
check "oracle: clan secrets.yaml (written by sops) verifies" \
	verified yaml "$SHARED/vectors/sops-clan/secrets.yaml" "$SHARED/vectors/sops-clan/secrets.yaml.age-key.txt"
sed 's/^\(    lastmodified: "\)20/\119/' "$SHARED/vectors/sops-nix/secrets.yaml" >"$T/tampered.yaml"
if verified yaml "$T/tampered.yaml" "$SHARED/vectors/sops-nix/age-keys.txt" >/dev/null; then
	not_ok "oracle: a changed lastmodified is rejected"
else
	ok "oracle: a changed lastmodified is rejected"
fi

# --- every format, with int, float, bool and empty values ------------------------------
cat >"$T/p.yaml" <<'Y'
name: web1
port: 8080
negative: -3
ratio: 0.5
whole: 2.0
small: 0.000001
big: 1e+16
enabled: true
disabled: false
empty: ""
nothing: null
list:
    - 1
    - two
    - true
    - 1.5
db:
    user: admin
    password: "hunter2: with colon"
motd: |
    line one
    line two
Y
cat >"$T/p.json" <<'J'
{
	"name": "web1",
	"port": 8080,
	"ratio": 0.25,
	"whole": 3.0,
	"enabled": true,
	"disabled": false,
	"empty": "",
	"nothing": null,
	"list": [1, "two", false, 2.5],
	"db": {"user": "admin", "hosts": ["a", "b"]}
}
J
printf '# comment\nDB_USER=admin\nDB_PASSWORD=s3cr=t\nEMPTY=\nPORT=5432\nMULTI=a\\nb\n' >"$T/p.env"
printf '[database]\nuser = admin\npassword = hunter2\nempty =\n\n[web]\nport = 8080\nenabled = true\n' >"$T/p.ini"
head -c 3000 /dev/urandom >"$T/p.bin"
for pair in yaml:yaml json:json env:dotenv ini:ini bin:binary; do
	ext=${pair%%:*} type=${pair##*:}
	run "$FLEET" sops encrypt --age "$R1" -o "$T/e.$ext" "$T/p.$ext"
	check "encrypt .$ext: exit 0" test "$RC" = 0
	check "oracle: fleet's .$ext decrypts, MAC verified, same values and types" same_tree "$type" "$T/e.$ext" "$T/p.$ext"
done
verified yaml "$T/e.yaml" "$T/k1.txt"
check "oracle: the empty string and null stay unencrypted" test "$(field empty)" = '["empty:"]'

# set, unset, edit, updatekeys: every file written verifies
cp "$T/e.yaml" "$T/s.yaml"
run "$FLEET" sops set "$T/s.yaml" '["enabled"]' 'false'
sed 's/^enabled: true/enabled: false/' "$T/p.yaml" >"$T/p-set.yaml"
check "oracle: after set, the file verifies with the new bool" same_tree yaml "$T/s.yaml" "$T/p-set.yaml"
run "$FLEET" sops set "$T/s.yaml" '["ratio"]' '0.75'
sed -i 's/^ratio: 0.5/ratio: 0.75/' "$T/p-set.yaml"
check "oracle: after set, the file verifies with the new float" same_tree yaml "$T/s.yaml" "$T/p-set.yaml"
run "$FLEET" sops unset "$T/s.yaml" '["db"]'
sed -i '/^db:/,/^    password/d' "$T/p-set.yaml"
check "oracle: after unset, the file verifies" same_tree yaml "$T/s.yaml" "$T/p-set.yaml"
# shellcheck disable=SC2016 # the editor script expands $1 itself
printf '#!/bin/sh\nsed -i "s/^port: 8080$/port: 9090/" "$1"\n' >"$T/ed-port"
chmod +x "$T/ed-port"
run env EDITOR="$T/ed-port" "$FLEET" sops edit "$T/s.yaml"
sed -i 's/^port: 8080/port: 9090/' "$T/p-set.yaml"
check "oracle: after edit, the file verifies" same_tree yaml "$T/s.yaml" "$T/p-set.yaml"
run "$FLEET" sops updatekeys -y --age "$R1,$R2" "$T/s.yaml"
check "updatekeys: exit 0" test "$RC" = 0
check "oracle: after updatekeys, the new recipient's key opens it" verified yaml "$T/s.yaml" "$T/k2.txt"

# --- rotate replaces the data key -------------------------------------------------------
for pair in yaml:yaml json:json env:dotenv ini:ini bin:binary; do
	ext=${pair%%:*} type=${pair##*:}
	before=$(data_key "$type" "$T/e.$ext")
	cp "$T/e.$ext" "$T/r.$ext"
	run "$FLEET" sops rotate -i "$T/r.$ext"
	after=$(data_key "$type" "$T/r.$ext")
	check "rotate .$ext: exit 0" test "$RC" = 0
	check "oracle: rotate .$ext replaced the data key" sh -c "[ -n '$before' ] && [ -n '$after' ] && [ '$before' != '$after' ]"
	check "oracle: rotate .$ext kept the values" same_tree "$type" "$T/r.$ext" "$T/p.$ext"
done

# --- the metadata rules docs/sops.md claims --------------------------------------------
cat >"$T/rules.yaml" <<'Y'
public_name: shown
secret_token: hidden
count: 3
data:
    key: v1
meta:
    public_tag: t
    other: o
flag_secret: true
Y
# rule flag, expected clear paths, expected encrypted paths
while IFS='@' read -r flag want_clear want_enc; do
	# shellcheck disable=SC2086 # the flag and its argument
	run "$FLEET" sops encrypt --age "$R1" $flag -o "$T/rule.yaml" "$T/rules.yaml"
	if verified yaml "$T/rule.yaml" "$T/k1.txt"; then
		check "$flag: in clear exactly $want_clear" test "$(field clear)" = "$want_clear"
		check "$flag: encrypted exactly $want_enc" test "$(field encrypted)" = "$want_enc"
		name=${flag%% *} && name=${name#--} && name=${name//-/_}
		check "$flag: recorded in the metadata as $name" grep -q "^    $name: " "$T/rule.yaml"
	else
		not_ok "$flag: the oracle verifies the file"
	fi
done <<'R'
--unencrypted-regex ^public@["meta:public_tag:", "public_name:"]@["count:", "data:key:", "flag_secret:", "meta:other:", "secret_token:"]
--encrypted-regex ^(data|secret_token)$@["count:", "flag_secret:", "meta:other:", "meta:public_tag:", "public_name:"]@["data:key:", "secret_token:"]
--encrypted-suffix _secret@["count:", "data:key:", "meta:other:", "meta:public_tag:", "public_name:", "secret_token:"]@["flag_secret:"]
--unencrypted-suffix _tag@["meta:public_tag:"]@["count:", "data:key:", "flag_secret:", "meta:other:", "public_name:", "secret_token:"]
R

# mac_only_encrypted: the MAC covers only encrypted values, so a clear one may change.
run "$FLEET" sops encrypt --age "$R1" --unencrypted-regex '^public' --mac-only-encrypted -o "$T/moe.yaml" "$T/rules.yaml"
check "mac_only_encrypted: oracle verifies (MAC over encrypted values only)" verified yaml "$T/moe.yaml" "$T/k1.txt"
check "mac_only_encrypted: recorded in the metadata" grep -q '^    mac_only_encrypted: true' "$T/moe.yaml"
sed -i 's/^public_name: shown/public_name: changed/' "$T/moe.yaml"
check "mac_only_encrypted: a changed clear value still verifies (oracle)" verified yaml "$T/moe.yaml" "$T/k1.txt"
run "$FLEET" sops decrypt --extract '["public_name"]' "$T/moe.yaml"
check "mac_only_encrypted: fleet agrees" test "$(cat "$T/run.out")" = changed
run "$FLEET" sops encrypt --age "$R1" --unencrypted-regex '^public' -o "$T/nomoe.yaml" "$T/rules.yaml"
sed -i 's/^public_name: shown/public_name: changed/' "$T/nomoe.yaml"
if verified yaml "$T/nomoe.yaml" "$T/k1.txt" >/dev/null; then
	not_ok "without mac_only_encrypted a changed clear value fails the oracle's MAC"
else
	ok "without mac_only_encrypted a changed clear value fails the oracle's MAC"
fi

# The comment regexes (from .sops.yaml): a matching comment guards the value after it.
mkdir -p "$T/cr"
cat >"$T/cr/c.yaml" <<'Y'
# sops:enc
password: p4ss
user: admin
# sops:clear
visible: yes-please
hidden: h1dden
Y
printf 'creation_rules:\n  - age: %s\n    encrypted_comment_regex: "sops:enc"\n' "$R1" >"$T/cr/.sops.yaml"
run "$FLEET" sops encrypt -o "$T/cr/enc.out.yaml" "$T/cr/c.yaml"
if verified yaml "$T/cr/enc.out.yaml" "$T/k1.txt"; then
	check "encrypted_comment_regex: only the value after the comment is encrypted" test "$(field encrypted)" = '["password:"]'
	check "encrypted_comment_regex: recorded" grep -q '^    encrypted_comment_regex: sops:enc' "$T/cr/enc.out.yaml"
	check "encrypted_comment_regex: the matching comment stays readable" grep -q '^# sops:enc' "$T/cr/enc.out.yaml"
else
	not_ok "encrypted_comment_regex: the oracle verifies the file"
fi
printf 'creation_rules:\n  - age: %s\n    unencrypted_comment_regex: "sops:clear"\n' "$R1" >"$T/cr/.sops.yaml"
run "$FLEET" sops encrypt -o "$T/cr/unenc.out.yaml" "$T/cr/c.yaml"
if verified yaml "$T/cr/unenc.out.yaml" "$T/k1.txt"; then
	check "unencrypted_comment_regex: only the value after the comment is in clear" test "$(field clear)" = '["visible:"]'
	check "unencrypted_comment_regex: the rest is encrypted" test "$(field encrypted)" = '["hidden:", "password:", "user:"]'
else
	not_ok "unencrypted_comment_regex: the oracle verifies the file"
fi

# --- Shamir: a 2-of-2 rule --------------------------------------------------------------
mkdir -p "$T/sh"
printf 'creation_rules:\n  - path_regex: .*\n    shamir_threshold: 2\n    key_groups:\n      - age:\n          - %s\n      - age:\n          - %s\n' "$R1" "$R2" >"$T/sh/.sops.yaml"
cat "$T/k1.txt" "$T/k2.txt" >"$T/k12.txt"
for pair in yaml:yaml json:json env:dotenv ini:ini bin:binary; do
	ext=${pair%%:*} type=${pair##*:}
	cp "$T/p.$ext" "$T/sh/s.$ext"
	run "$FLEET" sops encrypt -i "$T/sh/s.$ext"
	check "shamir .$ext: encrypt exit 0" test "$RC" = 0
	run "$FLEET" sops decrypt --input-type "$type" "$T/sh/s.$ext"
	check "shamir .$ext: one key alone fails" test "$RC" = 1
	check "shamir .$ext: the message says how many groups are needed" err_has "2 key groups.*2 groups are needed.*only 1"
	run env SOPS_AGE_KEY_FILE="$T/k2.txt" "$FLEET" sops decrypt --input-type "$type" "$T/sh/s.$ext"
	check "shamir .$ext: the other key alone fails" test "$RC" = 1
	run env SOPS_AGE_KEY_FILE="$T/k12.txt" "$FLEET" sops decrypt --input-type "$type" -o "$T/sh/d.$ext" "$T/sh/s.$ext"
	check "shamir .$ext: both keys decrypt" test "$RC" = 0
	if verified "$type" "$T/sh/s.$ext" "$T/k1.txt" "$T/k2.txt"; then
		check "oracle: shamir .$ext combines the shares of both groups" test "$(field groups_opened)/$(field key_groups)/$(field shamir_threshold)" = 2/2/2
		field tree >"$T/got.json"
		oracle plain --type "$type" "$T/p.$ext" >"$T/want.full"
		check "oracle: shamir .$ext holds the original values" cmp -s "$T/got.json" <(field tree "$T/want.full")
	else
		not_ok "oracle: shamir .$ext verifies"
	fi
	if verified "$type" "$T/sh/s.$ext" "$T/k1.txt" >/dev/null; then
		not_ok "oracle: shamir .$ext does not open with one group"
	else
		ok "oracle: shamir .$ext does not open with one group"
	fi
done
check "shamir: the metadata records key_groups and shamir_threshold" sh -c "grep -q '^    key_groups:' '$T/sh/s.yaml' && grep -q '^    shamir_threshold: 2' '$T/sh/s.yaml'"
check "shamir dotenv: flattened as sops flattens it" grep -q '^sops_key_groups__list_1__map_age__list_0__map_recipient=' "$T/sh/s.env"
check "shamir ini: flattened as sops flattens it" grep -q '^key_groups__list_1__map_age__list_0__map_recipient *= ' "$T/sh/s.ini"
before=$(data_key yaml "$T/sh/s.yaml")
run env SOPS_AGE_KEY_FILE="$T/k12.txt" "$FLEET" sops rotate -i "$T/sh/s.yaml"
after=$(data_key yaml "$T/sh/s.yaml")
check "shamir rotate: a new data key, still 2 groups of 2" sh -c "[ '$RC' = 0 ] && [ -n '$after' ] && [ '$before' != '$after' ] && [ \"\$(grep -c '^    shamir_threshold: 2' '$T/sh/s.yaml')\" = 1 ]"
run env SOPS_AGE_KEY_FILE="$T/k12.txt" "$FLEET" sops set "$T/sh/s.yaml" '["port"]' '1'
check "shamir set: oracle verifies" verified yaml "$T/sh/s.yaml" "$T/k1.txt" "$T/k2.txt"

# A file in the layout older sops wrote (struct order, null key types in each group,
# shamir_threshold first) reads the same.
python3 - "$T/sh/s.json" "$T/sh/old.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
md = doc.pop("sops")
groups = [{"kms": None, "gcp_kms": None, "azure_kv": None, "hc_vault": None, "age": g["age"]}
          for g in md["key_groups"]]
doc["sops"] = {"shamir_threshold": md["shamir_threshold"], "key_groups": groups, "kms": None,
               "gcp_kms": None, "azure_kv": None, "hc_vault": None, "age": None,
               "lastmodified": md["lastmodified"], "mac": md["mac"], "pgp": None,
               "version": "3.8.1"}
json.dump(doc, open(sys.argv[2], "w"), indent="\t")
PY
run env SOPS_AGE_KEY_FILE="$T/k12.txt" "$FLEET" sops decrypt "$T/sh/old.json"
check "shamir: the older sops layout (null key types, threshold first) decrypts" test "$RC" = 0
run "$FLEET" sops decrypt "$T/sh/old.json"
check "shamir: ... and still needs both groups" test "$RC" = 1

# updatekeys from one group to two re-splits the same data key; edit creates a new
# file under the rule.
printf 'creation_rules:\n  - age: %s\n' "$R1" >"$T/sh/.sops.yaml"
cp "$T/p.yaml" "$T/sh/grow.yaml"
run "$FLEET" sops encrypt -i "$T/sh/grow.yaml"
before=$(data_key yaml "$T/sh/grow.yaml")
printf 'creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [%s]\n      - age: [%s]\n' "$R1" "$R2" >"$T/sh/.sops.yaml"
run "$FLEET" sops updatekeys -y "$T/sh/grow.yaml"
check "updatekeys to two groups: exit 0" test "$RC" = 0
check "updatekeys to two groups: the difference is shown per group, as sops shows it" \
	sh -c "grep -q '^Group 1\$' '$T/run.out' && grep -q '^Group 2\$' '$T/run.out' && grep -q '^+++ $R2\$' '$T/run.out'"
after=$(data_key yaml "$T/sh/grow.yaml")
groups="$(field key_groups)/$(field groups_opened)"
check "oracle: updatekeys to two groups kept the data key, now split 2 of 2" sh -c "[ -n '$before' ] && [ '$before' = '$after' ] && [ '$groups' = 2/2 ]"
run "$FLEET" sops decrypt "$T/sh/grow.yaml"
check "updatekeys to two groups: one key alone no longer decrypts" test "$RC" = 1
printf '#!/bin/sh\nprintf "token: t0k\\n" >"$1"\n' >"$T/ed-new"
chmod +x "$T/ed-new"
run env EDITOR="$T/ed-new" "$FLEET" sops edit "$T/sh/new.yaml"
check "edit creates a file under a key-groups rule" test "$RC" = 0
if verified yaml "$T/sh/new.yaml" "$T/k1.txt" "$T/k2.txt"; then
	check "oracle: the new file is split over 2 groups" test "$(field key_groups)/$(field shamir_threshold)" = 2/2
else
	not_ok "oracle: the file edit created verifies"
fi

# 2 of 3 groups: any two keys, never one.
printf 'creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [%s]\n      - age: [%s]\n      - age: [%s]\n' "$R1" "$R2" "$R3" >"$T/sh/.sops.yaml"
cp "$T/p.yaml" "$T/sh/three.yaml"
run "$FLEET" sops encrypt -i "$T/sh/three.yaml"
for ks in 1:2 1:3 2:3; do
	cat "$T/k${ks%%:*}.txt" "$T/k${ks##*:}.txt" >"$T/pair.txt"
	run env SOPS_AGE_KEY_FILE="$T/pair.txt" "$FLEET" sops decrypt "$T/sh/three.yaml"
	check "2 of 3: keys $ks decrypt" test "$RC" = 0
done
run env SOPS_AGE_KEY_FILE="$T/k3.txt" "$FLEET" sops decrypt "$T/sh/three.yaml"
check "2 of 3: one key fails" test "$RC" = 1
check "oracle: 2 of 3 with keys 2 and 3" verified yaml "$T/sh/three.yaml" "$T/k2.txt" "$T/k3.txt"
cp "$T/p.yaml" "$T/sh/plain.yaml"
run "$FLEET" sops encrypt --shamir-secret-sharing-threshold 3 -o "$T/sh/t3.yaml" "$T/sh/plain.yaml"
check "--shamir-secret-sharing-threshold 3 of 3 groups: written" grep -q '^    shamir_threshold: 3' "$T/sh/t3.yaml"
run env SOPS_AGE_KEY_FILE="$T/pair.txt" "$FLEET" sops decrypt "$T/sh/t3.yaml"
check "3 of 3: two keys fail" test "$RC" = 1
run "$FLEET" sops encrypt --shamir-secret-sharing-threshold 4 -o "$T/sh/t4.yaml" "$T/sh/plain.yaml"
check "threshold above the number of groups: refused" sh -c "[ $RC = 1 ] && [ ! -e '$T/sh/t4.yaml' ] && grep -q 'shamir_threshold 4' '$T/run.err'"

# --- key types fleet cannot write: refused, named, or kept as they are ------------------
mkdir -p "$T/fk"
cp "$T/p.yaml" "$T/fk/a.yaml"
printf 'creation_rules:\n  - pgp: 85D77543B3D624B63CEA9E6DBC17301B491B3F21\n' >"$T/fk/.sops.yaml"
run "$FLEET" sops encrypt -i "$T/fk/a.yaml"
check "PGP-only rule: refused" test "$RC" = 1
check "PGP-only rule: the error names the key" err_has "pgp 85D77543B3D624B63CEA9E6DBC17301B491B3F21"
check "PGP-only rule: the file is untouched" cmp -s "$T/fk/a.yaml" "$T/p.yaml"
printf 'creation_rules:\n  - age: %s\n    kms: arn:aws:kms:us-east-1:111:key/abc\n    gcp_kms: projects/p/locations/global/keyRings/r/cryptoKeys/k\n' "$R1" >"$T/fk/.sops.yaml"
run "$FLEET" sops encrypt -i "$T/fk/a.yaml"
check "age + KMS rule: refused, naming every key fleet cannot use" sh -c "[ $RC = 1 ] && grep -q 'kms arn:aws:kms:us-east-1:111:key/abc' '$T/run.err' && grep -q 'gcp_kms projects/p' '$T/run.err'"
printf 'creation_rules:\n  - key_groups:\n      - age: [%s]\n      - hc_vault: [https://vault:8200/v1/transit/keys/k]\n' "$R1" >"$T/fk/.sops.yaml"
run "$FLEET" sops encrypt -i "$T/fk/a.yaml"
check "a Vault key group: refused, named" sh -c "[ $RC = 1 ] && grep -q 'hc_vault https://vault:8200' '$T/run.err'"
printf '#!/bin/sh\ntouch "%s/editor-ran"\n' "$T" >"$T/ed-touch"
chmod +x "$T/ed-touch"
run env EDITOR="$T/ed-touch" "$FLEET" sops edit "$T/fk/new.yaml"
check "edit of a new file under such a rule: refused before the editor runs" sh -c "[ $RC = 1 ] && [ ! -e '$T/editor-ran' ] && [ ! -e '$T/fk/new.yaml' ]"

# sops-nix's secrets.yaml is encrypted to two age keys and two PGP keys.
NIXKEY=$SHARED/vectors/sops-nix/age-keys.txt
pgp_block() { sed -n '/^    pgp:/,/^    [a-z]/p' "$1" | sed '$d'; }
same_pgp() { cmp -s <(pgp_block "$1") <(pgp_block "$2"); }
cp "$SHARED/vectors/sops-nix/secrets.yaml" "$T/fk/mixed.yaml"
run env SOPS_AGE_KEY_FILE="$NIXKEY" "$FLEET" sops set "$T/fk/mixed.yaml" '["test_key"]' '"changed"'
check "set on an age+PGP file: exit 0" test "$RC" = 0
check "set keeps the PGP entries byte for byte" same_pgp "$SHARED/vectors/sops-nix/secrets.yaml" "$T/fk/mixed.yaml"
check "set keeps both PGP entries (non-empty block)" test "$(pgp_block "$T/fk/mixed.yaml" | grep -c 'fp: ')" = 2
check "oracle: after set, the age+PGP file verifies" verified yaml "$T/fk/mixed.yaml" "$NIXKEY"
# shellcheck disable=SC2016
printf '#!/bin/sh\nsed -i "s/^test_key: changed$/test_key: edited/" "$1"\n' >"$T/ed-mixed"
chmod +x "$T/ed-mixed"
run env SOPS_AGE_KEY_FILE="$NIXKEY" EDITOR="$T/ed-mixed" "$FLEET" sops edit "$T/fk/mixed.yaml"
check "edit on an age+PGP file: exit 0" test "$RC" = 0
check "edit keeps the PGP entries byte for byte" same_pgp "$SHARED/vectors/sops-nix/secrets.yaml" "$T/fk/mixed.yaml"
cp "$T/fk/mixed.yaml" "$T/fk/mixed.before"
run env SOPS_AGE_KEY_FILE="$NIXKEY" "$FLEET" sops rotate -i "$T/fk/mixed.yaml"
check "rotate on an age+PGP file: refused, naming the PGP keys" sh -c "[ $RC = 1 ] && grep -q 'pgp 7FB89715AADA920D65D25E63F9BA9DEBD03F57C0' '$T/run.err'"
check "rotate refused: the file is untouched" cmp -s "$T/fk/mixed.before" "$T/fk/mixed.yaml"
run env SOPS_AGE_KEY_FILE="$NIXKEY" "$FLEET" sops updatekeys -y --age "$R1" "$T/fk/mixed.yaml"
check "updatekeys on an age+PGP file: refused, naming the PGP keys" sh -c "[ $RC = 1 ] && grep -q 'pgp 7FB89715AADA920D65D25E63F9BA9DEBD03F57C0' '$T/run.err'"
check "updatekeys refused: the file is untouched" cmp -s "$T/fk/mixed.before" "$T/fk/mixed.yaml"
run env SOPS_AGE_KEY_FILE="$NIXKEY" "$FLEET" sops decrypt --extract '["test_key"]' "$T/fk/mixed.yaml"
check "decrypting the age+PGP file still works" test "$(cat "$T/run.out")" = edited

finish
