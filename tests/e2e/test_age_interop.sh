#!/usr/bin/env bash
# End-to-end interoperability of "fleet age" with the reference age(1)/age-keygen(1):
# files encrypted by one must decrypt byte-for-byte with the other, for every recipient type.
#
#   FLEET=/path/to/fleet FLEET_TEST_DATA=tests/data bash tests/e2e/test_age_interop.sh

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

require_tools age age-keygen cmp od stat
require_fixtures "$SSH_DATA/id_ed25519" "$SSH_DATA/id_ed25519.pub" "$SSH_DATA/id_rsa" \
	"$SSH_DATA/id_rsa.pub" "$SSH_DATA/id_ed25519_enc_aes256-ctr" \
	"$SSH_DATA/id_rsa_enc_aes256-ctr"

PW=correct-horse-battery-staple
SSH_PW=fleet-test-passphrase

# ---------------------------------------------------------------------------------------------
# Plaintexts.
SIZES="0 1 65535 65536 65537 196608 10485760"
for s in $SIZES; do
	head -c "$s" /dev/urandom >"$T/pt.$s"
done

# ---------------------------------------------------------------------------------------------
# Keys.
FK=$T/fleet.key # made by fleet
AK=$T/age.key   # made by age-keygen
K3=$T/third.key
run "$FLEET" age keygen -o "$FK"
if [ "$RC" -eq 0 ] && grep -q '^AGE-SECRET-KEY-1' "$FK"; then
	ok "fleet age keygen -o writes an identity"
else
	not_ok "fleet age keygen -o writes an identity" "rc=$RC" "$(cat "$T/run.err")"
fi
age-keygen -o "$AK" 2>/dev/null
age-keygen -o "$K3" 2>/dev/null

FR=$("$FLEET" age keygen -y "$FK" 2>/dev/null)
AR=$(age-keygen -y "$AK")
R3=$(age-keygen -y "$K3")

# keygen -y agrees with age-keygen -y, both on fleet's and on age-keygen's key files.
check "keygen -y of a fleet key equals age-keygen -y" \
	test -n "$FR" -a "$FR" = "$(age-keygen -y "$FK")"
check "keygen -y of an age-keygen key equals age-keygen -y" \
	test "$("$FLEET" age keygen -y "$AK")" = "$AR"
check "keygen -y reads the identity file from stdin" \
	test "$("$FLEET" age keygen -y <"$FK")" = "$FR"
check "keygen -o: '# public key:' comment matches keygen -y" \
	grep -qx "# public key: $FR" "$FK"
check "keygen -o: '# created:' comment present" grep -q '^# created: ' "$FK"
# Several identities in one file give one recipient per line.
cat "$AK" "$K3" >"$T/two.key"
check "keygen -y lists one recipient per identity" \
	test "$("$FLEET" age keygen -y "$T/two.key")" = "$(printf '%s\n%s' "$AR" "$R3")"
check "keygen -o writes mode 0600" test "$(stat -c %a "$FK")" = 600
cp "$FK" "$T/fleet.key.orig"
run "$FLEET" age keygen -o "$FK"
if [ "$RC" -eq 1 ] && cmp -s "$FK" "$T/fleet.key.orig"; then
	ok "keygen -o refuses to overwrite an existing file (exit 1, file unchanged)"
else
	not_ok "keygen -o refuses to overwrite an existing file (exit 1, file unchanged)" \
		"rc=$RC" "$(cat "$T/run.err")"
fi
# keygen to stdout yields a key age(1) can use.
"$FLEET" age keygen >"$T/stdout.key" 2>/dev/null
SR=$(age-keygen -y "$T/stdout.key" 2>/dev/null)
age -r "$SR" -o "$T/stdout-key.age" "$T/pt.65537" 2>/dev/null
check "keygen to stdout: age encrypts to it, fleet decrypts" \
	cmp "$T/pt.65537" <("$FLEET" age -d -i "$T/stdout.key" "$T/stdout-key.age" 2>&1)

