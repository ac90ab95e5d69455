#!/usr/bin/env bash
# fleet sops end to end: every format round-trips through the real binary and is read
# by the independent sops-age package; real sops output decrypts; tampering, bad input
# and missing keys fail clearly; edit/set/updatekeys/rotate change only what they must.
. "$(dirname "$0")/lib.sh"

SHARED=${FLEET_SHARED:-$E2E_DIR/../../../shared}
NPM_DIR=$E2E_DIR/../npm
export HOME=$T/home # no stray keys from the machine running the tests
mkdir -p "$HOME"
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD SOPS_AGE_RECIPIENTS \
	SOPS_AGE_SSH_PRIVATE_KEY_FILE XDG_CONFIG_HOME VISUAL

"$FLEET" age keygen -o "$T/key.txt" 2>/dev/null
R=$("$FLEET" age keygen -y "$T/key.txt")
"$FLEET" age keygen -o "$T/key2.txt" 2>/dev/null
R2=$("$FLEET" age keygen -y "$T/key2.txt")
export SOPS_AGE_KEY_FILE=$T/key.txt

sops_age() { # FILE TYPE: the independent decryption, as compact JSON
	SOPS_AGE_KEY=$(grep '^AGE-SECRET-KEY' "$SOPS_AGE_KEY_FILE") node "$NPM_DIR/sops-age-decrypt.mjs" "$1" "$2"
}
normalize() { # compact JSON of a JSON file, key order kept
	node -e 'process.stdout.write(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))) + "\n")' "$1"
}
same_file() { cmp -s "$1" "$2"; }
same_yaml() { # two YAML files parse to the same JSON (the yaml package sops-age uses)
	node --input-type=module -e '
		import { readFileSync } from "node:fs";
		import { createRequire } from "node:module";
		const YAML = createRequire(process.argv[1] + "/")("yaml");
		const [a, b] = process.argv.slice(2).map((f) => JSON.stringify(YAML.parse(readFileSync(f, "utf8"))));
		process.exit(a === b ? 0 : 1);' "$NPM_DIR/node_modules/sops-age" "$1" "$2"
}
have_node=1
[ -d "$NPM_DIR/node_modules/sops-age" ] && command -v node >/dev/null || have_node=0

# --- every format: round trip, and the independent reader agrees ---------------------------
cat >"$T/plain.yaml" <<'Y'
# the web tier
name: web1
port: 8080
ratio: 0.5
enabled: true
nothing: null
db:
    user: admin # inline comment
    password: "hunter2: with colon"
    hosts:
        - a.example
        - b.example
motd: |
    line one
    line two
Y
printf '{\n\t"name": "web1",\n\t"port": 8080,\n\t"ratio": 0.5,\n\t"enabled": true,\n\t"db": {\n\t\t"user": "admin",\n\t\t"hosts": [\n\t\t\t"a",\n\t\t\t"b"\n\t\t]\n\t}\n}\n' >"$T/plain.json"
printf '# comment\nDB_USER=admin\nDB_PASSWORD=s3cr=t\nMULTI=a\\nb\n' >"$T/plain.env"
printf '[database]\nuser = admin\npassword = hunter2\n\n[web]\nport = 8080\n' >"$T/plain.ini"
head -c 3000 /dev/urandom >"$T/plain.bin"

for ext in yaml json env ini bin; do
	run "$FLEET" sops encrypt --age "$R" "$T/plain.$ext"
	check "encrypt .$ext: exit 0" test "$RC" = 0
	cp "$T/run.out" "$T/enc.$ext"
	if grep -q 'admin\|hunter2' "$T/enc.$ext"; then not_ok ".$ext: no plaintext in the encrypted file"; else ok ".$ext: no plaintext in the encrypted file"; fi
	run "$FLEET" sops decrypt "$T/enc.$ext"
	check "decrypt .$ext: exit 0" test "$RC" = 0
	cp "$T/run.out" "$T/dec.$ext"
	case $ext in
	yaml) # the same tree (quoting style may differ, as with sops), comments kept in place
		check "decrypt .yaml: same values, types and key order" same_yaml "$T/dec.yaml" "$T/plain.yaml"
		check "decrypt .yaml: comments kept" sh -c "grep -q '^# the web tier' '$T/dec.yaml' && grep -q 'user: admin # inline comment' '$T/dec.yaml'" ;;
	ini) # sops' INI layout aligns '=' and ends sections with a blank line
		check "decrypt .ini: same sections and values" sh -c "grep -q '^\[database\]' '$T/dec.ini' && grep -q '^user *= admin' '$T/dec.ini' && grep -q '^password *= hunter2' '$T/dec.ini' && grep -q '^port *= 8080' '$T/dec.ini'" ;;
	*) check "decrypt .$ext: round trip is byte-identical" same_file "$T/dec.$ext" "$T/plain.$ext" ;;
	esac
