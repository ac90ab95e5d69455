#!/usr/bin/env bash
# End-to-end checks that "fleet age" rejects bad input cleanly: corrupted, truncated or
# reordered files, malformed recipients and identities, and usage errors. Every failure must
# exit with the right code, say what went wrong on stderr, never leak secret key material,
# and (with -o) leave neither the output nor a temporary file behind.
#
#   FLEET=/path/to/fleet FLEET_TEST_DATA=tests/data bash tests/e2e/test_age_badinput.sh

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

require_tools age-keygen od dd base64 cmp

CHUNK=65536
SEALED=$((CHUNK + 16))

K=$T/key.txt
W=$T/wrong.key
"$FLEET" age keygen -o "$K" 2>/dev/null
age-keygen -o "$W" 2>/dev/null
R=$("$FLEET" age keygen -y "$K" 2>/dev/null)
if [ -z "$R" ]; then
	not_ok "setup: fleet age keygen works"
	finish
fi

OD=$T/outdir # -o target directory, checked for leftovers after every failure
mkdir -p "$OD"

# ---------------------------------------------------------------------------------------------
# Assertions shared by every failing case.

# expect_fail NAME WANT_RC REGEX COMMAND...: COMMAND exits WANT_RC, stderr matches REGEX
# (extended, case-insensitive; empty = not checked) and starts with "fleet".
expect_fail() {
	local name=$1 want=$2 re=$3
	shift 3
	run "$@"
	if [ "$RC" -ne "$want" ]; then
		not_ok "$name: exit $want" "got exit $RC" "$(cat "$T/run.err")"
	else
		ok "$name: exit $want"
	fi
	if [ -n "$re" ]; then
		if err_has "$re" && head -n1 "$T/run.err" | grep -q '^fleet'; then
			ok "$name: stderr matches /$re/"
		else
			not_ok "$name: stderr matches /$re/" "stderr: $(cat "$T/run.err")"
		fi
	fi
}

# no_leftovers NAME: nothing in $OD except what the caller put there deliberately.
no_leftovers() {
	if no_tmp_files "$OD" && [ -z "$(find "$OD" -mindepth 1 -name '.*' -print -quit)" ]; then
		ok "$1: no temp files left in the output directory"
	else
		not_ok "$1: no temp files left in the output directory" "$(ls -la "$OD")"
	fi
}

# bad_decrypt NAME FILE REGEX [IDENTITY]: decrypting FILE fails with exit 1 and a message
# matching REGEX; with -o OUT, OUT is not created, and an existing OUT keeps its content.
bad_decrypt() {
	local name=$1 file=$2 re=$3 id=${4:-$K}
	rm -rf "$OD" && mkdir -p "$OD"
	expect_fail "$name" 1 "$re" "$FLEET" age -d -i "$id" -o "$OD/out" "$file"
	if [ ! -e "$OD/out" ]; then
		ok "$name: -o OUT does not exist afterwards"
	else
		not_ok "$name: -o OUT does not exist afterwards" "$(ls -la "$OD")"
	fi
	printf 'precious content\n' >"$OD/existing"
	run "$FLEET" age -d -i "$id" -o "$OD/existing" "$file"
	if [ "$RC" -eq 1 ] && [ "$(cat "$OD/existing")" = "precious content" ]; then
		ok "$name: existing -o OUT keeps its content"
	else
		not_ok "$name: existing -o OUT keeps its content" "exit $RC" \
			"content now: $(head -c 60 "$OD/existing" | od -c | head -n 2)"
	fi
	no_leftovers "$name"
}

# ---------------------------------------------------------------------------------------------
# A good file to corrupt: 4 full chunks + a partial one, so there is output to discard.
PT=$T/pt
head -c $((4 * CHUNK + 1234)) /dev/urandom >"$PT"
CT=$T/good.age
"$FLEET" age -r "$R" -o "$CT" "$PT" 2>/dev/null
HLEN=$(header_len "$CT")
PAY=$((HLEN + 16)) # first chunk offset: header, then the 16-byte payload nonce
check "setup: the untouched file decrypts" cmp "$PT" <("$FLEET" age -d -i "$K" "$CT" 2>&1)
check "setup: file size is header + nonce + 5 sealed chunks" \
	test "$(stat -c %s "$CT")" -eq $((PAY + 4 * SEALED + 1234 + 16))

