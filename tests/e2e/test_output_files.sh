#!/usr/bin/env bash
# -o never hands a secret to another user: a FIFO or symlink planted by an unprivileged
# second user (nobody) in a sticky world-writable directory receives nothing from
# `fleet age -d -o`, `fleet sops decrypt -o` or `fleet age keygen -o`, and the command
# fails naming the danger. Decrypted files are created 0600 whatever the umask.
. "$(dirname "$0")/lib.sh"

export HOME=$T/home
mkdir -p "$HOME"
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD SOPS_AGE_RECIPIENTS XDG_CONFIG_HOME
umask 022

"$FLEET" age keygen -o "$T/key.txt" 2>/dev/null
R=$("$FLEET" age keygen -y "$T/key.txt")
export SOPS_AGE_KEY_FILE=$T/key.txt
printf 'hunter2-plaintext\n' >"$T/plain.txt"
"$FLEET" age -r "$R" -o "$T/secret.age" "$T/plain.txt"
printf 'password: hunter2-plaintext\n' >"$T/plain.yaml"
"$FLEET" sops encrypt --age "$R" "$T/plain.yaml" >"$T/secret.yaml"

mode_of() { stat -c %a "$1"; }

# --- decrypted output is private: 0600 under umask 022, for a new and a replaced file -----
"$FLEET" age -d -i "$T/key.txt" -o "$T/out-age" "$T/secret.age"
check "age -d -o creates a 0600 file" [ "$(mode_of "$T/out-age")" = 600 ]
printf 'old\n' >"$T/out-age2" && chmod 644 "$T/out-age2"
"$FLEET" age -d -i "$T/key.txt" -o "$T/out-age2" "$T/secret.age"
check "age -d -o over a 0644 file leaves it 0600" [ "$(mode_of "$T/out-age2")" = 600 ]
"$FLEET" sops decrypt -o "$T/out-sops" "$T/secret.yaml"
check "sops decrypt -o creates a 0600 file" [ "$(mode_of "$T/out-sops")" = 600 ]
printf 'old\n' >"$T/out-sops2" && chmod 644 "$T/out-sops2"
"$FLEET" sops decrypt -o "$T/out-sops2" "$T/secret.yaml"
check "sops decrypt -o over a 0644 file leaves it 0600" [ "$(mode_of "$T/out-sops2")" = 600 ]
check "the decrypted files hold the plaintext" grep -q hunter2-plaintext "$T/out-sops2"

# --- what still works: stdout, /dev/null, /dev/fd/N, the user's own FIFO and symlink ------
run "$FLEET" age -d -i "$T/key.txt" -o /dev/stdout "$T/secret.age"
check "-o /dev/stdout writes to standard output" grep -q hunter2-plaintext "$T/run.out"
run "$FLEET" age -d -i "$T/key.txt" -o /dev/null "$T/secret.age"
check "-o /dev/null (root's device) is accepted" [ "$RC" = 0 ]
out=$("$FLEET" age -d -i "$T/key.txt" -o >(cat >"$T/procsub") "$T/secret.age" && sleep 0.5 && cat "$T/procsub")
check "-o /dev/fd/N (process substitution) is accepted" grep -q hunter2-plaintext <<<"$out"
mkfifo "$T/myfifo"
cat "$T/myfifo" >"$T/myfifo.out" &
run "$FLEET" age -d -i "$T/key.txt" -o "$T/myfifo" "$T/secret.age"
wait
check "the user's own FIFO receives the plaintext" grep -q hunter2-plaintext "$T/myfifo.out"
printf 'old\n' >"$T/mine" && ln -s mine "$T/mylink"
run "$FLEET" age -d -i "$T/key.txt" -o "$T/mylink" "$T/secret.age"
check "the user's own symlink in a private directory is followed" grep -q hunter2-plaintext "$T/mine"
check "... and stays a symlink" [ -L "$T/mylink" ]

# --- a second user plants things in a sticky world-writable directory ---------------------
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
if [ "$(id -u)" != 0 ] || ! as_nobody true 2>/dev/null; then
	echo "# not root (or setpriv cannot drop to nobody): the second-user checks are skipped"
	finish
fi
chmod 755 "$T"
SHARED_DIR=$T/shared
mkdir "$SHARED_DIR" && chmod 1777 "$SHARED_DIR"
printf 'precious\n' >"$T/victim"