done

if [ "$have_node" = 1 ]; then
	for pair in yaml:yaml json:json env:env; do
		ext=${pair%%:*} type=${pair##*:}
		"$FLEET" sops decrypt --output-type json "$T/enc.$ext" >"$T/fleet.json" 2>"$T/err"
		normalize "$T/fleet.json" >"$T/fleet.norm"
		if sops_age "$T/enc.$ext" "$type" >"$T/sopsage.json" 2>"$T/sopsage.err"; then
			check "sops-age reads fleet's .$ext to the same values" same_file "$T/sopsage.json" "$T/fleet.norm"
		else
			not_ok "sops-age reads fleet's .$ext" "$(cat "$T/sopsage.err")"
		fi
	done
	# binary files are JSON with a "data" key
	sops_age "$T/enc.bin" json >"$T/bin.json" 2>/dev/null
	node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1])); process.stdout.write(v.data)' "$T/bin.json" >"$T/bin.out" 2>/dev/null
	# sops-age returns the data as a string: compare what survives UTF-8 for text data
	printf 'plain text secret\n' >"$T/text.bin"
	"$FLEET" sops encrypt --age "$R" "$T/text.bin" >"$T/text.enc" 2>/dev/null
	sops_age "$T/text.enc" json >"$T/text.json" 2>/dev/null
	check "sops-age reads fleet's binary format" grep -q '"data":"plain text secret\\n"' "$T/text.json"
else
	not_ok "sops-age is installed (run tests/install-deps.sh)"
fi

# --- real sops output ------------------------------------------------------------------------
run env SOPS_AGE_KEY_FILE="$SHARED/vectors/sops-nix/age-keys.txt" "$FLEET" sops decrypt --output-type json "$SHARED/vectors/sops-nix/secrets.yaml"
check "sops-nix secrets.yaml decrypts (MAC verified)" test "$RC" = 0
check "sops-nix secrets.yaml values" grep -q '"test_value"' "$T/run.out"
run env SOPS_AGE_KEY_FILE="$SHARED/vectors/sops-clan/secrets.yaml.age-key.txt" "$FLEET" sops decrypt "$SHARED/vectors/sops-clan/secrets.yaml"
check "clan secrets.yaml decrypts (MAC verified)" test "$RC" = 0
run env SOPS_AGE_KEY_FILE="$SHARED/vectors/sops-clan/admin-age-key.txt" "$FLEET" sops decrypt --extract '["data"]' --input-type json "$SHARED/vectors/sops-clan/sops/secrets/peer1-age.key/secret"
check "clan machine key decrypts with the admin key" grep -q '^AGE-SECRET-KEY-1' "$T/run.out"
for f in json bin; do
	run env SOPS_AGE_KEY_FILE="$SHARED/vectors/sops-nix/age-keys.txt" "$FLEET" sops decrypt "$SHARED/vectors/sops-nix/secrets.$f"
	check "PGP-only secrets.$f: exit 1" test "$RC" = 1
	check "PGP-only secrets.$f: says there is no age recipient" err_has "no age recipient.*pgp"
done

