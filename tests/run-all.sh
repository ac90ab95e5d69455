#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what the tests need,
# then builds and tests three ways — a normal build (unit + end-to-end), an
# ASan+UBSan build (the same suite), and a clang libFuzzer build (a short run of every
# fuzz target) — and checks formatting. Set FUZZ_SECONDS to fuzz longer.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
shared=${FLEET_SHARED:-$root/../shared}
[ -d "$shared/vectors" ] || { echo "run-all: test vectors not found at $shared (set FLEET_SHARED)" >&2; exit 1; }
export FLEET_SHARED=$(cd "$shared" && pwd)
bash tests/install-deps.sh
jobs=$(nproc)
passed=0 failed=0

run_ctest() { # dir, label, extra ctest args...
	# Counts test cases, not programs: tests/count-cases.py reads ctest's verbose log.
	local dir=$1 label=$2
	shift 2
	echo "== $label"
	local log summary
	log=$(mktemp)
	(cd "$dir" && ctest -V "$@") 2>&1 | tee "$log" | grep --line-buffered -E '^ *[0-9]+/[0-9]+ Test +#' || true
	python3 tests/count-cases.py "$log" "$label" | tee "$log.sum"
	summary=$(tail -1 "$log.sum")
	local p f
	p=$(sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' <<<"$summary")
	f=$(sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' <<<"$summary")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-1}))
	rm -f "$log" "$log.sum"
}

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

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