# ---------------------------------------------------------------------------------------------
# Helpers: encrypt with one tool, decrypt with the other, compare. The ARGS strings are
# shell words (eval'd into arrays), so quote arguments containing spaces with printf %q.
#   fleet_to_age NAME PLAINTEXT "FLEET ENC ARGS" "AGE DEC ARGS"
fleet_to_age() {
	local name=$1 pt=$2 ct=$T/f2a.age enc dec
	eval "enc=($3)"
	eval "dec=($4)"
	rm -f "$ct" "$T/f2a.out"
	if ! "$FLEET" age "${enc[@]}" -o "$ct" "$pt" 2>"$T/f2a.err"; then
		not_ok "$name" "fleet age $3 failed" "$(cat "$T/f2a.err")"
		return
	fi
	# (age -o creates its output lazily, so an empty plaintext would leave no file.)
	if ! age -d "${dec[@]}" "$ct" >"$T/f2a.out" 2>"$T/f2a.err"; then
		not_ok "$name" "age -d $4 failed" "$(cat "$T/f2a.err")"
		return
	fi
	if cmp -s "$pt" "$T/f2a.out"; then ok "$name"; else not_ok "$name" "plaintext differs"; fi
}

#   age_to_fleet NAME PLAINTEXT "AGE ENC ARGS" "FLEET DEC ARGS"
age_to_fleet() {
	local name=$1 pt=$2 ct=$T/a2f.age enc dec
	eval "enc=($3)"
	eval "dec=($4)"
	rm -f "$ct" "$T/a2f.out"
	if ! age "${enc[@]}" -o "$ct" "$pt" 2>"$T/a2f.err"; then
		not_ok "$name" "age $3 failed" "$(cat "$T/a2f.err")"
		return
	fi
	if ! "$FLEET" age -d "${dec[@]}" -o "$T/a2f.out" "$ct" 2>"$T/a2f.err"; then
		not_ok "$name" "fleet age -d $4 failed" "$(cat "$T/a2f.err")"
		return
	fi
	if cmp -s "$pt" "$T/a2f.out"; then ok "$name"; else not_ok "$name" "plaintext differs"; fi
}

# ---------------------------------------------------------------------------------------------
# X25519: full size matrix, binary and armored, both directions. fleet→age uses fleet's key
# file (age parses it); age→fleet uses age-keygen's key file (fleet parses it).
for s in $SIZES; do
	fleet_to_age "x25519 fleet->age binary size=$s" "$T/pt.$s" "-r $FR" "-i $FK"
	fleet_to_age "x25519 fleet->age armored size=$s" "$T/pt.$s" "-a -r $FR" "-i $FK"
	age_to_fleet "x25519 age->fleet binary size=$s" "$T/pt.$s" "-r $AR" "-i $AK"
	age_to_fleet "x25519 age->fleet armored size=$s" "$T/pt.$s" "-a -r $AR" "-i $AK"
done
# And the other way round: age-keygen's key with fleet encrypting, fleet's key with age.
fleet_to_age "x25519 fleet->age to an age-keygen key" "$T/pt.65536" "-r $AR" "-i $AK"
age_to_fleet "x25519 age->fleet to a fleet keygen key" "$T/pt.65536" "-r $FR" "-i $FK"

# Output format: binary has the v1 magic, armor the PEM header/footer and only ASCII.
"$FLEET" age -r "$FR" -o "$T/fmt.bin" "$T/pt.65537" 2>/dev/null
"$FLEET" age -a -r "$FR" -o "$T/fmt.asc" "$T/pt.65537" 2>/dev/null
check "binary output starts with age-encryption.org/v1" \
	test "$(head -n1 "$T/fmt.bin")" = "age-encryption.org/v1"