# --- tampering -------------------------------------------------------------------------------
sed 's/^port: 8080/port: 8081/' "$T/enc.yaml" >"$T/t1.yaml"
sed 's/^\(name: ENC\[AES256_GCM,data:\)\(.\)/\1A\2/' "$T/enc.yaml" >"$T/t2.yaml"
run "$FLEET" sops decrypt "$T/t2.yaml"
check "a changed ciphertext: exit 1" test "$RC" = 1
sed -i 's/^\(    lastmodified: "\)20/\119/' "$T/t1.yaml"
run "$FLEET" sops decrypt "$T/t1.yaml"
check "changed lastmodified: exit 1" test "$RC" = 1
check "changed lastmodified: MAC mismatch" err_has "MAC mismatch"
printf 'note: visible\n' >"$T/plain2.yaml"
"$FLEET" sops encrypt --age "$R" --unencrypted-suffix e "$T/plain2.yaml" >"$T/enc2.yaml" 2>/dev/null
sed -i 's/^note: visible/note: changed/' "$T/enc2.yaml"
run "$FLEET" sops decrypt "$T/enc2.yaml"
check "a changed unencrypted value: MAC mismatch" err_has "MAC mismatch"
run "$FLEET" sops decrypt --ignore-mac "$T/enc2.yaml"
check "--ignore-mac decrypts anyway" grep -q 'note: changed' "$T/run.out"

# --- bad input: clear errors, input untouched -------------------------------------------------
printf 'a: [unclosed\n' >"$T/bad.yaml"
run "$FLEET" sops encrypt --age "$R" "$T/bad.yaml"
check "malformed YAML: exit 1 with a line number" sh -c "[ $RC = 1 ] && grep -qi 'line' '$T/run.err'"
printf '{"a": }' >"$T/bad.json"
run "$FLEET" sops encrypt --age "$R" "$T/bad.json"
check "malformed JSON: exit 1 naming the position" sh -c "[ $RC = 1 ] && grep -qi 'line 1' '$T/run.err'"
run "$FLEET" sops decrypt "$T/plain.yaml"
check "no sops block: says so" err_has "no sops metadata"
sed 's/type:str\]/type:pointer]/' "$T/enc.yaml" >"$T/badtype.yaml"
run "$FLEET" sops decrypt "$T/badtype.yaml"
check "unknown ENC type: named" err_has "pointer"
run "$FLEET" sops encrypt --age "not-a-key" "$T/plain.yaml"
check "a recipient that is not an age key: exit 1 naming it" sh -c "[ $RC = 1 ] && grep -q 'not-a-key' '$T/run.err'"
cp "$T/enc.yaml" "$T/keep.yaml"
run env -u SOPS_AGE_KEY_FILE "$FLEET" sops decrypt -i "$T/keep.yaml"
check "no identity: exit 1" test "$RC" = 1
check "no identity: lists where it looked" err_has "looked in.*keys.txt"
check "failed -i leaves the input untouched" same_file "$T/keep.yaml" "$T/enc.yaml"
run "$FLEET" sops decrypt --bogus "$T/enc.yaml"
check "unknown flag: exit 2" test "$RC" = 2

# --- in place, extract --------------------------------------------------------------------------
cp "$T/enc.yaml" "$T/inplace.yaml"
run "$FLEET" sops decrypt -i "$T/inplace.yaml"
check "decrypt -i rewrites the file" same_file "$T/inplace.yaml" "$T/dec.yaml"
run "$FLEET" sops encrypt -i --age "$R" "$T/inplace.yaml"
run "$FLEET" sops decrypt --extract '["db"]["password"]' "$T/inplace.yaml"
check "--extract prints one value" test "$(cat "$T/run.out")" = "hunter2: with colon"
run "$FLEET" sops decrypt --extract '["db"]["nope"]' "$T/inplace.yaml"
check "--extract of a missing path: exit 1" test "$RC" = 1

# --- set and edit on a 1,000-key file: only the touched value changes -------------------------
for i in $(seq 1 1000); do echo "key$i: value$i"; done >"$T/big.yaml"
"$FLEET" sops encrypt --age "$R" "$T/big.yaml" >"$T/big.enc.yaml" 2>/dev/null
cp "$T/big.enc.yaml" "$T/big.before"
run "$FLEET" sops set "$T/big.enc.yaml" '["key500"]' '"changed"'
check "set: exit 0" test "$RC" = 0
changed=$(diff "$T/big.before" "$T/big.enc.yaml" | grep '^>' | grep -v 'lastmodified\|mac:' | wc -l)
check "set changes the touched value's ciphertext only (changed: $changed)" test "$changed" = 1
check "set: the changed line is key500" sh -c "diff '$T/big.before' '$T/big.enc.yaml' | grep '^>' | grep -q 'key500:'"
run "$FLEET" sops decrypt --extract '["key500"]' "$T/big.enc.yaml"
check "set: the new value decrypts" test "$(cat "$T/run.out")" = changed
run "$FLEET" sops set "$T/big.enc.yaml" '["key1"]' 'not json'
check "set with a non-JSON value: a usage error, exit 2" test "$RC" = 2