# Wrong identity.
bad_decrypt "wrong identity" "$CT" "no identity matched" "$W"

# Truncations.
head -c $((PAY + SEALED + 30000)) "$CT" >"$T/trunc-payload.age"
bad_decrypt "truncated in the middle of the payload" "$T/trunc-payload.age" \
	"truncated|failed to authenticate"
head -c $((PAY + 2 * SEALED)) "$CT" >"$T/trunc-boundary.age"
bad_decrypt "truncated at a chunk boundary" "$T/trunc-boundary.age" \
	"truncated|failed to authenticate"
head -c $((PAY + 2 * SEALED + 10)) "$CT" >"$T/trunc-tag.age"
bad_decrypt "truncated inside a chunk's first 16 bytes" "$T/trunc-tag.age" \
	"truncated|failed to authenticate"
head -c 60 "$CT" >"$T/trunc-header.age"
bad_decrypt "truncated inside the header" "$T/trunc-header.age" "header"
head -c $((HLEN - 10)) "$CT" >"$T/trunc-mac.age"
bad_decrypt "truncated inside the header MAC line" "$T/trunc-mac.age" "header|MAC"
head -c $((HLEN + 8)) "$CT" >"$T/trunc-nonce.age"
bad_decrypt "truncated inside the payload nonce" "$T/trunc-nonce.age" "truncated|nonce"
head -c "$PAY" "$CT" >"$T/no-payload.age"
bad_decrypt "header and nonce but no payload" "$T/no-payload.age" "truncated|payload"

# Bit flips.
cp "$CT" "$T/flip-payload.age"
flip_bit "$T/flip-payload.age" $((PAY + 100))
bad_decrypt "bit flipped in the first chunk" "$T/flip-payload.age" "failed to authenticate"
cp "$CT" "$T/flip-last.age"
flip_bit "$T/flip-last.age" $((PAY + 4 * SEALED + 5))
bad_decrypt "bit flipped in the last chunk" "$T/flip-last.age" "failed to authenticate"
cp "$CT" "$T/flip-nonce.age"
flip_bit "$T/flip-nonce.age" $((HLEN + 3))
bad_decrypt "bit flipped in the payload nonce" "$T/flip-nonce.age" "failed to authenticate"

