#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what the tests need,
# then builds and tests three ways — a normal build (unit + end-to-end), an
# ASan+UBSan build (the same suite), and a clang libFuzzer build (a short run of every
# fuzz target) — and checks formatting; then builds and runs the unit and end-to-end
# suites again on a second platform, a Debian 13 root (Nix 2.26, GCC 14; see
# run_debian13 below). Set FUZZ_SECONDS to fuzz longer.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
shared=${FLEET_SHARED:-$root/../shared}
[ -d "$shared/vectors" ] || { echo "run-all: test vectors not found at $shared (set FLEET_SHARED)" >&2; exit 1; }
export FLEET_SHARED=$(cd "$shared" && pwd)
bash tests/install-deps.sh
jobs=$(nproc)
passed=0 failed=0
ctest_runner=() # what ctest runs inside: nothing here, the Debian 13 root in run_debian13

run_ctest() { # dir, label, extra ctest args...
	# Counts test cases, not programs: tests/count-cases.py reads ctest's verbose log.
	local dir=$1 label=$2
	shift 2
	echo "== $label"
	local log summary
	log=$(mktemp)
	(cd "$dir" && "${ctest_runner[@]}" ctest -V "$@") 2>&1 | tee "$log" | grep --line-buffered -E '^ *[0-9]+/[0-9]+ Test +#' || true
	python3 tests/count-cases.py "$log" "$label" | tee "$log.sum"
	summary=$(tail -1 "$log.sum")
	local p f
	p=$(sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' <<<"$summary")
	f=$(sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' <<<"$summary")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-1}))
	rm -f "$log" "$log.sum"
}

# What a platform is: its Debian release, Nix, compiler and the libraries fleet links.
describe_platform='. /etc/os-release
printf "Debian %s (%s, GCC %s, libgit2 %s, libssh2 %s, OpenSSL %s)\n" "$VERSION_ID" \
	"$(nix --version | sed "s/^nix (Nix) /Nix /")" "$(gcc -dumpfullversion)" \
	"$(pkg-config --modversion libgit2)" "$(pkg-config --modversion libssh2)" \
	"$(pkg-config --modversion openssl)"'
debian12=$(sh -c "$describe_platform")
echo "== $debian12, on this machine"
started=$SECONDS

echo "== build (release, warnings are errors)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLEET_WERROR=ON >/dev/null
cmake --build build -j "$jobs" >/dev/null
run_ctest build "tests (release build)"

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFLEET_SANITIZE=ON -DFLEET_WERROR=ON >/dev/null
cmake --build build-asan -j "$jobs" >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	run_ctest build-asan "tests (ASan + UBSan build)"

echo "== build (clang libFuzzer)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DFLEET_FUZZ=ON -DFLEET_SANITIZE=ON \
	-DFUZZ_SECONDS="${FUZZ_SECONDS:-10}" >/dev/null
cmake --build build-fuzz -j "$jobs" >/dev/null
run_ctest build-fuzz "fuzz targets (short runs)" -L fuzz

echo "== lint (clang-format, cppcheck)"
if git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror; then
	passed=$((passed + 1))
else
	echo "not ok - clang-format: some files are not formatted (run: just fmt)"
	failed=$((failed + 1))
fi
if cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	--suppress=missingIncludeSystem -I include -I src src; then
	passed=$((passed + 1))
else
	echo "not ok - cppcheck found problems"
	failed=$((failed + 1))
fi

debian12_passed=$passed debian12_failed=$failed debian12_seconds=$((SECONDS - started))

# --- Debian 13: the second platform --------------------------------------------------------
# The unit and end-to-end suites again, built with -DFLEET_WERROR=ON in build-trixie/ inside
# a Debian 13 root (tests/debian13-root.sh, made once with debootstrap, then reused): Nix
# 2.26, GCC 14, libgit2 1.9, libssh2 1.11, OpenSSL 3.5. A root that cannot be made fails
# the run; the second platform is never skipped.
run_debian13() {
	local in_root=(bash "$root/tests/debian13-root.sh") about
	echo "== Debian 13 root (tests/debian13-root.sh)"
	if ! about=$("${in_root[@]}" sh -c "$describe_platform"); then
		echo "not ok - Debian 13 root: it could not be made or does not work (see above)," \
			"so NOTHING was tested on Debian 13 / Nix 2.26"
		failed=$((failed + 1))
		return
	fi
	debian13=$about
	echo "== $debian13, in the root ${FLEET_TRIXIE_ROOT:-/var/cache/fleet-ci/trixie}"
	echo "== build (Debian 13, warnings are errors)"
	if ! "${in_root[@]}" sh -c "cmake -S . -B build-trixie -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DFLEET_WERROR=ON >/dev/null && cmake --build build-trixie -j $jobs >/dev/null"; then
		echo "not ok - the build on Debian 13 failed (above), so its tests did not run"
		failed=$((failed + 1))
		return
	fi
	ctest_runner=("${in_root[@]}")
	run_ctest build-trixie "tests (Debian 13 build)"
	ctest_runner=()
}
debian13="Debian 13 (no root)"
started=$SECONDS
run_debian13
debian13_seconds=$((SECONDS - started))

echo
echo "$debian12: release, ASan + UBSan, fuzz, lint:" \
	"$debian12_passed passed, $debian12_failed failed in ${debian12_seconds} s"
echo "$debian13: release: $((passed - debian12_passed)) passed," \
	"$((failed - debian12_failed)) failed in ${debian13_seconds} s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