cp "$T/big.enc.yaml" "$T/big.before"
printf '#!/bin/sh\nsed -i "s/^key7: value7$/key7: edited/" "$1"\n' >"$T/editor-key7"
printf '#!/bin/sh\nsed -i "s/^key9:/key9: [broken/" "$1"\n' >"$T/editor-broken"
chmod +x "$T/editor-key7" "$T/editor-broken"
run env EDITOR="$T/editor-key7" "$FLEET" sops edit "$T/big.enc.yaml"
check "edit: exit 0" test "$RC" = 0
changed=$(diff "$T/big.before" "$T/big.enc.yaml" | grep '^>' | grep -v 'lastmodified\|mac:' | wc -l)
check "edit changes the touched value's ciphertext only (changed: $changed)" test "$changed" = 1
run "$FLEET" sops decrypt --extract '["key7"]' "$T/big.enc.yaml"
check "edit: the new value decrypts" test "$(cat "$T/run.out")" = edited
cp "$T/big.enc.yaml" "$T/big.before"
run env EDITOR=true "$FLEET" sops edit "$T/big.enc.yaml"
check "edit without changes leaves the file byte-identical" same_file "$T/big.before" "$T/big.enc.yaml"
run env EDITOR="$T/editor-broken" "$FLEET" sops edit "$T/big.enc.yaml"
check "edit to invalid YAML: exit 1" test "$RC" = 1
check "edit to invalid YAML: file untouched" same_file "$T/big.before" "$T/big.enc.yaml"
check "edit leaves no plaintext in tmpfs" sh -c "! ls -d /dev/shm/fleet-sops-* ${XDG_RUNTIME_DIR:-/nonexistent}/fleet-sops-* 2>/dev/null | grep -q ."

run "$FLEET" sops unset "$T/big.enc.yaml" '["key3"]'
check "unset: exit 0" test "$RC" = 0
run "$FLEET" sops decrypt --extract '["key3"]' "$T/big.enc.yaml"
check "unset: the value is gone" test "$RC" = 1
run "$FLEET" sops decrypt --extract '["key4"]' "$T/big.enc.yaml"
check "unset: the others remain" test "$(cat "$T/run.out")" = value4
run "$FLEET" sops unset "$T/big.enc.yaml" '["nosuchkey"]'
check "unset of a missing path: exit 1" test "$RC" = 1

printf '#!/bin/sh\nprintf "api_token: t0ken\\n" >"$1"\n' >"$T/editor-new"
chmod +x "$T/editor-new"
run env EDITOR="$T/editor-new" "$FLEET" sops edit --age "$R" "$T/new.yaml"
check "edit creates a new file" test "$RC" = 0
run "$FLEET" sops decrypt --extract '["api_token"]' "$T/new.yaml"
check "edit: the new file decrypts" test "$(cat "$T/run.out")" = t0ken
run "$FLEET" sops encrypt --help
check "--help: exit 0" sh -c "[ $RC = 0 ] && grep -q 'Usage: fleet sops encrypt' '$T/run.out'"
run "$FLEET" sops decrypt
check "missing FILE: exit 2" test "$RC" = 2