# A FIFO with a reader of nobody's waiting on it: the old code wrote the plaintext into it.
fifo_case() { # NAME COMMAND...: COMMAND writes to $SHARED_DIR/fifo
	local name=$1
	shift
	rm -f "$SHARED_DIR/fifo" "$SHARED_DIR/stolen"
	as_nobody mkfifo -m 666 "$SHARED_DIR/fifo"
	as_nobody sh -c 'exec cat "$1" >"$2"' sh "$SHARED_DIR/fifo" "$SHARED_DIR/stolen" &
	local reader=$!
	run timeout 20 "$@"
	# Release the reader whatever happened (opening the write end ends its read).
	timeout 5 sh -c ': >"$1"' sh "$SHARED_DIR/fifo"
	wait "$reader"
	if [ "$RC" != 0 ] && [ ! -s "$SHARED_DIR/stolen" ] && err_has "FIFO owned by another user.*refusing"; then
		ok "$name: a planted FIFO gets nothing"
	else
		not_ok "$name: a planted FIFO gets nothing" "rc=$RC" "$(cat "$T/run.err")" \
			"stolen: $(cat "$SHARED_DIR/stolen" 2>/dev/null)"
	fi
}
fifo_case "age -d -o" "$FLEET" age -d -i "$T/key.txt" -o "$SHARED_DIR/fifo" "$T/secret.age"
fifo_case "sops decrypt -o" "$FLEET" sops decrypt -o "$SHARED_DIR/fifo" "$T/secret.yaml"
rm -f "$SHARED_DIR/fifo"
as_nobody mkfifo -m 666 "$SHARED_DIR/fifo"
as_nobody sh -c 'exec cat "$1" >"$2"' sh "$SHARED_DIR/fifo" "$SHARED_DIR/stolen" &
reader=$!
run timeout 20 "$FLEET" age keygen -o "$SHARED_DIR/fifo"
timeout 5 sh -c ': >"$1"' sh "$SHARED_DIR/fifo"
wait "$reader"
if [ "$RC" != 0 ] && [ ! -s "$SHARED_DIR/stolen" ] && err_has "already exists.*FIFO.*refusing"; then
	ok "age keygen -o: a planted FIFO gets no key"
else
	not_ok "age keygen -o: a planted FIFO gets no key" "rc=$RC" "$(cat "$T/run.err")"
fi

# A symlink of nobody's pointing at a file of the victim: the old code replaced the file.
link_case() { # NAME REGEX COMMAND...
	local name=$1 re=$2
	shift 2
	printf 'precious\n' >"$T/victim"
	run timeout 20 "$@"
	if [ "$RC" != 0 ] && [ "$(cat "$T/victim")" = precious ] && err_has "$re"; then
		ok "$name"
	else
		not_ok "$name" "rc=$RC" "$(cat "$T/run.err")" "victim: $(cat "$T/victim")"
	fi
}
as_nobody ln -s "$T/victim" "$SHARED_DIR/link"
link_case "age -d -o: a planted symlink is not followed" \
	"symbolic link owned by another user.*refusing to follow" \
	"$FLEET" age -d -i "$T/key.txt" -o "$SHARED_DIR/link" "$T/secret.age"
link_case "sops decrypt -o: a planted symlink is not followed" \
	"symbolic link owned by another user.*refusing to follow" \
	"$FLEET" sops decrypt -o "$SHARED_DIR/link" "$T/secret.yaml"
link_case "age keygen -o: a planted symlink is not followed" "already exists.*refusing" \
	"$FLEET" age keygen -o "$SHARED_DIR/link"
# A link of the user's, in a private directory, pointing at the planted one: each link
# on the way is checked, not only the first.
ln -s "$SHARED_DIR/link" "$T/via"
link_case "a symlink of the user's leading to a planted one is not followed" \
	"symbolic link owned by another user.*refusing to follow" \
	"$FLEET" age -d -i "$T/key.txt" -o "$T/via" "$T/secret.age"
check "the planted symlink is left alone" [ -L "$SHARED_DIR/link" ]
# The user's own symlink in a world-writable directory: nobody could swap it meanwhile.
ln -s "$T/victim" "$SHARED_DIR/mylink"
link_case "a symlink of the user's in a world-writable directory is not followed" \
	"symbolic link in the world-writable directory.*refusing to follow" \
	"$FLEET" age -d -i "$T/key.txt" -o "$SHARED_DIR/mylink" "$T/secret.age"
# A character device of another user's (a copy of /dev/null's numbers) is refused too.
mknod "$SHARED_DIR/dev" c 1 3 && chown nobody "$SHARED_DIR/dev"
run "$FLEET" age -d -i "$T/key.txt" -o "$SHARED_DIR/dev" "$T/secret.age"
if [ "$RC" != 0 ] && err_has "character device owned by another user"; then
	ok "a device of another user's is refused"
else
	not_ok "a device of another user's is refused" "rc=$RC" "$(cat "$T/run.err")"
fi
check "no temporary file is left in the shared directory" no_tmp_files "$SHARED_DIR"

finish