# Header MAC: decode the MAC, flip one bit of its first byte, re-encode (so it stays valid
# base64 and only the MAC check can notice).
MACLINE=$(grep -a -m1 '^--- ' "$CT")
MAC64=${MACLINE#--- }
MACBIN=$T/mac.bin
printf '%s=' "$MAC64" | base64 -d >"$MACBIN" 2>/dev/null
flip_bit "$MACBIN" 0
NEWMAC=$(base64 -w0 <"$MACBIN" | tr -d '=')
{
	head -c $((HLEN - ${#MACLINE} - 1)) "$CT"
	printf -- '--- %s\n' "$NEWMAC"
	tail -c +$((HLEN + 1)) "$CT"
} >"$T/flip-mac.age"
check "setup: MAC-flipped file differs from the original only in the MAC" \
	test "$(cmp -l "$CT" "$T/flip-mac.age" | wc -l)" -ge 1 -a "$(stat -c %s "$T/flip-mac.age")" -eq "$(stat -c %s "$CT")"
bad_decrypt "bit flipped in the header MAC" "$T/flip-mac.age" "MAC"

# A changed byte in the header text (the version line) is a header error.
sed '1s/v1/v2/' "$CT" >"$T/bad-version.age"
bad_decrypt "unknown header version" "$T/bad-version.age" "header|version"

# Reordered chunks: swap chunks 0 and 1.
{
	head -c "$PAY" "$CT"
	tail -c +$((PAY + SEALED + 1)) "$CT" | head -c "$SEALED"
	tail -c +$((PAY + 1)) "$CT" | head -c "$SEALED"
	tail -c +$((PAY + 2 * SEALED + 1)) "$CT"
} >"$T/swapped.age"
check "setup: swapped file has the original size" \
	test "$(stat -c %s "$T/swapped.age")" -eq "$(stat -c %s "$CT")"
bad_decrypt "chunks 0 and 1 swapped" "$T/swapped.age" "failed to authenticate|reordered"

# Appended garbage: after a partial last chunk, after a full last chunk, after an empty
# payload, and a whole chunk's worth.
{ cat "$CT"; printf 'garbage'; } >"$T/garbage.age"
bad_decrypt "garbage appended" "$T/garbage.age" "truncated|failed to authenticate|trailing"
head -c "$CHUNK" /dev/urandom >"$T/pt64k"
"$FLEET" age -r "$R" -o "$T/full.age" "$T/pt64k" 2>/dev/null
{ cat "$T/full.age"; printf 'garbage'; } >"$T/garbage-full.age"
bad_decrypt "garbage appended after a full last chunk" "$T/garbage-full.age" \
	"truncated|failed to authenticate|trailing"
: >"$T/empty"
"$FLEET" age -r "$R" -o "$T/empty.age" "$T/empty" 2>/dev/null
{ cat "$T/empty.age"; head -c 100 /dev/urandom; } >"$T/garbage-empty.age"
bad_decrypt "garbage appended to an empty-plaintext file" "$T/garbage-empty.age" \
	"truncated|failed to authenticate|trailing"
{ cat "$CT"; head -c $((SEALED + 1)) /dev/urandom; } >"$T/garbage-big.age"
bad_decrypt "a chunk's worth of garbage appended" "$T/garbage-big.age" \
	"truncated|failed to authenticate|trailing"

# Armor damage.
"$FLEET" age -a -r "$R" -o "$T/good.asc" "$PT" 2>/dev/null
head -n -1 "$T/good.asc" >"$T/noend.asc"
bad_decrypt "armored file without its END line" "$T/noend.asc" "armor"
{ cat "$T/good.asc"; echo trailing; } >"$T/trail.asc"
bad_decrypt "armored file with data after END" "$T/trail.asc" "armor"
sed '5s/^./!/' "$T/good.asc" >"$T/badchar.asc"
bad_decrypt "armored file with a non-base64 character" "$T/badchar.asc" "armor"

# Empty input.
: >"$T/empty-input.age"
bad_decrypt "empty input file to -d" "$T/empty-input.age" "header|empty"

# Not an age file at all.
printf 'hello world, not age\n' >"$T/plain.txt"
bad_decrypt "plain text input to -d" "$T/plain.txt" "header|not an age"

# Decryption failures on stdin still exit 1 (no -o).
run bash -c '"$1" age -d -i "$2" <"$3"' _ "$FLEET" "$K" "$T/swapped.age"
check "stdin: reordered chunks exit 1" test "$RC" -eq 1

# Killed mid-decryption (SIGTERM while waiting for more input): the help promises that
# nothing is left behind with -o, so the temporary file must go too.
rm -rf "$OD" && mkdir -p "$OD"
mkfifo "$T/fifo"
exec 4<>"$T/fifo" # read-write open: never blocks
head -c 60000 "$CT" >&4 # less than a pipe buffer: fleet then waits for the rest
"$FLEET" age -d -i "$K" -o "$OD/out" "$T/fifo" 2>/dev/null 4>&- &
FPID=$!
for _ in $(seq 30); do
	[ -n "$(find "$OD" -mindepth 1 -print -quit)" ] && break
	sleep 0.1
done
kill -TERM "$FPID" 2>/dev/null
wait "$FPID"
SIGRC=$?
exec 4>&-
check "SIGTERM during decryption: fleet did not exit 0" test "$SIGRC" -ne 0
check "SIGTERM during decryption: -o OUT not created" test ! -e "$OD/out"
no_leftovers "SIGTERM during decryption"

# ---------------------------------------------------------------------------------------------
# Malformed recipients.
rm -rf "$OD" && mkdir -p "$OD"
expect_fail "-r age1garbage" 1 '"?age1garbage"?' "$FLEET" age -r age1garbage -o "$OD/out" "$PT"
check "-r age1garbage: -o OUT not created" test ! -e "$OD/out"
no_leftovers "-r age1garbage"

# change the last character (to one it is not, or the "typo" would be the key itself)
if [ "${R: -1}" = x ]; then TYPO=${R%?}y; else TYPO=${R%?}x; fi
expect_fail "-r with a typo'd real recipient names it" 1 "$TYPO" \
	"$FLEET" age -r "$TYPO" -o "$OD/out" "$PT"
no_leftovers "-r typo"

RF=$T/recipients.txt
{
	echo "# team keys"
	echo
	echo "$R"
	echo "not-a-recipient here"
	echo "$R"
} >"$RF"
expect_fail "-R file with a bad line names file and line" 1 "$RF.*line 4|line 4.*$RF" \
	"$FLEET" age -R "$RF" -o "$OD/out" "$PT"
check "-R bad line: -o OUT not created" test ! -e "$OD/out"
no_leftovers "-R bad line"

expect_fail "-R nonexistent file" 1 "$T/nonexistent" \
	"$FLEET" age -R "$T/nonexistent" -o "$OD/out" "$PT"
no_leftovers "-R nonexistent"

# A secret key passed to -r: a clear message that does not repeat the key.
SECRET=$(grep '^AGE-SECRET-KEY-1' "$K")
expect_fail "secret key passed to -r" 1 "identity|secret key" \
	"$FLEET" age -r "$SECRET" -o "$OD/out" "$PT"
if grep -q "${SECRET:20:30}" "$T/run.err"; then
	not_ok "secret key passed to -r: the key is not echoed" "$(cat "$T/run.err")"
else
	ok "secret key passed to -r: the key is not echoed"
fi
no_leftovers "secret key passed to -r"

# ---------------------------------------------------------------------------------------------
# Identity files with a bad line: name the file and line, never print key material.
# Each bad line is a mangled copy of a real secret key; line 2 holds a valid key of another
# identity, which must not be printed either.
OTHER=$(grep '^AGE-SECRET-KEY-1' "$W")
body=${SECRET#AGE-SECRET-KEY-1}
last=${SECRET: -1}
[ "$last" = Q ] && swap=P || swap=Q
i=0
for bad in "${SECRET%?}$swap" "${SECRET%??????}" "${SECRET}QQ" "$SECRET extra" \
	"AGE-SECRET-KEY-1${body,,}" "mysecretpassword-${body:0:20}"; do
	i=$((i + 1))
	IDF=$T/identity-$i.txt
	{
		echo "# created: 2024-01-01T00:00:00Z"
		echo "$OTHER"
		echo
		echo "$bad"
	} >"$IDF"
	name="identity file bad line #$i"
	expect_fail "$name (decrypt)" 1 "$IDF.*line 4|line 4.*$IDF" \
		"$FLEET" age -d -i "$IDF" -o "$OD/out" "$CT"
	leak=
	for frag in "${body:0:16}" "${body:20:16}" "${body: -16}" "${OTHER:16:16}" "${OTHER: -16}"; do
		grep -qiF -- "$frag" "$T/run.err" && leak="$leak $frag"
	done
	if [ -z "$leak" ] && ! grep -q 'AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]' "$T/run.err"; then
		ok "$name: no secret key material on stderr"
	else
		not_ok "$name: no secret key material on stderr" "leaked:$leak" "$(cat "$T/run.err")"
	fi
	check "$name: -o OUT not created" test ! -e "$OD/out"
	no_leftovers "$name"
done
# The same through -e -i (encrypting to an identity file).
expect_fail "identity file bad line with -e -i" 1 "$T/identity-1.txt.*line 4" \
	"$FLEET" age -e -i "$T/identity-1.txt" -o "$OD/out" "$PT"
if grep -qiF -- "${body:0:16}" "$T/run.err" || grep -qiF -- "${OTHER:16:16}" "$T/run.err"; then
	not_ok "identity file bad line with -e -i: no secret key material on stderr" "$(cat "$T/run.err")"
else
	ok "identity file bad line with -e -i: no secret key material on stderr"
fi
no_leftovers "identity file bad line with -e -i"
# keygen -y on a bad identity file.
expect_fail "keygen -y with a bad line" 1 "line 4" "$FLEET" age keygen -y "$T/identity-1.txt"
if grep -qiF -- "${body:0:16}" "$T/run.err" || grep -qiF -- "${OTHER:16:16}" "$T/run.err"; then
	not_ok "keygen -y with a bad line: no secret key material on stderr" "$(cat "$T/run.err")"
else
	ok "keygen -y with a bad line: no secret key material on stderr"
fi

# ---------------------------------------------------------------------------------------------
# A header that never ends: one stanza whose body runs to 200 MB, streamed from a pipe. It
# is refused at the 16 MiB header budget, inside the stanza, so memory stays near that
# budget (it took 600 MB when the budget was checked only between stanzas).
if [ -x /usr/bin/time ]; then
	line64=$(printf 'A%.0s' $(seq 64))
	huge_stanza() {
		printf 'age-encryption.org/v1\n-> X25519 AAAA\n'
		yes "$line64" | head -n 3200000 # 3.2M lines of 65 bytes: 208 MB
		printf 'AAAA\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n'
	}
	peak_kb() { /usr/bin/time -f 'peak %M' "$@" 2>&1 >/dev/null | sed -n 's/^peak //p'; }
	echo secret | "$FLEET" age -r "$R" >"$T/small.age"
	base_kb=$(peak_kb "$FLEET" age -d -i "$K" "$T/small.age")
	huge_stanza | /usr/bin/time -f 'peak %M' "$FLEET" age -d -i "$K" >/dev/null 2>"$T/huge.err"
	huge_rc=${PIPESTATUS[1]}
	huge_kb=$(sed -n 's/^peak //p' "$T/huge.err")
	if [ "$huge_rc" -eq 1 ] && grep -q "header larger than 16 MiB" "$T/huge.err"; then
		ok "200 MB stanza: refused as a header larger than 16 MiB"
	else
		not_ok "200 MB stanza: refused as a header larger than 16 MiB" "exit $huge_rc" \
			"$(cat "$T/huge.err")"
	fi
	# The budget plus slack; a sanitizer's quarantine keeps freed buffers, so more there.
	slack_kb=$((24 * 1024))
	grep -qa __asan_init "$FLEET" && slack_kb=$((48 * 1024))
	if [ -n "$huge_kb" ] && [ -n "$base_kb" ] && [ $((huge_kb - base_kb)) -le "$slack_kb" ]; then
		ok "200 MB stanza: peak memory within the 16 MiB budget ($((huge_kb - base_kb)) KiB above a small file's)"
	else
		not_ok "200 MB stanza: peak memory within the 16 MiB budget" \
			"peak ${huge_kb:-?} KiB, small file ${base_kb:-?} KiB, allowed ${slack_kb} KiB more"
	fi
fi

# ---------------------------------------------------------------------------------------------
# Usage errors: exit 2, nothing written.
rm -rf "$OD" && mkdir -p "$OD"
expect_fail "usage: unknown flag" 2 "bogus|unknown" \
	"$FLEET" age --bogus-flag -r "$R" -o "$OD/out" "$PT"
expect_fail "usage: -e with -d" 2 "-e.*-d|exclusive" \
	"$FLEET" age -e -d -i "$K" -o "$OD/out" "$CT"
expect_fail "usage: missing recipients" 2 "recipient" "$FLEET" age -e -o "$OD/out" "$PT"
expect_fail "usage: fleet nosuchcommand" 2 "nosuchcommand" "$FLEET" nosuchcommand
expect_fail "usage: fleet age keygen extra args" 2 "extra" "$FLEET" age keygen extra args
expect_fail "usage: -r with -d" 2 "" "$FLEET" age -d -r "$R" -i "$K" -o "$OD/out" "$CT"
expect_fail "usage: -o without its argument" 2 "" "$FLEET" age -r "$R" -o
expect_fail "usage: two input files" 2 "" "$FLEET" age -r "$R" -o "$OD/out" "$PT" "$PT"
check "usage errors: -o OUT never created" test ! -e "$OD/out"
no_leftovers "usage errors"

finish