# shellcheck disable=SC2016
check "armored output has BEGIN/END AGE ENCRYPTED FILE lines and is ASCII" \
	bash -c 'test "$(head -n1 "$1")" = "-----BEGIN AGE ENCRYPTED FILE-----" &&
		test "$(tail -n1 "$1")" = "-----END AGE ENCRYPTED FILE-----" &&
		! LC_ALL=C grep -q "[^ -~]" "$1"' _ "$T/fmt.asc"
# shellcheck disable=SC2016
check "armored lines are at most 64 columns" \
	awk 'length($0) > 64 { bad = 1 } END { exit bad }' "$T/fmt.asc"

# ---------------------------------------------------------------------------------------------
# Several recipients in one file: each identity alone decrypts.
MULTI_PT=$T/pt.65537
if "$FLEET" age -r "$FR" -r "$AR" -r "$R3" -o "$T/multi-f.age" "$MULTI_PT" 2>"$T/err"; then
	for k in "$FK" "$AK" "$K3"; do
		check "multi-recipient fleet->age: $(basename "$k") alone decrypts" \
			cmp "$MULTI_PT" <(age -d -i "$k" "$T/multi-f.age" 2>&1)
	done
	check "multi-recipient file has 3 recipient stanzas" \
		test "$(grep -a -c '^-> X25519 ' "$T/multi-f.age")" = 3
else
	not_ok "multi-recipient fleet encryption" "$(cat "$T/err")"
fi
age -r "$FR" -r "$AR" -r "$R3" -o "$T/multi-a.age" "$MULTI_PT"
for k in "$FK" "$AK" "$K3"; do
	check "multi-recipient age->fleet: $(basename "$k") alone decrypts" \
		cmp "$MULTI_PT" <("$FLEET" age -d -i "$k" "$T/multi-a.age" 2>&1)
done
# Mixed types in one file.
age_to_fleet "mixed x25519+ssh-rsa age->fleet, ssh-rsa identity" "$T/pt.1" \
	"-r $AR -R $SSH_DATA/id_rsa.pub" "-i $SSH_DATA/id_rsa"
fleet_to_age "mixed x25519+ssh-rsa fleet->age, x25519 identity" "$T/pt.1" \
	"-r $AR -R $SSH_DATA/id_rsa.pub" "-i $AK"

# ---------------------------------------------------------------------------------------------
# -R recipients file with comments and blank lines; -i for encryption.
{
	echo "# recipients for the e2e test"
	echo
	echo "$FR"
	echo "# another comment"
	echo
	echo
	echo "$AR"
	cat "$SSH_DATA/id_rsa.pub"
} >"$T/recipients.txt"
fleet_to_age "-R file with comments/blank lines: fleet key decrypts (age)" "$T/pt.65536" \
	"-R $T/recipients.txt" "-i $FK"
fleet_to_age "-R file with comments/blank lines: age key decrypts (age)" "$T/pt.65536" \
	"-R $T/recipients.txt" "-i $AK"
fleet_to_age "-R file with comments/blank lines: ssh-rsa key decrypts (age)" "$T/pt.65536" \
	"-R $T/recipients.txt" "-i $SSH_DATA/id_rsa"
age_to_fleet "-R file parsed by age, fleet decrypts" "$T/pt.65536" \
	"-R $T/recipients.txt" "-i $FK"
fleet_to_age "-e -i FILE encrypts to the identity's own recipient (x25519)" "$T/pt.65537" \
	"-e -i $FK" "-i $FK"
fleet_to_age "-i FILE for encryption with an age-keygen key" "$T/pt.1" "-i $AK" "-i $AK"
fleet_to_age "-e -i FILE encrypts to an ssh-ed25519 identity's recipient" "$T/pt.1" \
	"-e -i $SSH_DATA/id_ed25519" "-i $SSH_DATA/id_ed25519"
fleet_to_age "-e -i FILE encrypts to an ssh-rsa identity's recipient" "$T/pt.1" \
	"-e -i $SSH_DATA/id_rsa" "-i $SSH_DATA/id_rsa"