# --- .sops.yaml, updatekeys, rotate -------------------------------------------------------------
mkdir -p "$T/repo/secrets"
printf 'creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    age: %s\n' "$R" >"$T/repo/.sops.yaml"
printf 'token: abc\n' >"$T/repo/secrets/app.yaml"
run "$FLEET" sops encrypt -i "$T/repo/secrets/app.yaml"
check "encrypt picks recipients from .sops.yaml" grep -q "recipient: $R" "$T/repo/secrets/app.yaml"
printf 'x: 1\n' >"$T/repo/other.yaml"
run "$FLEET" sops encrypt "$T/repo/other.yaml"
check "no matching creation rule: exit 1" sh -c "[ $RC = 1 ] && grep -q 'no recipients' '$T/run.err'"
printf 'creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    age: >-\n      %s,\n      %s\n' "$R" "$R2" >"$T/repo/.sops.yaml"
cp "$T/repo/secrets/app.yaml" "$T/app.before"
run "$FLEET" sops updatekeys -y "$T/repo/secrets/app.yaml"
check "updatekeys: exit 0" test "$RC" = 0
check "updatekeys: values untouched" test "$(grep '^token:' "$T/app.before")" = "$(grep '^token:' "$T/repo/secrets/app.yaml")"
run env SOPS_AGE_KEY_FILE="$T/key2.txt" "$FLEET" sops decrypt --extract '["token"]' "$T/repo/secrets/app.yaml"
check "updatekeys: the new recipient can decrypt" test "$(cat "$T/run.out")" = abc
cp "$T/repo/secrets/app.yaml" "$T/app.before"
run "$FLEET" sops rotate -i "$T/repo/secrets/app.yaml"
check "rotate: the value's ciphertext changed" sh -c "! grep -qF \"\$(grep '^token:' '$T/app.before')\" '$T/repo/secrets/app.yaml'"
run env SOPS_AGE_KEY_FILE="$T/key2.txt" "$FLEET" sops decrypt --extract '["token"]' "$T/repo/secrets/app.yaml"
check "rotate: still decrypts for every recipient" test "$(cat "$T/run.out")" = abc

# --- identity discovery, as sops does it ------------------------------------------------------
KEYLINE=$(grep '^AGE-SECRET-KEY' "$T/key.txt")
run env -u SOPS_AGE_KEY_FILE SOPS_AGE_KEY="$KEYLINE" "$FLEET" sops decrypt --extract '["name"]' "$T/enc.yaml"
check "SOPS_AGE_KEY is used" test "$(cat "$T/run.out")" = web1
printf '#!/bin/sh\ngrep AGE-SECRET-KEY "%s"\n' "$T/key.txt" >"$T/keycmd"
chmod +x "$T/keycmd"
run env -u SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD="$T/keycmd" "$FLEET" sops decrypt --extract '["name"]' "$T/enc.yaml"
check "SOPS_AGE_KEY_CMD is used" test "$(cat "$T/run.out")" = web1
mkdir -p "$HOME/.config/sops/age" && cp "$T/key.txt" "$HOME/.config/sops/age/keys.txt"
run env -u SOPS_AGE_KEY_FILE "$FLEET" sops decrypt --extract '["name"]' "$T/enc.yaml"
check "~/.config/sops/age/keys.txt is used" test "$(cat "$T/run.out")" = web1
rm -rf "$HOME/.config"
run env -u SOPS_AGE_KEY_FILE XDG_CONFIG_HOME="$T/xdg" "$FLEET" sops decrypt "$T/enc.yaml"
check "no identity anywhere: the message names XDG_CONFIG_HOME's keys.txt" err_has "$T/xdg/sops/age/keys.txt"
SSHPUB=$(cat "$SSH_DATA/id_ed25519.pub")
"$FLEET" sops encrypt --age "$SSHPUB" "$T/plain.json" >"$T/ssh.json" 2>/dev/null
run env -u SOPS_AGE_KEY_FILE SOPS_AGE_SSH_PRIVATE_KEY_FILE="$SSH_DATA/id_ed25519" "$FLEET" sops decrypt --extract '["name"]' "$T/ssh.json"
check "SOPS_AGE_SSH_PRIVATE_KEY_FILE (ssh-ed25519 recipient) is used" test "$(cat "$T/run.out")" = web1
mkdir -p "$HOME/.ssh" && cp "$SSH_DATA/id_ed25519" "$HOME/.ssh/id_ed25519"
run env -u SOPS_AGE_KEY_FILE "$FLEET" sops decrypt --extract '["name"]' "$T/ssh.json"
check "~/.ssh/id_ed25519 is used" test "$(cat "$T/run.out")" = web1
rm -rf "$HOME/.ssh"

finish
