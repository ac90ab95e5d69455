# shellcheck shell=bash disable=SC2034
# Shared helpers for the end-to-end shell tests. Source it from a test_*.sh script:
#
#   . "$(dirname "$0")/lib.sh"
#
# Environment: FLEET (absolute path of the binary, required), FLEET_TEST_DATA (fixtures;
# defaults to tests/data beside this file). Every check prints "ok - NAME" or
# "not ok - NAME"; finish prints "N passed, M failed" and exits 1 if anything failed.

set -u

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${FLEET_TEST_DATA:=$E2E_DIR/../data}"
SSH_DATA=$FLEET_TEST_DATA/ssh

if [ -z "${FLEET:-}" ] || [ ! -x "$FLEET" ]; then
	echo "FLEET must name the fleet binary (got '${FLEET:-}')" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/fleet-e2e.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

PASSED=0
FAILED=0

ok() {
	PASSED=$((PASSED + 1))
	echo "ok - $1"
}

# not_ok NAME [DETAIL...]: DETAIL lines go to stdout indented with "#" for diagnosis.
not_ok() {
	FAILED=$((FAILED + 1))
	echo "not ok - $1"
	shift
	local l
	for l in "$@"; do
		printf '%s\n' "$l" | sed 's/^/#   /' | head -n 20
	done
}

# check NAME COMMAND...: passes when COMMAND exits 0.
check() {
	local name=$1
	shift
	if "$@" >"$T/.check.out" 2>&1; then
		ok "$name"
	else
		not_ok "$name" "command: $*" "$(cat "$T/.check.out")"
	fi
}

finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}

# skip_all REASON: this script does not apply here (e.g. a Nix too old for what it tests).
# It says why and exits 77, which ctest shows as skipped (SKIP_RETURN_CODE in
# tests/CMakeLists.txt): counted neither passed nor failed.
skip_all() {
	echo "skip - $1"
	exit 77
}

# run COMMAND...: runs COMMAND with stdout to $T/run.out and stderr to $T/run.err, sets RC.
run() {
	"$@" >"$T/run.out" 2>"$T/run.err"
	RC=$?
}

# err_has REGEX: the last run's stderr matches the (extended, case-insensitive) REGEX.
err_has() {
	grep -qiE -- "$1" "$T/run.err"
}

# Runs COMMAND... on a pseudo-terminal and types PASSPHRASE every time the program prompts
# for a passphrase (age(1) reads passphrases only from a terminal). The program's terminal
# output is discarded (shown on stderr if it fails), so use -o for the real output.
#   with_tty_passphrase PASSPHRASE COMMAND...
with_tty_passphrase() {
	local pw=$1
	shift
	if command -v python3 >/dev/null 2>&1; then
		python3 - "$pw" "$@" <<'PY'
import os, pty, select, sys, time

pw = sys.argv[1].encode() + b"\n"
cmd = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
buf = b""
answered = 0
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    r, _, _ = select.select([fd], [], [], 0.5)
    if fd in r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        buf += data
        prompts = buf.lower().count(b"passphrase:") + buf.lower().count(b"secure one):")
        while answered < prompts:
            os.write(fd, pw)
            answered += 1
    else:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
rc = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else (status >> 8)
if rc != 0:
    sys.stderr.write(buf.decode(errors="replace"))
sys.exit(rc if rc >= 0 else 128 - rc)
PY
	else
		# Fallback: script(1) copies our stdin to the pty; two lines cover encrypt+confirm.
		local q
		q=$(printf '%q ' "$@")
		printf '%s\n%s\n' "$pw" "$pw" | script -qec "$q" /dev/null >/dev/null
	fi
}

# header_len FILE: byte length of an age binary header (through the "--- " MAC line).
header_len() {
	local off line
	off=$(grep -a -b -m1 '^--- ' "$1" | cut -d: -f1)
	line=$(grep -a -m1 '^--- ' "$1")
	[ -n "$off" ] || return 1
	echo $((off + ${#line} + 1))
}

# flip_bit FILE OFFSET: xors the lowest bit of the byte at OFFSET (0-based) in place.
flip_bit() {
	local v
	v=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	[ -n "$v" ] || return 1
	# shellcheck disable=SC2059
	printf "\\$(printf %03o $((v ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# no_tmp_files DIR: true when DIR holds no fleet temporary files (".*.tmp-*").
no_tmp_files() {
	[ -z "$(find "$1" -maxdepth 1 -name '.*.tmp-*' -print -quit)" ]
}

require_tools() {
	local t missing=
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	if [ -n "$missing" ]; then
		not_ok "required tools present" "missing:$missing"
		finish
	fi
}

# Waits (up to 60 s) for fixture files another step may still be generating.
require_fixtures() {
	local f
	for f in "$@"; do
		for _ in $(seq 60); do
			[ -s "$f" ] && break
			sleep 1
		done
		if [ ! -s "$f" ]; then
			not_ok "fixture present: $f"
			finish
		fi
	done
}