# ---------------------------------------------------------------------------------------------
# SSH recipients.
ED_PUB=$(cat "$SSH_DATA/id_ed25519.pub")
RSA_PUB=$(cat "$SSH_DATA/id_rsa.pub")
for s in 0 65537; do
	fleet_to_age "ssh-ed25519 fleet->age size=$s" "$T/pt.$s" "-r $(printf %q "$ED_PUB")" \
		"-i $SSH_DATA/id_ed25519"
	age_to_fleet "ssh-ed25519 age->fleet size=$s" "$T/pt.$s" "-R $SSH_DATA/id_ed25519.pub" \
		"-i $SSH_DATA/id_ed25519"
	fleet_to_age "ssh-rsa fleet->age size=$s" "$T/pt.$s" "-R $SSH_DATA/id_rsa.pub" \
		"-i $SSH_DATA/id_rsa"
	age_to_fleet "ssh-rsa age->fleet size=$s" "$T/pt.$s" "-R $SSH_DATA/id_rsa.pub" \
		"-i $SSH_DATA/id_rsa"
done
fleet_to_age "ssh-ed25519 fleet->age armored" "$T/pt.65536" "-a -R $SSH_DATA/id_ed25519.pub" \
	"-i $SSH_DATA/id_ed25519"
age_to_fleet "ssh-rsa age->fleet armored" "$T/pt.65536" "-a -R $SSH_DATA/id_rsa.pub" \
	"-i $SSH_DATA/id_rsa"

# -r with the whole "ssh-ed25519 AAAA… comment" line as one argument (word-splitting in
# fleet_to_age above would break it, so spell this one out).
rm -f "$T/ed.age"
"$FLEET" age -r "$ED_PUB" -o "$T/ed.age" "$T/pt.65535" 2>"$T/err"
check "ssh-ed25519 -r 'full .pub line' fleet->age" \
	cmp "$T/pt.65535" <(age -d -i "$SSH_DATA/id_ed25519" "$T/ed.age" 2>&1)
rm -f "$T/rsa.age"
"$FLEET" age -r "$RSA_PUB" -o "$T/rsa.age" "$T/pt.65535" 2>"$T/err"
check "ssh-rsa -r 'full .pub line' fleet->age" \
	cmp "$T/pt.65535" <(age -d -i "$SSH_DATA/id_rsa" "$T/rsa.age" 2>&1)

# Passphrase-protected ssh-ed25519 identity, decrypted by fleet with --passphrase-fd.
age -R "$SSH_DATA/id_ed25519.pub" -o "$T/ed-enc.age" "$T/pt.65537"
rm -f "$T/ed-enc.out"
name="encrypted ssh-ed25519 identity (age->fleet, --passphrase-fd)"
if ! "$FLEET" age -d -i "$SSH_DATA/id_ed25519_enc_aes256-ctr" --passphrase-fd 3 \
	-o "$T/ed-enc.out" "$T/ed-enc.age" 3<<<"$SSH_PW" 2>"$T/err"; then
	not_ok "$name" "$(cat "$T/err")"
elif cmp -s "$T/pt.65537" "$T/ed-enc.out"; then ok "$name"; else not_ok "$name" "plaintext differs"; fi
# Also through an encrypted ssh-rsa key (fleet reads the passphrase only when it is needed).
age -R "$SSH_DATA/id_rsa.pub" -o "$T/rsa-enc.age" "$T/pt.1"
check "encrypted ssh-rsa identity (age->fleet, --passphrase-fd)" \
	cmp "$T/pt.1" <("$FLEET" age -d -i "$SSH_DATA/id_rsa_enc_aes256-ctr" --passphrase-fd 3 \
		"$T/rsa-enc.age" 3<<<"$SSH_PW" 2>&1)
# The same protected key also works when fleet encrypted the file.
"$FLEET" age -R "$SSH_DATA/id_ed25519.pub" -o "$T/ed-enc2.age" "$T/pt.1" 2>/dev/null
check "encrypted ssh-ed25519 identity (fleet->fleet, --passphrase-fd)" \
	cmp "$T/pt.1" <("$FLEET" age -d -i "$SSH_DATA/id_ed25519_enc_aes256-ctr" \
		--passphrase-fd 3 "$T/ed-enc2.age" 3<<<"$SSH_PW" 2>&1)

# ---------------------------------------------------------------------------------------------
# scrypt passphrase, both directions (age reads passphrases from a terminal only).
for s in 1 65537; do
	name="scrypt fleet->age size=$s"
	rm -f "$T/pw-f.age" "$T/pw-f.out"
	if ! "$FLEET" age -p --passphrase-fd 3 -o "$T/pw-f.age" "$T/pt.$s" 3<<<"$PW" 2>"$T/err"; then
		not_ok "$name" "fleet -p failed" "$(cat "$T/err")"
	elif ! with_tty_passphrase "$PW" age -d -o "$T/pw-f.out" "$T/pw-f.age" 2>"$T/err"; then
		not_ok "$name" "age -d failed" "$(cat "$T/err")"
	elif cmp -s "$T/pt.$s" "$T/pw-f.out"; then ok "$name"; else not_ok "$name"; fi
done
check "scrypt file has a single scrypt stanza" \
	test "$(grep -a -c '^-> ' "$T/pw-f.age")" = 1 -a "$(grep -a -c '^-> scrypt ' "$T/pw-f.age")" = 1

ARMOR=
for s in 0 65536; do
	name="scrypt age->fleet size=$s${ARMOR:+ armored}"
	rm -f "$T/pw-a.age" "$T/pw-a.out"
	# shellcheck disable=SC2086
	if ! with_tty_passphrase "$PW" age -p $ARMOR -o "$T/pw-a.age" "$T/pt.$s" 2>"$T/err"; then
		not_ok "$name" "age -p failed" "$(cat "$T/err")"
	elif ! "$FLEET" age -d --passphrase-fd 3 -o "$T/pw-a.out" "$T/pw-a.age" 3<<<"$PW" 2>"$T/err"; then
		not_ok "$name" "fleet -d failed" "$(cat "$T/err")"
	elif cmp -s "$T/pt.$s" "$T/pw-a.out"; then ok "$name"; else not_ok "$name"; fi
	ARMOR=-a
done

# ---------------------------------------------------------------------------------------------
# stdin → stdout piping.
check "pipe: fleet (stdin->stdout) | age -d" \
	cmp "$T/pt.196608" <("$FLEET" age -r "$FR" <"$T/pt.196608" 2>/dev/null | age -d -i "$FK" 2>&1)
check "pipe: age | fleet -d (stdin->stdout)" \
	cmp "$T/pt.196608" <(age -r "$AR" <"$T/pt.196608" | "$FLEET" age -d -i "$AK" 2>&1)
check "pipe: fleet -a | fleet -d (armor detected on stdin)" \
	cmp "$T/pt.65537" <("$FLEET" age -a -r "$FR" <"$T/pt.65537" 2>/dev/null |
		"$FLEET" age -d -i "$FK" 2>&1)
check "pipe: explicit '-' as input" \
	cmp "$T/pt.1" <(age -r "$AR" <"$T/pt.1" | "$FLEET" age -d -i "$AK" - 2>&1)
check "pipe: 10 MiB age | fleet -d | cmp" \
	cmp "$T/pt.10485760" <(age -r "$AR" <"$T/pt.10485760" | "$FLEET" age -d -i "$AK" 2>&1)
check "--threads 1 gives the same plaintext" \
	cmp "$T/pt.196608" <(age -r "$AR" <"$T/pt.196608" | "$FLEET" age -d --threads 1 -i "$AK" 2>&1)

finish
